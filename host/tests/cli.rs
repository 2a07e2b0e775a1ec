//! The command line: version, listing, inspecting, `-C`, exit codes.

use serde_json::Value;

use crate::support::{TestProject, clockwork_in, stderr, stdout};

/// The `package` every file of `wit/` declares (they must agree).
fn wit_package() -> String {
    let mut packages: Vec<String> = std::fs::read_dir(crate::support::workspace().join("wit"))
        .expect("wit/")
        .filter_map(|e| std::fs::read_to_string(e.expect("entry").path()).ok())
        .filter_map(|text| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("package "))
                .map(|p| p.trim_end_matches(';').trim().to_string())
        })
        .collect();
    packages.dedup();
    assert_eq!(packages.len(), 1, "the WIT files disagree: {packages:?}");
    packages.remove(0)
}

/// The version of `krate` in the workspace's Cargo.lock.
pub fn locked_version(krate: &str) -> String {
    let lock = std::fs::read_to_string(crate::support::workspace().join("Cargo.lock"))
        .expect("Cargo.lock");
    let wanted = format!("name = \"{krate}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == wanted {
            let version = lines.next().expect("a version line");
            return version
                .trim_start_matches("version = ")
                .trim_matches('"')
                .to_string();
        }
    }
    panic!("{krate} is not locked")
}

#[test]
fn version_names_the_plugin_contract_and_the_wasmtime_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = clockwork_in(dir.path(), &["--version"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        format!(
            "clockwork {} (plugin contract {}, wasmtime {})\n",
            env!("CARGO_PKG_VERSION"),
            wit_package(),
            locked_version("wasmtime")
        )
    );
}

#[test]
fn minus_c_runs_in_another_folder() {
    let project = TestProject::new();
    project.add_plugin("hostile", "hostile.wasm");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let dir = project.dir();
    let output = clockwork_in(
        elsewhere.path(),
        &["-C", dir.to_str().expect("utf-8"), "plugins", "list"],
        &[("XDG_DATA_HOME", elsewhere.path().join("none"))],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let line = out
        .lines()
        .find(|l| l.starts_with("fixture-hostile"))
        .unwrap_or_else(|| panic!("{out}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &columns[..4],
        &["fixture-hostile", "assertion", "0.1.0", "project"]
    );
    assert!(out.starts_with("NAME"), "{out}");

    let missing = clockwork_in(
        elsewhere.path(),
        &["-C", "no/such/folder", "plugins", "list"],
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing)
            .contains("project folder `no/such/folder` does not exist or is not a directory")
    );
}

#[test]
fn inspect_shows_fields_as_a_table_and_as_json() {
    let project = TestProject::new();
    let text = project.clockwork(&["plugins", "inspect", "BlankResource"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let out = stdout(&text);
    assert!(
        out.starts_with("blank-resource 0.1.0 — resource plugin, bundled\n"),
        "{out}"
    );
    assert!(
        out.contains("BlankResource (composite: accepts .add(child))"),
        "{out}"
    );
    let header = out
        .lines()
        .find(|l| l.trim_start().starts_with("FIELD"))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["FIELD", "TYPE", "DEFAULT", "FLAGS", "DESCRIPTION"]
    );
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>()
                == ["connections", "list<connection>", "[]"]),
        "{out}"
    );

    let json = project.clockwork(&["plugins", "inspect", "blank-resource", "--json"]);
    assert_eq!(json.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(v["kind"], "resource");
    assert_eq!(v["types"][0]["name"], "BlankResource");
    assert_eq!(v["types"][0]["traits"]["composite"], true);
    assert_eq!(v["types"][0]["json_schema"]["type"], "object");
    assert_eq!(
        v["types"][0]["json_schema"]["properties"]["assertions"]["default"],
        Value::Array(vec![])
    );
    let names: Vec<&str> = v["types"][0]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    // Its own fields, then the host's reconciliation fields every
    // resource type has.
    assert_eq!(
        names,
        [
            "name",
            "description",
            "connections",
            "assertions",
            "reconcile",
            "check_interval",
            "max_duration",
            "on_drift",
            "alert_on"
        ]
    );
}

#[test]
fn an_unknown_plugin_suggests_the_nearest_name() {
    let project = TestProject::new();
    let output = project.clockwork(&["plugins", "inspect", "BlankResorce"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("no plugin or type named `BlankResorce`"),
        "{err}"
    );
    assert!(err.contains("did you mean `BlankResource`?"), "{err}");
}

#[test]
fn a_bad_command_line_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = clockwork_in(dir.path(), &["plugins", "lsit"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unrecognized subcommand 'lsit'"));
}

#[test]
fn without_an_engine_apply_says_how_to_start_one_and_plan_still_works() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = DockerResource(name=\"web\", image=\"nginx:alpine\")\n",
    );
    let nowhere = format!("unix://{}/no-engine.sock", project.root.path().display());
    let dir = project.dir();
    let run = |args: &[&str]| {
        let mut full = vec!["-C", dir.to_str().expect("utf-8")];
        full.extend_from_slice(args);
        clockwork_in(
            project.root.path(),
            &full,
            &[
                ("XDG_DATA_HOME", project.root.path().join("data")),
                ("DOCKER_HOST", nowhere.clone().into()),
            ],
        )
    };
    let apply = run(&["apply"]);
    assert_eq!(apply.status.code(), Some(1), "{}", stderr(&apply));
    let message = stderr(&apply);
    assert!(
        message.contains(&format!("no Docker Engine answers at {nowhere}"))
            && message.contains("sudo systemctl start docker")
            && message.contains("plan --offline"),
        "{message}"
    );
    assert!(!project.dir().join(".clockwork/state.json").exists());

    let plan = run(&["plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(stdout(&plan).contains("1 to create"), "{}", stdout(&plan));
    assert!(stdout(&plan).contains("not compared with a deployment"));
    assert!(stderr(&plan).contains("no Docker Engine answers"));
    let offline = run(&["plan", "--offline"]);
    assert_eq!(stderr(&offline), "", "--offline does not ask");
}

#[test]
fn apply_of_a_project_with_mistakes_writes_nothing() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = DockerResource(name=\"web\", imgae=\"nginx:alpine\")\n",
    );
    let output = project.clockwork(&["apply"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("did you mean `image`"),
        "{}",
        stderr(&output)
    );
    assert!(!project.dir().join(".clockwork").exists());
}
