//! `.clockwork/state.json`: what was deployed, written atomically after
//! every change, under a lock so two `apply`/`destroy` never interleave;
//! `.clockwork/journal.jsonl`, a line per action, for diagnosis; and the
//! files Clockwork wrote, with their content hashes, so it never overwrites
//! or removes a file it did not write.
//!
//! Everything here goes through [`ProjectDir`] (no symbolic links), is
//! owner-only (0600, the folder 0700), and has secrets masked: the state
//! records what was deployed, not the passwords it was deployed with.
//!
//! The state is input anyone can hand you (a repository, another user):
//! nothing in it lets a command act on another project's objects. Which
//! other folders' objects this project took over is remembered outside it
//! ([`adoption`]).
//!
//! A destroy is recorded before anything is removed ([`State::destroyed`],
//! and a new [`Generation`]), under the lock: every heal of `watch` checks
//! both under the lock right before it acts, so a destroyed project is
//! never healed back, whatever the interleaving.

pub mod adoption;
mod lock;

pub use lock::Lock;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::time::now_ms;
use crate::model::{ResourceName, TypeName};
use crate::output;
use crate::project::{Identity, PathError, ProjectDir, ProjectId, STATE_DIR};

const STATE_FILE: &str = ".clockwork/state.json";
const JOURNAL_FILE: &str = ".clockwork/journal.jsonl";
const LAST_PLAN_FILE: &str = ".clockwork/last-plan.json";
/// The state format this Clockwork reads and writes.
pub const VERSION: u32 = 1;
const PRIVATE: u32 = 0o600;

/// What is recorded of one deployed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: TypeName,
    /// What its plugin's `settle` returned.
    pub state: Value,
    /// Names of the resources it depended on (destroy goes in reverse).
    #[serde(default)]
    pub depends_on: Vec<ResourceName>,
    /// When it last changed, in ms since the Unix epoch.
    pub updated_at: u64,
    /// The containers the host ensured for it, as the host ran them: what
    /// `clockwork assert --implied` checks, whatever the resource's type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<EnsuredContainer>,
    /// Stopped with `clockwork stop`: `apply` and `watch` leave it stopped
    /// until `clockwork start`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    /// When its `max_duration` runs out, in seconds since the Unix epoch:
    /// set when it is created, kept while it lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// A container the host created or kept for a resource, as the
/// `ensure-container` action described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnsuredContainer {
    /// Its name.
    pub name: String,
    /// Whether it must keep running.
    pub must_run: bool,
    /// Whether it has a health check.
    pub healthcheck: bool,
    /// Its TCP ports as `(host port, container port)`; the host port is
    /// `None` when it is not published.
    #[serde(default)]
    pub ports: Vec<(Option<u16>, u16)>,
    /// Its restart count when the host last started it.
    #[serde(default)]
    pub restart_count: i64,
    /// Its settings that `docker update` can change, as the Engine
    /// reported them when the host ensured it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tunables: BTreeMap<String, String>,
}

/// A file Clockwork wrote: by which resource, with which content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The resource whose action wrote it.
    pub resource: ResourceName,
    /// SHA-256 of the content written, hex.
    pub sha256: String,
    /// The mode it was written with, octal (`0644`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Which file Clockwork wrote there: without it, or when another file
    /// is there now, the record does not make the file Clockwork's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<crate::project::FileStamp>,
}

/// What a record says of the file now at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The file Clockwork wrote, as it wrote it.
    ByClockwork,
    /// What Clockwork wrote, but another file: the folder was copied, the
    /// file restored or checked out — or the record was handed over.
    OtherFile,
    /// Changed since.
    Changed,
}

impl FileRecord {
    /// What the file now at the path is, by its content (`sha256`) and its
    /// stamp. A record without a stamp (written before stamps) is taken at
    /// its content when the state is this folder's own (`own_state`).
    pub fn judge(
        &self,
        sha256: &str,
        stamp: Option<crate::project::FileStamp>,
        own_state: bool,
    ) -> Written {
        if self.sha256 != sha256 {
            return Written::Changed;
        }
        match self.stamp {
            Some(recorded) if Some(recorded) == stamp => Written::ByClockwork,
            None if own_state => Written::ByClockwork,
            _ => Written::OtherFile,
        }
    }
}

impl State {
    /// Whether this state names `files`' folder as its own (`project_id`):
    /// a state copied or handed over from elsewhere does not.
    pub fn is_of(&self, files: &ProjectDir) -> bool {
        self.project_id.as_deref() == Some(ProjectId::of_folder(files.root()).as_str())
    }
}

