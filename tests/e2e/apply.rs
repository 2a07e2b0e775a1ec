//! `clockwork apply`, `plan` and `destroy` against the real Engine.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::docker::{Scope, docker, docker_ok, wait_until};
use crate::stack::Stack;

/// A container that stops at once on SIGTERM, so replacing it is quick.
const QUICK_STOP: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

/// The shipped examples publish fixed host ports (5432, 6379, 8000, …):
/// tests deploying them take turns.
pub(crate) fn fixed_ports() -> MutexGuard<'static, ()> {
    static PORTS: Mutex<()> = Mutex::new(());
    PORTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The journal's records of `action` (e.g. "remove container worker-service").
fn journal(stack: &Stack, action: &str) -> Vec<Value> {
    std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["action"] == action && r["status"] == "done")
        .collect()
}

/// An Engine timestamp (RFC 3339, nanoseconds) in seconds since the epoch.
pub(crate) fn epoch(timestamp: &str) -> f64 {
    let out = std::process::Command::new("date")
        .args(["-d", timestamp, "+%s.%N"])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("`{timestamp}` is not a timestamp"))
}

fn created_at(stack: &Stack, container: &str) -> f64 {
    epoch(
        stack.inspect(container)["Created"]
            .as_str()
            .unwrap_or_default(),
    )
}

fn plan_actions(stack: &Stack) -> Vec<(String, String)> {
    let run = stack.ok(&["plan", "--json"]);
    let plan: Value = serde_json::from_str(&run.stdout).expect("plan --json is JSON");
    assert_eq!(
        plan["compared_with"],
        "the Docker Engine and .clockwork/state.json"
    );
    plan["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn connected_services_deploys_in_order_is_idempotent_and_destroys_cleanly() {
    let _ports = fixed_ports();
    let stack = Stack::example("connected-services", "cwt-connected");
    let first = stack.ok(&["apply"]);

    let containers = stack.containers();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["api-server", "postgres-db", "redis-cache", "worker-service"],
        "{}",
        first.all()
    );
    assert!(containers.iter().all(|c| c.running), "{containers:?}");
    assert!(
        stack
            .env_of("api-server")
            .contains(&"DATABASE_URL=postgresql://admin:secret123@postgres-db:5432/appdb".into()),
        "{:?}",
        stack.env_of("api-server")
    );
    assert!(
        !first.all().contains("secret123"),
        "the password leaked into the output:\n{}",
        first.all()
    );
    let ping = docker(&[
        "exec",
        "worker-service",
        "redis-cli",
        "-h",
        "redis-cache",
        "-p",
        "6379",
        "ping",
    ]);
    assert_eq!(String::from_utf8_lossy(&ping.stdout).trim(), "PONG");
    assert!(
        created_at(&stack, "postgres-db") < created_at(&stack, "api-server"),
        "api-server was created before postgres-db"
    );
    // The database answered before the API was started: the wait-for-db
    // step ran against it.
    let ready = docker(&[
        "exec",
        "postgres-db",
        "pg_isready",
        "-h",
        "127.0.0.1",
        "-U",
        "admin",
    ]);
    assert!(ready.status.success());

    // A second apply changes nothing and says so.
    let again = stack.ok(&["apply"]);
    assert!(again.stdout.contains("Nothing to do"), "{}", again.stdout);
    assert_eq!(stack.containers(), containers, "containers were recreated");
    assert!(
        plan_actions(&stack).iter().all(|(_, a)| a == "none"),
        "{:?}",
        plan_actions(&stack)
    );

    let (networks, _) = stack.networks_and_volumes();
    assert_eq!(networks.len(), 1, "one project network");
    let gone = stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty(), "{}", gone.all());
    assert_eq!(stack.networks_and_volumes(), (vec![], vec![]));
    let state = stack.state();
    assert_eq!(state["resources"], serde_json::json!({}));
    // The worker's shell (PID 1, no SIGTERM handler) cannot receive
    // SIGTERM: it was killed at once; the others were asked to stop.
    let removed = |name: &str| {
        journal(&stack, &format!("remove container {name}"))
            .last()
            .map(|r| r["detail"]["stop_signal_ignored"].clone())
    };
    assert_eq!(removed("worker-service"), Some(Value::Bool(true)));
    assert_eq!(removed("postgres-db"), Some(Value::Bool(false)));
    assert_eq!(removed("redis-cache"), Some(Value::Bool(false)));
}

