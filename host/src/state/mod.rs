//! `.clockwork/state.json`: what was deployed, written atomically after
//! every change, under a lock so two `apply`/`destroy` never interleave;
//! and `.clockwork/journal.jsonl`, a line per action, for diagnosis.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state folder inside a project.
pub const STATE_DIR: &str = ".clockwork";
const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = "lock";
const JOURNAL_FILE: &str = "journal.jsonl";
const LAST_PLAN_FILE: &str = "last-plan.json";
const VERSION: u32 = 1;

/// What is recorded of one deployed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Its type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// What its plugin's `settle` returned.
    pub state: Value,
    /// Names of the resources it depended on (destroy goes in reverse).
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// When it last changed, in ms since the Unix epoch.
    pub updated_at: u64,
}

/// The whole state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// The project name.
    pub project: String,
    /// Deployed resources by name.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceState>,
    /// Setup steps that ran once per content: `connection/step` → content hash.
    #[serde(default)]
    pub setup: BTreeMap<String, String>,
}

/// Why the state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another apply or destroy holds the lock.
    #[error("another `clockwork apply` or `destroy` is running on this project{}; wait for it to finish", holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        /// What the lock file says about its holder.
        holder: Option<String>,
    },
    /// The state file cannot be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

fn io(path: &Path, e: impl std::fmt::Display) -> StateError {
    StateError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl State {
    /// An empty state for `project`.
    pub fn empty(project: &str) -> Self {
        State {
            version: VERSION,
            project: project.to_string(),
            resources: BTreeMap::new(),
            setup: BTreeMap::new(),
        }
    }

    /// Reads the state of the project in `dir`; empty when there is none.
    pub fn load(dir: &Path, project: &str) -> Result<State, StateError> {
        let path = dir.join(STATE_DIR).join(STATE_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| io(&path, format!("not a Clockwork state file ({e}); move it away to start afresh (`destroy` still finds objects by their labels)"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::empty(project)),
            Err(e) => Err(io(&path, e)),
        }
    }

    /// Writes the state atomically: a temporary file, synced, renamed over
    /// the old one, so a crash leaves either the old or the new state.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let folder = dir.join(STATE_DIR);
        fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let path = folder.join(STATE_FILE);
        let tmp = folder.join(format!(".{STATE_FILE}.{}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(self).map_err(|e| io(&path, e))?;
        // The state holds the resolved specs, secrets included: owner only.
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| io(&tmp, e))?
        };
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }
}

/// The project lock, held for a whole apply or destroy; released on drop
/// (also when the process dies, since the OS drops the file lock).
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Lock, StateError> {
        let folder = dir.join(STATE_DIR);
        fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let path = folder.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path)
                    .ok()
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty());
                return Err(StateError::Locked { holder });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&path, e)),
        }
        file.set_len(0).map_err(|e| io(&path, e))?;
        write!(file, "pid {}", std::process::id()).map_err(|e| io(&path, e))?;
        Ok(Lock { _file: file })
    }
}

/// Appends one record to the journal; failures to journal are not fatal.
pub fn journal(dir: &Path, record: &Value) {
    let path = dir.join(STATE_DIR).join(JOURNAL_FILE);
    if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
        let mut line = record.to_string();
        line.push('\n');
        let _ = file.write_all(line.as_bytes());
    }
}

/// Keeps what `clockwork plan` showed, so the next `apply` can say what
/// changed in between. Best effort: a plan in a read-only folder still works.
pub fn remember_plan(dir: &Path, outline: &Value) {
    let folder = dir.join(STATE_DIR);
    let path = folder.join(LAST_PLAN_FILE);
    let tmp = folder.join(format!(".{LAST_PLAN_FILE}.{}.tmp", std::process::id()));
    let written = fs::create_dir_all(&folder)
        .and_then(|()| fs::write(&tmp, outline.to_string()))
        .and_then(|()| fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

/// What the last `clockwork plan` showed, if any; it is consumed.
pub fn take_last_plan(dir: &Path) -> Option<Value> {
    let path = dir.join(STATE_DIR).join(LAST_PLAN_FILE);
    let text = fs::read_to_string(&path).ok()?;
    let _ = fs::remove_file(&path);
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_a_second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::empty("shop");
        state.resources.insert(
            "db".into(),
            ResourceState {
                type_name: "DockerResource".into(),
                state: serde_json::json!({"id": "x"}),
                depends_on: vec![],
                updated_at: 1,
            },
        );
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path(), "shop").unwrap(), state);
        let first = Lock::acquire(dir.path()).unwrap();
        let second = Lock::acquire(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            second.starts_with(
                "another `clockwork apply` or `destroy` is running on this project (pid "
            ),
            "{second}"
        );
        drop(first);
        assert!(Lock::acquire(dir.path()).is_ok());
    }

    #[test]
    fn a_missing_state_is_empty_and_a_broken_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(State::load(dir.path(), "p").unwrap().resources.is_empty());
        fs::create_dir_all(dir.path().join(STATE_DIR)).unwrap();
        fs::write(dir.path().join(STATE_DIR).join(STATE_FILE), "{not json").unwrap();
        assert!(
            State::load(dir.path(), "p")
                .unwrap_err()
                .to_string()
                .contains("not a Clockwork state file")
        );
    }
}
