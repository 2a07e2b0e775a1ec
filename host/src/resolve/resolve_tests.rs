//! The resolve stage with plain answers: declarations from the fixture
//! builder, a [`Resolver`] that answers each connection (by name) with a
//! contribution the test writes and keeps what it was asked; the graph
//! (layers, edges, what connections contribute) or the problems out.

use std::collections::BTreeMap;
use std::sync::Mutex;

use clockwork_schema::{ContributionKind, FieldSchema, TypeSchema};
use serde_json::{Value as Json, json};

use super::*;
use crate::model::Declaration;
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    EndpointPatch, RunWhen,
};
use crate::plugin::bindings::types::{Action, Diagnostic, Severity};

/// Connection plugins for `Link` and `DependencyConnection`: each
/// connection (by name) gets its answer, or an empty contribution.
#[derive(Default)]
struct Plugins {
    answers: BTreeMap<&'static str, Result<Contribution, PluginError>>,
    schema: Option<TypeSchema>,
    asked: Mutex<Vec<ResolveInput>>,
}

impl Plugins {
    fn answering(answers: &[(&'static str, Result<Contribution, PluginError>)]) -> Plugins {
        Plugins {
            answers: answers.iter().cloned().collect(),
            ..Plugins::default()
        }
    }

    /// The (from, to) resource names of each call, in order.
    fn calls(&self) -> Vec<(String, String, String)> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    i.from_resource.target.name.clone(),
                    i.to_resource.target.name.clone(),
                )
            })
            .collect()
    }
}

impl Resolver for Plugins {
    fn resolve(&self, type_name: &str, input: ResolveInput) -> Option<ResolveCall> {
        if !matches!(type_name, "Link" | crate::defaults::SHORTHAND_CONNECTION) {
            return None;
        }
        let answer = self
            .answers
            .get(input.name.as_str())
            .cloned()
            .unwrap_or_else(|| Ok(empty_contribution()));
        self.asked.lock().unwrap().push(input);
        Some(Box::pin(async move { Ok(answer) }))
    }

    fn schema(&self, _type_name: &str) -> Option<&TypeSchema> {
        self.schema.as_ref()
    }
}

fn resource(i: usize, name: &str) -> Declaration {
    Declaration::fixture(i, PluginKind::Resource, "Box", name)
}

/// A connection `name` of `type_name` from `from` to `to`, at line `i + 1`.
fn connection(
    i: usize,
    type_name: &str,
    name: &str,
    from: usize,
    to: usize,
    declarations: &mut [Declaration],
) -> Declaration {
    let mut c = Declaration::fixture(i, PluginKind::Connection, type_name, name);
    c.from = Some(DeclId(from));
    c.to = Some(DeclId(to));
    declarations[from].connections.push(c.id);
    c
}

/// `stack` (0) holding `web` (1) and `worker` (2), and `db` (3).
fn stack_and_db() -> Vec<Declaration> {
    let mut stack = resource(0, "stack");
    let mut web = resource(1, "web");
    let mut worker = resource(2, "worker");
    web.parent = Some(stack.id);
    worker.parent = Some(stack.id);
    stack.children = vec![web.id, worker.id];
    vec![stack, web, worker, resource(3, "db")]
}

fn with_order(order: EdgeOrder) -> Contribution {
    Contribution {
        order,
        ..empty_contribution()
    }
}

fn with_setup(steps: Vec<Action>) -> Contribution {
    Contribution {
        setup: steps
            .into_iter()
            .enumerate()
            .map(|(i, action)| SetupStep {
                id: format!("step-{i}"),
                when: RunWhen::EveryApply,
                after: Vec::new(),
                action,
            })
            .collect(),
        ..empty_contribution()
    }
}

async fn resolved(
    declarations: Vec<Declaration>,
    plugins: &Plugins,
) -> Result<Graph, ResolveError> {
    resolve(Declared::fixture(declarations), plugins, &|_| None).await
}

fn problems(result: Result<Graph, ResolveError>) -> Vec<Located> {
    match result {
        Err(ResolveError::Invalid(problems)) => problems,
        Err(other) => panic!("problems, not {other}"),
        Ok(graph) => panic!("problems, not a graph: {:?}", graph.layers),
    }
}

fn ids(v: &[usize]) -> Vec<DeclId> {
    v.iter().map(|i| DeclId(*i)).collect()
}

