//! The schema of a declaration type, mirroring `type-schema` and
//! `field-schema` in `wit/types.wit`, with the rules every plugin's
//! `describe` must satisfy.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::value_type::ValueType;

/// The schema of one field: one keyword argument of a constructor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// The keyword, `snake_case`.
    pub name: String,
    /// The value type in the grammar of [`ValueType`].
    pub value_type: String,
    /// Markdown documentation; the first sentence is the summary.
    pub doc: String,
    /// Whether the user must give it.
    pub required: bool,
    /// The default as JSON text, if any.
    pub default: Option<String>,
    /// Whether completion may fill it.
    pub completable: bool,
    /// Whether changing it replaces the deployed object.
    pub forces_replace: bool,
    /// Whether it holds a secret.
    pub secret: bool,
    /// Example values as JSON text.
    pub examples: Vec<String>,
    /// Which contributions of connections the field receives.
    #[serde(default)]
    pub receives: Option<ContributionKind>,
}

/// A kind of value connections contribute (`contribution-kind` in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContributionKind {
    /// Environment variables, into a `map<string>`.
    Environment,
    /// Networks to join, into a `list<string>`.
    Networks,
    /// Extra DNS names, into a `list<string>`.
    Aliases,
    /// Mounts, into a `list<mount>`.
    Mounts,
}

impl ContributionKind {
    /// The value type a field receiving this kind must have.
    pub fn value_type(self) -> ValueType {
        match self {
            ContributionKind::Environment => ValueType::Map(Box::new(ValueType::String)),
            ContributionKind::Networks | ContributionKind::Aliases => {
                ValueType::List(Box::new(ValueType::String))
            }
            ContributionKind::Mounts => ValueType::List(Box::new(ValueType::Mount)),
        }
    }

    /// What it is, for messages: "environment variables".
    pub fn describe(self) -> &'static str {
        match self {
            ContributionKind::Environment => "environment variables",
            ContributionKind::Networks => "networks",
            ContributionKind::Aliases => "network aliases",
            ContributionKind::Mounts => "mounts",
        }
    }
}

impl std::fmt::Display for ContributionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContributionKind::Environment => "environment",
            ContributionKind::Networks => "networks",
            ContributionKind::Aliases => "aliases",
            ContributionKind::Mounts => "mounts",
        })
    }
}

/// The schema of one declaration type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeSchema {
    /// The constructor name, `PascalCase`.
    pub name: String,
    /// Markdown documentation.
    pub doc: String,
    /// The fields, in display order.
    pub fields: Vec<FieldSchema>,
}

/// One way a type schema breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaProblem {
    /// The type name is not `PascalCase`.
    #[error("type name `{name}` is not PascalCase (e.g. `DockerResource`)")]
    BadTypeName {
        /// The name.
        name: String,
    },
    /// A field name is not `snake_case`.
    #[error("{type_name}: field name `{field}` is not snake_case (e.g. `env_vars`)")]
    BadFieldName {
        /// The type.
        type_name: String,
        /// The field.
        field: String,
    },
    /// Two fields share a name.
    #[error("{type_name}: field `{field}` is declared twice")]
    DuplicateField {
        /// The type.
        type_name: String,
        /// The field.
        field: String,
    },
    /// A field's value type does not parse.
    #[error("{type_name}: field `{field}`: {reason}")]
    BadValueType {
        /// The type.
        type_name: String,
        /// The field.
        field: String,
        /// Why, from the parser.
        reason: String,
    },
    /// A default or example is not valid JSON or does not match the type.
    #[error("{type_name}: field `{field}`: {what} {reason}")]
    BadValue {
        /// The type.
        type_name: String,
        /// The field.
        field: String,
        /// `default` or `example 2`.
        what: String,
        /// Why.
        reason: String,
    },
    /// Flags that contradict each other.
    #[error("{type_name}: field `{field}`: {reason}")]
    Contradiction {
        /// The type.
        type_name: String,
        /// The field.
        field: String,
        /// Which flags, and why they cannot go together.
        reason: String,
    },
    /// A field the plugin kind requires is missing or has the wrong type.
    #[error("{type_name}: {reason}")]
    MissingStandardField {
        /// The type.
        type_name: String,
        /// What is missing.
        reason: String,
    },
}

