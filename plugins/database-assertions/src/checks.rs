//! The checks: inspect the container, recognise its engine, run the client
//! in it with `exec`, and judge the output with pure `judge_*` functions.

use clockwork_sdk::error_at;
use clockwork_sdk::host::docker;
use clockwork_sdk::host::exec::{self, ExecOutput};
use clockwork_sdk::prelude::*;
use clockwork_sdk::serde_json;

use crate::commands::{
    Command, Engine, Login, count_sql, env_value, escapes_rollback, excerpt, local_psql,
    parse_count, quote_table, recognise, relation_kind, relation_kind_sql,
};

/// Judges what `psql` printed.
type Judge = Box<dyn Fn(&ExecOutput) -> Result<Outcome, PluginError>>;

/// The most characters of a command's output shown.
const EXCERPT: usize = 200;

/// Runs one check of `input`.
pub(crate) fn check(input: CheckInput) -> Result<Outcome, PluginError> {
    let config = config_of(&input)?;
    let type_name = input.type_name.as_str();
    let Some(container) = target_container(&input, &config) else {
        return Err(PluginError::Failed(format!(
            "{type_name} needs a container: set `container_name`, or list the assertion in a declaration's \
             `assertions=[...]`"
        )));
    };
    let inspect = match inspect(&container)? {
        Some(inspect) => inspect,
        None => return Ok(missing_container(&container)),
    };
    let engine = recognise(config["engine"].as_str(), &inspect, &container)?;
    if type_name == "DatabaseConnectionAssert" {
        let login = Login::from_config(engine, &config)?;
        let command = login.command();
        return match run(&input, &container, engine, &command)? {
            Ran::Output(output) => Ok(judge_connection(&login, &output)),
            Ran::Gone => Ok(missing_container(&container)),
            Ran::TimedOut(ms) => Ok(Outcome::fail(
                format!("{} did not answer within {ms} ms", login.url()),
                format!("a connection to {}", login.url()),
                format!("no answer within {ms} ms"),
            )),
        };
    }
    if !matches!(
        type_name,
        "TableExistsAssert" | "RowCountAssert" | "QuerySuccessAssert"
    ) {
        return Err(PluginError::Failed(format!(
            "this plugin has no type `{type_name}`"
        )));
    }
    if engine != Engine::Postgresql {
        return Err(PluginError::Failed(format!(
            "{type_name} checks PostgreSQL databases only; container `{container}` runs Redis"
        )));
    }
    let local = LocalDb::of(&config, &inspect);
    let (statements, judge): (Vec<String>, Judge) = match type_name {
        "TableExistsAssert" => {
            let table = table_of(&config)?;
            let quoted = quote_table(&table).map_err(PluginError::Failed)?;
            let db = local.database.shown.clone();
            (
                vec![relation_kind_sql(&quoted)],
                Box::new(move |o| Ok(judge_table_exists(&table, &db, o))),
            )
        }
        "RowCountAssert" => {
            let table = table_of(&config)?;
            let quoted = quote_table(&table).map_err(PluginError::Failed)?;
            let bounds = Bounds::of(&config)?;
            (
                vec![count_sql(&quoted)],
                Box::new(move |o| judge_row_count(&table, bounds, o)),
            )
        }
        _ => {
            let sql = config["sql_query"]
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| PluginError::Failed("`sql_query` is empty".into()))?
                .to_string();
            if let Some(why) = escapes_rollback(&sql) {
                return Err(PluginError::Failed(why));
            }
            (
                vec!["BEGIN READ ONLY".into(), sql.clone(), "ROLLBACK".into()],
                Box::new(move |o| Ok(judge_query(&sql, o))),
            )
        }
    };
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    let command = local_psql(&local.user.value, &local.database.value, &statements);
    match run(&input, &container, engine, &command)? {
        Ran::Output(output) => {
            let outcome = judge(&output)?;
            let details = with_login(&outcome.details, &local);
            Ok(outcome.with_details(details))
        }
        Ran::Gone => Ok(missing_container(&container)),
        Ran::TimedOut(ms) => Ok(Outcome::fail(
            format!("`psql` did not finish within {ms} ms in container `{container}`"),
            "`psql` finishing",
            format!("no answer within {ms} ms"),
        )),
    }
}

