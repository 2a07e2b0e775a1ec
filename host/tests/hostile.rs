//! Safety, round 3 (issue 25), the cases that need no Docker Engine: what a
//! model, `clockwork.lock`, a plugin or a file says is never trusted like
//! what the user wrote. Each test was written failing first.

use std::process::Output;

use serde_json::{Value, json};

use crate::model_server::{ModelServer, Reply, asked, is_probe, valid_answer};
use crate::support::{TestProject, clockwork_in, stderr, stdout};

/// `clockwork plan --offline args…` in `project`, completing with `server`
/// when one is given.
fn plan(project: &TestProject, server: Option<&ModelServer>, args: &[&str]) -> Output {
    plan_env(project, server, args, &[])
}

fn plan_env(
    project: &TestProject,
    server: Option<&ModelServer>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let dir = project.dir();
    let mut full: Vec<&str> = vec!["-C", dir.to_str().expect("utf-8 path"), "plan", "--offline"];
    full.extend_from_slice(args);
    let mut vars = vec![("XDG_DATA_HOME", project.root.path().join("data"))];
    if let Some(server) = server {
        vars.push(("CW_BASE_URL", server.base_url.clone().into()));
        vars.push(("CW_MODEL", "scripted".into()));
        vars.push(("CW_MODEL_RETRIES", "0".into()));
        vars.push(("CW_MODEL_TIMEOUT", "30".into()));
    }
    for (k, v) in env {
        vars.push((k, (*v).into()));
    }
    clockwork_in(project.root.path(), &full, &vars)
}

/// stdout and stderr together, with the project's folder named.
fn all(project: &TestProject, output: &Output) -> String {
    let dir = project.dir().canonicalize().expect("dir");
    format!("{}{}", stdout(output), stderr(output)).replace(&dir.display().to_string(), "[project]")
}

/// A server answering the probe, and every completion with `answer`
/// merged over a valid answer (so only the hostile field is wrong).
fn answering(answer: Value) -> ModelServer {
    ModelServer::start(move |request, _| {
        let mut valid: Value =
            serde_json::from_str(&valid_answer(request)).expect("valid answer is JSON");
        if !is_probe(request)
            && let (Some(valid), Some(hostile)) = (valid.as_object_mut(), answer.as_object())
        {
            for (k, v) in hostile {
                valid.insert(k.clone(), v.clone());
            }
        }
        Reply::Content(valid.to_string())
    })
}

fn lock_of(project: &TestProject) -> String {
    std::fs::read_to_string(project.dir().join("clockwork.lock")).unwrap_or_default()
}

