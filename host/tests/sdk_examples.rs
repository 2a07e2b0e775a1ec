//! The Rust SDK's numbered examples build to components the host loads.

use std::net::TcpListener;
use std::path::PathBuf;

use clockwork::plugin::PluginKind;
use clockwork::plugin::bindings::assertion::exports::clockwork::plugin::assertions::{
    CheckInput, Verdict,
};

use crate::support::{cargo, load, runtime, target_dir, test_cache, workspace};

fn build_examples() -> PathBuf {
    let target = target_dir().join("sdk-examples");
    let status = cargo()
        .current_dir(workspace())
        .args([
            "build",
            "-p",
            "clockwork-sdk",
            "--examples",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the SDK examples failed");
    target.join("wasm32-wasip2/release/examples")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_numbered_example_loads_and_the_probe_example_checks() {
    let dir = build_examples();
    let rt = runtime(None, None, Some(test_cache()));
    let expected = [
        (
            "_0_minimal_assertion",
            PluginKind::Assertion,
            "AlwaysAssert",
        ),
        (
            "_1_assertion_with_probe",
            PluginKind::Assertion,
            "TcpOpenAssert",
        ),
        ("_2_resource_schema", PluginKind::Resource, "StaticSite"),
        ("_3_connection", PluginKind::Connection, "CacheConnection"),
    ];
    for (file, kind, type_name) in expected {
        let plugin = load(&rt, &dir.join(format!("{file}.wasm"))).await;
        assert_eq!(plugin.kind(), kind, "{file}");
        assert_eq!(plugin.type_names(), [type_name], "{file}");
    }

    let probe = load(&rt, &dir.join("_1_assertion_with_probe.wasm")).await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let check = |port: u16| CheckInput {
        type_name: "TcpOpenAssert".into(),
        config: serde_json::json!({"host": "127.0.0.1", "port": port}).to_string(),
        target: None,
        target_state: None,
        attempt: 1,
        remaining_ms: 2000,
    };
    let open = probe.check(&check(port)).await.expect("call").expect("ran");
    assert_eq!(open.verdict, Verdict::Pass, "{}", open.message);
    drop(listener);
    let closed = probe.check(&check(port)).await.expect("call").expect("ran");
    assert_eq!(closed.verdict, Verdict::Fail, "{}", closed.message);
}
