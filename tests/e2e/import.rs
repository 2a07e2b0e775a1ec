//! `clockwork import` round trip: each Compose fixture of
//! `tests/fixtures/compose/` is brought up by `docker-compose up` and, once
//! that is down, its import by `clockwork apply`; the two sets of
//! containers must be the same service for service — image, environment,
//! published ports, mounts, networks (as a structure: which services share
//! which network), command and entrypoint, restart policy, health check and
//! the labels the file wrote — except where the import said it differs.
//!
//! Nothing is filtered from the environments: Clockwork adds no variable
//! of its own to these containers (the `DATABASE_URL` its connection
//! injects is the Compose value byte for byte, and every container that
//! connects to the Redis sets variables, so no `REDIS_URL` is completed).
//! One difference is by design and allowed: every Clockwork container is
//! also on the project network. Labels are compared without each tool's
//! own (`com.docker.compose.*`, `dev.clockwork.*`) and the image's: what is
//! left is what the Compose file wrote, on both sides.
//!
//! Needs `docker-compose` (`scripts/ensure-compose.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::docker::docker_ok;
use crate::stack::{Run, Stack, copy_dir, workspace};

/// Variables the fixtures interpolate: the machine's own must not change
/// either side.
const INTERPOLATED: [&str; 3] = ["SHOP_LOG_LEVEL", "BLOG_PORT", "APP_SECRET_KEY"];

/// A Compose project brought up from a folder; `down -v` when dropped,
/// whatever happened.
struct ComposeUp {
    dir: PathBuf,
    project: String,
}

impl ComposeUp {
    fn command(&self, args: &[&str]) -> Output {
        let mut command = Command::new("docker-compose");
        command
            .current_dir(&self.dir)
            .args(["-p", &self.project, "-f", "docker-compose.yml"])
            .args(args);
        for name in INTERPOLATED {
            command.env_remove(name);
        }
        command.output().unwrap_or_else(|e| {
            panic!("docker-compose could not run ({e}): run scripts/ensure-compose.sh")
        })
    }

    fn up(dir: &Path, project: &str) -> ComposeUp {
        let compose = ComposeUp {
            dir: dir.to_path_buf(),
            project: project.to_string(),
        };
        // What a crashed earlier run left.
        compose.down();
        let out = compose.command(&["up", "-d"]);
        assert!(
            out.status.success(),
            "docker-compose up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        compose
    }

    fn down(&self) {
        self.command(&["down", "-v", "--remove-orphans", "-t", "2"]);
    }

    /// `docker inspect` of each container of the project, by service.
    fn containers(&self) -> BTreeMap<String, Value> {
        let ids = docker_ok(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
        ]);
        ids.lines()
            .map(|id| {
                let c = inspect(id);
                let service = c["Config"]["Labels"]["com.docker.compose.service"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (service, c)
            })
            .collect()
    }
}

impl Drop for ComposeUp {
    fn drop(&mut self) {
        self.down();
    }
}

fn inspect(name: &str) -> Value {
    let text = docker_ok(&["inspect", name]);
    let all: Value = serde_json::from_str(&text).expect("inspect is JSON");
    all[0].clone()
}

/// What one container is, with the names each side gives its objects
/// replaced by their role: a volume by its name in the Compose file, a
/// network by its key (`default` for the project's own), a bind mount by
/// its real path.
#[derive(Debug, Clone, PartialEq)]
struct Facts {
    image: String,
    env: Vec<String>,
    ports: BTreeMap<String, Vec<(String, String)>>,
    mounts: Vec<(String, String, bool, String)>,
    networks: BTreeSet<String>,
    command: Value,
    entrypoint: Value,
    restart: String,
    healthcheck: Option<(Value, i64, i64, i64, i64)>,
    /// Labels neither side's tooling adds: those the Compose file wrote.
    labels: BTreeMap<String, String>,
}

/// How one side names its objects.
struct Naming<'a> {
    /// Compose prefixes volumes and networks with `<project>_`.
    prefix: Option<&'a str>,
    /// Clockwork's project network, `<project>-<id>_default`.
    project_network: Option<&'a str>,
}

/// The label namespaces of the tools themselves, left out on both sides.
const TOOL_LABELS: [&str; 2] = ["com.docker.compose.", "dev.clockwork."];

