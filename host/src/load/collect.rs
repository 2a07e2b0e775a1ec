//! From evaluated Starlark to a `Declared`: find every declaration
//! reachable from the file's variables (each once), name them, turn their
//! fields into JSON, and check what only the whole project can show
//! (duplicate names, a connection from nowhere, a missing required field).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use starlark::environment::{FrozenModule, Module};
use starlark::values::dict::DictRef;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{Value, ValueIdentity};

use crate::load::context::LoadContext;
use crate::load::convert;
use crate::load::function::Modules;
use crate::load::naming::{NameHint, check_names, name_everything};
use crate::load::types::TypeSpec;
use crate::load::value::{Decl, FROM, PARENT};
use crate::model::Located;
use crate::model::PluginKind;
use crate::model::{DeclId, Declaration, Declared, Location, NameOrigin, ResourceName};

/// Builds the project from an evaluated module and the modules it loaded.
pub fn collect<'v>(
    module: &Module<'v>,
    loaded_by_name: &HashMap<String, FrozenModule>,
    texts: &HashMap<String, Arc<String>>,
    ctx: &LoadContext,
    file: &Path,
    sources: &HashMap<String, Arc<String>>,
) -> (Declared, Vec<Located>) {
    let loaded: Vec<&FrozenModule> = loaded_by_name.values().collect();
    let mut collector = Collector::new(reachable(module, &loaded), sources);
    let mut assertion_owner = collector.link_fields();
    collector.adopt_assertions_on_their_own(&mut assertion_owner);
    collector.name_all();

    // Functions become programs (`function.rs`), which name declarations.
    let modules = Modules {
        main: file.display().to_string(),
        main_module: module,
        loaded: loaded_by_name,
        texts,
        names: collector.names_by_id(),
        host_only: ctx
            .registry
            .iter()
            .map(|t| t.name().to_string())
            .chain(std::iter::once("env".to_string()))
            .collect(),
        built: Default::default(),
        words: Default::default(),
    };
    collector.fields_to_json(&modules);
    collector.check_connections();
    collector.check_names();

    let Collector { out, problems, .. } = collector;
    let secrets = secrets(&out, ctx);
    let dir = ctx.project_dir.clone();
    let name = ctx.project_name.clone();
    (
        Declared {
            dir,
            file: file.to_path_buf(),
            name,
            declarations: out,
            secrets,
            warnings: Vec::new(),
        },
        problems.found,
    )
}

/// The problems found while collecting, each with the text of its file.
struct Problems<'a> {
    sources: &'a HashMap<String, Arc<String>>,
    found: Vec<Located>,
}

impl Problems<'_> {
    fn add(&mut self, location: &Location, message: String, help: Option<String>) {
        self.found.push(Located {
            message,
            source: self
                .sources
                .get(&location.file.display().to_string())
                .cloned(),
            location: location.clone(),
            help,
            called_from: Vec::new(),
        });
    }
}

/// The declarations on their way from Starlark values to `Declaration`s.
struct Collector<'a, 'v> {
    /// Creation ids in creation order; index = DeclId.
    ids: Vec<u32>,
    /// The declaration value at each index.
    values: Vec<Value<'v>>,
    /// Creation id → index.
    index: HashMap<u32, usize>,
    /// The declarations: one per value, then the dependencies made from
    /// bare resources in `connections`.
    out: Vec<Declaration>,
    problems: Problems<'a>,
}

