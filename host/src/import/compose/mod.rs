//! A Compose file read into what Clockwork can express: the services with
//! the keys it translates, checked and normalised (short and long syntax
//! alike), and everything else recorded as an [`Item`] at its key.
//!
//! The checks are those Compose itself makes (a named volume or network
//! that is not declared, a `depends_on` of no service), plus unknown keys,
//! which Compose refuses too and which are usually typos.

mod environment;
mod keys;
pub(super) mod model;
mod mounts;
mod ports;
mod service;
mod service_keys;
mod top_level;

pub use model::{Compose, Condition, EnvValue, SecretToSet, Service};

use serde_yaml_ng::{Mapping, Value};

use crate::import::error::{ImportError, Problem};
use crate::import::interp::Text;
use crate::import::locate::{Locator, Seg};
use crate::import::secrets::Secrets;
use crate::import::{Input, Item, ItemKind};

/// Problems shown one by one; past these, they are counted (a file with
/// thousands of mistakes is not helped by thousands of messages, and each
/// costs a suggestion worked out against every name).
const MAX_PROBLEMS: usize = 200;

/// The most bytes of env files one import reads, counting a file at each
/// service that names it: what is read is copied into main.star, so a
/// small Compose file naming a large env file at many services would
/// otherwise make a main.star of gigabytes.
const ENV_FILES_BUDGET: u64 = 64 * 1024 * 1024;

/// A top-level network or volume: its Docker name and whether Compose
/// expects it to exist already.
#[derive(Debug, Clone)]
struct Declared {
    name: String,
}

/// Where each `<<` key of `text` is (a key at a line's start, perhaps after
/// a list's `- `).
fn merge_keys(text: &str) -> Vec<crate::import::locate::Spot> {
    let mut spots = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_start_matches([' ', '-']);
        if body.starts_with("<<") && body[2..].trim_start().starts_with(':') {
            let column = line.len() - body.len();
            spots.push(crate::import::locate::Spot {
                line: i + 1,
                column: column + 1,
                offset: offset + column,
                len: 2,
            });
        }
        offset += line.len();
    }
    spots
}

/// A name as a key of an example: quoted when it looks secret, since
/// `password: {}` reads as `name: value` to the output's masking, which
/// would mask Clockwork's own example.
fn yaml_key(name: &str) -> String {
    if crate::secret::is_secret_name(name) {
        serde_json::to_string(name).unwrap_or_else(|_| name.to_string())
    } else {
        name.to_string()
    }
}