fn facts(c: &Value, naming: &Naming<'_>) -> Facts {
    let config = &c["Config"];
    let host = &c["HostConfig"];
    let image = config["Image"].as_str().unwrap_or_default().to_string();
    let image_labels = inspect(&image)["Config"]["Labels"].clone();
    let unprefixed = |name: &str| match naming.prefix {
        Some(p) => name
            .strip_prefix(&format!("{p}_"))
            .unwrap_or(name)
            .to_string(),
        None => name.to_string(),
    };
    let mut env: Vec<String> = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    env.sort();
    let ports = host["PortBindings"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(port, bindings)| {
            let mut all: Vec<(String, String)> = bindings
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| {
                    (
                        b["HostIp"].as_str().unwrap_or_default().to_string(),
                        b["HostPort"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            all.sort();
            (port.clone(), all)
        })
        .collect();
    let mut mounts: Vec<(String, String, bool, String)> = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let kind = m["Type"].as_str().unwrap_or_default().to_string();
            let source = if kind == "bind" {
                let path = m["Source"].as_str().unwrap_or_default();
                std::fs::canonicalize(path)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| path.to_string())
            } else {
                unprefixed(m["Name"].as_str().unwrap_or_default())
            };
            (
                kind,
                m["Destination"].as_str().unwrap_or_default().to_string(),
                m["RW"].as_bool().unwrap_or(false),
                source,
            )
        })
        .collect();
    mounts.sort_by(|a, b| a.1.cmp(&b.1));
    let networks = c["NetworkSettings"]["Networks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, _)| {
            if Some(name.as_str()) == naming.project_network {
                "default".to_string()
            } else {
                unprefixed(name)
            }
        })
        .collect();
    let restart = match host["RestartPolicy"]["Name"].as_str().unwrap_or_default() {
        "" => "no".to_string(),
        other => other.to_string(),
    };
    let healthcheck = config
        .get("Healthcheck")
        .filter(|h| h.is_object())
        .map(|h| {
            let n = |k: &str| h[k].as_i64().unwrap_or(0);
            (
                h["Test"].clone(),
                n("Interval"),
                n("Timeout"),
                n("Retries"),
                n("StartPeriod"),
            )
        });
    let labels = config["Labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| {
            !TOOL_LABELS.iter().any(|own| k.starts_with(own))
                && image_labels.get(k.as_str()) != Some(*v)
        })
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    Facts {
        image,
        env,
        ports,
        mounts,
        networks,
        command: config["Cmd"].clone(),
        entrypoint: config["Entrypoint"].clone(),
        restart,
        healthcheck,
        labels,
    }
}

/// Runs clockwork in the stack with `secrets` set in its environment: the
/// secrets of env files, which main.star reads with `env()` and import
/// said to set.
fn clockwork(stack: &Stack, secrets: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = stack.command(args);
    for name in INTERPOLATED {
        command.env_remove(name);
    }
    for (name, value) in secrets {
        command.env(name, value);
    }
    let run = Run::from(command.output().expect("clockwork runs"));
    assert_eq!(
        run.code, 0,
        "clockwork {args:?} failed\n{}\n{}",
        run.stdout, run.stderr
    );
    run
}