#[test]
fn connections_showcase_wires_every_connection_type() {
    let _ports = fixed_ports();
    let stack = Stack::example("connections-showcase", "cwt-showcase");
    let applied = stack.ok(&["apply"]);
    let names: Vec<String> = stack.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["api", "frontend", "postgres", "redis", "storage"],
        "{}",
        applied.all()
    );
    let exec = |container: &str, command: &[&str]| {
        let mut args = vec!["exec", container];
        args.extend_from_slice(command);
        let out = docker(&args);
        assert!(
            out.status.success(),
            "{command:?} in {container}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // DatabaseConnection: URL, readiness, schema.sql applied.
    let api_env = stack.env_of("api");
    assert!(
        api_env
            .contains(&"DATABASE_URL=postgresql://postgres:secret123@postgres:5432/appdb".into())
    );
    let appdb = |sql: &str| {
        exec(
            "postgres",
            &["psql", "-U", "postgres", "-d", "appdb", "-Atc", sql],
        )
    };
    let tables = appdb(
        "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'",
    );
    // The schema's table, the migrations', and the connection's record of
    // what ran.
    assert_eq!(tables, "clockwork_migrations,posts,users");
    let column = appdb(
        "select column_name from information_schema.columns where table_name = 'users' and column_name = 'display_name'",
    );
    assert_eq!(column, "display_name", "002 ran after 001");
    // NetworkConnection: a shared network and REDIS_HOST.
    assert!(api_env.contains(&"REDIS_HOST=redis".into()), "{api_env:?}");
    let networks = stack.inspect("api")["NetworkSettings"]["Networks"].clone();
    let default = networks
        .as_object()
        .into_iter()
        .flat_map(|n| n.keys())
        .find(|n| n.starts_with("cwt-showcase-") && n.ends_with("_default"));
    assert!(
        networks.get("backend-network").is_some() && default.is_some(),
        "{networks}"
    );
    assert!(
        stack.inspect("redis")["NetworkSettings"]["Networks"]
            .get("backend-network")
            .is_some()
    );
    // FileConnection: files mounted read-only, a shared volume.
    assert_eq!(
        exec("api", &["cat", "/etc/app/config.json"]),
        r#"{"log_level": "info"}"#
    );
    exec("storage", &["sh", "-c", "echo shared > /data/shared/probe"]);
    assert_eq!(exec("api", &["cat", "/data/shared/probe"]), "shared");
    // ServiceMeshConnection: API_URL, and the API answers on it.
    assert!(
        stack
            .env_of("frontend")
            .contains(&"API_URL=http://api:8000".into())
    );
    assert_eq!(
        exec("frontend", &["wget", "-qO-", "http://api:8000/health"]),
        "ok"
    );

    // The read-only mount refuses a write.
    let wrote = docker(&["exec", "api", "sh", "-c", "echo x > /etc/app/config.json"]);
    assert!(!wrote.status.success(), "a read-only mount refuses a write");

    // A second apply runs no migration; an edited one is refused.
    let migrations_run = || {
        journal(&stack, "api-database-postgres: migration-001_posts")
            .iter()
            .filter(|r| r["status"] == "done")
            .count()
    };
    assert_eq!(migrations_run(), 1);
    stack.ok(&["apply"]);
    assert_eq!(migrations_run(), 1, "a second apply runs none");
    stack.write(
        "migrations/001_posts.sql",
        "CREATE TABLE posts (id SERIAL PRIMARY KEY);\n",
    );
    let refused = stack.run(&["apply"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused
            .all()
            .contains("migrations/001_posts.sql was edited after it ran"),
        "{}",
        refused.all()
    );

    stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty());
    assert_eq!(stack.networks_and_volumes(), (vec![], vec![]));
    assert!(!stack.dir.join("config.json").exists() && !stack.dir.join("www/health").exists());
}

fn three_services(prefix: &str, b_env: &str, with_c: bool) -> String {
    let mut text = format!(
        r#"
a = DockerResource(name="{prefix}-a", image="busybox:latest", command={QUICK_STOP}, volumes=["{prefix}-data:/data"])
b = DockerResource(name="{prefix}-b", image="busybox:latest", command={QUICK_STOP}, env_vars={{"MODE": "{b_env}", "DB_PASSWORD": "s3cret-pw"}})
notes = FileResource(name="notes", directory="generated", content="hello\n")
"#
    );
    if with_c {
        text.push_str(&format!(
            "c = DockerResource(name=\"{prefix}-c\", image=\"busybox:latest\", command={QUICK_STOP}, connections=[a])\n"
        ));
    }
    text
}

#[test]
fn a_change_replaces_only_its_container_and_removals_and_hand_kills_converge() {
    let stack = Stack::new("cwt-changes");
    stack.write("main.star", &three_services("chg", "one", true));
    // One resource at a time: a's, b's and notes' actions never overlap.
    stack.ok(&["apply", "--parallelism", "1"]);
    let mut working: Option<String> = None;
    for record in std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl"))
        .expect("journal")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        let resource = record["resource"].as_str().unwrap_or_default().to_string();
        match record["status"].as_str() {
            Some("started") => {
                assert!(
                    working.as_ref().is_none_or(|w| *w == resource),
                    "{resource} started while {working:?} worked"
                );
                working = Some(resource);
            }
            _ => working = None,
        }
    }
    assert_eq!(
        std::fs::read_to_string(stack.dir.join("generated/notes")).expect("file written"),
        "hello\n"
    );
    let before = stack.containers();
    assert_eq!(before.len(), 3, "{before:?}");

    // One field of b changes: only b is replaced, and the plan says why.
    stack.write("main.star", &three_services("chg", "two", true));
    let plan = stack.ok(&["plan"]);
    assert!(
        plan.stdout.contains("chg-b (DockerResource): replace")
            && plan.stdout.contains("env_vars.MODE: \"one\" → \"two\""),
        "{}",
        plan.stdout
    );
    // The state holds the password masked; an unchanged secret is not
    // listed as a change.
    assert!(
        !plan.stdout.contains("env_vars.DB_PASSWORD:"),
        "{}",
        plan.stdout
    );
    let changed = stack.ok(&["apply"]);
    assert!(
        changed.stdout.contains("(env_vars.MODE)"),
        "{}",
        changed.stdout
    );
    assert_eq!(stack.id_of("chg-a"), before[0].id);
    assert_ne!(stack.id_of("chg-b"), before[1].id);
    assert_eq!(stack.id_of("chg-c"), before[2].id);
    assert!(stack.env_of("chg-b").contains(&"MODE=two".into()));

    // A removed declaration is destroyed — once confirmed, since the apply
    // deletes more than it creates (not on a terminal: `--yes`).
    stack.write("main.star", &three_services("chg", "two", false));
    assert!(plan_actions(&stack).contains(&("chg-c".into(), "delete".into())));
    let unconfirmed = stack.run(&["apply"]);
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.all());
    assert!(
        unconfirmed
            .stderr
            .contains("warning: this deletes 1 resource")
            && unconfirmed.stderr.contains("add `--yes`"),
        "{}",
        unconfirmed.stderr
    );
    assert_eq!(
        stack.containers().len(),
        3,
        "nothing was deleted unconfirmed"
    );
    stack.ok(&["apply", "--yes"]);
    let names: Vec<String> = stack.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["chg-a", "chg-b"]);
    assert!(stack.state()["resources"].get("chg-c").is_none());

    // Removed and stopped by hand after a plan: apply says the world
    // moved since, and restores both.
    assert!(plan_actions(&stack).iter().all(|(_, a)| a == "none"));
    docker_ok(&["rm", "-f", "chg-a"]);
    docker_ok(&["stop", "-t", "1", "chg-b"]);
    let healed = stack.ok(&["apply"]);
    assert!(
        healed
            .stderr
            .contains("the plan changed since `clockwork plan` ran")
            && healed.stderr.contains("chg-a: none then, create now")
            && healed
                .stderr
                .contains("chg-b: none then, update (running) now"),
        "{}",
        healed.stderr
    );
    let restored = stack.containers();
    assert_eq!(restored.len(), 2);
    assert!(restored.iter().all(|c| c.running), "{restored:?}");

    // The state is lost: the labels are enough, apply adopts what runs.
    std::fs::remove_file(stack.dir.join(".clockwork/state.json")).expect("state exists");
    let adopted = stack.ok(&["apply"]);
    assert!(
        adopted.stdout.contains("Nothing to do"),
        "{}",
        adopted.stdout
    );
    assert_eq!(stack.containers(), restored);

    // --keep-volumes and --keep-files keep the data volume and the
    // generated file; a later destroy takes the volume too.
    stack.ok(&["destroy", "--yes", "--keep-volumes", "--keep-files"]);
    assert!(stack.containers().is_empty());
    assert!(stack.dir.join("generated/notes").exists());
    let (_, volumes) = stack.networks_and_volumes();
    assert_eq!(volumes, ["chg-data"]);
    stack.ok(&["destroy", "--yes"]);
    assert_eq!(stack.networks_and_volumes(), (vec![], vec![]));
}

