//! The checking half of the plan stage with plain data: a plan written by
//! hand (as a plugin could have decided it), a graph from the fixture
//! builder and an empty project folder; what is kept and what is refused,
//! and where.

use std::collections::BTreeMap;

use clockwork_schema::ValueType;
use serde_json::{Value as Json, json};

use super::*;
use crate::load::Sources;
use crate::model::{Declaration, Declared, Grants, Location, PluginKind};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    RunWhen, SetupStep,
};
use crate::project::{EngineTarget, ProjectDir};
use crate::resolve::ResolvedConnection;

fn project() -> (tempfile::TempDir, ProjectDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    (tmp, ProjectDir::open(&root).expect("project folder"))
}

/// Resources of type `Box` named `names`, each a layer of its own.
fn graph(names: &[&str]) -> Graph {
    let project = Declared::boxes(names);
    Graph {
        layers: (0..names.len()).map(|i| vec![DeclId(i)]).collect(),
        project,
        specs: BTreeMap::new(),
        depends_on: BTreeMap::new(),
        connections: Vec::new(),
    }
}

/// What the user wrote in `ports` of declaration `i` grants.
fn grant_ports(graph: &mut Graph, i: usize, ports: &[&str]) {
    let fields = json!({ "ports": ports });
    graph.project.declarations[i].grants =
        Grants::of_user_fields(fields.as_object().expect("object"), |name| {
            (name == "ports").then(|| ValueType::List(Box::new(ValueType::Port)))
        });
}

/// The entry of declaration `decl` (none: no longer declared), to create.
fn entry(decl: Option<usize>, name: &str, actions: Vec<Action>) -> PlanEntry {
    PlanEntry::fixture(decl, name, ChangeKind::Create, actions)
}

fn plan_of(entries: Vec<PlanEntry>) -> Plan {
    Plan::fixture(entries)
}

fn container(name: &str, ports: &[&str]) -> Action {
    Action::EnsureContainer(json!({"name": name, "image": "busybox", "ports": ports}).to_string())
}

fn write(path: &str) -> Action {
    Action::WriteFile(json!({"path": path, "content": "x", "mode": "644"}).to_string())
}

/// Every problem of `plan`, as (declaration, line, message).
fn problems(
    plan: &Plan,
    graph: &Graph,
    files: &ProjectDir,
    observation: Option<&Observation>,
) -> Vec<(DeclId, usize, String)> {
    let state = State::empty(&crate::project::Identity::new("p", files.root()));
    check_each(
        plan,
        graph,
        files,
        &state,
        observation,
        &Sources::new(),
        EngineTarget::Local,
    )
    .into_iter()
    .map(|(decl, l)| (decl, l.location.line, l.message))
    .collect()
}

/// No problem, as [`problems`] lists them.
fn none() -> Vec<(DeclId, usize, String)> {
    Vec::new()
}

