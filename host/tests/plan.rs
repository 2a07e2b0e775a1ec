//! `clockwork plan` and `clockwork graph` on the seeds' examples and on
//! small projects that exercise the language.

use serde_json::Value;

use crate::support::{TestProject, clockwork_in, stderr, stdout, workspace};

fn plan_json_in(
    dir: &std::path::Path,
    extra: &[&str],
    env: &[(&str, std::path::PathBuf)],
) -> Value {
    let mut args = vec!["-C", dir.to_str().expect("utf-8"), "plan", "--json"];
    args.extend_from_slice(extra);
    let scratch = tempfile::tempdir().expect("temp dir");
    let output = clockwork_in(scratch.path(), &args, env);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("plan --json is JSON")
}

fn example(name: &str) -> Value {
    plan_json_in(&workspace().join("examples").join(name), &[], &[])
}

fn resource<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {plan:#}"))
}

fn names(plan: &Value) -> Vec<String> {
    plan["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn position(plan: &Value, name: &str) -> usize {
    names(plan)
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} not planned"))
}

#[test]
fn connected_services_orders_the_database_first_and_injects_its_url() {
    let plan = example("connected-services");
    assert_eq!(
        names(&plan),
        ["postgres-db", "redis-cache", "api-server", "worker-service"]
    );
    let api = resource(&plan, "api-server");
    assert_eq!(api["action"], "create");
    assert_eq!(api["type"], "DockerResource");
    assert_eq!(
        api["depends_on"],
        serde_json::json!(["postgres-db", "redis-cache"])
    );
    assert_eq!(api["layer"], 2);
    assert_eq!(
        api["spec"]["env_vars"]["DATABASE_URL"],
        "postgresql://admin:***@postgres-db:5432/appdb"
    );
    assert_eq!(
        api["sources"]["env_vars.DATABASE_URL"],
        "DatabaseConnection api-server-database-postgres-db"
    );
    assert_eq!(
        resource(&plan, "worker-service")["depends_on"],
        serde_json::json!(["redis-cache"])
    );
    let db = resource(&plan, "postgres-db");
    assert_eq!(db["spec"]["env_vars"]["POSTGRES_PASSWORD"], "***");
    assert_eq!(db["spec"]["env_vars"]["POSTGRES_USER"], "admin");
    assert_eq!(db["sources"]["image"], "user");
    assert_eq!(db["sources"]["must_run"], "default");

    let shown = plan_json_in(
        &workspace().join("examples/connected-services"),
        &["--show-secrets"],
        &[],
    );
    assert_eq!(
        resource(&shown, "api-server")["spec"]["env_vars"]["DATABASE_URL"],
        "postgresql://admin:secret123@postgres-db:5432/appdb"
    );
}

