//! A check in words, completed by a model into a Starlark function once,
//! then run by `clockwork assert` in the sandbox against real containers
//! — with no model configured for `assert`, which replays clockwork.lock.

#[path = "../../host/tests/model_server.rs"]
mod model_server;

use serde_json::{Value, json};

use crate::assert::by_name;
use crate::stack::Stack;
use model_server::{ModelServer, Reply, asked, valid_answer};

const CODE: &str = "def check(source, target):\n    up = source.state.running and target.state.running\n    return (up, \"both run\" if up else \"one of them is down\")\n";

#[test]
fn a_check_written_by_the_model_runs_in_the_sandbox_against_real_containers() {
    let server = ModelServer::start(|r, _| {
        if asked(r) == ["check"] {
            Reply::Content(json!({"check": CODE}).to_string())
        } else {
            Reply::Content(valid_answer(r))
        }
    });
    let stack = Stack::new("cw-e2e-words");
    stack.write(
        "main.star",
        r#"
api = DockerResource(name = "words-api", image = "nginx:alpine")
db = DockerResource(name = "words-db", image = "redis:7-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API and its database both run")
"#,
    );
    let applied = stack
        .command(&["apply", "--yes"])
        .env("CW_BASE_URL", &server.base_url)
        .env("CW_MODEL", "scripted")
        .output()
        .expect("apply runs");
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let lock = std::fs::read_to_string(stack.dir.join("clockwork.lock")).expect("lock");
    assert!(lock.contains("def check(source, target):"), "{lock}");
    let asked_before = server.requests().len();

    let run = stack.run(&["assert", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let checks = by_name(&report);
    let c = checks
        .values()
        .find(|c| c["type"] == "CrossResourceAssert")
        .unwrap_or_else(|| panic!("{checks:#?}"));
    assert_eq!(c["verdict"], "pass", "{c:#}");
    assert_eq!(c["message"], "both run");

    // The function really looks at the containers: stop one, it fails.
    let stopped = std::process::Command::new("docker")
        .args(["stop", "-t", "1"])
        .arg(stack.id_of("words-db"))
        .output()
        .expect("docker stop");
    assert!(stopped.status.success());
    let run = stack.run(&["assert", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let failing: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["type"] == "CrossResourceAssert")
        .collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["verdict"], "fail", "{:#}", failing[0]);
    assert_eq!(failing[0]["message"], "one of them is down");
    assert_eq!(
        server.requests().len(),
        asked_before,
        "assert asked no model"
    );
    stack.ok(&["destroy", "--yes"]);
}

/// Seed 000 as written: the API connects to PostgreSQL and Redis with a
/// plain `connections=[…]`, no model configured. The rules give it the
/// seed's `DATABASE_URL` and `REDIS_URL`, built from the database
/// container's own variables, and both addresses reach the real services.
#[test]
fn seed_000_as_written_gets_both_urls_from_the_rules_and_they_reach_the_services() {
    let stack = Stack::new("cw-e2e-seed000");
    stack.write(
        "main.star",
        r#"
postgres = DockerResource(
    description = "PostgreSQL database",
    name = "seed-postgres-db",
    image = "postgres:15-alpine",
    env_vars = {"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "secret123"},
)
redis = DockerResource(description = "Redis cache", name = "seed-redis-cache", image = "redis:7-alpine")
api = DockerResource(
    description = "FastAPI backend server that needs database and cache",
    name = "seed-api-server",
    image = "postgres:15-alpine",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
    connections = [postgres, redis],
)
"#,
    );
    let applied = stack.ok(&["apply", "--yes"]);
    assert!(
        !applied.all().contains("secret123"),
        "the password leaked:\n{}",
        applied.all()
    );
    let env = stack.env_of("seed-api-server");
    let url = "postgresql://admin:secret123@seed-postgres-db:5432/appdb";
    assert!(env.contains(&format!("DATABASE_URL={url}")), "{env:?}");
    assert!(
        env.contains(&"REDIS_URL=redis://seed-redis-cache:6379".to_string()),
        "{env:?}"
    );
    // The URL is a real login: the API container's psql uses it as is.
    let asked = stack.run(&[
        "exec",
        "seed-api-server",
        "--",
        "sh",
        "-c",
        "psql \"$DATABASE_URL\" -Atc 'select 40 + 2'",
    ]);
    assert!(
        asked.stdout.contains("42"),
        "{}{}",
        asked.stdout,
        asked.stderr
    );
    let lock = std::fs::read_to_string(stack.dir.join("clockwork.lock")).expect("lock");
    assert!(!lock.contains("secret123"), "{lock}");
    stack.ok(&["destroy", "--yes"]);
}

/// "Can connect to" in words, no model: a ServiceConnectivityAssert in the
/// target's protocol that passes against the real database and fails once
/// it is stopped.
#[test]
fn a_connectivity_check_in_words_is_checked_against_real_containers() {
    let stack = Stack::new("cw-e2e-reach-words");
    stack.write(
        "main.star",
        r#"
db = DockerResource(name = "reach-words-db", image = "postgres:15-alpine", env_vars = {"POSTGRES_PASSWORD": "pw"})
api = DockerResource(
    name = "reach-words-api",
    image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
    connections = [db],
)
CrossResourceAssert(source = api, target = db, assertion = "the API can connect to the database")
"#,
    );
    let planned = stack.ok(&["plan"]);
    assert!(
        planned
            .all()
            .contains("read as a postgresql connectivity check"),
        "{}",
        planned.all()
    );
    stack.ok(&["apply", "--yes"]);
    let run = stack.run(&["assert", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let reach = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["type"] == "ServiceConnectivityAssert")
        .cloned()
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(reach["verdict"], "pass", "{reach:#}");
    let stopped = std::process::Command::new("docker")
        .args(["stop", "-t", "1"])
        .arg(stack.id_of("reach-words-db"))
        .output()
        .expect("docker stop");
    assert!(stopped.status.success());
    let run = stack.run(&["assert", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    stack.ok(&["destroy", "--yes"]);
}