#[test]
fn a_host_port_the_user_did_not_write_is_refused_at_its_declaration() {
    let (_tmp, files) = project();
    let mut graph = graph(&["db", "api"]);
    grant_ports(&mut graph, 0, &["5432:5432"]);
    let plan = plan_of(vec![
        entry(Some(0), "db", vec![container("db", &["5432:5432"])]),
        entry(Some(1), "api", vec![container("api", &["8080:80"])]),
    ]);
    let state = State::empty(&crate::project::Identity::new("p", files.root()));
    let found = check_each(
        &plan,
        &graph,
        &files,
        &state,
        None,
        &Sources::new(),
        EngineTarget::Local,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    let (decl, located) = &found[0];
    assert_eq!((*decl, located.location.line), (DeclId(1), 2));
    assert_eq!(
        located.message,
        "`api` (Box): publishing `8080:80` on this machine was not written by you in this resource's `ports`"
    );
    assert!(located.help.is_some(), "with the fix");
    assert_eq!(
        check_each(
            &plan,
            &graph,
            &files,
            &state,
            None,
            &Sources::new(),
            EngineTarget::Local
        )
        .len(),
        1,
        "one problem, once"
    );
}

#[test]
fn two_resources_publishing_one_host_port_are_refused_at_the_second() {
    let (_tmp, files) = project();
    let mut graph = graph(&["db", "api"]);
    grant_ports(&mut graph, 0, &["8080:80"]);
    grant_ports(&mut graph, 1, &["8080:8080"]);
    let plan = plan_of(vec![
        entry(Some(0), "db", vec![container("db", &["8080:80"])]),
        entry(Some(1), "api", vec![container("api", &["8080:8080"])]),
    ]);
    assert_eq!(
        problems(&plan, &graph, &files, None),
        [(
            DeclId(1),
            2,
            "`api` publishes host port 8080/tcp (`8080:8080`), which `db` already publishes (`8080:80`)"
                .to_string()
        )]
    );
}

#[test]
fn one_port_on_other_addresses_or_protocols_is_no_clash() {
    let (_tmp, files) = project();
    let mut graph = graph(&["db", "api", "dns"]);
    grant_ports(&mut graph, 0, &["127.0.0.1:8080:80"]);
    grant_ports(&mut graph, 1, &["127.0.0.2:8080:80"]);
    grant_ports(&mut graph, 2, &["8080:80/udp"]);
    let plan = plan_of(vec![
        entry(Some(0), "db", vec![container("db", &["127.0.0.1:8080:80"])]),
        entry(
            Some(1),
            "api",
            vec![container("api", &["127.0.0.2:8080:80"])],
        ),
        entry(Some(2), "dns", vec![container("dns", &["8080:80/udp"])]),
    ]);
    assert_eq!(problems(&plan, &graph, &files, None), none());
}

#[test]
fn a_port_on_every_address_clashes_with_one_on_a_single_address() {
    let (_tmp, files) = project();
    let mut graph = graph(&["db", "api"]);
    grant_ports(&mut graph, 0, &["127.0.0.1:8080:80"]);
    grant_ports(&mut graph, 1, &["8080:80"]);
    let plan = plan_of(vec![
        entry(Some(0), "db", vec![container("db", &["127.0.0.1:8080:80"])]),
        entry(Some(1), "api", vec![container("api", &["8080:80"])]),
    ]);
    let found = problems(&plan, &graph, &files, None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, DeclId(1));
    assert!(
        found[0].2.contains("which `db` already publishes"),
        "{found:?}"
    );
}

#[test]
fn two_resources_writing_one_file_by_two_spellings_are_refused_at_the_second() {
    let (_tmp, files) = project();
    let graph = graph(&["db", "api"]);
    let plan = plan_of(vec![
        entry(Some(0), "db", vec![write("conf/app.conf")]),
        entry(Some(1), "api", vec![write("./conf/app.conf")]),
    ]);
    assert_eq!(
        problems(&plan, &graph, &files, None),
        [(
            DeclId(1),
            2,
            "`api` and `db` both write `conf/app.conf`; each would overwrite the other on every apply"
                .to_string()
        )]
    );
}

#[test]
fn a_users_file_is_refused_unless_the_declaration_says_overwrite() {
    let (_tmp, files) = project();
    std::fs::write(files.root().join("README.md"), "mine").expect("write");
    let mut graph = graph(&["docs"]);
    let plan = plan_of(vec![entry(Some(0), "docs", vec![write("README.md")])]);
    let found = problems(&plan, &graph, &files, None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].2.starts_with("`docs` (Box): "), "{found:?}");
    assert!(found[0].2.contains("README.md"), "{found:?}");

    graph.project.declarations[0]
        .fields
        .insert("overwrite".into(), Json::Bool(true));
    assert_eq!(problems(&plan, &graph, &files, None), none());
}

#[test]
fn what_is_no_longer_declared_is_not_checked_but_a_declared_resource_is() {
    let (_tmp, files) = project();
    let graph = graph(&["db"]);
    let removal = plan_of(vec![entry(
        None,
        "old",
        vec![Action::RemoveContainer("db".into())],
    )]);
    assert_eq!(problems(&removal, &graph, &files, None), none());

    let declared = plan_of(vec![entry(
        Some(0),
        "db",
        vec![Action::RemoveContainer("api".into())],
    )]);
    assert_eq!(
        problems(&declared, &graph, &files, None),
        [(
            DeclId(0),
            1,
            "`db` (Box): `db` may not remove container `api`: it is not its own".to_string()
        )]
    );
}

fn step(id: &str, after: &[&str], action: Action) -> SetupStep {
    SetupStep {
        id: id.into(),
        when: RunWhen::EveryApply,
        after: after.iter().map(|a| a.to_string()).collect(),
        action,
    }
}

fn exec(container: &str) -> Action {
    Action::Exec(json!({"container": container, "argv": ["true"]}).to_string())
}

