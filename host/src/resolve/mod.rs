//! `Declared` → [`Graph`]: what each connection contributes (computed by
//! the connection plugins' pure `resolve`), merged into the resources it
//! joins, and the dependency graph ordered into layers.
//!
//! Runs nothing and needs no Docker Engine.

mod graph;
mod merge;
mod objects;
#[cfg(test)]
mod resolve_tests;

pub use graph::{Cycle, Layering, order};
pub use merge::{Provenance, Spec};

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::load::Located;
use crate::model::{DeclId, Declaration, Declared, ResourceName};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    Contribution, EdgeOrder, Endpoint, ResolveInput, SetupStep,
};
use crate::plugin::bindings::types::{PluginError, ResourceRef};
use crate::plugin::{CallError, PluginKind, PluginSet};
use objects::{declared_objects, first_other, network_difference};

/// A connection plugin's answer to `resolve`, on its way.
pub type ResolveCall = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Result<Contribution, PluginError>, CallError>>
            + Send,
    >,
>;

/// What resolving needs of the plugins: each connection type's `resolve`,
/// and the schema of each resource type (a patch is checked against it).
/// [`PluginSet`] is the real one; a stage test gives plain answers.
pub trait Resolver: Send + Sync {
    /// The contribution of `type_name`'s plugin for `input`; `None` when
    /// no plugin provides the type (it contributes nothing).
    fn resolve(&self, type_name: &str, input: ResolveInput) -> Option<ResolveCall>;

    /// The schema of `type_name`, when a plugin provides it.
    fn schema(&self, type_name: &str) -> Option<&clockwork_schema::TypeSchema>;
}

impl Resolver for PluginSet {
    fn resolve(&self, type_name: &str, input: ResolveInput) -> Option<ResolveCall> {
        let plugin = self.for_type(type_name)?.clone();
        Some(Box::pin(async move { plugin.resolve(&input).await }))
    }

    fn schema(&self, type_name: &str) -> Option<&clockwork_schema::TypeSchema> {
        PluginSet::schema(self, type_name)
    }
}
use clockwork_schema::actions::{NetworkSpec, VolumeSpec};

/// What a connection contributed, for display and for later stages.
#[derive(Debug, Clone)]
pub struct ResolvedConnection {
    /// The connection declaration.
    pub decl: DeclId,
    /// The resource it goes from (a leaf, when it was declared on a composite).
    pub from: DeclId,
    /// The resource it goes to.
    pub to: DeclId,
    /// Named values for display (masked when printed).
    pub outputs: Vec<(String, String)>,
    /// The setup steps it asks for, in order.
    pub setup: Vec<SetupStep>,
    /// Assertions it adds, as (type, config JSON).
    pub assertions: Vec<(String, String)>,
    /// The networks it declares, with their options (its `ensure-network`
    /// steps, which are not run as steps: every resource plugin is told of
    /// them, so the network is made as declared before either end joins).
    pub networks: Vec<NetworkSpec>,
    /// The volumes it declares (its `ensure-volume` steps), hoisted the
    /// same way.
    pub volumes: Vec<VolumeSpec>,
    /// The certificates it asks for (its `ext("tls", "issue", …)` steps),
    /// made by `apply` before either end deploys.
    pub tls: Vec<crate::project::tls::Request>,
}

/// The resolved project: specs, edges and order.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The project.
    pub project: Declared,
    /// Each resource's resolved fields, by declaration.
    pub specs: BTreeMap<DeclId, Spec>,
    /// Direct dependencies of each resource, in deploy order.
    pub depends_on: BTreeMap<DeclId, Vec<DeclId>>,
    /// Resources grouped in layers; a layer depends only on earlier ones.
    pub layers: Vec<Vec<DeclId>>,
    /// What each connection contributed.
    pub connections: Vec<ResolvedConnection>,
}

