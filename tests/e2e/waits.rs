//! The waits the plugin contract lists, carried out by the host against
//! the real Engine: a line in a container's output, and an HTTP answer on
//! a published port.

use crate::stack::Stack;

fn waiting(name: &str, reach: &str) -> Stack {
    let stack = Stack::new(name);
    std::fs::copy(
        crate::fixtures::fixture("overreaching-resource"),
        stack.dir.join("plugins/overreaching.wasm"),
    )
    .expect("copy");
    // A port is published only when the user writes it.
    let ports = match reach.split_once(':') {
        Some(("http-wait", port)) => format!(", ports=[\"127.0.0.1:{port}:80\"]"),
        _ => String::new(),
    };
    stack.write(
        "main.star",
        &format!("w = OverreachingResource(name=\"{name}\", reach=\"{reach}\"{ports})\n"),
    );
    stack
}

#[test]
fn a_log_line_wait_ends_when_the_line_is_printed_and_fails_when_it_never_is() {
    let stack = waiting("cwt-wait-log", "log-wait");
    let run = stack.ok(&["apply"]);
    assert!(
        run.stdout.contains("✓ cwt-wait-log: created"),
        "{}",
        run.all()
    );
    let journal =
        std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl")).expect("journal");
    let waited = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|r| r["action"] == "wait" && r["status"] == "done");
    assert!(waited, "{journal}");
    stack.ok(&["destroy", "--yes"]);

    let never = waiting("cwt-wait-never", "log-wait-never");
    let run = never.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout
            .contains("printed no line with `never-printed` within 3000 ms"),
        "{}",
        run.stdout
    );
    never.ok(&["destroy", "--yes"]);
}

#[test]
fn an_http_wait_ends_when_the_published_port_answers() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let stack = waiting("cwt-wait-http", &format!("http-wait:{port}"));
    let run = stack.ok(&["apply"]);
    assert!(
        run.stdout.contains("✓ cwt-wait-http: created"),
        "{}",
        run.all()
    );
    stack.ok(&["destroy", "--yes"]);
}
