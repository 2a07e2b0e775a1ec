//! The value-type grammar of `field-schema.value-type` (see `wit/types.wit`).
//!
//! One parser serves the host (checking `describe`, type-checking keyword
//! arguments) and the SDK (checking a plugin's own schema in its unit tests),
//! so a plugin author and the host can never disagree on what a type means.

use std::fmt;

use serde_json::Value;

/// A parsed value type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueType {
    /// `string`
    String,
    /// `int`: a JSON number without a fractional part.
    Int,
    /// `float`: any JSON number.
    Float,
    /// `bool`
    Bool,
    /// `any`: any JSON value.
    Any,
    /// `list<T>`
    List(Box<ValueType>),
    /// `map<T>`: an object with string keys.
    Map(Box<ValueType>),
    /// `enum<a|b|c>`: one of the given strings.
    Enum(Vec<String>),
    /// `resource` or `resource<A|B>`: a reference to another declaration,
    /// optionally restricted to the named types (empty = any resource type).
    Resource(Vec<String>),
    /// `connection`: a connection declaration, or a resource (an implicit
    /// `DependencyConnection`).
    Connection,
    /// `assertion`: an assertion declaration.
    Assertion,
    /// `mount`: a mount into a container, written `"source:/target[:ro]"`
    /// or as `{"source", "target", "read_only"}`; always the latter once
    /// [`ValueType::normalize`]d.
    Mount,
    /// `port`: a port published on this machine, written as Docker does
    /// (`"8080:80"`, `"127.0.0.1:5432:5432"`, `"53/udp"`; see
    /// [`crate::parse_port`]). The host publishes a port only when the user
    /// wrote it in a field of this type: a plugin, a model or a lock file
    /// cannot add one. As a type it is a string, so that a plugin's
    /// `validate` reports a malformed port together with the project's
    /// other problems; [`crate::parse_port`] says what is wrong with one.
    Port,
    /// `function`: a Starlark function (a top-level `def` or a `lambda`).
    /// Plugins receive it as a program: an object with a `$function` key
    /// (its name), where it is defined, and the source of the modules it
    /// needs (see `wit/types.wit`).
    Function,
}

/// Why a value-type string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value type `{text}`: {reason}")]
pub struct ValueTypeError {
    /// The whole text that was parsed.
    pub text: String,
    /// What was wrong, lower-case.
    pub reason: String,
}

/// Why a JSON value does not match a value type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {got}")]
pub struct TypeMismatch {
    /// JSON Pointer below the checked value where the mismatch is, `""` for the value itself.
    pub path: String,
    /// What was expected, e.g. "a list of strings".
    pub expected: String,
    /// What was found, e.g. "an integer (5)".
    pub got: String,
}

impl ValueType {
    /// Parses a value type, e.g. `list<string>` or `enum<tcp|udp>`.
    pub fn parse(text: &str) -> Result<Self, ValueTypeError> {
        let mut parser = Parser { text, rest: text };
        let ty = parser.parse_type()?;
        parser.skip_ws();
        if !parser.rest.is_empty() {
            return Err(parser.error(format!("unexpected `{}` after the type", parser.rest)));
        }
        Ok(ty)
    }

    /// Whether values of this type refer to other declarations (and so
    /// cannot have a default).
    pub fn is_reference(&self) -> bool {
        match self {
            ValueType::Resource(_) | ValueType::Connection | ValueType::Assertion => true,
            ValueType::List(inner) | ValueType::Map(inner) => inner.is_reference(),
            _ => false,
        }
    }

    /// Describes the type for humans, e.g. "a list of strings".
    pub fn describe(&self) -> String {
        match self {
            ValueType::String => "a string".into(),
            ValueType::Int => "an integer".into(),
            ValueType::Float => "a number".into(),
            ValueType::Bool => "a boolean".into(),
            ValueType::Any => "any value".into(),
            ValueType::List(inner) => format!("a list of {}", plural(inner)),
            ValueType::Map(inner) => format!("a dict of string to {}", plural(inner)),
            ValueType::Enum(options) => {
                let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
                format!("one of {}", quoted.join(", "))
            }
            ValueType::Resource(types) if types.is_empty() => "a resource".into(),
            ValueType::Resource(types) => format!("a {}", types.join(" or ")),
            ValueType::Connection => "a connection or a resource".into(),
            ValueType::Assertion => "an assertion".into(),
            ValueType::Mount => "a mount (\"source:/target\" or \"source:/target:ro\")".into(),
            ValueType::Port => {
                "a port (\"host:container\" or \"container\", e.g. \"8080:80\")".into()
            }
            ValueType::Function => "a function (a `def` or a `lambda`)".into(),
        }
    }

