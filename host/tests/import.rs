//! `clockwork import`: each Compose fixture of `tests/fixtures/compose/`
//! imported whole (main.star and what is listed on stderr, snapshotted)
//! and accepted by `plan --offline`; refusals with their exit code, their
//! rendered message, and nothing written.

use crate::support::{TestProject, copy_dir, stderr, stdout, workspace};

/// A project holding a copy of `tests/fixtures/compose/<name>`.
fn fixture(name: &str) -> TestProject {
    let project = TestProject::new();
    copy_dir(
        &workspace().join("tests/fixtures/compose").join(name),
        &project.dir(),
    );
    project
}

macro_rules! imports {
    ($($name:ident: $fixture:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let project = fixture($fixture);
                let out = project.clockwork(&["import", "docker-compose.yml", "-o", "main.star"]);
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
                let written = std::fs::read_to_string(project.dir().join("main.star"))
                    .expect("main.star written");
                insta::assert_snapshot!(concat!("import_", stringify!($name)), written);
                insta::assert_snapshot!(concat!("import_", stringify!($name), "_stderr"), stderr(&out));
                // What Clockwork itself makes of it.
                let plan = project.clockwork(&["plan", "--offline"]);
                assert_eq!(
                    plan.status.code(),
                    Some(0),
                    "plan --offline refused the import:\n{}\n{written}",
                    stderr(&plan)
                );
                // The same file, printed: byte for byte, passwords included.
                let printed = project.clockwork(&["import"]);
                assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
                assert_eq!(stdout(&printed), written);
            }
        )*
    };
}

imports! {
    webapp_with_database_cache_and_worker: "webapp";
    monitoring_stack_with_bind_mounted_config: "monitoring";
    env_files_named_volumes_and_health_conditions: "envfiles";
}

/// Runs `import` in a project holding `compose` as docker-compose.yml:
/// the exit code and stderr, and asserts nothing was written.
fn refused(compose: &str) -> (Option<i32>, String) {
    let project = TestProject::new();
    project.write("docker-compose.yml", compose);
    let out = project.clockwork(&["import", "-o", "main.star"]);
    assert!(
        !project.dir().join("main.star").exists(),
        "a refused import wrote main.star"
    );
    assert_eq!(stdout(&out), "");
    (out.status.code(), stderr(&out))
}

#[test]
fn a_file_that_is_not_yaml_is_refused_at_its_line() {
    let (code, err) = refused("services:\n  web:\n    image: \"nginx\n    ports: [80]\n");
    assert_eq!(code, Some(2));
    insta::assert_snapshot!("import_not_yaml", err);
}

#[test]
fn unknown_keys_and_missing_images_are_refused_with_suggestions() {
    let (code, err) = refused(
        "servises:\n  x: {}\nservices:\n  web:\n    image: nginx:alpine\n    enviroment:\n      A: \"1\"\n    depends_on: [wrker]\n  worker:\n    command: [\"run\"]\n",
    );
    assert_eq!(code, Some(2));
    insta::assert_snapshot!("import_unknown_keys", err);
}

#[test]
fn a_yaml_file_that_is_not_compose_is_refused() {
    let (code, err) = refused("- just\n- a list\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("docker-compose.yml is not a Compose file: it is a list, not a mapping"),
        "{err}"
    );
    let (code, err) = refused("version: \"3.8\"\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("it has no `services`"), "{err}");
}

#[test]
fn an_existing_file_is_not_written_over() {
    let project = fixture("webapp");
    project.write("main.star", "# mine\n");
    let out = project.clockwork(&["import", "-o", "main.star"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("main.star exists: `clockwork import` writes nothing over a file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(project.dir().join("main.star")).expect("read"),
        "# mine\n"
    );
    // `-o -` prints instead.
    let out = project.clockwork(&["import", "docker-compose.yml", "-o", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("# main.star, imported from docker-compose.yml"));
}

#[test]
fn a_missing_compose_file_is_a_usage_error() {
    let project = TestProject::new();
    let out = project.clockwork(&["import"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read the Compose file docker-compose.yml"),
        "{err}"
    );
    assert!(
        err.contains("clockwork import path/to/compose.yaml"),
        "{err}"
    );
}

#[test]
fn a_compose_file_in_a_subfolder_keeps_its_paths() {
    let project = TestProject::new();
    copy_dir(
        &workspace().join("tests/fixtures/compose/monitoring"),
        &project.dir().join("deploy"),
    );
    let out = project.clockwork(&["import", "deploy/docker-compose.yml", "-o", "main.star"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(project.dir().join("main.star")).expect("written");
    assert!(
        written
            .contains("\"./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro\""),
        "{written}"
    );
    let plan = project.clockwork(&["plan", "--offline"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}
