//! What a model is asked: a strict-mode schema built from the plugin's own
//! field schemas, and a context with every secret replaced by a
//! placeholder before any text is built, so no secret can leave the
//! machine whatever the prompt says.

use std::collections::BTreeSet;

use clockwork_schema::{FieldSchema, ValueType};
use serde_json::{Map, Value as Json, json};

use crate::complete::chat::Message;

/// How a placeholder begins: `{{secret:LABEL}}`.
const PLACEHOLDER_OPEN: &str = "{{secret:";

/// The placeholders a prompt showed for one declaration: the only ones an
/// answer about it (or its entry in `clockwork.lock`) may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown(BTreeSet<String>);

impl Shown {
    /// The placeholder labels in `value` (a context as the model saw it).
    pub fn in_value(value: &Json) -> Shown {
        let mut labels = BTreeSet::new();
        let mut strings = Vec::new();
        collect_strings("", value, &mut strings);
        for (path, text) in strings {
            // Keys are shown to the model too (`env_vars` names).
            for text in [path.as_str(), text] {
                let mut rest = text;
                while let Some(start) = rest.find(PLACEHOLDER_OPEN) {
                    let after = &rest[start + PLACEHOLDER_OPEN.len()..];
                    let Some(end) = after.find("}}") else { break };
                    labels.insert(after[..end].to_string());
                    rest = &after[end + 2..];
                }
            }
        }
        Shown(labels)
    }
}

/// Secrets and the placeholders that stand for them in a prompt and in
/// `clockwork.lock`. A placeholder names where the secret is declared
/// (`{{secret:db.env_vars.POSTGRES_PASSWORD}}`), never anything derived
/// from its value, so it tells the model what it stands for, stays the same
/// when the value changes, and a committed lock file holds no secret.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    /// (label, secret), longest secret first, so a secret containing
    /// another is replaced whole.
    secrets: Vec<(String, String)>,
}

impl Placeholders {
    /// Placeholders for `secrets`, each labelled by the first place (by
    /// path order) in `places` that holds it: exactly under a secret-looking
    /// key, else exactly, else inside a text.
    /// A secret found nowhere is labelled by its rank.
    pub fn new(secrets: impl IntoIterator<Item = String>, places: &[(String, Json)]) -> Self {
        let secrets: BTreeSet<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        let mut strings: Vec<(String, &str)> = Vec::new();
        for (prefix, value) in places {
            collect_strings(prefix, value, &mut strings);
        }
        strings.sort();
        let mut labelled: Vec<(String, String)> = Vec::new();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for (rank, secret) in secrets.iter().enumerate() {
            let secret_named = |path: &str| {
                let key = path.rsplit('.').next().unwrap_or(path);
                crate::secret::is_secret_name(key.split('[').next().unwrap_or(key))
            };
            let place = strings
                .iter()
                .find(|(path, s)| *s == secret.as_str() && secret_named(path))
                .or_else(|| strings.iter().find(|(_, s)| *s == secret.as_str()))
                .or_else(|| strings.iter().find(|(_, s)| s.contains(secret.as_str())))
                .map(|(path, _)| path.clone())
                .unwrap_or_else(|| format!("{}", rank + 1));
            let mut label = place.clone();
            let mut n = 2;
            while !used.insert(label.clone()) {
                label = format!("{place}#{n}");
                n += 1;
            }
            labelled.push((label, secret.clone()));
        }
        labelled.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
        Placeholders { secrets: labelled }
    }

    fn placeholder(label: &str) -> String {
        format!("{PLACEHOLDER_OPEN}{label}}}}}")
    }

    /// `value` with every secret replaced by its placeholder, for a
    /// prompt: see [`Placeholders::hide_text`].
    pub fn hide(&self, value: &Json) -> Json {
        self.map_strings(value, &|text| self.hide_text(text, None))
    }

    /// `value` with the secrets `shown` replaced by their placeholders, for
    /// `clockwork.lock`: a declaration's completed values hold only the
    /// secrets it was shown (restored from the placeholders the model
    /// wrote); any other text stays as it is, a secret of another
    /// declaration that it merely equals (`postgres`) included.
    pub fn hide_shown(&self, value: &Json, shown: &Shown) -> Json {
        self.map_strings(value, &|text| self.hide_text(text, Some(shown)))
    }

