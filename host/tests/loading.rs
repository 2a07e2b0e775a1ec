//! Finding and loading plugins: bad files are reported with their name and
//! reason and do not stop the others; clashes need the project's word; the
//! compiled-component cache is rebuilt, never trusted, when damaged.

use clockwork::CacheOutcome;
use serde_json::Value;

use crate::support::{TestProject, deferring_runtime, fixture, load, runtime, stderr, stdout};

fn list_json(project: &TestProject) -> (i32, Value) {
    let output = project.clockwork(&["plugins", "list", "--json"]);
    let json: Value = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    (output.status.code().unwrap_or(-1), json)
}

fn problem<'a>(json: &'a Value, file_suffix: &str) -> &'a str {
    json["problems"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["file"].as_str().is_some_and(|f| f.ends_with(file_suffix)))
        })
        .and_then(|p| p["reason"].as_str())
        .unwrap_or_else(|| panic!("no problem reported for {file_suffix}: {json:#}"))
}

fn plugin<'a>(json: &'a Value, name: &str) -> Option<&'a Value> {
    json["plugins"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
}

#[test]
fn every_bundled_plugin_loads_with_a_valid_description() {
    let project = TestProject::new();
    let (code, json) = list_json(&project);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["problems"], Value::Array(vec![]));
    let plugins = json["plugins"].as_array().expect("plugins");
    let bundled: Vec<&str> = clockwork::bundled_plugins()
        .iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(plugins.len(), bundled.len());
    for p in plugins {
        assert_eq!(p["source"], "bundled");
        assert!(
            ["resource", "connection", "assertion"].contains(&p["kind"].as_str().unwrap_or("")),
            "{p}"
        );
        assert!(!p["types"].as_array().expect("types").is_empty(), "{p}");
        assert!(bundled.contains(&p["name"].as_str().unwrap_or("")), "{p}");
    }
}

/// A plugin reaches only what its component imports: the file checks
/// cannot touch Docker, the HTTP checks cannot run commands, no resource
/// or connection plugin probes the network.
#[test]
fn each_bundled_plugin_imports_only_what_its_work_needs() {
    let project = TestProject::new();
    let imports = |name: &str| -> Vec<String> {
        let output = project.clockwork(&["plugins", "inspect", name, "--json"]);
        let json: Value = serde_json::from_str(&stdout(&output))
            .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
        json["imports"]
            .as_array()
            .unwrap_or_else(|| panic!("no imports in {json:#}"))
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(imports("file-assertions"), ["clock", "fs"]);
    assert_eq!(imports("http-assertions"), ["clock", "fs", "probe"]);
    assert_eq!(imports("environment-assertions"), ["docker"]);
    assert_eq!(imports("database-assertions"), ["docker", "exec"]);
    // User checks get every assertion import and nothing more.
    assert_eq!(
        imports("starlark-assertions"),
        ["clock", "docker", "exec", "fs", "log", "probe"]
    );
    for name in [
        "docker-resource",
        "file-resource",
        "database-connection",
        "service-mesh-connection",
    ] {
        let found = imports(name);
        assert!(
            !found
                .iter()
                .any(|i| ["probe", "docker", "exec"].contains(&i.as_str())),
            "{name} imports {found:?}"
        );
    }
}

#[test]
fn bad_plugin_files_are_reported_and_the_rest_load() {
    let project = TestProject::new();
    project.write("plugins/notes.wasm", "these are my notes, not wasm");
    project.write("plugins/core-module.wasm", b"\0asm\x01\0\0\0");
    project.add_plugin("not-a-plugin", "command.wasm");
    project.add_plugin("bad-duplicate-field", "duplicate.wasm");
    project.add_plugin("bad-unknown-type", "unknown-type.wasm");
    project.add_plugin("greedy-resource", "greedy.wasm");
    project.add_plugin("slow-describe", "slow.wasm");
    project.add_plugin("hostile", "hostile.wasm");
    project.write("plugins/README.txt", "ignored: not a .wasm file");

    let (code, json) = list_json(&project);
    assert_eq!(code, 2, "a broken plugin makes the project invalid");
    assert_eq!(
        json["problems"].as_array().map(Vec::len),
        Some(7),
        "{json:#}"
    );
    assert_eq!(
        problem(&json, "notes.wasm"),
        "not a WebAssembly component: the file does not start with the `\\0asm` magic"
    );
    assert!(
        problem(&json, "core-module.wasm")
            .starts_with("a core WebAssembly module, not a component")
    );
    assert!(
        problem(&json, "command.wasm")
            .starts_with("not a Clockwork plugin: it exports `wasi:cli/run@0.2."),
        "{}",
        problem(&json, "command.wasm")
    );
    assert_eq!(
        problem(&json, "duplicate.wasm"),
        "invalid `describe` result: DuplicateResource: field `port` is declared twice"
    );
    assert!(
        problem(&json, "unknown-type.wasm").starts_with(
            "invalid `describe` result: OddConnection: field `socket`: invalid value type `socket`: unknown type `socket`"
        ),
        "{}",
        problem(&json, "unknown-type.wasm")
    );
    assert_eq!(
        problem(&json, "greedy.wasm"),
        "imports `clockwork:plugin/probe@0.2.0`, which resource plugins are not granted (they may import: types, log, clock, fs)"
    );
    assert!(
        problem(&json, "slow.wasm").starts_with("plugin `")
            && problem(&json, "slow.wasm").contains("deadline and was stopped in `describe`"),
        "{}",
        problem(&json, "slow.wasm")
    );
    // The good plugins are all there.
    assert!(plugin(&json, "fixture-hostile").is_some_and(|p| p["source"] == "project"));
    assert!(plugin(&json, "blank-resource").is_some_and(|p| p["source"] == "bundled"));

    let text = project.clockwork(&["plugins", "list"]);
    assert_eq!(text.status.code(), Some(2));
    let out = stdout(&text);
    assert!(out.contains("7 plugin files could not be used:"), "{out}");
    assert!(
        out.contains("duplicate.wasm (project): invalid `describe` result"),
        "{out}"
    );
}

#[test]
fn user_plugins_are_discovered() {
    let project = TestProject::new();
    std::fs::copy(
        fixture("hostile"),
        project.user_plugins().join("hostile.wasm"),
    )
    .expect("copy");
    let (code, json) = list_json(&project);
    assert_eq!(code, 0, "{json:#}");
    let hostile = plugin(&json, "fixture-hostile").expect("user plugin listed");
    assert_eq!(hostile["source"], "user");
    assert_eq!(hostile["kind"], "assertion");
    assert!(
        hostile["types"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "SpinAssert"))
    );
}