    /// `value` (already [`check`](Self::check)ed) in the one form plugins
    /// receive: mounts written as strings become objects.
    pub fn normalize(&self, value: &Value) -> Value {
        match (self, value) {
            (ValueType::Mount, Value::String(text)) => crate::actions::MountSpec::parse(text)
                .and_then(|m| serde_json::to_value(m).ok())
                .unwrap_or_else(|| value.clone()),
            (ValueType::Mount, Value::Object(o)) => {
                let mut o = o.clone();
                o.entry("read_only").or_insert(Value::Bool(false));
                Value::Object(o)
            }
            (ValueType::List(inner), Value::Array(items)) => {
                Value::Array(items.iter().map(|i| inner.normalize(i)).collect())
            }
            (ValueType::Map(inner), Value::Object(entries)) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), inner.normalize(v)))
                    .collect(),
            ),
            _ => value.clone(),
        }
    }

    /// Checks a JSON value against this type. References are represented
    /// as objects with a `$ref` key; their targets are checked by the host.
    pub fn check(&self, value: &Value) -> Result<(), TypeMismatch> {
        self.check_at(value, String::new())
    }

    fn check_at(&self, value: &Value, path: String) -> Result<(), TypeMismatch> {
        let ok = match (self, value) {
            (ValueType::Any, _) => true,
            (ValueType::String, Value::String(_)) => true,
            (ValueType::Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (ValueType::Float, Value::Number(_)) => true,
            (ValueType::Bool, Value::Bool(_)) => true,
            (ValueType::Enum(options), Value::String(s)) => options.iter().any(|o| o == s),
            (
                ValueType::Resource(_) | ValueType::Connection | ValueType::Assertion,
                Value::Object(o),
            ) => o.contains_key("$ref"),
            (ValueType::Function, Value::Object(o)) => o.contains_key("$function"),
            (ValueType::Mount, Value::String(text)) => {
                crate::actions::MountSpec::parse(text).is_some()
            }
            (ValueType::Port, Value::String(_)) => true,
            (ValueType::Mount, Value::Object(o)) => {
                o.keys()
                    .all(|k| matches!(k.as_str(), "source" | "target" | "read_only"))
                    && o.get("source")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                    && o.get("target")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.starts_with('/'))
                    && o.get("read_only").is_none_or(Value::is_boolean)
            }
            (ValueType::List(inner), Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    inner.check_at(item, format!("{path}/{index}"))?;
                }
                true
            }
            (ValueType::Map(inner), Value::Object(entries)) => {
                for (key, item) in entries {
                    inner.check_at(item, format!("{path}/{}", escape_pointer(key)))?;
                }
                true
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(TypeMismatch {
                path,
                expected: self.describe(),
                got: describe_value(value),
            })
        }
    }

    /// The JSON Schema (2020-12) of this type, for `plugins inspect --json`
    /// and AI structured output.
    pub fn json_schema(&self) -> Value {
        use serde_json::json;
        match self {
            ValueType::String => json!({"type": "string"}),
            ValueType::Int => json!({"type": "integer"}),
            ValueType::Float => json!({"type": "number"}),
            ValueType::Bool => json!({"type": "boolean"}),
            ValueType::Any => json!({}),
            ValueType::List(inner) => json!({"type": "array", "items": inner.json_schema()}),
            ValueType::Map(inner) => {
                json!({"type": "object", "additionalProperties": inner.json_schema()})
            }
            ValueType::Enum(options) => json!({"type": "string", "enum": options}),
            ValueType::Resource(types) => json!({
                "type": "object",
                "description": if types.is_empty() { "a reference to a resource".to_string() } else { format!("a reference to a {}", types.join(" or ")) },
                "required": ["$ref"],
                "properties": {"$ref": {"type": "string"}}
            }),
            ValueType::Connection => {
                json!({"type": "object", "description": "a connection", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}})
            }
            ValueType::Assertion => {
                json!({"type": "object", "description": "an assertion", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}})
            }
            ValueType::Function => json!({
                "type": "object",
                "description": "a Starlark function, as the host delivers it",
                "required": ["$function"],
                "properties": {"$function": {"type": "string"}}
            }),
            ValueType::Port => json!({
                "type": "string",
                "description": "a port mapping: container, host:container or ip:host:container, optionally /tcp or /udp"
            }),
            ValueType::Mount => json!({
                "oneOf": [
                    {"type": "string", "description": "source:/target or source:/target:ro"},
                    {
                        "type": "object",
                        "required": ["source", "target"],
                        "additionalProperties": false,
                        "properties": {
                            "source": {"type": "string"},
                            "target": {"type": "string"},
                            "read_only": {"type": "boolean"}
                        }
                    }
                ]
            }),
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::String => f.write_str("string"),
            ValueType::Int => f.write_str("int"),
            ValueType::Float => f.write_str("float"),
            ValueType::Bool => f.write_str("bool"),
            ValueType::Any => f.write_str("any"),
            ValueType::List(inner) => write!(f, "list<{inner}>"),
            ValueType::Map(inner) => write!(f, "map<{inner}>"),
            ValueType::Enum(options) => write!(f, "enum<{}>", options.join("|")),
            ValueType::Resource(types) if types.is_empty() => f.write_str("resource"),
            ValueType::Resource(types) => write!(f, "resource<{}>", types.join("|")),
            ValueType::Connection => f.write_str("connection"),
            ValueType::Assertion => f.write_str("assertion"),
            ValueType::Mount => f.write_str("mount"),
            ValueType::Port => f.write_str("port"),
            ValueType::Function => f.write_str("function"),
        }
    }
}