/// What `validate` adds to the schema.
pub(crate) fn problems(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(table) = config["table"].as_str()
        && let Err(why) = quote_table(table)
    {
        problems.push(error_at(Some("/table"), why));
    }
    if let Some(port) = config.get("port").filter(|p| !p.is_null())
        && port.as_u64().is_none_or(|p| p == 0 || p > 65535)
    {
        problems.push(error_at(
            Some("/port"),
            format!("port `{port}` is out of range 1-65535"),
        ));
    }
    for bound in ["min", "max"] {
        if let Some(value) = config.get(bound).filter(|v| !v.is_null())
            && value.as_u64().is_none()
        {
            problems.push(error_at(
                Some(&format!("/{bound}")),
                format!("`{bound}` must be 0 or more, got {value}"),
            ));
        }
    }
    if let (Some(min), Some(max)) = (config["min"].as_u64(), config["max"].as_u64())
        && min > max
    {
        problems.push(error_at(
            Some("/min"),
            format!("`min` ({min}) is more than `max` ({max})"),
        ));
    }
    if let Some(sql) = config["sql_query"].as_str() {
        if sql.trim().is_empty() {
            problems.push(error_at(Some("/sql_query"), "`sql_query` is empty"));
        } else if let Some(why) = escapes_rollback(sql) {
            problems.push(error_at(Some("/sql_query"), why));
        }
    }
    problems
}

fn table_of(config: &Value) -> Result<String, PluginError> {
    config["table"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| PluginError::Failed("`table` is missing".into()))
}

/// The text of a host error, without its kind.
fn text(error: &HostError) -> &str {
    match error {
        HostError::Denied(t)
        | HostError::NotFound(t)
        | HostError::TimedOut(t)
        | HostError::InvalidArgument(t)
        | HostError::TooLarge(t)
        | HostError::Failed(t) => t,
    }
}

/// The container's inspect, `None` when it does not exist; an error when
/// it exists but does not run yet.
fn inspect(container: &str) -> Result<Option<Value>, PluginError> {
    let json = match docker::inspect_container(container) {
        Ok(Some(json)) => json,
        Ok(None) => return Ok(None),
        Err(HostError::Denied(why)) => return Err(PluginError::Denied(why)),
        Err(HostError::TimedOut(why)) => {
            return Err(PluginError::Transient(format!(
                "inspecting container `{container}` timed out: {why}"
            )));
        }
        Err(error) => {
            return Err(PluginError::Failed(format!(
                "cannot inspect container `{container}`: {}",
                text(&error)
            )));
        }
    };
    let inspect: Value = serde_json::from_str(&json).map_err(|e| {
        PluginError::Failed(format!(
            "the host's inspect of container `{container}` is not JSON: {e}"
        ))
    })?;
    if inspect["State"]["Running"].as_bool() != Some(true) {
        let status = inspect["State"]["Status"].as_str().unwrap_or("not running");
        return Err(PluginError::Transient(format!(
            "container `{container}` is {status}: its database can be checked once it runs"
        )));
    }
    Ok(Some(inspect))
}

/// A FAIL for a container that does not exist.
fn missing_container(name: &str) -> Outcome {
    Outcome::fail(
        format!("container `{name}` does not exist"),
        format!("a running container `{name}`"),
        format!("no container named `{name}`"),
    )
}

/// What running a client gave.
enum Ran {
    Output(ExecOutput),
    /// The container went away.
    Gone,
    /// No answer within this many milliseconds.
    TimedOut(u32),
}

/// Runs `command` in `container`. A client the image does not have is an
/// error, not a failure: waiting will not install it.
fn run(
    input: &CheckInput,
    container: &str,
    engine: Engine,
    command: &Command,
) -> Result<Ran, PluginError> {
    let timeout_ms = budget_ms(input, 3_500);
    let request = exec::ExecRequest {
        container: container.to_string(),
        argv: command.argv.clone(),
        env: command.env.clone(),
        user: None,
        workdir: None,
        timeout_ms,
        max_output_bytes: 64 * 1024,
    };
    let client = engine.client();
    match exec::run(&request) {
        Ok(output) if output.exit_code == 126 || output.exit_code == 127 => {
            Err(PluginError::Failed(format!(
                "`{client}` cannot run in container `{container}` (exit {}): {}; the image must have it",
                output.exit_code,
                excerpt(&output.stderr, EXCERPT)
            )))
        }
        Ok(output) => Ok(Ran::Output(output)),
        Err(HostError::Denied(why)) => Err(PluginError::Denied(why)),
        Err(HostError::NotFound(_)) => Ok(Ran::Gone),
        Err(HostError::TimedOut(_)) => Ok(Ran::TimedOut(timeout_ms)),
        Err(error) => Err(PluginError::Failed(format!(
            "cannot run `{client}` in container `{container}`: {}",
            text(&error)
        ))),
    }
}