#[test]
fn a_clash_with_a_bundled_plugin_needs_the_projects_word() {
    let project = TestProject::new();
    project.add_plugin("clashing-blank", "blank.wasm");
    let (code, json) = list_json(&project);
    assert_eq!(code, 2);
    assert_eq!(
        problem(&json, "blank.wasm"),
        "type `BlankResource` is also provided by bundled plugin `blank-resource`; say which wins in clockwork.toml:\n  [plugins.prefer]\n  BlankResource = \"project\"   # or \"bundled\""
    );
    assert_eq!(
        plugin(&json, "blank-resource").map(|p| &p["source"]),
        Some(&Value::from("bundled"))
    );

    project.write(
        "clockwork.toml",
        "[plugins.prefer]\nBlankResource = \"project\"\n",
    );
    let (code, json) = list_json(&project);
    assert_eq!(code, 0, "{json:#}");
    assert!(
        plugin(&json, "blank-resource").is_none(),
        "the bundled one is replaced"
    );
    assert_eq!(
        plugin(&json, "fixture-clashing-blank").map(|p| &p["source"]),
        Some(&Value::from("project"))
    );
    assert_eq!(json["overrides"].as_array().map(Vec::len), Some(1));

    project.write(
        "clockwork.toml",
        "[plugins.prefer]\nBlankResource = \"bundled\"\n",
    );
    let (code, json) = list_json(&project);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(
        plugin(&json, "blank-resource").map(|p| &p["source"]),
        Some(&Value::from("bundled"))
    );
    assert!(plugin(&json, "fixture-clashing-blank").is_none());
}