#[test]
fn a_second_apply_is_refused_and_a_killed_apply_converges() {
    let stack = Stack::new("cwt-interrupt");
    // `slow` turns healthy 4 s after it starts; `after` may only start
    // then. The 4 s are also the window for the second apply.
    stack.write(
        "main.star",
        &format!(
            r#"
slow = DockerResource(
    name="int-slow",
    image="busybox:latest",
    command=["sh", "-c", "trap 'exit 0' TERM; sleep 4; touch /tmp/ready; while true; do sleep 1; done"],
    healthcheck={{"test": ["CMD", "test", "-f", "/tmp/ready"], "interval_seconds": 0.5}},
)
after = DockerResource(name="int-after", image="busybox:latest", command={QUICK_STOP}, connections=[slow])
other = DockerResource(name="int-other", image="busybox:latest", command={QUICK_STOP})
"#
        ),
    );
    let mut first = stack.spawn(&["apply"]);
    wait_until("the first container", Duration::from_secs(60), || {
        stack.containers().iter().any(|c| c.name == "int-slow")
    });
    let second = stack.run(&["apply"]);
    assert_eq!(second.code, 1, "{}", second.all());
    assert!(
        second
            .stderr
            .contains("another `clockwork apply` or `destroy` is running"),
        "{}",
        second.stderr
    );
    first.kill().expect("kill -9");
    first.wait().expect("reaped");

    let converged = stack.ok(&["apply"]);
    let containers = stack.containers();
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["int-after", "int-other", "int-slow"],
        "{}",
        converged.all()
    );
    assert!(containers.iter().all(|c| c.running));
    let recorded = stack.state()["resources"]
        .as_object()
        .expect("resources")
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(recorded, ["int-after", "int-other", "int-slow"]);

    // `after` started only once `slow` was healthy: at least 4 s after
    // `slow` started.
    let started = |name: &str| {
        epoch(
            stack.inspect(name)["State"]["StartedAt"]
                .as_str()
                .unwrap_or_default(),
        )
    };
    let (slow, after) = (started("int-slow"), started("int-after"));
    assert!(
        after >= slow + 4.0,
        "int-after started {:.2} s after int-slow",
        after - slow
    );
    assert!(stack.ok(&["apply"]).stdout.contains("Nothing to do"));

    // With the state lost, destroy still finds everything by its labels.
    std::fs::remove_file(stack.dir.join(".clockwork/state.json")).expect("state exists");
    stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty());
    assert_eq!(stack.networks_and_volumes(), (vec![], vec![]));
}

