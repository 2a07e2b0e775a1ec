//! `clockwork status` on the real Engine: each resource in deploy order
//! with its type, containers, state, uptime, ports (an HTTP one clickable)
//! and when it was applied; a stopped, a crashed, a hand-removed and a
//! changed-by-hand resource each say so.

use serde_json::Value;

use crate::docker::docker_said;
use crate::stack::Stack;

const SLEEPER: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

/// `status --json`'s entry for the resource `name`.
fn status_of(stack: &Stack, name: &str) -> Value {
    let v: Value = serde_json::from_str(&stack.ok(&["status", "--json"]).stdout).expect("JSON");
    v["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == name).cloned())
        .unwrap_or_default()
}

#[test]
fn status_shows_every_resource_as_it_stands() {
    let _ports = crate::apply::fixed_ports();
    let stack = Stack::new("cw-e2e-status");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "st-web", image = "nginx:alpine", ports = ["18093:80"])
worker = DockerResource(name = "st-worker", image = "busybox:latest", command = {SLEEPER})
batch = DockerResource(name = "st-batch", image = "busybox:latest", command = {SLEEPER})
gone = DockerResource(name = "st-gone", image = "busybox:latest", command = {SLEEPER})
notes = FileResource(name = "notes.txt", content = "hi\n")
later = DockerResource(name = "st-later", image = "busybox:latest", command = {SLEEPER})
web.connect(worker)
"#
        ),
    );
    // Everything but `later` is applied.
    let mut applied = std::fs::read_to_string(stack.dir.join("main.star")).expect("read");
    applied = applied.replace(
        &format!("later = DockerResource(name = \"st-later\", image = \"busybox:latest\", command = {SLEEPER})\n"),
        "",
    );
    let full = std::fs::read_to_string(stack.dir.join("main.star")).expect("read");
    stack.write("main.star", &applied);
    stack.ok(&["apply", "--yes"]);
    stack.write("main.star", &full);
    stack.ok(&["stop", "st-batch"]);
    // Running is not serving yet: status is asked once nginx answers.
    crate::docker::wait_until(
        "nginx to answer",
        std::time::Duration::from_secs(60),
        || {
            std::net::TcpStream::connect(("127.0.0.1", 18093)).is_ok_and(|mut s| {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut answer = [0u8; 12];
                s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_ok()
                    && s.read_exact(&mut answer).is_ok()
                    && answer.starts_with(b"HTTP/")
            })
        },
    );
    assert!(docker_said(&["rm", "-f", "st-gone"]).0);

    let out = stack.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let rows = v["resources"].as_array().cloned().unwrap_or_default();
    let of = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no `{name}` in {v:#}"))
    };
    // Names narrow it.
    let only: Value =
        serde_json::from_str(&stack.ok(&["status", "st-batch", "--json"]).stdout).expect("JSON");
    let names: Vec<&Value> = only["resources"]
        .as_array()
        .map(|rows| rows.iter().map(|r| &r["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&Value::from("st-batch")], "{only:#}");
    // Deploy order: what `web` depends on comes first.
    let position = |name: &str| rows.iter().position(|r| r["name"] == name);
    assert!(position("st-worker") < position("st-web"), "{v:#}");
    assert_eq!(of("st-web")["type"], "DockerResource");
    assert_eq!(of("st-web")["state"], "running", "{v:#}");
    assert_eq!(
        of("st-web")["containers"][0]["ports"],
        serde_json::json!(["http://localhost:18093"]),
        "an HTTP port is clickable"
    );
    assert!(
        of("st-web")["containers"][0]["uptime"]
            .as_str()
            .is_some_and(|u| u.starts_with("Up")),
        "{v:#}"
    );
    assert!(of("st-web")["applied_at"].is_string());
    assert_eq!(of("st-batch")["state"], "stopped (clockwork stop)");
    assert_eq!(of("st-gone")["state"], "missing");
    assert_eq!(of("notes.txt")["state"], "written");
    assert_eq!(of("st-later")["state"], "not applied");

    // A crash shows its exit code.
    assert!(docker_said(&["kill", "st-worker"]).0);
    let worker = status_of(&stack, "st-worker");
    assert!(
        worker["state"]
            .as_str()
            .is_some_and(|s| s.starts_with("exited (") || s == "restarting"),
        "{worker:#}"
    );

    // `docker update` changes what the listing cannot show: status says so.
    assert!(
        docker_said(&[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "64m",
            "st-web"
        ])
        .0
    );
    let web = status_of(&stack, "st-web");
    assert_eq!(
        web["state"], "drifted: memory, memory swap changed outside Clockwork",
        "{web:#}"
    );
    let changed = &web["containers"][0]["changed_outside"];
    assert!(
        changed.as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["setting"] == "memory" && c["applied"] == "0" && c["now"] == "67108864")),
        "{web:#}"
    );

    // The table, under its alias.
    let table = stack.ok(&["ps"]).stdout;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("st-web") && table.contains("http://localhost:18093"),
        "{table}"
    );

    // Drifted and down: both are said, the drift does not hide the crash.
    assert!(docker_said(&["stop", "st-web"]).0);
    let web = status_of(&stack, "st-web");
    assert!(
        web["state"]
            .as_str()
            .is_some_and(|s| s.starts_with("exited (")
                && s.ends_with("); drifted: memory, memory swap changed outside Clockwork")),
        "{web:#}"
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn restart_restarts_in_place_records_it_and_leaves_a_stopped_one_alone() {
    let stack = Stack::new("cw-e2e-restart");
    stack.write(
        "main.star",
        &format!(
            r#"
a = DockerResource(name = "rs-a", image = "busybox:latest", command = {SLEEPER})
b = DockerResource(name = "rs-b", image = "busybox:latest", command = {SLEEPER})
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let started = |name: &str| stack.inspect(name)["State"]["StartedAt"].clone();
    let (id, before) = (stack.id_of("rs-a"), started("rs-a"));
    stack.ok(&["stop", "rs-b"]);

    let out = stack.ok(&["restart"]);
    assert!(out.stdout.contains("restarted `rs-a`"), "{}", out.all());
    assert!(
        out.all()
            .contains("`rs-b` was stopped with `clockwork stop`"),
        "{}",
        out.all()
    );
    assert_eq!(stack.id_of("rs-a"), id, "the same container, restarted");
    assert_ne!(started("rs-a"), before);
    assert_eq!(
        stack.inspect("rs-b")["State"]["Running"],
        false,
        "left stopped"
    );
    let journal =
        std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl")).unwrap_or_default();
    assert!(
        journal.lines().any(|l| l.contains("\"restart rs-a\"")
            && l.contains("clockwork restart")
            && l.contains("\"done\"")),
        "{journal}"
    );
    // Recorded: the next plan does not take the restart for a crash.
    let plan = stack.ok(&["plan"]);
    assert!(
        !plan.stdout.contains("rs-a (DockerResource): update"),
        "{}",
        plan.stdout
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn init_writes_a_project_that_plans_and_comes_up_and_never_overwrites() {
    let _ports = crate::apply::fixed_ports();
    let stack = Stack::new("cw-e2e-init");
    stack.write(".gitignore", "target/");
    let out = stack.ok(&["init"]);
    assert!(out.stdout.contains("wrote main.star"), "{}", out.all());
    let gitignore = std::fs::read_to_string(stack.dir.join(".gitignore")).unwrap_or_default();
    assert!(
        gitignore.starts_with("target/\n") && gitignore.contains("\n.clockwork/\n"),
        "{gitignore}"
    );
    let again = stack.run(&["init", "empty"]);
    assert_eq!(again.code, 2, "{}", again.all());
    assert!(again.all().contains("main.star exists"), "{}", again.all());

    let plan = stack.ok(&["plan"]);
    assert!(
        plan.stdout
            .contains("DATABASE_URL=postgresql://app:***@db:5432/app")
            && plan.stdout.contains("REDIS_URL"),
        "{}",
        plan.stdout
    );
    stack.ok(&["apply", "--yes"]);
    let status: Value =
        serde_json::from_str(&stack.ok(&["status", "--json"]).stdout).expect("JSON");
    let states: Vec<String> = status["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}={}",
                r["name"].as_str().unwrap_or(""),
                r["state"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        states
            .iter()
            .all(|s| s.ends_with("=running") || s.ends_with("=healthy")),
        "{states:?}"
    );
    stack.ok(&["destroy", "--yes"]);
}