/// `db` (line 1), `api` (line 2) and a `Link` from `api` to `db` (line 3)
/// with `setup`.
fn linked(setup: Vec<SetupStep>) -> Graph {
    let db = Declaration::fixture(0, PluginKind::Resource, "Box", "db");
    let api = Declaration::fixture(1, PluginKind::Resource, "Box", "api");
    let mut link = Declaration::fixture(2, PluginKind::Connection, "Link", "api-link");
    link.from = Some(api.id);
    link.to = Some(db.id);
    Graph {
        project: Declared::fixture(vec![db, api, link]),
        specs: BTreeMap::new(),
        depends_on: BTreeMap::from([(DeclId(1), vec![DeclId(0)])]),
        layers: vec![vec![DeclId(0)], vec![DeclId(1)]],
        connections: vec![ResolvedConnection {
            decl: DeclId(2),
            from: DeclId(1),
            to: DeclId(0),
            outputs: Vec::new(),
            setup,
            assertions: Vec::new(),
            networks: Vec::new(),
            volumes: Vec::new(),
            tls: Vec::new(),
        }],
    }
}

#[test]
fn a_step_in_the_container_of_an_end_that_runs_none_is_refused_at_the_connection() {
    let (_tmp, files) = project();
    let graph = linked(vec![step("migrate", &[], exec("db"))]);
    let nothing_runs = plan_of(vec![entry(Some(0), "db", Vec::new())]);
    assert_eq!(
        problems(&nothing_runs, &graph, &files, None),
        [(
            DeclId(2),
            3,
            "this Link has to run `migrate` in the container `db`, but `db` (Box) runs no container"
                .to_string()
        )]
    );

    let planned = plan_of(vec![entry(Some(0), "db", vec![container("db", &[])])]);
    assert_eq!(
        problems(&planned, &graph, &files, None),
        none(),
        "made by this plan"
    );

    let mut observation = Observation::default();
    let observed = crate::docker::observe::ObservedContainer {
        image: "postgres".into(),
        ..crate::docker::observe::ObservedContainer::fixture("db")
    };
    observation.containers.insert("db".into(), vec![observed]);
    assert_eq!(
        problems(&nothing_runs, &graph, &files, Some(&observation)),
        none(),
        "already running"
    );
}

#[test]
fn setup_steps_waiting_for_each_other_are_refused_at_the_connection() {
    let (_tmp, files) = project();
    let graph = linked(vec![
        step(
            "a",
            &["b"],
            Action::Ext(("test".into(), "a".into(), "{}".into())),
        ),
        step(
            "b",
            &["a"],
            Action::Ext(("test".into(), "b".into(), "{}".into())),
        ),
    ]);
    let found = problems(&plan_of(Vec::new()), &graph, &files, None);
    let cycle: Vec<_> = found
        .iter()
        .filter(|(_, _, m)| m.contains("`after` makes a cycle"))
        .collect();
    assert_eq!(cycle.len(), 1, "{found:?}");
    assert_eq!((cycle[0].0, cycle[0].1), (DeclId(2), 3));
    assert!(cycle[0].2.starts_with("Link `api-link`: "), "{found:?}");
}

#[test]
fn a_step_in_a_container_of_neither_end_is_refused_by_the_policy() {
    let (_tmp, files) = project();
    let graph = linked(vec![step("peek", &[], exec("cache"))]);
    let found = problems(&plan_of(Vec::new()), &graph, &files, None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (DeclId(2), 3));
    assert!(
        found[0].2.starts_with("Link `api-link`, step `peek`: "),
        "{found:?}"
    );
    assert!(found[0].2.contains("`cache`"), "{found:?}");
}

#[test]
fn a_problem_points_at_the_file_its_declaration_is_in() {
    let (_tmp, files) = project();
    let mut graph = graph(&["db"]);
    graph.project.declarations[0].location = Location {
        file: "lib/db.star".into(),
        line: 7,
        column: 3,
        offset: 0,
        len: 0,
    };
    let text = std::sync::Arc::new("db = Box()\n".to_string());
    let sources = Sources::from([("lib/db.star".to_string(), std::sync::Arc::clone(&text))]);
    let plan = plan_of(vec![entry(
        Some(0),
        "db",
        vec![container("db", &["80:80"])],
    )]);
    let state = State::empty(&crate::project::Identity::new("p", files.root()));
    let found: Vec<_> = check_each(
        &plan,
        &graph,
        &files,
        &state,
        None,
        &sources,
        EngineTarget::Local,
    )
    .into_iter()
    .map(|(_, located)| located)
    .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].location.file,
        std::path::PathBuf::from("lib/db.star")
    );
    assert_eq!(found[0].location.line, 7);
    assert_eq!(found[0].source, Some(text));
}
