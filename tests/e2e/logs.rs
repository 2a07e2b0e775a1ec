//! `clockwork logs` on the real Engine: lines of several containers merged
//! by time, each after its resource's name, secrets masked; `--tail`,
//! names, `--json`; and `-f` that keeps following a resource whose
//! container is made again, and one restarted in place.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::stack::Stack;

/// `first` prints, waits until `second` (started after it) answers, then
/// prints again: so `second`'s line is between `first`'s two, in time.
fn declaration(first: &str, second: &str, second_says: &str) -> String {
    format!(
        r#"
first = DockerResource(
    name = "{first}",
    image = "busybox:latest",
    command = ["sh", "-c", "echo first-one; until wget -q -O /dev/null http://{second}:8080/; do sleep 0.2; done; echo first-two; trap 'exit 0' TERM; while true; do sleep 1; done"],
)
second = DockerResource(
    name = "{second}",
    image = "busybox:latest",
    env_vars = {{"API_TOKEN": "tok-logs-secret-4711", "SAYS": "{second_says}"}},
    command = ["sh", "-c", "echo $SAYS; echo token is $API_TOKEN >&2; mkdir -p /www; echo up > /www/index.html; exec busybox httpd -f -p 8080 -h /www"],
)
second.connect(first)
"#
    )
}

/// Lines a child prints, read on a thread.
struct Lines {
    received: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn of(child: &mut std::process::Child) -> Lines {
        Lines::reading(child.stdout.take().expect("stdout"))
    }

