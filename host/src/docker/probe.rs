//! Waiting on a probe until it succeeds or the wait's time runs out: a TCP
//! connection, an HTTP status, a line in a container's log, a command in
//! a container.

use std::time::{Duration, Instant};

use bollard::query_parameters::LogsOptions;
use clockwork_schema::actions::ExecSpec;
use futures::StreamExt;

use crate::docker::{Engine, EngineError};

use super::execute::ContainerScope;

/// The most of one unfinished line of a container's output kept while
/// waiting for a pattern in it.
const LOG_LINE_BYTES: usize = 64 << 10;

/// How long a wait has had, and may have.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// When the wait began.
    pub(super) started: Instant,
    /// How long it may take.
    pub(super) deadline: Duration,
    /// The same, in milliseconds as the spec gave it, for messages.
    pub(super) timeout_ms: u64,
}

impl Budget {
    /// Whether waiting `backoff` more would run past the deadline.
    fn spent_after(&self, backoff: Duration) -> bool {
        self.started.elapsed() + backoff > self.deadline
    }
}

/// Until `host:port` accepts a connection.
pub(super) async fn wait_tcp(host: &str, port: u16, budget: Budget) -> Result<(), EngineError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect((host, port)),
        )
        .await;
        if matches!(attempt, Ok(Ok(_))) {
            return Ok(());
        }
        if budget.spent_after(backoff) {
            return Err(EngineError::Timeout(format!(
                "{host}:{port} did not accept a connection within {} ms",
                budget.timeout_ms
            )));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

/// Until `url` answers with `status` (200 unless told), redirects not
/// followed.
pub(super) async fn wait_http(
    url: &str,
    status: Option<u16>,
    budget: Budget,
) -> Result<(), EngineError> {
    let wanted = status.unwrap_or(200);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| EngineError::call("wait for", url, e))?;
    let mut backoff = Duration::from_millis(50);
    loop {
        let last = match client.get(url).send().await {
            Ok(r) if r.status().as_u16() == wanted => return Ok(()),
            Ok(r) => format!("status {}", r.status().as_u16()),
            Err(e) => e.to_string(),
        };
        if budget.spent_after(backoff) {
            return Err(EngineError::Timeout(format!(
                "`{url}` did not answer {wanted} within {} ms (last: {last})",
                budget.timeout_ms
            )));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

impl Engine {
    /// Until `container` (of `scope`) prints a line holding `pattern`.
    pub(super) async fn wait_log_line(
        &self,
        container: &str,
        pattern: &str,
        scope: ContainerScope<'_>,
        budget: Budget,
    ) -> Result<(), EngineError> {
        // By id: on a swarm, the container of the service's task.
        let Some(id) = self
            .own_container(container, scope)
            .await?
            .and_then(|c| c.id)
        else {
            return Err(EngineError::call(
                "wait for",
                container,
                "no such container",
            ));
        };
        // Following the log stream: every line is seen once, as it
        // comes, from the container's start.
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            follow: true,
            ..Default::default()
        };
        let mut stream = self.docker.logs(&id, Some(options));
        let found = tokio::time::timeout(budget.deadline, async {
            let mut pending = String::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| EngineError::call("read logs of", container, e))?;
                if line_found(&mut pending, &chunk.to_string(), pattern) {
                    return Ok(true);
                }
            }
            Ok::<bool, EngineError>(false)
        })
        .await;
        match found {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(EngineError::Timeout(format!(
                "`{container}` stopped before printing a line with `{pattern}`"
            ))),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(EngineError::Timeout(format!(
                "`{container}` printed no line with `{pattern}` within {} ms",
                budget.timeout_ms
            ))),
        }
    }

    /// Until `exec` succeeds in its container (of `scope`).
    pub(super) async fn wait_exec(
        &self,
        exec: &ExecSpec,
        scope: ContainerScope<'_>,
        budget: Budget,
    ) -> Result<(), EngineError> {
        // A readiness probe: run it until it succeeds, backing off
        // from 50 ms to 200 ms between attempts (each attempt is an
        // exec of ~0.1 s itself, so the Engine is never flooded and
        // readiness is seen within ~0.3 s).
        let mut backoff = Duration::from_millis(50);
        loop {
            let remaining = budget.deadline.saturating_sub(budget.started.elapsed());
            let attempt = ExecSpec {
                timeout_ms: remaining.as_millis().min(u128::from(exec.timeout_ms)) as u64,
                ..exec.clone()
            };
            let last = match self.exec(&attempt, scope).await {
                Ok(out) if out.code == 0 => return Ok(()),
                Ok(out) => format!("exit code {}: {}", out.code, out.output.trim()),
                Err(e @ (EngineError::Foreign { .. } | EngineError::OtherResource { .. })) => {
                    return Err(e);
                }
                Err(e) => e.to_string(),
            };
            if budget.spent_after(backoff) {
                return Err(EngineError::Timeout(format!(
                    "{} in `{}` did not succeed within {} ms; the last try said: {last}",
                    exec.label
                        .clone()
                        .unwrap_or_else(|| format!("`{}`", exec.argv.join(" "))),
                    exec.container,
                    budget.timeout_ms
                )));
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(200));
        }
    }
}

/// Adds `chunk` of a log to what is `pending` of its last, unfinished
/// line; whether a line now holds `pattern`. Finished lines are dropped.
fn line_found(pending: &mut String, chunk: &str, pattern: &str) -> bool {
    pending.push_str(chunk);
    if pending.lines().any(|l| l.contains(pattern)) {
        return true;
    }
    if let Some(last) = pending.rfind('\n') {
        pending.drain(..=last);
    }
    // A line that never ends: only its last bytes can
    // still begin the pattern.
    if pending.len() > LOG_LINE_BYTES {
        let mut keep = pending.len().saturating_sub(pattern.len());
        while !pending.is_char_boundary(keep) {
            keep -= 1;
        }
        pending.drain(..keep);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_is_found_across_chunks_and_only_its_tail_is_kept() {
        let mut pending = String::new();
        assert!(!line_found(
            &mut pending,
            "starting\nlisten",
            "listening on"
        ));
        assert_eq!(pending, "listen", "finished lines are dropped");
        assert!(line_found(&mut pending, "ing on :80\n", "listening on"));

        let mut endless = String::new();
        let long = "x".repeat(LOG_LINE_BYTES + 10);
        assert!(!line_found(&mut endless, &long, "ready"));
        assert_eq!(endless.len(), "ready".len(), "only what can begin it");
        assert!(line_found(&mut endless, "ready", "ready"), "{endless}");
    }
}
