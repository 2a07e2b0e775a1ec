//! Where `watch` says what it saw and did: one line per event on the
//! terminal (or a JSON object with `--json`), the same as JSON lines in
//! `.clockwork/watch.log` (rotated at 1 MiB, one old file kept), and
//! alerts to a webhook — one per incident and one on recovery, retried,
//! never fatal.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::project::{ProjectDir, STATE_DIR};

const LOG: &str = ".clockwork/watch.log";
const OLD_LOG: &str = ".clockwork/watch.log.1";
const ROTATE_AT: u64 = 1 << 20;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The loop started, listed, reconnected.
    Watch,
    /// A resource is not as declared.
    Drift,
    /// It was applied again.
    Heal,
    /// Healing it failed, or it was given up on.
    Failure,
    /// It is as declared again.
    Recovered,
    /// Its `max_duration` ran out.
    Expired,
}

/// The terminal and the log.
pub struct Reporter {
    files: Arc<ProjectDir>,
    json: bool,
}

impl Reporter {
    /// A reporter writing to the project's state folder.
    pub fn new(files: Arc<ProjectDir>, json: bool) -> Self {
        Reporter { files, json }
    }

    /// Records one event: `resource` (if any), what kind, what was seen and
    /// what was done.
    pub fn event(&self, resource: Option<&str>, kind: Kind, seen: &str, done: &str) {
        let record = json!({
            "time": crate::model::time::now_ms(),
            "resource": resource,
            "kind": kind,
            "seen": seen,
            "done": done,
        });
        let record = crate::output::mask_json_always(&record);
        if self.json {
            crate::output::emit_json(&record);
        } else {
            let who = resource.map(|r| format!("{r}: ")).unwrap_or_default();
            let done = if done.is_empty() {
                String::new()
            } else {
                format!(" → {done}")
            };
            crate::output::emit(&format!(
                "{} {who}{seen}{done}\n",
                clock(crate::model::time::now_ms())
            ));
        }
        self.log(&record);
    }

    fn log(&self, record: &Json) {
        let mut line = record.to_string();
        line.push('\n');
        if self
            .files
            .create_dir_all(Path::new(STATE_DIR), true)
            .is_err()
        {
            return;
        }
        let path = Path::new(LOG);
        if self.files.metadata(path).is_ok_and(|m| m.len() > ROTATE_AT) {
            let _ = self.files.rename(path, Path::new(OLD_LOG));
        }
        let _ = self.files.append(path, line.as_bytes(), 0o600);
    }
}

/// `HH:MM:SS` (UTC) of a time in ms since the epoch.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// One alert, as the webhook receives it.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// The project.
    pub project: String,
    /// The resource.
    pub resource: String,
    /// `drift`, `failure`, `expired` or `recovered`.
    pub kind: Kind,
    /// What was seen.
    pub seen: String,
    /// What was done.
    pub done: String,
    /// When, RFC 3339 (UTC).
    pub at: String,
    /// The same in one sentence, for Slack-compatible receivers.
    pub text: String,
}

/// Sends alerts to a webhook, if one is configured.
#[derive(Clone)]
pub struct Alerts {
    url: Option<String>,
    http: reqwest::Client,
}

impl Alerts {
    /// Alerts to `url` (`CW_ALERT_WEBHOOK`, else `[alerts] webhook`).
    pub fn new(url: Option<String>) -> Self {
        Alerts {
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Sends `alert` in the background: three tries, then a note.
    pub fn send(&self, alert: Alert, reporter: Arc<Reporter>) {
        let Some(url) = self.url.clone() else {
            return;
        };
        let http = self.http.clone();
        tokio::spawn(async move {
            let body = crate::output::mask_json_always(&json!(alert)).to_string();
            let mut last = String::new();
            for attempt in 0..3u32 {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                match http
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => last = format!("the webhook answered {}", r.status()),
                    Err(e) => last = e.to_string(),
                }
            }
            reporter.event(
                Some(&alert.resource),
                Kind::Failure,
                &format!("the alert could not be delivered: {last}"),
                "",
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_reads_hours_minutes_seconds() {
        assert_eq!(clock(3_723_000), "01:02:03");
    }
}