/// Imports fixture `name`, brings it up with Compose, then with Clockwork
/// (with `secrets` set, as import says to), and compares the containers
/// of `services` (`jobs` among them run once and exit); returns what the
/// import printed on stderr.
fn round_trip(name: &str, services: &[&str], jobs: &[&str], secrets: &[(&str, &str)]) -> RoundTrip {
    let _ports = crate::apply::fixed_ports();
    let stack = Stack::new(&format!("cw-e2e-import-{name}"));
    copy_dir(
        &workspace().join("tests/fixtures/compose").join(name),
        &stack.dir,
    );
    let imported = clockwork(
        &stack,
        &[],
        &["import", "docker-compose.yml", "-o", "main.star"],
    );
    // What main.star reads with `env()` is what import names, values aside.
    for (name, value) in secrets {
        assert!(
            imported.stderr.contains(&format!("`{name}`")),
            "{name} not named:\n{}",
            imported.stderr
        );
        assert!(!imported.stderr.contains(value), "{}", imported.stderr);
        let written = std::fs::read_to_string(stack.dir.join("main.star")).expect("main.star");
        assert!(!written.contains(value), "{written}");
    }
    clockwork(&stack, secrets, &["plan", "--offline"]);

    let compose_project = format!("cw-e2e-import-{name}-compose");
    let compose_side: BTreeMap<String, Facts> = {
        let up = ComposeUp::up(&stack.dir, &compose_project);
        let naming = Naming {
            prefix: Some(&compose_project),
            project_network: None,
        };
        up.containers()
            .iter()
            .map(|(service, c)| (service.clone(), facts(c, &naming)))
            .collect()
    };
    assert_eq!(
        compose_side.keys().map(String::as_str).collect::<Vec<_>>(),
        services,
        "Compose ran other services"
    );

    clockwork(&stack, secrets, &["apply", "--yes"]);
    // It came up: every container that must run runs, every job ran to its end.
    let running: Vec<String> = stack
        .containers()
        .into_iter()
        .filter(|c| c.running)
        .map(|c| c.name)
        .collect();
    for service in services {
        if !jobs.contains(service) {
            assert!(
                running.contains(&service.to_string()),
                "`{service}` is not running: {running:?}"
            );
        }
    }
    for job in jobs {
        crate::docker::wait_until(
            &format!("`{job}` to exit"),
            std::time::Duration::from_secs(60),
            || inspect(job)["State"]["Status"] == "exited",
        );
        assert_eq!(inspect(job)["State"]["ExitCode"], 0, "`{job}` failed");
    }
    let clockwork_side: BTreeMap<String, Facts> = services
        .iter()
        .map(|service| {
            let c = inspect(service);
            let network = c["NetworkSettings"]["Networks"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(n, _)| n.clone())
                .find(|n| n.starts_with(&format!("{}-", stack.project)) && n.ends_with("_default"))
                .unwrap_or_else(|| panic!("`{service}` is not on the project network"));
            // Clockwork's own labels are there, beside the user's.
            let labels = &c["Config"]["Labels"];
            assert_eq!(labels["dev.clockwork.resource"], *service, "{labels}");
            assert_eq!(labels["dev.clockwork.project"], stack.project, "{labels}");
            let naming = Naming {
                prefix: None,
                project_network: Some(&network),
            };
            (service.to_string(), facts(&c, &naming))
        })
        .collect();
    clockwork(&stack, secrets, &["destroy", "--yes"]);

    for service in services {
        let compose = &compose_side[*service];
        let mut clockwork = clockwork_side[*service].clone();
        // Clockwork puts every container on the project network by design;
        // Compose does so only for services that list no networks.
        assert!(
            clockwork.networks.contains("default"),
            "{service}: {clockwork:?}"
        );
        if !compose.networks.contains("default") {
            clockwork.networks.remove("default");
        }
        // Labels and entrypoints are translated: nothing about them listed.
        for key in ["labels", "entrypoint"] {
            assert!(
                !imported.stderr.contains(&format!("`{service}`: `{key}`")),
                "{service}: {key} listed:\n{}",
                imported.stderr
            );
        }
        assert_eq!(
            &clockwork, compose,
            "`{service}` differs (left: clockwork apply, right: docker-compose up)"
        );
    }
    RoundTrip {
        said: imported.stderr,
        compose: compose_side,
    }
}

/// What a round trip saw: the import's stderr, and the Compose side's
/// containers (equal to Clockwork's), by service.
struct RoundTrip {
    said: String,
    compose: BTreeMap<String, Facts>,
}

#[test]
fn a_web_app_with_database_cache_and_worker_comes_up_the_same() {
    let seen = round_trip(
        "webapp",
        &["shop-cache", "shop-db", "shop-web", "shop-worker"],
        &[],
        &[],
    );
    let said = seen.said;
    // A label map of the file, on both sides.
    assert_eq!(
        seen.compose["shop-web"].labels,
        BTreeMap::from([("com.example.role".to_string(), "frontend".to_string())])
    );
    assert!(
        said.contains("`shop-worker`: `build`: not translated"),
        "{said}"
    );
    assert!(
        said.contains("`shop-worker`: `deploy`: not translated"),
        "{said}"
    );
}

#[test]
fn a_monitoring_stack_with_bind_mounted_config_comes_up_the_same() {
    let seen = round_trip(
        "monitoring",
        &["mon-exporter", "mon-prometheus", "mon-proxy"],
        &[],
        &[],
    );
    let said = seen.said;
    // A label list, and an entrypoint given as a list, on both sides.
    assert_eq!(
        seen.compose["mon-prometheus"].labels,
        BTreeMap::from([("org.example.stack".to_string(), "monitoring".to_string())])
    );
    assert_eq!(
        seen.compose["mon-exporter"].entrypoint,
        serde_json::json!(["busybox", "httpd"])
    );
    assert!(
        said.contains("`mon-exporter`: `expose`: not translated"),
        "{said}"
    );
}

#[test]
fn env_files_named_volumes_and_health_conditions_come_up_the_same() {
    let seen = round_trip(
        "envfiles",
        &["blog-app", "blog-db", "blog-migrate"],
        &["blog-migrate"],
        &[("POSTGRES_PASSWORD", "blog-pass")],
    );
    let said = seen.said;
    // An entrypoint given as a string, split as Compose splits it.
    assert_eq!(
        seen.compose["blog-migrate"].entrypoint,
        serde_json::json!(["sh", "-c"])
    );
    assert!(said.contains("`blog-app`: `restart`: note"), "{said}");
}