impl Graph {
    /// Resources in deploy order.
    pub fn order(&self) -> impl Iterator<Item = DeclId> + '_ {
        self.layers.iter().flatten().copied()
    }

    /// The volumes connections declared, by name (one spec per name:
    /// `resolve` refuses two that differ).
    pub fn volumes(&self) -> BTreeMap<String, VolumeSpec> {
        self.connections
            .iter()
            .flat_map(|c| c.volumes.iter())
            .map(|v| (v.name.clone(), v.clone()))
            .collect()
    }

    /// The networks connections declared, by name (one spec per name:
    /// `resolve` refuses two that differ).
    pub fn networks(&self) -> BTreeMap<String, NetworkSpec> {
        self.connections
            .iter()
            .flat_map(|c| c.networks.iter())
            .map(|n| (n.name.clone(), n.clone()))
            .collect()
    }
}

/// Why a project could not be resolved: the resolve stage's one error
/// type.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ResolveError {
    /// Problems in the project (a cycle, a connection a plugin refused),
    /// each rendered with its snippet by whoever shows them.
    #[error("{} problem(s) in the project", .0.len())]
    #[diagnostic(code("clockwork::resolve::invalid"))]
    Invalid(Vec<Located>),
    /// A plugin failed (trapped, timed out).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(#[from] CallError),
    /// A failure of Clockwork itself.
    #[error("internal error: {0} (this is a bug in clockwork)")]
    #[diagnostic(
        code("clockwork::internal"),
        help("please report it with the output of `clockwork --version`")
    )]
    Internal(String),
}

/// Resolves connections and orders the graph.
pub async fn resolve(
    project: Declared,
    plugins: &dyn Resolver,
    sources: &dyn Fn(&DeclId) -> Option<Arc<String>>,
) -> Result<Graph, ResolveError> {
    let mut resolution = Resolution::new(&project, sources);
    let calls = resolution.plan_calls();
    resolution.fail_on_problems()?;

    let inputs = resolution.inputs(&calls);
    // Calls run on every core; results are taken in declaration order.
    // Each input is moved into its call: only the call is needed after.
    let results = crate::plugin::in_order(calls.iter().zip(inputs).map(|(call, input)| {
        let call = plugins.resolve(&project.get(call.connection).type_name, input);
        async move {
            match call {
                Some(call) => call.await,
                None => Ok(Ok(empty_contribution())),
            }
        }
    }))
    .await
    .map_err(|e| ResolveError::Internal(format!("a resolve task failed: {e}")))?;

    for (call, result) in calls.iter().zip(results) {
        match result? {
            Ok(contribution) => resolution.merge(call, contribution, plugins),
            Err(error) => resolution.refused(call.connection, error),
        }
    }
    resolution.list_connections_without_calls();
    resolution.fail_on_problems()?;

    let Layering { layers, depends_on } = resolution.layering()?;
    let Resolution {
        specs, connections, ..
    } = resolution;
    Ok(Graph {
        project,
        specs,
        depends_on,
        layers,
        connections,
    })
}

/// One `resolve` call: a connection, from one of its origin's leaves, to
/// its target.
#[derive(Debug, Clone, Copy)]
struct Call {
    connection: DeclId,
    origin: DeclId,
    to: DeclId,
}

/// The problems found while resolving, each at a declaration.
struct Problems<'a> {
    project: &'a Declared,
    sources: &'a dyn Fn(&DeclId) -> Option<Arc<String>>,
    found: Vec<Located>,
}

impl Problems<'_> {
    fn add(&mut self, id: DeclId, message: String, help: Option<String>) {
        let d = self.project.get(id);
        self.found.push(Located {
            message,
            location: d.location.clone(),
            help,
            source: (self.sources)(&id),
            called_from: Vec::new(),
        });
    }
}

/// A resolve under way: the specs as connections patch them, the
/// dependency edges, what the connections declared and contributed.
struct Resolution<'a> {
    project: &'a Declared,
    specs: BTreeMap<DeclId, Spec>,
    /// Edges as (dependency, dependent, the connection drawing it).
    edges: Vec<(DeclId, DeclId, Option<DeclId>)>,
    /// Each network a connection declared, by name, with the first
    /// connection declaring it.
    networks: BTreeMap<String, (DeclId, NetworkSpec)>,
    /// Each volume a connection declared, the same way.
    volumes: BTreeMap<String, (DeclId, VolumeSpec)>,
    connections: Vec<ResolvedConnection>,
    problems: Problems<'a>,
}