#[tokio::test]
async fn a_cycle_of_connections_is_named_in_order_at_its_first_resource() {
    let mut d = vec![resource(0, "db"), resource(1, "api")];
    let there = connection(2, "Link", "api-db", 1, 0, &mut d);
    let back = connection(3, "Link", "db-api", 0, 1, &mut d);
    d.extend([there, back]);
    let problems = problems(resolved(d, &Plugins::default()).await);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].message, "dependency cycle: db → api → db");
    assert_eq!(problems[0].location.line, 1, "at `db`");
    assert_eq!(
        problems[0].help.as_deref(),
        Some("`db` is declared at main.star:1:1\n`api` is declared at main.star:2:1")
    );
}

#[tokio::test]
async fn a_plugin_may_order_the_ends_the_other_way_or_not_at_all() {
    let build = || {
        let mut d = vec![resource(0, "db"), resource(1, "api")];
        let c = connection(2, "Link", "api-db", 1, 0, &mut d);
        d.push(c);
        d
    };
    let usual = resolved(build(), &Plugins::default()).await.unwrap();
    assert_eq!(usual.layers, vec![ids(&[0]), ids(&[1])], "api after db");

    let reversed = Plugins::answering(&[("api-db", Ok(with_order(EdgeOrder::ToAfterFrom)))]);
    let graph = resolved(build(), &reversed).await.unwrap();
    assert_eq!(graph.layers, vec![ids(&[1]), ids(&[0])], "db after api");
    assert_eq!(graph.depends_on[&DeclId(0)], ids(&[1]));

    let unordered = Plugins::answering(&[("api-db", Ok(with_order(EdgeOrder::None)))]);
    let graph = resolved(build(), &unordered).await.unwrap();
    assert_eq!(graph.layers, vec![ids(&[0, 1])], "together");
    assert_eq!(graph.connections.len(), 1, "still listed");
}

#[tokio::test]
async fn children_deploy_after_their_composite() {
    let graph = resolved(stack_and_db(), &Plugins::default()).await.unwrap();
    assert_eq!(graph.layers, vec![ids(&[0, 3]), ids(&[1, 2])]);
    assert_eq!(graph.depends_on[&DeclId(2)], ids(&[0]));
    assert_eq!(graph.order().collect::<Vec<_>>(), ids(&[0, 3, 1, 2]));
}

#[tokio::test]
async fn a_connection_to_a_composite_is_refused_naming_its_children() {
    let mut d = stack_and_db();
    let c = connection(4, "Link", "db-stack", 3, 0, &mut d);
    d.push(c);
    let plugins = Plugins::default();
    let problems = problems(resolved(d, &plugins).await);
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        "this Link goes to `stack`, a composite; it needs a single resource"
    );
    assert_eq!(problems[0].location.line, 5);
    assert_eq!(
        problems[0].help.as_deref(),
        Some("connect to one of its children: `web`, `worker`")
    );
    assert!(plugins.calls().is_empty(), "no plugin asked");
}

#[tokio::test]
async fn a_dependency_on_a_composite_waits_for_all_of_it_without_a_plugin_call() {
    let mut d = stack_and_db();
    let c = connection(
        4,
        crate::defaults::SHORTHAND_CONNECTION,
        "db-stack",
        3,
        0,
        &mut d,
    );
    d.push(c);
    let plugins = Plugins::default();
    let graph = resolved(d, &plugins).await.unwrap();
    assert!(plugins.calls().is_empty(), "{:?}", plugins.calls());
    assert_eq!(graph.layers, vec![ids(&[0]), ids(&[1, 2]), ids(&[3])]);
    assert_eq!(graph.depends_on[&DeclId(3)], ids(&[0, 1, 2]));
    assert_eq!(
        graph.connections.len(),
        1,
        "listed, with nothing contributed"
    );
    assert_eq!(
        (graph.connections[0].from, graph.connections[0].to),
        (DeclId(3), DeclId(0))
    );
}

