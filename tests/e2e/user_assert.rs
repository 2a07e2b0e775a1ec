//! User assertions written in Starlark (`PythonAssert`,
//! `CrossResourceAssert`), run by `clockwork assert` inside the
//! starlark-assertions component against real containers: the seed's JSON
//! health check passing and failing, the lambda and `fail()` forms, a
//! cross-resource check, secrets asked for by name, and a hostile set,
//! each stopped within its deadline with a message naming the function,
//! file, line and limit, without disturbing the next check.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::assert::{by_name, check, free_port};
use crate::stack::Stack;

fn report(run: &crate::stack::Run) -> BTreeMap<String, Value> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", run.stdout, run.stderr));
    by_name(&report)
}

#[track_caller]
fn verdict_and_message(checks: &BTreeMap<String, Value>, name: &str, verdict: &str, message: &str) {
    let c = check(checks, name);
    assert_eq!(c["verdict"], verdict, "{name}: {c:#}");
    let said = c["message"].as_str().unwrap_or_default();
    assert!(
        said.contains(message),
        "{name}: message `{said}` lacks `{message}`"
    );
}

fn elapsed(check: &Value) -> Duration {
    Duration::from_secs_f64(check["duration_ms"].as_f64().unwrap_or(f64::MAX) / 1000.0)
}