impl<'a> Resolution<'a> {
    fn new(project: &'a Declared, sources: &'a dyn Fn(&DeclId) -> Option<Arc<String>>) -> Self {
        let specs = project
            .of_kind(PluginKind::Resource)
            .map(|d| (d.id, Spec::from_declaration(d)))
            .collect();
        // A child after its parent.
        let edges = project
            .of_kind(PluginKind::Resource)
            .filter_map(|d| d.parent.map(|parent| (parent, d.id, None)))
            .collect();
        Resolution {
            project,
            specs,
            edges,
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            connections: Vec::new(),
            problems: Problems {
                project,
                sources,
                found: Vec::new(),
            },
        }
    }

    /// Every problem found so far, as the error, if there is one.
    fn fail_on_problems(&mut self) -> Result<(), ResolveError> {
        if self.problems.found.is_empty() {
            Ok(())
        } else {
            Err(ResolveError::Invalid(std::mem::take(
                &mut self.problems.found,
            )))
        }
    }

    /// One resolve call per (connection, origin leaf); the edges each
    /// connection draws.
    fn plan_calls(&mut self) -> Vec<Call> {
        let mut calls = Vec::new();
        for c in self.project.of_kind(PluginKind::Connection) {
            let (Some(from), Some(to)) = (c.from, c.to) else {
                continue;
            };
            self.plan_connection(c, from, to, &mut calls);
        }
        calls
    }

    /// The edges and calls of connection `c`, from `from` to `to`.
    fn plan_connection(
        &mut self,
        c: &Declaration,
        from: DeclId,
        to: DeclId,
        calls: &mut Vec<Call>,
    ) {
        let targets = descendants(self.project, to);
        let origins = leaves(self.project, from);
        let is_dependency = c.type_name == crate::defaults::SHORTHAND_CONNECTION;
        if targets.len() > 1 && !is_dependency {
            self.goes_to_a_composite(c, to);
            return;
        }
        // A composite waits for the target too, not only its leaves.
        let mut dependents = origins.clone();
        if origins != [from] {
            dependents.push(from);
        }
        for origin in &dependents {
            if targets.contains(origin) {
                self.problems.add(
                    c.id,
                    format!(
                        "`{}` cannot depend on itself",
                        self.project.get(*origin).name
                    ),
                    None,
                );
                continue;
            }
            for target in &targets {
                self.edges.push((*target, *origin, Some(c.id)));
            }
        }
        for origin in origins {
            if targets.contains(&origin) {
                continue;
            }
            // A bare resource in `.connect()` is the language's shorthand
            // for an ordering edge, like a child after its parent: the host
            // draws it without asking a plugin. A `DependencyConnection(...)`
            // the user writes goes to its plugin like any connection.
            if !c.implicit && (!is_dependency || targets.len() == 1) {
                calls.push(Call {
                    connection: c.id,
                    origin,
                    to,
                });
            }
        }
    }

    /// A connection other than a dependency goes to a single resource, not
    /// to composite `to`.
    fn goes_to_a_composite(&mut self, c: &Declaration, to: DeclId) {
        let children: Vec<String> = self
            .project
            .get(to)
            .children
            .iter()
            .map(|ch| format!("`{}`", self.project.get(*ch).name))
            .collect();
        self.problems.add(
            c.id,
            format!(
                "this {} goes to `{}`, a composite; it needs a single resource",
                c.type_name,
                self.project.get(to).name
            ),
            Some(format!(
                "connect to one of its children: {}",
                children.join(", ")
            )),
        );
    }

    /// What each call asks its plugin.
    fn inputs(&self, calls: &[Call]) -> Vec<ResolveInput> {
        let project = self.project;
        // The same for every call: made once.
        let about_project = serde_json::json!({
            "name": project.name,
            "dir": project.dir,
            "network": crate::project::Identity::new(&project.name, &project.dir).default_network(),
        })
        .to_string();
        calls
            .iter()
            .map(|call| {
                let c = project.get(call.connection);
                ResolveInput {
                    type_name: c.type_name.to_string(),
                    name: c.name.to_string(),
                    config: json_text(&c.config),
                    from_resource: endpoint(project, &self.specs, call.origin),
                    to_resource: endpoint(project, &self.specs, call.to),
                    project: about_project.clone(),
                }
            })
            .collect()
    }

