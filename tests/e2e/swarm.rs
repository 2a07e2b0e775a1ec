//! The same declarations on a Docker Swarm (`--target swarm`): a swarm of
//! the test's own — each node a `dockerd` in its own network namespace,
//! made and removed by `tests/swarm/nodes.sh` — never the machine's Engine,
//! which other tests use at the same time.

use std::process::Command;

use serde_json::Value;

use crate::stack::{Run, Stack, workspace};

/// A test swarm, removed when dropped.
struct TestSwarm {
    name: String,
    /// The manager's socket, as `DOCKER_HOST` names it.
    manager: String,
    /// Each worker's socket and host name.
    workers: Vec<(String, String)>,
}

impl TestSwarm {
    /// Swarm `name`: a manager and `workers` workers, with `images` from
    /// the machine's Engine on every node.
    fn up(name: &str, workers: u32, images: &[&str]) -> TestSwarm {
        let swarm = TestSwarm::bare(name, workers);
        let mut args = vec!["images", name];
        args.extend_from_slice(images);
        nodes(&args);
        swarm
    }

    /// Swarm `name` with no image on any node.
    fn bare(name: &str, workers: u32) -> TestSwarm {
        // One a crashed earlier run left is removed first.
        nodes(&["down", name]);
        let said = nodes(&["up", name, &workers.to_string()]);
        let manager = said
            .lines()
            .find_map(|l| l.strip_prefix("manager "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no manager in: {said}"))
            .to_string();
        let workers = said
            .lines()
            .filter_map(|l| l.strip_prefix("worker "))
            .filter_map(|rest| {
                let words: Vec<&str> = rest.split_whitespace().collect();
                Some((words.first()?.to_string(), words.get(2)?.to_string()))
            })
            .collect();
        TestSwarm {
            name: name.to_string(),
            manager,
            workers,
        }
    }

    /// `images` from the machine's Engine on the manager only.
    fn images_on_manager(&self, images: &[&str]) {
        let mut saved = Command::new("docker")
            .arg("save")
            .args(images)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("docker save runs");
        let loaded = Command::new("docker")
            .arg("-H")
            .arg(&self.manager)
            .arg("load")
            .stdin(saved.stdout.take().expect("piped"))
            .output()
            .expect("docker load runs");
        assert!(saved.wait().expect("docker save ends").success());
        assert!(
            loaded.status.success(),
            "{}",
            String::from_utf8_lossy(&loaded.stderr)
        );
    }

    /// A registry on the manager, which every node trusts: its address.
    fn registry(&self) -> String {
        let said = nodes(&["registry", &self.name]);
        said.lines()
            .find_map(|l| l.strip_prefix("registry "))
            .map(|a| a.trim().to_string())
            .unwrap_or_else(|| panic!("no registry in: {said}"))
    }

    /// `docker args…` against the manager, panicking unless it succeeds.
    fn docker(&self, args: &[&str]) -> String {
        self.docker_on(&self.manager, args)
    }

    /// `docker args…` against the node at `socket`.
    fn docker_on(&self, socket: &str, args: &[&str]) -> String {
        let out = Command::new("docker")
            .arg("-H")
            .arg(socket)
            .args(args)
            .output()
            .expect("docker runs");
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Clockwork in `stack`, on this swarm.
    fn run(&self, stack: &Stack, args: &[&str]) -> Run {
        let output = stack
            .command(args)
            .env("DOCKER_HOST", &self.manager)
            .env("CW_TARGET", "swarm")
            .output()
            .expect("clockwork runs");
        Run::from(output)
    }

    fn ok(&self, stack: &Stack, args: &[&str]) -> Run {
        let run = self.run(stack, args);
        assert_eq!(
            run.code, 0,
            "clockwork {args:?} on the swarm failed\n{}\n{}",
            run.stdout, run.stderr
        );
        run
    }

    /// The project's services: name → inspect.
    fn services(&self, project: &str) -> Vec<Value> {
        let ids = self.docker(&[
            "service",
            "ls",
            "-q",
            "--filter",
            &format!("label=dev.clockwork.project={project}"),
        ]);
        ids.lines()
            .map(|id| {
                let text = self.docker(&["service", "inspect", id]);
                let mut all: Vec<Value> = serde_json::from_str(&text).expect("json");
                all.remove(0)
            })
            .collect()
    }
}

impl Drop for TestSwarm {
    fn drop(&mut self) {
        nodes(&["down", &self.name]);
    }
}

/// `tests/swarm/nodes.sh args…`, panicking unless it succeeds.
fn nodes(args: &[&str]) -> String {
    let script = workspace().join("tests/swarm/nodes.sh");
    let out = Command::new(&script)
        .args(args)
        .output()
        .expect("nodes.sh runs");
    assert!(
        out.status.success(),
        "nodes.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

const PROJECT: &str = r#"
db = DockerResource(
    name = "swarm-db",
    image = "postgres:15-alpine",
    env_vars = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "pw-swarm-secret", "POSTGRES_DB": "appdb"},
)
api = DockerResource(
    name = "swarm-api",
    image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
)
api.connect(DatabaseConnection(to_resource = db))
"#;

#[test]
fn a_project_runs_as_services_of_a_swarm_in_order_and_goes_again() {
    let swarm = TestSwarm::up("cwone", 0, &["postgres:15-alpine", "busybox:latest"]);
    let stack = Stack::new("swarm-one");
    // A project file mounted into the API: a config of the swarm.
    let project = format!(
        "{PROJECT}conf = FileResource(name = \"app.conf\", content = \"greeting = hello\\n\")\n\
         api.connect(FileConnection(to_resource = conf, mount_path = \"/etc/app.conf\", read_only = True))\n\
         api.connect(NetworkConnection(to_resource = db, network_name = \"swarm-backend\", internal = True))\n"
    );
    stack.write("main.star", &project);

    // A plan against the swarm, then the apply: the database first, ready
    // (its readiness probe answered) before the API is made.
    swarm.ok(&stack, &["plan"]);
    let applied = swarm.ok(&stack, &["apply", "--yes"]);
    let services = swarm.services("swarm-one");
    let names: Vec<&str> = services
        .iter()
        .filter_map(|s| s["Spec"]["Name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}\n{}", applied.stderr);
    assert!(names.contains(&"swarm-db") && names.contains(&"swarm-api"));
    let api = services
        .iter()
        .find(|s| s["Spec"]["Name"] == "swarm-api")
        .expect("api");
    // What the connection injects is in the service's spec; reached by
    // DNS round robin (no IPVS here), on the project's overlay network.
    let env = api["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"].to_string();
    assert!(
        env.contains("DATABASE_URL=postgresql://app:pw-swarm-secret@swarm-db:5432/appdb"),
        "{env}"
    );
    assert_eq!(api["Spec"]["EndpointSpec"]["Mode"], "dnsrr");
    // The database's password is a Docker secret it reads from a file: its
    // service spec, which every manager keeps, does not hold it.
    let db = services
        .iter()
        .find(|s| s["Spec"]["Name"] == "swarm-db")
        .expect("db");
    let db_env = db["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"].to_string();
    assert!(
        db_env.contains("POSTGRES_PASSWORD_FILE=/run/secrets/swarm-db-postgres_password-"),
        "{db_env}"
    );
    assert!(!db.to_string().contains("pw-swarm-secret"), "{db}");
    let secrets = swarm.docker(&[
        "secret",
        "ls",
        "--filter",
        "label=dev.clockwork.project=swarm-one",
        "--format",
        "{{.Name}}",
    ]);
    assert!(
        secrets.starts_with("swarm-db-postgres_password-"),
        "{secrets}"
    );
    let created = |name: &str| {
        services
            .iter()
            .find(|s| s["Spec"]["Name"] == name)
            .and_then(|s| s["CreatedAt"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        created("swarm-db") < created("swarm-api"),
        "the API was made before the database"
    );
    let network = swarm.docker(&[
        "network",
        "ls",
        "--filter",
        "label=dev.clockwork.project=swarm-one",
        "--format",
        "{{.Driver}} {{.Scope}}",
    ]);
    assert_eq!(
        network.lines().collect::<Vec<_>>(),
        ["overlay swarm", "overlay swarm"],
        "the project's network and the connection's"
    );
    // The connection's network as declared: internal, on the overlay.
    let backend = swarm.docker(&[
        "network",
        "inspect",
        "swarm-backend",
        "--format",
        "{{.Driver}} {{.Internal}}",
    ]);
    assert_eq!(backend, "overlay true");
    // The password is not in what the apply printed.
    assert!(!applied.stdout.contains("pw-swarm-secret"));
    assert!(!applied.stderr.contains("pw-swarm-secret"));

    // Again: nothing to change, nothing changed.
    let before: Vec<Value> = swarm.services("swarm-one");
    let again = swarm.ok(&stack, &["apply", "--yes"]);
    let after: Vec<Value> = swarm.services("swarm-one");
    let versions = |all: &[Value]| {
        let mut v: Vec<String> = all
            .iter()
            .map(|s| format!("{} {}", s["Spec"]["Name"], s["Version"]["Index"]))
            .collect();
        v.sort();
        v
    };
    assert_eq!(versions(&before), versions(&after), "{}", again.stderr);

    // A changed declaration changes its service in place.
    stack.write(
        "main.star",
        &project.replace(
            "while true; do sleep 1; done",
            "while true; do sleep 2; done",
        ),
    );
    swarm.ok(&stack, &["apply", "--yes"]);
    let changed = swarm.services("swarm-one");
    let api_now = changed
        .iter()
        .find(|s| s["Spec"]["Name"] == "swarm-api")
        .expect("api");
    assert_eq!(api_now["ID"], api["ID"], "the same service, updated");
    assert!(
        api_now["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"]
            .to_string()
            .contains("sleep 2")
    );

    // An update whose new task fails is rolled back by Swarm, and the
    // apply says so: the service runs what it ran before.
    stack.write(
        "main.star",
        &project.replace(
            "trap 'exit 0' TERM; while true; do sleep 1; done",
            "echo broken; exit 3",
        ),
    );
    let failed = swarm.run(&stack, &["apply", "--yes"]);
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    assert!(
        failed
            .stdout
            .contains("the update failed and Swarm rollback")
            || failed
                .stderr
                .contains("the update failed and Swarm rollback"),
        "{}\n{}",
        failed.stdout,
        failed.stderr
    );
    let args = swarm.docker(&[
        "service",
        "inspect",
        "swarm-api",
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Args}}",
    ]);
    assert!(args.contains("sleep 2"), "not rolled back: {args}");
    stack.write(
        "main.star",
        &project.replace(
            "while true; do sleep 1; done",
            "while true; do sleep 2; done",
        ),
    );
    swarm.ok(&stack, &["apply", "--yes"]);

    // The file reached the task as a config, not a bind of this machine's
    // path, which other nodes do not have.
    let mounts = api["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"].to_string();
    assert!(!mounts.contains("app.conf"), "{mounts}");
    let configs = api["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"].to_string();
    assert!(configs.contains("\"/etc/app.conf\""), "{configs}");
    let said = swarm.ok(&stack, &["exec", "swarm-api", "--", "cat", "/etc/app.conf"]);
    assert_eq!(said.stdout, "greeting = hello\n", "{}", said.stderr);

    // A command in the service's task (on this node).
    let said = swarm.ok(
        &stack,
        &["exec", "swarm-db", "--", "sh", "-c", "echo $POSTGRES_DB"],
    );
    assert_eq!(said.stdout.trim(), "appdb", "{}", said.stderr);

    // What does not know a swarm yet says so, and touches nothing.
    let refused = swarm.run(&stack, &["stop", "swarm-api"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("`clockwork stop` does not work on a swarm yet"),
        "{}",
        refused.stderr
    );

    // Gone: services, the network and the secret.
    swarm.ok(&stack, &["destroy", "--yes"]);
    assert!(swarm.services("swarm-one").is_empty());
    let networks = swarm.docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        "label=dev.clockwork.project=swarm-one",
    ]);
    assert_eq!(networks, "");
    let secrets = swarm.docker(&[
        "secret",
        "ls",
        "-q",
        "--filter",
        "label=dev.clockwork.project=swarm-one",
    ]);
    assert_eq!(secrets, "");
}

#[test]
fn the_swarm_target_on_an_engine_that_is_no_manager_is_refused_clearly() {
    // The machine's Engine is in no swarm (and is never made one).
    let stack = Stack::new("swarm-refused");
    stack.write("main.star", PROJECT);
    let run = Run::from(
        stack
            .command(&["--target", "swarm", "apply", "--yes"])
            .output()
            .expect("clockwork runs"),
    );
    assert_ne!(run.code, 0);
    assert!(stack.containers().is_empty(), "nothing made");
    assert!(
        run.stderr
            .contains("is not a manager of an active swarm (its swarm state: inactive)"),
        "{}",
        run.stderr
    );
}

#[test]
fn on_three_nodes_images_come_from_the_registry_replicas_spread_and_a_worker_reaches_the_database()
{
    // The images are on the manager only: the workers get them from the
    // project's registry, pinned by digest.
    let swarm = TestSwarm::bare("cwmany", 2);
    swarm.images_on_manager(&["postgres:15-alpine", "busybox:latest"]);
    let registry = swarm.registry();
    assert_eq!(swarm.workers.len(), 2);
    let stack = Stack::new("swarm-many");
    stack.write(
        "clockwork.toml",
        &format!("[target]\nengine = \"swarm\"\nregistry = \"{registry}\"\n"),
    );
    stack.write(
        "main.star",
        &PROJECT
            .replace(
                "    name = \"swarm-db\",\n",
                "    name = \"swarm-db\",\n    placement = [\"node.role==manager\"],\n",
            )
            .replace(
                "    name = \"swarm-api\",\n",
                "    name = \"swarm-api\",\n    replicas = 2,\n    placement = [\"node.role==worker\"],\n    volumes = [\"api-cache:/cache\"],\n",
            )
            .replace("trap 'exit 0' TERM;", "echo api-task-up; trap 'exit 0' TERM;"),
    );
    let applied = swarm.ok(&stack, &["apply", "--yes"]);
    // Its volume is each node's own: said, since the two replicas do not
    // share it.
    let said = format!("{}{}", applied.stdout, applied.stderr);
    assert!(
        said.contains("volume `api-cache` of `swarm-api` lives on the node that runs each task"),
        "{said}"
    );
    let image = swarm.docker(&[
        "service",
        "inspect",
        "swarm-api",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    ]);
    assert!(
        image.starts_with(&format!("{registry}/busybox@sha256:")),
        "{image}"
    );
    // Where each task runs, by node host name.
    let nodes_of = |service: &str| {
        let mut nodes: Vec<String> = swarm
            .docker(&[
                "service",
                "ps",
                service,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.Node}} {{.CurrentState}}",
            ])
            .lines()
            .map(|l| l.to_string())
            .collect();
        nodes.sort();
        nodes
    };
    let api = nodes_of("swarm-api");
    assert_eq!(api.len(), 2, "{api:?}");
    assert!(
        api[0].starts_with("cwmany-worker1 Running")
            && api[1].starts_with("cwmany-worker2 Running"),
        "the two tasks are not one on each worker: {api:?}"
    );
    let db = nodes_of("swarm-db");
    assert!(
        db.len() == 1 && db[0].starts_with("cwmany-manager Running"),
        "{db:?}"
    );
    // A task on a worker reaches the database on the manager by its name,
    // over the project's overlay network.
    for (socket, host) in &swarm.workers {
        let container = swarm.docker_on(
            socket,
            &[
                "ps",
                "-q",
                "--filter",
                "label=com.docker.swarm.service.name=swarm-api",
            ],
        );
        assert!(!container.is_empty(), "no API task on {host}");
        let reached = swarm.docker_on(
            socket,
            &[
                "exec", &container, "nc", "-z", "-w", "5", "swarm-db", "5432",
            ],
        );
        assert_eq!(reached, "", "{host}");
    }
    // `logs` shows what each task printed, on whichever worker it runs.
    let logs = swarm.ok(&stack, &["logs", "swarm-api", "--no-color"]);
    let lines: Vec<&str> = logs
        .stdout
        .lines()
        .filter(|l| l.ends_with("api-task-up"))
        .collect();
    assert_eq!(lines.len(), 2, "{}\n{}", logs.stdout, logs.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with("swarm-api.1"))
            && lines.iter().any(|l| l.starts_with("swarm-api.2")),
        "{lines:?}"
    );

    // `status` shows each task with the node that runs it; a drained
    // worker's task moves to the other, and `status` shows that.
    let api_tasks = |stack: &Stack| -> Vec<(String, String)> {
        let run = swarm.ok(stack, &["status", "--json"]);
        let status: Value = serde_json::from_str(&run.stdout).expect("json");
        let api = status["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == "swarm-api"))
            .cloned()
            .unwrap_or_else(|| panic!("no swarm-api in {status:#}"));
        api["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["state"].as_str().unwrap_or("").to_string(),
                    c["uptime"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let before = api_tasks(&stack);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before.iter().all(|(state, _)| state == "running")
            && before
                .iter()
                .any(|(_, on)| on.ends_with("on cwmany-worker1"))
            && before
                .iter()
                .any(|(_, on)| on.ends_with("on cwmany-worker2")),
        "{before:?}"
    );
    swarm.docker(&[
        "node",
        "update",
        "--availability",
        "drain",
        "cwmany-worker2",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let now = api_tasks(&stack);
        if now.len() == 2
            && now
                .iter()
                .all(|(state, on)| state == "running" && on.ends_with("on cwmany-worker1"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drained worker's task did not move: {now:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    swarm.ok(&stack, &["destroy", "--yes"]);
    assert!(swarm.services("swarm-many").is_empty());
}

#[test]
fn what_only_a_swarm_does_is_refused_on_the_local_engine_at_the_declaration() {
    let stack = Stack::new("swarm-fields-local");
    stack.write(
        "main.star",
        "DockerResource(name = \"swarm-fields-local-a\", image = \"busybox:latest\", replicas = 2)\n",
    );
    let run = stack.run(&["apply", "--yes"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("main.star:1:1")
            && run
                .stderr
                .contains("`replicas = 2` means something only on a swarm"),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty(), "nothing made");
}
