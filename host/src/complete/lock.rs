//! `clockwork.lock`: every value completion chose, with its source and the
//! hash of what it was chosen from, so the next `plan` replays it instead
//! of asking again, and a reviewer sees (and commits) what a model wrote.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::project::{PathError, ProjectDir};

/// The lock file's name, in the project folder.
pub const LOCK_FILE: &str = "clockwork.lock";

const HEADER: &str = "# clockwork.lock: the values completion chose for fields your declarations leave out.\n\
# Written by `clockwork plan` and `clockwork apply`; commit it, so every machine and CI plans the same.\n\
# A declaration is completed again only when what it was completed from changes, or with\n\
# `clockwork complete --refresh NAME`. To change a value, write the field in main.star: yours wins.\n";

/// The version this host writes and reads.
const VERSION: u32 = 1;

/// The file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// Format version.
    pub version: u32,
    /// Completed resources, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Locked>,
    /// Completed connections, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connections: BTreeMap<String, Locked>,
    /// Completed assertions (a check written from words), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assertions: BTreeMap<String, Locked>,
}

/// One declaration's completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Hash of what it was completed from: its description, the fields set
    /// (secrets as placeholders), what it connects to, the fields missing.
    pub inputs: String,
    /// The model's answer, when a model was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRecord>,
    /// Field → what was chosen.
    pub fields: BTreeMap<String, LockedField>,
}

/// Which model answered, and for what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRecord {
    /// The model asked for (`CW_MODEL`).
    pub name: String,
    /// The model the server says answered.
    pub id: String,
    /// The server's `system_fingerprint`, if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Hash of the messages sent.
    pub prompt: String,
    /// Hash of the response schema.
    pub schema: String,
}

/// One completed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedField {
    /// The value, as the field's type.
    pub value: Json,
    /// `rules:<plugin>` or `model:<name>`.
    pub source: String,
    /// Why, for a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why the lock file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// It could not be read or written.
    #[error("{LOCK_FILE}: {0}")]
    Path(#[from] PathError),
    /// It is not a lock file this version understands.
    #[error("{LOCK_FILE} cannot be read: {0}")]
    Invalid(String),
}

impl LockFile {
    /// The project's lock file, or an empty one when there is none.
    pub fn read(files: &ProjectDir) -> Result<LockFile, LockError> {
        let bytes = match files.read(Path::new(LOCK_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => {
                return Ok(LockFile {
                    version: VERSION,
                    ..LockFile::default()
                });
            }
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| LockError::Invalid("it is not UTF-8 text".into()))?;
        let lock: LockFile = toml::from_str(&text).map_err(|e| {
            LockError::Invalid(format!(
                "{}; delete it to complete every declaration again",
                e.message()
            ))
        })?;
        if lock.version != VERSION {
            return Err(LockError::Invalid(format!(
                "version {} is not {VERSION}, the version this clockwork writes; delete it to complete again",
                lock.version
            )));
        }
        Ok(lock)
    }

    /// The file's text.
    pub fn render(&self) -> Result<String, LockError> {
        let body = toml::to_string(self).map_err(|e| LockError::Invalid(e.to_string()))?;
        Ok(format!("{HEADER}\n{body}"))
    }

    /// Writes the file atomically.
    pub fn write(&self, files: &ProjectDir) -> Result<(), LockError> {
        let text = self.render()?;
        files.write_atomic(Path::new(LOCK_FILE), text.as_bytes(), 0o644)?;
        Ok(())
    }

    /// The entries of one kind of declaration (names are unique only
    /// within a kind).
    pub fn of(&mut self, kind: crate::model::PluginKind) -> &mut BTreeMap<String, Locked> {
        match kind {
            crate::model::PluginKind::Resource => &mut self.resources,
            crate::model::PluginKind::Connection => &mut self.connections,
            crate::model::PluginKind::Assertion => &mut self.assertions,
        }
    }

    /// Whether it records nothing.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.connections.is_empty() && self.assertions.is_empty()
    }
}

/// `sha256:<hex>` of a JSON value's text (serde_json sorts object keys,
/// so equal values hash equally).
pub fn hash(value: &Json) -> String {
    format!(
        "sha256:{}",
        crate::state::sha256_hex(value.to_string().as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lock_round_trips_through_its_text() {
        let mut lock = LockFile {
            version: VERSION,
            ..LockFile::default()
        };
        lock.resources.insert(
            "db".into(),
            Locked {
                type_name: "DockerResource".into(),
                inputs: hash(&json!({"a": 1})),
                model: Some(ModelRecord {
                    name: "m".into(),
                    id: "m-1".into(),
                    system_fingerprint: None,
                    prompt: hash(&json!("p")),
                    schema: hash(&json!("s")),
                }),
                fields: [(
                    "env_vars".to_string(),
                    LockedField {
                        value: json!({"A": "1", "N": 2}),
                        source: "model:m".into(),
                        reason: None,
                    },
                )]
                .into(),
            },
        );
        let text = lock.render().unwrap();
        assert!(text.starts_with("# clockwork.lock"));
        let back: LockFile = toml::from_str(&text).unwrap();
        assert_eq!(back, lock);
    }
}