    /// A plugin's refusal of its connection.
    fn refused(&mut self, connection: DeclId, error: PluginError) {
        let type_name = &self.project.get(connection).type_name;
        for (message, help) in plugin_error_messages(type_name, error) {
            self.problems.add(connection, message, help);
        }
    }

    /// What `call`'s connection contributed: its order, its patches of
    /// either end, and what it declares.
    fn merge(&mut self, call: &Call, contribution: Contribution, plugins: &dyn Resolver) {
        let conn = call.connection;
        let c = self.project.get(conn);
        match contribution.order {
            EdgeOrder::FromAfterTo => {}
            EdgeOrder::ToAfterFrom => {
                self.edges.retain(|e| e.2 != Some(conn));
                self.edges.push((call.origin, call.to, Some(conn)));
            }
            EdgeOrder::None => self.edges.retain(|e| e.2 != Some(conn)),
        }
        let source = format!("{} {}", c.type_name, c.name);
        for (endpoint, patch) in [
            (call.origin, &contribution.from_patch),
            (call.to, &contribution.to_patch),
        ] {
            let schema = plugins.schema(&self.project.get(endpoint).type_name);
            if let Some(spec) = self.specs.get_mut(&endpoint)
                && let Err(refused) = spec.apply(patch, &source, schema)
            {
                self.problems.add(conn, refused.to_string(), None);
            }
        }
        let (networks, volumes, tls, setup) = declared_objects(&contribution.setup);
        self.declare_volumes(conn, &volumes);
        self.declare_networks(conn, &networks);
        self.connections.push(ResolvedConnection {
            decl: conn,
            from: call.origin,
            to: call.to,
            outputs: contribution.outputs,
            setup,
            networks,
            volumes,
            tls,
            assertions: contribution
                .assertions
                .iter()
                .map(|a| (a.type_name.clone(), a.config.clone()))
                .collect(),
        });
    }

    /// Records the volumes `conn` declares; one declared before with other
    /// options is a problem.
    fn declare_volumes(&mut self, conn: DeclId, volumes: &[VolumeSpec]) {
        for v in volumes {
            if let Some((other, theirs)) = first_other(&mut self.volumes, &v.name, v, conn) {
                self.problems.add(
                    conn,
                    format!(
                        "the volume `{}` is declared here with other options than by `{}`: driver `{}` and create_volume = {} here, driver `{}` and create_volume = {} there",
                        v.name,
                        self.project.get(other).name,
                        v.driver,
                        if v.existing { "False" } else { "True" },
                        theirs.driver,
                        if theirs.existing { "False" } else { "True" },
                    ),
                    Some(
                        "connections naming one volume share it: give them the same options".into(),
                    ),
                );
            }
        }
    }

    /// Records the networks `conn` declares; one declared before with
    /// other options is a problem.
    fn declare_networks(&mut self, conn: DeclId, networks: &[NetworkSpec]) {
        for n in networks {
            if let Some((other, theirs)) = first_other(&mut self.networks, &n.name, n, conn) {
                self.problems.add(
                    conn,
                    format!(
                        "the network `{}` is declared here with other options than by `{}`: {}",
                        n.name,
                        self.project.get(other).name,
                        network_difference(&theirs, n)
                    ),
                    Some(
                        "connections naming one network share it: give them the same options, or another `network_name`"
                            .into(),
                    ),
                );
            }
        }
    }

    /// Connections drawn without a plugin call (the shorthand, or a
    /// dependency on a whole composite) are listed too, in declaration order.
    fn list_connections_without_calls(&mut self) {
        let called: std::collections::HashSet<DeclId> =
            self.connections.iter().map(|c| c.decl).collect();
        for c in self.project.of_kind(PluginKind::Connection) {
            if let (Some(from), Some(to)) = (c.from, c.to)
                && !called.contains(&c.id)
            {
                self.connections.push(ResolvedConnection {
                    decl: c.id,
                    from,
                    to,
                    outputs: Vec::new(),
                    setup: Vec::new(),
                    assertions: Vec::new(),
                    networks: Vec::new(),
                    volumes: Vec::new(),
                    tls: Vec::new(),
                });
            }
        }
        self.connections.sort_by_key(|c| c.decl);
    }