#[test]
fn a_foreign_container_with_a_clashing_name_is_left_alone() {
    let scope = Scope::new("foreign");
    let foreign = scope.run("web", &[], "busybox:latest", &["sleep", "3600"]);
    let foreign_id = docker_ok(&["inspect", "-f", "{{.Id}}", &foreign]);
    let stack = Stack::new("cwt-foreign");
    stack.write(
        "main.star",
        &format!(
            "web = DockerResource(name=\"{foreign}\", image=\"busybox:latest\", command={QUICK_STOP})\nok = DockerResource(name=\"foreign-ok\", image=\"busybox:latest\", command={QUICK_STOP})\ndep = DockerResource(name=\"foreign-dep\", image=\"busybox:latest\", command={QUICK_STOP}, connections=[web])\n"
        ),
    );
    let run = stack.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.all().contains(&foreign) && run.all().contains("already exists and is not Clockwork's"),
        "{}",
        run.all()
    );
    // The independent resource is deployed and recorded, the dependent
    // one is not started, and the foreign one is untouched.
    let names: Vec<String> = stack.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["foreign-ok"]);
    assert!(
        run.stdout.contains("foreign-dep: skipped"),
        "{}",
        run.stdout
    );
    let recorded = stack.state()["resources"].clone();
    assert!(recorded.get("foreign-ok").is_some() && recorded.get("foreign-dep").is_none());
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.Id}} {{.State.Running}}", &foreign]),
        format!("{foreign_id} true")
    );
    stack.ok(&["destroy", "--yes"]);
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.Id}} {{.State.Running}}", &foreign]),
        format!("{foreign_id} true")
    );
}