/// A value and how messages name it: its own text when the user wrote it
/// or it is a default, the variable's name when it comes from the
/// container's environment (whose values are never shown).
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub value: String,
    pub shown: String,
}

impl Named {
    fn from(config: Option<&str>, inspect: &Value, var: &str, default: &str) -> Named {
        if let Some(value) = config {
            return Named {
                value: value.to_string(),
                shown: format!("`{value}`"),
            };
        }
        match env_value(inspect, var).filter(|v| !v.is_empty()) {
            Some(value) => Named {
                value,
                shown: format!("`${var}`"),
            },
            None => Named {
                value: default.to_string(),
                shown: format!("`{default}`"),
            },
        }
    }
}

/// Who the data assertions run `psql` as, and in which database.
pub(crate) struct LocalDb {
    pub user: Named,
    pub database: Named,
}

impl LocalDb {
    fn of(config: &Value, inspect: &Value) -> LocalDb {
        LocalDb {
            user: Named::from(None, inspect, "POSTGRES_USER", "postgres"),
            database: Named::from(
                config["database"].as_str(),
                inspect,
                "POSTGRES_DB",
                "postgres",
            ),
        }
    }
}

fn with_login(details: &str, local: &LocalDb) -> Value {
    let mut details: Value = serde_json::from_str(details).unwrap_or_else(|_| json!({}));
    details["user"] = json!(local.user.shown.trim_matches('`'));
    details["database"] = json!(local.database.shown.trim_matches('`'));
    details
}

/// `exit 2: psql: error: …`, from stderr, else stdout.
fn failure_text(output: &ExecOutput) -> String {
    let said = if output.stderr.trim().is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    format!("exit {}: {}", output.exit_code, excerpt(said, EXCERPT))
}

fn output_details(output: &ExecOutput) -> Value {
    json!({
        "exit_code": output.exit_code,
        "stdout": excerpt(&output.stdout, EXCERPT),
        "stderr": excerpt(&output.stderr, EXCERPT),
    })
}

/// `412 ms`, `3.1 ms`, `800 µs`.
fn duration(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros} µs"),
        1_000..10_000 => format!("{:.1} ms", micros as f64 / 1000.0),
        _ => format!("{} ms", micros / 1000),
    }
}

/// The verdict on `psql … -tAc 'select 1'` or `redis-cli … ping`.
pub(crate) fn judge_connection(login: &Login, output: &ExecOutput) -> Outcome {
    let url = login.url();
    let (answer, shown_answer) = match login.engine {
        Engine::Postgresql => ("1", "`select 1` returned 1"),
        Engine::Redis => ("PONG", "PING answered PONG"),
    };
    let client = login.engine.client();
    let details = output_details(output);
    // `redis-cli` goes on after a refused `AUTH` (as the `default` user),
    // so `PONG` alone does not prove the login.
    let refused_auth = login.engine == Engine::Redis && output.stderr.contains("AUTH failed");
    if output.exit_code == 0 && output.stdout.trim() == answer && !refused_auth {
        return Outcome::pass(format!(
            "{url} accepted the login: {shown_answer} in {}",
            duration(output.elapsed_us)
        ))
        .with_details(details)
        .with_timing("connect", output.elapsed_us);
    }
    let actual = if refused_auth {
        excerpt(output.stderr.trim(), EXCERPT)
    } else if output.exit_code == 0 {
        format!(
            "`{client}` printed `{}`",
            excerpt(output.stdout.trim(), EXCERPT)
        )
    } else {
        failure_text(output)
    };
    Outcome::fail(
        format!("cannot log in to {url}"),
        format!("a connection to {url}"),
        actual,
    )
    .with_details(details)
    .with_timing("connect", output.elapsed_us)
}