impl<'a, 'v> Collector<'a, 'v> {
    fn new(decls: BTreeMap<u32, Value<'v>>, sources: &'a HashMap<String, Arc<String>>) -> Self {
        // Ids in creation order; index = DeclId.
        let (ids, values): (Vec<u32>, Vec<Value<'v>>) = decls.into_iter().unzip();
        let index = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut collector = Collector {
            ids,
            values,
            index,
            out: Vec::new(),
            problems: Problems {
                sources,
                found: Vec::new(),
            },
        };
        collector.out = (0..collector.values.len())
            .map(|i| collector.declaration(i))
            .collect();
        collector
    }

    fn decl(&self, i: usize) -> &'v Decl<'v> {
        Decl::from_value(self.values[i]).expect("reachable() keeps declarations only")
    }

    /// The index of the declaration `v` is, if it is one.
    fn id_of(&self, v: Value<'v>) -> Option<usize> {
        Decl::from_value(v).and_then(|d| self.index.get(&d.info.id).copied())
    }

    /// The declaration at `i` as constructed: no name, fields or edges held
    /// in fields yet.
    fn declaration(&self, i: usize) -> Declaration {
        let d = self.decl(i);
        Declaration {
            id: DeclId(i),
            kind: d.kind(),
            type_name: d.info.spec.name().into(),
            name: ResourceName::default(),
            name_origin: NameOrigin::Derived,
            location: d.info.location.clone(),
            fields: Map::new(),
            grants: Default::default(),
            config: Map::new(),
            parent: d.edge(PARENT).and_then(|v| self.id_of(v)).map(DeclId),
            children: d
                .children()
                .into_iter()
                .filter_map(|v| self.id_of(v))
                .map(DeclId)
                .collect(),
            connections: Vec::new(),
            assertions: Vec::new(),
            from: d.edge(FROM).and_then(|v| self.id_of(v)).map(DeclId),
            to: None,
            implicit: d.edge("implicit").is_some(),
            completed: Default::default(),
            deferred: false,
        }
    }

    /// Edges held in fields: connections and assertions of resources, the
    /// target of connections. Returns the owner of each assertion listed
    /// in an `assertions` field.
    fn link_fields(&mut self) -> HashMap<usize, usize> {
        let mut assertion_owner: HashMap<usize, usize> = HashMap::new();
        for i in 0..self.values.len() {
            let d = self.decl(i);
            match d.kind() {
                PluginKind::Resource => {
                    self.link_connections(i, d);
                    self.link_assertions(i, d, &mut assertion_owner);
                }
                PluginKind::Connection => {
                    let to = d.field("to_resource").and_then(|v| self.id_of(v));
                    self.out[i].to = to.map(DeclId);
                }
                PluginKind::Assertion => {}
            }
        }
        assertion_owner
    }

    /// The `connections` of resource `i`.
    fn link_connections(&mut self, i: usize, d: &Decl<'v>) {
        for c in list_items(d.field("connections")) {
            match self.id_of(c) {
                Some(ci) if self.out[ci].kind == PluginKind::Connection => {
                    match self.out[ci].from {
                        Some(from) if from.0 != i => self.problems.add(
                            &self.out[ci].location,
                            format!(
                                "this {} is connected from two resources",
                                self.out[ci].type_name
                            ),
                            Some("a connection has one origin; declare one per resource".into()),
                        ),
                        _ => self.out[ci].from = Some(DeclId(i)),
                    }
                    self.out[i].connections.push(DeclId(ci));
                }
                // A bare resource appended to `connections` after
                // construction: the dependency is made here.
                Some(ri) if self.out[ri].kind == PluginKind::Resource => {
                    let implicit =
                        implicit_dependency(self.out.len(), i, ri, &self.out[i].location);
                    self.out[i].connections.push(implicit.id);
                    self.out.push(implicit);
                }
                _ => self.problems.add(
                    &self.out[i].location,
                    format!(
                        "`connections` holds something that is not a resource or connection: {}",
                        c.to_repr()
                    ),
                    None,
                ),
            }
        }
    }

    /// The `assertions` of resource `i`.
    fn link_assertions(
        &mut self,
        i: usize,
        d: &Decl<'v>,
        assertion_owner: &mut HashMap<usize, usize>,
    ) {
        for a in list_items(d.field("assertions")) {
            if let Some(ai) = self.id_of(a) {
                if let Some(previous) = assertion_owner.insert(ai, i)
                    && previous != i
                {
                    self.problems.add(
                        &self.out[ai].location,
                        format!(
                            "this {} is attached to two declarations",
                            self.out[ai].type_name
                        ),
                        Some("create one assertion per declaration".into()),
                    );
                }
                self.out[i].assertions.push(DeclId(ai));
            }
        }
    }

    /// An assertion declared on its own, naming the resource it checks
    /// (`PythonAssert(f, resource = web)`, `CrossResourceAssert(source =
    /// api, ...)`), belongs to that resource like one in its `assertions`.
    fn adopt_assertions_on_their_own(&mut self, assertion_owner: &mut HashMap<usize, usize>) {
        for i in 0..self.values.len() {
            if self.out[i].kind != PluginKind::Assertion {
                continue;
            }
            let Some((field, ri)) = self.resource_named_by(self.decl(i)) else {
                continue;
            };
            match assertion_owner.get(&i).copied() {
                None => {
                    assertion_owner.insert(i, ri);
                    self.out[ri].assertions.push(DeclId(i));
                }
                Some(owner) if owner != ri => self.problems.add(
                    &self.out[i].location,
                    format!(
                        "this {} is in the assertions of one resource but its `{field}` names another",
                        self.out[i].type_name
                    ),
                    Some(format!(
                        "leave `{field}` out when the assertion is in `assertions=[...]`, or declare it on its own"
                    )),
                ),
                Some(_) => {}
            }
        }
    }

    /// The field of assertion `d` (`resource`, else `source`) naming a
    /// resource, and that resource.
    fn resource_named_by(&self, d: &Decl<'v>) -> Option<(&'static str, usize)> {
        ["resource", "source"]
            .iter()
            .filter(|f| d.info.spec.field(f).is_some())
            .find_map(|f| d.field(f).map(|v| (*f, v)))
            .and_then(|(f, v)| self.id_of(v).map(|ri| (f, ri)))
            .filter(|(_, ri)| self.out[*ri].kind == PluginKind::Resource)
    }

    /// Names every declaration (`naming.rs`); a resource with nothing to
    /// name it by is a problem.
    fn name_all(&mut self) {
        let mut hints: Vec<NameHint> = (0..self.values.len())
            .map(|i| name_hint(self.decl(i)))
            .collect();
        hints.resize(self.out.len(), NameHint::default());
        for i in name_everything(&mut self.out, &hints) {
            self.problems.add(
                &self.out[i].location,
                format!(
                    "this {} has no name: it is not bound to a variable, has no `name=` and is not a child of a composite",
                    self.out[i].type_name
                ),
                Some(
                    "give it a name (`name = \"worker-%d\" % i` in a loop), or bind it to a variable at the top level of the file"
                        .into(),
                ),
            );
        }
    }

    /// The name of each declaration, by creation id.
    fn names_by_id(&self) -> HashMap<u32, String> {
        self.ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, self.out[i].name.to_string()))
            .collect()
    }

    /// Fields as JSON, references by name; types checked again, since
    /// values may have changed after construction.
    fn fields_to_json(&mut self, modules: &Modules<'_, 'v>) {
        for i in 0..self.values.len() {
            let d = self.decl(i);
            let spec = &d.info.spec;
            self.convert_fields(i, d, modules);
            // Only what the user wrote, read by its type, may grant a privilege.
            self.out[i].grants =
                crate::model::Grants::of_user_fields(&self.out[i].fields, |name| {
                    spec.field_types.get(name).cloned()
                });
            self.bind_decorated_function(i, d, modules);
            self.check_required(i, spec);
        }
    }

    /// The fields of declaration `i` that hold values (not edges), as JSON;
    /// a container default the user left untouched is left out.
    fn convert_fields(&mut self, i: usize, d: &Decl<'v>, modules: &Modules<'_, 'v>) {
        let spec = &d.info.spec;
        for (name, value) in d.fields() {
            if is_edge_field(spec.kind, &name) {
                continue;
            }
            let Some(ty) = spec.field_types.get(&name) else {
                continue;
            };
            if *ty == clockwork_schema::ValueType::Function {
                match modules.program(value, &name, &d.info.location) {
                    Ok(program) => {
                        self.out[i].fields.insert(name, program);
                    }
                    Err(e) => self.problems.add(
                        &self.out[i].location,
                        format!("`{}`: {e}", spec.name()),
                        None,
                    ),
                }
                continue;
            }
            let secret = spec.field(&name).is_some_and(|f| f.secret);
            match convert::check(&name, ty, value, secret) {
                Ok(json) => {
                    let untouched = d.defaulted(&name)
                        && spec.field(&name).and_then(|f| f.default_value()).as_ref()
                            == Some(&json);
                    if untouched {
                        continue;
                    }
                    let json = by_name(json, &self.index, &self.out);
                    self.out[i].fields.insert(name, json);
                }
                Err(message) => self.problems.add(
                    &self.out[i].location,
                    format!("`{}`: {message}", spec.name()),
                    None,
                ),
            }
        }
    }

    /// A `main.py` decorator's assertion gets the function below it.
    fn bind_decorated_function(&mut self, i: usize, d: &Decl<'v>, modules: &Modules<'_, 'v>) {
        let spec = &d.info.spec;
        if let Some(function) = d
            .edge(crate::load::value::DECORATES)
            .and_then(|v| v.unpack_str())
            && let Some(field) = spec.schema.fields.iter().find(|f| {
                spec.field_types.get(&f.name) == Some(&clockwork_schema::ValueType::Function)
            })
            && !self.out[i].fields.contains_key(&field.name)
        {
            match modules.program_of_def(&d.info.location.file.display().to_string(), function) {
                Ok(program) => {
                    self.out[i].fields.insert(field.name.clone(), program);
                }
                Err(e) => self.problems.add(
                    &self.out[i].location,
                    format!("`{}`: {e}", spec.name()),
                    None,
                ),
            }
        }
    }

    /// Every required field of declaration `i` is set.
    fn check_required(&mut self, i: usize, spec: &TypeSpec) {
        for field in spec.schema.fields.iter().filter(|f| f.required) {
            let present = self.out[i].fields.contains_key(&field.name)
                || (spec.kind == PluginKind::Connection
                    && field.name == "to_resource"
                    && self.out[i].to.is_some());
            if !present {
                self.problems.add(
                    &self.out[i].location,
                    format!(
                        "`{}` needs `{}`: {}",
                        spec.name(),
                        field.name,
                        field.summary().trim_end_matches('.').to_lowercase()
                    ),
                    Some(format!("add `{}=...` to the call", field.name)),
                );
            }
        }
    }

    /// Every connection goes from a resource to a resource.
    fn check_connections(&mut self) {
        let out = &self.out;
        for c in out.iter().filter(|d| d.kind == PluginKind::Connection) {
            if c.to.is_none() && c.implicit {
                continue;
            }
            match c.to {
                None => self.problems.add(
                    &c.location,
                    format!(
                        "this {} has no `to_resource`: the resource it connects to",
                        c.type_name
                    ),
                    Some("add `to_resource=...`".into()),
                ),
                Some(to) if out[to.0].kind != PluginKind::Resource => self.problems.add(
                    &c.location,
                    format!("`to_resource` of this {} must be a resource", c.type_name),
                    None,
                ),
                _ => {}
            }
            if c.from.is_none() {
                self.problems.add(
                    &c.location,
                    format!("this {} is not connected from any resource", c.type_name),
                    Some("pass it to a resource's `.connect(...)` or `connections=[...]`".into()),
                );
            }
        }
    }

    /// Names are valid and unique (`naming.rs`).
    fn check_names(&mut self) {
        let problems = &mut self.problems;
        check_names(&self.out, &mut |location, message, help| {
            problems.add(location, message, help)
        });
    }
}