#[test]
fn policy_refuses_privileged_root_mounts_foreign_names_and_files_outside() {
    let plugin = crate::fixtures::fixture("overreaching-resource");
    for (reach, expected) in [
        ("privileged", "containers may not set `privileged`"),
        (
            "root-mount",
            "bind mount of `/` is outside the project folder",
        ),
        (
            "other-name",
            "may not create a container named `someone-else`",
        ),
        ("parent-file", "`../escaped.txt` leaves the project folder"),
        (
            "link-file",
            "`link/escaped.txt` goes through the symbolic link `link`",
        ),
        (
            "state-file",
            "is inside Clockwork's state folder `.clockwork/`; Clockwork never writes or removes it",
        ),
        // Whatever the plugin's `validate` let through.
        (
            "forged-label",
            "label `dev.clockwork.project-id`: `dev.clockwork.` labels are Clockwork's own",
        ),
    ] {
        let stack = Stack::new(&format!("cwt-policy-{reach}"));
        std::fs::copy(&plugin, stack.dir.join("plugins/overreaching.wasm")).expect("copy");
        // A link out of the project, for `link-file`.
        let outside = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(outside.path(), stack.dir.join("link")).expect("symlink");
        stack.write(
            "main.star",
            &format!("x = OverreachingResource(name=\"pol-{reach}\", reach=\"{reach}\")\n"),
        );
        // Refused when planned, located at the declaration, before the
        // lock is taken or anything is written.
        let run = stack.run(&["apply"]);
        assert_eq!(run.code, 2, "{reach}: {}", run.all());
        assert!(run.all().contains(expected), "{reach}: {}", run.all());
        assert!(
            run.stderr.contains("main.star:1:5"),
            "{reach}: {}",
            run.stderr
        );
        assert!(!stack.dir.join(".clockwork").exists(), "{reach}");
        assert!(
            stack.containers().is_empty(),
            "{reach}: a container was created"
        );
        assert!(!outside.path().join("escaped.txt").exists(), "{reach}");
        let parent = stack.dir.parent().expect("root");
        assert!(!parent.join("escaped.txt").exists(), "{reach}");
    }
}

/// A DockerResource with its own entrypoint and labels.
fn labelled(role: &str) -> String {
    format!(
        r#"web = DockerResource(
    name = "lbl-web",
    image = "busybox:latest",
    entrypoint = ["sh", "-c"],
    command = ["trap 'exit 0' TERM; while true; do sleep 1; done"],
    labels = {{"com.example.role": "{role}", "com.example.team": "ops"}},
)
"#
    )
}

