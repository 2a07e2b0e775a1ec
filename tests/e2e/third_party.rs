//! Third-party assertion plugins, dropped into a project's `plugins/`
//! folder, run by the real `clockwork assert` exactly as the bundled types
//! do: the Python SDK's example (`sdk/python/example`, built with
//! componentize-py) and a Rust plugin built with `clockwork-sdk` as a crate
//! of its own (`tests/fixtures/third-party-rust-assertion`). Each passes
//! where it holds and fails saying what it expected and saw, in the text
//! and JSON reports and the exit code, next to a bundled check doing the
//! same against the same server, a real one on 127.0.0.1.
//!
//! No Docker Engine is needed: the checks only reach loopback.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::assert::{by_name, check};
use crate::stack::{Run, target_dir, workspace};

const PYTHON_TYPE: &str = "HttpBodyContainsAssert";
const RUST_TYPE: &str = "HttpHeaderAssert";
/// What the test server answers on `/`.
const BODY: &str = "hello from clockwork";
const SERVED_BY: &str = "clockwork-e2e";

// ---------------------------------------------------------------------
// Building the two plugins, once per run, cached by their sources' hash.

/// 64-bit FNV-1a, enough to tell one set of sources from another.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Every file under each of `paths` (files or folders, relative to the
    /// workspace), by relative path and content, in path order; `__pycache__`
    /// and `target` folders are left out.
    fn tree(&mut self, paths: &[&str]) {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            if dir.is_file() {
                out.push(dir.to_path_buf());
                return;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name == "__pycache__" || name == "target" {
                    continue;
                }
                walk(&entry.path(), out);
            }
        }
        let root = workspace();
        let mut files = Vec::new();
        for path in paths {
            walk(&root.join(path), &mut files);
        }
        files.sort();
        for file in files {
            let relative = file.strip_prefix(&root).unwrap_or(&file);
            self.bytes(relative.to_string_lossy().as_bytes());
            self.bytes(&std::fs::read(&file).expect("read a source file"));
        }
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// `target/third-party-plugins/<name>-<hash>.wasm`, built by `build` into
/// the path it is given when that file is not there yet. Older builds of
/// the same plugin are removed.
fn cached(name: &str, hash: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = target_dir().join("third-party-plugins");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let wasm = dir.join(format!("{name}-{hash}.wasm"));
    if wasm.is_file() {
        return wasm;
    }
    // Built beside it and renamed, so that a run stopped half way, or two
    // runs at once, never leave a partial file under the final name.
    let partial = dir.join(format!("{name}-{hash}.{}.partial", std::process::id()));
    build(&partial);
    assert!(partial.is_file(), "building {name} wrote no component");
    std::fs::rename(&partial, &wasm).expect("rename the built component");
    for entry in std::fs::read_dir(&dir).expect("list").flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&format!("{name}-")) && file.ends_with(".wasm") && entry.path() != wasm
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    wasm
}

fn run_tool(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what} could not run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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

/// The Python SDK's example, built as its README says:
/// `componentize-py -d wit -w assertion componentize app -p sdk/python/example -p sdk/python`.
/// componentize-py runs the module while building and writes `__pycache__`
/// beside the sources, so it builds a copy in a temporary folder.
fn python_plugin() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let version = Command::new("componentize-py")
            .arg("--version")
            .output()
            .unwrap_or_else(|e| {
                panic!("componentize-py is needed for this test (scripts/ensure-python-tools.sh installs it): {e}")
            });
        let mut hash = Fnv::new();
        hash.bytes(&version.stdout);
        hash.tree(&["wit", "sdk/python/example", "sdk/python/clockwork_sdk"]);
        cached("body-contains", &hash.hex(), |out| {
            let root = workspace();
            let src = tempfile::tempdir_in(target_dir()).expect("temp dir");
            let src = src.path();
            copy_sources(&root.join("sdk/python/example"), &src.join("example"));
            copy_sources(
                &root.join("sdk/python/clockwork_sdk"),
                &src.join("clockwork_sdk"),
            );
            let mut command = Command::new("componentize-py");
            command
                .current_dir(&root)
                .args(["-d", "wit", "-w", "assertion", "componentize", "app", "-p"])
                .arg(src.join("example"))
                .arg("-p")
                .arg(src)
                .arg("-o")
                .arg(out);
            run_tool(command, "componentize-py componentize");
        })
    })
}