/// The verdict on the `pg_class.relkind` query for `table`.
pub(crate) fn judge_table_exists(table: &str, database: &str, output: &ExecOutput) -> Outcome {
    let expected = format!("a table or view `{table}` in database {database}");
    let details = output_details(output);
    if output.exit_code != 0 {
        return Outcome::fail(
            format!("cannot look for table `{table}` in database {database}"),
            expected,
            failure_text(output),
        )
        .with_details(details)
        .with_timing("query", output.elapsed_us);
    }
    let kind = output.stdout.trim();
    let outcome = if kind.is_empty() {
        Outcome::fail(
            format!("table `{table}` does not exist in database {database}"),
            expected,
            format!("no relation named `{table}`"),
        )
    } else {
        match relation_kind(kind) {
            (what, true) => {
                Outcome::pass(format!("{what} `{table}` exists in database {database}"))
            }
            (what, false) => Outcome::fail(
                format!("`{table}` in database {database} is a {what}, not a table"),
                expected,
                format!("a {what} `{table}`"),
            ),
        }
    };
    outcome
        .with_details(details)
        .with_timing("query", output.elapsed_us)
}

/// The bounds of `RowCountAssert`; with neither given, at least one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

impl Bounds {
    fn of(config: &Value) -> Result<Bounds, PluginError> {
        let bound = |key: &str| match config.get(key).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| PluginError::Failed(format!("`{key}` must be 0 or more, got {v}"))),
        };
        let (min, max) = (bound("min")?, bound("max")?);
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(PluginError::Failed(format!(
                "`min` ({min}) is more than `max` ({max})"
            )));
        }
        Ok(match (min, max) {
            (None, None) => Bounds {
                min: Some(1),
                max: None,
            },
            _ => Bounds { min, max },
        })
    }

    fn holds(self, count: u64) -> bool {
        self.min.is_none_or(|m| count >= m) && self.max.is_none_or(|m| count <= m)
    }

    /// `at least 1 row`, `between 1 and 10 rows`, `exactly 0 rows`.
    fn text(self) -> String {
        let rows = |n: u64| format!("{n} row{}", if n == 1 { "" } else { "s" });
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => format!("exactly {}", rows(a)),
            (Some(a), Some(b)) => format!("between {a} and {}", rows(b)),
            (Some(a), None) => format!("at least {}", rows(a)),
            (None, Some(b)) => format!("at most {}", rows(b)),
            (None, None) => "any number of rows".into(),
        }
    }
}

/// The verdict on `select count(*)` of `table`.
pub(crate) fn judge_row_count(
    table: &str,
    bounds: Bounds,
    output: &ExecOutput,
) -> Result<Outcome, PluginError> {
    let expected = bounds.text();
    let mut details = output_details(output);
    details["min"] = json!(bounds.min);
    details["max"] = json!(bounds.max);
    if output.exit_code != 0 {
        return Ok(Outcome::fail(
            format!("cannot count the rows of `{table}`"),
            expected,
            failure_text(output),
        )
        .with_details(details)
        .with_timing("query", output.elapsed_us));
    }
    let Some(count) = parse_count(&output.stdout) else {
        return Err(PluginError::Failed(format!(
            "`psql` printed `{}`, not a row count",
            excerpt(&output.stdout, EXCERPT)
        )));
    };
    details["count"] = json!(count);
    let found = format!("{count} row{}", if count == 1 { "" } else { "s" });
    let outcome = if bounds.holds(count) {
        Outcome::pass(format!("table `{table}` has {found} ({expected})"))
    } else {
        Outcome::fail(
            format!("table `{table}` has {found}, expected {expected}"),
            expected,
            found,
        )
    };
    Ok(outcome
        .with_details(details)
        .with_timing("query", output.elapsed_us))
}