    /// The resources in layers; a dependency cycle is a problem.
    fn layering(&mut self) -> Result<Layering, ResolveError> {
        let project = self.project;
        let resources: Vec<DeclId> = project
            .of_kind(PluginKind::Resource)
            .map(|d| d.id)
            .collect();
        let pairs: Vec<(DeclId, DeclId)> = self.edges.iter().map(|(a, b, _)| (*a, *b)).collect();
        let Cycle(cycle) = match order(&resources, &pairs) {
            Ok(layering) => return Ok(layering),
            Err(cycle) => cycle,
        };
        let names: Vec<ResourceName> = cycle
            .iter()
            .map(|id| project.get(*id).name.clone())
            .collect();
        let Some(&first) = cycle.first() else {
            return Err(ResolveError::Internal(
                "the graph reported an empty dependency cycle".into(),
            ));
        };
        let help = cycle
            .iter()
            .map(|id| {
                format!(
                    "`{}` is declared at {}",
                    project.get(*id).name,
                    project.get(*id).location
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        self.problems.add(
            first,
            format!("dependency cycle: {} → {}", names.join(" → "), names[0]),
            Some(help),
        );
        Err(ResolveError::Invalid(std::mem::take(
            &mut self.problems.found,
        )))
    }
}

/// `fields` as JSON text, as `Json::Object(fields.clone()).to_string()`
/// would write it, without the copy.
fn json_text(fields: &Map<String, Json>) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "{}".into())
}

/// A composite's leaf resources (itself when it has no children).
fn leaves(project: &Declared, id: DeclId) -> Vec<DeclId> {
    let d = project.get(id);
    if d.children.is_empty() {
        vec![id]
    } else {
        d.children
            .iter()
            .flat_map(|c| leaves(project, *c))
            .collect()
    }
}

/// A resource and everything it contains.
fn descendants(project: &Declared, id: DeclId) -> Vec<DeclId> {
    let mut out = vec![id];
    for c in &project.get(id).children {
        out.extend(descendants(project, *c));
    }
    out
}

fn endpoint(project: &Declared, specs: &BTreeMap<DeclId, Spec>, id: DeclId) -> Endpoint {
    let d = project.get(id);
    let config = specs
        .get(&id)
        .map(|s| json_text(&s.fields))
        .unwrap_or_else(|| "{}".into());
    Endpoint {
        target: ResourceRef {
            type_name: d.type_name.to_string(),
            name: d.name.to_string(),
        },
        config,
    }
}

fn empty_contribution() -> Contribution {
    use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::EndpointPatch;
    let empty = || EndpointPatch {
        env: Vec::new(),
        networks: Vec::new(),
        aliases: Vec::new(),
        mounts: Vec::new(),
    };
    Contribution {
        from_patch: empty(),
        to_patch: empty(),
        order: EdgeOrder::FromAfterTo,
        setup: Vec::new(),
        assertions: Vec::new(),
        outputs: Vec::new(),
    }
}

/// A plugin's refusal as located messages (with help).
fn plugin_error_messages(type_name: &str, error: PluginError) -> Vec<(String, Option<String>)> {
    match error {
        PluginError::InvalidConfig(diagnostics) => diagnostics
            .into_iter()
            .map(|d| {
                let field = d
                    .path
                    .as_deref()
                    .map(|p| format!("`{}`: ", crate::model::FieldPath::from_pointer(p).indexed()))
                    .unwrap_or_default();
                (format!("{type_name}: {field}{}", d.summary), d.detail)
            })
            .collect(),
        PluginError::Denied(text) => vec![(format!("{type_name}: denied: {text}"), None)],
        PluginError::Transient(text) | PluginError::Failed(text) => {
            vec![(format!("{type_name}: {text}"), None)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Declaration;
    use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::EndpointPatch;

    /// Plain answers in place of connection plugins: `Link` contributes
    /// `answer`; no other type has a plugin.
    struct Answers {
        answer: Result<Contribution, PluginError>,
    }

    impl Resolver for Answers {
        fn resolve(&self, type_name: &str, _input: ResolveInput) -> Option<ResolveCall> {
            let answer = self.answer.clone();
            (type_name == "Link").then(|| -> ResolveCall { Box::pin(async move { Ok(answer) }) })
        }

        fn schema(&self, _type_name: &str) -> Option<&clockwork_schema::TypeSchema> {
            None
        }
    }

    /// `api` (line 2) connects to `db` (line 1) with a `type_name`
    /// connection (line 3).
    fn api_to_db(type_name: &str) -> Declared {
        let mut db = Declaration::fixture(0, PluginKind::Resource, "Box", "db");
        let mut api = Declaration::fixture(1, PluginKind::Resource, "Box", "api");
        let mut link = Declaration::fixture(2, PluginKind::Connection, type_name, "api-link");
        link.from = Some(api.id);
        link.to = Some(db.id);
        api.connections.push(link.id);
        db.config
            .insert("image".into(), Json::String("postgres".into()));
        Declared::fixture(vec![db, api, link])
    }

    fn contribution(outputs: Vec<(String, String)>, env: Vec<(String, String)>) -> Contribution {
        Contribution {
            from_patch: EndpointPatch {
                env,
                ..empty_contribution().from_patch
            },
            outputs,
            ..empty_contribution()
        }
    }

    async fn resolved(
        project: Declared,
        answer: Result<Contribution, PluginError>,
    ) -> Result<Graph, ResolveError> {
        resolve(project, &Answers { answer }, &|_| None).await
    }

    #[tokio::test]
    async fn a_connection_orders_its_ends_and_keeps_what_it_outputs() {
        let outputs = vec![("URL".to_string(), "postgresql://db/app".to_string())];
        let graph = resolved(
            api_to_db("Link"),
            Ok(contribution(outputs.clone(), Vec::new())),
        )
        .await
        .expect("resolves");
        assert_eq!(graph.layers, vec![vec![DeclId(0)], vec![DeclId(1)]]);
        assert_eq!(graph.depends_on.get(&DeclId(1)), Some(&vec![DeclId(0)]));
        assert_eq!(graph.connections.len(), 1);
        assert_eq!(graph.connections[0].outputs, outputs);
        assert_eq!(
            graph.specs[&DeclId(0)].fields.get("image"),
            Some(&Json::String("postgres".into())),
            "the user's fields are the spec's"
        );
    }

    #[tokio::test]
    async fn a_connection_type_with_no_plugin_only_orders() {
        let graph = resolved(
            api_to_db("Unknown"),
            Err(PluginError::Failed("never asked".into())),
        )
        .await
        .expect("resolves");
        assert_eq!(graph.layers, vec![vec![DeclId(0)], vec![DeclId(1)]]);
        assert!(graph.connections.iter().all(|c| c.outputs.is_empty()));
    }

    #[tokio::test]
    async fn a_plugin_refusing_its_connection_is_a_problem_at_the_connection() {
        let Err(ResolveError::Invalid(problems)) = resolved(
            api_to_db("Link"),
            Err(PluginError::Failed("no such database".into())),
        )
        .await
        else {
            panic!("refused");
        };
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].location.line, 3);
        assert_eq!(problems[0].message, "Link: no such database");
    }

    #[tokio::test]
    async fn a_variable_no_field_of_the_resource_receives_is_a_problem_at_the_connection() {
        let env = vec![("DATABASE_URL".to_string(), "x".to_string())];
        let Err(ResolveError::Invalid(problems)) =
            resolved(api_to_db("Link"), Ok(contribution(Vec::new(), env))).await
        else {
            panic!("refused");
        };
        assert_eq!(problems[0].location.line, 3);
        assert!(
            problems[0].message.contains("DATABASE_URL")
                && problems[0].message.contains("takes none"),
            "{}",
            problems[0].message
        );
    }
}