/// The Rust fixture crate, which has a `[workspace]` of its own, built as
/// its author would: `cargo build --target wasm32-wasip2 --release`,
/// without the outer build's cargo settings. It builds into
/// `target/fixtures`, beside `host/tests/fixtures` (`fixtures.rs`): the same
/// release profile and dependency versions, so the SDK and its
/// dependencies compiled for those are reused (a second or so, not ~40 s).
fn rust_plugin() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let crate_dir = "tests/fixtures/third-party-rust-assertion";
        let mut hash = Fnv::new();
        // The SDK, what it is generated from, and the workspace settings
        // (versions, edition) the SDK inherits.
        hash.tree(&[
            "Cargo.toml",
            "wit",
            "sdk/Cargo.toml",
            "sdk/src",
            "sdk/schema",
            crate_dir,
        ]);
        cached("acme-http-header", &hash.hex(), |out| {
            let target = target_dir().join("fixtures");
            // `--target-dir` below wins over the kept CARGO_TARGET_DIR.
            let mut cargo = crate::fixtures::cargo();
            cargo
                .args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-wasip2",
                    "--manifest-path",
                ])
                .arg(workspace().join(crate_dir).join("Cargo.toml"))
                .arg("--target-dir")
                .arg(&target);
            run_tool(cargo, "building the third-party Rust plugin");
            let built = target.join("wasm32-wasip2/release/acme_http_header.wasm");
            std::fs::copy(&built, out).expect("copy the built component");
        })
    })
}

// ---------------------------------------------------------------------
// A project, a server, and reading the reports.

/// A project folder with the given plugin files in its `plugins/`, run
/// through the real CLI with an empty user plugin folder.
struct Project {
    _root: tempfile::TempDir,
    dir: PathBuf,
}

impl Project {
    fn new(name: &str, plugins: &[(&str, &Path)]) -> Project {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join(name);
        std::fs::create_dir_all(dir.join("plugins")).expect("mkdir");
        std::fs::create_dir_all(root.path().join("data")).expect("mkdir");
        for (file, wasm) in plugins {
            std::fs::copy(wasm, dir.join("plugins").join(file)).expect("copy plugin");
        }
        Project { _root: root, dir }
    }

    fn main_star(&self, text: &str) {
        std::fs::write(self.dir.join("main.star"), text).expect("write main.star");
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_clockwork-under-test"))
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .env(
                "XDG_DATA_HOME",
                self.dir.parent().expect("root").join("data"),
            )
            .env("CW_CACHE_DIR", target_dir().join("test-plugin-cache"))
            .env_remove("CW_PARALLELISM")
            .output()
            .expect("clockwork runs");
        Run::from(output)
    }

    /// `clockwork assert --format json`: the exit code and the report.
    fn assert_json(&self) -> (i32, Value) {
        let run = self.run(&["assert", "--format", "json"]);
        let report = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "the report is not JSON: {e}\n{}\n{}",
                run.stdout, run.stderr
            )
        });
        (run.code, report)
    }

    /// The project plugins `clockwork plugins list --json` shows, by name.
    fn project_plugins(&self) -> BTreeMap<String, Value> {
        let run = self.run(&["plugins", "list", "--json"]);
        assert_eq!(run.code, 0, "{}", run.all());
        let list: Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(list["problems"], serde_json::json!([]), "{list:#}");
        list["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .filter(|p| p["source"] == "project")
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_string(),
                    p.clone(),
                )
            })
            .collect()
    }
}