#[test]
fn the_showcase_gets_every_connection_types_contribution() {
    let plan = example("connections-showcase");
    let api = resource(&plan, "api");
    let env = &api["spec"]["env_vars"];
    assert_eq!(
        env["DATABASE_URL"],
        "postgresql://postgres:***@postgres:5432/appdb"
    );
    assert_eq!(env["REDIS_HOST"], "redis");
    assert_eq!(
        resource(&plan, "redis")["spec"]["env_vars"]["API_HOST"],
        "api"
    );
    assert_eq!(
        api["spec"]["networks"],
        serde_json::json!(["backend-network"])
    );
    assert_eq!(
        resource(&plan, "redis")["spec"]["networks"],
        serde_json::json!(["backend-network"])
    );
    // Mounts are typed: what the user wrote as a string, and what the
    // connections added, in one form.
    let mount = |source: &str, target: &str, read_only: bool| serde_json::json!({"source": source, "target": target, "read_only": read_only});
    assert_eq!(
        api["spec"]["volumes"],
        serde_json::json!([
            mount("./config.json", "/etc/app/config.json", true),
            mount("./www/health", "/www/health", true),
            mount("app-shared-data", "/data/shared", false)
        ])
    );
    assert_eq!(
        resource(&plan, "storage")["spec"]["volumes"],
        serde_json::json!([mount("app-shared-data", "/data/shared", false)])
    );
    let frontend = resource(&plan, "frontend");
    assert_eq!(frontend["spec"]["env_vars"]["API_URL"], "http://api:8000");
    assert_eq!(frontend["depends_on"], serde_json::json!(["redis", "api"]));
    assert!(position(&plan, "api") > position(&plan, "postgres"));
    assert!(position(&plan, "frontend") > position(&plan, "api"));
    let mesh = plan["connections"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "ServiceMeshConnection"))
        .expect("mesh");
    assert_eq!(mesh["assertions"], serde_json::json!(["HealthcheckAssert"]));
    let db = plan["connections"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "DatabaseConnection"))
        .expect("db");
    assert_eq!(
        db["setup"],
        serde_json::json!([
            "wait-for-db",
            "schema",
            "migration-001_posts",
            "migration-002_display_name"
        ])
    );
    // The health check belongs to the connection's target.
    assert_eq!(
        resource(&plan, "api")["assertions"],
        serde_json::json!([{"name": "frontend-service-mesh-api-healthcheck", "type": "HealthcheckAssert"}])
    );
}

#[test]
fn mixed_pattern_composites_cross_their_boundary_and_take_overrides() {
    let plan = example("mixed-pattern");
    assert_eq!(
        names(&plan),
        ["prometheus", "webapp", "postgres-db", "api-service"]
    );
    assert_eq!(resource(&plan, "webapp")["type"], "BlankResource");
    let api = resource(&plan, "api-service");
    assert_eq!(api["parent"], "webapp");
    assert_eq!(
        api["depends_on"],
        serde_json::json!(["prometheus", "webapp", "postgres-db"])
    );
    let db = resource(&plan, "postgres-db");
    assert_eq!(
        db["spec"]["env_vars"]["POSTGRES_INITDB_ARGS"],
        "--data-checksums"
    );
    assert_eq!(db["spec"]["env_vars"]["POSTGRES_PASSWORD"], "***");

    let dir = workspace().join("examples/mixed-pattern");
    let from_env = plan_json_in(
        &dir,
        &["--show-secrets"],
        &[("WEBAPP_DB_PASSWORD", "from-the-env".into())],
    );
    assert_eq!(
        resource(&from_env, "postgres-db")["spec"]["env_vars"]["POSTGRES_PASSWORD"],
        "from-the-env"
    );
    let default = plan_json_in(&dir, &["--show-secrets"], &[]);
    assert_eq!(
        resource(&default, "postgres-db")["spec"]["env_vars"]["POSTGRES_PASSWORD"],
        "webapp-dev-password"
    );
}

#[test]
fn assertions_are_attached_including_ones_appended_later() {
    let plan = example("assertions");
    let nginx = resource(&plan, "nginx-web");
    let types: Vec<&str> = nginx["assertions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "HealthcheckAssert",
            "ContainerRunningAssert",
            "PortAccessibleAssert",
            "ResponseTimeAssert",
            "HTTPStatusAssert"
        ]
    );
    let file_types: Vec<&str> = resource(&plan, "notes.md")["assertions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(file_types, ["FileExistsAssert", "FileContentMatchesAssert"]);
}

#[test]
fn text_plan_marks_sources_and_masks_secrets() {
    let dir = workspace().join("examples/connected-services");
    let scratch = tempfile::tempdir().expect("temp dir");
    let output = clockwork_in(
        scratch.path(),
        &["-C", dir.to_str().expect("utf-8"), "plan"],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    assert!(
        out.starts_with(
            "Plan for `connected-services` (main.star): 4 resources, 4 to create, in 2 layers\n"
        ),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.contains("env_vars.DATABASE_URL"))
        .expect("row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "env_vars.DATABASE_URL",
            "\"postgresql://admin:***@postgres-db:5432/appdb\"",
            "DatabaseConnection",
            "api-server-database-postgres-db"
        ]
    );
    assert!(!out.contains("secret123"), "{out}");
    assert!(
        out.contains(
            "  3. api-server (DockerResource): create\n     after postgres-db, redis-cache\n"
        ),
        "{out}"
    );
}