/// Whether `name` is `PascalCase`: an ASCII upper-case letter, then letters and digits.
pub fn is_pascal_case(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Whether `name` is `snake_case`: lower-case ASCII letters, digits and `_`, starting with a letter.
pub fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether `name` is `kebab-case`: lower-case ASCII letters, digits and `-`, starting with a letter.
pub fn is_kebab_case(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

impl FieldSchema {
    /// An optional field of `value_type` with a one-line doc and nothing
    /// else set; the rest is set with struct update syntax
    /// (`FieldSchema { completable: true, ..FieldSchema::new("image", "string") }`).
    pub fn new(name: &str, value_type: &str) -> Self {
        FieldSchema {
            name: name.into(),
            value_type: value_type.into(),
            doc: format!("The {name}."),
            required: false,
            default: None,
            completable: false,
            forces_replace: false,
            secret: false,
            examples: Vec::new(),
            receives: None,
        }
    }

    /// The parsed value type; `None` if it does not parse (see [`TypeSchema::problems`]).
    pub fn parsed_type(&self) -> Option<ValueType> {
        ValueType::parse(&self.value_type).ok()
    }

    /// The default as a JSON value, if present and valid.
    pub fn default_value(&self) -> Option<Value> {
        self.default
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
    }

    /// The first sentence of the doc, for tables.
    pub fn summary(&self) -> &str {
        first_sentence(&self.doc)
    }
}

impl TypeSchema {
    /// Looks up a field by name.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field that receives contributions of `kind`, if any.
    pub fn receiving(&self, kind: ContributionKind) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.receives == Some(kind))
    }

    /// The first sentence of the doc, for tables.
    pub fn summary(&self) -> &str {
        first_sentence(&self.doc)
    }

    /// Every rule this schema breaks; empty when it is valid.
    pub fn problems(&self) -> Vec<SchemaProblem> {
        let mut problems = Vec::new();
        let type_name = &self.name;
        if !is_pascal_case(type_name) {
            problems.push(SchemaProblem::BadTypeName {
                name: type_name.clone(),
            });
        }
        let mut seen: Vec<&str> = Vec::new();
        for field in &self.fields {
            let at = |reason: String| SchemaProblem::Contradiction {
                type_name: type_name.clone(),
                field: field.name.clone(),
                reason,
            };
            if !is_snake_case(&field.name) {
                problems.push(SchemaProblem::BadFieldName {
                    type_name: type_name.clone(),
                    field: field.name.clone(),
                });
            }
            if seen.contains(&field.name.as_str()) {
                problems.push(SchemaProblem::DuplicateField {
                    type_name: type_name.clone(),
                    field: field.name.clone(),
                });
                continue;
            }
            seen.push(&field.name);
            let ty = match ValueType::parse(&field.value_type) {
                Ok(ty) => ty,
                Err(e) => {
                    problems.push(SchemaProblem::BadValueType {
                        type_name: type_name.clone(),
                        field: field.name.clone(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let mut values: Vec<(String, &str)> = Vec::new();
            if let Some(default) = &field.default {
                values.push(("default".to_string(), default));
            }
            for (index, example) in field.examples.iter().enumerate() {
                values.push((format!("example {}", index + 1), example));
            }
            for (what, text) in values {
                let reason = match serde_json::from_str::<Value>(text) {
                    Err(e) => Some(format!("is not valid JSON ({e})")),
                    Ok(value) => ty
                        .check(&value)
                        .err()
                        .map(|m| format!("does not match `{ty}`: {m}")),
                };
                if let Some(reason) = reason {
                    problems.push(SchemaProblem::BadValue {
                        type_name: type_name.clone(),
                        field: field.name.clone(),
                        what,
                        reason,
                    });
                }
            }
            if field.required && field.default.is_some() {
                problems.push(at("a required field cannot have a default".into()));
            }
            if field.required && field.completable {
                problems.push(at(
                    "a required field cannot be completable: the user always gives it".into(),
                ));
            }
            if let Some(kind) = field.receives {
                if ty != kind.value_type() {
                    problems.push(at(format!(
                        "receives {kind}, so its type must be `{}`, not `{ty}`",
                        kind.value_type()
                    )));
                }
                if self
                    .fields
                    .iter()
                    .filter(|f| f.receives == Some(kind))
                    .count()
                    > 1
                    && self.receiving(kind).map(|f| f.name.as_str()) != Some(field.name.as_str())
                {
                    problems.push(at(format!(
                        "receives {kind}, which `{}` already receives: one field per kind",
                        self.receiving(kind).map(|f| f.name.as_str()).unwrap_or("")
                    )));
                }
            }
            let empty_default = matches!(field.default_value(), Some(Value::Array(a)) if a.is_empty())
                || matches!(field.default_value(), Some(Value::Object(o)) if o.is_empty());
            if field.default.is_some() && ty.is_reference() && !empty_default {
                problems.push(at(
                    "a reference field can only default to an empty list or dict".into(),
                ));
            }
        }
        problems
    }

    /// The JSON Schema (2020-12) of a config of this type.
    pub fn json_schema(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in &self.fields {
            let mut schema = field
                .parsed_type()
                .map(|t| t.json_schema())
                .unwrap_or_else(|| json!({}));
            if let Value::Object(object) = &mut schema {
                object.insert("description".into(), Value::String(field.doc.clone()));
                if let Some(default) = field.default_value() {
                    object.insert("default".into(), default);
                }
                let examples: Vec<Value> = field
                    .examples
                    .iter()
                    .filter_map(|e| serde_json::from_str(e).ok())
                    .collect();
                if !examples.is_empty() {
                    object.insert("examples".into(), Value::Array(examples));
                }
                if field.secret {
                    object.insert("writeOnly".into(), Value::Bool(true));
                }
            }
            if field.required {
                required.push(Value::String(field.name.clone()));
            }
            properties.insert(field.name.clone(), schema);
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.doc,
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

fn first_sentence(doc: &str) -> &str {
    let doc = doc.trim();
    let line_end = doc.find('\n').unwrap_or(doc.len());
    let first_line = &doc[..line_end];
    // The first ". " that does not follow an abbreviation such as "e.g.".
    let mut from = 0;
    while let Some(i) = first_line[from..].find(". ").map(|i| i + from) {
        let before = &first_line[..i];
        if !(before.ends_with("e.g")
            || before.ends_with("i.e")
            || before.ends_with("etc")
            || before.ends_with("vs"))
        {
            return &first_line[..=i];
        }
        from = i + 2;
    }
    first_line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, ty: &str) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            value_type: ty.into(),
            doc: "A field.".into(),
            required: false,
            default: None,
            completable: false,
            forces_replace: false,
            secret: false,
            examples: Vec::new(),
            receives: None,
        }
    }

    fn schema(fields: Vec<FieldSchema>) -> TypeSchema {
        TypeSchema {
            name: "DockerResource".into(),
            doc: "A container. More text.".into(),
            fields,
        }
    }

    #[test]
    fn a_valid_schema_has_no_problems() {
        let mut ports = field("ports", "list<string>");
        ports.default = Some("[]".into());
        ports.examples = vec!["[\"8080:80\"]".into()];
        assert_eq!(
            schema(vec![field("name", "string"), ports]).problems(),
            vec![]
        );
    }

    #[test]
    fn reports_every_problem() {
        let mut bad_default = field("ports", "list<string>");
        bad_default.default = Some("[1]".into());
        let mut required_default = field("image", "string");
        required_default.required = true;
        required_default.default = Some("\"x\"".into());
        let problems = schema(vec![
            field("name", "string"),
            field("name", "string"),
            field("envVars", "map<string>"),
            field("mode", "octal"),
            bad_default,
            required_default,
        ])
        .problems();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "DockerResource: field `name` is declared twice",
                "DockerResource: field name `envVars` is not snake_case (e.g. `env_vars`)",
                "DockerResource: field `mode`: invalid value type `octal`: unknown type `octal`; expected string, int, float, bool, any, mount, port, function, list<T>, map<T>, enum<a|b>, resource, connection or assertion",
                "DockerResource: field `ports`: default does not match `list<string>`: expected a string, got an integer (1)",
                "DockerResource: field `image`: a required field cannot have a default",
            ]
        );
    }

    #[test]
    fn json_schema_lists_required_fields_and_defaults() {
        let mut image = field("image", "string");
        image.required = true;
        let mut restart = field("restart_policy", "enum<no|always>");
        restart.default = Some("\"no\"".into());
        let js = schema(vec![image, restart]).json_schema();
        assert_eq!(js["required"], json!(["image"]));
        assert_eq!(js["properties"]["restart_policy"]["default"], json!("no"));
        assert_eq!(
            js["properties"]["restart_policy"]["enum"],
            json!(["no", "always"])
        );
    }

    #[test]
    fn names_follow_their_case() {
        assert!(is_pascal_case("HealthcheckAssert"));
        assert!(!is_pascal_case("healthcheck"));
        assert!(is_snake_case("env_vars"));
        assert!(!is_snake_case("_x"));
        assert!(is_kebab_case("docker-resource"));
        assert!(!is_kebab_case("Docker"));
        assert_eq!(schema(vec![]).summary(), "A container.");
        let mut f = field("url", "string");
        f.doc = "The URL, e.g. `http://x/`. More.".into();
        assert_eq!(f.summary(), "The URL, e.g. `http://x/`.");
    }
}
