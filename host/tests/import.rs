//! `clockwork import`: each Compose fixture of `tests/fixtures/compose/`
//! imported whole (main.star and what is listed on stderr, snapshotted)
//! and accepted by `plan --offline`; refusals with their exit code, their
//! rendered message, and nothing written.

use std::path::PathBuf;

use crate::support::{TestProject, clockwork_in, copy_dir, stderr, stdout, workspace};

/// A project holding a copy of `tests/fixtures/compose/<name>`.
fn fixture(name: &str) -> TestProject {
    let project = TestProject::new();
    copy_dir(
        &workspace().join("tests/fixtures/compose").join(name),
        &project.dir(),
    );
    project
}

/// Runs `clockwork -C <project> args…` with `vars` set in its environment,
/// as a user sets what import said main.star reads with `env()`.
fn clockwork_with(
    project: &TestProject,
    vars: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let dir = project.dir();
    let mut full = vec!["-C", dir.to_str().expect("utf-8 path")];
    full.extend_from_slice(args);
    let mut env: Vec<(&str, PathBuf)> = vec![("XDG_DATA_HOME", project.root.path().join("data"))];
    env.extend(vars.iter().map(|(k, v)| (*k, PathBuf::from(v))));
    clockwork_in(project.root.path(), &full, &env)
}

