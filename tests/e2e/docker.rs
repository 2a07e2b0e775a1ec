//! A small `docker` CLI driver for tests: unique names, a label on
//! everything created, and removal of exactly those objects on drop.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const TEST_LABEL: &str = "dev.clockwork.e2e";

/// Runs `docker args…` and returns its output.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?} could not run: {e}"))
}

/// Runs `docker args…`, panicking with its stderr unless it succeeds.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `docker args…`: whether it succeeded, and what it printed (stdout
/// then stderr).
pub fn docker_said(args: &[&str]) -> (bool, String) {
    let out = docker(args);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `docker exec container command…`, as [`docker_said`].
pub fn exec_in(container: &str, command: &[&str]) -> (bool, String) {
    let mut args = vec!["exec", container];
    args.extend_from_slice(command);
    docker_said(&args)
}

/// A scope of test objects: everything created through it carries a
/// unique label value, and is removed when the scope ends.
pub struct Scope {
    pub id: String,
}

impl Scope {
    pub fn new(test: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "cwt-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        Scope { id }
    }

    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.id)
    }

    fn label(&self) -> String {
        format!("{TEST_LABEL}={}", self.id)
    }

    pub fn network(&self, what: &str) -> String {
        let name = self.name(what);
        docker_ok(&["network", "create", "--label", &self.label(), &name]);
        name
    }

    /// `docker run -d` with the scope's label; `args` go before the image.
    pub fn run(&self, what: &str, args: &[&str], image: &str, command: &[&str]) -> String {
        let name = self.name(what);
        let label = self.label();
        let mut all = vec!["run", "-d", "--name", &name, "--label", &label];
        all.extend_from_slice(args);
        all.push(image);
        all.extend_from_slice(command);
        docker_ok(&all);
        name
    }

    /// `docker run --rm` (foreground) with the scope's label.
    pub fn run_once(&self, args: &[&str], image: &str, command: &[&str]) -> Output {
        let label = self.label();
        let mut all = vec!["run", "--rm", "--label", &label];
        all.extend_from_slice(args);
        all.push(image);
        all.extend_from_slice(command);
        docker(&all)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let filter = format!("label={}", self.label());
        let ids = docker_ok(&["ps", "-aq", "--filter", &filter]);
        for id in ids.lines().filter(|l| !l.is_empty()) {
            docker(&["rm", "-f", "-v", id]);
        }
        let nets = docker_ok(&["network", "ls", "-q", "--filter", &filter]);
        for id in nets.lines().filter(|l| !l.is_empty()) {
            docker(&["network", "rm", id]);
        }
    }
}

/// Polls `probe` until it returns true or `limit` passes.
pub fn wait_until(what: &str, limit: Duration, mut probe: impl FnMut() -> bool) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if probe() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not happen within {limit:?}");
}
