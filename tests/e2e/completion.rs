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