#[test]
fn entrypoint_and_labels_are_set_a_label_change_replaces_and_clockworks_own_are_refused() {
    let stack = Stack::new("cw-e2e-labels");
    stack.write("main.star", &labelled("frontend"));
    stack.ok(&["apply"]);
    let made = stack.inspect("lbl-web");
    assert_eq!(made["State"]["Running"], true, "{}", made["State"]);
    let config = &made["Config"];
    assert_eq!(config["Entrypoint"], serde_json::json!(["sh", "-c"]));
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["trap 'exit 0' TERM; while true; do sleep 1; done"])
    );
    // The user's labels, and Clockwork's own beside them.
    let labels = &config["Labels"];
    assert_eq!(labels["com.example.role"], "frontend", "{labels}");
    assert_eq!(labels["com.example.team"], "ops", "{labels}");
    assert_eq!(labels["dev.clockwork.project"], stack.project, "{labels}");
    assert_eq!(labels["dev.clockwork.resource"], "lbl-web", "{labels}");
    assert_eq!(
        labels["dev.clockwork.project-id"],
        stack.project_id().as_str()
    );
    let again = stack.ok(&["apply"]);
    assert!(again.stdout.contains("Nothing to do"), "{}", again.stdout);

    // A label is fixed when the container is made: a change replaces it,
    // and the plan names the label.
    stack.write("main.star", &labelled("backend"));
    let plan = stack.ok(&["plan"]);
    assert!(
        plan.stdout.contains("lbl-web (DockerResource): replace")
            && plan
                .stdout
                .contains("labels.com.example.role: \"frontend\" → \"backend\""),
        "{}",
        plan.stdout
    );
    let first = stack.id_of("lbl-web");
    stack.ok(&["apply"]);
    let second = stack.id_of("lbl-web");
    assert_ne!(second, first, "not replaced");
    assert_eq!(
        stack.inspect("lbl-web")["Config"]["Labels"]["com.example.role"],
        "backend"
    );

    // A label of Clockwork's own would let the declaration say whose the
    // container is: refused at its field, and nothing changes.
    let state = std::fs::read_to_string(stack.dir.join(".clockwork/state.json")).expect("state");
    stack.write(
        "main.star",
        &labelled("backend").replace(
            "\"com.example.team\": \"ops\"",
            "\"dev.clockwork.project\": \"x\"",
        ),
    );
    for command in ["plan", "apply"] {
        let refused = stack.run(&[command]);
        assert_eq!(refused.code, 2, "{command}: {}", refused.all());
        assert!(
            refused.stderr.contains(
                "main.star:1:7: `lbl-web` (DockerResource): `labels[\"dev.clockwork.project\"]`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container"
            ) && refused.stderr.contains("choose a key of your own, e.g. `com.example.project`"),
            "{command}: {}",
            refused.stderr
        );
    }
    assert_eq!(stack.id_of("lbl-web"), second);
    let labels = stack.inspect("lbl-web")["Config"]["Labels"].clone();
    assert_eq!(labels["dev.clockwork.project"], stack.project, "{labels}");
    assert_eq!(
        std::fs::read_to_string(stack.dir.join(".clockwork/state.json")).expect("state"),
        state
    );
    stack.write("main.star", &labelled("backend"));
    stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty());
}

#[test]
fn an_image_that_cannot_be_pulled_is_an_error_naming_it() {
    // A registry on a closed local port: the pull fails at once and no
    // traffic leaves the machine.
    let image = "127.0.0.1:9/clockwork-e2e/missing:1";
    let stack = Stack::new("cwt-pull");
    stack.write(
        "main.star",
        &format!("x = DockerResource(name=\"pull-x\", image=\"{image}\")\n"),
    );
    let run = stack.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("pull-x: create failed")
            && run.stdout.contains(image)
            && run
                .stdout
                .contains("not present locally and could not be pulled"),
        "{}",
        run.stdout
    );
    assert!(stack.containers().is_empty());
}

