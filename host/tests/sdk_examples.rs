//! The Rust SDK's numbered examples build to components the host loads,
//! and the ones that plan, settle and resolve answer the real host runtime
//! as their comments say.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clockwork::wit::assertion::exports::clockwork::plugin::assertions::{CheckInput, Verdict};
use clockwork::wit::connection::exports::clockwork::plugin::connections::{
    Contribution, EdgeOrder, Endpoint, MountSource, ResolveInput,
};
use clockwork::wit::resource::exports::clockwork::plugin::resources::{
    ActionResult, Change, ChangePlan, PlanInput,
};
use clockwork::wit::types::{Action, PluginError, ResourceRef};
use clockwork::{Identity, ProjectDir};
use clockwork::{LoadedPlugin, PluginKind};
use clockwork::{Scope, check_action};
use clockwork_schema::actions::{ContainerSpec, spec_hash};
use serde_json::{Value, json};

use crate::support::{
    TestProject, cargo, load, runtime, stderr, stdout, target_dir, test_cache, workspace,
};

/// Builds every example once per test run and returns their folder.
fn examples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = target_dir().join("sdk-examples");
        let status = cargo()
            .current_dir(workspace())
            .args([
                "build",
                "-p",
                "clockwork-sdk",
                "--examples",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the SDK examples failed");
        target.join("wasm32-wasip2/release/examples")
    })
}

fn example(file: &str) -> PathBuf {
    examples().join(format!("{file}.wasm"))
}

