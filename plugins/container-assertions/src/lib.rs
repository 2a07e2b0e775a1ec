//! Container assertions: `ContainerRunningAssert`, `ContainerHealthyAssert`
//! and `LogContainsAssert`.
//!
//! All three read the project's containers through the host's read-only
//! `docker` interface: `inspect-container` for the state and health,
//! `container-logs` for the log lines. Each `check` makes one attempt; the
//! host retries a failing one until the assertion's timeout.

use clockwork_sdk::host::docker;
use clockwork_sdk::prelude::*;
use clockwork_sdk::{error_at, serde_json};
use regex::Regex;

/// The `container-assertions` plugin.
pub struct ContainerAssertions;

impl AssertionPlugin for ContainerAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("container checks: running, healthy, log lines")
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::with_timeout(container_running_assert(), 5),
            AssertionType::with_timeout(container_healthy_assert(), 60),
            AssertionType::new(log_contains_assert()),
        ]
    }

    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::assertion::validate_with::<Self>(type_name, config, |config| {
            if type_name == "LogContainsAssert" {
                log_config_problems(config)
            } else {
                Vec::new()
            }
        })
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let config = config_of(&input)?;
        let name = target_container(&input, &config).ok_or_else(|| {
            PluginError::Failed(
                "no container to check: give `container_name`, or attach the assertion to a container's declaration"
                    .into(),
            )
        })?;
        match input.type_name.as_str() {
            "ContainerRunningAssert" => {
                let max_restarts = config.get("max_restarts").and_then(Value::as_i64);
                Ok(judge_running(&name, inspect(&name)?.as_ref(), max_restarts))
            }
            "ContainerHealthyAssert" => Ok(judge_healthy(&name, inspect(&name)?.as_ref())),
            "LogContainsAssert" => {
                let (pattern, tail) = log_config(&config)?;
                let logs = match since_seconds(&config)? {
                    Some(seconds) => {
                        let now = clockwork_sdk::host::clock::now_unix_ms();
                        let since = now.saturating_sub(seconds.saturating_mul(1000));
                        docker::container_logs_since(&name, since, tail)
                    }
                    None => docker::container_logs(&name, tail),
                };
                match logs {
                    Ok(text) => Ok(judge_logs(&name, &pattern, tail, &text)),
                    Err(HostError::NotFound(_)) => {
                        Ok(missing(&name, "a container `{name}` with logs"))
                    }
                    Err(other) => Err(host_error(other)),
                }
            }
            other => Err(PluginError::Failed(format!(
                "this plugin has no type `{other}`"
            ))),
        }
    }
}

/// Most characters of a log line or health output shown in a report.
const EXCERPT_CHARS: usize = 200;
/// How many of the last log lines a failing `LogContainsAssert` shows.
const LAST_LINES_SHOWN: usize = 5;

/// The container's inspect JSON, `None` when it does not exist.
fn inspect(name: &str) -> Result<Option<Value>, PluginError> {
    match docker::inspect_container(name) {
        Ok(Some(text)) => serde_json::from_str(&text).map(Some).map_err(|e| {
            PluginError::Failed(format!("the host's inspect of `{name}` is not JSON: {e}"))
        }),
        Ok(None) | Err(HostError::NotFound(_)) => Ok(None),
        Err(other) => Err(host_error(other)),
    }
}

/// A host error that means the check could not run.
fn host_error(error: HostError) -> PluginError {
    match error {
        HostError::Denied(text) => PluginError::Denied(text),
        HostError::TimedOut(text) => {
            PluginError::Transient(format!("docker did not answer in time: {text}"))
        }
        HostError::NotFound(text)
        | HostError::InvalidArgument(text)
        | HostError::TooLarge(text)
        | HostError::Failed(text) => PluginError::Failed(text),
    }
}

/// The failure for a container that does not exist; `expected` may name
/// the container with `{name}`.
fn missing(name: &str, expected: &str) -> Outcome {
    Outcome::fail(
        format!("there is no container `{name}`"),
        expected.replace("{name}", name),
        format!("no container named `{name}`"),
    )
}

/// At most [`EXCERPT_CHARS`] characters of `text`, with `…` when cut.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let shown: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

fn state(inspect: &Value) -> &Value {
    &inspect["State"]
}

