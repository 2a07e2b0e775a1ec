//! Running checks: each by its plugin, a few at once, a failing one
//! retried while its timeout allows, an error reported as such at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value as Json;

use crate::assert::{Check, Checked, Verdict};
use crate::plugin::bindings::assertion::exports::clockwork::plugin::assertions::{
    CheckInput, Outcome, Verdict as PluginVerdict,
};
use crate::plugin::bindings::types::{PluginError, ResourceRef};
use crate::plugin::{LoadedPlugin, PluginSet};
use crate::state::State;

/// How a run goes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Checks running at once.
    pub parallelism: usize,
    /// The longest one plugin call may take; an attempt gets what is left
    /// of its check's timeout, at most this.
    pub attempt_limit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 8,
            attempt_limit: Duration::from_millis(4_500),
        }
    }
}

/// Runs `checks` against what `state` recorded and returns their results
/// in the order given; `finished` hears of each, in that order, as soon as
/// it and those before it are done.
pub async fn run(
    checks: Vec<Check>,
    plugins: &PluginSet,
    state: &State,
    options: Options,
    finished: &mut (dyn FnMut(&Checked) + Send),
) -> Vec<Checked> {
    let jobs = checks.into_iter().map(|check| {
        let plugin = plugins.for_type(&check.type_name).cloned();
        let target_state = check
            .target
            .as_ref()
            .and_then(|(name, _)| state.resources.get(name.as_str()))
            .map(|r| r.state.to_string());
        async move {
            // Each check on the runtime's threads: a plugin call is CPU work.
            tokio::spawn(check_one(check.clone(), plugin, target_state, options))
                .await
                .unwrap_or_else(|e| {
                    errored(check, format!("the check panicked: {e}"), 0, Instant::now())
                })
        }
    });
    let mut stream = futures::stream::iter(jobs).buffered(options.parallelism.max(1));
    let mut results = Vec::new();
    while let Some(result) = stream.next().await {
        finished(&result);
        results.push(result);
    }
    results
}

fn errored(check: Check, message: String, attempts: u32, started: Instant) -> Checked {
    Checked {
        check,
        verdict: Verdict::Error,
        message,
        expected: None,
        actual: None,
        details: Json::Object(Default::default()),
        timings: Vec::new(),
        attempts,
        elapsed: started.elapsed(),
    }
}

/// The least time an attempt gets, even when the check's timeout is
/// (nearly) over: a failing check is thus tried once more at its deadline
/// and ends within this much after it.
const LAST_ATTEMPT: Duration = Duration::from_millis(1_000);

/// The pause before attempt `next`: short at first, since most services
/// that are still starting answer within a second, then at most 1 s.
fn backoff(next: u32) -> Duration {
    Duration::from_millis((100u64 << next.clamp(1, 5).saturating_sub(1)).min(1_000))
}

async fn check_one(
    check: Check,
    plugin: Option<Arc<LoadedPlugin>>,
    target_state: Option<String>,
    options: Options,
) -> Checked {
    let started = Instant::now();
    let Some(plugin) = plugin else {
        let message = format!("no loaded plugin provides {}", check.type_name);
        return errored(check, message, 0, started);
    };
    let deadline = started + check.timeout;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        // The last attempt, at the deadline, still gets time to answer.
        let left = deadline.saturating_duration_since(Instant::now());
        let budget = left.min(options.attempt_limit).max(LAST_ATTEMPT);
        let input = CheckInput {
            type_name: check.type_name.to_string(),
            config: check.config.to_string(),
            target: check.target.as_ref().map(|(name, type_name)| ResourceRef {
                type_name: type_name.to_string(),
                name: name.to_string(),
            }),
            target_state: target_state.clone(),
            attempt,
            remaining_ms: u32::try_from(budget.as_millis()).unwrap_or(u32::MAX),
        };
        // A user's function is stopped soon after its attempt's budget (it
        // stops itself at the budget); a plugin's own code at its call
        // timeout.
        let program = program_title(&check.config);
        let within = program.as_ref().map(|_| budget + PROGRAM_GRACE);
        let (retry, answer) = match plugin.check_within(&input, within).await {
            Ok(Ok(outcome)) => {
                let verdict = match outcome.verdict {
                    PluginVerdict::Pass => Verdict::Pass,
                    PluginVerdict::Fail => Verdict::Fail,
                    PluginVerdict::Skip => Verdict::Skip,
                };
                (
                    verdict == Verdict::Fail && check.retryable,
                    Answer::Judged(verdict, outcome),
                )
            }
            Ok(Err(PluginError::Transient(message))) => (true, Answer::Error(message)),
            Ok(Err(error)) => (false, Answer::Error(error.message())),
            Err(call) => (
                false,
                Answer::Error(match &program {
                    Some(title) => program_failure(title, &call),
                    None => call.to_string(),
                }),
            ),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if retry && !left.is_zero() {
            tokio::time::sleep(backoff(attempt + 1).min(left)).await;
            continue;
        }
        return match answer {
            Answer::Error(message) => errored(check, message, attempt, started),
            Answer::Judged(verdict, outcome) => judged(check, verdict, outcome, attempt, started),
        };
    }
}