async fn load_example(file: &str) -> LoadedPlugin {
    let rt = runtime(None, None, Some(test_cache()));
    load(&rt, &example(file)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_numbered_example_loads_and_the_probe_example_checks() {
    let rt = runtime(None, None, Some(test_cache()));
    let expected = [
        (
            "_0_minimal_assertion",
            PluginKind::Assertion,
            "AlwaysAssert",
        ),
        (
            "_1_assertion_with_probe",
            PluginKind::Assertion,
            "TcpOpenAssert",
        ),
        ("_2_resource_schema", PluginKind::Resource, "StaticSite"),
        ("_3_connection", PluginKind::Connection, "CacheConnection"),
        (
            "_4_resource_plan_and_settle",
            PluginKind::Resource,
            "PostgresDatabase",
        ),
        (
            "_5_connection_resolve",
            PluginKind::Connection,
            "PostgresConnection",
        ),
    ];
    for (file, kind, type_name) in expected {
        let plugin = load(&rt, &example(file)).await;
        assert_eq!(plugin.kind(), kind, "{file}");
        assert_eq!(plugin.type_names(), [type_name], "{file}");
    }

    let probe = load(&rt, &example("_1_assertion_with_probe")).await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let check = |port: u16| CheckInput {
        type_name: "TcpOpenAssert".into(),
        config: json!({"host": "127.0.0.1", "port": port}).to_string(),
        target: None,
        target_state: None,
        attempt: 1,
        remaining_ms: 2000,
    };
    let open = probe.check(&check(port)).await.expect("call").expect("ran");
    assert_eq!(open.verdict, Verdict::Pass, "{}", open.message);
    drop(listener);
    let closed = probe.check(&check(port)).await.expect("call").expect("ran");
    assert_eq!(closed.verdict, Verdict::Fail, "{}", closed.message);
}

/// The project every plain input below is planned in, as the host
/// describes it to plugins.
fn project() -> (Value, String) {
    let identity = Identity::new("shop", Path::new("/srv/shop"));
    let network = identity.default_network();
    (
        json!({"name": "shop", "dir": "/srv/shop", "network": network}),
        network,
    )
}

/// A `PostgresDatabase` named `db`, completed as the host hands it to `plan`
/// (defaults filled, one network contributed by a connection).
fn database() -> Value {
    json!({
        "name": "db", "password": "s3cret", "version": "16-alpine", "user": "app",
        "database": "shop", "environment": {}, "mounts": [], "networks": ["backend"],
        "connections": [], "assertions": [],
    })
}

/// The host's observation of `db`'s one container.
fn observed(hash: &str, running: bool, restarts: i64) -> Value {
    json!({"containers": [{
        "name": "db", "id": "c0ffee", "running": running, "restarting": false,
        "restart_count": restarts, "exit_code": 0, "started_at": "2026-05-01T10:00:00Z",
        "health": "healthy", "config_hash": hash, "image": "postgres:16-alpine",
    }]})
}

fn plan_input(
    desired: Option<&Value>,
    prior: Option<&Value>,
    observed: Option<&Value>,
) -> PlanInput {
    PlanInput {
        target: ResourceRef {
            type_name: "PostgresDatabase".into(),
            name: "db".into(),
        },
        desired: desired.map(Value::to_string),
        prior: prior.map(Value::to_string),
        observed: observed.map(Value::to_string),
        project: project().0.to_string(),
    }
}

async fn plan(plugin: &LoadedPlugin, input: &PlanInput) -> ChangePlan {
    plugin
        .plan(input)
        .await
        .expect("plan runs")
        .unwrap_or_else(|e| panic!("plan refused: {}", e.message()))
}

/// The actions as the host names them in `plan --json`.
fn kinds(plan: &ChangePlan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| {
            clockwork::action_json(a)["action"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

fn container_of(plan: &ChangePlan) -> ContainerSpec {
    plan.actions
        .iter()
        .find_map(|a| match a {
            Action::EnsureContainer(spec) => serde_json::from_str(spec).ok(),
            _ => None,
        })
        .expect("the plan ensures a container")
}

fn diff_paths(plan: &ChangePlan) -> Vec<(&str, bool)> {
    plan.diff
        .iter()
        .map(|d| (d.path.as_str(), d.forces_replace))
        .collect()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_example_creates_on_the_project_network_and_settles_the_container_id() {
    let plugin = load_example("_4_resource_plan_and_settle").await;
    let (_, network) = project();
    let created = plan(&plugin, &plan_input(Some(&database()), None, None)).await;
    assert_eq!(created.change, Change::Create);
    assert_eq!(
        kinds(&created),
        [
            "ensure-image",
            "ensure-network",
            "ensure-network",
            "ensure-volume",
            "ensure-container"
        ]
    );
    let spec = container_of(&created);
    assert_eq!(spec.name, "db");
    assert_eq!(spec.image, "postgres:16-alpine");
    assert_eq!(spec.networks, [network.as_str(), "backend"]);
    assert_eq!(spec.env["POSTGRES_PASSWORD"], "s3cret");
    assert_eq!(spec.env["POSTGRES_DB"], "shop");
    assert!(spec.healthcheck.is_some(), "dependents wait for health");
    // Every action passes the policy the host applies at plan and apply.
    let dir = tempfile::tempdir().expect("temp dir");
    let files = ProjectDir::open(&dir.path().canonicalize().expect("canonical")).expect("open");
    for action in &created.actions {
        check_action(
            &files,
            &Scope::of("db", "PostgresDatabase"),
            action,
            clockwork::Drivers::bundled(),
        )
        .unwrap_or_else(|e| panic!("{action:?}: {e}"));
    }
    let planned = json_of(&created.planned_state);
    assert_eq!(planned["id"], Value::Null, "unknown until the host runs it");

    // The host ran every action; the container's result carries its id.
    let results: Vec<ActionResult> = created
        .actions
        .iter()
        .enumerate()
        .map(|(index, action)| ActionResult {
            index: index as u32,
            ok: true,
            output: match action {
                Action::EnsureContainer(_) => json!({"id": "c0ffee", "created": true,
                    "started": true, "restart_count": 0, "started_at": "2026-05-01T10:00:00Z"}),
                _ => json!({"created": true}),
            }
            .to_string(),
        })
        .collect();
    let input = plan_input(Some(&database()), None, None);
    let state = plugin
        .settle(&input, &created, &results)
        .await
        .expect("settle runs")
        .unwrap_or_else(|e| panic!("settle refused: {}", e.message()));
    let state = json_of(&state);
    assert_eq!(state["id"], "c0ffee");
    assert_eq!(state["container"], "db");
    assert_eq!(state["restart_count"], 0);
    // The hash the host stamps on the container it creates from this spec.
    assert_eq!(state["spec_hash"], spec_hash(&spec));
    assert_eq!(
        state["fields"].get("password"),
        None,
        "a secret is never recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_example_decides_none_update_replace_and_delete_from_the_hash() {
    let plugin = load_example("_4_resource_plan_and_settle").await;
    let created = plan(&plugin, &plan_input(Some(&database()), None, None)).await;
    let hash = spec_hash(&container_of(&created));
    let mut prior = json_of(&created.planned_state);
    prior["id"] = json!("c0ffee");

    // The same config and a running container with its hash: nothing to do,
    // and the record keeps the id without `settle`.
    let up = observed(&hash, true, 0);
    let same = plan(
        &plugin,
        &plan_input(Some(&database()), Some(&prior), Some(&up)),
    )
    .await;
    assert_eq!(same.change, Change::None);
    assert!(same.actions.is_empty());
    assert_eq!(json_of(&same.planned_state)["id"], "c0ffee");
    // The state lost: the observation alone decides.
    let lost = plan(&plugin, &plan_input(Some(&database()), None, Some(&up))).await;
    assert_eq!(lost.change, Change::None);
    // The container removed by hand, whatever the state says: create.
    let gone = plan(&plugin, &plan_input(Some(&database()), Some(&prior), None)).await;
    assert_eq!(gone.change, Change::Create);

    // The right config, stopped, or restarted since the last apply: the
    // host ensures it again, nothing is replaced.
    let stopped = observed(&hash, false, 0);
    let started = plan(
        &plugin,
        &plan_input(Some(&database()), Some(&prior), Some(&stopped)),
    )
    .await;
    assert_eq!(started.change, Change::Update);
    assert_eq!(diff_paths(&started), [("/running", false)]);
    assert!(!kinds(&started).contains(&"remove-container".to_string()));
    let looping = observed(&hash, true, 2);
    let restarted = plan(
        &plugin,
        &plan_input(Some(&database()), Some(&prior), Some(&looping)),
    )
    .await;
    assert_eq!(restarted.change, Change::Update);
    assert_eq!(diff_paths(&restarted), [("/restart_count", false)]);
    assert_eq!(restarted.diff[0].old.as_deref(), Some("0"));
    assert_eq!(restarted.diff[0].new.as_deref(), Some("2"));

    // A changed field: replace, naming it, the old container removed after
    // the new image is there and before the new container starts.
    let mut newer = database();
    newer["version"] = json!("17-alpine");
    let replaced = plan(&plugin, &plan_input(Some(&newer), Some(&prior), Some(&up))).await;
    assert_eq!(replaced.change, Change::Replace);
    assert_eq!(diff_paths(&replaced), [("/version", true)]);
    assert_eq!(replaced.diff[0].old.as_deref(), Some("\"16-alpine\""));
    assert_eq!(replaced.diff[0].new.as_deref(), Some("\"17-alpine\""));
    let order = kinds(&replaced);
    let at = |kind: &str| order.iter().position(|k| k == kind).unwrap_or(usize::MAX);
    assert!(
        at("ensure-image") < at("remove-container")
            && at("remove-container") < at("ensure-container"),
        "{order:?}"
    );
    assert_eq!(container_of(&replaced).image, "postgres:17-alpine");
    // Only the password changed: it is not recorded, so the whole
    // declaration is named, and it is still a replace.
    let mut rotated = database();
    rotated["password"] = json!("n3w-s3cret");
    let replaced = plan(
        &plugin,
        &plan_input(Some(&rotated), Some(&prior), Some(&up)),
    )
    .await;
    assert_eq!(replaced.change, Change::Replace);
    assert_eq!(diff_paths(&replaced), [("/", true)]);

    // Destroy: remove its own container, and `settle` forgets it.
    let destroy_input = plan_input(None, Some(&prior), Some(&up));
    let destroy = plan(&plugin, &destroy_input).await;
    assert_eq!(destroy.change, Change::Delete);
    assert_eq!(kinds(&destroy), ["remove-container"]);
    assert!(matches!(&destroy.actions[0], Action::RemoveContainer(n) if n == "db"));
    let removed = vec![ActionResult {
        index: 0,
        ok: true,
        output: json!({"removed": true}).to_string(),
    }];
    let forgotten = plugin
        .settle(&destroy_input, &destroy, &removed)
        .await
        .expect("settle runs")
        .expect("settled");
    assert_eq!(json_of(&forgotten), Value::Null);
    let nothing = plan(&plugin, &plan_input(None, None, None)).await;
    assert_eq!(nothing.change, Change::None);
}

fn endpoint(type_name: &str, name: &str, config: Value) -> Endpoint {
    Endpoint {
        target: ResourceRef {
            type_name: type_name.into(),
            name: name.into(),
        },
        config: config.to_string(),
    }
}

async fn resolve(
    plugin: &LoadedPlugin,
    config: Value,
    to: Endpoint,
) -> Result<Contribution, PluginError> {
    let input = ResolveInput {
        type_name: "PostgresConnection".into(),
        name: "api-db".into(),
        config: config.to_string(),
        from_resource: endpoint("DockerResource", "api", json!({"image": "nginx:alpine"})),
        to_resource: to,
        project: project().0.to_string(),
    };
    plugin.resolve(&input).await.expect("resolve runs")
}

fn problem_path(error: PluginError) -> Option<String> {
    match error {
        PluginError::InvalidConfig(d) => d.first().and_then(|d| d.path.clone()),
        other => panic!("expected an invalid config, got {}", other.message()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_example_gives_the_app_its_database_url_and_the_database_its_script() {
    let plugin = load_example("_5_connection_resolve").await;
    // What the user wrote on the database: no `user`, so its default.
    let db = || {
        endpoint(
            "PostgresDatabase",
            "db",
            json!({"password": "p@ss/word", "database": "shop"}),
        )
    };
    let plain = resolve(&plugin, json!({"env_var_name": "DATABASE_URL"}), db())
        .await
        .expect("resolved");
    let url = "postgresql://app:p%40ss%2Fword@db:5432/shop".to_string();
    assert_eq!(
        plain.from_patch.env,
        [("DATABASE_URL".to_string(), url.clone())]
    );
    assert_eq!(plain.outputs, [("DATABASE_URL".to_string(), url)]);
    assert!(matches!(plain.order, EdgeOrder::FromAfterTo));
    assert!(plain.to_patch.env.is_empty() && plain.to_patch.mounts.is_empty());
    assert!(plain.from_patch.mounts.is_empty() && plain.from_patch.networks.is_empty());

    let named = resolve(
        &plugin,
        json!({"env_var_name": "ORDERS_DB_URL", "init_script": "sql/schema.sql"}),
        db(),
    )
    .await
    .expect("resolved");
    assert_eq!(named.from_patch.env[0].0, "ORDERS_DB_URL");
    let [mount] = named.to_patch.mounts.as_slice() else {
        panic!("one mount into the database: {:?}", named.to_patch.mounts);
    };
    assert!(matches!(&mount.source, MountSource::Bind(s) if s == "./sql/schema.sql"));
    assert_eq!(mount.target, "/docker-entrypoint-initdb.d/schema.sql");
    assert!(mount.read_only);
    assert!(named.from_patch.mounts.is_empty(), "the app gets no mount");

    let outside = resolve(&plugin, json!({"init_script": "../etc/passwd"}), db()).await;
    assert_eq!(
        problem_path(outside.expect_err("refused")).as_deref(),
        Some("/init_script")
    );
    let docker = endpoint("DockerResource", "db", json!({"image": "postgres:16"}));
    let wrong = resolve(&plugin, json!({}), docker).await;
    assert_eq!(
        problem_path(wrong.expect_err("refused")).as_deref(),
        Some("/to_resource")
    );
}

#[test]
fn the_two_examples_plan_together_in_a_project() {
    let project = TestProject::new();
    for file in ["_4_resource_plan_and_settle", "_5_connection_resolve"] {
        std::fs::copy(
            example(file),
            project.dir().join("plugins").join(format!("{file}.wasm")),
        )
        .expect("copy example");
    }
    project.write("schema.sql", "create table orders (id int);\n");
    project.write(
        "main.star",
        "db = PostgresDatabase(password = \"s3cret\", database = \"shop\")\n\
         api = DockerResource(image = \"nginx:alpine\")\n\
         api.connect(PostgresConnection(to_resource = db, init_script = \"schema.sql\"))\n",
    );
    let inspect = project.clockwork(&["plugins", "inspect", "PostgresDatabase"]);
    assert_eq!(inspect.status.code(), Some(0), "{}", stderr(&inspect));
    assert!(
        stdout(&inspect).contains("password"),
        "{}",
        stdout(&inspect)
    );

    let output = project.clockwork(&["plan", "--offline", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("plan --json is JSON");
    let resource = |name: &str| {
        plan["resources"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no `{name}` in {plan:#}"))
    };
    let (db, api) = (resource("db"), resource("api"));
    assert_eq!(db["action"], "create", "{db:#}");
    assert_eq!(api["depends_on"], json!(["db"]), "{api:#}");
    assert_eq!(
        api["spec"]["env_vars"]["DATABASE_URL"], "postgresql://app:***@db:5432/shop",
        "{api:#}"
    );
    assert_eq!(
        db["spec"]["mounts"],
        json!([{"source": "./schema.sql", "target": "/docker-entrypoint-initdb.d/schema.sql", "read_only": true}]),
        "{db:#}"
    );
    let container = db["actions"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["action"] == "ensure-container"))
        .unwrap_or_else(|| panic!("{db:#}"));
    assert_eq!(container["env"]["POSTGRES_PASSWORD"], "***", "masked");
    assert!(
        container["mounts"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["source"] == "./schema.sql")),
        "{container:#}"
    );
}