#[tokio::test]
async fn a_connection_from_a_composite_is_resolved_for_each_of_its_leaves() {
    let mut d = stack_and_db();
    let c = connection(4, "Link", "stack-db", 0, 3, &mut d);
    d.push(c);
    let plugins = Plugins::default();
    let graph = resolved(d, &plugins).await.unwrap();
    assert_eq!(
        plugins.calls(),
        [
            ("stack-db".into(), "web".into(), "db".into()),
            ("stack-db".into(), "worker".into(), "db".into()),
        ]
    );
    let ends: Vec<(DeclId, DeclId)> = graph.connections.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(ends, [(DeclId(1), DeclId(3)), (DeclId(2), DeclId(3))]);
    // The composite waits for the target too, not only its leaves.
    assert_eq!(graph.layers, vec![ids(&[3]), ids(&[0]), ids(&[1, 2])]);
    assert_eq!(graph.depends_on[&DeclId(1)], ids(&[3, 0]));
}

#[tokio::test]
async fn a_resource_connected_to_itself_is_refused() {
    let mut d = vec![resource(0, "db")];
    let c = connection(1, "Link", "db-db", 0, 0, &mut d);
    d.push(c);
    let problems = problems(resolved(d, &Plugins::default()).await);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].message, "`db` cannot depend on itself");
    assert_eq!(problems[0].location.line, 2, "at the connection");
}

#[tokio::test]
async fn a_plugin_is_given_both_ends_with_their_specs_and_the_connections_config() {
    let mut d = vec![resource(0, "db"), resource(1, "api")];
    d[0].config.insert("image".into(), json!("postgres"));
    let mut c = connection(2, "Link", "api-db", 1, 0, &mut d);
    c.config.insert("database".into(), json!("app"));
    d.push(c);
    let plugins = Plugins::default();
    resolved(d, &plugins).await.unwrap();
    let asked = plugins.asked.lock().unwrap();
    let input = &asked[0];
    assert_eq!(input.type_name, "Link");
    let config: Json = serde_json::from_str(&input.config).unwrap();
    assert_eq!(config, json!({"database": "app"}));
    assert_eq!(input.to_resource.target.type_name, "Box");
    let to: Json = serde_json::from_str(&input.to_resource.config).unwrap();
    assert_eq!(to, json!({"image": "postgres"}));
    let project: Json = serde_json::from_str(&input.project).unwrap();
    assert_eq!(project["name"], "p");
}

#[tokio::test]
async fn what_a_connection_patches_into_an_end_is_merged_into_its_spec() {
    let mut d = vec![resource(0, "db"), resource(1, "api")];
    d[1].config.insert("vars".into(), json!({"MODE": "prod"}));
    let c = connection(2, "Link", "api-db", 1, 0, &mut d);
    d.push(c);
    let contribution = Contribution {
        from_patch: EndpointPatch {
            env: vec![("DATABASE_URL".into(), "postgresql://db/app".into())],
            ..empty_contribution().from_patch
        },
        ..empty_contribution()
    };
    let mut plugins = Plugins::answering(&[("api-db", Ok(contribution))]);
    plugins.schema = Some(TypeSchema {
        name: "Box".into(),
        doc: "A box.".into(),
        fields: vec![FieldSchema {
            name: "vars".into(),
            value_type: "map<string>".into(),
            doc: "Variables.".into(),
            required: false,
            default: None,
            completable: false,
            forces_replace: false,
            secret: false,
            examples: Vec::new(),
            receives: Some(ContributionKind::Environment),
        }],
    });
    let graph = resolved(d, &plugins).await.unwrap();
    let api = &graph.specs[&DeclId(1)];
    assert_eq!(
        api.fields["vars"],
        json!({"MODE": "prod", "DATABASE_URL": "postgresql://db/app"})
    );
    assert_eq!(
        api.source_of("vars.DATABASE_URL"),
        &Provenance::Connection("Link api-db".into())
    );
    assert_eq!(api.source_of("vars.MODE"), &Provenance::User);
    assert_eq!(
        graph.specs[&DeclId(0)].fields,
        Map::new(),
        "the other end is untouched"
    );
}

