//! `clockwork assert` against real containers: every bundled assertion
//! type passes where it holds and fails, saying what it expected and saw,
//! where it does not; retries end at the timeout; errors are errors; the
//! reports parse.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use crate::docker::docker_ok;
use crate::stack::Stack;

const QUICK_STOP: &str =
    r#"["sh", "-c", "echo service ready; trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

/// A port nothing listens on now, below the ephemeral range (so that a
/// connection to it cannot meet itself, as one to an ephemeral port can).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 12_000) as u16;
    loop {
        // 20000-31999: below Linux's ephemeral range (32768-60999).
        let port = 20_000 + (start + NEXT.fetch_add(1, Ordering::SeqCst)) % 12_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("0.0.0.0", port)).is_ok()
        {
            return port;
        }
    }
}

/// The checks of a `--format json` report, by their `description` (the
/// tests give each one), else their name.
pub fn by_name(report: &Value) -> BTreeMap<String, Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let key = c["description"].as_str().or(c["name"].as_str());
            (key.unwrap_or_default().to_string(), c.clone())
        })
        .collect()
}

/// The check `name` of a [`by_name`] map.
#[track_caller]
pub fn check<'a>(checks: &'a BTreeMap<String, Value>, name: &str) -> &'a Value {
    checks
        .get(name)
        .unwrap_or_else(|| panic!("no check {name} in {:?}", checks.keys()))
}

fn text(check: &Value, key: &str) -> String {
    check[key].as_str().unwrap_or_default().to_string()
}

#[track_caller]
fn passed(checks: &BTreeMap<String, Value>, name: &str) {
    let c = checks
        .get(name)
        .unwrap_or_else(|| panic!("no check {name} in {:?}", checks.keys()));
    assert_eq!(c["verdict"], "pass", "{name}: {c:#}");
}

/// Asserts `name` failed and its expected and actual contain these.
#[track_caller]
fn failed(checks: &BTreeMap<String, Value>, name: &str, expected: &str, actual: &str) {
    let c = checks
        .get(name)
        .unwrap_or_else(|| panic!("no check {name} in {:?}", checks.keys()));
    assert_eq!(c["verdict"], "fail", "{name}: {c:#}");
    assert!(
        text(c, "expected").contains(expected),
        "{name}: expected `{}` lacks `{expected}`",
        text(c, "expected")
    );
    assert!(
        text(c, "actual").contains(actual),
        "{name}: actual `{}` lacks `{actual}`",
        text(c, "actual")
    );
}