fn plural(ty: &ValueType) -> String {
    match ty {
        ValueType::String => "strings".into(),
        ValueType::Int => "integers".into(),
        ValueType::Float => "numbers".into(),
        ValueType::Bool => "booleans".into(),
        ValueType::Any => "values".into(),
        ValueType::Resource(types) if types.is_empty() => "resources".into(),
        ValueType::Connection => "connections or resources".into(),
        ValueType::Assertion => "assertions".into(),
        ValueType::Mount => "mounts (\"source:/target\" or \"source:/target:ro\")".into(),
        ValueType::Port => "ports (\"host:container\" or \"container\", e.g. \"8080:80\")".into(),
        ValueType::Function => "functions".into(),
        other => other.describe(),
    }
}

/// Describes a JSON value for a type-mismatch message, e.g. `an integer (5)`.
pub fn describe_value(value: &Value) -> String {
    let shown = {
        let text = value.to_string();
        if text.chars().count() > 40 {
            let cut: String = text.chars().take(37).collect();
            format!("{cut}...")
        } else {
            text
        }
    };
    match value {
        Value::Null => "None".into(),
        Value::Bool(_) => format!("a boolean ({shown})"),
        Value::Number(n) if n.is_f64() => format!("a number ({shown})"),
        Value::Number(_) => format!("an integer ({shown})"),
        Value::String(_) => format!("a string ({shown})"),
        Value::Array(_) => format!("a list ({shown})"),
        Value::Object(_) => format!("a dict ({shown})"),
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct Parser<'a> {
    text: &'a str,
    rest: &'a str,
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<String>) -> ValueTypeError {
        ValueTypeError {
            text: self.text.to_string(),
            reason: reason.into(),
        }
    }

    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn word(&mut self) -> &str {
        self.skip_ws();
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        word
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if let Some(rest) = self.rest.strip_prefix(c) {
            self.rest = rest;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ValueTypeError> {
        if self.eat(c) {
            Ok(())
        } else if self.rest.is_empty() {
            Err(self.error(format!("expected `{c}` but the type ended")))
        } else {
            Err(self.error(format!("expected `{c}` at `{}`", self.rest)))
        }
    }

    fn names(&mut self, what: &str) -> Result<Vec<String>, ValueTypeError> {
        let mut names = Vec::new();
        loop {
            let name = self.word().to_string();
            if name.is_empty() {
                return Err(self.error(format!("expected {what}")));
            }
            if names.contains(&name) {
                return Err(self.error(format!("`{name}` is listed twice")));
            }
            names.push(name);
            if !self.eat('|') {
                break;
            }
        }
        self.expect('>')?;
        Ok(names)
    }

    fn parse_type(&mut self) -> Result<ValueType, ValueTypeError> {
        let word = self.word().to_string();
        let ty = match word.as_str() {
            "string" => ValueType::String,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "any" => ValueType::Any,
            "mount" => ValueType::Mount,
            "port" => ValueType::Port,
            "function" => ValueType::Function,
            "connection" => ValueType::Connection,
            "assertion" => ValueType::Assertion,
            "list" | "map" => {
                self.expect('<')?;
                let inner = Box::new(self.parse_type()?);
                self.expect('>')?;
                if word == "list" {
                    ValueType::List(inner)
                } else {
                    ValueType::Map(inner)
                }
            }
            "enum" => {
                self.expect('<')?;
                ValueType::Enum(self.names("an option")?)
            }
            "resource" => {
                if self.eat('<') {
                    ValueType::Resource(self.names("a type name")?)
                } else {
                    ValueType::Resource(Vec::new())
                }
            }
            "" => return Err(self.error("expected a type")),
            other => {
                return Err(self.error(format!(
                    "unknown type `{other}`; expected string, int, float, bool, any, mount, port, function, list<T>, map<T>, enum<a|b>, resource, connection or assertion"
                )));
            }
        };
        Ok(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_every_form() {
        for text in [
            "string",
            "int",
            "float",
            "bool",
            "any",
            "list<string>",
            "map<list<int>>",
            "enum<tcp|udp>",
            "resource",
            "resource<FileResource|DockerResource>",
            "list<connection>",
            "list<assertion>",
            "list<port>",
            "mount",
        ] {
            let parsed = ValueType::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn rejects_unknown_and_malformed_types() {
        let err = ValueType::parse("socket").unwrap_err();
        assert!(err.reason.starts_with("unknown type `socket`"), "{err}");
        assert!(ValueType::parse("list<string").is_err());
        assert!(ValueType::parse("list<>").is_err());
        assert!(ValueType::parse("enum<a|a>").is_err());
        assert!(ValueType::parse("string extra").is_err());
        assert!(ValueType::parse("").is_err());
    }

    #[test]
    fn checks_values_with_a_located_mismatch() {
        let ty = ValueType::parse("map<list<int>>").unwrap_or_else(|e| panic!("{e}"));
        assert!(ty.check(&json!({"a": [1, 2]})).is_ok());
        let err = ty.check(&json!({"a": [1, "x"]})).unwrap_err();
        assert_eq!(err.path, "/a/1");
        assert_eq!(err.expected, "an integer");
        assert_eq!(err.got, "a string (\"x\")");
        let ports = ValueType::parse("enum<tcp|udp>").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ports.check(&json!("sctp")).unwrap_err().expected,
            "one of \"tcp\", \"udp\""
        );
        assert!(ValueType::Int.check(&json!(1.5)).is_err());
        let port = ValueType::parse("port").unwrap_or_else(|e| panic!("{e}"));
        assert!(port.check(&json!("127.0.0.1:8080:80/udp")).is_ok());
        assert!(port.check(&json!("80")).is_ok());
        // Its form is the plugin's `validate` to report, with the rest.
        assert!(port.check(&json!("80:http")).is_ok());
        assert!(port.check(&json!(80)).is_err());
        assert!(ValueType::Float.check(&json!(1)).is_ok());
    }

    #[test]
    fn references_cannot_be_defaults() {
        assert!(
            ValueType::parse("list<resource>")
                .map(|t| t.is_reference())
                .unwrap_or(false)
        );
        assert!(!ValueType::String.is_reference());
    }
}
