//! `clockwork apply` and `destroy`: the planned changes, a line per
//! resource as it finishes, and the summary. `--json` prints one JSON
//! object per event instead.

use std::io::IsTerminal;
use std::sync::Arc;

use serde_json::json;

use crate::apply::{Outcome, Progress, Report};
use crate::output::emit;
use crate::output::spinner::Spinner;
use crate::plan::{ChangeKind as Action, Plan};

/// The planned changes, one line per resource that changes.
pub fn render_changes(plan: &Plan) -> String {
    let counts = plan.summary();
    let mut out = String::new();
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    out.push_str(&format!(
        "Plan: {}\n",
        if parts.is_empty() {
            "nothing declared, nothing deployed".into()
        } else {
            parts.join(", ")
        }
    ));
    for p in plan.entries.iter().filter(|p| p.change != Action::None) {
        let sign = match p.change {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::None => " ",
        };
        let fields = p.changed_fields();
        let why = if fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", fields.join(", "))
        };
        out.push_str(&format!(
            "  {sign} {} ({}): {}{why}\n",
            p.name, p.type_name, p.change
        ));
    }
    out
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "removed",
        Action::None => "unchanged",
    }
}

/// The line printed when a resource finishes (empty: nothing to say).
fn finished_line(name: &str, change: Action, outcome: &Outcome, elapsed: f64) -> String {
    match outcome {
        Outcome::Done => format!("  ✓ {name}: {} in {elapsed:.2} s", past(change)),
        // A resource with nothing to change can fail too (a connection's
        // step before it): "none failed" would say nothing.
        Outcome::Failed(m) if change == Action::None => {
            format!("  ✗ {name}: failed after {elapsed:.2} s: {m}")
        }
        Outcome::Failed(m) => format!("  ✗ {name}: {change} failed after {elapsed:.2} s: {m}"),
        Outcome::Skipped(m) => format!("  - {name}: skipped, {m}"),
        Outcome::Unchanged => String::new(),
    }
}

/// A progress sink: on a terminal, a spinner line per resource in progress
/// (what it does, for how long) under the lines of finished ones; otherwise
/// only the finished lines; with `--json`, one JSON object per event.
pub fn progress(json_lines: bool) -> Arc<dyn Fn(Progress) + Send + Sync> {
    if json_lines {
        return Arc::new(|event| match event {
            Progress::Started { name, change } => {
                emit(&json!({"event": "started", "resource": name, "action": change}).to_string())
            }
            Progress::Step { name, step } => {
                emit(&json!({"event": "step", "resource": name, "step": step}).to_string())
            }
            Progress::Warning { name, message } => {
                emit(&json!({"event": "warning", "resource": name, "message": message}).to_string())
            }
            Progress::Finished {
                name,
                change,
                outcome,
                elapsed,
            } => {
                let (status, message) = match outcome {
                    Outcome::Done => ("done", None),
                    Outcome::Unchanged => ("unchanged", None),
                    Outcome::Failed(m) => ("failed", Some(m)),
                    Outcome::Skipped(m) => ("skipped", Some(m)),
                };
                emit(&json!({"event": "finished", "resource": name, "action": change, "status": status, "message": message, "seconds": elapsed.as_secs_f64()}).to_string());
            }
        });
    }
    let spinner = std::io::stdout().is_terminal().then(Spinner::start);
    Arc::new(move |event| match event {
        Progress::Started { name, change } => {
            if let Some(s) = &spinner {
                s.started(&name, &change.to_string());
            }
        }
        Progress::Step { name, step } => {
            if let Some(s) = &spinner {
                s.step(&name, &step);
            }
        }
        Progress::Warning { name, message } => {
            let line = format!("  ! {name}: {message}");
            match &spinner {
                Some(s) => s.finished("", &line),
                None => emit(&line),
            }
        }
        Progress::Finished {
            name,
            change,
            outcome,
            elapsed,
        } => {
            let line = finished_line(&name, change, &outcome, elapsed.as_secs_f64());
            match &spinner {
                Some(s) => s.finished(&name, &line),
                None if !line.is_empty() => emit(&line),
                None => {}
            }
        }
    })
}

/// The closing line.
pub fn render_report(report: &Report, verb: &str, seconds: f64) -> String {
    let done = report
        .results
        .iter()
        .filter(|r| r.2 == Outcome::Done)
        .count();
    let unchanged = report
        .results
        .iter()
        .filter(|r| r.2 == Outcome::Unchanged)
        .count();
    let failed = report
        .results
        .iter()
        .filter(|r| matches!(r.2, Outcome::Failed(_)))
        .count();
    let skipped = report
        .results
        .iter()
        .filter(|r| matches!(r.2, Outcome::Skipped(_)))
        .count();
    // What could not be cleaned up fails the run too: said, not only
    // counted in the exit code.
    if !report.leftovers.is_empty() {
        let lines: Vec<String> = report
            .leftovers
            .iter()
            .map(|l| format!("  ✗ left behind: {l}"))
            .collect();
        return format!(
            "{}\n{verb} failed: {failed} failed, {skipped} skipped, {done} done, {unchanged} unchanged, {} left behind ({seconds:.2} s)",
            lines.join("\n"),
            report.leftovers.len()
        );
    }
    if failed + skipped > 0 {
        format!(
            "{verb} failed: {failed} failed, {skipped} skipped, {done} done, {unchanged} unchanged ({seconds:.2} s)"
        )
    } else if done == 0 && unchanged == 0 {
        format!("Nothing to do: nothing declared, nothing deployed ({seconds:.2} s)")
    } else if done == 0 {
        format!(
            "Nothing to do: {unchanged} resource{} up to date ({seconds:.2} s)",
            if unchanged == 1 { " is" } else { "s are" }
        )
    } else {
        format!("{verb} complete: {done} changed, {unchanged} unchanged ({seconds:.2} s)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_left_behind_is_said_and_fails_the_summary() {
        let clean = Report::default();
        assert!(!render_report(&clean, "Apply", 1.0).contains("left behind"));
        let report = Report {
            leftovers: vec!["remove network `backend`: it is in use".into()],
            ..Default::default()
        };
        let text = render_report(&report, "Apply", 1.0);
        assert!(
            text.contains("✗ left behind: remove network `backend`: it is in use")
                && text.contains("Apply failed:")
                && text.contains("1 left behind"),
            "{text}"
        );
    }
}