#[test]
fn user_checks_pass_and_fail_against_real_containers() {
    let web_port = free_port();
    let stack = Stack::new("cw-e2e-user-assert");
    stack.write(
        "site/api/health",
        r#"{"status": "ok", "version": "1.2", "uptime": 42}"#,
    );
    stack.write("site/api/partial", r#"{"status": "ok"}"#);
    stack.write(
        "checks.star",
        r#"
REQUIRED = ["status", "version", "uptime"]

def missing_fields(data, fields):
    return [f for f in fields if f not in data]
"#,
    );
    stack.write(
        "main.star",
        &format!(
            r#"
load("checks.star", "missing_fields", "REQUIRED")

PORT = {web_port}

def api_health_is_json(resource):
    r = http.get("http://localhost:%d/api/health" % PORT, timeout = 2)
    if r.status != 200:
        return (False, "expected status 200, got %d" % r.status)
    data = r.json()
    missing = missing_fields(data, REQUIRED)
    if missing:
        return (False, "missing fields: %s" % missing)
    return (True, "API health check passed: " + data["status"])

def partial_is_complete(resource):
    data = http.get("http://localhost:%d/api/partial" % PORT).json()
    missing = missing_fields(data, REQUIRED)
    if missing:
        return (False, "missing fields: %s" % missing)
    return (True, "complete")

def refuses_running(resource):
    if resource.state.running:
        fail("%s is running, which this check refuses" % resource.name)

# Helpers of the project itself, next to the checks: they compile in the
# sandbox, and say what they are when a check calls them.
def make_web(name):
    return DockerResource(name = name, image = "nginx:alpine")

def token():
    return env("UA_TOKEN", "none")

cache = DockerResource(
    name = "ua-cache",
    image = "redis:7-alpine",
    env_vars = {{"REDIS_PASSWORD": "redis-secret-4711"}},
)
web = DockerResource(
    name = "ua-web",
    image = "nginx:alpine",
    ports = ["{web_port}:80"],
    volumes = ["./site:/var/www/html:ro"],
    assertions = [
        PythonAssert(api_health_is_json, description = "seed-pass", timeout_seconds = 30),
        PythonAssert(partial_is_complete, description = "seed-fail", timeout_seconds = 1),
        PythonAssert(refuses_running, description = "fail-call", timeout_seconds = 1),
    ],
)
web.assertions.append(PythonAssert(lambda r: (r.state.running, "container %s is running" % r.container), description = "lambda"))
web.assertions.append(PythonAssert(lambda r: token() == "none", description = "env-in-check"))
web.assertions.append(PythonAssert(lambda r: (PORT > 0, "port %d" % PORT), description = "lambda-constant"))
PythonAssert(
    lambda r: (r.secret("REDIS_PASSWORD") == "redis-secret-4711" and r.env_vars["REDIS_PASSWORD"] == "***", "secret read by name, masked in fields"),
    resource = cache,
    description = "secret",
)
CrossResourceAssert(
    source = web,
    target = cache,
    check = lambda s, t: (exec(s, ["nc", "-z", t.container, "6379"]).ok, "%s reaches %s:6379" % (s.name, t.name)),
    description = "cross",
    timeout_seconds = 30,
)
"#
        ),
    );
    stack.ok(&["apply", "-y"]);
    let run = stack.run(&["assert", "--format", "json"]);
    let checks = report(&run);
    verdict_and_message(&checks, "seed-pass", "pass", "API health check passed: ok");
    verdict_and_message(
        &checks,
        "seed-fail",
        "fail",
        r#"missing fields: ["version", "uptime"]"#,
    );
    verdict_and_message(
        &checks,
        "fail-call",
        "fail",
        "ua-web is running, which this check refuses",
    );
    assert_eq!(
        check(&checks, "fail-call")["details"]["failed_at"],
        "main.star:25:9",
        "fail() is located"
    );
    verdict_and_message(&checks, "lambda", "pass", "container ua-web is running");
    verdict_and_message(&checks, "secret", "pass", "secret read by name");
    verdict_and_message(&checks, "cross", "pass", "ua-web reaches ua-cache:6379");
    verdict_and_message(
        &checks,
        "env-in-check",
        "error",
        "`env` (a top-level value of main.star) is not available to checks",
    );
    verdict_and_message(
        &checks,
        "lambda-constant",
        "pass",
        &format!("port {web_port}"),
    );
    assert_eq!(checks.len(), 8);
    assert_eq!(run.code, 1, "a failing check fails the run");
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.contains("redis-secret-4711"),
            "a secret leaked:\n{output}"
        );
    }

    // Reading a secret leaves a line in the log (shown with -v), masked.
    let run = stack.run(&["-v", "assert", "ua-cache"]);
    assert!(
        run.stderr
            .contains("read the secret `REDIS_PASSWORD` of `ua-cache`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("redis-secret-4711"), "{}", run.stderr);

    // A standalone assertion belongs to the resource it names.
    let run = stack.run(&["assert", "ua-cache", "--format", "json"]);
    let checks = report(&run);
    assert_eq!(checks.keys().collect::<Vec<_>>(), ["secret"]);
    assert_eq!(run.code, 0);
}

/// Every way a hostile check can misbehave ends that check alone, within
/// its deadline, saying which limit or grant and where; the checks run one
/// after another, and the last one, harmless, still passes.
#[test]
fn hostile_checks_are_contained_and_the_next_check_is_unaffected() {
    let stack = Stack::new("cw-e2e-user-hostile");
    stack.write(
        "main.star",
        r#"
def loops(r):
    for i in range(1 << 30):
        for j in range(1 << 30):
            x = j

def spins(r):
    for i in range(1 << 30):
        for j in range(1 << 30):
            pass

def deep(r, n = 0):
    return deep(r, n + 1)

def huge(r):
    n = 30
    return len("x" * (1 << n)) > 0

def grows(r):
    items = []
    for i in range(1 << 30):
        items.append("x" * 4096 + str(i))

def reads_passwd(r):
    return (True, file.read("/etc/passwd"))

def calls_out(r):
    return http.get("http://192.0.2.1/").ok

def execs_elsewhere(r):
    return exec("hostile-other", ["true"]).ok

def peeks(r):
    return docker.inspect("hostile-stranger-box") != None

other = DockerResource(name = "hostile-other", image = "redis:7-alpine")
DockerResource(
    name = "hostile-web",
    image = "nginx:alpine",
    assertions = [
        PythonAssert(loops, description = "loop", timeout_seconds = 2),
        PythonAssert(spins, description = "spin", timeout_seconds = 2),
        PythonAssert(deep, description = "recursion", timeout_seconds = 2),
        PythonAssert(huge, description = "huge", timeout_seconds = 2),
        PythonAssert(grows, description = "grows", timeout_seconds = 10),
        PythonAssert(reads_passwd, description = "passwd", timeout_seconds = 2),
        PythonAssert(calls_out, description = "outside", timeout_seconds = 2),
        PythonAssert(execs_elsewhere, description = "exec", timeout_seconds = 2),
        PythonAssert(peeks, description = "stranger", timeout_seconds = 2),
        PythonAssert(lambda r: {"passed": True}, description = "dict", timeout_seconds = 2),
        PythonAssert(lambda r: (True, "still fine"), description = "after", timeout_seconds = 2),
    ],
)
"#,
    );
    // A container of another project, which no check of this one may see.
    let stranger = Stack::new("cw-e2e-user-stranger");
    stranger.write(
        "main.star",
        r#"DockerResource(name = "hostile-stranger-box", image = "redis:7-alpine")"#,
    );
    stranger.ok(&["apply", "-y"]);
    stack.ok(&["apply", "-y"]);
    let started = std::time::Instant::now();
    let run = stack.run(&["assert", "--parallelism", "1", "--format", "json"]);
    let took = started.elapsed();
    let checks = report(&run);
    let error = |name: &str, parts: &[&str]| {
        let c = check(&checks, name);
        assert_eq!(c["verdict"], "error", "{name}: {c:#}");
        let said = c["message"].as_str().unwrap_or_default();
        for part in parts {
            assert!(said.contains(part), "{name}: `{said}` lacks `{part}`");
        }
        // Within its deadline (2 s), the host's grace (0.5 s), and a busy
        // machine's slack.
        assert!(
            elapsed(c) < Duration::from_secs(6),
            "{name} took {:?}",
            elapsed(c)
        );
        assert_eq!(c["attempts"], 1, "{name}: an error is not retried");
    };
    error(
        "loop",
        &[
            "`loops` (main.star:2)",
            "deadline of 2.0 s",
            "at main.star:5:",
        ],
    );
    error("spin", &["`spins` (main.star:7)", "deadline", "stopped"]);
    error(
        "recursion",
        &[
            "`deep` (main.star:12)",
            "recursed too deeply",
            "main.star:13",
        ],
    );
    error(
        "huge",
        &[
            "`huge` (main.star:15)",
            "memory limit",
            "main.star:17",
            "1024 MiB",
        ],
    );
    let grows = check(&checks, "grows");
    assert_eq!(grows["verdict"], "error", "{grows:#}");
    let said = grows["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("`grows` (main.star:19)") && said.contains("memory limit of 256 MiB"),
        "{said}"
    );
    error(
        "passwd",
        &[
            "`reads_passwd` (main.star:24)",
            "outside this check's grant",
            "project folder",
        ],
    );
    error(
        "outside",
        &[
            "`calls_out` (main.star:27)",
            "outside this check's grant",
            "192.0.2.1",
        ],
    );
    error(
        "exec",
        &[
            "`execs_elsewhere` (main.star:30)",
            "hostile-other",
            "allow = [\"hostile-other\"]",
        ],
    );
    error(
        "stranger",
        &["`peeks` (main.star:33)", "hostile-stranger-box"],
    );
    error("dict", &["returned a dict", "(passed, message)"]);
    let after = check(&checks, "after");
    assert_eq!(after["verdict"], "pass", "{after:#}");
    assert_eq!(after["message"], "still fine");
    assert_eq!(run.code, 1);
    assert!(
        !run.stdout.contains("root:x:0:0"),
        "/etc/passwd was read:\n{}",
        run.stdout
    );
    // One after another, each bounded: the whole run stays well inside
    // the sum of the deadlines and the host's grace.
    assert!(took < Duration::from_secs(45), "the run took {took:?}");

    // All at once, sharing the interpreter's kept instances: the same.
    let run = stack.run(&["assert", "--format", "json"]);
    let all_at_once = report(&run);
    for (name, c) in &all_at_once {
        let expected = if name == "after" { "pass" } else { "error" };
        assert_eq!(c["verdict"], expected, "{name}: {c:#}");
        assert_eq!(
            c["message"], checks[name]["message"],
            "{name} says the same when run beside the others"
        );
    }
}

/// A check that cannot be handed to the sandbox is refused when the project
/// is read, located, before anything runs.
#[test]
fn a_nested_check_function_is_refused_at_plan() {
    let stack = Stack::new("cw-e2e-user-nested");
    stack.write(
        "main.star",
        r#"
def make(code):
    def status_is(r):
        return http.get("http://localhost/").status == code
    return status_is

DockerResource(name = "nested-web", image = "nginx:alpine", assertions = [PythonAssert(make(200))])
"#,
    );
    let run = stack.run(&["plan", "--offline"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("main.star:7")
            && run
                .stderr
                .contains("must be defined at the top level of a file"),
        "{}",
        run.stderr
    );

    // A lambda reading a loop's variable is refused: the sandbox has only
    // the top level of the file.
    stack.write(
        "main.star",
        r#"
NAMES = ["a", "b"]
DockerResource(name = "loop-web", image = "nginx:alpine", assertions = [PythonAssert(lambda r: r.name == n) for n in NAMES])
"#,
    );
    let run = stack.run(&["plan", "--offline"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("main.star:3") && run.stderr.contains("this lambda uses `n`"),
        "{}",
        run.stderr
    );

    // An assertion in one resource's list that names another.
    stack.write(
        "main.star",
        r#"
a = DockerResource(name = "owner-a", image = "nginx:alpine")
b = DockerResource(name = "owner-b", image = "nginx:alpine", assertions = [PythonAssert(lambda r: True, resource = a)])
"#,
    );
    let run = stack.run(&["plan", "--offline"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("its `resource` names another"),
        "{}",
        run.stderr
    );

    // A check in words needs a model to become a function; without one it
    // is a located error that says how to configure one.
    stack.write(
        "main.star",
        r#"
api = DockerResource(name = "words-api", image = "nginx:alpine")
db = DockerResource(name = "words-db", image = "redis:7-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API and the database agree on the time")
"#,
    );
    let run = stack.run(&["plan", "--offline"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("main.star:4")
            && run.stderr.contains("`check` is missing")
            && run.stderr.contains("CW_BASE_URL"),
        "{}",
        run.stderr
    );
}

/// Every builtin answers against real containers, within the grant: one
/// check calls each and reports the ones that did not behave.
#[test]
fn every_builtin_answers_within_the_grant() {
    let port = free_port();
    let closed = free_port();
    let stack = Stack::new("cw-e2e-user-builtins");
    stack.write(
        "site/api/health",
        r#"{"status": "ok", "version": "1.2", "uptime": 42}"#,
    );
    stack.write("data.txt", "hello 42\n");
    stack.write(
        "main.star",
        &format!(
            r##"
PORT = {port}
CLOSED = {closed}

def everything(r):
    bad = []
    def expect(ok, what):
        if not ok:
            bad.append(what)
    got = http.get("http://localhost:%d/api/health" % PORT)
    expect(got.ok and got.status_code == 200 and got.json()["version"] == "1.2" and got.elapsed_ms >= 0, "http.get")
    posted = http.post("http://localhost:%d/api/health" % PORT, json = {{"a": 1}})
    expect(posted.status >= 400, "http.post answered %d" % posted.status)
    refused = http.get("http://localhost:%d/" % CLOSED, timeout = 1)
    expect(refused.status == 0 and refused.error != None and not refused.ok, "http.get of a closed port")
    expect(tcp.connect("localhost", PORT).ok, "tcp.connect")
    expect(not tcp.connect("localhost", CLOSED, timeout = 1).ok, "tcp.connect of a closed port")
    expect(not udp.exchange("localhost", CLOSED, payload = "ping", timeout = 1).ok, "udp.exchange of a closed port")
    expect(len(dns.resolve("builtins-cache")) > 0, "dns.resolve of a container")
    expect(dns.resolve("no-such-host.invalid") == [], "dns.resolve of nothing")
    out = exec(r, ["cat", "/var/www/html/api/health"])
    expect(out.ok and "uptime" in out.stdout, "exec")
    expect(exec(r, ["sh", "-c", "exit 3"]).exit_code == 3, "exec exit code")
    expect(docker.inspect(r)["State"]["Running"], "docker.inspect")
    expect(docker.inspect("no-such-container-4711") == None, "docker.inspect of nothing")
    expect("builtins-cache" in docker.containers(), "docker.containers")
    expect("Ready to accept connections" in docker.logs("builtins-cache", tail = 100), "docker.logs")
    expect(file.exists("data.txt") and not file.exists("nope.txt"), "file.exists")
    text = file.read("data.txt")
    expect(text.strip() == "hello 42", "file.read")
    expect(file.stat("data.txt").size == 9 and file.stat("nope.txt") == None, "file.stat")
    m = re.search(r"hello (\d+)", text)
    expect(m != None and m.group(1) == "42", "re.search")
    expect(re.findall(r"\d", "a1b2") == ["1", "2"] and re.sub(r"\d", "#", "a1") == "a#", "re.findall, re.sub")
    expect(json.decode(json.encode({{"k": [1]}}))["k"] == [1], "json")
    started = time.monotonic()
    sleep(0.05)
    expect(time.monotonic() - started >= 0.04 and time.now() > 1700000000, "sleep, time")
    expect(r.state.running and r.state.ip != None and [p for p in r.state.ports if p.host_port == PORT], "resource.state")
    if bad:
        return (False, "did not behave: %s" % ", ".join(bad))
    return (True, "every builtin answered")

cache = DockerResource(name = "builtins-cache", image = "redis:7-alpine")
DockerResource(
    name = "builtins-web",
    image = "nginx:alpine",
    ports = ["{port}:80"],
    volumes = ["./site:/var/www/html:ro"],
    connections = [cache],
    assertions = [PythonAssert(everything, description = "everything", timeout_seconds = 30)],
)
"##
        ),
    );
    stack.ok(&["apply", "-y"]);
    let run = stack.run(&["assert", "--format", "json"]);
    let checks = report(&run);
    verdict_and_message(&checks, "everything", "pass", "every builtin answered");
    assert_eq!(run.code, 0);
}

/// The seed's decorator form in a `main.py` is read as the call it stands
/// for; another decorator is refused, showing the call form.
#[test]
fn the_seed_decorator_form_in_main_py_is_read_as_the_call() {
    let stack = Stack::new("cw-e2e-user-decorator");
    stack.write(
        "main.py",
        r#"from clockwork.resources import DockerResource
from clockwork.assertions import PythonAssert

nginx = DockerResource(name = "deco-web", image = "nginx:alpine")

@PythonAssert(resource = nginx, description = "decorated")
def validate_api_response(resource):
    """Checks that the container runs."""
    if not resource.state.running:
        return (False, "not running")
    return (True, "%s runs" % resource.name)
"#,
    );
    stack.ok(&["apply", "-y"]);
    let run = stack.run(&["assert", "deco-web", "--format", "json"]);
    let checks = report(&run);
    verdict_and_message(&checks, "decorated", "pass", "deco-web runs");
    assert_eq!(run.code, 0);

    stack.write("main.py", "@PythonAssert\ndef check(r):\n    return True\n");
    let run = stack.run(&["plan", "--offline"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("needs parentheses"), "{}", run.stderr);

    stack.write(
        "main.py",
        "def deco(f):\n    return f\n\n@deco\ndef check(r):\n    return True\n",
    );
    let run = stack.run(&["plan", "--offline"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("main.py:4:1") && run.stderr.contains("`check = deco(check)`"),
        "{}",
        run.stderr
    );
}