/// How long after its budget the host stops a user's function that did
/// not stop itself.
const PROGRAM_GRACE: Duration = Duration::from_millis(500);

/// `` `f` (main.star:3) `` when the check runs a user's function (a
/// `function` field of its config).
fn program_title(config: &Json) -> Option<String> {
    config.as_object()?.values().find_map(|v| {
        let name = v.get("$function")?.as_str()?;
        let at = v.get("defined_at").and_then(Json::as_str).unwrap_or("?");
        Some(format!("`{name}` ({at})"))
    })
}

/// What a user reads when the sandbox stopped their function.
fn program_failure(title: &str, call: &crate::plugin::CallError) -> String {
    use crate::plugin::CallFailure;
    match &call.failure {
        CallFailure::Timeout { limit_ms } => format!(
            "{title} ran past its deadline of {:.1} s and was stopped; a loop that never ends?",
            *limit_ms as f64 / 1000.0
        ),
        CallFailure::OutOfMemory { limit_mib } => {
            format!("{title} used more than the sandbox's memory limit of {limit_mib} MiB")
        }
        CallFailure::StackOverflow => {
            format!("{title} overflowed the sandbox's stack: recursion too deep?")
        }
        CallFailure::Trap { message, stderr } => {
            // The sandbox's own word on a refused allocation, located.
            let refused = stderr
                .lines()
                .chain(std::iter::once(message.as_str()))
                .find_map(|l| {
                    l.split_once(OVER_MEMORY)
                        .map(|(_, rest)| rest.trim_start_matches(':').trim().to_string())
                });
            match refused {
                Some(rest) => format!("{title} used more than its memory limit at {rest}"),
                None => format!("{title}: {call}"),
            }
        }
        _ => format!("{title}: {call}"),
    }
}

/// The line the Starlark sandbox writes before it stops an allocation over
/// a check's memory limit (`plugins/starlark-assertions/src/limits.rs`).
const OVER_MEMORY: &str = "clockwork-check: memory limit";

/// What one attempt came to.
enum Answer {
    /// The plugin judged.
    Judged(Verdict, Outcome),
    /// The check could not run.
    Error(String),
}

fn judged(
    check: Check,
    verdict: Verdict,
    outcome: Outcome,
    attempts: u32,
    started: Instant,
) -> Checked {
    let details = serde_json::from_str(&outcome.details).unwrap_or_else(|_| {
        // A plugin's details that are not JSON are still worth showing.
        Json::String(outcome.details.clone())
    });
    Checked {
        check,
        verdict,
        message: outcome.message,
        expected: outcome.expected,
        actual: outcome.actual,
        details,
        timings: outcome.timings,
        attempts,
        elapsed: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_stays_at_a_second() {
        let pauses: Vec<u64> = (2..8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(pauses, [200, 400, 800, 1_000, 1_000, 1_000]);
        assert!(pauses.iter().all(|p| *p <= 1_000));
    }
}