/// Reads the file, collecting every problem and every untranslated key.
pub fn read(input: &Input<'_>) -> Result<(Compose, Vec<Item>, Secrets), ImportError> {
    let mut value: Value = serde_yaml_ng::from_str(input.text).map_err(|e| {
        let spot = e.location().map(|l| crate::import::locate::Spot {
            line: l.line(),
            column: l.column(),
            offset: l.index(),
            len: 1,
        });
        let message = e.to_string();
        // The snippet shows where; the message keeps what and while doing
        // what (`, while scanning a quoted scalar at line 3 column 12`).
        let message = match message.find(" at line ") {
            Some(at) => {
                let context = message[at..].find(',').map_or("", |c| &message[at + c..]);
                format!("{}{context}", &message[..at])
            }
            None => message,
        };
        ImportError::Syntax(Box::new(Problem::new(
            input.file,
            input.text,
            spot,
            format!("{} is not YAML: {message}", input.file),
            Some("a Compose file is a YAML mapping with `services:` at the top".into()),
        )))
    })?;
    // `<<: *defaults` is how Compose files share settings between services.
    if let Err(e) = value.apply_merge() {
        // The parser does not say which merge failed: with one `<<` key it
        // is that one; with several, their lines are named.
        let merges = merge_keys(input.text);
        let (spot, lines) = match merges.as_slice() {
            [] => (None, String::new()),
            [only] => (Some(*only), String::new()),
            many => (
                None,
                format!(
                    " (one of the `<<` keys on lines {})",
                    many.iter()
                        .map(|s| s.line.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        return Err(ImportError::Syntax(Box::new(Problem::new(
            input.file,
            input.text,
            spot,
            // The file's name in backticks: one that looks secret
            // (`secrets.yml`) must not read as `name: value` to the
            // output's masking, as nothing before a colon may.
            format!(
                "`{}`: a `<<` merge cannot be applied{lines}: {e}",
                input.file
            ),
            Some("`<<` takes a mapping or a list of mappings, e.g. `<<: *defaults`".into()),
        ))));
    }
    let mut reader = Reader {
        input,
        locator: Locator::new(input.text),
        problems: Vec::new(),
        items: Vec::new(),
        project: input.folder_project(),
        hidden_problems: 0,
        env_bytes: 0,
        service_index: 0,
        secrets: Secrets::default(),
    };
    let compose = reader.file(&value);
    if reader.hidden_problems > 0 {
        let more = reader.hidden_problems;
        reader.problems.push(Problem::new(
            input.file,
            input.text,
            None,
            format!(
                "and {more} more problem(s) in {}, not shown: {MAX_PROBLEMS} are shown at most",
                input.file
            ),
            Some("fix those shown and import again".into()),
        ));
    }
    // In file order, whatever order the keys were checked in.
    reader
        .problems
        .sort_by_key(|p| p.spot.map_or(usize::MAX, |s| s.offset));
    if reader.problems.is_empty() {
        Ok((compose, reader.items, reader.secrets))
    } else {
        Err(ImportError::Invalid(reader.problems))
    }
}

struct Reader<'a, 'i> {
    input: &'a Input<'i>,
    /// Finds keys in the file's text.
    locator: Locator<'i>,
    problems: Vec<Problem>,
    /// Problems past [`MAX_PROBLEMS`], counted only.
    hidden_problems: usize,
    /// The bytes of env files read so far, each use counted.
    env_bytes: u64,
    /// The index the service being read will have.
    service_index: usize,
    /// The secrets of env files, by the name main.star reads them under.
    secrets: Secrets,
    items: Vec<Item>,
    /// The Compose project name: `name`, else the folder's.
    project: String,
}

/// A path from string keys.
fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_string())).collect()
}

fn with(base: &[Seg], more: Seg) -> Vec<Seg> {
    let mut p = base.to_vec();
    p.push(more);
    p
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// `services.web.ports[0]`, as messages name a key.
fn shown(p: &[Seg]) -> String {
    let mut out = String::new();
    for seg in p {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What a value is, for "expected …, found …".
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A scalar as Compose reads it into a string.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A name listed under a key, its place, and its options when the key is
/// a mapping.
type Named<'v> = (String, Vec<Seg>, Option<&'v Value>);

fn entries(m: &Mapping) -> impl Iterator<Item = (String, &Value)> {
    m.iter().map(|(k, v)| (scalar(k).unwrap_or_default(), v))
}

impl Reader<'_, '_> {
    /// Whether problems are no longer shown one by one (so that working
    /// out a suggestion for one is wasted).
    fn flooded(&self) -> bool {
        self.problems.len() >= MAX_PROBLEMS
    }

    fn problem(&mut self, at: &[Seg], message: String, help: Option<String>) {
        if self.flooded() {
            self.hidden_problems += 1;
            return;
        }
        let spot = self.locator.locate(at);
        self.problems.push(Problem::new(
            self.input.file,
            self.input.text,
            spot,
            message,
            help,
        ));
    }

    fn item(&mut self, service: Option<&str>, at: &[Seg], kind: ItemKind, reason: String) {
        // The key as the user knows it, below the service.
        let skip = if service.is_some() { 2 } else { 0 };
        let key = shown(&at[skip.min(at.len())..]);
        self.items.push(Item {
            service: service.map(str::to_string),
            key,
            line: self.locator.locate(at).map(|s| s.line),
            kind,
            reason,
        });
    }

    fn skip(&mut self, service: Option<&str>, at: &[Seg], reason: impl Into<String>) {
        self.item(service, at, ItemKind::NotTranslated, reason.into());
    }

    fn note(&mut self, service: Option<&str>, at: &[Seg], reason: impl Into<String>) {
        self.item(service, at, ItemKind::Note, reason.into());
    }

    /// Something main.star would grant the container on this machine.
    fn review(&mut self, service: Option<&str>, at: &[Seg], reason: impl Into<String>) {
        self.item(service, at, ItemKind::Review, reason.into());
    }

    fn expected(&mut self, at: &[Seg], what: &str, found: &Value, example: &str) {
        self.problem(
            at,
            format!("`{}` must be {what}; found {}", shown(at), kind(found)),
            Some(format!("for example `{example}`")),
        );
    }

    fn text(&mut self, at: &[Seg], raw: &str) -> Option<Text> {
        let name = match at.last() {
            Some(Seg::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        self.text_named(at, raw, name)
    }

    /// [`text`](Self::text) of the value of the variable `name` (which a
    /// list item's place does not say).
    fn text_named(&mut self, at: &[Seg], raw: &str, name: Option<&str>) -> Option<Text> {
        match Text::parse(raw) {
            Ok(t) => Some(t),
            Err(message) => {
                self.problem(
                    at,
                    format!("`{}`: {}", shown(at), unquoted_if_secret(name, raw, message)),
                    Some("Compose interpolation is `${NAME}`, `${NAME:-default}` or `${NAME:?message}`; `$$` is a literal `$`".into()),
                );
                None
            }
        }
    }
}

/// What is wrong with the interpolation in `raw`, the value of `name`:
/// `message`, which quotes a piece of it, unless the value is a secret
/// (by its name, or a URL's password or secret parameter in it).
fn unquoted_if_secret(name: Option<&str>, raw: &str, message: String) -> String {
    let secret = name.is_some_and(crate::secret::is_secret_name)
        || !crate::secret::url_passwords(raw).is_empty()
        || !crate::secret::query_secrets(raw).is_empty();
    if secret {
        "its value, a secret (so not quoted here), is not valid Compose interpolation".into()
    } else {
        message
    }
}