#[test]
fn graph_prints_dot_and_mermaid_with_composites_as_clusters() {
    let dir = workspace().join("examples/mixed-pattern");
    let scratch = tempfile::tempdir().expect("temp dir");
    let dot = stdout(&clockwork_in(
        scratch.path(),
        &["-C", dir.to_str().expect("utf-8"), "graph"],
        &[],
    ));
    assert!(dot.starts_with("digraph \"mixed-pattern\" {"), "{dot}");
    assert!(dot.contains("subgraph \"cluster_webapp\" {"), "{dot}");
    assert!(dot.contains("\"api-service\" -> \"prometheus\";"), "{dot}");
    assert!(dot.contains("\"api-service\" -> \"postgres-db\";"), "{dot}");
    let mermaid = stdout(&clockwork_in(
        scratch.path(),
        &[
            "-C",
            dir.to_str().expect("utf-8"),
            "graph",
            "--format",
            "mermaid",
        ],
        &[],
    ));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains("subgraph webapp [\"webapp (BlankResource)\"]"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("  api_service --> prometheus\n"),
        "{mermaid}"
    );
    let showcase = workspace().join("examples/connections-showcase");
    let mermaid = stdout(&clockwork_in(
        scratch.path(),
        &[
            "-C",
            showcase.to_str().expect("utf-8"),
            "graph",
            "--format",
            "mermaid",
        ],
        &[],
    ));
    assert!(
        mermaid.contains("  api -->|DatabaseConnection| postgres\n"),
        "{mermaid}"
    );
}

#[test]
fn plan_and_graph_need_no_docker_engine() {
    let dir = workspace().join("examples/connected-services");
    let scratch = tempfile::tempdir().expect("temp dir");
    let env = [("DOCKER_HOST", "tcp://127.0.0.1:1".into())];
    let plan = clockwork_in(
        scratch.path(),
        &["-C", dir.to_str().expect("utf-8"), "plan"],
        &env,
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let graph = clockwork_in(
        scratch.path(),
        &["-C", dir.to_str().expect("utf-8"), "graph"],
        &env,
    );
    assert_eq!(graph.status.code(), Some(0));
}

#[test]
fn main_py_with_the_seeds_imports_loads() {
    let project = TestProject::new();
    project.write(
        "main.py",
        "from clockwork.resources import DockerResource, FileResource\nfrom clockwork.connections import (\n    DatabaseConnection,\n)\n\ndb = DockerResource(name=\"db\", image=\"postgres:15-alpine\", ports=[\"5433:5432\"])\napi = DockerResource(image=\"nginx:alpine\")\napi.connect(DatabaseConnection(to_resource=db, password=\"pw123456\"))\n",
    );
    let plan = plan_json_in(&project.dir(), &["--show-secrets"], &[]);
    assert_eq!(names(&plan), ["db", "api"]);
    assert_eq!(
        resource(&plan, "api")["spec"]["env_vars"]["DATABASE_URL"],
        "postgresql://postgres:pw123456@db:5432/postgres"
    );
}

#[test]
fn a_project_can_be_split_with_load() {
    let project = TestProject::new();
    project.write(
        "lib/databases.star",
        "def postgres(name, password):\n    return DockerResource(name = name, image = \"postgres:15-alpine\", ports = [\"5432\"], env_vars = {\"POSTGRES_PASSWORD\": password})\n\ncache = DockerResource(name = \"cache\", image = \"redis:7-alpine\")\n",
    );
    project.write(
        "main.star",
        "load(\"lib/databases.star\", \"postgres\", \"cache\")\n\ndb = postgres(\"orders-db\", env(\"ORDERS_PASSWORD\", \"dev-only-pw\"))\napp = DockerResource(image = \"nginx:alpine\")\napp.connect(db, cache)\n",
    );
    let plan = plan_json_in(&project.dir(), &[], &[]);
    assert_eq!(names(&plan), ["cache", "orders-db", "app"]);
    assert_eq!(
        resource(&plan, "app")["depends_on"],
        serde_json::json!(["cache", "orders-db"])
    );
}

#[test]
fn a_default_container_changed_in_place_is_the_users_and_a_loaded_one_refuses() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "app = DockerResource(image = \"nginx:alpine\")\napp.env_vars[\"MODE\"] = \"debug\"\napp.networks.append(\"backend\")\nquiet = DockerResource(image = \"redis:7-alpine\")\nprint(quiet.env_vars)\n",
    );
    let plan = plan_json_in(&project.dir(), &[], &[]);
    let app = resource(&plan, "app");
    assert_eq!(app["spec"]["env_vars"]["MODE"], "debug", "{app:#}");
    assert_eq!(app["spec"]["networks"][0], "backend", "{app:#}");
    // Reading a default is not writing it: the field stays the default's.
    let quiet = resource(&plan, "quiet");
    assert_eq!(quiet["sources"]["env_vars"], "default", "{quiet:#}");

    // A declaration from a loaded file is frozen: changing its default in
    // place is refused where it happens, instead of being lost.
    project.write(
        "lib.star",
        "cache = DockerResource(image = \"redis:7-alpine\")\n",
    );
    project.write(
        "main.star",
        "load(\"lib.star\", \"cache\")\ncache.env_vars[\"MODE\"] = \"debug\"\n",
    );
    let output = project.clockwork(&["plan"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("main.star:2"), "{err}");
    assert!(err.contains("cannot be changed here"), "{err}");
    assert!(err.contains("where it is declared"), "{err}");
}