/// What the Starlark side knows of `d`'s name.
fn name_hint(d: &Decl) -> NameHint {
    NameHint {
        explicit: d
            .field("name")
            .and_then(|v| v.unpack_str())
            .map(str::to_string),
        variable: d
            .edge(crate::load::value::VARIABLE)
            .and_then(|v| v.unpack_str())
            .map(str::to_string),
    }
}

/// Whether field `name` of a `kind` holds edges (linked by `link_fields`)
/// rather than a value.
fn is_edge_field(kind: PluginKind, name: &str) -> bool {
    matches!(
        (kind, name),
        (PluginKind::Resource, "connections" | "assertions")
            | (PluginKind::Connection, "to_resource")
    )
}

/// Every declaration made during the evaluation, by id (which is creation
/// order): those in the registries of the module and of every loaded one,
/// and whatever they reach (children, parents, connection ends). The
/// module's variables are walked too, for values made elsewhere.
fn reachable<'v>(module: &Module<'v>, loaded: &[&FrozenModule]) -> BTreeMap<u32, Value<'v>> {
    let mut found = BTreeMap::new();
    let mut seen: HashSet<ValueIdentity> = HashSet::new();
    let mut stack: Vec<Value<'v>> = module
        .names()
        .filter_map(|n| module.get(n.as_str()))
        .collect();
    let registries = module.extra_value().into_iter().chain(
        loaded
            .iter()
            .filter_map(|m| m.extra_value().map(|v| v.to_value())),
    );
    for registry in registries {
        if let Some(dict) = DictRef::from_value(registry) {
            stack.extend(dict.values());
        }
    }
    while let Some(v) = stack.pop() {
        if !seen.insert(v.identity()) {
            continue;
        }
        if let Some(d) = Decl::from_value(v) {
            found.insert(d.info.id, v);
            stack.extend(d.fields().into_iter().map(|(_, f)| f));
            stack.extend(d.children());
            stack.extend([PARENT, FROM].iter().filter_map(|e| d.edge(e)));
        } else if let Some(list) = ListRef::from_value(v) {
            stack.extend(list.iter());
        } else if let Some(tuple) = TupleRef::from_value(v) {
            stack.extend(tuple.iter());
        } else if let Some(dict) = DictRef::from_value(v) {
            stack.extend(dict.iter().flat_map(|(k, v)| [k, v]));
        }
    }
    found
}

