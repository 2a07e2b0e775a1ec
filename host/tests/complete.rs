//! Completion against a scripted OpenAI-compatible server: the seeds'
//! three levels of control, the lock (replayed, refreshed, `--locked`),
//! secrets that never leave the machine, and every way a server fails.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};

use crate::model_server::{ModelServer, Reply, about, asked, is_probe, valid_answer};
use crate::support::{TestProject, clockwork_in, stderr, stdout};

const PASSWORD: &str = "hunter2-very-secret";

/// `clockwork args…` in `project`, completing with `server`.
fn with_model(
    project: &TestProject,
    server: &ModelServer,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let dir = project.dir();
    let mut full: Vec<&str> = vec!["-C", dir.to_str().expect("utf-8 path")];
    full.extend_from_slice(args);
    let mut vars: Vec<(&str, PathBuf)> = vec![
        ("XDG_DATA_HOME", project.root.path().join("data")),
        ("CW_BASE_URL", PathBuf::from(&server.base_url)),
        ("CW_MODEL", PathBuf::from("scripted")),
        ("CW_MODEL_RETRIES", PathBuf::from("2")),
        ("CW_MODEL_TIMEOUT", PathBuf::from("30")),
    ];
    for (k, v) in env {
        vars.retain(|(key, _)| key != k);
        vars.push((k, PathBuf::from(v)));
    }
    clockwork_in(project.root.path(), &full, &vars)
}

fn plan_json(project: &TestProject, server: &ModelServer) -> Value {
    let out = with_model(
        project,
        server,
        &["plan", "--offline", "--json", "--show-secrets"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("plan --json is JSON")
}

fn resource<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {plan:#}"))
}

fn source<'a>(plan: &'a Value, name: &str, field: &str) -> &'a str {
    resource(plan, name)["sources"][field]
        .as_str()
        .unwrap_or("")
}

fn project(main: &str) -> TestProject {
    let p = TestProject::new();
    p.write("main.star", main);
    p.write(".env", format!("DB_PASSWORD={PASSWORD}\n"));
    p
}

/// The seeds' PostgreSQL, every completable field written.
const FULL_DB: &str = r#"
db = DockerResource(
    name = "postgres-db",
    description = "PostgreSQL database",
    image = "postgres:15-alpine",
    ports = ["5432:5432"],
    env_vars = {"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin", "POSTGRES_PASSWORD": env("DB_PASSWORD")},
    volumes = [],
    networks = [],
    healthcheck = {"test": ["CMD", "pg_isready"]},
)
"#;

fn no_secret_sent(server: &ModelServer) {
    for r in server.requests() {
        assert!(
            !r.to_string().contains(PASSWORD),
            "a request holds the password: {r}"
        );
    }
}

#[test]
fn everything_specified_asks_nothing() {
    let server = ModelServer::start(|r, _| Reply::Content(valid_answer(r)));
    let p = project(&format!(
        "{FULL_DB}\napi = DockerResource(name = \"api\", image = \"nginx:alpine\", ports = [\"8000:80\"], \
         connections = [DatabaseConnection(to_resource = db, username = \"admin\", database_name = \"appdb\", \
         password = env(\"DB_PASSWORD\"), connection_string_template = \"postgresql://{{user}}:{{password}}@{{host}}:{{port}}/{{database}}\", \
         env_var_name = \"DATABASE_URL\")])\n"
    ));
    let plan = plan_json(&p, &server);
    assert_eq!(server.requests().len(), 0, "{:#?}", server.requests());
    assert_eq!(source(&plan, "postgres-db", "image"), "user");
    // Nothing was completed, so there is nothing to lock.
    assert!(!p.dir().join("clockwork.lock").exists());
}