#[test]
fn a_composite_deploys_its_children_in_order_and_goes_with_them() {
    let _ports = fixed_ports();
    let stack = Stack::example("mixed-pattern", "cwt-mixed");
    let applied = stack.ok(&["apply", "--json"]);
    // --json: one object per event, each resource started and finished.
    let events: Vec<Value> = applied
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let finished: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "finished" && e["status"] == "done")
        .filter_map(|e| e["resource"].as_str())
        .collect();
    assert_eq!(finished.len(), 4, "{finished:?}");
    let position = |name: &str| finished.iter().position(|n| *n == name).expect(name);
    assert!(position("api-service") > position("postgres-db"));
    assert!(position("api-service") > position("prometheus"));
    // The composite is the children's parent (as in the original, each
    // child depends on it): it is settled first, and holds no container.
    assert!(position("webapp") < position("postgres-db"));

    let names: Vec<String> = stack.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["api-service", "postgres-db", "prometheus"]);
    // The user's bind mount of a project file, read-only.
    let mounts = stack.inspect("prometheus")["Mounts"].clone();
    let mount = mounts
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["Destination"] == "/etc/prometheus/prometheus.yml")
        })
        .expect("prometheus.yml is mounted");
    assert_eq!(
        mount["Source"],
        stack.dir.join("prometheus.yml").display().to_string()
    );
    assert_eq!(mount["RW"], false);
    // The override made after `add` reached the container.
    assert!(
        stack
            .env_of("postgres-db")
            .contains(&"POSTGRES_INITDB_ARGS=--data-checksums".into())
    );
    assert!(stack.state()["resources"].get("webapp").is_some());

    // Without the composite and its children, apply takes them all down.
    let text = std::fs::read_to_string(stack.dir.join("main.star")).expect("main.star");
    let standalone = text.split("webapp = BlankResource(").next().expect("head");
    stack.write("main.star", standalone);
    stack.ok(&["apply", "--yes"]);
    let names: Vec<String> = stack.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["prometheus"]);
    let recorded: Vec<String> = stack.state()["resources"]
        .as_object()
        .expect("resources")
        .keys()
        .cloned()
        .collect();
    assert_eq!(recorded, ["prometheus"]);
    stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty());
}

#[test]
fn a_container_that_crashes_fails_the_apply_and_stops_its_dependents() {
    let stack = Stack::new("cwt-crash");
    stack.write(
        "main.star",
        &format!(
            r#"
# With a health check: the wait sees it die, its dependent never starts.
checked = DockerResource(name="crash-checked", image="busybox:latest", command=["sh", "-c", "echo boom >&2; exit 3"],
    healthcheck={{"test": ["CMD", "true"], "interval_seconds": 0.5}})
after = DockerResource(name="crash-after", image="busybox:latest", command={QUICK_STOP}, connections=[checked])
# Without one: it looked up when started; the check once everything is
# deployed (at least 2 s later, `slow` sees to it) finds it restarting.
crashy = DockerResource(name="crash-x", image="busybox:latest", command=["sh", "-c", "echo bang >&2; exit 4"])
slow = DockerResource(name="crash-slow", image="busybox:latest",
    command=["sh", "-c", "trap 'exit 0' TERM; sleep 2; touch /tmp/ready; while true; do sleep 1; done"],
    healthcheck={{"test": ["CMD", "test", "-f", "/tmp/ready"], "interval_seconds": 0.5}})
# A one-shot job may exit; what depends on it deploys.
job = DockerResource(name="crash-job", image="busybox:latest", command=["true"], must_run=False, restart_policy="no")
uses_job = DockerResource(name="crash-uses-job", image="busybox:latest", command={QUICK_STOP}, connections=[job])
"#
        ),
    );
    let run = stack.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let out = &run.stdout;
    assert!(
        out.contains("✗ crash-checked: create failed")
            && out.contains("container `crash-checked` exited with code 3")
            && out.contains("│ boom"),
        "{out}"
    );
    assert!(
        out.contains("- crash-after: skipped, depends on `crash-checked`"),
        "{out}"
    );
    assert!(!stack.containers().iter().any(|c| c.name == "crash-after"));
    assert!(
        out.contains("✗ crash-x: create failed")
            && out.contains("container `crash-x`")
            && out.contains("│ bang"),
        "{out}"
    );
    assert!(out.contains("✓ crash-slow: created"), "{out}");
    assert!(out.contains("✓ crash-job: created"), "{out}");
    assert!(out.contains("✓ crash-uses-job: created"), "{out}");
    // The next apply tries again and says why again.
    let again = stack.run(&["apply"]);
    assert_eq!(again.code, 1, "{}", again.all());
    assert!(
        again.stdout.contains("✗ crash-x: update failed"),
        "{}",
        again.stdout
    );
    stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty());
}