/// Serves HTTP on a loopback port for the rest of the test run: `/echo`
/// answers with the request's head, anything else with [`BODY`] and an
/// `x-served-by: clockwork-e2e` header.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::new(&stream);
                let (mut head, mut line) = (String::new(), String::new());
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n"
                {
                    head.push_str(&line);
                    line.clear();
                }
                let body = if head.starts_with("GET /echo ") {
                    head.clone()
                } else {
                    BODY.to_string()
                };
                let mut stream = &stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-served-by: {SERVED_BY}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// Asserts the check passed at its first attempt, as a declared check of
/// `type_name` whose message is `message`.
#[track_caller]
fn passed(checks: &BTreeMap<String, Value>, name: &str, type_name: &str, message: &str) {
    let c = check(checks, name);
    assert_eq!(c["verdict"], "pass", "{name}: {c:#}");
    assert_eq!(c["type"], type_name, "{name}: {c:#}");
    assert_eq!(c["origin"], "declared", "{name}: {c:#}");
    assert_eq!(c["message"], message, "{name}: {c:#}");
    assert_eq!(c["attempts"], 1, "{name}: {c:#}");
    assert!(
        c["expected"].is_null() && c["actual"].is_null(),
        "{name}: {c:#}"
    );
}

/// Asserts the check failed with exactly this message, expected and
/// actual, after retrying (each failing case has a 1 s timeout).
#[track_caller]
fn failed(
    checks: &BTreeMap<String, Value>,
    name: &str,
    type_name: &str,
    message: &str,
    expected: &str,
    actual: &str,
) {
    let c = check(checks, name);
    assert_eq!(c["verdict"], "fail", "{name}: {c:#}");
    assert_eq!(c["type"], type_name, "{name}: {c:#}");
    assert_eq!(c["origin"], "declared", "{name}: {c:#}");
    assert_eq!(c["message"], message, "{name}: {c:#}");
    assert_eq!(c["expected"], expected, "{name}: {c:#}");
    assert_eq!(c["actual"], actual, "{name}: {c:#}");
    // A retryable type's failing check is tried again until its timeout.
    assert!(
        c["attempts"].as_u64().unwrap_or(0) >= 2,
        "{name} was not retried: {c:#}"
    );
    let ms = c["duration_ms"].as_f64().unwrap_or(0.0);
    assert!(
        (900.0..10_000.0).contains(&ms),
        "{name} failed after {ms} ms, not at its 1 s timeout"
    );
}

/// The bundled `HTTPStatusAssert` of `{url}` with `expected_status = 200`
/// passed, reported as the third-party checks are.
#[track_caller]
fn bundled_passed(checks: &BTreeMap<String, Value>, url: &str) {
    let c = check(checks, "bundled-pass");
    assert_eq!(c["verdict"], "pass", "{c:#}");
    assert_eq!(c["origin"], "declared", "{c:#}");
    assert_eq!(c["attempts"], 1, "{c:#}");
    assert!(
        c["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("GET {url} returned 200 in "))),
        "{c:#}"
    );
}

/// The bundled `HTTPStatusAssert` of `{url}` with `expected_status = 404`
/// failed, with the same checks as the third-party failures.
#[track_caller]
fn bundled_failed(checks: &BTreeMap<String, Value>, url: &str) {
    failed(
        checks,
        "bundled-fail",
        "HTTPStatusAssert",
        &format!("GET {url}: expected 404, got 200"),
        "status 404",
        &format!("status 200, body {BODY:?}"),
    );
}

/// The summary's counts: (passed, failed, errors).
#[track_caller]
fn summary(report: &Value, passed: u64, failed: u64, errors: u64) {
    let s = &report["summary"];
    let count = |key: &str| s[key].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        (count("passed"), count("failed"), count("errors")),
        (passed, failed, errors),
        "{s:#}"
    );
}