/// The verdict on `BEGIN READ ONLY`, `sql`, `ROLLBACK`.
pub(crate) fn judge_query(sql: &str, output: &ExecOutput) -> Outcome {
    let shown = excerpt(sql, 80);
    let details = output_details(output);
    let outcome = if output.exit_code == 0 {
        Outcome::pass(format!(
            "`{shown}` ran without error in {} (rolled back)",
            duration(output.elapsed_us)
        ))
    } else {
        let first = output
            .stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        Outcome::fail(
            format!("`{shown}` failed: {}", excerpt(first, 120)),
            format!("`{shown}` running without error"),
            failure_text(output),
        )
    };
    outcome
        .with_details(details)
        .with_timing("query", output.elapsed_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(exit_code: i32, stdout: &str, stderr: &str) -> ExecOutput {
        ExecOutput {
            exit_code,
            stdout: stdout.into(),
            stderr: stderr.into(),
            elapsed_us: 12_000,
        }
    }

    fn pg_login() -> Login {
        Login::from_config(
            Engine::Postgresql,
            &json!({"username": "admin", "password": "s3cret", "database": "appdb"}),
        )
        .unwrap()
    }

    #[test]
    fn connection_passes_on_select_1() {
        let outcome = judge_connection(&pg_login(), &out(0, "1\n", ""));
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "postgresql://admin@localhost:5432/appdb accepted the login: `select 1` returned 1 in 12 ms"
        );
        assert_eq!(outcome.timings, vec![("connect".to_string(), 12_000)]);
    }

    #[test]
    fn refused_login_fails_with_psqls_message() {
        let stderr = "psql: error: connection to server at \"localhost\" (::1), port 5432 failed: FATAL:  password authentication failed for user \"admin\"\n";
        let outcome = judge_connection(&pg_login(), &out(2, "", stderr));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("a connection to postgresql://admin@localhost:5432/appdb")
        );
        let actual = outcome.actual.as_deref().unwrap();
        assert!(actual.starts_with("exit 2: psql: error:"), "{actual}");
        assert!(actual.contains("password authentication failed"));
        assert!(!outcome.message.contains("s3cret") && !outcome.details.contains("s3cret"));
    }

    #[test]
    fn redis_needs_pong() {
        let login = Login::from_config(Engine::Redis, &json!({})).unwrap();
        assert_eq!(
            judge_connection(&login, &out(0, "PONG\n", "")).verdict,
            Verdict::Pass
        );
        let noauth = judge_connection(&login, &out(0, "NOAUTH Authentication required.\n", ""));
        assert_eq!(noauth.verdict, Verdict::Fail);
        assert_eq!(
            noauth.expected.as_deref(),
            Some("a connection to redis://localhost:6379")
        );
        assert_eq!(
            noauth.actual.as_deref(),
            Some("`redis-cli` printed `NOAUTH Authentication required.`")
        );
        let wrongpass = judge_connection(
            &login,
            &out(
                0,
                "PONG\n",
                "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n",
            ),
        );
        assert_eq!(
            wrongpass.verdict,
            Verdict::Fail,
            "a refused AUTH fails even after PONG"
        );
        assert_eq!(
            wrongpass.actual.as_deref(),
            Some("AUTH failed: WRONGPASS invalid username-password pair or user is disabled.")
        );
        let refused = judge_connection(
            &login,
            &out(
                1,
                "",
                "Could not connect to Redis at localhost:6379: Connection refused",
            ),
        );
        assert_eq!(
            refused.actual.as_deref(),
            Some("exit 1: Could not connect to Redis at localhost:6379: Connection refused")
        );
    }

    #[test]
    fn table_exists_judges_the_relation_kind() {
        let pass = judge_table_exists("users", "`appdb`", &out(0, "r\n", ""));
        assert_eq!(pass.verdict, Verdict::Pass);
        assert_eq!(pass.message, "table `users` exists in database `appdb`");
        let view = judge_table_exists("v", "`appdb`", &out(0, "v\n", ""));
        assert_eq!(view.verdict, Verdict::Pass);
        let missing = judge_table_exists("users", "`$POSTGRES_DB`", &out(0, "", ""));
        assert_eq!(missing.verdict, Verdict::Fail);
        assert_eq!(
            missing.expected.as_deref(),
            Some("a table or view `users` in database `$POSTGRES_DB`")
        );
        assert_eq!(missing.actual.as_deref(), Some("no relation named `users`"));
        let sequence = judge_table_exists("ids", "`appdb`", &out(0, "S\n", ""));
        assert_eq!(sequence.verdict, Verdict::Fail);
        assert_eq!(sequence.actual.as_deref(), Some("a sequence `ids`"));
        let no_db = judge_table_exists(
            "users",
            "`appdb`",
            &out(
                2,
                "",
                "psql: error: FATAL:  database \"appdb\" does not exist",
            ),
        );
        assert_eq!(no_db.verdict, Verdict::Fail);
        assert!(no_db.actual.unwrap().contains("does not exist"));
    }

    #[test]
    fn row_count_shows_the_count_and_the_bounds() {
        let config = |c: Value| Bounds::of(&c).unwrap();
        let default = config(json!({}));
        assert_eq!(
            default,
            Bounds {
                min: Some(1),
                max: None
            }
        );
        let pass = judge_row_count("users", default, &out(0, "42\n", "")).unwrap();
        assert_eq!(pass.verdict, Verdict::Pass);
        assert_eq!(pass.message, "table `users` has 42 rows (at least 1 row)");
        let empty = judge_row_count("users", default, &out(0, "0\n", "")).unwrap();
        assert_eq!(empty.verdict, Verdict::Fail);
        assert_eq!(empty.expected.as_deref(), Some("at least 1 row"));
        assert_eq!(empty.actual.as_deref(), Some("0 rows"));
        let between = config(json!({"min": 1, "max": 10}));
        let many = judge_row_count("t", between, &out(0, "11", "")).unwrap();
        assert_eq!(many.expected.as_deref(), Some("between 1 and 10 rows"));
        assert_eq!(many.actual.as_deref(), Some("11 rows"));
        let exactly = config(json!({"min": 0, "max": 0}));
        assert_eq!(exactly.text(), "exactly 0 rows");
        assert!(
            judge_row_count("t", exactly, &out(0, "0", ""))
                .unwrap()
                .verdict
                == Verdict::Pass
        );
        let missing = judge_row_count(
            "t",
            default,
            &out(1, "", "ERROR:  relation \"t\" does not exist\nLINE 1: ..."),
        )
        .unwrap();
        assert_eq!(missing.verdict, Verdict::Fail);
        assert!(
            missing
                .actual
                .unwrap()
                .starts_with("exit 1: ERROR: relation \"t\" does not exist")
        );
        assert!(judge_row_count("t", default, &out(0, "what", "")).is_err());
        assert!(Bounds::of(&json!({"min": 5, "max": 1})).is_err());
    }

    #[test]
    fn query_success_reports_the_first_error_line() {
        let pass = judge_query("SELECT 1 FROM users LIMIT 1", &out(0, "1\n", ""));
        assert_eq!(pass.verdict, Verdict::Pass);
        assert!(pass.message.contains("rolled back"));
        let fail = judge_query(
            "SELECT nope",
            &out(
                3,
                "",
                "ERROR:  column \"nope\" does not exist\nLINE 1: SELECT nope\n",
            ),
        );
        assert_eq!(fail.verdict, Verdict::Fail);
        assert_eq!(
            fail.message,
            "`SELECT nope` failed: ERROR: column \"nope\" does not exist"
        );
        assert_eq!(
            fail.expected.as_deref(),
            Some("`SELECT nope` running without error")
        );
        assert!(fail.actual.unwrap().starts_with("exit 3: ERROR:"));
    }

    #[test]
    fn env_values_are_named_not_shown() {
        let inspect = json!({"Config": {"Env": ["POSTGRES_USER=admin", "POSTGRES_DB=appdb"]}});
        let local = LocalDb::of(&json!({}), &inspect);
        assert_eq!(local.user.value, "admin");
        assert_eq!(local.user.shown, "`$POSTGRES_USER`");
        assert_eq!(local.database.value, "appdb");
        assert_eq!(local.database.shown, "`$POSTGRES_DB`");
        let local = LocalDb::of(&json!({"database": "other"}), &json!({}));
        assert_eq!(local.user.value, "postgres");
        assert_eq!(local.database.shown, "`other`");
    }

    #[test]
    fn validate_refuses_what_check_cannot_run() {
        assert!(problems(&json!({"table": "billing.invoices", "min": 1, "max": 2})).is_empty());
        let found = problems(&json!({"table": "users; drop", "min": 3, "max": 2, "port": 0}));
        let paths: Vec<_> = found.iter().map(|d| d.path.clone().unwrap()).collect();
        assert_eq!(paths, ["/table", "/port", "/min"]);
        let found = problems(&json!({"sql_query": "delete from t; commit"}));
        assert_eq!(found.len(), 1);
        assert!(found[0].summary.contains("`COMMIT`"));
        assert!(
            problems(&json!({"min": -1}))[0]
                .summary
                .contains("0 or more")
        );
    }
}
