//! Waiting for readiness on Engine events and protocol probes, never a
//! fixed sleep.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::EventsOptions;
use clockwork_schema::actions::{WaitCondition, WaitSpec};
use futures::StreamExt;
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError, labels};

use super::execute::{ContainerScope, label_of};
use super::probe::{Budget, wait_http, wait_tcp};

impl Engine {
    /// The names of this project's containers as they die, are removed
    /// or turn unhealthy, from a second before now on (the Engine replays
    /// what happened since, so nothing between asking and listening is
    /// missed). The stream ends when the Engine's does.
    pub fn deaths(&self) -> crate::docker::Deaths {
        let since = crate::model::time::now_ms() / 1000 - 1;
        self.project_events(&["die", "destroy", "oom", "health_status"], Some(since))
            .take_while(|event| std::future::ready(event.is_ok()))
            .filter_map(|event| {
                std::future::ready(event.ok().and_then(|e| {
                    let action = e.action.unwrap_or_default();
                    // A health check that passes is no death.
                    if action.starts_with("health_status") && !action.contains("unhealthy") {
                        return None;
                    }
                    e.actor?.attributes?.get("name").cloned()
                }))
            })
            .boxed()
    }

    /// Waits for a condition; commands run only in containers of `scope`.
    pub async fn wait(
        &self,
        spec: &WaitSpec,
        scope: ContainerScope<'_>,
    ) -> Result<Json, EngineError> {
        let budget = Budget {
            started: Instant::now(),
            deadline: Duration::from_millis(spec.timeout_ms),
            timeout_ms: spec.timeout_ms,
        };
        match &spec.condition {
            WaitCondition::Healthy { container } => {
                self.wait_ready(container, true, budget.deadline, Readiness::default())
                    .await?
            }
            WaitCondition::Tcp { host, port } => wait_tcp(host, *port, budget).await?,
            WaitCondition::Http { url, status } => wait_http(url, *status, budget).await?,
            WaitCondition::LogLine { container, pattern } => {
                self.wait_log_line(container, pattern, scope, budget)
                    .await?
            }
            WaitCondition::Exec(exec) => self.wait_exec(exec, scope, budget).await?,
        }
        Ok(json!({"waited_ms": budget.started.elapsed().as_millis() as u64}))
    }

    /// Waits until a container runs and, when `healthy`, is healthy — on
    /// the Engine's event stream, not by polling on a timer. A crash (the
    /// Engine restarting it, or a restart count above `readiness.baseline`)
    /// fails at once. A container that restarted recently must also stay up
    /// for [`STABLE_AFTER`] since its last start (the time after which the
    /// Engine itself counts a restarted container as recovered), so a crash
    /// loop seen between two restarts is not taken for a working service.
    pub async fn wait_ready(
        &self,
        name: &str,
        healthy: bool,
        deadline: Duration,
        readiness: Readiness,
    ) -> Result<(), EngineError> {
        if self.is_swarm() {
            return self.wait_service_ready(name, deadline).await;
        }
        let filters = HashMap::from([
            ("container".to_string(), vec![name.to_string()]),
            ("type".to_string(), vec!["container".to_string()]),
        ]);
        // Subscribe before looking, so no transition is missed in between.
        let mut events = self.docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        let mut baseline = readiness.baseline;
        let outcome = tokio::time::timeout(deadline, async {
            loop {
                let Some(c) = self.inspect_container(name).await? else {
                    return Err(EngineError::call(
                        "wait for",
                        name,
                        "the container disappeared",
                    ));
                };
                // How long to wait for the next event, and what it means
                // when none comes in that time.
                let (patience, silence) = match seen(&c, healthy, &mut baseline) {
                    Seen::Ready => return Ok(()),
                    Seen::NotYet => (None, None),
                    Seen::Settling(remaining) => (Some(remaining), Some(Ok(()))),
                    Seen::Exited(code) => {
                        return Err(EngineError::Exited {
                            name: name.to_string(),
                            code,
                            logs: self.logs_tail(name, 5).await,
                        });
                    }
                    // Restarted after a crash whose exit code is gone: the
                    // next one says it, if it comes soon.
                    Seen::Restarted => (Some(STABLE_AFTER), Some(Err(-1))),
                };
                // Any event of this container (health_status, die, start…)
                // is a reason to look again.
                let event = match patience {
                    Some(remaining) => {
                        tokio::select! {
                            event = events.next() => event,
                            () = tokio::time::sleep(remaining) => match silence {
                                Some(Ok(())) => continue,
                                _ => {
                                    return Err(EngineError::Exited {
                                        name: name.to_string(),
                                        code: -1,
                                        logs: self.logs_tail(name, 5).await,
                                    });
                                }
                            },
                        }
                    }
                    None => events.next().await,
                };
                match event {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(EngineError::call("watch events of", name, e)),
                    None => {
                        return Err(EngineError::call(
                            "watch events of",
                            name,
                            "the event stream ended",
                        ));
                    }
                }
            }
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                let health = self
                    .inspect_container(name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|c| c.state)
                    .and_then(|s| s.health)
                    .and_then(|h| h.status)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "not running".into());
                Err(EngineError::Timeout(format!(
                    "`{name}` was not ready within {} s (health: {health}); its last output:\n{}",
                    deadline.as_secs(),
                    self.logs_tail(name, 10).await
                )))
            }
        }
    }
}