/// A line of the text report that holds every one of `parts`.
#[track_caller]
fn line_with(stdout: &str, parts: &[&str]) {
    assert!(
        stdout.lines().any(|l| parts.iter().all(|p| l.contains(p))),
        "no line holds {parts:?} in:\n{stdout}"
    );
}

// ---------------------------------------------------------------------

/// The Python example from `plugins/`: `plugins list` shows it as the
/// project's; a run where it holds passes (exit 0) and one where it does
/// not fails (exit 1), saying what it expected and saw, as the bundled
/// `HTTPStatusAssert` next to it does; the secret it sends never shows.
#[test]
fn a_python_assertion_plugin_in_plugins_passes_and_fails_like_a_bundled_one() {
    let project = Project::new(
        "cw-e2e-third-party-python",
        &[("body-contains.wasm", python_plugin())],
    );
    let plugins = project.project_plugins();
    let plugin = check(&plugins, "body-contains");
    assert_eq!(plugin["kind"], "assertion", "{plugin:#}");
    assert_eq!(
        plugin["types"],
        serde_json::json!([PYTHON_TYPE]),
        "{plugin:#}"
    );
    assert!(
        plugin["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("plugins/body-contains.wasm")),
        "{plugin:#}"
    );

    let port = serve();
    let url = format!("http://127.0.0.1:{port}/");
    let passing = format!(
        r#"
HttpBodyContainsAssert(description = "py-pass", url = "{url}", text = "clockwork")
HttpBodyContainsAssert(description = "py-token-sent", url = "{url}echo", text = "Bearer tp-token-4711", bearer_token = "tp-token-4711")
HTTPStatusAssert(description = "bundled-pass", url = "{url}", expected_status = 200)
"#
    );
    project.main_star(&passing);
    let (code, report) = project.assert_json();
    assert_eq!(code, 0, "{report:#}");
    summary(&report, 3, 0, 0);
    let checks = by_name(&report);
    passed(
        &checks,
        "py-pass",
        PYTHON_TYPE,
        &format!("body of {url} contains 'clockwork'"),
    );
    let py = check(&checks, "py-pass");
    assert_eq!(py["details"]["status"], 200, "{py:#}");
    assert!(py["timings_us"]["total"].is_u64(), "{py:#}");
    assert!(
        py["declared_at"]
            .as_str()
            .is_some_and(|at| at.starts_with("main.star:2")),
        "{py:#}"
    );
    // The server echoes the request head: the secret field reached the
    // request, and the report masks it wherever it shows.
    passed(
        &checks,
        "py-token-sent",
        PYTHON_TYPE,
        &format!("body of {url}echo contains 'Bearer ***'"),
    );
    bundled_passed(&checks, &url);

    let text = project.run(&["assert"]);
    assert_eq!(text.code, 0, "{}", text.all());
    line_with(&text.stdout, &["✓ ", &format!("{PYTHON_TYPE} (py-pass)")]);
    line_with(&text.stdout, &["✓ ", "HTTPStatusAssert (bundled-pass)"]);
    line_with(&text.stdout, &["3 assertions: 3 passed"]);

    project.main_star(&format!(
        r#"{passing}
HttpBodyContainsAssert(description = "py-fail", url = "{url}", text = "kubernetes", timeout_seconds = 1)
HttpBodyContainsAssert(description = "py-token-fail", url = "{url}echo", text = "never in the head", bearer_token = "tp-token-4711", timeout_seconds = 1)
HTTPStatusAssert(description = "bundled-fail", url = "{url}", expected_status = 404, timeout_seconds = 1)
"#
    ));
    let run = project.run(&["assert", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    summary(&report, 3, 3, 0);
    let checks = by_name(&report);
    failed(
        &checks,
        "py-fail",
        PYTHON_TYPE,
        &format!("body of {url} does not contain 'kubernetes'"),
        "a body containing 'kubernetes'",
        BODY,
    );
    let token_fail = check(&checks, "py-token-fail");
    assert_eq!(token_fail["verdict"], "fail", "{token_fail:#}");
    assert!(
        token_fail["actual"]
            .as_str()
            .is_some_and(|a| a.starts_with("GET /echo HTTP/1.1")),
        "{token_fail:#}"
    );
    bundled_failed(&checks, &url);
    for name in ["py-pass", "py-token-sent", "bundled-pass"] {
        assert_eq!(check(&checks, name)["verdict"], "pass", "{name}");
    }
    assert!(
        !run.all().contains("tp-token-4711"),
        "the secret leaked:\n{}",
        run.all()
    );

    let text = project.run(&["assert"]);
    assert_eq!(text.code, 1, "{}", text.all());
    line_with(
        &text.stdout,
        &[
            "✗ ",
            &format!("{PYTHON_TYPE} (py-fail)"),
            &format!("body of {url} does not contain 'kubernetes'"),
            "attempts",
        ],
    );
    line_with(
        &text.stdout,
        &["    expected  a body containing 'kubernetes'"],
    );
    line_with(&text.stdout, &[&format!("    actual    {BODY} (total ")]);
    line_with(&text.stdout, &["✗ ", "HTTPStatusAssert (bundled-fail)"]);
    line_with(&text.stdout, &["6 assertions: 3 passed, 3 failed"]);
    assert!(!text.all().contains("tp-token-4711"), "{}", text.all());
}

/// The Rust plugin, built outside the workspace with `clockwork-sdk`, from
/// `plugins/`: passes (exit 0) and fails (exit 1) with its own expected and
/// actual, as the bundled type next to it does; a URL outside the grant is
/// an error, as it is for bundled plugins.
#[test]
fn a_rust_assertion_plugin_in_plugins_passes_and_fails_like_a_bundled_one() {
    let project = Project::new(
        "cw-e2e-third-party-rust",
        &[("acme-http-header.wasm", rust_plugin())],
    );
    let plugins = project.project_plugins();
    let plugin = check(&plugins, "acme-http-header");
    assert_eq!(plugin["kind"], "assertion", "{plugin:#}");
    assert_eq!(plugin["version"], "0.3.1", "{plugin:#}");
    assert_eq!(
        plugin["types"],
        serde_json::json!([RUST_TYPE]),
        "{plugin:#}"
    );

    let port = serve();
    let url = format!("http://127.0.0.1:{port}/");
    let passing = format!(
        r#"
HttpHeaderAssert(description = "rs-pass", url = "{url}", header = "X-Served-By", equals = "{SERVED_BY}")
HTTPStatusAssert(description = "bundled-pass", url = "{url}", expected_status = 200)
"#
    );
    project.main_star(&passing);
    let (code, report) = project.assert_json();
    assert_eq!(code, 0, "{report:#}");
    summary(&report, 2, 0, 0);
    let checks = by_name(&report);
    passed(
        &checks,
        "rs-pass",
        RUST_TYPE,
        &format!("{url} answered `x-served-by: {SERVED_BY}`"),
    );
    let rs = check(&checks, "rs-pass");
    assert_eq!(
        rs["details"],
        serde_json::json!({"status": 200, "header": "x-served-by", "seen": [SERVED_BY]}),
        "{rs:#}"
    );
    assert!(rs["timings_us"]["total"].is_u64(), "{rs:#}");
    assert!(rs["timings_us"]["first_byte"].is_u64(), "{rs:#}");
    bundled_passed(&checks, &url);

    let text = project.run(&["assert"]);
    assert_eq!(text.code, 0, "{}", text.all());
    line_with(&text.stdout, &["✓ ", &format!("{RUST_TYPE} (rs-pass)")]);
    line_with(&text.stdout, &["2 assertions: 2 passed"]);

    project.main_star(&format!(
        r#"{passing}
HttpHeaderAssert(description = "rs-wrong-value", url = "{url}", header = "x-served-by", equals = "nginx", timeout_seconds = 1)
HttpHeaderAssert(description = "rs-no-header", url = "{url}", header = "x-request-id", equals = "42", timeout_seconds = 1)
HTTPStatusAssert(description = "bundled-fail", url = "{url}", expected_status = 404, timeout_seconds = 1)
"#
    ));
    let (code, report) = project.assert_json();
    assert_eq!(code, 1, "{report:#}");
    summary(&report, 2, 3, 0);
    let checks = by_name(&report);
    failed(
        &checks,
        "rs-wrong-value",
        RUST_TYPE,
        &format!("{url} answered `x-served-by: {SERVED_BY}`"),
        "x-served-by: nginx",
        &format!("x-served-by: {SERVED_BY}"),
    );
    failed(
        &checks,
        "rs-no-header",
        RUST_TYPE,
        &format!("{url} sent no `x-request-id` header"),
        "x-request-id: 42",
        "no `x-request-id` header (status 200)",
    );
    bundled_failed(&checks, &url);
    assert_eq!(check(&checks, "rs-pass")["verdict"], "pass");

    let text = project.run(&["assert"]);
    assert_eq!(text.code, 1, "{}", text.all());
    line_with(
        &text.stdout,
        &[
            "✗ ",
            &format!("{RUST_TYPE} (rs-wrong-value)"),
            &format!("{url} answered `x-served-by: {SERVED_BY}`"),
        ],
    );
    line_with(&text.stdout, &["    expected  x-served-by: nginx"]);
    line_with(
        &text.stdout,
        &[&format!("    actual    x-served-by: {SERVED_BY} (total ")],
    );
    line_with(&text.stdout, &["5 assertions: 2 passed, 3 failed"]);

    // The host's network grant holds for a project plugin: an address that
    // is neither loopback nor a project container is refused, once, as an
    // error (TEST-NET-1, so nothing would answer anyway).
    project.main_star(
        r#"
HttpHeaderAssert(description = "rs-denied", url = "http://192.0.2.1/", header = "server", equals = "x", timeout_seconds = 5)
"#,
    );
    let (code, report) = project.assert_json();
    assert_eq!(code, 1, "{report:#}");
    summary(&report, 0, 0, 1);
    let denied = check(&by_name(&report), "rs-denied").clone();
    assert_eq!(denied["verdict"], "error", "{denied:#}");
    assert_eq!(denied["attempts"], 1, "{denied:#}");
    assert!(
        denied["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside this plugin's network grant")),
        "{denied:#}"
    );
}

/// Both third-party plugins in one project, beside the bundled ones: they
/// load side by side and a run of both passes.
#[test]
fn both_third_party_plugins_run_side_by_side_in_one_project() {
    let project = Project::new(
        "cw-e2e-third-party-both",
        &[
            ("acme-http-header.wasm", rust_plugin()),
            ("body-contains.wasm", python_plugin()),
        ],
    );
    let plugins = project.project_plugins();
    assert_eq!(
        plugins.keys().collect::<Vec<_>>(),
        ["acme-http-header", "body-contains"],
        "{plugins:#?}"
    );
    let port = serve();
    let url = format!("http://127.0.0.1:{port}/");
    project.main_star(&format!(
        r#"
HttpBodyContainsAssert(description = "py", url = "{url}", text = "hello")
HttpHeaderAssert(description = "rs", url = "{url}", header = "content-type", equals = "text/plain")
"#
    ));
    let (code, report) = project.assert_json();
    assert_eq!(code, 0, "{report:#}");
    summary(&report, 2, 0, 0);
    let checks = by_name(&report);
    passed(
        &checks,
        "py",
        PYTHON_TYPE,
        &format!("body of {url} contains 'hello'"),
    );
    passed(
        &checks,
        "rs",
        RUST_TYPE,
        &format!("{url} answered `content-type: text/plain`"),
    );
}