/// The whole state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// The project name.
    pub project: String,
    /// The project id of the folder that wrote it.
    #[serde(default)]
    pub project_id: Option<String>,
    /// How many times the project was destroyed: a watch acts only within
    /// the generation it started in.
    #[serde(default, skip_serializing_if = "Generation::is_first")]
    pub generation: Generation,
    /// Set by `clockwork destroy` before it removes anything, cleared by the
    /// next `clockwork apply`: meanwhile nothing heals the project back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<Destroyed>,
    /// Deployed resources by name.
    #[serde(default)]
    pub resources: BTreeMap<ResourceName, ResourceState>,
    /// Setup steps that ran once per content: `connection/step` → content hash.
    #[serde(default)]
    pub setup: BTreeMap<String, String>,
    /// Files Clockwork wrote, by project-relative path.
    #[serde(default)]
    pub files: BTreeMap<String, FileRecord>,
    /// Resources `watch` destroyed when their `max_duration` ran out, with
    /// when: not healed back; the next `apply` creates them again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expired: BTreeMap<ResourceName, u64>,
    /// Fields this version does not know, kept as they were.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Counts the destroys of a project (0 before the first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Generation(pub u64);

impl Generation {
    fn is_first(&self) -> bool {
        self.0 == 0
    }
}

/// A destroy, as recorded before it removed anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destroyed {
    /// When it began, in ms since the Unix epoch.
    pub at_ms: u64,
    /// Who destroyed it (`clockwork destroy`, with its pid).
    pub by: String,
}

/// Why the state could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    /// The project was destroyed (since a watch began, or before): it is
    /// never healed back, and a watch does not start on it.
    #[error("{seen}")]
    #[diagnostic(
        code("clockwork::state::destroyed"),
        help(
            "a destroyed project stays destroyed: `clockwork apply` deploys it again, then `clockwork watch` (or `clockwork service start`) keeps it as declared"
        )
    )]
    Destroyed {
        /// What was seen: by whom and when, or that it was applied again
        /// since.
        seen: String,
    },
    /// Another apply or destroy holds the lock.
    #[error(
        "another `clockwork apply` or `destroy` is running on this project ({holder}); wait for it to finish"
    )]
    #[diagnostic(code("clockwork::state::locked"))]
    Locked {
        /// Who holds the lock, as far as can be told.
        holder: String,
    },
    /// A state file of another format.
    #[error(
        "{path}: state format {found} is not one this Clockwork reads (it reads format {VERSION})"
    )]
    #[diagnostic(
        code("clockwork::state::version"),
        help("{}", if *found > VERSION { "it was written by a newer Clockwork: use that one (nothing was changed)" } else { "move the file away to start afresh; `clockwork destroy` still finds deployed objects by their labels" })
    )]
    Version {
        /// The file.
        path: String,
        /// The version it says.
        found: u32,
    },
    /// The state file cannot be read or written.
    #[error("{path}: {message}")]
    #[diagnostic(code("clockwork::state::io"))]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },
}