#[test]
fn names_come_from_variables_and_inline_children_get_derived_names() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "api_server = DockerResource(image = \"nginx:alpine\")\nstack = BlankResource()\nstack.add(DockerResource(image = \"redis:7-alpine\"), DockerResource(image = \"busybox:latest\"))\nstack.connect(api_server)\n",
    );
    let plan = plan_json_in(&project.dir(), &[], &[]);
    assert_eq!(names(&plan), ["api-server", "stack", "stack-1", "stack-2"]);
    assert_eq!(
        resource(&plan, "stack-2")["depends_on"],
        serde_json::json!(["api-server", "stack"])
    );
}

#[test]
fn every_declaration_is_planned_once_even_when_reachable_twice() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "app = BlankResource(name = \"app\")\ndb = app.add(DockerResource(name = \"db\", image = \"postgres:15-alpine\"))\nservices = [db, app, db]\nalias = db\n",
    );
    let plan = plan_json_in(&project.dir(), &[], &[]);
    assert_eq!(names(&plan), ["app", "db"]);
}

#[test]
fn an_env_file_supplies_secrets_which_stay_masked() {
    let project = TestProject::new();
    project.write(".env", "API_TOKEN=tok-from-dotenv-123\n");
    project.write("main.star", "api = DockerResource(image = \"nginx:alpine\", command = [\"serve\", \"--token\", env(\"API_TOKEN\")])\n");
    let plan = plan_json_in(&project.dir(), &[], &[]);
    assert_eq!(
        resource(&plan, "api")["spec"]["command"],
        serde_json::json!(["serve", "--token", "***"])
    );
    let shown = plan_json_in(&project.dir(), &["--show-secrets"], &[]);
    assert_eq!(
        resource(&shown, "api")["spec"]["command"][2],
        "tok-from-dotenv-123"
    );
}