/// The container's state in a few words, e.g. `exited with code 137 (killed
/// for lack of memory)`, with Docker's `State.Error` when it has one.
fn describe_state(inspect: &Value) -> String {
    let state = state(inspect);
    let status = state["Status"].as_str().unwrap_or("unknown");
    let exit_code = state["ExitCode"].as_i64().unwrap_or(0);
    let restarts = inspect["RestartCount"].as_u64().unwrap_or(0);
    let mut text = match status {
        "exited" => format!("exited with code {exit_code}"),
        "restarting" => {
            format!("restarting (restarted {restarts} times, last exit code {exit_code})")
        }
        "created" => "created but never started".to_string(),
        "dead" => format!("dead (last exit code {exit_code})"),
        other => other.to_string(),
    };
    if state["OOMKilled"].as_bool() == Some(true) {
        text.push_str(" (killed for lack of memory)");
    }
    if let Some(error) = state["Error"].as_str().filter(|e| !e.is_empty()) {
        text.push_str(&format!(": {}", excerpt(error)));
    }
    text
}

fn state_details(inspect: &Value) -> Value {
    let state = state(inspect);
    json!({
        "status": state["Status"],
        "exit_code": state["ExitCode"],
        "error": state["Error"],
        "oom_killed": state["OOMKilled"],
        "restart_count": inspect["RestartCount"],
        "started_at": state["StartedAt"],
        "finished_at": state["FinishedAt"],
    })
}

fn is_running(inspect: &Value) -> bool {
    state(inspect)["Status"].as_str() == Some("running")
}

/// The outcome of `ContainerRunningAssert`: running, and restarted by
/// the Engine at most `max_restarts` times when that is given.
fn judge_running(name: &str, inspect: Option<&Value>, max_restarts: Option<i64>) -> Outcome {
    let Some(inspect) = inspect else {
        return missing(name, "a running container `{name}`");
    };
    let details = state_details(inspect);
    let restarts = inspect["RestartCount"].as_i64().unwrap_or(0);
    if let Some(max) = max_restarts
        && restarts > max
        && is_running(inspect)
    {
        return Outcome::fail(
            format!("container `{name}` restarted {restarts} times"),
            format!("a running container `{name}` restarted at most {max} times"),
            format!("running, restarted {restarts} times by the Engine (it exited and came back)"),
        )
        .with_details(details);
    }
    if is_running(inspect) {
        let since = state(inspect)["StartedAt"]
            .as_str()
            .unwrap_or("an unknown time");
        Outcome::pass(format!("container `{name}` is running (started {since})"))
            .with_details(details)
    } else {
        let described = describe_state(inspect);
        Outcome::fail(
            format!("container `{name}` is {described}"),
            format!("a running container `{name}`"),
            described,
        )
        .with_details(details)
    }
}

/// What a container without a healthcheck is told.
const NO_HEALTHCHECK_HELP: &str =
    "give its `DockerResource` a `healthcheck`, or use `ContainerRunningAssert`";

/// The outcome of `ContainerHealthyAssert`.
fn judge_healthy(name: &str, inspect: Option<&Value>) -> Outcome {
    let Some(inspect) = inspect else {
        return missing(name, "a healthy container `{name}`");
    };
    let expected = "health status `healthy`";
    let health = &state(inspect)["Health"];
    let status = health["Status"].as_str();
    if status.is_none() || status == Some("none") {
        return Outcome::fail(
            format!("container `{name}` has no healthcheck: {NO_HEALTHCHECK_HELP}"),
            expected,
            format!("no healthcheck ({NO_HEALTHCHECK_HELP})"),
        )
        .with_details(state_details(inspect));
    }
    if !is_running(inspect) {
        let described = describe_state(inspect);
        return Outcome::fail(
            format!("container `{name}` is {described}, so it cannot be healthy"),
            expected,
            format!("not running: {described}"),
        )
        .with_details(state_details(inspect));
    }
    let streak = health["FailingStreak"].as_u64().unwrap_or(0);
    let last = health["Log"].as_array().and_then(|log| log.last());
    let last_output = last
        .and_then(|l| l["Output"].as_str())
        .map(|o| excerpt(o.trim()))
        .unwrap_or_default();
    let last_exit = last.and_then(|l| l["ExitCode"].as_i64());
    let details = json!({
        "health_status": status,
        "failing_streak": streak,
        "last_check_exit_code": last_exit,
        "last_check_output": last_output,
        "state": state_details(inspect),
    });
    let outcome = match status {
        Some("healthy") => Outcome::pass(format!("container `{name}` is healthy")),
        Some("starting") => Outcome::fail(
            format!("container `{name}`'s healthcheck is still starting"),
            expected,
            format!("health status `starting` ({streak} failing checks so far)"),
        ),
        other => {
            let other = other.unwrap_or("unknown");
            let code = last_exit.map_or_else(|| "unknown".to_string(), |c| c.to_string());
            Outcome::fail(
                format!("container `{name}` is {other}"),
                expected,
                format!(
                    "health status `{other}` after {streak} failing checks; last check exited {code}: {last_output:?}"
                ),
            )
        }
    };
    outcome.with_details(details)
}

