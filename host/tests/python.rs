//! The Python SDK (`sdk/python`): the example plugin, which uses the
//! helper package `clockwork_sdk`, built with componentize-py and loaded
//! and called by the real host; and the helper's own unit tests, run
//! with `python3 -m unittest` against the bindings componentize-py
//! generates.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use clockwork::wit::assertion::exports::clockwork::plugin::assertions::{
    CheckInput, Outcome, Verdict,
};
use clockwork::wit::types::{Diagnostic, PluginError, Severity};
use clockwork::{LoadedPlugin, TypeTraits};
use serde_json::{Value, json};

use crate::support::{load, runtime, target_dir, test_cache, workspace};

const TYPE: &str = "HttpBodyContainsAssert";

fn componentize_py() -> Command {
    let mut command = Command::new("componentize-py");
    command.current_dir(workspace());
    command
}

fn run(mut command: Command, what: &str) -> std::process::Output {
    let output = command.output().unwrap_or_else(|e| {
        panic!("{what}: componentize-py and python3 are needed for this test (pip install componentize-py==0.25.1): {e}")
    });
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Copies a folder of Python sources, leaving out `__pycache__`.
fn copy_sources(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read sources") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if entry.file_type().expect("file type").is_dir() {
            copy_sources(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy source");
        }
    }
}

/// Builds the example once per test run, as the README says: the app's
/// folder and `sdk/python` (for `clockwork_sdk`) on the Python path.
///
/// componentize-py runs the module while building and writes `__pycache__`
/// next to the sources, so it builds a copy in the target folder, removed
/// afterwards.
fn example() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let root = workspace();
        let out = target_dir().join("python-example");
        let src = out.join("src");
        let _ = std::fs::remove_dir_all(&src);
        copy_sources(&root.join("sdk/python/example"), &src.join("example"));
        copy_sources(
            &root.join("sdk/python/clockwork_sdk"),
            &src.join("clockwork_sdk"),
        );
        let wasm = out.join("body-contains.wasm");
        let mut command = componentize_py();
        command
            .args(["-d", "wit", "-w", "assertion", "componentize", "app", "-p"])
            .arg(src.join("example"))
            .arg("-p")
            .arg(&src)
            .arg("-o")
            .arg(&wasm);
        run(command, "componentize-py componentize");
        let _ = std::fs::remove_dir_all(&src);
        wasm
    })
}

async fn load_example() -> LoadedPlugin {
    let rt = runtime(None, None, Some(test_cache()));
    load(&rt, example()).await
}

/// Answers `requests` requests on a loopback port, on a thread, with
/// `respond(request head)`: a status and a body.
fn serve(requests: usize, respond: fn(&str) -> (u16, String)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests).flatten() {
            let mut reader = BufReader::new(&stream);
            let (mut head, mut line) = (String::new(), String::new());
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                head.push_str(&line);
                line.clear();
            }
            let (status, body) = respond(&head);
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Status\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn input(config: Value) -> CheckInput {
    CheckInput {
        type_name: TYPE.into(),
        config: config.to_string(),
        target: None,
        target_state: None,
        attempt: 1,
        remaining_ms: 5000,
    }
}

async fn check(plugin: &LoadedPlugin, config: Value) -> Result<Outcome, PluginError> {
    plugin.check(&input(config)).await.expect("call works")
}

/// The diagnostics `validate` returns for `config`; panics when it accepts it.
async fn rejected(plugin: &LoadedPlugin, type_name: &str, config: Value) -> Vec<Diagnostic> {
    plugin
        .validate(type_name, "check", &config)
        .await
        .expect("call works")
        .expect_err("invalid")
}

