//! Every field the user left out, filled — and recorded, so the next run
//! replays it instead of asking again.
//!
//! Order, per declaration: what the user wrote always wins; then the
//! plugin's deterministic `complete-rules`; then, only where a model is
//! configured, an OpenAI-compatible model asked for the completable fields
//! still missing; the schema's defaults last (`defaults`). Connections are
//! completed before they resolve (their endpoints are context), resources
//! after (what connections contributed is context), in deploy order, so a
//! resource sees what its dependencies were completed with.
//!
//! Each declaration's completion is recorded in `clockwork.lock` with the
//! hash of its inputs (its description, the fields set with secrets as
//! placeholders, what it connects to, the fields missing). While the hash
//! matches, the lock is replayed and nothing is called.
//!
//! The files follow a run: `edges.rs` (connections and assertions, before
//! resolve), `resources.rs` (after), each declaration through
//! `declaration.rs` (lock, rules, model via `ask.rs`) with its context made
//! in `target.rs` when first needed; `revalidate.rs`, then `defaults.rs`.

mod ask;
pub mod chat;
mod declaration;
mod defaults;
mod edges;
mod error;
mod in_words;
pub mod lock;
pub mod prompt;
mod resources;
mod revalidate;
mod seams;
mod settings;
mod target;
#[cfg(test)]
mod tests;
pub mod trust;

pub use ask::function_arity;
pub use defaults::{defaults, secrets_of};
pub use error::{CompleteError, Refusal};
pub use seams::{CompletionPlugins, Model, RulesFor};
pub use settings::{HOW_TO_CONFIGURE, ModelFlags, SettingsError, model_settings};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::complete::lock::LockFile;
use crate::model::DeclId;
use crate::plugin::PluginKind;
use crate::project::ProjectDir;

/// What completion may do in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `plan`, `apply`: replay the lock, run rules, ask the model for what
    /// is left, and write the lock.
    Complete,
    /// `--locked`: only what the lock holds; anything else is an error.
    Locked,
    /// `assert`, `destroy`, `graph`: replay the lock and run rules; never
    /// a model, never a write.
    ReadOnly,
}

/// What completion did, for the plan's notes and the tests.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Requests sent to the model (the probe included).
    pub requests: u32,
    /// Fields completed now rather than replayed, as `name.field`.
    pub new: Vec<String>,
    /// Fields a model would be asked for, had one been configured:
    /// declaration → fields without a default.
    pub unfilled: BTreeMap<DeclId, Vec<String>>,
    /// Whether the lock file was written.
    pub wrote_lock: bool,
}

/// One invocation's completion.
pub struct Completer {
    mode: Mode,
    lock: LockFile,
    read: LockFile,
    client: Option<Box<dyn Model>>,
    probed: bool,
    /// `None`: refresh nothing; empty: refresh everything.
    refresh: Option<BTreeSet<String>>,
    /// Entries used this run; the others are dropped when the lock is written.
    seen: BTreeSet<(PluginKind, String)>,
    /// The project folder, where the lock is written.
    files: Arc<ProjectDir>,
    /// The report.
    pub report: Report,
}

impl Completer {
    /// A completer reading the project's lock.
    pub fn new(
        files: &Arc<ProjectDir>,
        mode: Mode,
        client: Option<Box<dyn Model>>,
        refresh: Option<BTreeSet<String>>,
    ) -> Result<Self, CompleteError> {
        let lock = LockFile::read(files)?;
        Ok(Completer {
            mode,
            read: lock.clone(),
            lock,
            client: if mode == Mode::Complete { client } else { None },
            probed: false,
            refresh,
            seen: BTreeSet::new(),
            files: Arc::clone(files),
            report: Report::default(),
        })
    }

    fn refreshes(&self, name: &str) -> bool {
        self.refresh
            .as_ref()
            .is_some_and(|names| names.is_empty() || names.contains(name))
    }

    /// Writes the lock as it stands, entries not yet seen this run kept:
    /// what a model answered is recorded at once, so a run that fails
    /// later asks it nothing again.
    fn write_answers(&mut self) -> Result<(), CompleteError> {
        if self.mode == Mode::Complete && self.lock != self.read {
            self.lock.write(&self.files)?;
            self.report.wrote_lock = true;
            // What the file holds now.
            self.read = self.lock.clone();
        }
        Ok(())
    }

    /// Writes the lock when this run changed it (entries of declarations
    /// no longer declared are dropped, as Cargo drops unused packages).
    pub fn finish(&mut self, files: &ProjectDir) -> Result<(), CompleteError> {
        if self.mode != Mode::Complete {
            return Ok(());
        }
        for kind in PluginKind::ALL {
            let seen = &self.seen;
            self.lock
                .of(kind)
                .retain(|name, _| seen.contains(&(kind, name.clone())));
        }
        let empty = self.lock.is_empty();
        let existed = files
            .metadata(std::path::Path::new(lock::LOCK_FILE))
            .is_ok();
        if self.lock != self.read && (existed || !empty) {
            self.lock.write(files)?;
            self.report.wrote_lock = true;
        }
        Ok(())
    }
}
