//! `clockwork watch` against the real Engine: a killed container is healed
//! and the log says why, with one alert for the incident and one on
//! recovery at a local webhook; a container stopped with `clockwork stop`
//! stays stopped; one without `reconcile` is left alone; a crash-looping
//! one backs off and is given up on with exactly one alert.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::stack::Stack;

const QUICK_STOP: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

/// A webhook receiver on 127.0.0.1 that keeps every JSON body it gets.
struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Webhook {
    fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/alerts", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let l = line.trim_end().to_string();
                    line.clear();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok()
                    && let Ok(v) = serde_json::from_slice(&body)
                {
                    keep.lock().expect("lock").push(v);
                }
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        Webhook { url, received }
    }

    fn kinds(&self) -> Vec<String> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .map(|a| {
                format!(
                    "{}:{}",
                    a["resource"].as_str().unwrap_or(""),
                    a["kind"].as_str().unwrap_or("")
                )
            })
            .collect()
    }
}

/// `clockwork watch`, killed when dropped.
struct Watching(Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn watch(stack: &Stack, webhook: &Webhook) -> Watching {
    watch_with(
        stack,
        &["--json"],
        &[("CW_ALERT_WEBHOOK", webhook.url.clone())],
    )
}

/// `clockwork watch ARGS…` with `env`, once it says it is watching (its
/// own "watching" line: the log may hold an earlier watch's).
fn watch_with(stack: &Stack, args: &[&str], env: &[(&str, String)]) -> Watching {
    let starts = |stack: &Stack| {
        log(stack)
            .iter()
            .filter(|e| {
                e["seen"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("watching"))
            })
            .count()
    };
    let before = starts(stack);
    let mut full = vec!["watch"];
    full.extend_from_slice(args);
    let mut command = stack.command(&full);
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("watch starts");
    let w = Watching(child);
    wait_until("watch to start", || starts(stack) > before);
    w
}

fn log(stack: &Stack) -> Vec<Value> {
    std::fs::read_to_string(stack.dir.join(".clockwork/watch.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits (at most a minute, the machine may be busy) until the watch log
/// has an event `found` accepts.
#[track_caller]
fn wait_for_log(stack: &Stack, found: impl Fn(&Value) -> bool, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(e) = log(stack).into_iter().find(|e| found(e)) {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within 60 s; log: {:#?}",
            log(stack)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[track_caller]
fn wait_until(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn running(stack: &Stack, name: &str) -> bool {
    stack
        .inspect_if_present(name)
        .is_some_and(|c| c["State"]["Running"] == true)
}

fn docker(args: &[&str]) {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_killed_container_is_healed_a_stopped_one_stays_stopped_and_alerts_come_once() {
    let stack = Stack::new("cw-e2e-watch");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-web", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
side = DockerResource(name = "watch-side", image = "busybox:latest", command = {QUICK_STOP})
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);

    let killed_at = Instant::now();
    docker(&["kill", "watch-web"]);
    let healed = wait_for_log(
        &stack,
        |e| e["kind"] == "heal" && e["resource"] == "watch-web",
        "heal of watch-web",
    );
    eprintln!(
        "figure: healed {:?} after `docker kill`",
        killed_at.elapsed()
    );
    assert_eq!(healed["seen"], "applied again");
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-web",
        "drift",
    );
    assert!(
        drift["seen"]
            .as_str()
            .unwrap_or("")
            .contains("not as declared"),
        "{drift}"
    );
    wait_until("watch-web running again", || running(&stack, "watch-web"));
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "watch-web",
        "recovery",
    );
    wait_until("two alerts", || webhook.kinds().len() >= 2);
    assert_eq!(webhook.kinds(), ["watch-web:drift", "watch-web:recovered"]);
    let first = webhook.received.lock().expect("lock")[0].clone();
    assert_eq!(first["project"], "cw-e2e-watch");
    assert!(
        first["text"].as_str().unwrap_or("").contains("`watch-web`"),
        "{first}"
    );

    // Not reconciled: left as it is. Operator intent: stopped with
    // clockwork, it stays stopped.
    docker(&["kill", "watch-side"]);
    stack.ok(&["stop", "watch-web"]);
    wait_for_log(
        &stack,
        |e| {
            e["resource"] == "watch-web"
                && e["seen"]
                    .as_str()
                    .is_some_and(|s| s.contains("clockwork stop"))
        },
        "the watch leaving watch-web stopped",
    );
    assert!(!running(&stack, "watch-web"), "clockwork stop is respected");
    assert!(
        !running(&stack, "watch-side"),
        "a resource without reconcile is not the watch's"
    );
    assert!(
        !log(&stack).iter().any(|e| e["resource"] == "watch-side"),
        "{:#?}",
        log(&stack)
    );
    // `apply` leaves it stopped too (and brings back what is not).
    stack.ok(&["apply", "--yes"]);
    assert!(!running(&stack, "watch-web"));
    assert!(running(&stack, "watch-side"));
    stack.ok(&["start", "watch-web"]);
    wait_until("watch-web started", || running(&stack, "watch-web"));
    assert_eq!(
        webhook.kinds().len(),
        2,
        "stop and start are not incidents: {:?}",
        webhook.kinds()
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn a_crash_looping_container_backs_off_and_is_given_up_on_with_one_alert() {
    let stack = Stack::new("cw-e2e-watch-crash");
    stack.write(
        "clockwork.toml",
        "[watch]\nbackoff_initial_seconds = 1\nheal_budget = 3\nbudget_window_seconds = 120\n",
    );
    // Runs long enough to be applied, then a marker file makes it crash
    // at once on every start after.
    stack.write(
        "main.star",
        r#"
loop = DockerResource(
    name = "watch-crash",
    image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; if [ -e /tmp/crash ]; then exit 3; fi; while true; do sleep 1; done"],
    reconcile = True,
    alert_on = ["failure"],
)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    docker(&["exec", "watch-crash", "touch", "/tmp/crash"]);
    docker(&["kill", "watch-crash"]);
    let gave_up = wait_for_log(
        &stack,
        |e| {
            e["kind"] == "failure"
                && e["seen"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("healed 3 times"))
        },
        "giving up",
    );
    assert!(
        gave_up["done"].as_str().unwrap_or("").contains("given up"),
        "{gave_up}"
    );
    let heals: Vec<Value> = log(&stack)
        .into_iter()
        .filter(|e| {
            e["resource"] == "watch-crash"
                && (e["kind"] == "heal"
                    || e["seen"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("healing failed")))
        })
        .collect();
    assert_eq!(heals.len(), 3, "three heals, then none: {heals:#?}");
    wait_until("the alert", || !webhook.kinds().is_empty());
    assert_eq!(webhook.kinds(), ["watch-crash:failure"]);
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn a_resource_is_destroyed_when_its_max_duration_runs_out_across_watch_restarts() {
    let stack = Stack::new("cw-e2e-watch-expiry");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-brief", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True, max_duration = "6s")
"#
        ),
    );
    let applied = Instant::now();
    stack.ok(&["apply", "--yes"]);
    let plan = stack.ok(&["plan"]);
    assert!(plan.stdout.contains("expires at "), "{}", plan.stdout);
    assert_eq!(
        stack.inspect("watch-brief")["Config"]["Labels"]["dev.clockwork.expires-at"]
            .as_str()
            .map(|s| s.len()),
        Some(10),
        "the expiry is on the container"
    );
    let webhook = Webhook::start();
    // A watch that ends before the expiry, then another: the expiry is the
    // resource's, not the process's.
    drop(watch(&stack, &webhook));
    let _second = watch(&stack, &webhook);
    let expired = wait_for_log(&stack, |e| e["kind"] == "expired", "the expiry");
    let after = applied.elapsed();
    assert!(
        after >= Duration::from_secs(6),
        "not before its time: {after:?}"
    );
    assert!(
        expired["seen"]
            .as_str()
            .unwrap_or("")
            .contains("max_duration (6s)"),
        "{expired}"
    );
    wait_until("the container gone", || stack.containers().is_empty());
    wait_until("the alert", || !webhook.kinds().is_empty());
    assert_eq!(webhook.kinds(), ["watch-brief:expired"]);
    drop(_second);

    // A watch started later does not bring it back.
    let _third = watch(&stack, &webhook);
    wait_for_log(
        &stack,
        |e| e["seen"] == "expired earlier",
        "the third watch to see it",
    );
    assert!(stack.containers().is_empty());
    // `apply` creates it again, with a new expiry.
    stack.ok(&["apply", "--yes"]);
    assert_eq!(stack.containers().len(), 1);
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn the_service_runs_watch_in_the_background_once_and_stops_cleanly() {
    let stack = Stack::new("cw-e2e-service");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "service-web", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let not_yet = stack.run(&["service", "status"]);
    assert_eq!(not_yet.code, 1, "{}", not_yet.stdout);
    // Whatever happens below, no service outlives the test.
    struct StopService<'a>(&'a Stack);
    impl Drop for StopService<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["service", "stop"]);
        }
    }
    let _stop = StopService(&stack);
    let started = stack.ok(&["service", "start"]);
    assert!(
        started.stdout.contains("started the service"),
        "{}",
        started.stdout
    );
    let again = stack.run(&["service", "start"]);
    assert_eq!(again.code, 1);
    assert!(again.stdout.contains("already runs"), "{}", again.stdout);

    // The terminal closing: the service is in a session of its own, so the
    // hangup does not reach it, and one sent to it is ignored.
    let pid: i32 = std::fs::read_to_string(stack.dir.join(".clockwork/service.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    let sid = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = sid
        .rsplit_once(')')
        .map(|(_, r)| r)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        fields.get(3).copied(),
        Some(pid.to_string().as_str()),
        "its own session: {sid}"
    );
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(hup.success());

    docker(&["kill", "service-web"]);
    wait_until("the service to heal it", || {
        let status = stack.run(&["service", "status", "--json"]);
        let v: Value = serde_json::from_str(&status.stdout).unwrap_or_default();
        v["status"]["resources"]["service-web"]["heals"] == 1
            && v["status"]["resources"]["service-web"]["standing"] == "as declared"
    });
    let text = stack.ok(&["service", "status"]).stdout;
    assert!(
        text.contains("service-web") && text.contains("as declared"),
        "{text}"
    );
    let logs = stack.ok(&["service", "logs"]).stdout;
    assert!(logs.contains("service-web: applied again"), "{logs}");

    stack.ok(&["service", "stop"]);
    let after = stack.run(&["service", "status"]);
    assert_eq!(after.code, 1, "{}", after.stdout);
    assert!(
        log(&stack).iter().any(|e| e["seen"] == "stopped (SIGTERM)"),
        "ended cleanly"
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn an_unhealthy_container_is_restarted_which_docker_never_does() {
    let stack = Stack::new("cw-e2e-watch-health");
    // Healthy while /tmp/ok exists; every start creates it.
    stack.write(
        "main.star",
        r#"
web = DockerResource(
    name = "watch-sick",
    image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; while true; do sleep 1; done"],
    healthcheck = {"test": ["CMD-SHELL", "test -e /tmp/ok"], "interval_seconds": 1, "retries": 1},
    restart_policy = "always",
    reconcile = True,
)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    let started_before = stack.inspect("watch-sick")["State"]["StartedAt"].clone();
    docker(&["exec", "watch-sick", "rm", "/tmp/ok"]);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-sick",
        "the unhealthy container",
    );
    assert!(
        drift["seen"]
            .as_str()
            .unwrap_or("")
            .contains("is unhealthy"),
        "{drift}"
    );
    assert!(
        drift["done"]
            .as_str()
            .unwrap_or("")
            .starts_with("restarting"),
        "{drift}"
    );
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "watch-sick",
        "recovery",
    );
    let inspect = stack.inspect("watch-sick");
    assert_eq!(inspect["State"]["Health"]["Status"], "healthy");
    assert_ne!(
        inspect["State"]["StartedAt"], started_before,
        "it was restarted"
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn a_changed_project_file_is_planned_and_applied_only_when_asked() {
    let stack = Stack::new("cw-e2e-watch-edit");
    let main = |mode: &str| {
        format!(
            r#"
web = DockerResource(name = "watch-edit", image = "busybox:latest", command = {QUICK_STOP}, env_vars = {{"MODE": "{mode}"}}, reconcile = True)
"#
        )
    };
    stack.write("main.star", &main("one"));
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    {
        let _watching = watch(&stack, &webhook);
        stack.write("main.star", &main("two"));
        let seen = wait_for_log(
            &stack,
            |e| {
                e["seen"].as_str().is_some_and(|s| {
                    s.contains("changed: replace watch-edit")
                        || s.contains("changed: update watch-edit")
                })
            },
            "the new plan",
        );
        assert!(
            seen["done"]
                .as_str()
                .unwrap_or("")
                .starts_with("not applied"),
            "{seen}"
        );
        assert!(stack.env_of("watch-edit").contains(&"MODE=one".to_string()));
        // It still heals toward what was applied.
        docker(&["kill", "watch-edit"]);
        wait_for_log(
            &stack,
            |e| e["kind"] == "heal" && e["resource"] == "watch-edit",
            "the heal",
        );
        assert!(stack.env_of("watch-edit").contains(&"MODE=one".to_string()));
        // A broken edit is reported; the watch goes on.
        stack.write(
            "main.star",
            "web = DockerResource(name = \"watch-edit\", image = 5)\n",
        );
        wait_for_log(
            &stack,
            |e| {
                e["seen"]
                    .as_str()
                    .is_some_and(|s| s.contains("has problems"))
            },
            "the problem",
        );
    }
    stack.write("main.star", &main("two"));
    let _watching = watch_with(&stack, &["--apply-changes"], &[]);
    stack.write("main.star", &main("three"));
    wait_for_log(
        &stack,
        |e| e["done"] == "applied the changes",
        "the changes applied",
    );
    assert!(
        stack
            .env_of("watch-edit")
            .contains(&"MODE=three".to_string()),
        "{:?}",
        stack.env_of("watch-edit")
    );
    stack.ok(&["destroy", "--yes"]);
}

/// A Unix-socket proxy to the Engine that can drop every connection and
/// refuse new ones, as an Engine restart does to its clients — without
/// restarting the Engine, which would stop every container on the machine.
struct EngineProxy {
    path: std::path::PathBuf,
    down: Arc<std::sync::atomic::AtomicBool>,
    live: Arc<Mutex<Vec<std::os::unix::net::UnixStream>>>,
}

impl EngineProxy {
    fn start(dir: &std::path::Path) -> EngineProxy {
        use std::os::unix::net::{UnixListener, UnixStream};
        let upstream = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
            .unwrap_or_else(|| "/var/run/docker.sock".into());
        let path = dir.join("engine-proxy.sock");
        let listener = UnixListener::bind(&path).expect("bind the proxy");
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let live = Arc::new(Mutex::new(Vec::new()));
        let (d, l) = (down.clone(), live.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                // Checked and registered under the lock `cut` takes, so no
                // connection slips through a cut.
                let mut live = l.lock().expect("lock");
                if d.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = UnixStream::connect(&upstream) else {
                    continue;
                };
                let pairs = [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (
                        server.try_clone().expect("clone"),
                        client.try_clone().expect("clone"),
                    ),
                ];
                live.extend([client, server]);
                drop(live);
                for (mut from, mut to) in pairs {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        EngineProxy { path, down, live }
    }

    fn cut(&self) {
        let mut live = self.live.lock().expect("lock");
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in live.drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn losing_the_engine_is_survived_and_what_happened_meanwhile_is_healed() {
    let stack = Stack::new("cw-e2e-watch-engine");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-lost", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let proxy = EngineProxy::start(stack.dir.parent().expect("root"));
    let _watching = watch_with(
        &stack,
        &[],
        &[("DOCKER_HOST", format!("unix://{}", proxy.path.display()))],
    );
    proxy.cut();
    wait_for_log(
        &stack,
        |e| {
            e["seen"]
                .as_str()
                .is_some_and(|s| s.starts_with("lost the Engine"))
        },
        "the loss",
    );
    // What happens while it is away sends no event it could see.
    docker(&["kill", "watch-lost"]);
    proxy.restore();
    wait_for_log(
        &stack,
        |e| e["kind"] == "heal" && e["resource"] == "watch-lost",
        "the heal after reconnecting",
    );
    wait_until("watch-lost running", || running(&stack, "watch-lost"));
    let said = |prefix: &str| {
        log(&stack)
            .iter()
            .filter(|e| e["seen"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .count()
    };
    assert_eq!(
        said("lost the Engine"),
        1,
        "said once per outage: {:#?}",
        log(&stack)
    );
    assert_eq!(said("the Engine answers again"), 1, "{:#?}", log(&stack));
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn stopped_and_removed_containers_are_healed_and_a_hand_made_one_is_not_touched() {
    let stack = Stack::new("cw-e2e-watch-hands");
    stack.write("clockwork.toml", "[watch]\nbackoff_initial_seconds = 1\n");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-hands", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    let heals = |stack: &Stack| log(stack).iter().filter(|e| e["kind"] == "heal").count();

    docker(&["stop", "-t", "1", "watch-hands"]);
    wait_until("the stopped container healed", || {
        heals(&stack) >= 1 && running(&stack, "watch-hands")
    });
    docker(&["rm", "-f", "watch-hands"]);
    wait_until("the removed container healed", || {
        heals(&stack) >= 2 && running(&stack, "watch-hands")
    });

    // Recreated by hand, without Clockwork's labels: not the project's,
    // so never changed or removed; the watch says why it cannot heal.
    docker(&["rm", "-f", "watch-hands"]);
    docker(&[
        "run",
        "-d",
        "--name",
        "watch-hands",
        "busybox:latest",
        "sleep",
        "300",
    ]);
    let failed = wait_for_log(
        &stack,
        |e| {
            e["kind"] == "failure"
                && e["resource"] == "watch-hands"
                && e["seen"]
                    .as_str()
                    .is_some_and(|s| s.contains("healing failed"))
        },
        "the refusal",
    );
    assert!(
        failed["seen"]
            .as_str()
            .unwrap_or("")
            .contains("watch-hands"),
        "{failed}"
    );
    let inspect = stack.inspect("watch-hands");
    assert_eq!(
        inspect["Config"]["Cmd"][0], "sleep",
        "the hand-made container is untouched"
    );
    docker(&["rm", "-f", "watch-hands"]);
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn an_alert_that_cannot_be_delivered_is_retried_logged_and_not_fatal() {
    let stack = Stack::new("cw-e2e-watch-deaf");
    stack.write("clockwork.toml", "[watch]\nbackoff_initial_seconds = 1\n");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-deaf", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let _watching = watch_with(
        &stack,
        &[],
        &[("CW_ALERT_WEBHOOK", format!("http://{closed}/alerts"))],
    );
    docker(&["kill", "watch-deaf"]);
    wait_for_log(&stack, |e| e["kind"] == "heal", "the heal");
    wait_for_log(
        &stack,
        |e| {
            e["seen"]
                .as_str()
                .is_some_and(|s| s.starts_with("the alert could not be delivered"))
        },
        "the undelivered alert",
    );
    // Still watching: the next kill is healed too.
    let heals = || log(&stack).iter().filter(|e| e["kind"] == "heal").count();
    docker(&["kill", "watch-deaf"]);
    wait_until("a second heal", || heals() >= 2);
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn a_failing_assertion_is_drift_and_is_healed() {
    let stack = Stack::new("cw-e2e-watch-assert");
    stack.write(
        "main.star",
        r#"
web = DockerResource(
    name = "watch-checked",
    image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; while true; do sleep 1; done"],
    reconcile = True,
    check_interval = 1,
    assertions = [PythonAssert(lambda r: (exec(r, ["test", "-e", "/tmp/ok"]).ok, "/tmp/ok is there"), description = "ok file", timeout_seconds = 1)],
)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    docker(&["exec", "watch-checked", "rm", "/tmp/ok"]);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-checked",
        "the failing assertion",
    );
    assert!(
        drift["seen"].as_str().unwrap_or("").contains("fails"),
        "{drift}"
    );
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "watch-checked",
        "recovery",
    );
    let run = stack.run(&["assert"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn on_drift_alert_reports_and_changes_nothing() {
    let stack = Stack::new("cw-e2e-watch-alert-only");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-told", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True, on_drift = "alert")
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    docker(&["kill", "watch-told"]);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-told",
        "the drift",
    );
    assert!(
        drift["done"]
            .as_str()
            .unwrap_or("")
            .starts_with("alerted, not corrected"),
        "{drift}"
    );
    wait_until("the alert", || !webhook.kinds().is_empty());
    assert_eq!(webhook.kinds(), ["watch-told:drift"]);
    assert!(!running(&stack, "watch-told"), "not corrected");
    assert!(!log(&stack).iter().any(|e| e["kind"] == "heal"));
    // Fixed by the user: recovered, and one alert for that.
    stack.ok(&["apply", "--yes"]);
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "watch-told",
        "recovery",
    );
    wait_until("the recovery alert", || webhook.kinds().len() >= 2);
    assert_eq!(
        webhook.kinds(),
        ["watch-told:drift", "watch-told:recovered"]
    );
    stack.ok(&["destroy", "--yes"]);
}

/// An incident its checks found ends when the user fixes it, at the
/// Engine's event, not at the next `check_interval` (an hour here): what
/// the checks found judged a container that has changed since.
#[test]
fn a_fix_by_the_user_ends_a_checked_incident_at_once() {
    let stack = Stack::new("cw-e2e-watch-fixed-by-user");
    // Says `ready` only from its second start on: the plan sees nothing
    // wrong, only its assertion does.
    stack.write(
        "main.star",
        r#"
web = DockerResource(
    name = "watch-fixed",
    image = "busybox:latest",
    command = ["sh", "-c", "if [ -f /tmp/started ]; then echo ready; fi; touch /tmp/started; trap 'exit 0' TERM; while true; do sleep 1; done"],
    reconcile = True,
    on_drift = "alert",
    check_interval = 3600,
    assertions = [LogContainsAssert(pattern = "ready", timeout_seconds = 1)],
)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-fixed",
        "the drift",
    );
    assert!(
        drift["seen"].as_str().unwrap_or("").contains("ready"),
        "{drift}"
    );
    // The user's fix; the watch itself only alerts.
    docker(&["restart", "watch-fixed"]);
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "watch-fixed",
        "recovery",
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn on_drift_ignore_only_records() {
    let stack = Stack::new("cw-e2e-watch-ignore");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-ignored", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True, on_drift = "ignore")
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    docker(&["kill", "watch-ignored"]);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-ignored",
        "the drift",
    );
    assert!(
        drift["done"].as_str().unwrap_or("").starts_with("recorded"),
        "{drift}"
    );
    assert!(!running(&stack, "watch-ignored"), "not corrected");
    assert!(!log(&stack).iter().any(|e| e["kind"] == "heal"));
    // Fixed by the user: recorded too; nothing was ever alerted.
    stack.ok(&["apply", "--yes"]);
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "watch-ignored",
        "recovery",
    );
    assert_eq!(
        webhook.kinds(),
        Vec::<String>::new(),
        "ignore alerts nothing"
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn a_container_changed_with_docker_update_is_made_again_as_declared() {
    let stack = Stack::new("cw-e2e-watch-update");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(name = "watch-update", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let before = stack.id_of("watch-update");
    // The config hash is a label fixed at creation: `docker update` leaves
    // it as it was. `plan` sees the change against what the host recorded.
    docker(&[
        "update",
        "--restart",
        "no",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "watch-update",
    ]);
    let plan = stack.run(&["plan"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("changed outside Clockwork") && plan.stdout.contains("memory"),
        "{}",
        plan.stdout
    );
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-update",
        "the update seen",
    );
    let seen = drift["seen"].as_str().unwrap_or("");
    assert!(
        seen.contains("memory") && seen.contains("restart_policy"),
        "{drift}"
    );
    wait_until("the container made again as declared", || {
        let Some(c) = stack.inspect_if_present("watch-update") else {
            return false;
        };
        c["Id"].as_str().is_some_and(|id| id != before)
            && c["HostConfig"]["Memory"] == 0
            && c["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
            && c["State"]["Running"] == true
    });
    wait_for_log(
        &stack,
        |e| e["kind"] == "heal" && e["resource"] == "watch-update",
        "the heal",
    );
    let journal =
        std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl")).unwrap_or_default();
    let records: Vec<Value> = journal
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &Value| r["resource"] == "watch-update")
        .collect();
    let why = records
        .iter()
        .position(|r| {
            r["action"] == "heal"
                && r["detail"]["why"]
                    .as_str()
                    .is_some_and(|w| w.contains("memory"))
        })
        .unwrap_or_else(|| panic!("the journal says why: {records:#?}"));
    assert!(
        records[why..]
            .iter()
            .any(|r| r["action"] == "remove container watch-update" && r["status"] == "done"),
        "then the replacement: {records:#?}"
    );
    let settled = stack.run(&["plan"]);
    assert!(
        !settled.stdout.contains("changed outside Clockwork"),
        "{}",
        settled.stdout
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn a_file_clockwork_wrote_is_written_again_when_deleted_and_an_edit_is_the_users_unless_overwrite()
{
    let stack = Stack::new("cw-e2e-watch-file");
    // A long interval: a file is seen changed by the watch's own look at
    // what it wrote, every second, not by the next periodic check.
    stack.write(
        "main.star",
        r#"
FileResource(name = "settings.conf", content = "mode = safe\n", reconcile = True, check_interval = 3600)
FileResource(name = "generated.conf", content = "level = 1\n", overwrite = True, reconcile = True, check_interval = 3600)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let mine = stack.dir.join("settings.conf");
    let generated = stack.dir.join("generated.conf");
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    let content = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();

    // Deleted: written again.
    std::fs::remove_file(&mine).expect("delete");
    wait_until("the deleted file written again", || {
        content(&mine) == "mode = safe\n"
    });
    wait_for_log(
        &stack,
        |e| e["kind"] == "recovered" && e["resource"] == "settings.conf",
        "the recovery",
    );

    // Edited by hand: the user's, reported and left as it is; the watch
    // goes on looking after the rest.
    std::fs::write(&mine, "mode = reckless\n").expect("edit");
    let drift = wait_for_log(
        &stack,
        |e| {
            e["kind"] == "drift"
                && e["resource"] == "settings.conf"
                && e["done"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("not corrected"))
        },
        "the edit reported",
    );
    assert!(
        drift["done"]
            .as_str()
            .unwrap_or("")
            .contains("overwrite=True"),
        "{drift}"
    );
    // `overwrite = True` says the file is Clockwork's: an edit is undone.
    std::fs::write(&generated, "level = 99\n").expect("edit");
    wait_until("the generated file written again", || {
        content(&generated) == "level = 1\n"
    });
    assert_eq!(
        content(&mine),
        "mode = reckless\n",
        "the user's edit is kept"
    );
    // The deletion: an alert and its recovery; the edit (looked at again
    // with every later look, the generated file's included): one alert.
    wait_until("the alerts delivered", || {
        webhook
            .kinds()
            .iter()
            .any(|k| k == "generated.conf:recovered")
    });
    let kinds: Vec<String> = webhook
        .kinds()
        .into_iter()
        .filter(|k| k.starts_with("settings.conf:"))
        .collect();
    assert_eq!(
        kinds,
        [
            "settings.conf:drift",
            "settings.conf:recovered",
            "settings.conf:drift"
        ],
        "{:?}",
        webhook.kinds()
    );
    std::fs::remove_file(&mine).expect("clean");
    stack.ok(&["destroy", "--yes"]);
    assert!(!generated.exists(), "destroy removes what Clockwork wrote");
}

#[test]
fn an_implied_check_that_fails_is_drift() {
    let stack = Stack::new("cw-e2e-watch-implied");
    // `web` serves 8080 from a process beside its main one: when that
    // process goes, the container runs as declared, and only the implied
    // check that `app` reaches `web` on its port sees it.
    stack.write(
        "main.star",
        r#"
web = DockerResource(name = "watch-implied-web", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; busybox httpd -p 8080; while true; do sleep 1; done"],
    ports = ["8080"], reconcile = True, check_interval = 1, on_drift = "alert")
app = DockerResource(name = "watch-implied-app", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
    reconcile = True, check_interval = 1, on_drift = "alert")
app.connect(web)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);
    docker(&["exec", "watch-implied-web", "pkill", "-x", "busybox"]);
    let drift = wait_for_log(
        &stack,
        |e| e["kind"] == "drift" && e["resource"] == "watch-implied-app",
        "the implied check failing",
    );
    let seen = drift["seen"].as_str().unwrap_or("");
    assert!(
        seen.contains("implied check") && seen.contains("fails"),
        "{drift}"
    );
    assert!(
        running(&stack, "watch-implied-web"),
        "alert only: nothing changed"
    );
    stack.ok(&["destroy", "--yes"]);
}

/// A file deleted while a check runs, after the check's plan looked, is
/// written again right after that check, not at the next check_interval
/// (an hour here). The check is held at a known point: its HTTP assertion
/// waits on the test's own listener, which answers only once the file is
/// gone.
#[test]
fn a_file_deleted_while_a_check_runs_is_written_again_after_it() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // The first connection is the test's to answer; any later one is
    // answered at once, so no other wait muddles what is measured.
    let (accepted, requests) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = true;
        for mut stream in listener.incoming().map_while(Result::ok) {
            if std::mem::take(&mut first) {
                if accepted.send(stream).is_err() {
                    return;
                }
                continue;
            }
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let stack = Stack::new("cw-e2e-watch-midcheck");
    stack.write(
        "main.star",
        &format!(
            r#"
FileResource(
    name = "mid.conf",
    content = "kept\n",
    reconcile = True,
    check_interval = 3600,
    assertions = [HTTPStatusAssert(url = "http://127.0.0.1:{port}/", expected_status = 200, timeout_seconds = 10)],
)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let file = stack.dir.join("mid.conf");
    let webhook = Webhook::start();
    let _watching = watch(&stack, &webhook);

    // The first check's assertion has connected: its plan is behind it.
    let mut held = requests
        .recv_timeout(Duration::from_secs(60))
        .expect("the check's assertion connects");
    std::fs::remove_file(&file).expect("delete");
    let mut request = [0u8; 1024];
    let _ = held.read(&mut request);
    held.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .expect("answer");
    drop(held);
    wait_until("the file deleted mid-check written again", || {
        std::fs::read_to_string(&file).unwrap_or_default() == "kept\n"
    });
    stack.ok(&["destroy", "--yes"]);
}

/// Issue 25, item 4: waits until the watch has ended by itself, failing
/// as soon as the destroyed project has a container or a network again
/// (healed back). Returns how it ended and the log's last event.
#[track_caller]
fn ended_without_healing_back(
    stack: &Stack,
    watching: &mut Watching,
) -> (std::process::ExitStatus, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (networks, _) = stack.networks_and_volumes();
        assert!(
            stack.containers().is_empty() && networks.is_empty(),
            "the destroyed project was healed back: {:?}, networks {networks:?}; log: {:#?}",
            stack.containers(),
            log(stack)
        );
        if let Some(status) = watching.0.try_wait().expect("wait") {
            let last = log(stack).pop().unwrap_or_default();
            return (status, last);
        }
        assert!(
            Instant::now() < deadline,
            "the watch did not end within 60 s of the destroy; log: {:#?}",
            log(stack)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[track_caller]
fn said_destroyed(event: &Value) {
    assert!(
        event["seen"]
            .as_str()
            .unwrap_or("")
            .starts_with("the project was destroyed (`clockwork destroy`, pid")
            && event["done"]
                .as_str()
                .unwrap_or("")
                .starts_with("stopped watching: a destroyed project is never healed back"),
        "{event:#}"
    );
}

/// A listener on 127.0.0.1 whose next connection, once asked for, is the
/// test's to answer; every other one is answered `200` at once.
struct Gatekeeper {
    port: u16,
    hold: Arc<std::sync::atomic::AtomicBool>,
    held: std::sync::mpsc::Receiver<std::net::TcpStream>,
}

impl Gatekeeper {
    fn start() -> Gatekeeper {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hold = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sender, held) = std::sync::mpsc::channel();
        let holding = hold.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if holding.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    if sender.send(stream).is_err() {
                        return;
                    }
                } else {
                    answer(stream);
                }
            }
        });
        Gatekeeper { port, hold, held }
    }

    fn hold_next(&self) {
        self.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    #[track_caller]
    fn held(&self) -> std::net::TcpStream {
        self.held
            .recv_timeout(Duration::from_secs(60))
            .expect("the check's assertion connects")
    }
}

fn answer(mut stream: std::net::TcpStream) {
    let mut request = [0u8; 1024];
    let _ = stream.read(&mut request);
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

/// A destroy while a check of the watch has already planned to make the
/// resource again (its container was removed; the check is held at its
/// assertion by the test's own listener) is never healed back: the heal
/// is refused under the lock the destroy recorded itself under, and the
/// watch ends saying why. Three rounds, within four minutes.
#[test]
fn a_destroy_while_a_check_has_planned_a_create_is_never_healed_back() {
    let gate = Gatekeeper::start();
    let stack = Stack::new("cw-e2e-watch-destroy-race");
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(
    name = "wdr-web",
    image = "busybox:latest",
    command = {QUICK_STOP},
    reconcile = True,
    check_interval = 3600,
    assertions = [HTTPStatusAssert(url = "http://127.0.0.1:{}/", expected_status = 200, timeout_seconds = 10)],
)
"#,
            gate.port
        ),
    );
    let webhook = Webhook::start();
    let deadline = Instant::now() + Duration::from_secs(240);
    for round in 1..=3 {
        if round > 1 && Instant::now() > deadline {
            break;
        }
        stack.ok(&["apply", "--yes"]);
        docker(&["rm", "-f", "wdr-web"]);
        gate.hold_next();
        let mut watching = watch(&stack, &webhook);
        // The first check's assertion has connected: it planned the
        // create before it.
        let held = gate.held();
        stack.ok(&["destroy", "--yes"]);
        answer(held);
        let (status, last) = ended_without_healing_back(&stack, &mut watching);
        assert!(status.success(), "round {round}: {status}");
        said_destroyed(&last);
    }
}

/// A destroy while the watch waits for its next look ends the watch,
/// saying why, and the project stays destroyed; a watch (or a service)
/// started on the destroyed project refuses, naming the destroy, until
/// `apply` deploys it again.
#[test]
fn a_destroy_ends_the_watch_and_a_destroyed_project_is_not_watched() {
    let stack = Stack::new("cw-e2e-watch-destroyed");
    stack.write(
        "main.star",
        &format!(
            r#"web = DockerResource(name = "wd-web", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    for round in 1..=3 {
        let mut watching = watch(&stack, &webhook);
        stack.ok(&["destroy", "--yes"]);
        let (status, last) = ended_without_healing_back(&stack, &mut watching);
        assert!(status.success(), "round {round}: {status}");
        said_destroyed(&last);
        for refused in [stack.run(&["watch"]), stack.run(&["service", "start"])] {
            assert_eq!(refused.code, 1, "{}", refused.all());
            assert!(
                refused
                    .stderr
                    .contains("the project was destroyed (`clockwork destroy`, pid")
                    && refused
                        .stderr
                        .contains("`clockwork apply` deploys it again"),
                "{}",
                refused.stderr
            );
        }
        assert!(stack.containers().is_empty());
        let not_running = stack.run(&["service", "status"]);
        assert_eq!(not_running.code, 1, "{}", not_running.all());
        stack.ok(&["apply", "--yes"]);
    }
    stack.ok(&["destroy", "--yes"]);
}

/// The background service ends by itself when the project is destroyed,
/// and the project stays destroyed.
#[test]
fn a_destroy_ends_the_service() {
    let stack = Stack::new("cw-e2e-service-destroyed");
    stack.write(
        "main.star",
        &format!(
            r#"web = DockerResource(name = "sd-web", image = "busybox:latest", command = {QUICK_STOP}, reconcile = True)
"#
        ),
    );
    struct StopService<'a>(&'a Stack);
    impl Drop for StopService<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["service", "stop"]);
        }
    }
    let _stop = StopService(&stack);
    stack.ok(&["apply", "--yes"]);
    stack.ok(&["service", "start"]);
    stack.ok(&["destroy", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stack.run(&["service", "status"]).code == 0 {
        assert!(
            stack.containers().is_empty(),
            "healed back: {:?}; log: {:#?}",
            stack.containers(),
            log(&stack)
        );
        assert!(
            Instant::now() < deadline,
            "the service did not end within 60 s; log: {:#?}",
            log(&stack)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    said_destroyed(&log(&stack).pop().unwrap_or_default());
    assert!(stack.containers().is_empty());
    let (networks, _) = stack.networks_and_volumes();
    assert!(networks.is_empty(), "{networks:?}");
}

/// A destroy that comes while the watch is in the middle of a heal (it
/// holds the project lock: the container it made again is not healthy
/// yet, which the test decides) waits for that heal, saying so, instead
/// of being refused; then it removes what the heal made, and the watch
/// ends.
#[test]
fn a_destroy_waits_for_a_heal_in_progress_and_removes_what_it_made() {
    let stack = Stack::new("cw-e2e-watch-destroy-heal");
    // Healthy once the test opens the gate (a file in a bound folder).
    stack.write(
        "main.star",
        &format!(
            r#"
web = DockerResource(
    name = "wdh-web",
    image = "busybox:latest",
    command = {QUICK_STOP},
    volumes = ["./gate:/gate"],
    healthcheck = {{"test": ["CMD-SHELL", "test -e /gate/open"], "interval_seconds": 1, "retries": 1, "start_period_seconds": 600}},
    reconcile = True,
)
"#
        ),
    );
    let gate = stack.dir.join("gate/open");
    stack.write("gate/open", "");
    stack.ok(&["apply", "--yes"]);
    let webhook = Webhook::start();
    let mut watching = watch(&stack, &webhook);
    std::fs::remove_file(&gate).expect("close the gate");
    let before = stack.id_of("wdh-web");
    docker(&["rm", "-f", "wdh-web"]);
    // The heal made it again and waits, under the lock, for it to be
    // healthy.
    wait_until("the heal to make the container again", || {
        stack
            .containers()
            .iter()
            .any(|c| c.name == "wdh-web" && c.id != before)
    });
    let mut destroy = stack.spawn(&["destroy", "--yes"]);
    // Its stderr, line by line, read to the end (a closed pipe would
    // change what it does).
    let (lines, said) = std::sync::mpsc::channel();
    let stderr = destroy.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let waiting = format!("waiting for `clockwork watch` (pid {})", watching.0.id());
    let mut heard = Vec::new();
    while let Ok(line) = said.recv_timeout(Duration::from_secs(60)) {
        heard.push(line);
        if heard.last().is_some_and(|l| l.contains(&waiting)) {
            break;
        }
    }
    assert!(
        heard.iter().any(|l| l.contains(&waiting)),
        "destroy did not wait for the heal: {heard:#?}"
    );
    std::fs::write(&gate, "").expect("open the gate");
    let done = destroy.wait_with_output().expect("destroy ends");
    heard.extend(said.try_iter());
    assert!(
        done.status.success(),
        "{heard:#?}\n{}",
        String::from_utf8_lossy(&done.stdout)
    );
    let (status, last) = ended_without_healing_back(&stack, &mut watching);
    assert!(status.success(), "{status}");
    said_destroyed(&last);
}