impl From<PathError> for StateError {
    fn from(e: PathError) -> Self {
        let help = matches!(e, PathError::ThroughLink { .. } | PathError::LinkOutside { .. })
            .then(|| "Clockwork keeps its state in a real `.clockwork/` folder inside the project: remove the link (and move what it points to back, if it was yours)".to_string());
        StateError::Io {
            path: STATE_DIR.into(),
            message: e.to_string(),
            help,
        }
    }
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl State {
    /// An empty state for `identity`.
    pub fn empty(identity: &Identity) -> Self {
        State {
            version: VERSION,
            project: identity.name.clone(),
            project_id: Some(identity.id.to_string()),
            generation: Generation::default(),
            destroyed: None,
            resources: BTreeMap::new(),
            setup: BTreeMap::new(),
            files: BTreeMap::new(),
            expired: BTreeMap::new(),
            unknown: BTreeMap::new(),
        }
    }

    /// Whether the project has a state folder at all.
    pub fn exists(files: &ProjectDir) -> bool {
        files
            .entry(Path::new(STATE_DIR))
            .is_ok_and(|e| e != crate::project::Entry::Missing)
    }

    /// Reads the state of the project; empty when there is none. A state
    /// of another format is refused, never rewritten.
    pub fn load(files: &ProjectDir, identity: &Identity) -> Result<State, StateError> {
        let bytes = match files.read(Path::new(STATE_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => return Ok(State::empty(identity)),
            Err(e) => return Err(e.into()),
        };
        let broken = |message: String| {
            StateError::Io {
            path: STATE_FILE.into(),
            message,
            help: Some("move it away to start afresh; `clockwork destroy` still finds deployed objects by their labels".into()),
        }
        };
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| broken(format!("not a Clockwork state file ({e})")))?;
        let found = value
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| broken("not a Clockwork state file (it has no `version`)".into()))?;
        if found != u64::from(VERSION) {
            return Err(StateError::Version {
                path: STATE_FILE.into(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        serde_json::from_value(value)
            .map_err(|e| broken(format!("not a Clockwork state file ({e})")))
    }

    /// Records a destroy that is about to remove the project's objects:
    /// from here on, no watch of an earlier generation acts, and none starts
    /// until an apply deploys the project again.
    pub fn mark_destroyed(&mut self, by: String) {
        self.generation = Generation(self.generation.0.saturating_add(1));
        self.destroyed = Some(Destroyed {
            at_ms: now_ms(),
            by,
        });
    }

    /// Whether a watch that began in `generation` may act on the project:
    /// not once it was destroyed, nor in a later generation (destroyed and
    /// applied again since).
    pub fn may_heal(&self, generation: Generation) -> Result<(), StateError> {
        match &self.destroyed {
            Some(d) => Err(StateError::Destroyed {
                seen: format!(
                    "the project was destroyed ({}, {})",
                    d.by,
                    crate::model::time::rfc3339(d.at_ms / 1000)
                ),
            }),
            None if self.generation != generation => Err(StateError::Destroyed {
                seen: "the project was destroyed and applied again since this watch began".into(),
            }),
            None => Ok(()),
        }
    }

    /// Writes the state atomically with secrets masked, owner-only.
    pub fn save(&self, files: &ProjectDir) -> Result<(), StateError> {
        let text = self.text()?;
        Self::write(files, &text)
    }

    /// Like [`save`](Self::save), unless `written` holds this very text:
    /// what the caller wrote last, so a run that changed nothing since
    /// writes (and syncs) the file once, not once per resource.
    pub fn save_unless_written(
        &self,
        files: &ProjectDir,
        written: &mut Option<String>,
    ) -> Result<(), StateError> {
        let text = self.text()?;
        if written.as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        Self::write(files, &text)?;
        *written = Some(text);
        Ok(())
    }

    /// The file's text: the state as JSON, secrets masked.
    fn text(&self) -> Result<String, StateError> {
        let value = serde_json::to_value(self).map_err(|e| StateError::Io {
            path: STATE_FILE.into(),
            message: e.to_string(),
            help: None,
        })?;
        Ok(serde_json::to_string_pretty(&output::mask_json_always(&value)).unwrap_or_default())
    }

    fn write(files: &ProjectDir, text: &str) -> Result<(), StateError> {
        files.create_dir_all(Path::new(STATE_DIR), true)?;
        files.write_atomic(Path::new(STATE_FILE), text.as_bytes(), PRIVATE)?;
        Ok(())
    }
}

/// Appends one record to the journal, secrets masked. Failures to journal
/// are not fatal, but a journal that is a link is never written through.
pub fn journal(files: &ProjectDir, record: &Value) {
    let mut line = output::mask_json_always(record).to_string();
    line.push('\n');
    if files.create_dir_all(Path::new(STATE_DIR), true).is_ok() {
        let _ = files.append(Path::new(JOURNAL_FILE), line.as_bytes(), PRIVATE);
    }
}

/// Keeps what `clockwork plan` showed, so the next `apply` can say what
/// changed in between. Best effort: a plan in a read-only folder still
/// works; nothing is written where there is no state folder yet.
pub fn remember_plan(files: &ProjectDir, outline: &Value) {
    if !State::exists(files) {
        return;
    }
    let text = output::mask_json_always(outline).to_string();
    let _ = files.write_atomic(Path::new(LAST_PLAN_FILE), text.as_bytes(), PRIVATE);
}

/// What the last `clockwork plan` showed, if any; it is consumed.
pub fn take_last_plan(files: &ProjectDir) -> Option<Value> {
    let bytes = files.read(Path::new(LAST_PLAN_FILE)).ok()?;
    let _ = files.remove_file(Path::new(LAST_PLAN_FILE));
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, ProjectDir, Identity) {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let identity = Identity::new("shop", &root);
        (tmp, ProjectDir::open(&root).unwrap(), identity)
    }

    #[test]
    fn a_state_unchanged_since_this_run_wrote_it_is_not_written_again() {
        let (tmp, files, identity) = project();
        let path = tmp.path().join(STATE_FILE);
        let mut state = State::empty(&identity);
        let mut written = None;
        state.save_unless_written(&files, &mut written).unwrap();
        assert!(path.exists(), "the first save writes");
        std::fs::remove_file(&path).unwrap();
        state.save_unless_written(&files, &mut written).unwrap();
        assert!(!path.exists(), "the same text is not written again");
        state.setup.insert("db/schema".into(), "abc".into());
        state.save_unless_written(&files, &mut written).unwrap();
        assert_eq!(
            State::load(&files, &identity).unwrap(),
            state,
            "a change is"
        );
    }

    #[test]
    fn state_round_trips_keeps_unknown_fields_and_is_private() {
        let (tmp, files, identity) = project();
        let mut state = State::empty(&identity);
        state.resources.insert(
            "db".into(),
            ResourceState {
                type_name: "DockerResource".into(),
                state: serde_json::json!({"id": "x"}),
                depends_on: vec![],
                updated_at: 1,
                containers: Vec::new(),
                unknown: BTreeMap::from([("later".into(), serde_json::json!(true))]),
                stopped: false,
                expires_at: None,
            },
        );
        state
            .unknown
            .insert("future".into(), serde_json::json!({"kept": 1}));
        state.save(&files).unwrap();
        assert_eq!(State::load(&files, &identity).unwrap(), state);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| {
            std::fs::metadata(tmp.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(STATE_FILE), 0o600);
        assert_eq!(mode(STATE_DIR), 0o700);
    }

    #[test]
    fn a_destroy_bars_every_watch_that_began_before_it() {
        let (_tmp, files, identity) = project();
        let mut state = State::empty(&identity);
        let began = state.generation;
        assert!(state.may_heal(began).is_ok());
        state.mark_destroyed("`clockwork destroy`, pid 1".into());
        state.save(&files).unwrap();
        let mut loaded = State::load(&files, &identity).unwrap();
        assert_eq!(loaded, state);
        let refused = loaded.may_heal(began).unwrap_err().to_string();
        assert!(
            refused.starts_with("the project was destroyed (`clockwork destroy`, pid 1, 20"),
            "{refused}"
        );
        assert!(loaded.may_heal(loaded.generation).is_err(), "nor a new one");
        // Applied again: a watch of the new deployment may heal it, one
        // that began before the destroy still may not.
        loaded.destroyed = None;
        assert!(loaded.may_heal(loaded.generation).is_ok());
        let refused = loaded.may_heal(began).unwrap_err().to_string();
        assert!(refused.contains("applied again since"), "{refused}");
    }

    #[test]
    fn a_state_file_adopts_nothing() {
        let (tmp, files, identity) = project();
        std::fs::create_dir_all(tmp.path().join(STATE_DIR)).unwrap();
        std::fs::write(
            tmp.path().join(STATE_FILE),
            r#"{"version": 1, "project": "shop", "adopted": ["0123456789ab"], "resources": {}}"#,
        )
        .unwrap();
        let state = State::load(&files, &identity).unwrap();
        assert!(!adoption::identity(&identity).owns(Some("0123456789ab")));
        // Kept as an unknown field, read by nothing.
        assert!(state.unknown.contains_key("adopted"));
    }

    #[test]
    fn a_missing_state_is_empty_and_a_broken_or_newer_one_an_error() {
        let (tmp, files, identity) = project();
        assert!(State::load(&files, &identity).unwrap().resources.is_empty());
        std::fs::create_dir_all(tmp.path().join(STATE_DIR)).unwrap();
        std::fs::write(tmp.path().join(STATE_FILE), "{not json").unwrap();
        assert!(
            State::load(&files, &identity)
                .unwrap_err()
                .to_string()
                .contains("not a Clockwork state file")
        );
        std::fs::write(
            tmp.path().join(STATE_FILE),
            r#"{"version": 99, "project": "shop", "resources": {}, "mystery": 1}"#,
        )
        .unwrap();
        let err = State::load(&files, &identity).unwrap_err();
        assert!(
            matches!(err, StateError::Version { found: 99, .. }),
            "{err}"
        );
        assert!(
            std::fs::read_to_string(tmp.path().join(STATE_FILE))
                .unwrap()
                .contains("99"),
            "a newer state is left as it was"
        );
    }

    #[test]
    fn state_files_that_are_links_are_never_written_through() {
        let (tmp, files, identity) = project();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("victim.txt");
        std::fs::write(&target, "precious").unwrap();
        std::fs::create_dir_all(tmp.path().join(STATE_DIR)).unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join(JOURNAL_FILE)).unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join(STATE_FILE)).unwrap();
        journal(&files, &serde_json::json!({"x": 1}));
        let err = State::empty(&identity).save(&files).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        std::fs::remove_dir_all(tmp.path().join(STATE_DIR)).unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join(STATE_DIR)).unwrap();
        assert!(State::empty(&identity).save(&files).is_err());
        remember_plan(&files, &serde_json::json!({}));
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            1,
            "nothing was written into the folder the link points to"
        );
    }
}