/// (summary, path, detail) of errors.
fn errors(diagnostics: &[Diagnostic]) -> Vec<(&str, Option<&str>, Option<&str>)> {
    assert!(
        diagnostics.iter().all(|d| d.severity == Severity::Error),
        "{diagnostics:?}"
    );
    diagnostics
        .iter()
        .map(|d| (d.summary.as_str(), d.path.as_deref(), d.detail.as_deref()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_describes_its_type_from_the_helpers_declarations() {
    let plugin = load_example().await;
    assert_eq!(plugin.name(), "body-contains");
    assert_eq!(plugin.description.meta.version, "0.1.0");
    assert_eq!(plugin.type_names(), [TYPE]);
    let info = &plugin.description.types[0];
    assert_eq!(
        info.traits,
        TypeTraits::Assertion {
            default_timeout_ms: 10_000,
            retryable: true
        }
    );
    let schema = &info.schema;
    assert!(schema.problems().is_empty(), "{:?}", schema.problems());
    let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    // `name`, `description` and `timeout_seconds` are added by `AssertionDef`.
    assert_eq!(
        names,
        [
            "url",
            "text",
            "bearer_token",
            "name",
            "description",
            "timeout_seconds"
        ]
    );
    let field = |name: &str| schema.field(name).expect("declared");
    let url = field("url");
    assert!(url.required && !url.secret && url.default.is_none());
    assert_eq!(url.value_type, "string");
    assert_eq!(url.examples, [r#""http://localhost:8080/health""#]);
    assert!(field("text").required);
    let token = field("bearer_token");
    assert!(token.secret && !token.required && token.default.is_none());
    assert!(!field("description").required);
    assert!(field("description").doc.starts_with("What this is for"));
    let timeout = field("timeout_seconds");
    assert_eq!(timeout.value_type, "int");
    assert_eq!(timeout.default.as_deref(), Some("10"));
    assert!(!timeout.required && !timeout.completable && !timeout.forces_replace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_validates_with_the_helper() {
    let plugin = load_example().await;

    // A good config comes back as written plus the declared default, and
    // nothing else (no `description`, no `bearer_token`).
    let ok = plugin
        .validate(
            TYPE,
            "check",
            &json!({"url": "http://127.0.0.1:1/", "text": "x"}),
        )
        .await
        .expect("call works")
        .expect("valid");
    assert_eq!(
        ok,
        json!({"url": "http://127.0.0.1:1/", "text": "x", "timeout_seconds": 10})
    );
    let written = json!({"url": "https://x/", "text": "x", "bearer_token": "t", "description": "d", "timeout_seconds": 3});
    let same = plugin
        .validate(TYPE, "check", &written)
        .await
        .expect("call works")
        .expect("valid");
    assert_eq!(same, written);

    // An unknown field: named, located, with the nearest field as a hint;
    // every problem is reported, not just the first.
    let typo = rejected(
        &plugin,
        TYPE,
        json!({"url": "http://127.0.0.1:1/", "txet": "x"}),
    )
    .await;
    assert_eq!(
        errors(&typo),
        [
            (
                "`txet` is not a field of `HttpBodyContainsAssert`",
                Some("/txet"),
                Some("did you mean `text`?")
            ),
            ("missing required field `text`", None, None),
        ]
    );
    let far = rejected(
        &plugin,
        TYPE,
        json!({"url": "http://x/", "text": "x", "kubernetes": 1}),
    )
    .await;
    assert_eq!(
        errors(&far),
        [(
            "`kubernetes` is not a field of `HttpBodyContainsAssert`",
            Some("/kubernetes"),
            Some("its fields are: url, text, bearer_token, name, description, timeout_seconds")
        )]
    );

    // Wrong types, in the host's words and in declaration order (the host
    // sends keys sorted); a secret's value is not repeated, and the
    // plugin's own URL rule does not see a URL that is no string.
    let types = rejected(
        &plugin,
        TYPE,
        json!({"url": 5, "text": "x", "timeout_seconds": "10", "bearer_token": 12345}),
    )
    .await;
    assert_eq!(
        errors(&types),
        [
            (
                "`url` expects a string, got an integer (5)",
                Some("/url"),
                None
            ),
            (
                "`bearer_token` expects a string, got an integer",
                Some("/bearer_token"),
                None
            ),
            (
                "`timeout_seconds` expects an integer, got a string (\"10\")",
                Some("/timeout_seconds"),
                None
            ),
        ]
    );
    assert!(!format!("{types:?}").contains("12345"), "{types:?}");

    // Missing required fields, in declaration order.
    let empty = rejected(&plugin, TYPE, json!({})).await;
    assert_eq!(
        errors(&empty),
        [
            ("missing required field `url`", None, None),
            ("missing required field `text`", None, None),
        ]
    );

    // The schema's problems, then the plugin's own (`check_config`).
    let ftp = rejected(&plugin, TYPE, json!({"url": "ftp://x/"})).await;
    assert_eq!(
        errors(&ftp),
        [
            ("missing required field `text`", None, None),
            (
                "`ftp://x/` is not an http:// or https:// URL",
                Some("/url"),
                None
            ),
        ]
    );

    // A warning alone is still returned (the host then accepts the config).
    let warned = rejected(&plugin, TYPE, json!({"url": "http://x/", "text": ""})).await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].severity, Severity::Warning);
    assert_eq!(warned[0].path.as_deref(), Some("/text"));

    // Not an object, and a type the plugin does not have.
    let list = rejected(&plugin, TYPE, json!([1])).await;
    assert_eq!(
        errors(&list),
        [("config must be a JSON object, got a list ([1])", None, None)]
    );
    let unknown = rejected(&plugin, "HttpBodyContainAssert", json!({})).await;
    assert_eq!(
        errors(&unknown),
        [(
            "this plugin has no type `HttpBodyContainAssert`",
            None,
            Some("did you mean `HttpBodyContainsAssert`?")
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_checks_through_the_hosts_probe() {
    let plugin = load_example().await;

    let port = serve(2, |_| (200, "hello from clockwork".into()));
    let url = format!("http://127.0.0.1:{port}/");
    let pass = check(&plugin, json!({"url": url, "text": "clockwork"}))
        .await
        .expect("ran");
    assert_eq!(pass.verdict, Verdict::Pass, "{}", pass.message);
    let details: Value = serde_json::from_str(&pass.details).expect("details are JSON");
    assert_eq!(details["status"], 200);
    assert!(pass.timings.iter().any(|(name, _)| name == "total"));
    let fail = check(&plugin, json!({"url": url, "text": "kubernetes"}))
        .await
        .expect("ran");
    assert_eq!(fail.verdict, Verdict::Fail);
    assert_eq!(fail.actual.as_deref(), Some("hello from clockwork"));
    assert_eq!(
        fail.expected.as_deref(),
        Some("a body containing 'kubernetes'")
    );

    // The secret field reaches the request: the server answers with the
    // request's head, so the check passes only when the header was sent.
    let echo = serve(2, |head| (200, head.to_string()));
    let url = format!("http://127.0.0.1:{echo}/");
    let sent = check(
        &plugin,
        json!({"url": url, "text": "Bearer s3cret", "bearer_token": "s3cret"}),
    )
    .await
    .expect("ran");
    assert_eq!(sent.verdict, Verdict::Pass, "{}", sent.message);
    let not_sent = check(&plugin, json!({"url": url, "text": "Bearer"}))
        .await
        .expect("ran");
    assert_eq!(not_sent.verdict, Verdict::Fail, "{:?}", not_sent.actual);

    // A server error means the check could not run: an error, not a failure.
    let broken = serve(1, |_| (503, "busy".into()));
    let url = format!("http://127.0.0.1:{broken}/");
    match check(&plugin, json!({"url": url, "text": "ok"})).await {
        Err(PluginError::Failed(text)) => assert_eq!(text, format!("{url} answered 503")),
        other => panic!("expected a failure to run, got {other:?}"),
    }

    // The host's grant applies to Python plugins too.
    match check(&plugin, json!({"url": "http://192.0.2.1/", "text": "x"})).await {
        Err(PluginError::Denied(text)) => assert!(
            text.contains("outside this plugin's network grant"),
            "{text}"
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// `sdk/python/tests`, with the bindings componentize-py generates for the
/// assertion world on the path. `-B` keeps `__pycache__` out of the tree.
#[test]
fn the_python_helper_passes_its_unit_tests() {
    let root = workspace();
    let bindings = target_dir().join("python-bindings").join("assertion");
    let _ = std::fs::remove_dir_all(&bindings);
    let mut generate = componentize_py();
    generate
        .args(["-d", "wit", "-w", "assertion", "bindings"])
        .arg(&bindings);
    run(generate, "componentize-py bindings");
    let path = std::env::join_paths([bindings, root.join("sdk/python")]).expect("path");
    let mut unittest = Command::new("python3");
    unittest
        .current_dir(&root)
        .args([
            "-B",
            "-m",
            "unittest",
            "discover",
            "-v",
            "-s",
            "sdk/python/tests",
        ])
        .env("PYTHONPATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run(unittest, "python3 -m unittest");
    let report = String::from_utf8_lossy(&output.stderr);
    let ran: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no test count in:\n{report}"));
    assert!(ran >= 19, "only {ran} Python tests ran:\n{report}");
}