/// Every string of the containers a plan would create, for looking for
/// what must not be in them.
fn containers_of(plan: &Value) -> String {
    plan["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["actions"].as_array().into_iter().flatten())
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A user whose own `command` mentions `/etc` and the Docker socket does
/// not thereby grant a model the right to mount them (the old policy took
/// every absolute path anywhere in the user's fields as "written by you").
#[test]
fn a_model_never_mounts_a_host_path_even_one_the_users_command_names() {
    let project = TestProject::new();
    project.write(
        "main.star",
        r#"web = DockerResource(
    name = "web",
    description = "nginx web server",
    image = "nginx:alpine",
    command = ["ls", "/etc", "/var/run/docker.sock"],
)
"#,
    );
    let server = answering(
        json!({"volumes": ["/etc:/host-etc", "/var/run/docker.sock:/var/run/docker.sock"]}),
    );
    let output = plan(&project, Some(&server), &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // `volumes` has a default: a model is not even asked for it (an
    // answer for it anyway is refused at its field, as a lock's is).
    for request in server.completions() {
        assert!(
            !asked(&request).contains(&"volumes".to_string()),
            "{request}"
        );
    }
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("plan --json");
    let containers = containers_of(&plan);
    assert!(containers.contains("\"mounts\":[]"), "{containers}");
    assert!(!containers.contains("host-etc"), "{containers}");
    assert!(!lock_of(&project).contains("/etc"), "{}", lock_of(&project));
}

/// Ports are never asked of a model, and an answer that sets them anyway
/// publishes nothing.
#[test]
fn a_model_never_publishes_a_port() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = DockerResource(name = \"web\", description = \"nginx web server\", image = \"nginx:alpine\")\n",
    );
    let server = answering(json!({"ports": ["0.0.0.0:18777:80", "2375:2375"]}));
    let output = plan(&project, Some(&server), &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for request in server.completions() {
        assert!(!asked(&request).contains(&"ports".to_string()), "{request}");
    }
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("plan --json");
    let containers = containers_of(&plan);
    assert!(!containers.contains("18777"), "{containers}");
    assert!(!containers.contains("2375"), "{containers}");
    assert!(!lock_of(&project).contains("2375"), "{}", lock_of(&project));
}

/// A plan completed by a benign model, whose lock a test then edits as a
/// hostile repository would.
fn locked_project() -> TestProject {
    let project = TestProject::new();
    project.write(
        ".env",
        "DB_PASSWORD=lock-test-Secret-81\nOTHER_PASSWORD=lock-other-Secret-82\n",
    );
    project.write(
        "main.star",
        r#"db = DockerResource(
    name = "db",
    image = "postgres:15-alpine",
    env_vars = {"POSTGRES_PASSWORD": env("DB_PASSWORD")},
    volumes = ["pgdata:/var/lib/postgresql/data"],
)
web = DockerResource(
    name = "web",
    description = "nginx web server",
    image = "nginx:alpine",
    command = ["ls", "/etc"],
    connections = [db],
)
other = DockerResource(name = "other", image = "redis:7-alpine", env_vars = {"REDIS_PASSWORD": env("OTHER_PASSWORD")})
"#,
    );
    let server = ModelServer::start(|request, _| Reply::Content(valid_answer(request)));
    let output = plan(&project, Some(&server), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        lock_of(&project).contains("[resources.web"),
        "{}",
        lock_of(&project)
    );
    project
}

/// Sets `field` of `web`'s lock entry to `value`, keeping its input hash
/// (so the entry is replayed), as a hand edit would.
fn edit_lock(project: &TestProject, field: &str, value: Value) {
    let path = project.dir().join("clockwork.lock");
    let text = std::fs::read_to_string(&path).expect("lock");
    let mut lock: toml::Value = toml::from_str(&text).expect("lock is TOML");
    let fields = lock["resources"]["web"]["fields"]
        .as_table_mut()
        .expect("web's fields");
    let value: toml::Value = serde_json::from_value(value).expect("a TOML value");
    fields.insert(
        field.to_string(),
        toml::Value::Table(toml::map::Map::from_iter([
            ("value".to_string(), value),
            (
                "source".to_string(),
                toml::Value::String("model:scripted".into()),
            ),
        ])),
    );
    std::fs::write(&path, toml::to_string(&lock).expect("TOML")).expect("write lock");
}

/// A committed lock is input from a repository: each value passes the
/// checks a model's answer does.
#[test]
fn a_lock_that_mounts_or_joins_what_nobody_declared_is_refused_at_the_field() {
    for (field, value, expected) in [
        (
            "volumes",
            json!(["/etc:/host-etc"]),
            "the value clockwork.lock gives `volumes` is refused: it mounts `/etc` of this machine into the container",
        ),
        (
            "volumes",
            json!(["./:/project"]),
            "the value clockwork.lock gives `volumes` is refused: it mounts `./` of this machine",
        ),
        (
            "volumes",
            json!(["invented:/data"]),
            "it mounts the volume `invented`, which nothing in the project declares",
        ),
        (
            "networks",
            json!(["app_network"]),
            "it joins the network `app_network`, which nothing in the project declares",
        ),
        (
            "env_vars",
            json!({"STOLEN": "{{secret:other.env_vars.REDIS_PASSWORD}}"}),
            "it names the secret `{{secret:other.env_vars.REDIS_PASSWORD}}`, which is not a secret of `web` or of what it connects to",
        ),
    ] {
        let project = locked_project();
        edit_lock(&project, field, value);
        // No model configured: the lock alone.
        let output = plan(&project, None, &[]);
        let text = all(&project, &output);
        assert_eq!(output.status.code(), Some(2), "{field}: {text}");
        assert!(text.contains(expected), "{field}: {text}");
        assert!(
            text.contains("completing `web` (DockerResource) at main.star:7:7"),
            "{field}: {text}"
        );
        assert!(!text.contains("lock-test-Secret-81"), "{text}");
        assert!(!text.contains("lock-other-Secret-82"), "{text}");
    }
    // The whole message, once.
    let project = locked_project();
    edit_lock(&project, "volumes", json!(["/etc:/host-etc"]));
    insta::assert_snapshot!(stderr(&plan(&project, None, &[])));
}

/// A lock value for a field the user wrote, or that is never completed,
/// is ignored: theirs wins, and a port is published only when written.
#[test]
fn a_lock_value_for_a_written_or_uncompletable_field_is_ignored() {
    let project = locked_project();
    edit_lock(&project, "ports", json!(["2375:2375"]));
    edit_lock(&project, "image", json!("evil/miner:latest"));
    let output = plan(&project, None, &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("plan --json");
    let containers = containers_of(&plan);
    assert!(!containers.contains("2375"), "{containers}");
    assert!(!containers.contains("evil/miner"), "{containers}");
    assert!(containers.contains("nginx:alpine"), "{containers}");
}

/// A placeholder names a secret; only those the prompt showed (the
/// declaration's own and those of what it connects to) come back.
#[test]
fn a_model_cannot_pull_in_a_secret_of_an_unconnected_declaration() {
    let main = |target: &str| {
        format!(
            r#"db = DockerResource(
    name = "db",
    image = "postgres:15-alpine",
    env_vars = {{"POSTGRES_PASSWORD": env("DB_PASSWORD")}},
)
cache = DockerResource(name = "cache", image = "redis:7-alpine")
web = DockerResource(name = "web", image = "nginx:alpine")
CrossResourceAssert(source = web, target = {target}, assertion = "web is configured for its target")
"#
        )
    };
    // A check in words is asked of a model; this one tries to carry the
    // database's password in its message.
    let code = "def check(source, target):\n    return (True, \"STOLEN={{secret:db.env_vars.POSTGRES_PASSWORD}}\")\n";
    let stolen = json!({ "check": code });
    let project = TestProject::new();
    project.write(".env", "DB_PASSWORD=unconnected-Secret-93\n");
    project.write("main.star", main("cache"));
    let server = answering(stolen.clone());
    let output = plan(&project, Some(&server), &["--show-secrets"]);
    let text = all(&project, &output);
    // Refused, said, asked again once; the assertion is left without a
    // check, which its plugin reports.
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("it names the secret `{{secret:db.env_vars.POSTGRES_PASSWORD}}`, which is not a secret of `web-cross-resource` or of what it connects to"),
        "{text}"
    );
    assert!(!text.contains("unconnected-Secret-93"), "{text}");
    assert_eq!(server.completions().len(), 2, "{text}");
    assert!(
        !lock_of(&project).contains("STOLEN"),
        "{}",
        lock_of(&project)
    );

    // About the database, the same answer is the user's secret put where
    // it belongs: the check may use it, and the lock keeps the placeholder.
    project.write("main.star", main("db"));
    let server = answering(stolen);
    let output = plan(&project, Some(&server), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lock = lock_of(&project);
    assert!(
        lock.contains("STOLEN={{secret:db.env_vars.POSTGRES_PASSWORD}}"),
        "{lock}"
    );
    assert!(!lock.contains("unconnected-Secret-93"), "{lock}");
}

/// A server streaming a body without end is cut off at the reply limit,
/// with an error naming it, instead of filling memory.
#[test]
fn an_endless_model_reply_is_cut_off_at_its_limit() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = DockerResource(name = \"web\", description = \"a web server\")\n",
    );
    let server = ModelServer::start(|request, _| {
        if is_probe(request) {
            Reply::Content(valid_answer(request))
        } else {
            Reply::Endless
        }
    });
    let output = plan(&project, Some(&server), &[]);
    let text = all(&project, &output);
    assert_ne!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "the model server's reply is larger than 4 MiB, the most Clockwork reads of one"
        ),
        "{text}"
    );
}