#[test]
fn the_stop_grace_comes_from_clockwork_toml() {
    // A process that takes 4 s to stop after TERM: the default grace (10 s)
    // would let it exit 0; a grace of 1 s kills it (exit 137).
    let stack = Stack::new("grace");
    stack.write(
        "clockwork.toml",
        "[project]\nname = \"grace\"\n\n[limits]\nstop_grace_seconds = 1\n",
    );
    stack.write(
        "main.star",
        r#"slow = DockerResource(name="grace-slow", image="busybox:latest", command=["sh", "-c", "trap 'sleep 4; exit 0' TERM; while true; do sleep 1; done"])
"#,
    );
    stack.ok(&["apply"]);
    let since = docker_ok(&["system", "info", "--format", "{{.SystemTime}}"]);
    stack.ok(&["destroy", "--yes"]);
    let until = docker_ok(&["system", "info", "--format", "{{.SystemTime}}"]);
    let died = docker_ok(&[
        "events",
        "--since",
        since.trim(),
        "--until",
        until.trim(),
        "--filter",
        "container=grace-slow",
        "--filter",
        "event=die",
        "--format",
        "{{.Actor.Attributes.exitCode}}",
    ]);
    assert_eq!(died.trim(), "137", "killed after the grace: {died}");
}

/// When each resource's removal started and finished, from the journal.
fn removal_times(stack: &Stack, name: &str) -> (u64, u64) {
    let journal =
        std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl")).expect("journal");
    let mut started = None;
    let mut done = None;
    for row in journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["resource"] == name)
        .filter(|r| {
            r["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("remove container"))
        })
    {
        let time = row["time"].as_u64().expect("time");
        match row["status"].as_str() {
            Some("started") => started = Some(time),
            Some("done") => done = Some(time),
            _ => {}
        }
    }
    (
        started.unwrap_or_else(|| panic!("{name} not removed: {journal}")),
        done.unwrap_or_else(|| panic!("{name} not removed: {journal}")),
    )
}

#[test]
fn destroy_takes_everything_down_at_once_and_in_dependency_order_when_asked() {
    // The dependent takes 2 s to stop after TERM, so its removal is still
    // under way when everything else's starts, unless the order says wait.
    let stack = Stack::new("down-order");
    stack.write(
        "main.star",
        &format!(
            r#"base = DockerResource(name="down-base", image="busybox:latest", command={QUICK_STOP})
top = DockerResource(name="down-top", image="busybox:latest", command=["sh", "-c", "trap 'sleep 2; exit 0' TERM; while true; do sleep 1; done"], connections=[base])
"#
        ),
    );
    stack.ok(&["apply"]);
    stack.ok(&["destroy", "--yes"]);
    let (top_started, top_done) = removal_times(&stack, "down-top");
    let (base_started, _) = removal_times(&stack, "down-base");
    assert!(
        base_started < top_done,
        "at once: base started {base_started}, top {top_started}..{top_done}"
    );
    assert!(stack.containers().is_empty());

    std::fs::remove_file(stack.dir.join(".clockwork/journal.jsonl")).expect("journal");
    stack.ok(&["apply"]);
    stack.ok(&["destroy", "--yes", "--in-order"]);
    let (_, top_done) = removal_times(&stack, "down-top");
    let (base_started, _) = removal_times(&stack, "down-base");
    assert!(
        base_started >= top_done,
        "in order: base started {base_started} before top was gone at {top_done}"
    );
    assert!(stack.containers().is_empty());
}