/// How long a restarted container has to stay up before it counts as
/// recovered: the Engine resets its own restart back-off after a container
/// ran for 10 s, for the same reason.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);

/// What a readiness wait knows of the container beforehand.
#[derive(Debug, Clone, Copy, Default)]
pub struct Readiness {
    /// Its restart count when this apply last started it (`None`: the
    /// count when the wait begins).
    pub baseline: Option<i64>,
}

/// What one look at a container says about its readiness.
pub(super) enum Seen {
    /// Up (and healthy when asked).
    Ready,
    /// Not yet: created, or its health check still starting.
    NotYet,
    /// Up, but restarted recently: ready once it lasted this much longer.
    Settling(Duration),
    /// It exited (or is being restarted) with this code.
    Exited(i64),
    /// It runs again after a crash since `baseline`.
    Restarted,
}

pub(super) fn seen(
    c: &ContainerInspectResponse,
    healthy: bool,
    baseline: &mut Option<i64>,
) -> Seen {
    // A container allowed to exit is ready however it is.
    if label_of(c, labels::MUST_RUN).is_some_and(|v| v == "false") {
        return Seen::Ready;
    }
    let Some(state) = c.state.as_ref() else {
        return Seen::NotYet;
    };
    let restarts = c.restart_count.unwrap_or(0);
    let first = *baseline.get_or_insert(restarts);
    if state.restarting == Some(true) {
        return Seen::Exited(state.exit_code.unwrap_or(-1));
    }
    if state.running != Some(true) {
        if state.status.map(|s| s.to_string()) == Some("created".into()) {
            return Seen::NotYet;
        }
        return Seen::Exited(state.exit_code.unwrap_or(-1));
    }
    if restarts > first {
        return Seen::Restarted;
    }
    let health = state
        .health
        .as_ref()
        .and_then(|h| h.status)
        .map(|s| s.to_string());
    if healthy && matches!(health.as_deref(), Some("starting") | Some("unhealthy")) {
        return Seen::NotYet;
    }
    // Up: but a recent restart has to last before it counts.
    let recent = (restarts > 0)
        .then(|| state.started_at.as_deref().and_then(up_for))
        .flatten()
        .filter(|up| *up < STABLE_AFTER);
    match recent {
        Some(up) => Seen::Settling(STABLE_AFTER - up),
        None => Seen::Ready,
    }
}

/// How long ago an Engine timestamp (RFC 3339, UTC) was.
pub(super) fn up_for(timestamp: &str) -> Option<Duration> {
    let started = rfc3339_seconds(timestamp)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Duration::from_secs_f64((now - started).max(0.0)))
}

/// Seconds since the Unix epoch of `2024-05-01T12:00:00.123456789Z`.
pub fn rfc3339_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.strip_suffix('Z')?;
    let mut t = time.splitn(3, ':');
    let (hour, minute) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let second: f64 = t.next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3_600 + minute * 60) as f64 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_timestamps_are_read() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0.0));
        let t = rfc3339_seconds("2024-03-01T12:30:15.5Z").unwrap();
        assert!((t - 1_709_296_215.5).abs() < 1e-6, "{t}");
        assert_eq!(rfc3339_seconds("yesterday"), None);
    }
}