/// The policy grants a host port or a bind mount outside the project only
/// to a value the user wrote in the declaration's own `port` or `mount`
/// field; a plugin asking for others is refused at plan, whatever else the
/// user wrote.
#[test]
fn a_plugin_gets_only_the_ports_and_binds_the_user_wrote() {
    let outside = tempfile::tempdir().expect("tmp");
    let outside_path = outside.path().display().to_string();
    for (fields, reach, expected) in [
        (
            r#"ports = ["8080:80"]"#.to_string(),
            "host-port",
            Some(
                "publishing `0.0.0.0:2375:2375` on this machine was not written by you in this resource's `ports`",
            ),
        ),
        (
            format!(r#"note = "{outside_path}""#),
            "bind-noted",
            Some(
                "is outside the project folder and was not written by you in this resource's `volumes`",
            ),
        ),
        (
            format!(r#"volumes = ["{outside_path}:/data:ro"]"#),
            "bind-written",
            None,
        ),
    ] {
        let project = TestProject::new();
        project.add_plugin("overreaching-resource", "overreaching.wasm");
        project.write(
            "main.star",
            format!("x = OverreachingResource(name = \"x\", reach = \"{reach}\", {fields})\n"),
        );
        let output = plan(&project, None, &[]);
        let text = all(&project, &output);
        match expected {
            Some(expected) => {
                assert_eq!(output.status.code(), Some(2), "{reach}: {text}");
                assert!(text.contains(expected), "{reach}: {text}");
                assert!(text.contains("main.star:1:5"), "{reach}: {text}");
            }
            None => assert_eq!(output.status.code(), Some(0), "{reach}: {text}"),
        }
    }
}

/// Item 9 of the issue: secrets that were printed, and masking that
/// reached too far.
#[test]
fn secrets_printed_before_are_masked_and_names_equal_to_a_secret_are_not() {
    // `print(env(...))`, a secret in the snippet of a type error (once
    // masked in the wrong place: `***"Hunter2ListSecret"]`), a URL password
    // holding a `/`.
    /// The project file, its environment, the secret never printed.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (
            "print(env(\"API_TOKEN\"))\nweb = DockerResource(image = \"nginx:alpine\")\n",
            &[("API_TOKEN", "tok-Printed-5521")],
            "tok-Printed-5521",
        ),
        (
            "db = DockerResource(image = \"postgres:15-alpine\", env_vars = {\"DB_PASSWORD\": [\"Hunter2ListSecret\"]})\n",
            &[],
            "Hunter2ListSecret",
        ),
        (
            "c = DatabaseConnection(to_resource = DockerResource(name = \"db\", image = \"postgres:15-alpine\"), password = [\"Hunter2ListSecret\"])\n",
            &[],
            "Hunter2ListSecret",
        ),
        (
            "web = DockerResource(image = \"nginx:alpine\", env_vars = {\"DATABASE_URL\": \"postgresql://app:pa/ss-Slash-77@db:5432/app\"}, ports = [\"x\"])\n",
            &[],
            "pa/ss-Slash-77",
        ),
    ];
    for (main, env, secret) in cases {
        let project = TestProject::new();
        project.write("main.star", main);
        for args in [&[][..], &["--json"][..]] {
            let output = plan_env(&project, None, args, env);
            let text = all(&project, &output);
            assert!(!text.contains(secret), "{main}: {text}");
        }
    }
    // A plan of a project whose secrets equal its names and image.
    let project = TestProject::new();
    project.write(
        "main.star",
        "cache = DockerResource(name = \"cache\", image = \"redis:7-alpine\", env_vars = {\"REDIS_PASSWORD\": \"cache\", \"REDIS_PASS\": \"redis\"})\n",
    );
    let output = plan(&project, None, &[]);
    let text = all(&project, &output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("1. cache (DockerResource): create"), "{text}");
    assert!(text.contains("\"redis:7-alpine\""), "{text}");
    assert!(text.contains("\"cache\""), "{text}");
    assert!(text.contains("env_vars.REDIS_PASSWORD  \"***\""), "{text}");
    assert!(text.contains("env_vars.REDIS_PASS      \"***\""), "{text}");
}