/// `pattern` and `tail` of a `LogContainsAssert` config.
fn log_config(config: &Value) -> Result<(Regex, u32), PluginError> {
    let problems = log_config_problems(config);
    if let Some(problem) = problems.first() {
        return Err(PluginError::Failed(problem.summary.clone()));
    }
    let pattern = config["pattern"].as_str().unwrap_or_default();
    let regex = Regex::new(pattern).map_err(|e| PluginError::Failed(e.to_string()))?;
    let tail = config["tail"]
        .as_u64()
        .map_or(u32::MAX, |t| u32::try_from(t).unwrap_or(u32::MAX));
    Ok((regex, tail))
}

/// `since` as seconds: `90`, `30s`, `10m`, `2h`, `1d`.
fn parse_since(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

fn since_seconds(config: &Value) -> Result<Option<u64>, PluginError> {
    match config.get("since").filter(|s| !s.is_null()) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(parse_since)
            .map(Some)
            .ok_or_else(|| PluginError::Failed(format!("`since` `{value}` is not a duration"))),
    }
}

/// What is wrong with a `LogContainsAssert` config beyond its schema.
fn log_config_problems(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    match config["pattern"].as_str() {
        Some(pattern) => {
            if let Err(e) = Regex::new(pattern) {
                let mut problem = error_at(
                    Some("/pattern"),
                    "`pattern` is not a valid regular expression",
                );
                problem.detail = Some(e.to_string());
                problems.push(problem);
            }
        }
        None => problems.push(error_at(Some("/pattern"), "`pattern` must be a string")),
    }
    if let Some(since) = config.get("since").filter(|s| !s.is_null())
        && since.as_str().and_then(parse_since).is_none()
    {
        problems.push(error_at(
            Some("/since"),
            format!("`since` must be a duration such as `30s`, `10m` or `2h`, got {since}"),
        ));
    }
    if let Some(tail) = config.get("tail")
        && tail.as_u64().is_none_or(|t| t == 0)
    {
        problems.push(error_at(
            Some("/tail"),
            format!("`tail` must be at least 1, got {tail}"),
        ));
    }
    problems
}

/// The outcome of `LogContainsAssert` for the log text the host returned.
fn judge_logs(name: &str, pattern: &Regex, tail: u32, text: &str) -> Outcome {
    let all: Vec<&str> = text.lines().collect();
    let keep = usize::try_from(tail).unwrap_or(usize::MAX).min(all.len());
    let lines = &all[all.len() - keep..];
    let read = lines.len();
    let shown = format!("/{}/", pattern.as_str());
    match lines.iter().rposition(|line| pattern.is_match(line)) {
        Some(index) => {
            let line = excerpt(lines[index]);
            Outcome::pass(format!(
                "container `{name}` logged a line matching {shown}: {line:?}"
            ))
            .with_details(json!({
                "line": line,
                "lines_from_end": read - index,
                "lines_read": read,
            }))
        }
        None => {
            let last: Vec<String> = lines[read.saturating_sub(LAST_LINES_SHOWN)..]
                .iter()
                .map(|l| excerpt(l))
                .collect();
            Outcome::fail(
                format!("no line of container `{name}`'s last {tail} log lines matches {shown}"),
                format!("a line matching {shown}"),
                format!("none of the last {tail} lines ({read} read)"),
            )
            .with_details(json!({ "lines_read": read, "last_lines": last }))
        }
    }
}