#[test]
fn a_typo_in_clockwork_toml_is_an_error_with_its_location() {
    let project = TestProject::new();
    project.write(
        "clockwork.toml",
        "[plugins]\nprefers = { BlankResource = \"project\" }\n",
    );
    let output = project.clockwork(&["plugins", "list"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(
            "clockwork.toml: line 2, column 1: unknown field `prefers`, expected `prefer`"
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_cache_entry_is_rebuilt_not_trusted() {
    let cache = tempfile::tempdir().expect("temp dir");
    let path = fixture("hostile");
    let first = load(
        &runtime(None, None, Some(cache.path().to_path_buf())),
        &path,
    )
    .await;
    assert_eq!(first.cache, CacheOutcome::Compiled);
    let second = load(
        &runtime(None, None, Some(cache.path().to_path_buf())),
        &path,
    )
    .await;
    assert_eq!(second.cache, CacheOutcome::Hit);

    let rt = runtime(None, None, Some(cache.path().to_path_buf()));
    let entry = rt
        .cache()
        .expect("cache")
        .dir()
        .join(format!("{}.cwasm", first.origin.digest));
    let mut bytes = std::fs::read(&entry).expect("entry exists");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).expect("corrupt");
    let rebuilt = load(&rt, &path).await;
    assert_eq!(
        rebuilt.cache,
        CacheOutcome::Rebuilt(
            "cache entry does not match its digest (corrupt or truncated)".into()
        )
    );
    assert_eq!(
        load(&rt, &path).await.cache,
        CacheOutcome::Hit,
        "the rebuilt entry is stored"
    );

    std::fs::write(&entry, b"garbage").expect("truncate");
    assert_eq!(
        load(&rt, &path).await.cache,
        CacheOutcome::Rebuilt("cache entry has no valid header".into())
    );

    // An entry from another engine configuration lives in another folder,
    // so it is never even read.
    let key_dir = rt.cache().expect("cache").dir().to_path_buf();
    assert!(
        key_dir.starts_with(cache.path().join(format!(
            "wasmtime-{}",
            crate::cli::locked_version("wasmtime")
        ))),
        "{}",
        key_dir.display()
    );
}

/// The CLI's runtime takes a plugin's description from the cache and
/// compiles the component at its first call: the call works, a damaged
/// compiled entry is rebuilt then, and a description of another build or a
/// damaged one is not trusted (the component is described again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_described_from_the_cache_is_compiled_at_its_first_call() {
    let cache = tempfile::tempdir().expect("temp dir");
    let path = bundled_file(cache.path(), "blank-resource");
    let first = load(&deferring_runtime(cache.path().to_path_buf()), &path).await;
    assert_eq!(first.cache, CacheOutcome::Compiled);
    assert!(first.sandbox.is_linked());

    let rt = deferring_runtime(cache.path().to_path_buf());
    let key_dir = rt.cache().expect("cache").dir().to_path_buf();
    let described = load(&rt, &path).await;
    assert_eq!(described.cache, CacheOutcome::Described);
    assert!(!described.sandbox.is_linked(), "compiled before any call");
    assert_eq!(described.description, first.description);
    assert_eq!(described.imports, first.imports);
    let config = serde_json::json!({"name": "web"});
    described
        .validate("BlankResource", "web", &config)
        .await
        .expect("the call works")
        .expect("valid");
    assert!(described.sandbox.is_linked());

    // A damaged compiled entry is found at the first call, and rebuilt.
    let entry = key_dir.join(format!("{}.cwasm", first.origin.digest));
    let mut bytes = std::fs::read(&entry).expect("entry exists");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).expect("corrupt");
    let described = load(&rt, &path).await;
    assert_eq!(described.cache, CacheOutcome::Described);
    described
        .validate("BlankResource", "web", &config)
        .await
        .expect("the call works on a rebuilt entry")
        .expect("valid");
    assert_ne!(std::fs::read(&entry).expect("entry"), bytes, "not rebuilt");

    // A description another build wrote, or a damaged one, is not used.
    let description = key_dir.join(format!("{}.describe.json", first.origin.digest));
    let text = std::fs::read_to_string(&description).expect("description stored");
    let mut other: Value = serde_json::from_str(&text).expect("JSON");
    other["host"] = Value::from("0.0.0 another build");
    std::fs::write(&description, other.to_string()).expect("write");
    assert_eq!(load(&rt, &path).await.cache, CacheOutcome::Hit);
    assert_eq!(load(&rt, &path).await.cache, CacheOutcome::Described);
    std::fs::write(&description, "{\"host\": ").expect("truncate");
    assert_eq!(load(&rt, &path).await.cache, CacheOutcome::Hit);

    // Reading a description keeps it recent: eviction goes oldest first,
    // and a plugin only described (as `status` does) is still in use.
    assert_eq!(load(&rt, &path).await.cache, CacheOutcome::Described);
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .append(true)
        .open(&description)
        .and_then(|f| f.set_modified(two_hours_ago))
        .expect("age the description");
    assert_eq!(load(&rt, &path).await.cache, CacheOutcome::Described);
    let modified = std::fs::metadata(&description)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert!(modified > two_hours_ago + std::time::Duration::from_secs(3600));
}

/// A bundled plugin's component, written to a file in `dir`.
fn bundled_file(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let plugin = clockwork::bundled_plugins()
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is bundled"));
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, plugin.wasm).expect("write");
    path
}