fn list_items<'v>(value: Option<Value<'v>>) -> Vec<Value<'v>> {
    let Some(value) = value else {
        return Vec::new();
    };
    ListRef::from_value(value)
        .map(|l| l.iter().collect())
        .or_else(|| TupleRef::from_value(value).map(|t| t.iter().collect()))
        .unwrap_or_default()
}

fn implicit_dependency(index: usize, from: usize, to: usize, location: &Location) -> Declaration {
    Declaration {
        id: DeclId(index),
        kind: PluginKind::Connection,
        type_name: crate::defaults::SHORTHAND_CONNECTION.into(),
        name: ResourceName::default(),
        name_origin: NameOrigin::Derived,
        location: location.clone(),
        fields: Map::new(),
        grants: Default::default(),
        config: Map::new(),
        parent: None,
        children: Vec::new(),
        connections: Vec::new(),
        assertions: Vec::new(),
        from: Some(DeclId(from)),
        to: Some(DeclId(to)),
        implicit: true,
        completed: Default::default(),
        deferred: false,
    }
}

/// Rewrites `{"$ref": <id>, …}` objects into `{"$ref": "<name>"}`.
fn by_name(json: Json, index: &HashMap<u32, usize>, out: &[Declaration]) -> Json {
    match json {
        Json::Array(items) => {
            Json::Array(items.into_iter().map(|j| by_name(j, index, out)).collect())
        }
        Json::Object(o) if o.contains_key("$kind") => {
            let name = o
                .get("$ref")
                .and_then(Json::as_u64)
                .and_then(|id| index.get(&(id as u32)))
                .map(|i| out[*i].name.clone())
                .unwrap_or_default();
            serde_json::json!({"$ref": name})
        }
        Json::Object(o) => Json::Object(
            o.into_iter()
                .map(|(k, v)| (k, by_name(v, index, out)))
                .collect(),
        ),
        other => other,
    }
}

