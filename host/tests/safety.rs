//! Issue 10's cases that need no Docker Engine: symbolic links out of the
//! project, project files that are not files, declarations made anywhere,
//! secrets in every message, state files of another format.

use std::os::unix::fs::symlink;

use serde_json::Value;

use crate::support::{TestProject, stderr, stdout};

/// `clockwork plan --offline` in `project`, with `env` set.
fn plan(project: &TestProject, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut full = vec!["plan", "--offline"];
    full.extend_from_slice(args);
    let dir = project.dir();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_clockwork"));
    command
        .current_dir(project.root.path())
        .arg("-C")
        .arg(&dir)
        .args(&full)
        .env("HOME", project.root.path())
        .env("XDG_DATA_HOME", project.root.path().join("data"))
        .env("CW_CACHE_DIR", crate::support::test_cache())
        .env_remove("XDG_CACHE_HOME");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("clockwork runs")
}

/// The message of a failed plan, with the temporary folders named.
fn failure(project: &TestProject, outside: &std::path::Path) -> String {
    let output = plan(project, &[], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let dir = project
        .dir()
        .canonicalize()
        .expect("dir")
        .display()
        .to_string();
    stderr(&output)
        .replace(&outside.display().to_string(), "[outside]")
        .replace(&dir, "[project]")
}

#[test]
fn a_project_file_linking_out_of_the_project_is_refused() {
    let project = TestProject::new();
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(
        outside.path().join("main.star"),
        "web = DockerResource(image = \"nginx:alpine\")\n",
    )
    .expect("write");
    symlink(
        outside.path().join("main.star"),
        project.dir().join("main.star"),
    )
    .expect("link");
    insta::assert_snapshot!(failure(&project, outside.path()));
}

#[test]
fn a_loaded_file_linking_out_of_the_project_is_refused_at_the_load() {
    let project = TestProject::new();
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(
        outside.path().join("lib.star"),
        "db = DockerResource(image = \"postgres:15-alpine\")\n",
    )
    .expect("write");
    symlink(
        outside.path().join("lib.star"),
        project.dir().join("lib.star"),
    )
    .expect("link");
    project.write("main.star", "load(\"lib.star\", \"db\")\n");
    insta::assert_snapshot!(failure(&project, outside.path()));
}

#[test]
fn a_link_inside_the_project_is_followed() {
    let project = TestProject::new();
    project.write(
        "lib/real.star",
        "db = DockerResource(image = \"postgres:15-alpine\")\n",
    );
    symlink("lib/real.star", project.dir().join("lib.star")).expect("link");
    project.write("main.star", "load(\"lib.star\", \"db\")\n");
    let output = plan(&project, &["--json"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_env_file_linking_out_is_refused_and_its_values_never_read() {
    let project = TestProject::new();
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(
        outside.path().join("secrets.env"),
        "DB_PASSWORD=from-outside\n",
    )
    .expect("write");
    symlink(
        outside.path().join("secrets.env"),
        project.dir().join(".env"),
    )
    .expect("link");
    project.write(
        "main.star",
        "db = DockerResource(image = \"postgres:15-alpine\")\n",
    );
    let message = failure(&project, outside.path());
    assert!(!message.contains("from-outside"), "{message}");
    insta::assert_snapshot!(message);
}

#[test]
fn a_plugin_file_linking_out_is_listed_as_a_problem() {
    let project = TestProject::new();
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::copy(
        crate::support::fixture("hostile"),
        outside.path().join("x.wasm"),
    )
    .expect("copy");
    symlink(
        outside.path().join("x.wasm"),
        project.dir().join("plugins/x.wasm"),
    )
    .expect("link");
    project.write(
        "main.star",
        "web = DockerResource(image = \"nginx:alpine\")\n",
    );
    let message = failure(&project, outside.path());
    assert!(
        message.contains("plugins/x.wasm") && message.contains("outside the project folder"),
        "{message}"
    );
}

#[test]
fn a_state_folder_linking_out_is_never_written_through() {
    let project = TestProject::new();
    let outside = tempfile::tempdir().expect("tmp");
    symlink(outside.path(), project.dir().join(".clockwork")).expect("link");
    project.write(
        "main.star",
        "web = DockerResource(image = \"nginx:alpine\")\n",
    );
    let output = plan(&project, &[], &[]);
    assert_ne!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("symbolic link `.clockwork`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_dir(outside.path()).expect("dir").count(), 0);
}

#[test]
fn project_files_that_are_not_files_are_named_as_such() {
    let outside = tempfile::tempdir().expect("tmp");
    let folder = TestProject::new();
    std::fs::create_dir(folder.dir().join("main.star")).expect("mkdir");
    let fifo = TestProject::new();
    let made = std::process::Command::new("mkfifo")
        .arg(fifo.dir().join("main.star"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let dangling = TestProject::new();
    symlink("gone.star", dangling.dir().join("main.star")).expect("link");
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        failure(&folder, outside.path()),
        failure(&fifo, outside.path()),
        failure(&dangling, outside.path())
    ));
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "\u{feff}web = DockerResource(image = \"nginx:alpine\")\n",
    );
    let output = plan(&project, &["--json"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(plan["resources"][0]["name"], "web");
}

fn names(project: &TestProject) -> Vec<String> {
    let output = plan(project, &["--json"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json");
    let mut names: Vec<String> = plan["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn declarations_made_in_loops_functions_and_inline_are_all_planned() {
    let project = TestProject::new();
    project.write(
        "lib.star",
        "def cache(name):\n    return DockerResource(name = name, image = \"redis:7-alpine\")\n\nshared = DockerResource(name = \"from-lib\", image = \"nginx:alpine\")\n",
    );
    project.write(
        "main.star",
        r#"load("lib.star", "cache")

for i in range(3):
    DockerResource(name = "worker-%d" % i, image = "busybox:latest")

def make():
    DockerResource(name = "made-in-a-function", image = "busybox:latest")

make()
cache("cache-a")
api = DockerResource(image = "nginx:alpine")
api.connect(DockerResource(name = "inline", image = "busybox:latest"))
"#,
    );
    assert_eq!(
        names(&project),
        [
            "api",
            "cache-a",
            "from-lib",
            "inline",
            "made-in-a-function",
            "worker-0",
            "worker-1",
            "worker-2"
        ]
    );
}

#[test]
fn twenty_thousand_resources_made_in_a_loop_are_all_planned() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "for i in range(20000):\n    DockerResource(name = \"r%d\" % i, image = \"busybox:latest\")\n",
    );
    assert_eq!(names(&project).len(), 20_000);
}

/// Every secret of `leaks`, fed to the project, never in stdout or stderr.
fn never_printed(
    project: &TestProject,
    args: &[&str],
    env: &[(&str, &str)],
    secrets: &[&str],
) -> String {
    let output = plan(project, args, env);
    let all = format!("{}{}", stdout(&output), stderr(&output));
    for secret in secrets {
        assert!(
            !all.contains(secret),
            "`{secret}` was printed by `plan {args:?}`:\n{all}"
        );
    }
    all
}

#[test]
fn secrets_are_masked_in_errors_whatever_their_length() {
    /// The project file, its environment, what must not be printed.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "web = DockerResource(image = \"nginx:alpine\", ports = [env(\"DB_PASSWORD\")])\n",
            &[("DB_PASSWORD", "p4ss-word")],
            &["p4ss-word"],
        ),
        (
            "x = int(env(\"TOKEN\"))\n",
            &[("TOKEN", "t0k3n-value")],
            &["t0k3n-value"],
        ),
        (
            "api = DockerResource(image = \"nginx:alpine\")\ndb = DockerResource(image = \"postgres:15-alpine\")\napi.connect(DatabaseConnection(to_resource = db, password = 987654321))\n",
            &[],
            &["987654321"],
        ),
        // A one-character password, in a port error.
        (
            "web = DockerResource(image = \"nginx:alpine\", ports = [env(\"DB_PWD\")])\n",
            &[("DB_PWD", "q")],
            &["`q`"],
        ),
        // A value of any `env()` variable, not only secret-named ones.
        (
            "web = DockerResource(image = \"nginx:alpine\", ports = [env(\"LISTEN\")])\n",
            &[("LISTEN", "not-a-port-9")],
            &["not-a-port-9"],
        ),
    ];
    for (main, env, secrets) in cases {
        let project = TestProject::new();
        project.write("main.star", main);
        let all = never_printed(&project, &[], env, secrets);
        assert!(all.contains("***"), "{all}");
    }
}

#[test]
fn secrets_are_masked_in_plan_text_and_json_wherever_they_appear() {
    let project = TestProject::new();
    project.write(".env", "REDIS_PASSWORD=r3d1s\n");
    project.write(
        "main.star",
        r#"
cache = DockerResource(name = "cache", image = "redis:7-alpine",
    command = ["redis-server", "--requirepass", env("REDIS_PASSWORD")])
api = DockerResource(name = "api", image = "nginx:alpine", env_vars = {
    "CACHE_URL": "redis://app:" + env("REDIS_PASSWORD") + "@cache:6379/0",
    "AMQP": "amqp://u:x@mq:5672",
    "DSN": "postgresql://db/app?user=app&password=pw9&sslmode=off",
    "GPG_PASSPHRASE": "correct-horse",
    "DB_PWD": "k",
    "BASIC_AUTH": "admin:hunter2",
})
"#,
    );
    for args in [&[][..], &["--json"][..]] {
        let all = never_printed(
            &project,
            args,
            &[],
            &["r3d1s", ":x@", "pw9", "correct-horse", "\"k\"", "hunter2"],
        );
        assert!(all.contains("redis://app:***@cache:6379/0"), "{all}");
    }
    // --show-secrets shows them.
    let output = plan(&project, &["--show-secrets"], &[]);
    assert!(
        stdout(&output).contains("correct-horse"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_state_file_of_another_format_is_refused_and_left_as_it_is() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = DockerResource(image = \"nginx:alpine\")\n",
    );
    let state = r#"{"version": 99, "project": "p", "resources": {}, "from_the_future": true}"#;
    project.write(".clockwork/state.json", state);
    let output = plan(&project, &[], &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("state format 99 is not one this Clockwork reads")
            && stderr(&output).contains("written by a newer Clockwork"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(project.dir().join(".clockwork/state.json")).expect("state"),
        state
    );
}
