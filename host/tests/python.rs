//! The Python SDK example (`sdk/python/example`), built with
//! componentize-py and loaded and called by the real host.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use clockwork::plugin::bindings::assertion::exports::clockwork::plugin::assertions::{
    CheckInput, Verdict,
};
use clockwork::plugin::bindings::types::PluginError;

use crate::support::{load, runtime, target_dir, test_cache, workspace};

fn build_example() -> PathBuf {
    let root = workspace();
    let out = target_dir().join("python-example");
    std::fs::create_dir_all(&out).expect("mkdir");
    let wasm = out.join("body-contains.wasm");
    let status = Command::new("componentize-py")
        .current_dir(&root)
        .args([
            "-d",
            "wit",
            "-w",
            "assertion",
            "componentize",
            "app",
            "-p",
            "sdk/python/example",
            "-o",
        ])
        .arg(&wasm)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "componentize-py is needed for this test (pip install componentize-py==0.25.1): {e}"
            )
        });
    assert!(status.success(), "componentize-py failed");
    wasm
}

/// Serves `body` to every request on a loopback port, on a thread, for a
/// bounded number of requests.
fn serve(body: &'static str, requests: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests).flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                line.clear();
            }
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn input(config: serde_json::Value) -> CheckInput {
    CheckInput {
        type_name: "HttpBodyContainsAssert".into(),
        config: config.to_string(),
        target: None,
        target_state: None,
        attempt: 1,
        remaining_ms: 5000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_builds_loads_and_checks() {
    let wasm = build_example();
    let rt = runtime(None, None, Some(test_cache()));
    let plugin = load(&rt, &wasm).await;
    assert_eq!(plugin.name(), "body-contains");
    assert_eq!(plugin.type_names(), ["HttpBodyContainsAssert"]);
    let schema = &plugin.description.types[0].schema;
    assert!(schema.field("url").is_some_and(|f| f.required));

    // validate: defaults are filled, bad URLs are diagnosed.
    let ok = plugin
        .validate(
            "HttpBodyContainsAssert",
            "check",
            &serde_json::json!({"url": "http://127.0.0.1:1/", "text": "x"}),
        )
        .await
        .expect("call works")
        .expect("valid");
    assert_eq!(ok["timeout_seconds"], 10);
    let bad = plugin
        .validate(
            "HttpBodyContainsAssert",
            "check",
            &serde_json::json!({"url": "ftp://x/"}),
        )
        .await
        .expect("call works")
        .expect_err("invalid");
    let summaries: Vec<&str> = bad.iter().map(|d| d.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "missing required field `text`",
            "`ftp://x/` is not an http:// or https:// URL"
        ]
    );

    // check: through the host's probe import.
    let port = serve("hello from clockwork", 2);
    let url = format!("http://127.0.0.1:{port}/");
    let pass = plugin
        .check(&input(serde_json::json!({"url": url, "text": "clockwork"})))
        .await
        .expect("call")
        .expect("ran");
    assert_eq!(pass.verdict, Verdict::Pass, "{}", pass.message);
    let fail = plugin
        .check(&input(
            serde_json::json!({"url": url, "text": "kubernetes"}),
        ))
        .await
        .expect("call")
        .expect("ran");
    assert_eq!(fail.verdict, Verdict::Fail);
    assert_eq!(fail.actual.as_deref(), Some("hello from clockwork"));

    // The host's grant applies to Python plugins too.
    let outside = plugin
        .check(&input(
            serde_json::json!({"url": "http://192.0.2.1/", "text": "x"}),
        ))
        .await
        .expect("call");
    match outside {
        Err(PluginError::Denied(text)) => assert!(
            text.contains("outside this plugin's network grant"),
            "{text}"
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
}