/// One stack holding a case of every type that passes and one that must
/// fail (failing ones get a 1 s timeout so the run stays short).
#[test]
fn every_assertion_type_passes_where_it_holds_and_fails_saying_why() {
    let web_port = free_port();
    let db_port = free_port();
    let stack = Stack::new("cw-e2e-assert-types");
    stack.write(
        "main.star",
        &format!(
            r##"
db = DockerResource(
    name = "types-db",
    image = "postgres:15-alpine",
    env_vars = {{"POSTGRES_PASSWORD": "pg-pass-4711"}},
    ports = ["{db_port}:5432"],
    assertions = [
        DatabaseConnectionAssert(description = "db-login", password = "pg-pass-4711", timeout_seconds = 60),
        DatabaseConnectionAssert(description = "db-login-wrong", password = "not-the-password", timeout_seconds = 5),
        QuerySuccessAssert(description = "query-ok", sql_query = "select 1", timeout_seconds = 60),
        QuerySuccessAssert(description = "query-bad", sql_query = "select * from no_such_table", timeout_seconds = 5),
        QuerySuccessAssert(description = "query-writes", sql_query = "create table written (x int)", timeout_seconds = 5),
        TableExistsAssert(description = "table-ok", table = "pg_catalog.pg_class", timeout_seconds = 60),
        TableExistsAssert(description = "table-missing", table = "no_such_table", timeout_seconds = 5),
        RowCountAssert(description = "rows-ok", table = "pg_catalog.pg_database", min = 1, timeout_seconds = 60),
        RowCountAssert(description = "rows-too-many", table = "pg_catalog.pg_database", max = 0, timeout_seconds = 5),
    ],
)
cache = DockerResource(
    name = "types-cache",
    image = "redis:7-alpine",
    assertions = [DatabaseConnectionAssert(description = "redis-ping", port = 6379, timeout_seconds = 30)],
)
web = DockerResource(
    name = "types-web",
    image = "nginx:alpine",
    ports = ["{web_port}:80"],
    env_vars = {{"API_KEY": "key-0815-secret"}},
    healthcheck = {{"test": ["CMD", "true"], "interval_seconds": 1, "retries": 1}},
    assertions = [
        HealthcheckAssert(description = "health-ok", url = "http://localhost:{web_port}/", timeout_seconds = 30),
        HealthcheckAssert(description = "health-by-name", url = "http://types-web/", timeout_seconds = 30),
        HTTPStatusAssert(description = "status-404", url = "http://localhost:{web_port}/missing", expected_status = 404),
        HTTPStatusAssert(description = "status-wrong", url = "http://localhost:{web_port}/missing", expected_status = 200, timeout_seconds = 1),
        ResponseTimeAssert(description = "fast-enough", url = "http://localhost:{web_port}/", max_ms = 5000),
        ResponseTimeAssert(description = "never-fast-enough", url = "http://localhost:{web_port}/", max_ms = 0, timeout_seconds = 1),
        PortAccessibleAssert(description = "port-open", port = {web_port}),
        PortAccessibleAssert(description = "port-closed", port = 1, timeout_seconds = 1),
        ContainerRunningAssert(description = "running"),
        ContainerHealthyAssert(description = "healthy", timeout_seconds = 60),
        SecretsPresentAssert(description = "secrets-ok", env_vars = ["API_KEY"]),
        SecretsPresentAssert(description = "secrets-missing", env_vars = ["API_KEY", "DB_TOKEN"]),
        NoOpenPortsAssert(description = "ports-expected", except_ports = [80, {web_port}]),
        NoOpenPortsAssert(description = "ports-unexpected", except_ports = [80], timeout_seconds = 1),
        DNSResolveAssert(description = "dns-container", hostname = "types-db"),
        DNSResolveAssert(description = "dns-wrong-ip", hostname = "localhost", expected_ip = "10.9.9.9", timeout_seconds = 1),
    ],
)
worker = DockerResource(
    name = "types-worker",
    image = "busybox:latest",
    command = {QUICK_STOP},
    assertions = [
        LogContainsAssert(description = "log-ok", pattern = "service re+ady", timeout_seconds = 30),
        LogContainsAssert(description = "log-missing", pattern = "never printed", timeout_seconds = 1),
        LogContainsAssert(description = "log-since-ok", pattern = "service re+ady", since = "1h"),
        LogContainsAssert(description = "log-too-old", pattern = "service re+ady", since = "1s", timeout_seconds = 1),
        ContainerHealthyAssert(description = "no-healthcheck", timeout_seconds = 1),
        ServiceConnectivityAssert(description = "reach-db", to_service = db, protocol = "postgresql", timeout_seconds = 60),
        ServiceConnectivityAssert(description = "reach-cache", to_service = cache, protocol = "redis", port = 6379, timeout_seconds = 30),
        ServiceConnectivityAssert(description = "reach-web", to_service = web, protocol = "http"),
        ServiceConnectivityAssert(description = "reach-closed", to_service = web, port = 81, timeout_seconds = 1),
    ],
)
stopped = DockerResource(
    name = "types-stopped",
    image = "busybox:latest",
    command = ["true"],
    must_run = False,
    assertions = [ContainerRunningAssert(description = "not-running", timeout_seconds = 1)],
)
notes = FileResource(
    name = "notes.md",
    directory = "generated",
    content = "# Notes\nDeployed by Clockwork.\n",
    mode = "0640",
    assertions = [
        FileExistsAssert(description = "file-ok", path = "generated/notes.md"),
        FileExistsAssert(description = "file-missing", path = "generated/nope.md", timeout_seconds = 1),
        DirectoryExistsAssert(description = "dir-ok", path = "generated"),
        DirectoryExistsAssert(description = "dir-is-a-file", path = "generated/notes.md", timeout_seconds = 1),
        FileContentMatchesAssert(description = "content-ok", path = "generated/notes.md", pattern = "Deployed by .*"),
        FileContentMatchesAssert(description = "content-wrong", path = "generated/notes.md", pattern = "Destroyed", timeout_seconds = 1),
        FilePermissionsAssert(description = "mode-ok", path = "generated/notes.md", expected_perms = "0640"),
        FilePermissionsAssert(description = "mode-wrong", path = "generated/notes.md", expected_perms = "0600"),
        FileModifiedWithinAssert(description = "fresh", path = "generated/notes.md", max_age_seconds = 3600),
        FileModifiedWithinAssert(description = "stale", path = "old.txt", max_age_seconds = 60),
        DiskSpaceAssert(description = "space-ok", path = ".", min_gb_free = 0.001),
        DiskSpaceAssert(description = "space-short", path = ".", min_gb_free = 1000000000),
    ],
)
"##
        ),
    );
    stack.write("old.txt", "written long ago\n");
    let old = std::fs::File::options()
        .write(true)
        .open(stack.dir.join("old.txt"))
        .expect("old.txt");
    old.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
        .expect("set mtime");
    stack.ok(&["apply", "-y"]);

    // The database takes a while to accept logins after its container
    // starts: a first run of its checks waits for that (the passing ones
    // retry), so that the failing ones below fail for their own reason.
    let warm = stack.run(&["assert", "--format", "json", "types-db", "types-cache"]);
    let warm: Value = serde_json::from_str(&warm.stdout).expect("the report is JSON");
    passed(&by_name(&warm), "db-login");
    // "log-too-old" looks for a line printed at start, with `since = "1s"`:
    // wait until that line is older than that, by the container's clock.
    let started = stack.inspect("types-worker")["State"]["StartedAt"]
        .as_str()
        .map(crate::apply::epoch)
        .expect("started");
    crate::docker::wait_until(
        "the worker's first line to be 3 s old",
        Duration::from_secs(30),
        || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            now - started >= 3.0
        },
    );
    let run = stack.run(&["assert", "--format", "json"]);
    assert_eq!(
        run.code, 1,
        "some checks must fail\n{}\n{}",
        run.stdout, run.stderr
    );
    let report: Value = serde_json::from_str(&run.stdout).expect("the report is JSON");
    let checks = by_name(&report);

    for name in [
        "db-login",
        "query-ok",
        "table-ok",
        "rows-ok",
        "redis-ping",
        "health-ok",
        "health-by-name",
        "status-404",
        "fast-enough",
        "port-open",
        "running",
        "healthy",
        "secrets-ok",
        "ports-expected",
        "dns-container",
        "log-ok",
        "log-since-ok",
        "reach-db",
        "reach-cache",
        "reach-web",
        "file-ok",
        "dir-ok",
        "content-ok",
        "mode-ok",
        "fresh",
        "space-ok",
    ] {
        passed(&checks, name);
    }
    failed(
        &checks,
        "db-login-wrong",
        "a connection to postgresql://postgres@",
        "password authentication failed",
    );
    failed(&checks, "query-bad", "", "no_such_table");
    // A check changes nothing: a statement that writes is refused.
    failed(&checks, "query-writes", "", "read-only transaction");
    failed(&checks, "table-missing", "no_such_table", "");
    failed(&checks, "rows-too-many", "", "row");
    failed(&checks, "status-wrong", "status 200", "status 404");
    failed(&checks, "never-fast-enough", "0 ms", "ms");
    failed(
        &checks,
        "port-closed",
        "localhost:1 accepting TCP connections",
        "refused",
    );
    failed(&checks, "secrets-missing", "", "DB_TOKEN");
    failed(
        &checks,
        "ports-unexpected",
        "80",
        &format!("{web_port}/tcp (published)"),
    );
    failed(&checks, "dns-wrong-ip", "10.9.9.9", "127.0.0.1");
    // Printed at start, seconds before: older than `since` (the warm-up
    // run above lasted longer than that).
    failed(&checks, "log-too-old", "service re+ady", "none of the last");
    failed(&checks, "log-missing", "never printed", "none of the last");
    failed(&checks, "no-healthcheck", "healthy", "no healthcheck");
    failed(
        &checks,
        "reach-closed",
        "`types-worker` reaching `types-web:81`",
        "refused",
    );
    failed(
        &checks,
        "not-running",
        "a running container `types-stopped`",
        "exited",
    );
    failed(&checks, "file-missing", "", "nothing at");
    failed(&checks, "dir-is-a-file", "", "file");
    failed(&checks, "content-wrong", "Destroyed", "sha256");
    failed(&checks, "mode-wrong", "0600", "0640");
    failed(&checks, "stale", "60 s", "s ago");
    failed(&checks, "space-short", "GB free", "GB free");

    // Nothing secret in the report, whatever the check saw.
    for secret in ["pg-pass-4711", "not-the-password", "key-0815-secret"] {
        assert!(
            !run.stdout.contains(secret),
            "`{secret}` leaked:\n{}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(secret),
            "`{secret}` leaked:\n{}",
            run.stderr
        );
    }
    assert_eq!(report["summary"]["errors"], 0, "{:#}", report["summary"]);
}