#[test]
fn a_composites_connections_apply_to_its_children_and_nesting_works() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "db = DockerResource(image = \"postgres:15-alpine\", ports = [\"5432\"])\nplatform = BlankResource()\nbackend = platform.add(BlankResource())\napi = backend.add(DockerResource(image = \"nginx:alpine\"))\nworker = backend.add(DockerResource(image = \"busybox:latest\"))\nweb = platform.add(DockerResource(image = \"nginx:alpine\"))\nbackend.connect(DatabaseConnection(to_resource = db, password = \"pw123456\"))\n",
    );
    let plan = plan_json_in(&project.dir(), &["--show-secrets"], &[]);
    assert_eq!(
        names(&plan),
        ["db", "platform", "backend", "web", "api", "worker"]
    );
    for child in ["api", "worker"] {
        let r = resource(&plan, child);
        assert_eq!(
            r["spec"]["env_vars"]["DATABASE_URL"],
            "postgresql://postgres:pw123456@db:5432/postgres",
            "{child}"
        );
        assert_eq!(r["parent"], "backend");
        assert!(
            r["depends_on"]
                .as_array()
                .is_some_and(|d| d.contains(&"db".into())),
            "{r}"
        );
    }
    assert!(
        resource(&plan, "web")["spec"]["env_vars"]
            .get("DATABASE_URL")
            .is_none()
    );
    assert_eq!(resource(&plan, "backend")["parent"], "platform");
    assert_eq!(
        resource(&plan, "backend")["depends_on"],
        serde_json::json!(["db", "platform"])
    );
}

