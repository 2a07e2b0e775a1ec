//! Hostile plugins: each misbehaviour ends in a clear error within its
//! deadline, and the next call of the same plugin works.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use clockwork::wit::assertion::exports::clockwork::plugin::assertions::{
    CheckInput, Outcome, Verdict,
};
use clockwork::wit::types::PluginError;
use clockwork::{CallError, CallFailure, Limits, LoadedPlugin};

use crate::support::{fixture, load, runtime, test_cache};

const DEADLINE: Duration = Duration::from_millis(1500);

fn limits() -> Limits {
    Limits {
        memory_bytes: 64 << 20,
        call_timeout: DEADLINE,
        output_bytes: 1 << 20,
        result_bytes: 4 << 20,
    }
}

fn input(type_name: &str, config: serde_json::Value) -> CheckInput {
    CheckInput {
        type_name: type_name.into(),
        config: config.to_string(),
        target: None,
        target_state: None,
        attempt: 1,
        remaining_ms: 1000,
    }
}

async fn hostile() -> (tempfile::TempDir, LoadedPlugin) {
    let project = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(project.path().join(".clockwork")).expect("mkdir");
    std::fs::write(
        project.path().join(".clockwork/state.json"),
        "{\"secret\": true}",
    )
    .expect("write");
    let rt = runtime(
        Some(project.path().to_path_buf()),
        Some(limits()),
        Some(test_cache()),
    );
    let plugin = load(&rt, &fixture("hostile")).await;
    (project, plugin)
}

/// Runs one hostile check, checks it ended within the deadline, then checks
/// that the same plugin still answers.
async fn misbehave(
    plugin: &LoadedPlugin,
    type_name: &str,
    config: serde_json::Value,
) -> Result<Result<Outcome, PluginError>, CallError> {
    let started = Instant::now();
    let result = plugin.check(&input(type_name, config)).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < DEADLINE + Duration::from_millis(500),
        "{type_name} took {elapsed:?}, past its deadline"
    );
    let next = plugin
        .check(&input("FineAssert", serde_json::json!({})))
        .await;
    match next {
        Ok(Ok(outcome)) => assert_eq!(outcome.verdict, Verdict::Pass, "the call after {type_name}"),
        other => panic!("the call after {type_name} failed: {other:?}"),
    }
    result
}

fn call_error(result: Result<Result<Outcome, PluginError>, CallError>) -> CallError {
    match result {
        Err(e) => e,
        Ok(other) => panic!("expected a call error, got {other:?}"),
    }
}

fn denied(result: Result<Result<Outcome, PluginError>, CallError>) -> String {
    match result {
        Ok(Err(PluginError::Denied(text))) => text,
        other => panic!("expected the plugin to be denied, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_stopped_at_its_deadline() {
    let (_project, plugin) = hostile().await;
    let e = call_error(misbehave(&plugin, "SpinAssert", serde_json::json!({})).await);
    assert!(
        matches!(e.failure, CallFailure::Timeout { limit_ms: 1500 }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "plugin `fixture-hostile` ran past its 1500 ms deadline and was stopped in `check`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_hits_the_memory_cap() {
    let (_project, plugin) = hostile().await;
    let e = call_error(misbehave(&plugin, "HogAssert", serde_json::json!({})).await);
    assert!(
        matches!(e.failure, CallFailure::OutOfMemory { limit_mib: 64 }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "plugin `fixture-hostile` ran out of memory (limit 64 MiB) in `check`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_reported_with_its_message() {
    let (_project, plugin) = hostile().await;
    let e = call_error(misbehave(&plugin, "PanicAssert", serde_json::json!({})).await);
    let CallFailure::Trap { message, .. } = &e.failure else {
        panic!("expected a trap, got {e}")
    };
    assert!(
        message.ends_with("hostile plugin panics on purpose"),
        "{message}"
    );
    assert!(message.starts_with("panicked at "), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_megabytes_of_output_is_cut_off() {
    let (_project, plugin) = hostile().await;
    let e = call_error(misbehave(&plugin, "FloodAssert", serde_json::json!({})).await);
    assert!(
        matches!(
            e.failure,
            CallFailure::OutputLimit {
                stream: "stdout",
                limit_kib: 1024
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "plugin `fixture-hostile` wrote more than 1024 KiB to stdout and was stopped in `check`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_overflows_the_stack_cleanly() {
    let (_project, plugin) = hostile().await;
    let e = call_error(misbehave(&plugin, "RecurseAssert", serde_json::json!({})).await);
    assert!(matches!(e.failure, CallFailure::StackOverflow), "{e}");
    assert_eq!(
        e.to_string(),
        "plugin `fixture-hostile` overflowed its stack in `check`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_off_the_shadow_stack_names_the_function() {
    let (_project, plugin) = hostile().await;
    let e = call_error(misbehave(&plugin, "ShadowStackAssert", serde_json::json!({})).await);
    assert_eq!(
        e.to_string(),
        "plugin `fixture-hostile` trapped: wasm trap: out of bounds memory access in `fixture_hostile::recurse_deep_frames` in `check`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etc_passwd_and_the_state_folder_are_out_of_reach() {
    let (_project, plugin) = hostile().await;
    let text = denied(misbehave(&plugin, "ReadPasswdAssert", serde_json::json!({})).await);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    // WASI has no preopened directories: no absolute path exists at all.
    assert_eq!(
        lines[0], "std::fs /etc/passwd: No such file or directory (os error 44)",
        "{text}"
    );
    assert!(lines[1].starts_with("std::fs list /etc/passwd:"), "{text}");
    assert!(
        lines[4].contains("`/etc/passwd` is absolute; paths are relative to a granted root"),
        "{text}"
    );
    assert!(
        lines[5].contains("leaves its root (`..` is not allowed)"),
        "{text}"
    );
    assert!(
        lines[6].contains("`.clockwork/` holds Clockwork's state and is not readable by plugins"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_home_is_out_of_reach() {
    let (_project, plugin) = hostile().await;
    let text = denied(misbehave(&plugin, "ReadHomeAssert", serde_json::json!({})).await);
    assert!(
        text.contains("std::fs /root: No such file or directory (os error 44)"),
        "{text}"
    );
    assert!(
        text.contains("root `home` is not granted; granted roots: project"),
        "{text}"
    );
    assert!(
        text.contains("`../../root/.bashrc` leaves its root"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_cannot_be_opened_and_nothing_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let (_project, plugin) = hostile().await;
    let text = denied(misbehave(&plugin, "SocketAssert", serde_json::json!({"port": port})).await);
    assert!(
        text.starts_with(&format!("socket to 127.0.0.1:{port}: ")),
        "{text}"
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the plugin reached the listener: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_outside_the_grant_are_denied_before_anything_is_sent() {
    let (_project, plugin) = hostile().await;
    let text = denied(misbehave(&plugin, "ProbeOutsideAssert", serde_json::json!({})).await);
    assert_eq!(
        text,
        "HostError::Denied(\"`192.0.2.1` is outside this plugin's network grant (loopback and this project's containers)\")"
    );
}
