//! What executing a plan reports: each resource's outcome, progress as it
//! happens, and the options it runs with.

use std::sync::Arc;
use std::time::Duration;

use crate::apply::schedule::Cancel;
use crate::model::ResourceName;
use crate::plan::ChangeKind as Change;

/// How one resource ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its change was made.
    Done,
    /// Nothing needed doing.
    Unchanged,
    /// It failed; the message says why.
    Failed(String),
    /// It was not attempted because a dependency failed.
    Skipped(String),
}

/// A progress event, for the output.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Work on a resource began.
    Started {
        /// The resource.
        name: ResourceName,
        /// Its change.
        change: Change,
    },
    /// Something the user should know that is not a failure (a file
    /// changed by hand and therefore kept).
    Warning {
        /// The resource.
        name: ResourceName,
        /// What happened.
        message: String,
    },
    /// A resource moved on to an action or a wait.
    Step {
        /// The resource.
        name: ResourceName,
        /// What it does now, e.g. `ensure image postgres:15-alpine`.
        step: String,
    },
    /// A resource is finished.
    Finished {
        /// The resource.
        name: ResourceName,
        /// Its change.
        change: Change,
        /// How it ended.
        outcome: Outcome,
        /// How long it took.
        elapsed: Duration,
    },
}

/// What happened to every resource.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Name → (change, outcome, time), in completion order.
    pub results: Vec<(ResourceName, Change, Outcome, Duration)>,
    /// Project networks and volumes a destroy could not remove, and why.
    pub leftovers: Vec<String>,
}

impl Report {
    /// Whether anything failed, was skipped or was left behind.
    pub fn failed(&self) -> bool {
        !self.leftovers.is_empty()
            || self
                .results
                .iter()
                .any(|(_, _, o, _)| matches!(o, Outcome::Failed(_) | Outcome::Skipped(_)))
    }

    /// What failed or was skipped, each as `name: why`.
    pub fn failures(&self) -> Vec<String> {
        self.results
            .iter()
            .filter_map(|(name, _, o, _)| match o {
                Outcome::Failed(why) | Outcome::Skipped(why) => Some(format!("{name}: {why}")),
                _ => None,
            })
            .chain(self.leftovers.iter().cloned())
            .collect()
    }
}

/// Options of an execution.
#[derive(Clone)]
pub struct Options {
    /// Resources worked on at once.
    pub parallelism: usize,
    /// Stop grace period for containers.
    pub grace: Duration,
    /// How long a container may take to become ready.
    pub ready_timeout: Duration,
    /// Where progress goes.
    pub progress: Arc<dyn Fn(Progress) + Send + Sync>,
    /// Set to stop starting new work (what runs finishes).
    pub cancel: Cancel,
    /// Whether removals wait for their dependents.
    pub removal_order: RemovalOrder,
}

/// The order resources are removed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemovalOrder {
    /// A resource goes after everything that depended on it, one layer at
    /// a time: what `apply` does with resources no longer declared, while
    /// the rest of the stack keeps running.
    #[default]
    DependentsFirst,
    /// Everything at once (within the parallelism): for taking a whole
    /// stack down, where every stop costs its grace and nothing outlives
    /// the run.
    AllAtOnce,
}
