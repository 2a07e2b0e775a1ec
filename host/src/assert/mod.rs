//! The assert stage: every assertion a project declares (and those its
//! connections add), checked by its plugin against the running deployment,
//! retried while it fails and time is left. Nothing is changed.
//!
//! ```text
//! graph + state ──checks──▶ [Check] ──run (plugins, retries)──▶ [Verdict]
//! ```

mod collect;
mod implied;
mod run;
mod views;

pub use collect::{AssertError, Origin, Selection, checks};
pub use run::{Options, run};

use std::time::Duration;

use serde_json::Value as Json;

use crate::model::{ResourceName, TypeName};

/// One assertion to check.
#[derive(Debug, Clone)]
pub struct Check {
    /// Its name, e.g. `nginx-web-healthcheck`.
    pub name: ResourceName,
    /// Its type, e.g. `HealthcheckAssert`.
    pub type_name: TypeName,
    /// The declaration it is attached to, with its type.
    pub target: Option<(ResourceName, TypeName)>,
    /// Its config, validated by its plugin (defaults filled in).
    pub config: Json,
    /// Where it comes from.
    pub origin: Origin,
    /// Where it is declared (`main.star:12:5`), when the user wrote it.
    pub declared_at: Option<String>,
    /// How long a failing check is retried.
    pub timeout: Duration,
    /// Whether waiting can change its answer.
    pub retryable: bool,
    /// What it checks, in a few words, for its line in the report: the
    /// user's `description`, else its first required field's value.
    pub brief: String,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The assertion holds.
    Pass,
    /// It does not.
    Fail,
    /// Its plugin decided it does not apply.
    Skip,
    /// It could not be checked (no Engine, a plugin failure, a refusal).
    Error,
}

/// The result of one check, with what was expected and what was seen.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The check.
    pub check: Check,
    /// How it ended.
    pub verdict: Verdict,
    /// One line from the plugin (or the host, for an error).
    pub message: String,
    /// What the check wanted to see.
    pub expected: Option<String>,
    /// What it saw.
    pub actual: Option<String>,
    /// More of what it saw, as the plugin reported it.
    pub details: Json,
    /// Named timings of the last attempt, in microseconds.
    pub timings: Vec<(String, u64)>,
    /// How many times it ran.
    pub attempts: u32,
    /// Wall time over every attempt.
    pub elapsed: Duration,
}

impl Checked {
    /// Whether it passed or was skipped.
    pub fn ok(&self) -> bool {
        matches!(self.verdict, Verdict::Pass | Verdict::Skip)
    }
}

/// Counts of a run, for the summary line and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
    /// Could not be checked.
    pub errors: usize,
}

impl Tally {
    /// The counts of `results`.
    pub fn of(results: &[Checked]) -> Tally {
        let mut tally = Tally::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => tally.passed += 1,
                Verdict::Fail => tally.failed += 1,
                Verdict::Skip => tally.skipped += 1,
                Verdict::Error => tally.errors += 1,
            }
        }
        tally
    }

    /// Whether everything passed (or was skipped).
    pub fn all_ok(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}
