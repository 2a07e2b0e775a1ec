//! The plugin contract as a third party meets it: a resource type with its
//! own field names receives what connections contribute, typed; a type
//! that receives a kind in no field refuses it; a component built against
//! an older contract is refused with both versions named.

use serde_json::{Value, json};

use crate::support::{TestProject, stderr, stdout};

fn plan_json(project: &TestProject) -> Value {
    let output = project.clockwork(&["plan", "--offline", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("plan --json is JSON")
}

const DATABASE: &str = r#"
db = DockerResource(image = "postgres:15-alpine",
    env_vars = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "shop"})
config = FileResource(name = "config.json", content = "{}")
"#;

#[test]
fn a_third_party_type_receives_contributions_in_its_own_fields() {
    let project = TestProject::new();
    project.add_plugin("own-fields-resource", "own-fields.wasm");
    project.write(
        "main.star",
        format!(
            "{DATABASE}app = OwnFieldsResource(environment = {{\"MODE\": \"prod\"}})\napp.connect(\n    DatabaseConnection(to_resource = db, username = \"app\", password = \"s3cret-pw\", database_name = \"shop\"),\n    FileConnection(to_resource = config, mount_path = \"/etc/app/config.json\", read_only = True),\n)\n"
        ),
    );
    let plan = plan_json(&project);
    let app = plan["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "app"))
        .cloned()
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(app["spec"]["environment"]["MODE"], "prod", "{app:#}");
    assert_eq!(
        app["spec"]["environment"]["DATABASE_URL"], "postgresql://app:***@db:5432/shop",
        "{app:#}"
    );
    assert_eq!(
        app["spec"]["mounts"],
        json!([{"source": "./config.json", "target": "/etc/app/config.json", "read_only": true}])
    );
    assert_eq!(
        app["sources"]["environment.DATABASE_URL"],
        "DatabaseConnection app-database-db"
    );
}

#[test]
fn a_kind_no_field_receives_is_refused_at_the_connection() {
    let project = TestProject::new();
    project.add_plugin("own-fields-resource", "own-fields.wasm");
    project.write(
        "main.star",
        format!(
            "{DATABASE}app = OwnFieldsResource()\napp.connect(NetworkConnection(to_resource = db, network_name = \"backend\"))\n"
        ),
    );
    let output = project.clockwork(&["plan", "--offline"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let message = stderr(&output);
    assert!(
        message.contains("main.star:6:13")
            && message.contains("gives networks (backend), but a OwnFieldsResource takes none: no field of it receives networks"),
        "{message}"
    );
}

#[test]
fn a_plugin_built_against_an_older_contract_is_refused_naming_both() {
    let project = TestProject::new();
    project.add_plugin("old-contract", "old.wasm");
    let output = project.clockwork(&["plugins", "list", "--json"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let list: Value = serde_json::from_str(&stdout(&output)).expect("json");
    let reason = list["problems"][0]["reason"].as_str().unwrap_or_default();
    assert_eq!(
        reason,
        format!(
            "built against `clockwork:plugin@0.1.0`, but this Clockwork speaks `{}`: rebuild the plugin with a matching clockwork-sdk (the README says what changed)",
            clockwork::contract()
        )
    );
}

#[test]
fn a_warning_is_shown_at_its_declaration_and_does_not_fail_the_plan() {
    let project = TestProject::new();
    project.add_plugin("own-fields-resource", "own-fields.wasm");
    project.write(
        "main.star",
        "app = OwnFieldsResource(environment = {\"LEGACY\": \"1\", \"MODE\": \"prod\"})\n",
    );
    let output = project.clockwork(&["plan", "--offline", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("⚠")
            && message.contains("main.star:1:7")
            && message.contains("`LEGACY` is read by nothing any more")
            && message.contains("remove it when you can"),
        "{message}"
    );
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(plan["resources"][0]["spec"]["environment"]["MODE"], "prod");
}

/// `status`, as `clockwork watch` calls it, on the bundled `DockerResource`
/// component: what the Engine shows against what was recorded.
#[tokio::test]
async fn the_docker_resource_status_reports_health_and_drift() {
    use clockwork::wit::resource::exports::clockwork::plugin::resources::Health;
    use clockwork::wit::types::ResourceRef;
    let wasm = clockwork::bundled_plugins()
        .iter()
        .find(|p| p.name == "docker-resource")
        .expect("docker-resource is bundled")
        .wasm;
    let runtime = crate::support::runtime(None, None, None);
    let plugin = runtime
        .load(
            clockwork::PluginSource::Bundled,
            None,
            "docker-resource".into(),
            std::sync::Arc::from(wasm),
        )
        .await
        .expect("loads");
    let target = ResourceRef {
        type_name: "DockerResource".into(),
        name: "web".into(),
    };
    let state =
        json!({"container": "web", "spec_hash": "h", "spec": {"must_run": true}}).to_string();
    let status = |observed: Value| {
        let plugin = &plugin;
        let target = &target;
        let state = &state;
        async move {
            plugin
                .status(target, state, Some(&observed.to_string()))
                .await
                .expect("the call runs")
                .expect("status answers")
        }
    };
    let up =
        status(json!({"containers": [{"name": "web", "running": true, "config_hash": "h"}]})).await;
    assert!(matches!(up.health, Health::Ready), "{}", up.message);
    assert!(up.drift.is_empty());
    let updated = status(
        json!({"containers": [{"name": "web", "running": true, "config_hash": "h",
        "changed_outside": [{"setting": "memory", "applied": "0", "now": "67108864"}]}]}),
    )
    .await;
    assert!(
        matches!(updated.health, Health::Degraded),
        "{}",
        updated.message
    );
    assert_eq!(updated.drift[0].path, "/memory");
    let gone = status(json!({"containers": []})).await;
    assert!(matches!(gone.health, Health::Missing), "{}", gone.message);
}
