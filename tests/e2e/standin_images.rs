//! The stand-in images behave as the seeds' examples expect of the real ones.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::docker::{Scope, docker, docker_ok, wait_until};

fn http_get(port: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().ok()?)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn status_of(response: &str) -> Option<&str> {
    response.split_whitespace().nth(1)
}

fn published_port(container: &str, port: &str) -> String {
    let mapping = docker_ok(&["port", container, port]);
    let first = mapping
        .lines()
        .find(|l| l.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("{mapping}"));
    first.rsplit(':').next().unwrap_or_default().to_string()
}

#[test]
fn every_tag_exists_with_the_recipe_label() {
    for tag in [
        "postgres:15-alpine",
        "mariadb:11",
        "redis:7-alpine",
        "nginx:alpine",
        "prom/prometheus:latest",
        "busybox:latest",
    ] {
        let label = docker_ok(&[
            "image",
            "inspect",
            "--format",
            "{{ index .Config.Labels \"dev.clockwork.standin.recipe\" }}",
            tag,
        ]);
        assert_eq!(label.len(), 16, "{tag} has no recipe label");
    }
}

#[test]
fn postgres_honours_user_password_and_database() {
    let scope = Scope::new("pg");
    let net = scope.network("net");
    let db = scope.run(
        "db",
        &[
            "--network",
            &net,
            "-e",
            "POSTGRES_USER=admin",
            "-e",
            "POSTGRES_PASSWORD=secret123",
            "-e",
            "POSTGRES_DB=appdb",
        ],
        "postgres:15-alpine",
        &[],
    );
    wait_until("pg_isready", Duration::from_secs(30), || {
        docker(&["exec", &db, "pg_isready", "-h", "localhost", "-q"])
            .status
            .success()
    });
    let ok = scope.run_once(
        &["--network", &net, "-e", "PGPASSWORD=secret123"],
        "postgres:15-alpine",
        &[
            "psql",
            "-h",
            &db,
            "-U",
            "admin",
            "-d",
            "appdb",
            "-tAc",
            "select current_user || '@' || current_database()",
        ],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "admin@appdb");
    let wrong = scope.run_once(
        &["--network", &net, "-e", "PGPASSWORD=wrong"],
        "postgres:15-alpine",
        &[
            "psql", "-h", &db, "-U", "admin", "-d", "appdb", "-tAc", "select 1",
        ],
    );
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}

#[test]
fn redis_answers_ping_by_name_on_a_network() {
    let scope = Scope::new("redis");
    let net = scope.network("net");
    let cache = scope.run("cache", &["--network", &net], "redis:7-alpine", &[]);
    wait_until("redis-cli ping", Duration::from_secs(15), || {
        let out = scope.run_once(
            &["--network", &net],
            "redis:7-alpine",
            &["redis-cli", "-h", &cache, "ping"],
        );
        String::from_utf8_lossy(&out.stdout).trim() == "PONG"
    });
}

#[test]
fn nginx_serves_on_a_published_loopback_port() {
    let scope = Scope::new("nginx");
    let web = scope.run("web", &["-p", "127.0.0.1::80"], "nginx:alpine", &[]);
    let port = published_port(&web, "80/tcp");
    let mut response = None;
    wait_until("nginx answers", Duration::from_secs(15), || {
        response = http_get(&port, "/");
        response.is_some()
    });
    let response = response.unwrap_or_default();
    assert_eq!(status_of(&response), Some("200"), "{response}");
}

#[test]
fn prometheus_reports_healthy() {
    let scope = Scope::new("prom");
    let prom = scope.run(
        "prom",
        &["-p", "127.0.0.1::9090"],
        "prom/prometheus:latest",
        &[],
    );
    let port = published_port(&prom, "9090/tcp");
    wait_until("prometheus /-/healthy", Duration::from_secs(30), || {
        http_get(&port, "/-/healthy")
            .is_some_and(|r| status_of(&r) == Some("200") && r.contains("Healthy"))
    });
}

#[test]
fn busybox_runs_a_shell() {
    let scope = Scope::new("busybox");
    let out = scope.run_once(
        &[],
        "busybox:latest",
        &["sh", "-c", "busybox echo stand-in"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "stand-in");
}