#[test]
fn key_details_ask_only_for_the_gaps_and_a_second_plan_asks_nothing() {
    let server = ModelServer::start(|r, _| Reply::Content(valid_answer(r)));
    let p = project(&format!(
        "{FULL_DB}
cache = DockerResource(name = \"redis-cache\", description = \"Redis cache\", image = \"redis:7-alpine\", ports = [\"6379:6379\"])
api = DockerResource(
    name = \"api-server\",
    description = \"FastAPI backend server that needs database and cache\",
    ports = [\"8000:8000\"],
    connections = [db, cache],
)
"
    ));
    let plan = plan_json(&p, &server);
    let completions = server.completions();
    let by_name = |name: &str| {
        completions
            .iter()
            .filter(|r| about(r) == name)
            .map(asked)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_name("postgres-db"),
        Vec::<Vec<String>>::new(),
        "fully written: not asked"
    );
    // The rules gave Redis its readiness check; image and ports are the
    // user's; what has a default is not asked: nothing is.
    assert_eq!(by_name("redis-cache"), Vec::<Vec<String>>::new());
    // Its `DATABASE_URL` and `REDIS_URL` came from the rules (it connects
    // to one PostgreSQL and one Redis); only what takes judgement is asked.
    assert_eq!(by_name("api-server"), vec![vec!["image"]]);
    assert!(
        source(&plan, "api-server", "env_vars").starts_with(
            "completion (rules:docker-resource: the addresses of what it connects to: `DATABASE_URL` of `postgres-db`, `REDIS_URL` of `redis-cache`"
        ),
        "{plan:#}"
    );
    assert_eq!(
        resource(&plan, "api-server")["spec"]["env_vars"],
        json!({
            "DATABASE_URL": format!("postgresql://admin:{PASSWORD}@postgres-db:5432/appdb"),
            "REDIS_URL": "redis://redis-cache:6379"
        })
    );
    assert_eq!(source(&plan, "api-server", "ports"), "user");
    assert_eq!(
        source(&plan, "api-server", "image"),
        "completion (model scripted, new)"
    );
    assert!(
        source(&plan, "redis-cache", "healthcheck")
            .starts_with("completion (rules:docker-resource"),
        "{plan:#}"
    );
    // The request carried the context of what api connects to.
    let api = completions
        .iter()
        .find(|r| about(r) == "api-server")
        .expect("asked");
    let prompt = api["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        prompt.contains("redis:7-alpine") && prompt.contains("postgres-db"),
        "{prompt}"
    );
    assert_eq!(api["response_format"]["type"], "json_schema");
    assert_eq!(api["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        api["response_format"]["json_schema"]["schema"]["additionalProperties"],
        false
    );
    assert_eq!(api["temperature"], 0);

    let lock = std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock written");
    assert!(
        lock.contains("[resources.api-server]") && lock.contains("source = \"model:scripted\""),
        "{lock}"
    );
    assert!(
        lock.contains("system_fingerprint = \"fp_scripted\""),
        "{lock}"
    );
    assert!(
        !lock.contains(PASSWORD),
        "the password stays out of the lock: {lock}"
    );

    let before = server.requests().len();
    let again = plan_json(&p, &server);
    assert_eq!(
        server.requests().len(),
        before,
        "a second plan asks nothing"
    );
    assert_eq!(
        source(&again, "api-server", "image"),
        "completion (model scripted)"
    );
    assert_eq!(
        resource(&again, "api-server")["spec"]["image"],
        resource(&plan, "api-server")["spec"]["image"]
    );
    no_secret_sent(&server);
}

#[test]
fn description_only_fills_every_field_keeps_secrets_home_and_reasks_only_what_changed() {
    let server = ModelServer::start(|r, _| Reply::Content(valid_answer(r)));
    let main = |api_description: &str| {
        format!(
            r#"
db = DockerResource(name = "postgres-db", description = "PostgreSQL database", env_vars = {{"POSTGRES_PASSWORD": env("DB_PASSWORD")}})
api = DockerResource(
    name = "api-server",
    description = "{api_description}",
    connections = [DatabaseConnection(to_resource = db, description = "user data")],
)
notes = FileResource(name = "notes.txt", description = "a README for the team")
"#
        )
    };
    let p = project(&main("FastAPI backend server"));
    let plan = plan_json(&p, &server);
    // What has a default (`env_vars`, `volumes`, `networks`,
    // `healthcheck`) is not asked.
    assert!(
        source(&plan, "api-server", "image").starts_with("completion ("),
        "{:#}",
        resource(&plan, "api-server")
    );
    // A port on this machine is published only when the user writes it:
    // never asked of a model.
    assert!(
        resource(&plan, "api-server")["spec"].get("ports").is_none(),
        "{:#}",
        resource(&plan, "api-server")
    );
    for request in server.completions() {
        assert!(!asked(&request).contains(&"ports".to_string()), "{request}");
    }
    assert_eq!(
        source(&plan, "notes.txt", "content"),
        "completion (model scripted, new)"
    );
    no_secret_sent(&server);
    let lock = std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock");
    assert!(!lock.contains(PASSWORD), "{lock}");

    // A second plan: nothing asked.
    let before = server.requests().len();
    plan_json(&p, &server);
    assert_eq!(server.requests().len(), before);

    // One description changed: that declaration only.
    p.write(
        "main.star",
        main("FastAPI backend server, now with metrics"),
    );
    plan_json(&p, &server);
    let asked_now: Vec<String> = server.requests()[before..]
        .iter()
        .filter(|r| !is_probe(r))
        .map(about)
        .collect();
    assert_eq!(asked_now, vec!["api-server"]);

    // --refresh asks again for the one named.
    let before = server.requests().len();
    let out = with_model(&p, &server, &["complete", "--refresh", "notes.txt"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let asked_now: Vec<String> = server.requests()[before..]
        .iter()
        .filter(|r| !is_probe(r))
        .map(about)
        .collect();
    assert_eq!(asked_now, vec!["notes.txt"]);
    assert!(stdout(&out).contains("model scripted"), "{}", stdout(&out));
    no_secret_sent(&server);
}

#[test]
fn locked_refuses_what_the_lock_does_not_hold_and_replays_what_it_does() {
    let server = ModelServer::start(|r, _| Reply::Content(valid_answer(r)));
    let p = project(
        "notes = FileResource(name = \"notes.txt\", description = \"a README\")\n\
         db = DockerResource(name = \"db\", description = \"PostgreSQL database\")\n",
    );
    let out = with_model(&p, &server, &["plan", "--offline", "--locked"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--locked")
            && stderr(&out).contains("`db`")
            && stderr(&out).contains("`image`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 0);
    assert!(
        !p.dir().join("clockwork.lock").exists(),
        "--locked writes nothing"
    );

    plan_json(&p, &server);
    let before = server.requests().len();
    let out = with_model(&p, &server, &["plan", "--offline", "--locked"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn without_a_model_a_described_gap_is_an_error_that_says_how_to_configure_one() {
    let p = project(
        "api = DockerResource(name = \"api\", description = \"a service that echoes requests\")\n\
         db = DockerResource(name = \"db\", description = \"PostgreSQL database\")\n",
    );
    let out = p.clockwork(&["plan", "--offline"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`api`") && err.contains("`image`"), "{err}");
    assert!(
        err.contains("CW_BASE_URL") && err.contains("CW_MODEL"),
        "{err}"
    );
    // PostgreSQL is known to the rules: no error about `db`.
    assert!(!err.contains("`db` (DockerResource)"), "{err}");
    // `assert` never needs a model.
    let out = p.clockwork(&["graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// A one-field project: a described file without content.
fn notes() -> TestProject {
    project("notes = FileResource(name = \"notes.txt\", description = \"a README\")\n")
}

fn content_of(plan: &Value) -> Value {
    resource(plan, "notes.txt")["spec"]["content"].clone()
}

#[test]
fn a_malformed_or_truncated_answer_is_asked_again_once() {
    for bad in [
        Reply::Content("this is not json at all".into()),
        Reply::Truncated("{\"content\": \"unterminated".into()),
    ] {
        let server = ModelServer::start(move |r, n| match n {
            1 => bad.clone(),
            _ => Reply::Content(valid_answer(r)),
        });
        let p = notes();
        let plan = plan_json(&p, &server);
        assert_eq!(content_of(&plan), json!("written by the scripted model\n"));
        let requests = server.requests();
        assert_eq!(requests.len(), 3, "probe, a bad answer, a good one");
        let note = requests[2]["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned();
        assert!(
            note.as_ref()
                .and_then(|m| m["content"].as_str())
                .is_some_and(|c| c.contains("could not be used")),
            "{note:?}"
        );
    }
}

#[test]
fn an_answer_that_ignores_the_schema_twice_is_said_and_a_needed_field_fails_validation() {
    let server = ModelServer::start(|r, _| {
        if is_probe(r) {
            Reply::Content(valid_answer(r))
        } else {
            Reply::Content("{\"poem\": \"roses are red\"}".into())
        }
    });
    let p = notes();
    let out = with_model(&p, &server, &["plan", "--offline"], &[]);
    // Each field the answer left out is said with what came back; the
    // file cannot do without its content, so validating it says so.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`notes.txt`")
            && err.contains("`content` is not used")
            && err.contains("roses are red")
            && err.contains("`content` is needed"),
        "{err}"
    );
    assert_eq!(server.completions().len(), 2, "asked again once");
    assert!(!p.dir().join("clockwork.lock").exists());
}

#[test]
fn a_wrong_type_is_asked_again_with_the_problem() {
    let server = ModelServer::start(|r, n| match n {
        1 => {
            Reply::Content("{\"content\": 42, \"directory\": \"docs\", \"mode\": \"0644\"}".into())
        }
        _ => Reply::Content(valid_answer(r)),
    });
    let p = notes();
    let plan = plan_json(&p, &server);
    assert_eq!(content_of(&plan), json!("written by the scripted model\n"));
    let retry = &server.requests()[2];
    let last = retry["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    assert!(
        last["content"].as_str().unwrap_or("").contains("`content`"),
        "{last}"
    );
}

#[test]
fn busy_servers_are_retried_and_a_server_that_stays_down_is_an_error() {
    let server = ModelServer::start(|r, n| match n {
        0 => Reply::Status(429, "{\"error\": \"slow down\"}".into()),
        _ => Reply::Content(valid_answer(r)),
    });
    let p = notes();
    plan_json(&p, &server);
    assert_eq!(server.requests().len(), 3, "429, probe again, completion");

    let server =
        ModelServer::start(|_, _| Reply::Status(500, "{\"error\": \"model crashed\"}".into()));
    let p = notes();
    let out = with_model(
        &p,
        &server,
        &["plan", "--offline"],
        &[("CW_MODEL_RETRIES", "2")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("500") && stderr(&out).contains("model crashed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 3, "one try and two retries");
}

#[test]
fn a_server_that_hangs_is_given_up_on_at_the_timeout() {
    let server = ModelServer::start(|_, _| Reply::Hang(Duration::from_secs(20)));
    let p = notes();
    let started = std::time::Instant::now();
    let out = with_model(
        &p,
        &server,
        &["plan", "--offline"],
        &[("CW_MODEL_TIMEOUT", "1"), ("CW_MODEL_RETRIES", "0")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not answer within"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "gave up at the timeout, not at the hang's end"
    );
}

#[test]
fn a_server_that_does_not_enforce_the_schema_is_noticed_and_its_fenced_answer_read() {
    let server = ModelServer::start(|r, _| {
        if is_probe(r) {
            Reply::Content("Hello!".into())
        } else {
            Reply::Content(format!(
                "<think>a file</think>\n```json\n{}\n```",
                valid_answer(r)
            ))
        }
    });
    let p = notes();
    let out = with_model(&p, &server, &["plan", "--offline", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not enforce the response schema"),
        "{}",
        stderr(&out)
    );
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(content_of(&plan), json!("written by the scripted model\n"));

    let out = with_model(&p, &server, &["doctor", "--json"], &[]);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        report["model"]["structured_output_enforced"], false,
        "{report}"
    );
}

#[test]
fn doctor_reports_the_server_the_model_and_enforcement() {
    let server = ModelServer::start(|r, _| Reply::Content(valid_answer(r)));
    let p = notes();
    let out = with_model(&p, &server, &["doctor", "--json"], &[]);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        report["model"]["structured_output_enforced"], true,
        "{report}"
    );
    assert_eq!(report["model"]["model"], "scripted");
    assert_eq!(report["model"]["answered_by"], "scripted-served");
    assert!(report["model"]["latency_ms"].is_u64());
    let out = with_model(&p, &server, &["-v", "plan", "--offline"], &[]);
    assert!(
        stderr(&out).contains("structured output is enforced"),
        "{}",
        stderr(&out)
    );

    let out = p.clockwork(&["doctor"]);
    assert!(
        stdout(&out).contains("model: not configured"),
        "{}",
        stdout(&out)
    );
}

const WORDS: &str = r#"
api = DockerResource(name = "words-api", image = "nginx:alpine")
db = DockerResource(name = "words-db", image = "redis:7-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API and the database agree on the time")
"#;

#[test]
fn a_check_in_words_becomes_a_function_shown_for_review_and_recorded() {
    let server = ModelServer::start(|r, _| {
        if asked(r) == ["check"] {
            let code = "def check(source, target):\n    ok = source.state.running and target.state.running\n    return (ok, \"both run\" if ok else \"one is down\")\n";
            Reply::Content(json!({"check": code}).to_string())
        } else {
            Reply::Content(valid_answer(r))
        }
    });
    let p = project(WORDS);
    let out = with_model(&p, &server, &["plan", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("assertions completed (review before apply)"),
        "{text}"
    );
    assert!(text.contains("     | def check(source, target):"), "{text}");
    assert!(text.contains("completion (model scripted, new)"), "{text}");
    // The prompt said what the function receives.
    let asked_check = server
        .completions()
        .into_iter()
        .find(|r| asked(r) == ["check"])
        .expect("asked");
    let prompt = asked_check["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        prompt.contains("def check(source, target):") && prompt.contains("words-db"),
        "{prompt}"
    );
    let lock = std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock");
    assert!(lock.contains("def check(source, target):"), "{lock}");

    // Replayed by the commands that never ask a model.
    let before = server.requests().len();
    let out = p.clockwork(&["plan", "--offline", "--locked"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("| def check"), "{}", stdout(&out));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn a_written_check_that_is_not_starlark_is_asked_again_then_refused() {
    let server = ModelServer::start(|r, _| {
        if asked(r) == ["check"] {
            Reply::Content(json!({"check": "check = source and target"}).to_string())
        } else {
            Reply::Content(valid_answer(r))
        }
    });
    let p = project(WORDS);
    let out = with_model(&p, &server, &["plan", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`check`")
            && err.contains("only `def` statements")
            && err.contains("`check` is missing"),
        "{err}"
    );
    assert_eq!(server.completions().len(), 2);
}

#[test]
fn connecting_to_a_known_redis_gives_redis_url_without_a_model() {
    let p = project(
        "cache = DockerResource(name = \"redis-cache\", description = \"Redis cache\")\n\
         api = DockerResource(name = \"api\", image = \"busybox:latest\", connections = [cache])\n\
         own = DockerResource(name = \"own\", image = \"busybox:latest\", env_vars = {\"MODE\": \"x\"}, connections = [cache])\n",
    );
    let out = p.clockwork(&["plan", "--offline", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        resource(&plan, "api")["spec"]["env_vars"],
        json!({"REDIS_URL": "redis://redis-cache:6379"})
    );
    assert!(
        source(&plan, "api", "env_vars")
            .starts_with("completion (rules:docker-resource: the addresses of what it connects to: `REDIS_URL` of `redis-cache`"),
        "{plan:#}"
    );
    // The user's own variables are the user's: nothing added to them.
    assert_eq!(
        resource(&plan, "own")["spec"]["env_vars"],
        json!({"MODE": "x"})
    );
}

#[test]
fn a_secret_the_model_makes_up_is_left_out_the_good_answers_are_locked_and_a_rerun_asks_only_the_rest()
 {
    let server = ModelServer::start(|r, _| {
        let mut answer: Value = serde_json::from_str(&valid_answer(r)).expect("json");
        if let Some(o) = answer.as_object_mut()
            && o.contains_key("content")
        {
            o.insert(
                "content".into(),
                json!("DATABASE_URL=postgresql://app:changeme-invented@db:5432/app\n"),
            );
        }
        Reply::Content(answer.to_string())
    });
    let p = notes();
    let out = with_model(&p, &server, &["plan", "--offline"], &[]);
    // The file cannot do without its content: the plan stops there, and
    // says why the answer was not used.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a secret the model made up"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("changeme-invented"),
        "{}",
        stderr(&out)
    );
    // Asked, then asked again for the content only.
    let asked_first: Vec<Vec<String>> = server.completions().iter().map(asked).collect();
    assert_eq!(asked_first.len(), 2, "{asked_first:?}");
    assert_eq!(asked_first[1], ["content"]);
    // What validated is in the lock already; the invention never is.
    let lock =
        std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock written at once");
    assert!(lock.contains("directory"), "{lock}");
    assert!(!lock.contains("changeme-invented"), "{lock}");
    // A re-run asks only what is still missing.
    let before = server.completions().len();
    let out = with_model(&p, &server, &["plan", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let asked_again: Vec<Vec<String>> = server.completions()[before..].iter().map(asked).collect();
    assert_eq!(asked_again, [vec!["content"], vec!["content"]]);
}

#[test]
fn a_composites_child_is_asked_with_the_composites_description() {
    let server = ModelServer::start(|r, _| Reply::Content(valid_answer(r)));
    let p = project(
        "shop = BlankResource(name = \"shop\", description = \"an online shop for books\")\n\
         shop.add(FileResource(name = \"about.txt\", directory = \"docs\", mode = \"0644\", description = \"what the shop sells\"))\n",
    );
    plan_json(&p, &server);
    let request = server
        .completions()
        .into_iter()
        .find(|r| about(r) == "about.txt")
        .expect("about.txt asked");
    let prompt = request["messages"][1]["content"].as_str().unwrap_or("");
    assert!(
        prompt.contains("It is part of `shop` (BlankResource): an online shop for books"),
        "{prompt}"
    );
}

#[test]
fn a_connectivity_check_in_words_becomes_a_service_connectivity_assert_without_a_model() {
    let p = project(
        r#"
api = DockerResource(name = "reach-api", image = "nginx:alpine")
db = DockerResource(name = "reach-db", image = "postgres:15-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API can connect to the database")
CrossResourceAssert(source = db, target = api, assertion = "the two agree on the time")
"#,
    );
    let out = p.clockwork(&["plan", "--offline", "--json"]);
    // The second has no reading without a model: its plugin says so.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the two agree on the time") || stderr(&out).contains("`check`"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("read as a postgresql connectivity check"),
        "{}",
        stderr(&out)
    );
    let p = project(
        r#"
api = DockerResource(name = "reach-api", image = "nginx:alpine")
db = DockerResource(name = "reach-db", image = "postgres:15-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API can connect to the database")
"#,
    );
    let out = p.clockwork(&["plan", "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ServiceConnectivityAssert")
            && text.contains("postgresql")
            && text.contains("review"),
        "{text}"
    );
}

/// Declarations that do not depend on each other are asked about at once,
/// at most four at a time; the lock they leave is the same as one by one.
/// The most questions `main`'s plan had at the server at once, and the
/// server: each question is held until another arrives (bounded: asked one
/// by one, none ever would).
fn most_at_once(main: &str) -> (usize, ModelServer, TestProject) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let server = {
        let (in_flight, most) = (in_flight.clone(), most.clone());
        ModelServer::start(move |r, _| {
            if is_probe(r) {
                return Reply::Content(valid_answer(r));
            }
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Held until another question arrives (bounded: asked one by
            // one, none ever would).
            let held = std::time::Instant::now();
            while in_flight.load(Ordering::SeqCst) < 2 && held.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(10));
            }
            most.fetch_max(in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Reply::Content(valid_answer(r))
        })
    };
    let p = project(main);
    plan_json(&p, &server);
    let at_once = most.load(Ordering::SeqCst);
    (at_once, server, p)
}

#[test]
fn independent_declarations_are_asked_about_at_once_at_most_four() {
    let main: String = (0..6)
        .map(|i| {
            format!("DockerResource(name = \"svc-{i}\", description = \"service number {i}\")\n")
        })
        .collect();
    let (at_once, server, p) = most_at_once(&main);
    assert!((2..=4).contains(&at_once), "{at_once} at once");
    assert_eq!(server.completions().len(), 6);
    let lock = std::fs::read_to_string(p.dir().join("clockwork.lock")).expect("lock");
    let order: Vec<&str> = lock
        .lines()
        .filter(|l| l.starts_with("[resources.") && !l.contains(".fields") && !l.contains(".model"))
        .collect();
    assert_eq!(order.len(), 6, "{lock}");
}

#[test]
fn connections_are_asked_about_at_once_too() {
    let idle = r#"["sh", "-c", "sleep 1"]"#;
    let mut main = format!(
        "api = DockerResource(name = \"api\", image = \"busybox:latest\", command = {idle})\n"
    );
    for i in 0..5 {
        main.push_str(&format!(
            "s{i} = DockerResource(name = \"store-{i}\", image = \"busybox:latest\", command = {idle})\n\
             api.connect(FileConnection(to_resource = s{i}, description = \"files number {i}\"))\n"
        ));
    }
    let (at_once, server, _) = most_at_once(&main);
    assert!((2..=4).contains(&at_once), "{at_once} at once");
    assert_eq!(server.completions().len(), 5);
}

#[test]
fn a_both_run_check_in_words_becomes_a_function_without_a_model() {
    let p = project(
        r#"
api = DockerResource(name = "run-api", image = "nginx:alpine")
db = DockerResource(name = "run-db", image = "redis:7-alpine")
CrossResourceAssert(source = api, target = db, assertion = "the API and the database are both running")
"#,
    );
    let out = p.clockwork(&["plan", "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("read as: both containers run; review it")
            && text.contains("| def check(source, target):")
            && text.contains("source.state.running and target.state.running"),
        "{text}"
    );
    // Words that say neither stay the user's (or a model's) to turn into
    // a check.
    assert!(!text.contains("ServiceConnectivityAssert"), "{text}");
}

/// A connection's completed field, as `plan --json` shows it.
fn completed<'a>(plan: &'a Value, connection: &str, field: &str) -> &'a Value {
    plan["connections"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == connection))
        .and_then(|c| c["completed"].as_array())
        .and_then(|fs| fs.iter().find(|f| f["field"] == field))
        .unwrap_or_else(|| panic!("{connection}.{field} not completed in {plan:#}"))
}

#[test]
fn a_field_answered_wrongly_twice_takes_the_rule_that_follows_from_the_models_other_answers() {
    // The mount path is always a relative one; the volume's name is fine.
    let server = ModelServer::start(|r, _| {
        let mut answer: Value = serde_json::from_str(&valid_answer(r)).expect("json");
        if let Some(o) = answer.as_object_mut() {
            if o.contains_key("mount_path") {
                o.insert("mount_path".into(), json!("../data/shared"));
            }
            if o.contains_key("volume_name") {
                o.insert("volume_name".into(), json!("uploads"));
            }
        }
        Reply::Content(answer.to_string())
    });
    let idle = r#"["sh", "-c", "sleep 1"]"#;
    let p = project(&format!(
        "storage = DockerResource(name = \"storage\", image = \"busybox:latest\", command = {idle})\n\
         api = DockerResource(name = \"api\", image = \"busybox:latest\", command = {idle})\n\
         api.connect(FileConnection(to_resource = storage, description = \"shared volume for user file uploads\"))\n"
    ));
    let out = with_model(&p, &server, &["plan", "--offline"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "the model's value for `mount_path` is not used (it answered \"../data/shared\")"
        ) && err.contains("it takes \"/data/uploads\" by rule"),
        "{err}"
    );
    // Asked both, then the mount path again with the problem.
    let asked_first: Vec<Vec<String>> = server.completions().iter().map(asked).collect();
    assert_eq!(
        asked_first,
        [vec!["mount_path", "volume_name"], vec!["mount_path"]]
    );
    let again = server.completions()[1]["messages"].to_string();
    assert!(again.contains("did you mean `/data/shared`"), "{again}");
    // Both are in the lock: a re-run asks nothing and plans the same.
    let before = server.completions().len();
    let plan = plan_json(&p, &server);
    assert_eq!(server.completions().len(), before);
    let mount = completed(&plan, "api-file-storage", "mount_path");
    assert_eq!(mount["value"], "/data/uploads");
    assert!(
        mount["source"]
            .as_str()
            .unwrap_or("")
            .contains("rules:file-connection"),
        "{mount}"
    );
    let volume = completed(&plan, "api-file-storage", "volume_name");
    assert!(
        volume["source"]
            .as_str()
            .unwrap_or("")
            .contains("model scripted"),
        "{volume}"
    );
}

#[test]
fn the_rules_follow_the_image_the_model_picked() {
    let server = ModelServer::start(|r, _| {
        let mut answer: Value = serde_json::from_str(&valid_answer(r)).expect("json");
        if let Some(o) = answer.as_object_mut()
            && o.contains_key("image")
        {
            o.insert("image".into(), json!("redis:7-alpine"));
        }
        Reply::Content(answer.to_string())
    });
    // Nothing in the words names a service the rules know.
    let p = project(
        "kv = DockerResource(name = \"kv\", description = \"the team's key-value store\")\n",
    );
    let plan = plan_json(&p, &server);
    assert_eq!(
        source(&plan, "kv", "image"),
        "completion (model scripted, new)"
    );
    assert!(
        source(&plan, "kv", "healthcheck").contains("Redis readiness check"),
        "{:#}",
        resource(&plan, "kv")
    );
    let asked: Vec<Vec<String>> = server.completions().iter().map(asked).collect();
    assert!(
        asked
            .iter()
            .all(|fields| !fields.contains(&"healthcheck".to_string())),
        "{asked:?}"
    );
}