/// Every secret value of the project: what `env()` read, schema fields
/// marked secret, values under secret-looking names, URL passwords.
fn secrets(out: &[Declaration], ctx: &LoadContext) -> Vec<String> {
    // Values of non-secret `env()` variables are registered apart, since
    // short ones are masked only as whole values.
    let mut secrets: BTreeSet<String> = ctx.secrets.borrow().iter().cloned().collect();
    for d in out {
        let spec = ctx.registry.get(&d.type_name);
        for (field, value) in &d.fields {
            let secret_field = spec.and_then(|s| s.field(field)).is_some_and(|f| f.secret);
            crate::secret::scan(
                value,
                secret_field || crate::secret::is_secret_name(field),
                &mut secrets,
            );
        }
    }
    secrets.into_iter().filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn references_are_rewritten_to_the_name_of_what_they_point_to() {
        let web = Declaration::fixture(0, PluginKind::Resource, "DockerResource", "web");
        let index = HashMap::from([(7, 0)]);
        let json = serde_json::json!({
            "image": "nginx",
            "after": [{"$ref": 7, "$kind": "resource"}, {"$ref": 8, "$kind": "resource"}],
            "plain": {"$ref": 7},
        });
        assert_eq!(
            by_name(json, &index, &[web]),
            serde_json::json!({
                "image": "nginx",
                "after": [{"$ref": "web"}, {"$ref": ""}],
                "plain": {"$ref": 7},
            })
        );
    }

    #[test]
    fn only_the_edges_of_a_kind_are_edge_fields() {
        assert!(is_edge_field(PluginKind::Resource, "connections"));
        assert!(is_edge_field(PluginKind::Resource, "assertions"));
        assert!(is_edge_field(PluginKind::Connection, "to_resource"));
        assert!(!is_edge_field(PluginKind::Connection, "connections"));
        assert!(!is_edge_field(PluginKind::Assertion, "to_resource"));
        assert!(!is_edge_field(PluginKind::Resource, "image"));
    }
}