/// A model's environment variable name with a line break never reaches
/// the terminal as a line break (it could write a line of its own).
#[test]
fn a_model_cannot_break_a_line_of_output() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = DockerResource(name = \"web\", description = \"nginx web server\", image = \"nginx:alpine\")\n",
    );
    project.write(
        "main.star",
        "web = DockerResource(name = \"web\", description = \"a web server\")\n",
    );
    let server = answering(json!({"image": "nginx:alpine\nINJECTED: all checks passed"}));
    let output = plan(&project, Some(&server), &[]);
    let text = all(&project, &output);
    assert!(text.contains("INJECTED"), "{text}");
    for line in text.lines() {
        assert!(
            !line.trim_start_matches([' ', '│']).starts_with("INJECTED"),
            "{text}"
        );
    }
}

/// A FIFO or a device where a project file is read is refused, not waited
/// on; a file past its limit is refused, naming the limit.
#[test]
fn a_project_file_that_never_ends_is_refused() {
    let project = TestProject::new();
    let made = std::process::Command::new("mkfifo")
        .arg(project.dir().join("main.star"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // No writer ever opens it: waiting on it would hang the test.
    let output = plan(&project, None, &[]);
    let text = all(&project, &output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("a FIFO (named pipe), not a regular file"),
        "{text}"
    );

    let project = TestProject::new();
    let big = "# padding\n".repeat((16 << 20) / 10 + 1);
    project.write("main.star", big);
    let output = plan(&project, None, &[]);
    let text = all(&project, &output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("is larger than 16 MiB, the most Clockwork reads of it"),
        "{text}"
    );
}

/// A secret that reads like a word (`postgres`) inside another
/// declaration's completed value (`postgres:15-alpine`) is no secret of
/// that declaration: the lock keeps the value as it is, and the next plan
/// replays it (the first version of the placeholder check refused its own
/// lock here).
#[test]
fn a_word_like_secret_inside_a_completed_value_is_left_and_replayed() {
    let project = TestProject::new();
    project.write(
        "main.star",
        r#"db = DockerResource(name = "db", image = "postgres:15-alpine", env_vars = {"POSTGRES_PASSWORD": "postgres"})
reports = DockerResource(name = "reports", description = "pgsql for reports")
"#,
    );
    for round in 0..2 {
        let output = plan(&project, None, &[]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "round {round}: {}",
            all(&project, &output)
        );
    }
    let lock = lock_of(&project);
    // The lock's last entry.
    let reports = &lock[lock
        .find("[resources.reports]")
        .unwrap_or_else(|| panic!("{lock}"))..];
    assert!(reports.contains("postgres:15-alpine"), "{lock}");
    assert!(!reports.contains("{{secret:"), "{lock}");
    let output = plan(&project, None, &["--locked"]);
    assert_eq!(output.status.code(), Some(0), "{}", all(&project, &output));
}

/// A check a model wrote is kept in the lock; replayed, it is read again
/// from its source as a model's answer is. A lock whose program carries
/// top-level code or values of its own (which could reach resources) is
/// refused at the field.
#[test]
fn a_check_from_the_lock_is_its_source_checked_again() {
    let project = TestProject::new();
    project.write(
        "main.star",
        r#"api = DockerResource(name = "words-api", image = "nginx:alpine")
db = DockerResource(name = "words-db", image = "redis:7-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API and the database both run")
"#,
    );
    let server = ModelServer::start(|request, _| {
        if asked(request) == ["check"] {
            let code = "def check(source, target):\n    return (True, \"ok\")\n";
            Reply::Content(json!({"check": code}).to_string())
        } else {
            Reply::Content(valid_answer(request))
        }
    });
    let output = plan(&project, Some(&server), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", all(&project, &output));
    let path = project.dir().join("clockwork.lock");
    let text = std::fs::read_to_string(&path).expect("lock");
    assert!(text.contains("def check(source, target):"), "{text}");
    let mut lock: toml::Value = toml::from_str(&text).expect("TOML");
    let name = lock["assertions"]
        .as_table()
        .and_then(|t| t.keys().next().cloned())
        .expect("an assertion entry");
    let entry = &mut lock["assertions"][name.as_str()];
    let program = entry["fields"]["check"]["value"]
        .as_table_mut()
        .expect("the program");
    let module = program["entry"]["module"]
        .as_str()
        .expect("module")
        .to_string();
    program["modules"][module.as_str()]["source"] = toml::Value::String(
        "peek = 1\ndef check(source, target):\n    return (True, \"ok\")\n".into(),
    );
    std::fs::write(&path, toml::to_string(&lock).expect("TOML")).expect("write");
    let output = plan(&project, None, &[]);
    let said = all(&project, &output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(
        said.contains("the value clockwork.lock gives `check` is refused: only `def` statements may be written"),
        "{said}"
    );
}
