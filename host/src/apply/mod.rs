//! Executing a [`Plan`](crate::plan::Plan): the host checks each action
//! against policy, journals it, runs it, waits for readiness, and has the
//! plugin `settle` the new state, which is saved at once.

mod act;
mod run;

pub use run::{Options, Outcome, Progress, Report, execute};