#[tokio::test]
async fn networks_and_volumes_a_connection_declares_leave_its_steps() {
    let mut d = vec![resource(0, "db"), resource(1, "api")];
    let c = connection(2, "Link", "api-db", 1, 0, &mut d);
    d.push(c);
    let steps = with_setup(vec![
        Action::EnsureNetwork(json!({"name": "backend", "internal": true}).to_string()),
        Action::EnsureVolume(json!({"name": "data"}).to_string()),
        Action::Exec(json!({"container": "db", "argv": ["true"]}).to_string()),
        // Not a network spec: kept as a step, refused with the plugin's words.
        Action::EnsureNetwork("not json".into()),
    ]);
    let plugins = Plugins::answering(&[("api-db", Ok(steps))]);
    let graph = resolved(d, &plugins).await.unwrap();
    let c = &graph.connections[0];
    assert_eq!(c.networks.len(), 1);
    assert_eq!(c.networks[0].name, "backend");
    assert!(c.networks[0].internal);
    assert!(c.networks[0].declared, "marked as declared by a connection");
    assert_eq!(c.volumes.len(), 1);
    let left: Vec<&str> = c.setup.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(left, ["step-2", "step-3"]);
    assert_eq!(graph.networks().keys().collect::<Vec<_>>(), ["backend"]);
    assert_eq!(graph.volumes().keys().collect::<Vec<_>>(), ["data"]);
}

#[tokio::test]
async fn one_network_declared_with_other_options_is_a_problem_at_the_later_connection() {
    let mut d = vec![resource(0, "db"), resource(1, "api"), resource(2, "web")];
    let first = connection(3, "Link", "api-db", 1, 0, &mut d);
    let second = connection(4, "Link", "web-db", 2, 0, &mut d);
    d.extend([first, second]);
    let network = |internal: bool| {
        with_setup(vec![Action::EnsureNetwork(
            json!({"name": "backend", "internal": internal}).to_string(),
        )])
    };
    let plugins = Plugins::answering(&[
        ("api-db", Ok(network(true))),
        ("web-db", Ok(network(false))),
    ]);
    let problems = problems(resolved(d, &plugins).await);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location.line, 5, "at `web-db`");
    assert_eq!(
        problems[0].message,
        "the network `backend` is declared here with other options than by `api-db`: internal false here, true there"
    );

    // The same options twice: one network, shared.
    let mut d = vec![resource(0, "db"), resource(1, "api"), resource(2, "web")];
    let first = connection(3, "Link", "api-db", 1, 0, &mut d);
    let second = connection(4, "Link", "web-db", 2, 0, &mut d);
    d.extend([first, second]);
    let plugins =
        Plugins::answering(&[("api-db", Ok(network(true))), ("web-db", Ok(network(true)))]);
    let graph = resolved(d, &plugins).await.unwrap();
    assert_eq!(graph.networks().len(), 1);
}

#[tokio::test]
async fn each_diagnostic_of_a_refusal_is_a_problem_naming_its_field() {
    let mut d = vec![resource(0, "db"), resource(1, "api")];
    let c = connection(2, "Link", "api-db", 1, 0, &mut d);
    d.push(c);
    let diagnostic = |path: Option<&str>, summary: &str, detail: Option<&str>| Diagnostic {
        severity: Severity::Error,
        summary: summary.into(),
        detail: detail.map(str::to_string),
        path: path.map(str::to_string),
    };
    let refusal = PluginError::InvalidConfig(vec![
        diagnostic(
            Some("/ports/0"),
            "port `70000` is out of range",
            Some("use 1-65535"),
        ),
        diagnostic(None, "needs a database", None),
    ]);
    let plugins = Plugins::answering(&[("api-db", Err(refusal))]);
    let problems = problems(resolved(d, &plugins).await);
    let found: Vec<(&str, Option<&str>, usize)> = problems
        .iter()
        .map(|p| (p.message.as_str(), p.help.as_deref(), p.location.line))
        .collect();
    assert_eq!(
        found,
        [
            (
                "Link: `ports[0]`: port `70000` is out of range",
                Some("use 1-65535"),
                3
            ),
            ("Link: needs a database", None, 3),
        ]
    );
}

#[tokio::test]
async fn a_shorthand_dependency_is_drawn_without_asking_a_plugin() {
    let mut d = vec![resource(0, "db"), resource(1, "api")];
    let mut c = connection(
        2,
        crate::defaults::SHORTHAND_CONNECTION,
        "api-db",
        1,
        0,
        &mut d,
    );
    c.implicit = true;
    d.push(c);
    let plugins = Plugins::default();
    let graph = resolved(d, &plugins).await.unwrap();
    assert!(plugins.calls().is_empty());
    assert_eq!(graph.layers, vec![ids(&[0]), ids(&[1])]);
    assert_eq!(graph.connections.len(), 1);
}