    /// `text` with each secret (of `only`, when given) replaced by its
    /// placeholder in one pass: a whole value that is one, a URL's password
    /// that is one, and each written form of one (as is, percent-encoded,
    /// JSON-escaped) wherever it occurs when it is unlike a word or a
    /// number, else where it stands as a word of its own (`requirepass
    /// hunter`, `pin 48213907`; not `postgres` in `postgresql`). Longer
    /// matches win; a placeholder put in is never searched again.
    fn hide_text(&self, text: &str, only: Option<&Shown>) -> String {
        let allowed = |label: &str| only.is_none_or(|shown| shown.0.contains(label));
        if let Some((label, _)) = self
            .secrets
            .iter()
            .find(|(label, s)| s == text && allowed(label))
        {
            return Self::placeholder(label);
        }
        let mut spans: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
        let passwords = crate::secret::url_password_spans(text);
        for (label, secret) in self.secrets.iter().filter(|(l, _)| allowed(l)) {
            for span in &passwords {
                let password = &text[span.clone()];
                if password == secret || crate::secret::percent_decode(password) == *secret {
                    spans.push((span.clone(), label));
                }
            }
            for form in crate::secret::forms_of(secret) {
                let anywhere = crate::secret::found_anywhere(&form);
                for span in crate::secret::occurrences(text, &form, anywhere) {
                    spans.push((span, label));
                }
            }
        }
        spans.sort_by(|(a, _), (b, _)| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (span, label) in spans {
            if span.start < last {
                continue;
            }
            out.push_str(&text[last..span.start]);
            out.push_str(&Self::placeholder(label));
            last = span.end;
        }
        out.push_str(&text[last..]);
        out
    }

    /// Whether `text` is one of the secrets (a value the user declared).
    pub fn knows(&self, text: &str) -> bool {
        self.secrets.iter().any(|(_, s)| s == text)
    }

    /// `value` with each placeholder replaced by its secret again — only
    /// the placeholders in `shown`, those the prompt showed for this
    /// declaration (its own secrets and those of what it connects to). Any
    /// other placeholder (another declaration's secret, or one that names
    /// nothing) is refused: a model or a lock file naming it is reaching
    /// for a secret this declaration was not given.
    pub fn restore(&self, value: &Json, shown: &Shown) -> Result<Json, String> {
        let refused: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
        let restored = self.map_strings(value, &|text| {
            let mut out = String::with_capacity(text.len());
            let mut rest = text;
            while let Some(start) = rest.find(PLACEHOLDER_OPEN) {
                out.push_str(&rest[..start]);
                let after = &rest[start + PLACEHOLDER_OPEN.len()..];
                let Some(end) = after.find("}}") else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let label = &after[..end];
                match self.secrets.iter().find(|(l, _)| l == label) {
                    Some((_, secret)) if shown.0.contains(label) => out.push_str(secret),
                    _ => {
                        refused
                            .borrow_mut()
                            .get_or_insert_with(|| Self::placeholder(label));
                    }
                }
                rest = &after[end + 2..];
            }
            out.push_str(rest);
            out
        });
        match refused.into_inner() {
            Some(placeholder) => Err(placeholder),
            None => Ok(restored),
        }
    }

    fn map_strings(&self, value: &Json, f: &dyn Fn(&str) -> String) -> Json {
        match value {
            Json::String(s) => Json::String(f(s)),
            Json::Array(items) => {
                Json::Array(items.iter().map(|v| self.map_strings(v, f)).collect())
            }
            Json::Object(o) => Json::Object(
                o.iter()
                    .map(|(k, v)| (f(k), self.map_strings(v, f)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn collect_strings<'a>(path: &str, value: &'a Json, out: &mut Vec<(String, &'a str)>) {
    match value {
        Json::String(s) => out.push((path.to_string(), s)),
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(&format!("{path}[{i}]"), item, out);
            }
        }
        Json::Object(o) => {
            for (k, v) in o {
                collect_strings(&format!("{path}.{k}"), v, out);
            }
        }
        _ => {}
    }
}

/// Whether a model can be asked for a field of this type: references to
/// declarations and functions are the user's to write, and so are ports
/// on this machine (only the user's own `port` values are published).
pub fn askable(ty: &ValueType) -> bool {
    match ty {
        ValueType::Resource(_)
        | ValueType::Connection
        | ValueType::Assertion
        | ValueType::Function
        | ValueType::Port => false,
        ValueType::List(inner) | ValueType::Map(inner) => askable(inner),
        _ => true,
    }
}

/// The schema of `ty` under OpenAI's strict rules: every object closed
/// (`additionalProperties: false`) with every property required. A map,
/// which strict mode cannot express, becomes a list of `{key, value}`; an
/// `any` becomes a string of JSON; a mount its written form.
pub fn strict_type(ty: &ValueType) -> Json {
    match ty {
        ValueType::String | ValueType::Mount | ValueType::Port => json!({"type": "string"}),
        ValueType::Int => json!({"type": "integer"}),
        ValueType::Float => json!({"type": "number"}),
        ValueType::Bool => json!({"type": "boolean"}),
        ValueType::Enum(options) => json!({"type": "string", "enum": options}),
        ValueType::List(inner) => json!({"type": "array", "items": strict_type(inner)}),
        ValueType::Map(inner) => json!({
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": strict_type(inner)},
                "required": ["key", "value"],
                "additionalProperties": false,
            },
        }),
        ValueType::Any => json!({"type": "string", "description": "a JSON value, as text"}),
        ValueType::Resource(_)
        | ValueType::Connection
        | ValueType::Assertion
        | ValueType::Function => {
            json!({"type": "string"})
        }
    }
}

/// An answer in the strict form back in the field's own form.
pub fn from_strict(ty: &ValueType, value: &Json) -> Json {
    match (ty, value) {
        (ValueType::List(inner), Json::Array(items)) => {
            Json::Array(items.iter().map(|v| from_strict(inner, v)).collect())
        }
        (ValueType::Map(inner), Json::Array(items)) => {
            let mut out = Map::new();
            for item in items {
                if let Some(key) = item["key"].as_str() {
                    out.insert(key.to_string(), from_strict(inner, &item["value"]));
                }
            }
            Json::Object(out)
        }
        (ValueType::Any, Json::String(text)) => {
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone()))
        }
        _ => value.clone(),
    }
}

/// The response schema asking for exactly `fields`.
pub fn response_schema(fields: &[&FieldSchema]) -> Json {
    let mut properties = Map::new();
    for field in fields {
        let mut schema = field
            .parsed_type()
            .map(|t| strict_type(&t))
            .unwrap_or_else(|| json!({"type": "string"}));
        if let Json::Object(o) = &mut schema
            && !o.contains_key("description")
        {
            o.insert(
                "description".into(),
                Json::String(field.summary().to_string()),
            );
        }
        properties.insert(field.name.clone(), schema);
    }
    let required: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A declaration as the model sees it (already free of secrets).
#[derive(Debug, Clone)]
pub struct Context {
    /// `{"type", "name", "description", "fields"}` of the declaration.
    pub declaration: Json,
    /// The same for each declaration it connects to (or, for a
    /// connection, its two endpoints).
    pub related: Vec<(String, Json)>,
    /// The composite it belongs to, if any.
    pub part_of: Option<Json>,
}

impl Context {
    /// The placeholders it shows the model.
    pub fn shown(&self) -> Shown {
        let mut whole = vec![self.declaration.clone()];
        whole.extend(self.related.iter().map(|(_, d)| d.clone()));
        whole.extend(self.part_of.clone());
        Shown::in_value(&Json::Array(whole))
    }

    /// What the inputs hash covers: the declaration whole, and what it is
    /// related to without their descriptions, so that editing one
    /// description re-asks about that declaration only (its neighbours are
    /// re-asked when their fields change, e.g. a newly completed image).
    pub fn inputs(&self) -> Json {
        let without_description = |d: &Json| {
            let mut d = d.clone();
            if let Json::Object(o) = &mut d {
                o.remove("description");
            }
            d
        };
        json!({
            "declaration": self.declaration,
            "related": self.related.iter().map(|(how, d)| json!({"as": how, "declaration": without_description(d)})).collect::<Vec<_>>(),
            "part_of": self.part_of.as_ref().map(without_description),
        })
    }
}

const SYSTEM: &str = "You fill in the missing fields of one declaration of Clockwork, a tool that runs local \
infrastructure in Docker containers. Answer with one JSON object that matches the response schema and \
gives a value for every field asked, chosen from the declaration's description, the fields already set, \
and the declarations it is connected to. Prefer official images and their usual ports and variables. \
An empty list or object means none: give it where the image's own default is right (its command, its \
volumes). \
Text like {{secret:db.env_vars.POSTGRES_PASSWORD}} stands for a secret you cannot see: where that secret belongs, write the \
placeholder exactly as shown; never invent a password.";

/// The messages asking for `fields` of the declaration in `context`: plain
/// sentences with the values as JSON, short enough that a small model is
/// not tempted to copy documentation into its answer.
pub fn messages(
    type_doc: &str,
    fields: &[&FieldSchema],
    parameters: &[String],
    context: &Context,
    note: Option<&str>,
) -> Vec<Message> {
    let line = |d: &Json| {
        let mut text = format!(
            "`{}` ({})",
            d["name"].as_str().unwrap_or(""),
            d["type"].as_str().unwrap_or("")
        );
        if let Some(description) = d["description"].as_str() {
            text.push_str(&format!(": {description}"));
        }
        if d["fields"].as_object().is_some_and(|f| !f.is_empty()) {
            text.push_str(&format!("; fields {}", d["fields"]));
        }
        text
    };
    let d = &context.declaration;
    let mut user = format!(
        "Complete the declaration `{}` ({}: {})\n",
        d["name"].as_str().unwrap_or(""),
        d["type"].as_str().unwrap_or(""),
        first_sentence(type_doc)
    );
    if let Some(description) = d["description"].as_str() {
        user.push_str(&format!("Description: {description}\n"));
    }
    if d["fields"].as_object().is_some_and(|f| !f.is_empty()) {
        user.push_str(&format!("Fields already set: {}\n", d["fields"]));
    }
    for (how, related) in &context.related {
        user.push_str(&format!("It is {how} {}\n", line(related)));
    }
    if let Some(parent) = &context.part_of {
        user.push_str(&format!("It is part of {}\n", line(parent)));
    }
    user.push_str("Fill these fields:\n");
    for f in fields {
        if f.value_type == "function" {
            user.push_str(&format!(
                "- {} (the source text of one Starlark function): {} Write `def {}({}):` returning \
                 `(passed, message)`. Each parameter is a resource with `.name`, `.container`, \
                 `.fields` and `.state.running`; `exec(resource, [\"cmd\", \"arg\"])` runs a command \
                 in its container and returns `.ok`, `.exit_code` and `.stdout`; `tcp.connect(host, \
                 port)` and `http.get(url)` return results with `.ok`.\n",
                f.name,
                f.summary(),
                f.name,
                parameters.join(", ")
            ));
            continue;
        }
        user.push_str(&format!("- {} ({}): {}", f.name, f.value_type, f.summary()));
        let examples: Vec<&str> = f.examples.iter().take(2).map(String::as_str).collect();
        if !examples.is_empty() {
            user.push_str(&format!(" For example {}.", examples.join(" or ")));
        }
        user.push('\n');
    }
    let mut out = vec![
        Message {
            role: "system",
            content: SYSTEM.into(),
        },
        Message {
            role: "user",
            content: user,
        },
    ];
    if let Some(note) = note {
        out.push(Message {
            role: "user",
            content: format!(
                "Your previous answer could not be used: {note}\nAnswer again, briefly, with one JSON object that matches the schema."
            ),
        });
    }
    out
}

fn first_sentence(doc: &str) -> &str {
    let first = doc.split("\n\n").next().unwrap_or(doc);
    match first.find(". ") {
        Some(i) => &first[..=i],
        None => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_placeholders_and_come_back() {
        let places = [(
            "db".to_string(),
            json!({"env_vars": {"POSTGRES_PASSWORD": "s3cret", "K": "s3"}}),
        )];
        let p = Placeholders::new(
            [
                "s3cret".to_string(),
                "s3".to_string(),
                "elsewhere".to_string(),
                String::new(),
            ],
            &places,
        );
        let hidden =
            p.hide(&json!({"URL": "postgres://u:s3cret@db/x", "k": ["s3"], "e": "elsewhere"}));
        assert_eq!(
            hidden,
            json!({
                "URL": "postgres://u:{{secret:db.env_vars.POSTGRES_PASSWORD}}@db/x",
                "k": ["{{secret:db.env_vars.K}}"],
                "e": "{{secret:1}}",
            })
        );
        assert!(!hidden.to_string().contains("s3c"));
        let shown = Shown::in_value(&hidden);
        assert_eq!(
            p.restore(
                &json!({"X": "a {{secret:db.env_vars.POSTGRES_PASSWORD}} b"}),
                &shown
            ),
            Ok(json!({"X": "a s3cret b"}))
        );
    }

    /// A secret that reads like a word or a number is hidden where it
    /// stands as one, in one pass (a placeholder put in is not searched
    /// again); for the lock, only the secrets shown.
    #[test]
    fn word_and_number_secrets_are_hidden_where_they_stand_alone() {
        let places = [
            (
                "cache".to_string(),
                json!({"env_vars": {"REDIS_PASSWORD": "hunter", "PIN": "48213907"}}),
            ),
            (
                "db".to_string(),
                json!({"env_vars": {"POSTGRES_PASSWORD": "env_vars"}}),
            ),
        ];
        let p = Placeholders::new(
            [
                "hunter".to_string(),
                "48213907".to_string(),
                "env_vars".to_string(),
            ],
            &places,
        );
        let hidden = p.hide(&json!([
            "redis-server --requirepass hunter",
            "login with pin 48213907 for ops",
            "hunters and 148213907 stay",
            "psql password=hunter sslmode=off"
        ]));
        let text = hidden.to_string();
        assert!(!text.contains("requirepass hunter"), "{text}");
        assert!(!text.contains("pin 48213907"), "{text}");
        assert!(text.contains("hunters and 148213907 stay"), "{text}");
        assert!(!text.contains("password=hunter"), "{text}");
        // No placeholder is mangled by a secret equal to part of its label.
        let all = Shown::in_value(&hidden);
        assert!(p.restore(&hidden, &all).is_ok(), "{text}");
        // For the lock: only what this declaration was shown.
        let shown = Shown::in_value(&p.hide(&json!("hunter")));
        assert_eq!(
            p.hide_shown(&json!("--requirepass hunter, pin 48213907"), &shown),
            json!("--requirepass {{secret:cache.env_vars.REDIS_PASSWORD}}, pin 48213907")
        );
    }

    /// A placeholder the prompt did not show (another declaration's
    /// secret), or one that names nothing, is refused, named.
    #[test]
    fn only_the_placeholders_shown_come_back() {
        let places = [
            (
                "db".to_string(),
                json!({"env_vars": {"POSTGRES_PASSWORD": "s3cret"}}),
            ),
            (
                "web".to_string(),
                json!({"env_vars": {"API_TOKEN": "t0ken"}}),
            ),
        ];
        let p = Placeholders::new(["s3cret".to_string(), "t0ken".to_string()], &places);
        let shown = Shown::in_value(&p.hide(&json!({"env_vars": {"API_TOKEN": "t0ken"}})));
        assert_eq!(
            p.restore(&json!({"A": "{{secret:web.env_vars.API_TOKEN}}"}), &shown),
            Ok(json!({"A": "t0ken"}))
        );
        assert_eq!(
            p.restore(
                &json!({"STOLEN": "x{{secret:db.env_vars.POSTGRES_PASSWORD}}"}),
                &shown
            ),
            Err("{{secret:db.env_vars.POSTGRES_PASSWORD}}".to_string())
        );
        assert_eq!(
            p.restore(&json!(["{{secret:nothing}}"]), &shown),
            Err("{{secret:nothing}}".to_string())
        );
        // In a key too.
        assert!(
            p.restore(
                &json!({"{{secret:db.env_vars.POSTGRES_PASSWORD}}": "1"}),
                &shown
            )
            .is_err()
        );
    }

    #[test]
    fn strict_schemas_close_every_object_and_maps_round_trip() {
        let map = ValueType::parse("map<string>").unwrap();
        let schema = strict_type(&map);
        assert_eq!(schema["type"], "array");
        assert_eq!(schema["items"]["additionalProperties"], false);
        let answer = json!([{"key": "A", "value": "1"}, {"key": "B", "value": "2"}]);
        assert_eq!(from_strict(&map, &answer), json!({"A": "1", "B": "2"}));
        let any = ValueType::parse("map<any>").unwrap();
        assert_eq!(
            from_strict(
                &any,
                &json!([{"key": "test", "value": "[\"CMD\", \"true\"]"}, {"key": "x", "value": "plain"}])
            ),
            json!({"test": ["CMD", "true"], "x": "plain"})
        );
        assert!(!askable(&ValueType::parse("list<resource>").unwrap()));
    }
}