fn container_name() -> Field {
    Field::new(
        "container_name",
        "string",
        "The container to check, by name. \
         Left out: the container of the declaration whose `assertions=[...]` holds this assertion. Only this \
         project's containers can be checked.",
    )
    .example(json!("postgres-db"))
}

fn container_running_assert() -> TypeDef {
    TypeDef::new(
        "ContainerRunningAssert",
        "Checks that a container of this project exists and is running. \
         Passes when Docker reports the container's state as running; a container that is restarting, paused, \
         exited or missing fails, and the message says which.",
    )
    .field(container_name())
    .field(
        Field::new(
            "max_restarts",
            "int",
            "The most times the Engine may have restarted the container after it exited (`RestartCount`); more \
             means it crashed, even if it runs again now. Left out: any number. `clockwork assert --implied` \
             sets it to the count when `apply` last started the container.",
        )
        .example(json!(0)),
    )
}

fn container_healthy_assert() -> TypeDef {
    TypeDef::new(
        "ContainerHealthyAssert",
        "Checks that a container's healthcheck reports it healthy. \
         Passes when Docker's health status for the container is `healthy`. While it is `starting`, \
         `clockwork assert` keeps retrying until `timeout_seconds` (60 by default) have passed. A container \
         without a healthcheck fails with a message saying so: give its `DockerResource` a `healthcheck`, or use \
         `ContainerRunningAssert`.",
    )
    .field(container_name())
}

fn log_contains_assert() -> TypeDef {
    TypeDef::new(
        "LogContainsAssert",
        "Checks that a container's recent log output contains a line matching a pattern. \
         Reads the last `tail` lines of the container's combined standard output and error, and passes when \
         `pattern` matches within one of them. Useful for services that say when they are ready, e.g. PostgreSQL's \
         `database system is ready to accept connections`.",
    )
    .field(
        Field::new(
            "pattern",
            "string",
            "A regular expression searched for in each log line, e.g. `ready to accept connections` or \
             `listening on .*:8000`. \
             The syntax is Rust's `regex` crate (like Perl's, without look-around or back-references); the match \
             may be anywhere in the line, and `(?i)` at the start ignores case.",
        )
        .required()
        .example(json!("ready to accept connections"))
        .example(json!("(?i)listening on .*:8000")),
    )
    .field(container_name())
    .field(
        Field::new(
            "tail",
            "int",
            "How many of the most recent log lines to search. Larger values find older lines but read more.",
        )
        .default(json!(200))
        .example(json!(1000)),
    )
    .field(
        Field::new(
            "since",
            "string",
            "Only lines logged this long ago or later, as `30s`, `10m`, `2h` or `1d` (the Engine counts whole \
             seconds). Left out: any line among the last `tail`.",
        )
        .example(json!("5m")),
    )
}