macro_rules! imports {
    ($($name:ident: $fixture:expr, secrets $secrets:expr;)*) => {
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
                // The secrets of env files are read with `env()`: set as the
                // user is told to, and not one value of them in main.star.
                let secrets: &[(&str, &str)] = &$secrets;
                for (name, value) in secrets {
                    assert!(stderr(&out).contains(&format!("`{name}`")), "{name} not named:\n{}", stderr(&out));
                    assert!(written.contains(&format!("env(\"{name}\")")), "{written}");
                    assert!(!written.contains(value), "the value of {name} is in main.star:\n{written}");
                    assert!(!stderr(&out).contains(value), "the value of {name} was printed");
                }
                // What Clockwork itself makes of it.
                let plan = clockwork_with(&project, secrets, &["plan", "--offline"]);
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
    webapp_with_database_cache_and_worker: "webapp", secrets [];
    monitoring_stack_with_bind_mounted_config: "monitoring", secrets [];
    env_files_named_volumes_and_health_conditions: "envfiles", secrets [("POSTGRES_PASSWORD", "blog-pass")];
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
        err.contains("cannot read the Compose file `docker-compose.yml`"),
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

/// Runs `clockwork -C <project> args…` as the other tests do, but kills it
/// if it has not ended in a minute: reading a FIFO or `/dev/zero` must not
/// hang the import (or fill the memory) — the test then fails instead of
/// hanging too.
fn bounded(project: &TestProject, args: &[&str]) -> std::process::Output {
    let dir = project.dir();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_clockwork"));
    command
        .current_dir(project.root.path())
        .arg("-C")
        .arg(&dir)
        .args(args)
        .env("HOME", project.root.path())
        .env("XDG_DATA_HOME", project.root.path().join("data"))
        .env("CW_CACHE_DIR", crate::support::test_cache())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("clockwork runs");
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match wait.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(out) => out.expect("clockwork ends"),
        Err(_) => {
            let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            panic!("clockwork {args:?} did not end within a minute");
        }
    }
}

/// A project whose folder has a sibling `outside/` holding
/// `secrets.env` (an AWS key) and `other.env`; `compose` is its
/// docker-compose.yml.
fn beside_outside(compose: &str) -> TestProject {
    let project = TestProject::new();
    project.write("docker-compose.yml", compose);
    let outside = project.root.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(
        outside.join("secrets.env"),
        "AWS_ACCESS_KEY_ID=AKIAOUTSIDE1234\nAWS_SECRET_ACCESS_KEY=wJalrOutsideSecretKey\n",
    )
    .expect("write");
    std::fs::write(
        outside.join("other.env"),
        "OTHER_PASSWORD=other-outside-pw\n",
    )
    .expect("write");
    project
}

/// What no output may hold: a line of the files outside.
const OUTSIDE: [&str; 4] = [
    "AKIAOUTSIDE1234",
    "wJalrOutsideSecretKey",
    "AWS_ACCESS_KEY_ID",
    "other-outside-pw",
];

/// Asserts an import was refused, wrote nothing and printed nothing of the
/// files outside; returns stderr with the temporary folder as `[TMP]`.
fn refused_at(project: &TestProject, out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(!project.dir().join("main.star").exists());
    assert_eq!(stdout(out), "");
    let err = stderr(out);
    for line in OUTSIDE {
        assert!(!err.contains(line), "{line} printed:\n{err}");
    }
    let tmp = project.root.path().display().to_string();
    err.replace(&tmp, "[TMP]")
}

#[test]
fn an_env_file_outside_the_folder_is_refused_and_never_printed() {
    let project = beside_outside(
        "services:\n  app:\n    image: nginx:alpine\n    env_file: ../outside/secrets.env\n",
    );
    let out = bounded(&project, &["import", "-o", "main.star"]);
    insta::assert_snapshot!("import_env_file_outside", refused_at(&project, &out));
}

#[test]
fn an_absolute_env_file_outside_the_folder_is_refused() {
    let project = beside_outside("");
    project.write(
        "docker-compose.yml",
        format!(
            "services:\n  app:\n    image: nginx:alpine\n    env_file:\n      - {}\n",
            project.root.path().join("outside/secrets.env").display()
        ),
    );
    let out = bounded(&project, &["import", "-o", "main.star"]);
    insta::assert_snapshot!("import_env_file_absolute", refused_at(&project, &out));
}

#[test]
fn a_link_in_the_folder_to_a_file_outside_is_refused() {
    let project = beside_outside(
        "services:\n  app:\n    image: nginx:alpine\n    env_file: [./linked.env]\n",
    );
    std::os::unix::fs::symlink("../outside/secrets.env", project.dir().join("linked.env"))
        .expect("link");
    let out = bounded(&project, &["import", "-o", "main.star"]);
    insta::assert_snapshot!("import_env_file_link_out", refused_at(&project, &out));
}

#[test]
fn allow_env_file_allows_exactly_the_file_it_names() {
    let project = beside_outside(
        "services:\n  app:\n    image: nginx:alpine\n    env_file: ../outside/secrets.env\n  other:\n    image: nginx:alpine\n    env_file: ../outside/other.env\n",
    );
    // One allowed, the other still refused.
    let out = bounded(
        &project,
        &[
            "import",
            "--allow-env-file",
            "../outside/secrets.env",
            "-o",
            "main.star",
        ],
    );
    let err = refused_at(&project, &out);
    assert!(
        err.contains("the env file `../outside/other.env` of `other` is outside"),
        "{err}"
    );
    assert!(!err.contains("`../outside/secrets.env` of `app`"), "{err}");

    // Named another way, and written another way in the Compose file: the
    // same file, so allowed; its secrets are read with `env()`.
    project.write(
        "docker-compose.yml",
        "services:\n  app:\n    image: nginx:alpine\n    env_file: ../outside/./secrets.env\n",
    );
    let absolute = project.root.path().join("outside/secrets.env");
    let out = bounded(
        &project,
        &[
            "import",
            "--allow-env-file",
            absolute.to_str().expect("utf-8"),
            "--allow-env-file",
            "../outside/other.env",
            "-o",
            "main.star",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(project.dir().join("main.star")).expect("written");
    let err = stderr(&out);
    // Allowed, the file is read as one beside the Compose file: its
    // secret is not copied, nor printed; `other.env` was not read at all.
    for value in ["wJalrOutsideSecretKey", "other-outside-pw"] {
        assert!(!err.contains(value), "{value} printed:\n{err}");
        assert!(!written.contains(value), "{value} in main.star:\n{written}");
    }
    assert!(
        written.contains("\"AWS_ACCESS_KEY_ID\": \"AKIAOUTSIDE1234\","),
        "{written}"
    );
    assert!(
        written.contains("\"AWS_SECRET_ACCESS_KEY\": env(\"AWS_SECRET_ACCESS_KEY\"),"),
        "{written}"
    );
    assert!(
        err.contains("`--allow-env-file ../outside/other.env`: no `env_file` of docker-compose.yml leads to it, so it was not read"),
        "{err}"
    );
    assert!(
        err.contains("set `AWS_SECRET_ACCESS_KEY` (from ../outside/./secrets.env)"),
        "{err}"
    );
}

#[test]
fn secrets_of_env_files_stay_out_of_every_output() {
    let project = TestProject::new();
    project.write(
        "docker-compose.yml",
        "services:\n  api:\n    image: nginx:alpine\n    env_file: ./api.env\n    environment:\n      MODE: prod\n",
    );
    project.write(
        "api.env",
        "API_TOKEN=tok-123-secret\nCACHE_URL=redis://u:pw-456@cache:6379/0\nPLAIN=hello\n",
    );
    let secrets = ["tok-123-secret", "pw-456"];
    let written_out = bounded(&project, &["import", "-o", "main.star"]);
    assert_eq!(
        written_out.status.code(),
        Some(0),
        "{}",
        stderr(&written_out)
    );
    let printed = bounded(&project, &["import"]);
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    let written = std::fs::read_to_string(project.dir().join("main.star")).expect("written");
    for output in [
        written.clone(),
        stdout(&written_out),
        stderr(&written_out),
        stdout(&printed),
        stderr(&printed),
    ] {
        for secret in secrets {
            assert!(!output.contains(secret), "{secret} in:\n{output}");
        }
    }
    assert!(
        written.contains("\"API_TOKEN\": env(\"API_TOKEN\"),"),
        "{written}"
    );
    assert!(
        written.contains("\"CACHE_URL\": env(\"CACHE_URL\"),"),
        "{written}"
    );
    assert!(written.contains("\"PLAIN\": \"hello\","), "{written}");
    insta::assert_snapshot!("import_env_file_secrets_stderr", stderr(&written_out));
    // Set as the user is told, the project plans.
    let plan = clockwork_with(
        &project,
        &[
            ("API_TOKEN", "tok-123-secret"),
            ("CACHE_URL", "redis://u:pw-456@cache:6379/0"),
        ],
        &["plan", "--offline"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}

#[test]
fn dev_zero_and_fifos_are_refused_at_once() {
    let project =
        beside_outside("services:\n  app:\n    image: nginx:alpine\n    env_file: /dev/zero\n");
    // Outside the folder: refused before anything is opened.
    let out = bounded(&project, &["import", "-o", "main.star"]);
    assert!(
        refused_at(&project, &out).contains("the env file `/dev/zero` of `app` is outside"),
        "{}",
        stderr(&out)
    );
    // Allowed by name, it is still a device.
    let out = bounded(
        &project,
        &["import", "--allow-env-file", "/dev/zero", "-o", "main.star"],
    );
    insta::assert_snapshot!("import_allow_dev_zero", refused_at(&project, &out));
    // A FIFO in the folder: opening it would wait for a writer.
    project.write(
        "docker-compose.yml",
        "services:\n  app:\n    image: nginx:alpine\n    env_file: ./pipe.env\n",
    );
    let fifo = std::process::Command::new("mkfifo")
        .arg(project.dir().join("pipe.env"))
        .status()
        .expect("mkfifo runs");
    assert!(fifo.success());
    let out = bounded(&project, &["import", "-o", "main.star"]);
    insta::assert_snapshot!("import_env_file_fifo", refused_at(&project, &out));
    // The Compose file itself.
    for (file, what) in [
        ("pipe.env", "a FIFO (named pipe)"),
        ("/dev/zero", "a device"),
    ] {
        let out = bounded(&project, &["import", file, "-o", "main.star"]);
        let err = refused_at(&project, &out);
        assert!(
            err.contains(&format!(
                "cannot read the Compose file `{file}`: it is {what}, not a regular file"
            )),
            "{err}"
        );
    }
}

#[test]
fn a_compose_file_past_the_limit_is_refused_naming_it() {
    let project = TestProject::new();
    let services: String = (0..150_000)
        .map(|i| format!("  service-{i:06}:\n    image: registry.example/team/image:1.0\n"))
        .collect();
    project.write("docker-compose.yml", format!("services:\n{services}"));
    let out = bounded(&project, &["import", "-o", "main.star"]);
    let err = refused_at(&project, &out);
    assert!(
        err.contains("cannot read the Compose file `docker-compose.yml`: it is larger than 8 MiB, the most Clockwork reads of a Compose file"),
        "{err}"
    );
}

#[test]
fn a_big_compose_file_imports() {
    // Import was quadratic: 32,000 services did not end in 45 s. The speed
    // itself is measured by scripts/bench-import.sh; here it must end, and
    // say what it should.
    let project = TestProject::new();
    let count = 32_000;
    let services: String = (0..count)
        .map(|i| {
            let next = (i + 1) % count;
            format!(
                "  svc-{i}:\n    image: busybox\n    ports: [\"127.0.0.1:{}:80\"]\n    environment: {{LEVEL: info, PEER: svc-{next}}}\n    volumes: [\"./data/{i}:/data\"]\n    depends_on: [svc-{next}]\n    logging: {{driver: json-file}}\n",
                20000 + i % 40000
            )
        })
        .collect();
    project.write("docker-compose.yml", format!("services:\n{services}"));
    let out = bounded(&project, &["import", "-o", "main.star"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        &stderr(&out)[..2000.min(stderr(&out).len())]
    );
    let written = std::fs::read_to_string(project.dir().join("main.star")).expect("written");
    assert_eq!(
        written
            .lines()
            .filter(|l| l.starts_with("svc_") && l.ends_with(" = DockerResource("))
            .count(),
        count
    );
    assert_eq!(
        written
            .lines()
            .filter(|l| {
                l.starts_with("svc_")
                    && l.contains(".connect(DependencyConnection(to_resource = svc_")
            })
            .count(),
        count
    );
    assert_eq!(
        stderr(&out)
            .lines()
            .filter(|l| l.contains("logging") && l.contains("not translated"))
            .count(),
        count
    );
}

#[test]
fn clockworks_own_words_are_not_masked_and_secrets_are() {
    // `secrets: *** translated`: a key or name that looks secret was taken
    // for `name: value`, and the word after it masked.
    let project = TestProject::new();
    project.write(
        "docker-compose.yml",
        "secrets:\nservices:\n  token:\n    image: nginx:alpine\n    secrets: [api_key]\n    stop_grace_period: 5s\n  api-key:\n    image: nginx:alpine\n    environment:\n      PASSWORD:\n",
    );
    let out = bounded(&project, &["import", "-o", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("***"), "{err}");
    insta::assert_snapshot!("import_secret_looking_names_stderr", err);

    // A secret in the lines a problem shows is masked.
    project.write(
        "docker-compose.yml",
        "services:\n  api:\n    image: nginx:alpine\n    environment:\n      API_TOKEN: hunter2secretvalue\n      LEVEL: \"a${oops\"\n",
    );
    let out = bounded(&project, &["import", "-o", "main.star"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(!err.contains("hunter2secretvalue"), "{err}");
    assert!(err.contains("API_TOKEN: ***"), "{err}");
}

#[test]
fn what_would_give_a_container_this_machine_is_held_for_review() {
    // A Compose file is untrusted input, and what import writes into
    // main.star the user then wrote: a mount of the Docker socket or of a
    // folder outside the project is written commented out, and said.
    let project = TestProject::new();
    project.write(
        "docker-compose.yml",
        "services:\n  agent:\n    image: nginx:alpine\n    ports: [\"8080:80\"]\n    volumes:\n      - ./site:/usr/share/nginx/html:ro\n      - /var/run/docker.sock:/var/run/docker.sock\n      - ${HOME}/.ssh:/root/.ssh:ro\n",
    );
    project.write("site/index.html", "hi\n");
    let out = bounded(&project, &["import", "-o", "main.star"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(project.dir().join("main.star")).expect("written");
    insta::assert_snapshot!("import_held_for_review", written);
    insta::assert_snapshot!("import_held_for_review_stderr", stderr(&out));
    let active: Vec<&str> = written
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(
        active
            .iter()
            .all(|l| !l.contains("docker.sock") && !l.contains(".ssh")),
        "{written}"
    );
    // What is left plans as it is.
    let plan = project.clockwork(&["plan", "--offline"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}