#[test]
fn third_party_plugins_get_constructors_like_bundled_ones() {
    let project = TestProject::new();
    project.add_plugin("hostile", "hostile.wasm");
    project.write(
        "main.star",
        "web = DockerResource(image = \"nginx:alpine\", assertions = [FineAssert(port = 8080, description = \"from a project plugin\")])\n",
    );
    let plan = plan_json_in(&project.dir(), &[], &[]);
    assert_eq!(
        resource(&plan, "web")["assertions"],
        serde_json::json!([{"name": "web-fine", "type": "FineAssert"}])
    );
    project.write(
        "main.star",
        "web = DockerResource(image = \"nginx:alpine\", assertions = [FineAssert(prot = 8080)])\n",
    );
    let output = project.clockwork(&["plan"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("main.star:1:60: `FineAssert` has no field `prot`"),
        "{err}"
    );
    assert!(err.contains("did you mean `port`?"), "{err}");
}

/// Completion rules fill what the user left out of a well-known service,
/// and never what the user wrote, even a value a rule would also give.
#[test]
fn completion_rules_fill_only_what_the_user_left_out() {
    let project = TestProject::new();
    project.write(
        "main.star",
        r#"
db = DockerResource(name = "orders-postgres", env_vars = {"POSTGRES_PASSWORD": "pw"})
cache = DockerResource(name = "cache", description = "Redis for sessions", healthcheck = {"test": ["CMD", "true"]})
same = DockerResource(name = "same-redis", image = "redis:7-alpine")
api = DockerResource(name = "api", description = "the orders API", image = "busybox:latest")
"#,
    );
    let plan = plan_json_in(&project.dir(), &["--offline"], &[]);
    let db = resource(&plan, "orders-postgres");
    assert_eq!(db["spec"]["image"], "postgres:15-alpine");
    assert_eq!(
        db["sources"]["image"],
        "completion (rules:docker-resource: official PostgreSQL image, new)"
    );
    // Recorded in clockwork.lock and replayed: no longer new.
    let again = plan_json_in(&project.dir(), &["--offline"], &[]);
    assert_eq!(
        resource(&again, "orders-postgres")["sources"]["image"],
        "completion (rules:docker-resource: official PostgreSQL image)"
    );
    assert!(
        db["spec"]["healthcheck"]["test"][1]
            .as_str()
            .unwrap_or_default()
            .contains("pg_isready"),
        "{db:#}"
    );
    let cache = resource(&plan, "cache");
    assert_eq!(cache["spec"]["image"], "redis:7-alpine");
    assert_eq!(
        cache["spec"]["healthcheck"]["test"],
        serde_json::json!(["CMD", "true"])
    );
    assert_eq!(cache["sources"]["healthcheck"], "user");
    // A value the rule would give too stays the user's.
    let same = resource(&plan, "same-redis");
    assert_eq!(same["sources"]["image"], "user");
    assert_eq!(
        same["sources"]["healthcheck"],
        "completion (rules:docker-resource: Redis readiness check, new)"
    );
    // Nothing known: nothing completed.
    let api = resource(&plan, "api");
    assert_eq!(api["spec"]["healthcheck"], serde_json::json!({}), "{api:#}");
    assert_eq!(api["sources"]["healthcheck"], "default", "{api:#}");
}

/// The reconciliation fields (seed 004) belong to every resource type, are
/// checked by the host, shown by `plan`, and never reach the plugin's spec.
#[test]
fn reconciliation_fields_are_every_resource_types_and_checked() {
    let project = TestProject::new();
    project.write(
        "main.star",
        r#"
web = DockerResource(name = "rc-web", image = "nginx:alpine", reconcile = True, check_interval = 30, max_duration = "1h30m", on_drift = "alert", alert_on = ["drift"])
notes = FileResource(name = "notes.txt", content = "hi", reconcile = True)
"#,
    );
    let plan = plan_json_in(&project.dir(), &["--offline"], &[]);
    let web = resource(&plan, "rc-web");
    assert_eq!(
        web["reconcile"],
        serde_json::json!({"reconcile": true, "check_interval": 30, "max_duration": 5400, "on_drift": "alert", "alert_on": ["drift"]})
    );
    for field in [
        "reconcile",
        "check_interval",
        "max_duration",
        "on_drift",
        "alert_on",
    ] {
        assert!(
            web["spec"].get(field).is_none(),
            "`{field}` reached the spec: {web:#}"
        );
    }
    assert_eq!(
        resource(&plan, "notes.txt")["reconcile"]["check_interval"],
        60
    );
    let text = stdout(&project.clockwork(&["plan", "--offline"]));
    assert!(
        text.contains("reconciled: checked every 30 s, drift alerted, not corrected, alerts on drift, destroyed 1h30m after it is created"),
        "{text}"
    );
    let inspect = stdout(&project.clockwork(&["plugins", "inspect", "FileResource"]));
    assert!(
        inspect.contains("max_duration") && inspect.contains("on_drift"),
        "{inspect}"
    );

    project.write(
        "main.star",
        r#"
web = DockerResource(name = "rc-web", image = "nginx:alpine", reconcile = True, max_duration = "2 hours", check_interval = 0)
other = DockerResource(name = "rc-2", image = "nginx:alpine", check_interval = 5)
"#,
    );
    let output = project.clockwork(&["plan", "--offline"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("main.star:2:7: `rc-web` (DockerResource): `check_interval` is 0"),
        "{err}"
    );
    assert!(
        err.contains("`2 hours` is not a duration: write it without spaces"),
        "{err}"
    );
    assert!(
        err.contains("main.star:3:9: `rc-2` (DockerResource): `check_interval` takes effect only with `reconcile = True`"),
        "{err}"
    );
}

/// Off macOS, an `AppleContainerResource` is refused at its declaration,
/// before anything is done, and the message says what it needs and what to
/// use instead.
#[test]
#[cfg(not(target_os = "macos"))]
fn an_apple_container_resource_off_macos_is_refused_at_its_declaration() {
    let project = TestProject::new();
    project.write(
        "main.star",
        "web = AppleContainerResource(name = \"web\", image = \"nginx:alpine\", ports = [\"8080:80\"])\n",
    );
    let out = project.clockwork(&["plan", "--offline"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("main.star:1")
            && err.contains("needs macOS")
            && err.contains("DockerResource"),
        "{err}"
    );
    assert!(
        !project.dir().join(".clockwork/state.json").exists(),
        "nothing done"
    );
}