export_assertion_plugin!(ContainerAssertions);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::TypeSchema;

    use super::*;

    fn schema(name: &str) -> TypeSchema {
        <ContainerAssertions as AssertionPlugin>::types()
            .into_iter()
            .find(|t| t.def.name() == name)
            .map(|t| t.def.schema().clone())
            .unwrap_or_else(|| panic!("no type `{name}`"))
    }

    #[test]
    fn schemas_have_no_problems() {
        let types = <ContainerAssertions as AssertionPlugin>::types();
        let names: Vec<&str> = types.iter().map(|t| t.def.name()).collect();
        assert_eq!(
            names,
            [
                "ContainerRunningAssert",
                "ContainerHealthyAssert",
                "LogContainsAssert"
            ]
        );
        for t in &types {
            assert_eq!(t.def.schema().problems(), vec![], "{}", t.def.name());
            assert!(t.def.schema().field("description").is_some());
            assert!(t.def.schema().field("timeout_seconds").is_some());
            let name = t.def.schema().field("container_name");
            assert!(
                name.is_some_and(|f| !f.required && f.default.is_none()),
                "{}: optional `container_name`",
                t.def.name()
            );
        }
    }

    #[test]
    fn fields_match_the_contract() {
        let running = schema("ContainerRunningAssert");
        assert_eq!(
            running
                .field("timeout_seconds")
                .and_then(|f| f.default_value()),
            Some(json!(5))
        );
        let logs = schema("LogContainsAssert");
        assert!(logs.field("pattern").is_some_and(|f| f.required));
        assert_eq!(
            logs.field("tail").and_then(|f| f.default_value()),
            Some(json!(200))
        );
    }

    fn outcome_details(outcome: &Outcome) -> Value {
        serde_json::from_str(&outcome.details).unwrap()
    }

    fn container(state: Value) -> Value {
        json!({ "Name": "/web", "RestartCount": 0, "State": state, "Config": { "Image": "nginx" } })
    }

    fn running(health: Value) -> Value {
        container(json!({
            "Status": "running", "Running": true, "ExitCode": 0, "Error": "",
            "StartedAt": "2025-01-01T00:00:00Z", "Health": health,
        }))
    }

    #[test]
    fn a_running_container_passes() {
        let outcome = judge_running("web", Some(&running(Value::Null)), None);
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "container `web` is running (started 2025-01-01T00:00:00Z)"
        );
    }

    #[test]
    fn a_missing_container_fails_naming_it() {
        let outcome = judge_running("web", None, None);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("a running container `web`")
        );
        assert_eq!(outcome.actual.as_deref(), Some("no container named `web`"));
        let healthy = judge_healthy("web", None);
        assert_eq!(
            healthy.expected.as_deref(),
            Some("a healthy container `web`")
        );
    }

    #[test]
    fn stopped_states_fail_saying_which() {
        let exited = container(json!({
            "Status": "exited", "Running": false, "ExitCode": 137, "OOMKilled": true,
            "Error": "",
        }));
        let outcome = judge_running("web", Some(&exited), None);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.message,
            "container `web` is exited with code 137 (killed for lack of memory)"
        );
        assert_eq!(
            outcome.actual.as_deref(),
            Some("exited with code 137 (killed for lack of memory)")
        );
        assert_eq!(outcome_details(&outcome)["exit_code"], json!(137));

        let failed = container(json!({
            "Status": "created", "ExitCode": 127,
            "Error": "exec: \"gunicorn\": executable file not found in $PATH",
        }));
        let outcome = judge_running("web", Some(&failed), None);
        assert_eq!(
            outcome.actual.as_deref(),
            Some(
                "created but never started: exec: \"gunicorn\": executable file not found in $PATH"
            )
        );

        let mut restarting =
            container(json!({ "Status": "restarting", "Running": true, "ExitCode": 1 }));
        restarting["RestartCount"] = json!(4);
        let outcome = judge_running("web", Some(&restarting), None);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.actual.as_deref(),
            Some("restarting (restarted 4 times, last exit code 1)")
        );

        let paused = container(json!({ "Status": "paused", "Running": true, "Paused": true }));
        assert_eq!(
            judge_running("web", Some(&paused), None).actual.as_deref(),
            Some("paused")
        );
    }

    #[test]
    fn health_statuses() {
        let healthy = judge_healthy(
            "web",
            Some(&running(json!({ "Status": "healthy", "FailingStreak": 0 }))),
        );
        assert_eq!(healthy.verdict, Verdict::Pass);
        assert_eq!(healthy.message, "container `web` is healthy");

        let starting = judge_healthy(
            "web",
            Some(&running(
                json!({ "Status": "starting", "FailingStreak": 1 }),
            )),
        );
        assert_eq!(starting.verdict, Verdict::Fail);
        assert_eq!(
            starting.expected.as_deref(),
            Some("health status `healthy`")
        );
        assert_eq!(
            starting.actual.as_deref(),
            Some("health status `starting` (1 failing checks so far)")
        );

        let unhealthy = running(json!({
            "Status": "unhealthy", "FailingStreak": 3,
            "Log": [
                { "ExitCode": 0, "Output": "old" },
                { "ExitCode": 7, "Output": "curl: (7) Failed to connect to localhost port 80\n" },
            ],
        }));
        let outcome = judge_healthy("web", Some(&unhealthy));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.actual.as_deref(),
            Some(
                "health status `unhealthy` after 3 failing checks; last check exited 7: \
                 \"curl: (7) Failed to connect to localhost port 80\""
            )
        );
        assert_eq!(outcome_details(&outcome)["last_check_exit_code"], json!(7));
    }

    #[test]
    fn no_healthcheck_fails_with_the_help_text() {
        let outcome = judge_healthy("web", Some(&running(Value::Null)));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert!(
            outcome.message.contains("has no healthcheck"),
            "{}",
            outcome.message
        );
        assert!(
            outcome
                .actual
                .as_deref()
                .is_some_and(|a| a.contains("ContainerRunningAssert"))
        );
    }

    #[test]
    fn a_stopped_container_is_not_healthy() {
        let exited = container(json!({
            "Status": "exited", "ExitCode": 1, "Health": { "Status": "healthy" },
        }));
        let outcome = judge_healthy("web", Some(&exited));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.actual.as_deref(),
            Some("not running: exited with code 1")
        );
    }

    const LOGS: &str = "starting\r\nlistening on 0.0.0.0:8000\nGET / 200\nGET /a 200\nGET /b 200\nGET /c 200\nGET /d 404\n";

    #[test]
    fn a_matching_log_line_passes() {
        let regex = Regex::new("(?i)LISTENING on .*:8000").unwrap();
        let outcome = judge_logs("web", &regex, 200, LOGS);
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "container `web` logged a line matching /(?i)LISTENING on .*:8000/: \"listening on 0.0.0.0:8000\""
        );
        assert_eq!(outcome_details(&outcome)["lines_read"], json!(7));
    }

    #[test]
    fn no_matching_line_fails_with_the_last_lines() {
        let regex = Regex::new("ready to accept").unwrap();
        let outcome = judge_logs("db", &regex, 200, LOGS);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("a line matching /ready to accept/")
        );
        assert_eq!(
            outcome.actual.as_deref(),
            Some("none of the last 200 lines (7 read)")
        );
        assert_eq!(
            outcome_details(&outcome)["last_lines"],
            json!([
                "GET / 200",
                "GET /a 200",
                "GET /b 200",
                "GET /c 200",
                "GET /d 404"
            ])
        );
    }

    #[test]
    fn only_the_last_tail_lines_are_searched() {
        let regex = Regex::new("listening").unwrap();
        let outcome = judge_logs("web", &regex, 3, LOGS);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.actual.as_deref(),
            Some("none of the last 3 lines (3 read)")
        );
        let empty = judge_logs("web", &regex, 3, "");
        assert_eq!(
            empty.actual.as_deref(),
            Some("none of the last 3 lines (0 read)")
        );
    }

    #[test]
    fn validate_refuses_a_bad_pattern_or_tail() {
        let ok = <ContainerAssertions as AssertionPlugin>::validate(
            "LogContainsAssert",
            r#"{"pattern": "a+"}"#,
        );
        let ok: Value = serde_json::from_str(&ok.unwrap()).unwrap();
        assert_eq!(ok["tail"], json!(200));
        let bad = <ContainerAssertions as AssertionPlugin>::validate(
            "LogContainsAssert",
            r#"{"pattern": "(unclosed", "tail": 0}"#,
        )
        .unwrap_err();
        let paths: Vec<_> = bad
            .iter()
            .map(|d| d.path.clone().unwrap_or_default())
            .collect();
        assert_eq!(paths, ["/pattern", "/tail"]);
        assert!(
            <ContainerAssertions as AssertionPlugin>::validate("ContainerRunningAssert", "{}")
                .is_ok()
        );
    }

    #[test]
    fn a_container_restarted_more_than_allowed_fails_though_it_runs() {
        let mut crashed = running(Value::Null);
        crashed["RestartCount"] = json!(3);
        let outcome = judge_running("web", Some(&crashed), Some(1));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("a running container `web` restarted at most 1 times")
        );
        assert!(
            outcome
                .actual
                .as_deref()
                .is_some_and(|a| a.contains("restarted 3 times"))
        );
        assert_eq!(
            judge_running("web", Some(&crashed), Some(3)).verdict,
            Verdict::Pass
        );
        assert_eq!(
            judge_running("web", Some(&crashed), None).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn since_is_a_duration_or_a_located_problem() {
        assert_eq!(parse_since("30s"), Some(30));
        assert_eq!(parse_since("10m"), Some(600));
        assert_eq!(parse_since("2h"), Some(7_200));
        assert_eq!(parse_since("90"), Some(90));
        assert_eq!(parse_since("soon"), None);
        assert_eq!(parse_since("5 weeks"), None);
        let problems = log_config_problems(&json!({"pattern": "x", "since": "yesterday"}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path.as_deref(), Some("/since"));
    }
}