    fn reading(stdout: impl std::io::Read + Send + 'static) -> Lines {
        let (send, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Lines {
            received,
            seen: Vec::new(),
        }
    }

    /// Waits until `count` lines end with `text`; panics with what was
    /// seen after a minute.
    fn until(&mut self, text: &str, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.seen.iter().filter(|l| l.ends_with(text)).count() < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.received.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "`logs -f` did not print `{text}` {count} time(s) within a minute; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

#[test]
fn logs_are_merged_by_time_named_and_masked() {
    let stack = Stack::new("cw-e2e-logs");
    stack.write(
        "main.star",
        &declaration("lg-first", "lg-second", "second-one"),
    );
    stack.ok(&["apply", "--yes"]);
    // Both have printed everything they will before `first-two`.
    crate::docker::wait_until("first-two in the logs", Duration::from_secs(60), || {
        stack.run(&["logs"]).stdout.contains("first-two")
    });

    let all = stack.ok(&["logs"]).stdout;
    let lines: Vec<&str> = all.lines().collect();
    let at = |text: &str| {
        lines
            .iter()
            .position(|l| l.ends_with(text))
            .unwrap_or_else(|| panic!("no `{text}` in\n{all}"))
    };
    assert!(
        at("first-one") < at("second-one") && at("second-one") < at("first-two"),
        "not in time order:\n{all}"
    );
    // Names padded to the longest, as `docker compose logs` does.
    assert!(lines.contains(&"lg-first  | first-one"), "{all}");
    assert!(lines.contains(&"lg-second | second-one"), "{all}");
    assert!(lines.contains(&"lg-second | token is ***"), "{all}");
    assert!(!all.contains("tok-logs-secret-4711"), "{all}");
    assert!(
        !all.contains("\x1b["),
        "coloured though not a terminal:\n{all}"
    );

    let one = stack.ok(&["logs", "lg-first", "--tail", "1"]).stdout;
    assert_eq!(one.trim_end(), "lg-first | first-two", "{one}");

    let json = stack.ok(&["logs", "lg-second", "--json"]).stdout;
    let records: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        records.iter().any(|r| r["line"] == "token is ***"
            && r["stream"] == "stderr"
            && r["resource"] == "lg-second"
            && r["time"].as_str().is_some_and(|t| t.ends_with('Z'))),
        "{json}"
    );
    assert!(!json.contains("tok-logs-secret-4711"), "{json}");

    let none = stack
        .ok(&["logs", "--since", "2099-01-01T00:00:00Z"])
        .stdout;
    assert_eq!(none, "", "lines from the future: {none}");

    let wrong = stack.run(&["logs", "lg-secnod"]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("did you mean `lg-second`"),
        "{}",
        wrong.stderr
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn logs_follow_a_container_made_again_and_one_restarted() {
    let stack = Stack::new("cw-e2e-logs-follow");
    stack.write(
        "main.star",
        &declaration("lf-first", "lf-second", "second-one"),
    );
    stack.ok(&["apply", "--yes"]);
    let mut child = stack.spawn(&["logs", "-f", "lf-second"]);
    let mut lines = Lines::of(&mut child);
    lines.until("second-one", 1);

    // A changed variable makes the container again, under a new id.
    let before = stack.id_of("lf-second");
    stack.write(
        "main.star",
        &declaration("lf-first", "lf-second", "second-two"),
    );
    stack.ok(&["apply", "--yes"]);
    assert_ne!(stack.id_of("lf-second"), before, "not made again");
    lines.until("second-two", 1);

    // Restarted in place: the same container says it again, once more.
    stack.ok(&["restart", "lf-second"]);
    lines.until("second-two", 2);
    lines.until("token is ***", 3);

    let _ = child.kill();
    let _ = child.wait();
    let seen = lines.seen.join("\n");
    assert!(!seen.contains("tok-logs-secret-4711"), "{seen}");
    assert!(
        lines.seen.iter().all(|l| l.starts_with("lf-second | ")),
        "{seen}"
    );
    // Nothing shown twice: the restarted container's first run is not repeated.
    assert_eq!(
        lines
            .seen
            .iter()
            .filter(|l| l.ends_with("second-one"))
            .count(),
        1,
        "{seen}"
    );
    stack.ok(&["destroy", "--yes"]);
}

/// A container that starts while the backlog is being printed is followed
/// too: the start events are asked from before the listing, not from when
/// the backlog is through. The backlog here is larger than the pipe, so
/// `logs -f` is held printing it until the test reads; the test starts the
/// stopped container after the first line came, so after the listing.
#[test]
fn logs_follow_a_container_started_while_the_backlog_prints() {
    use crate::docker::{docker_ok, docker_said, wait_until};
    use std::io::Read;

    let stack = Stack::new("cw-e2e-logs-late");
    stack.write(
        "main.star",
        r#"
chatty = DockerResource(
    name = "ll-chatty",
    image = "busybox:latest",
    command = ["sh", "-c", "i=0; while [ $i -lt 4000 ]; do echo \"line $i of the backlog, padded to be long enough\"; i=$((i+1)); done; echo chatty-done; trap 'exit 0' TERM; while true; do sleep 1; done"],
)
late = DockerResource(
    name = "ll-late",
    image = "busybox:latest",
    command = ["sh", "-c", "echo late-says-hello; trap 'exit 0' TERM; while true; do sleep 1; done"],
)
"#,
    );
    stack.ok(&["apply", "--yes"]);
    wait_until(
        "ll-chatty printing its backlog",
        Duration::from_secs(60),
        || docker_ok(&["logs", "--tail", "1", "ll-chatty"]).trim() == "chatty-done",
    );
    assert!(docker_said(&["stop", "ll-late"]).0);

    let mut child = stack.spawn(&["logs", "-f"]);
    let mut stdout = child.stdout.take().expect("stdout");
    // One byte out: the listing is done, and about 200 KB wait in a 64 KiB pipe.
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).expect("logs prints");
    assert!(docker_said(&["start", "ll-late"]).0);
    wait_until("ll-late running again", Duration::from_secs(30), || {
        docker_ok(&["inspect", "-f", "{{.State.Running}}", "ll-late"]).trim() == "true"
    });

    let mut lines = Lines::reading(stdout);
    // Once in the backlog (its first run), once followed (the start).
    lines.until("late-says-hello", 2);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        lines
            .seen
            .iter()
            .filter(|l| l.ends_with("chatty-done"))
            .count(),
        1
    );
    stack.ok(&["destroy", "--yes"]);
}