/// A service that answers 503 to its first two health checks and 200
/// afterwards passes within its timeout, after retries (the server counts
/// requests, so no timing decides it); a port that never opens fails at its
/// timeout, not before and not long after.
#[test]
fn a_failing_check_is_retried_until_it_passes_or_its_timeout_ends() {
    use std::io::{Read, Write};
    let server = TcpListener::bind(("127.0.0.1", free_port())).expect("bind");
    let healthy_after = server.local_addr().expect("addr").port();
    let never = free_port();
    let stack = Stack::new("cw-e2e-assert-retry");
    stack.write(
        "main.star",
        &format!(
            r#"
HealthcheckAssert(description = "becomes-healthy", url = "http://localhost:{healthy_after}/health", timeout_seconds = 30)
PortAccessibleAssert(description = "never-opens", port = {never}, timeout_seconds = 3)
"#
        ),
    );
    let answering = std::thread::spawn(move || {
        let mut served = 0;
        for stream in server.incoming().take(10) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            served += 1;
            let status = if served <= 2 {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            if served > 2 {
                return served;
            }
        }
        served
    });
    let run = stack.run(&["assert", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
    let checks = by_name(&report);
    let healthy = &checks["becomes-healthy"];
    assert_eq!(healthy["verdict"], "pass", "{healthy:#}");
    assert_eq!(healthy["attempts"], 3, "{healthy:#}");
    assert_eq!(answering.join().expect("server"), 3);
    let never_check = &checks["never-opens"];
    assert_eq!(never_check["verdict"], "fail", "{never_check:#}");
    let ms = never_check["duration_ms"].as_f64().unwrap_or(0.0);
    assert!(
        (3_000.0..6_000.0).contains(&ms),
        "failed after {ms} ms, not at its 3 s timeout"
    );
    assert_eq!(run.code, 1);
}

/// A check that cannot run is an error, reported once, not a failure
/// retried until its timeout.
#[test]
fn a_check_that_cannot_run_is_reported_as_an_error() {
    let stack = Stack::new("cw-e2e-assert-error");
    stack.write(
        "main.star",
        r#"
ContainerRunningAssert(description = "needs-engine", container_name = "anything", timeout_seconds = 30)
"#,
    );
    let run = stack
        .command(&["assert", "--format", "json"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    let check = &by_name(&report)["needs-engine"];
    assert_eq!(check["verdict"], "error", "{check:#}");
    assert_eq!(check["attempts"], 1, "{check:#}");
    assert!(
        text(check, "message").contains("no Docker Engine"),
        "{check:#}"
    );
    assert!(check["duration_ms"].as_f64().unwrap_or(f64::MAX) < 10_000.0);
    assert_eq!(run.status.code(), Some(1));

    // A container that is not the project's is refused, not read.
    let _ = crate::docker::docker(&["rm", "-f", "cw-e2e-assert-stranger"]);
    let stranger = docker_ok(&[
        "run",
        "-d",
        "--name",
        "cw-e2e-assert-stranger",
        "busybox:latest",
        "sleep",
        "60",
    ]);
    stack.write(
        "main.star",
        r#"
ContainerRunningAssert(description = "strangers", container_name = "cw-e2e-assert-stranger")
"#,
    );
    let run = stack.run(&["assert", "--format", "json"]);
    let _ = crate::docker::docker(&["rm", "-f", stranger.trim()]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.stdout));
    let check = &by_name(&report)["strangers"];
    assert_eq!(check["verdict"], "error", "{check:#}");
    assert!(
        text(check, "message").contains("never touches"),
        "{check:#}"
    );
}

/// The JUnit report parses as XML with one suite per declaration; the TAP
/// report follows TAP 13 (plan, numbered lines, YAML blocks).
#[test]
fn junit_and_tap_reports_parse() {
    let port = free_port();
    let stack = Stack::new("cw-e2e-assert-reports");
    stack.write(
        "main.star",
        &format!(
            r#"
FileResource(
    name = "a.txt",
    content = "a & <b>\n",
    assertions = [
        FileExistsAssert(path = "a.txt"),
        FileContentMatchesAssert(path = "a.txt", pattern = "<c>", timeout_seconds = 1),
    ],
)
PortAccessibleAssert(name = "closed", port = {port}, timeout_seconds = 1)
"#
        ),
    );
    stack.ok(&["apply", "-y"]);
    let junit = stack.dir.join("out/report.xml");
    std::fs::create_dir_all(junit.parent().expect("parent")).expect("mkdir");
    let tap_file = stack.dir.join("out/report.tap");
    let run = stack.run(&[
        "assert",
        "--output",
        &format!("junit={}", junit.display()),
        "--output",
        &format!("tap={}", tap_file.display()),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("✓ a.txt: FileExistsAssert"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("3 assertions: 1 passed, 2 failed"),
        "{}",
        run.stdout
    );

    // Python's XML parser, as CI tools read it.
    let parsed = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = {s.get("name"): s for s in root.findall("testsuite")}
assert set(suites) == {"a.txt", "closed"}, suites
a = suites["a.txt"]
assert a.get("tests") == "2" and a.get("failures") == "1", a.attrib
cases = a.findall("testcase")
assert len(cases) == 2
failure = cases[1].find("failure")
assert failure is not None and "<c>" in failure.text, failure
assert float(cases[0].get("time")) >= 0
print("ok")
"#,
        )
        .arg(&junit)
        .output()
        .expect("python3 runs");
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );

    let tap = std::fs::read_to_string(&tap_file).expect("tap written");
    check_tap13(&tap, 3, 2);
}

/// A strict reading of TAP 13: the version line, a plan that matches the
/// test lines, numbers in order, and YAML blocks (`---` … `...`) of
/// `key: value` lines only after failing tests.
fn check_tap13(tap: &str, tests: usize, failing: usize) {
    let mut lines = tap.lines();
    assert_eq!(lines.next(), Some("TAP version 13"), "{tap}");
    assert_eq!(lines.next(), Some(format!("1..{tests}").as_str()), "{tap}");
    let (mut seen, mut not_ok, mut in_yaml, mut after_failure) = (0, 0, false, false);
    for line in lines {
        if in_yaml {
            if line == "  ..." {
                in_yaml = false;
                continue;
            }
            let body = line
                .strip_prefix("  ")
                .unwrap_or_else(|| panic!("bad YAML line `{line}`"));
            let (key, value) = body
                .split_once(": ")
                .unwrap_or_else(|| panic!("not key: value `{line}`"));
            assert!(
                key.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{line}"
            );
            if value.starts_with('"') {
                let _: String =
                    serde_json::from_str(value).unwrap_or_else(|e| panic!("{e}: {line}"));
            }
            continue;
        }
        if line == "  ---" {
            assert!(after_failure, "a YAML block after a passing test: {tap}");
            in_yaml = true;
            continue;
        }
        let (ok, rest) = if let Some(rest) = line.strip_prefix("not ok ") {
            (false, rest)
        } else if let Some(rest) = line.strip_prefix("ok ") {
            (true, rest)
        } else {
            panic!("not a TAP line: `{line}`");
        };
        let number: usize = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no test number: `{line}`"));
        seen += 1;
        assert_eq!(number, seen, "{tap}");
        if !ok {
            not_ok += 1;
        }
        after_failure = !ok;
    }
    assert!(!in_yaml, "an unclosed YAML block: {tap}");
    assert_eq!((seen, not_ok), (tests, failing), "{tap}");
}

/// The connectivity check runs from the source container's network: it
/// passes while the two share a network and fails once the source is
/// taken off it by hand.
#[test]
fn service_connectivity_is_checked_from_the_source_containers_network() {
    let stack = Stack::new("cw-e2e-assert-reach");
    stack.write(
        "main.star",
        &format!(
            r#"
cache = DockerResource(name = "reach-cache", image = "redis:7-alpine")
DockerResource(
    name = "reach-app",
    image = "busybox:latest",
    command = {QUICK_STOP},
    assertions = [ServiceConnectivityAssert(description = "app-to-cache", to_service = cache, protocol = "redis", port = 6379, timeout_seconds = 20)],
)
"#
        ),
    );
    stack.ok(&["apply", "-y"]);
    let run = stack.run(&["assert", "--format", "json"]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.stdout));
    let check = &by_name(&report)["app-to-cache"];
    assert_eq!(check["verdict"], "pass", "{check:#}");
    assert!(
        check["details"]["answer"]
            .as_str()
            .unwrap_or_default()
            .contains("PONG"),
        "{check:#}"
    );
    assert_eq!(run.code, 0);

    let network = stack.inspect("reach-app")["NetworkSettings"]["Networks"]
        .as_object()
        .and_then(|n| n.keys().next().cloned())
        .expect("a network");
    docker_ok(&["network", "disconnect", &network, "reach-app"]);
    stack.write(
        "main.star",
        &std::fs::read_to_string(stack.dir.join("main.star"))
            .expect("read")
            .replace("timeout_seconds = 20", "timeout_seconds = 1"),
    );
    let run = stack.run(&["assert", "--format", "json"]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.stdout));
    let check = &by_name(&report)["app-to-cache"];
    assert_eq!(check["verdict"], "fail", "{check:#}");
    assert!(
        text(check, "expected").contains("`reach-app` reaching `reach-cache:6379`"),
        "{check:#}"
    );
    assert_eq!(run.code, 1);
}

/// The shipped example passes after an apply.
#[test]
fn the_assertions_example_passes_after_apply() {
    let _ports = crate::apply::fixed_ports();
    let stack = Stack::example("assertions", "cw-e2e-assert-example");
    stack.ok(&["apply", "-y"]);
    let run = stack.ok(&["assert"]);
    assert!(
        run.stdout.contains("7 assertions: 7 passed"),
        "{}",
        run.stdout
    );
}

/// `--implied` checks what the declarations say without any assertion
/// written, and catches what was changed by hand: a container stopped, a
/// written file edited. `[assert] implied = true` makes it the default.
#[test]
fn implied_checks_catch_a_container_stopped_and_a_file_edited_by_hand() {
    let port = free_port();
    let stack = Stack::new("cw-e2e-assert-implied");
    stack.write(
        "main.star",
        &format!(
            r#"
DockerResource(name = "implied-web", image = "nginx:alpine", ports = ["{port}:80"])
FileResource(name = "settings.conf", content = "mode = strict\n", mode = "0640")
"#
        ),
    );
    stack.ok(&["apply", "-y"]);
    // Nothing is declared to check, so a plain run checks nothing.
    let plain = stack.ok(&["assert"]);
    assert!(
        plain.stderr.contains("no assertions to check"),
        "{}",
        plain.stderr
    );

    let run = stack.ok(&["assert", "--implied", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let kinds: Vec<(String, String)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (text(c, "type"), text(c, "target")))
        .collect();
    for expected in [
        ("ContainerRunningAssert", "implied-web"),
        ("PortAccessibleAssert", "implied-web"),
        ("FileContentMatchesAssert", "settings.conf"),
        ("FilePermissionsAssert", "settings.conf"),
    ] {
        assert!(
            kinds.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not in {kinds:?}"
        );
    }
    assert!(
        report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|c| c["origin"]["implied"].is_string()),
        "{report:#}"
    );

    docker_ok(&["stop", "-t", "1", "implied-web"]);
    std::fs::write(stack.dir.join("settings.conf"), "mode = lax\n").expect("edit");
    stack.write("clockwork.toml", "[assert]\nimplied = true\n");
    let run = stack.run(&["assert", "--format", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let verdict = |type_name: &str| {
        report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == type_name)
            .map(|c| (text(c, "verdict"), text(c, "actual")))
            .unwrap_or_else(|| panic!("no {type_name} in {report:#}"))
    };
    let (running, seen) = verdict("ContainerRunningAssert");
    assert_eq!(running, "fail");
    assert!(seen.contains("exited"), "{seen}");
    assert_eq!(verdict("PortAccessibleAssert").0, "fail");
    let (content, seen) = verdict("FileContentMatchesAssert");
    assert_eq!(content, "fail");
    assert!(seen.contains("mode = lax"), "{seen}");
    assert_eq!(verdict("FilePermissionsAssert").0, "pass");
}

/// The health check a `ServiceMeshConnection` adds is run with the
/// declared ones, by the service's name on the project network, and marked
/// as the connection's.
#[test]
fn a_service_mesh_health_check_runs_by_the_services_name() {
    let stack = Stack::new("cw-e2e-assert-mesh");
    stack.write(
        "main.star",
        &format!(
            r#"
api = DockerResource(name = "mesh-api", image = "nginx:alpine")
front = DockerResource(name = "mesh-front", image = "busybox:latest", command = {QUICK_STOP})
front.connect(ServiceMeshConnection(to_resource = api, protocol = "http", port = 80, health_check_path = "/"))
"#
        ),
    );
    stack.ok(&["apply", "-y"]);
    let run = stack.ok(&["assert", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let checks = report["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 1, "{report:#}");
    let check = &checks[0];
    assert_eq!(check["type"], "HealthcheckAssert", "{check:#}");
    assert_eq!(check["target"], "mesh-api", "{check:#}");
    assert!(check["origin"]["connection"].is_string(), "{check:#}");
    assert_eq!(check["verdict"], "pass", "{check:#}");
    assert!(text(check, "message").contains("mesh-api"), "{check:#}");
}

/// The connected-services example declares no assertion; what it implies
/// holds after an apply: containers up, ports answering, the API reaching
/// the database and the cache, the database URL logging in.
#[test]
fn the_connected_services_example_passes_its_implied_checks_after_apply() {
    let _ports = crate::apply::fixed_ports();
    let stack = Stack::example("connected-services", "cw-e2e-assert-connected");
    stack.ok(&["apply", "-y"]);
    let run = stack.run(&["assert", "--implied", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
    assert_eq!(run.code, 0, "{report:#}");
    let types: Vec<String> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| text(c, "type"))
        .collect();
    for expected in [
        "ContainerRunningAssert",
        "PortAccessibleAssert",
        "ServiceConnectivityAssert",
        "DatabaseConnectionAssert",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} not in {types:?}"
        );
    }
    assert!(!run.stdout.contains("secret123"), "{}", run.stdout);
}

/// UDP has no handshake: a port whose service answers passes, one that
/// stays silent fails at its timeout saying so.
#[test]
fn a_udp_port_passes_when_its_service_answers() {
    let echo = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let answering = echo.local_addr().expect("addr").port();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let quiet = silent.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let mut buffer = [0u8; 512];
        echo.set_read_timeout(Some(Duration::from_secs(30))).ok();
        if let Ok((n, from)) = echo.recv_from(&mut buffer) {
            let _ = echo.send_to(&buffer[..n.max(1)], from);
        }
    });
    let stack = Stack::new("cw-e2e-assert-udp");
    stack.write(
        "main.star",
        &format!(
            r#"
PortAccessibleAssert(description = "answers", port = {answering}, protocol = "udp", timeout_seconds = 10)
PortAccessibleAssert(description = "silent", port = {quiet}, protocol = "udp", timeout_seconds = 1)
"#
        ),
    );
    let run = stack.run(&["assert", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
    let checks = by_name(&report);
    passed(&checks, "answers");
    failed(&checks, "silent", "", "no reply");
    server.join().expect("echo server");
    drop(silent);
}

/// `--retry-timeout` bounds the whole run: a check with a long timeout of
/// its own ends with the run's deadline.
#[test]
fn retry_timeout_bounds_the_whole_run() {
    let never = free_port();
    let stack = Stack::new("cw-e2e-assert-deadline");
    stack.write(
        "main.star",
        &format!("PortAccessibleAssert(port = {never}, timeout_seconds = 60)\n"),
    );
    let started = std::time::Instant::now();
    let run = stack.run(&["assert", "--retry-timeout", "2s", "--sleep", "200ms"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("PortAccessibleAssert"),
        "{}",
        run.stdout
    );
    assert!(
        took < Duration::from_secs(20),
        "the run took {took:?}, past its 2 s deadline and the check's own 60 s were not cut"
    );
}

/// Docker's proxy accepts on a published port even when the container does
/// not listen behind it, and closes at once: the implied port check sees
/// that close and fails, instead of passing on the proxy's accept.
#[test]
fn an_implied_port_check_fails_when_nothing_listens_behind_the_published_port() {
    let port = free_port();
    let stack = Stack::new("cw-e2e-assert-quiet-port");
    stack.write(
        "main.star",
        &format!(
            r#"
DockerResource(name = "quiet-port", image = "busybox:latest", ports = ["{port}:8080"],
               command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"])
"#
        ),
    );
    stack.ok(&["apply", "-y"]);
    let run = stack.run(&["assert", "--implied", "--format", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let port_check = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PortAccessibleAssert")
        .cloned()
        .unwrap_or_else(|| panic!("no port check in {report:#}"));
    assert_eq!(port_check["verdict"], "fail", "{port_check:#}");
    assert!(
        port_check.to_string().contains("nothing listens behind it"),
        "{port_check:#}"
    );
    stack.ok(&["destroy", "-y"]);
}
