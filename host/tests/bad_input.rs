//! Broken projects: each exits 2 with a located, helpful message, and
//! changes nothing. The whole message is snapshotted (`cargo insta review`)
//! so its wording is reviewed like code.

use crate::support::{TestProject, stderr, stdout};

/// Runs `clockwork plan` on a project made of `files` and returns stderr,
/// with the temporary folder replaced by `[project]`.
fn plan_fails(files: &[(&str, &str)]) -> String {
    let project = TestProject::new();
    for (path, content) in files {
        project.write(path, content);
    }
    let output = project.clockwork(&["plan"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).is_empty(),
        "nothing is printed on stdout: {}",
        stdout(&output)
    );
    let dir = project
        .dir()
        .canonicalize()
        .expect("dir")
        .display()
        .to_string();
    stderr(&output).replace(&dir, "[project]")
}

fn main_star(text: &str) -> String {
    plan_fails(&[("main.star", text)])
}

macro_rules! bad_input {
    ($($name:ident: $files:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let message = $files;
                insta::assert_snapshot!(stringify!($name), message);
            }
        )*
    };
}

bad_input! {
    syntax_error: main_star("web = DockerResource(\n    image = \"nginx:alpine\",\n\napi = DockerResource(image = \"nginx:alpine\")\n");
    unknown_type: main_star("web = DockerResorce(image = \"nginx:alpine\")\n");
    unknown_field: main_star("web = DockerResource(\n    imagee = \"nginx:alpine\",\n)\n");
    unknown_field_without_a_near_name: main_star("web = DockerResource(kubernetes_namespace = \"x\")\n");
    wrong_type: main_star("web = DockerResource(image = \"nginx:alpine\", ports = \"8080:80\")\n");
    wrong_type_inside_a_dict: main_star("web = DockerResource(image = \"nginx:alpine\", env_vars = {\"PORT\": 8080})\n");
    dict_key_not_a_string: main_star("web = DockerResource(image = \"nginx:alpine\", env_vars = {1: \"x\"})\n");
    positional_argument: main_star("web = DockerResource(\"nginx:alpine\")\n");
    duplicate_name: main_star("a = DockerResource(name = \"web\", image = \"nginx:alpine\")\nb = DockerResource(name = \"web\", image = \"nginx:alpine\")\n");
    duplicate_name_from_a_variable: main_star("api_server = DockerResource(image = \"nginx:alpine\")\nother = DockerResource(name = \"api-server\", image = \"nginx:alpine\")\n");
    invalid_name: main_star("web = DockerResource(name = \"my web\", image = \"nginx:alpine\")\n");
    cycle_of_two: main_star("a = DockerResource(image = \"nginx:alpine\")\nb = DockerResource(image = \"nginx:alpine\")\na.connect(b)\nb.connect(a)\n");
    cycle_through_a_composite: main_star("app = BlankResource()\ndb = app.add(DockerResource(image = \"postgres:15-alpine\"))\nmonitor = DockerResource(image = \"nginx:alpine\")\napp.connect(monitor)\nmonitor.connect(db)\n");
    connection_to_an_undeclared_value: main_star("api = DockerResource(image = \"nginx:alpine\")\napi.connect(databse)\n");
    connection_to_a_string: main_star("api = DockerResource(image = \"nginx:alpine\")\napi.connect(\"postgres-db\")\n");
    connection_to_itself: main_star("api = DockerResource(image = \"nginx:alpine\")\napi.connect(api)\n");
    connection_from_nowhere: main_star("db = DockerResource(image = \"postgres:15-alpine\")\nlink = DatabaseConnection(to_resource = db)\n");
    connection_without_a_target: main_star("api = DockerResource(image = \"nginx:alpine\")\napi.connect(DatabaseConnection(username = \"admin\"))\n");
    bad_port_string: main_star("web = DockerResource(image = \"nginx:alpine\", ports = [\"8080:80\", \"80:http\"])\n");
    bad_mount_string: main_star("web = DockerResource(image = \"nginx:alpine\", volumes = [\"data\"])\n");
    missing_required_field: main_star("web = DockerResource(image = \"nginx:alpine\", assertions = [HealthcheckAssert()])\n");
    load_of_a_missing_file: main_star("load(\"lib/missing.star\", \"db\")\n");
    load_cycle: plan_fails(&[("main.star", "load(\"a.star\", \"x\")\n"), ("a.star", "load(\"b.star\", \"y\")\nx = 1\n"), ("b.star", "load(\"a.star\", \"x\")\ny = 2\n")]);
    error_inside_a_loaded_file: plan_fails(&[("main.star", "load(\"lib.star\", \"db\")\n"), ("lib.star", "db = DockerResource(image = \"postgres:15-alpine\", portz = [\"5432\"])\n")]);
    load_outside_the_project: main_star("load(\"../secrets.star\", \"x\")\n");
    add_to_a_non_composite: main_star("web = DockerResource(image = \"nginx:alpine\")\ndb = DockerResource(image = \"postgres:15-alpine\")\nweb.add(db)\n");
    add_to_itself: main_star("app = BlankResource()\napp.add(app)\n");
    child_of_two_composites: main_star("a = BlankResource()\nb = BlankResource()\ndb = DockerResource(image = \"postgres:15-alpine\")\na.add(db)\nb.add(db)\n");
    unknown_attribute_set_later: main_star("web = DockerResource(image = \"nginx:alpine\")\nweb.imagee = \"nginx:1.25\"\n");
    wrong_type_set_later: main_star("web = DockerResource(image = \"nginx:alpine\")\nweb.ports = 8080\n");
    environment_variable_not_set: main_star("db = DockerResource(image = \"postgres:15-alpine\", env_vars = {\"POSTGRES_PASSWORD\": env(\"CLOCKWORK_TEST_UNSET_VARIABLE\")})\n");
    user_fail: main_star("fail(\"this project needs a DB_HOST\")\n");
    database_connection_to_a_composite: main_star("app = BlankResource()\napp.add(DockerResource(name = \"db\", image = \"postgres:15-alpine\"))\napi = DockerResource(image = \"nginx:alpine\")\napi.connect(DatabaseConnection(to_resource = app))\n");
    unknown_placeholder_in_a_template: main_star("db = DockerResource(image = \"postgres:15-alpine\")\napi = DockerResource(image = \"nginx:alpine\")\napi.connect(DatabaseConnection(to_resource = db, connection_string_template = \"postgresql://{usr}@{host}\"))\n");
    missing_schema_file: main_star("db = DockerResource(image = \"postgres:15-alpine\")\napi = DockerResource(image = \"nginx:alpine\")\napi.connect(DatabaseConnection(to_resource = db, schema_file = \"schema.sql\"))\n");
    service_mesh_without_a_port: main_star("api = DockerResource(image = \"nginx:alpine\")\nweb = DockerResource(image = \"nginx:alpine\")\nweb.connect(ServiceMeshConnection(to_resource = api))\n");
    conflicting_connections: main_star("a = DockerResource(image = \"postgres:15-alpine\")\nb = DockerResource(image = \"postgres:15-alpine\")\napi = DockerResource(image = \"nginx:alpine\")\napi.connect(DatabaseConnection(to_resource = a), DatabaseConnection(to_resource = b))\n");
    python_import_of_an_unknown_type: plan_fails(&[("main.py", "from clockwork.resources import DockerResorce\n\nweb = DockerResource(image = \"nginx:alpine\")\n")]);
    python_import_from_the_wrong_module: plan_fails(&[("main.py", "from clockwork.resources import DatabaseConnection\n")]);
    python_import_of_another_module: plan_fails(&[("main.py", "import os\n\nweb = DockerResource(image = os.environ[\"IMAGE\"])\n")]);
    file_outside_the_project: main_star("notes = FileResource(directory = \"../shared\", content = \"hi\")\n");
    file_mode_not_octal: main_star("notes = FileResource(directory = \"docs\", content = \"hi\", mode = \"rw-r--r--\")\n");
    no_project_file: plan_fails(&[("README.md", "not a project\n")]);
    several_problems_at_once: main_star("a = DockerResource(name = \"x\", image = \"nginx:alpine\", ports = [\"http\"])\nb = DockerResource(name = \"x\", image = \"nginx:alpine\")\nc = HealthcheckAssert(url = \"http://localhost/\")\nd = DockerResource(image = \"nginx:alpine\", assertions = [c, HealthcheckAssert()])\n");
    // Every declaration counts: one that cannot be named is an error.
    unnamed_resource_made_in_a_loop: main_star("for i in range(2):\n    DockerResource(image = \"nginx:alpine\")\n");
    unnamed_resource_made_in_a_function: main_star("def web():\n    return DockerResource(image = \"nginx:alpine\")\n\nweb()\n");
    unnamed_resource_passed_inline: main_star("api = DockerResource(image = \"nginx:alpine\")\napi.connect(DockerResource(image = \"redis:7-alpine\"))\n");
    // What apply would fail on, found at plan.
    host_port_published_by_two_resources: main_star("a = DockerResource(image = \"nginx:alpine\", ports = [\"8080:80\"])\nb = DockerResource(image = \"nginx:alpine\", ports = [\"127.0.0.1:8080:81\"])\n");
    host_port_published_twice_by_one_resource: main_star("web = DockerResource(image = \"nginx:alpine\", ports = [\"8080:80\", \"8080:81\"])\n");
    empty_image: main_star("web = DockerResource(image = \"\")\n");
    upper_case_image: main_star("web = DockerResource(image = \"Nginx:alpine\")\n");
    nul_byte_in_an_environment_value: main_star("web = DockerResource(image = \"nginx:alpine\", env_vars = {\"MODE\": \"a\\x00b\"})\n");
    name_longer_than_a_host_name: main_star(&format!("web = DockerResource(name = \"{}\", image = \"nginx:alpine\")\n", "w".repeat(300)));
    names_that_differ_only_in_case: main_star("a = DockerResource(name = \"Web\", image = \"nginx:alpine\")\nb = DockerResource(name = \"web\", image = \"nginx:alpine\")\n");
    database_connection_to_a_file: main_star("notes = FileResource(name = \"notes.md\", content = \"x\")\napi = DockerResource(image = \"nginx:alpine\")\napi.connect(DatabaseConnection(to_resource = notes))\n");
    service_mesh_port_above_65535: main_star("api = DockerResource(image = \"nginx:alpine\", ports = [\"80\"])\nweb = DockerResource(image = \"nginx:alpine\")\nweb.connect(ServiceMeshConnection(to_resource = api, port = 70000))\n");
    service_mesh_negative_port: main_star("api = DockerResource(image = \"nginx:alpine\", ports = [\"80\"])\nweb = DockerResource(image = \"nginx:alpine\")\nweb.connect(ServiceMeshConnection(to_resource = api, port = -1))\n");
    network_named_host: main_star("api = DockerResource(image = \"nginx:alpine\")\nweb = DockerResource(image = \"nginx:alpine\")\nweb.connect(NetworkConnection(to_resource = api, network_name = \"host\"))\n");
    joining_the_host_network: main_star("web = DockerResource(image = \"nginx:alpine\", networks = [\"host\"])\n");
    key_path_outside_the_project: main_star("api = DockerResource(image = \"nginx:alpine\", ports = [\"443\"])\nweb = DockerResource(image = \"nginx:alpine\")\nweb.connect(ServiceMeshConnection(to_resource = api, port = 443, tls_enabled = True, cert_path = \"~/api.pem\", key_path = \"../../api-key.pem\"))\n");
    source_path_outside_the_project: main_star("data = DockerResource(image = \"nginx:alpine\")\nweb = DockerResource(image = \"nginx:alpine\")\nweb.connect(FileConnection(to_resource = data, source_path = \"../..\", mount_path = \"/data\"))\n");
    volume_from_the_home_folder: main_star("web = DockerResource(image = \"nginx:alpine\", volumes = [\"~/data:/data\"])\n");
    volume_two_folders_up: main_star("web = DockerResource(image = \"nginx:alpine\", volumes = [\"../../etc:/host-etc\"])\n");
    file_in_the_home_folder: main_star("notes = FileResource(path = \"~/notes.md\", content = \"x\")\n");
    file_at_the_project_file: main_star("notes = FileResource(name = \"main.star\", content = \"x\")\n");
    file_inside_the_state_folder: main_star("notes = FileResource(path = \".clockwork/notes.md\", content = \"x\")\n");
    two_files_on_one_path: main_star("a = FileResource(path = \"out.txt\", content = \"a\")\nb = FileResource(path = \"./out.txt\", content = \"b\")\n");
    file_that_clockwork_did_not_write: plan_fails(&[("notes.md", "the user's own notes\n"), ("main.star", "notes = FileResource(name = \"notes.md\", content = \"generated\")\n")]);
    // Limits on evaluating the project file.
    evaluation_past_its_deadline: plan_fails(&[("clockwork.toml", "[limits]\nevaluation_seconds = 1\n"), ("main.star", "n = 0\nfor i in range(1000000000):\n    n += 1\n")]);
    evaluation_past_its_memory_growing: plan_fails(&[("clockwork.toml", "[limits]\nevaluation_memory_mib = 64\n"), ("main.star", "x = []\nfor i in range(100000000):\n    x.append(str(i))\n")]);
    evaluation_past_its_memory_at_once: plan_fails(&[("clockwork.toml", "[limits]\nevaluation_memory_mib = 64\n"), ("main.star", "big = \"x\" * (1 << 30)\n")]);
    // Messages with a location.
    tab_indentation: main_star("def web():\n\treturn DockerResource(image = \"nginx:alpine\")\n\nweb = web()\n");
    both_project_files: plan_fails(&[("main.star", "web = DockerResource(image = \"nginx:alpine\")\n"), ("main.py", "web = DockerResource(image = \"nginx:alpine\")\n")]);
    preference_for_no_plugin: plan_fails(&[("clockwork.toml", "[plugins.prefer]\nDockerResorce = \"project\"\n"), ("main.star", "web = DockerResource(image = \"nginx:alpine\")\n")]);
    invalid_project_name: plan_fails(&[("clockwork.toml", "[project]\nname = \"My Shop\"\n"), ("main.star", "web = DockerResource(image = \"nginx:alpine\")\n")]);
}

/// Runs `clockwork plan` on a project whose files are given as bytes.
fn plan_fails_bytes(files: &[(&str, &[u8])]) -> String {
    let project = TestProject::new();
    for (path, content) in files {
        project.write(path, content);
    }
    let output = project.clockwork(&["plan"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let dir = project
        .dir()
        .canonicalize()
        .expect("dir")
        .display()
        .to_string();
    stderr(&output).replace(&dir, "[project]")
}

bad_input! {
    project_file_not_utf8: plan_fails_bytes(&[("main.star", b"web = DockerResource(image = \"nginx:alpine\")\nx = \"caf\xe9\"\n")]);
    dotenv_not_utf8: plan_fails_bytes(&[(".env", b"DB_USER=admin\nDB_PASSWORD=caf\xe9\n"), ("main.star", b"db = DockerResource(image = \"postgres:15-alpine\", env_vars = {\"POSTGRES_PASSWORD\": env(\"DB_PASSWORD\")})\n")]);
}
