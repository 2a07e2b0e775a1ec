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
    let decls = reachable(module, &loaded);
    let mut problems = Vec::new();
    let source_of = |l: &Location| sources.get(&l.file.display().to_string()).cloned();
    let mut problem = |location: &Location, message: String, help: Option<String>| {
        problems.push(Located {
            message,
            source: source_of(location),
            location: location.clone(),
            help,
            called_from: Vec::new(),
        });
    };

    // Ids in creation order; index = DeclId.
    let order: Vec<u32> = decls.keys().copied().collect();
    let index: HashMap<u32, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let value_of = |i: usize| decls[&order[i]];
    let decl_of =
        |i: usize| Decl::from_value(value_of(i)).expect("reachable() keeps declarations only");
    let id_of = |v: Value<'v>| Decl::from_value(v).and_then(|d| index.get(&d.info.id).copied());

    let mut out: Vec<Declaration> = (0..order.len())
        .map(|i| {
            let d = decl_of(i);
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
                parent: d.edge(PARENT).and_then(id_of).map(DeclId),
                children: d
                    .children()
                    .into_iter()
                    .filter_map(id_of)
                    .map(DeclId)
                    .collect(),
                connections: Vec::new(),
                assertions: Vec::new(),
                from: d.edge(FROM).and_then(id_of).map(DeclId),
                to: None,
                implicit: d.edge("implicit").is_some(),
                completed: Default::default(),
                deferred: false,
            }
        })
        .collect();

    let hints: Vec<NameHint> = (0..out.len())
        .map(|i| {
            let d = decl_of(i);
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
        })
        .collect();

    // Edges held in fields: connections and assertions of resources, the
    // target of connections.
    let mut assertion_owner: HashMap<usize, usize> = HashMap::new();
    for i in 0..out.len() {
        let d = decl_of(i);
        match d.kind() {
            PluginKind::Resource => {
                for c in list_items(d.field("connections")) {
                    match id_of(c) {
                        Some(ci) if out[ci].kind == PluginKind::Connection => {
                            match out[ci].from {
                                Some(from) if from.0 != i => problem(
                                    &out[ci].location,
                                    format!(
                                        "this {} is connected from two resources",
                                        out[ci].type_name
                                    ),
                                    Some(
                                        "a connection has one origin; declare one per resource"
                                            .into(),
                                    ),
                                ),
                                _ => out[ci].from = Some(DeclId(i)),
                            }
                            out[i].connections.push(DeclId(ci));
                        }
                        // A bare resource appended to `connections` after
                        // construction: the dependency is made here.
                        Some(ri) if out[ri].kind == PluginKind::Resource => {
                            let implicit = implicit_dependency(out.len(), i, ri, &out[i].location);
                            out[i].connections.push(implicit.id);
                            out.push(implicit);
                        }
                        _ => problem(
                            &out[i].location,
                            format!(
                                "`connections` holds something that is not a resource or connection: {}",
                                c.to_repr()
                            ),
                            None,
                        ),
                    }
                }
                for a in list_items(d.field("assertions")) {
                    if let Some(ai) = id_of(a) {
                        if let Some(previous) = assertion_owner.insert(ai, i)
                            && previous != i
                        {
                            problem(
                                &out[ai].location,
                                format!(
                                    "this {} is attached to two declarations",
                                    out[ai].type_name
                                ),
                                Some("create one assertion per declaration".into()),
                            );
                        }
                        out[i].assertions.push(DeclId(ai));
                    }
                }
            }
            PluginKind::Connection => {
                out[i].to = d.field("to_resource").and_then(id_of).map(DeclId);
            }
            PluginKind::Assertion => {}
        }
    }

    // An assertion declared on its own, naming the resource it checks
    // (`PythonAssert(f, resource = web)`, `CrossResourceAssert(source =
    // api, ...)`), belongs to that resource like one in its `assertions`.
    for i in 0..order.len() {
        if out[i].kind != PluginKind::Assertion {
            continue;
        }
        let d = decl_of(i);
        let about = ["resource", "source"]
            .iter()
            .filter(|f| d.info.spec.field(f).is_some())
            .find_map(|f| d.field(f).map(|v| (*f, v)))
            .and_then(|(f, v)| id_of(v).map(|ri| (f, ri)));
        let Some((field, ri)) = about.filter(|(_, ri)| out[*ri].kind == PluginKind::Resource)
        else {
            continue;
        };
        match assertion_owner.get(&i).copied() {
            None => {
                assertion_owner.insert(i, ri);
                out[ri].assertions.push(DeclId(i));
            }
            Some(owner) if owner != ri => problem(
                &out[i].location,
                format!(
                    "this {} is in the assertions of one resource but its `{field}` names another",
                    out[i].type_name
                ),
                Some(format!(
                    "leave `{field}` out when the assertion is in `assertions=[...]`, or declare it on its own"
                )),
            ),
            Some(_) => {}
        }
    }

    let mut hints = hints;
    hints.resize(out.len(), NameHint::default());
    for i in name_everything(&mut out, &hints) {
        problem(
            &out[i].location,
            format!(
                "this {} has no name: it is not bound to a variable, has no `name=` and is not a child of a composite",
                out[i].type_name
            ),
            Some(
                "give it a name (`name = \"worker-%d\" % i` in a loop), or bind it to a variable at the top level of the file"
                    .into(),
            ),
        );
    }

    // Functions become programs (`function.rs`), which name declarations.
    let modules = crate::load::function::Modules {
        main: file.display().to_string(),
        main_module: module,
        loaded: loaded_by_name,
        texts,
        names: order
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, out[i].name.to_string()))
            .collect(),
        host_only: ctx
            .registry
            .iter()
            .map(|t| t.name().to_string())
            .chain(std::iter::once("env".to_string()))
            .collect(),
        built: Default::default(),
        words: Default::default(),
    };

    // Fields as JSON, references by name; types checked again, since
    // values may have changed after construction.
    for i in 0..order.len() {
        let d = decl_of(i);
        let spec = &d.info.spec;
        for (name, value) in d.fields() {
            let structural = matches!(
                (spec.kind, name.as_str()),
                (PluginKind::Resource, "connections" | "assertions")
                    | (PluginKind::Connection, "to_resource")
            );
            if structural {
                continue;
            }
            let Some(ty) = spec.field_types.get(&name) else {
                continue;
            };
            if *ty == clockwork_schema::ValueType::Function {
                match modules.program(value, &name, &d.info.location) {
                    Ok(program) => {
                        out[i].fields.insert(name, program);
                    }
                    Err(e) => problem(&out[i].location, format!("`{}`: {e}", spec.name()), None),
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
                    let json = by_name(json, &index, &out);
                    out[i].fields.insert(name, json);
                }
                Err(message) => problem(
                    &out[i].location,
                    format!("`{}`: {message}", spec.name()),
                    None,
                ),
            }
        }
        // Only what the user wrote, read by its type, may grant a privilege.
        out[i].grants = crate::model::Grants::of_user_fields(&out[i].fields, |name| {
            spec.field_types.get(name).cloned()
        });
        // A `main.py` decorator's assertion gets the function below it.
        if let Some(function) = d
            .edge(crate::load::value::DECORATES)
            .and_then(|v| v.unpack_str())
            && let Some(field) = spec.schema.fields.iter().find(|f| {
                spec.field_types.get(&f.name) == Some(&clockwork_schema::ValueType::Function)
            })
            && !out[i].fields.contains_key(&field.name)
        {
            match modules.program_of_def(&d.info.location.file.display().to_string(), function) {
                Ok(program) => {
                    out[i].fields.insert(field.name.clone(), program);
                }
                Err(e) => problem(&out[i].location, format!("`{}`: {e}", spec.name()), None),
            }
        }
        for field in spec.schema.fields.iter().filter(|f| f.required) {
            let present = out[i].fields.contains_key(&field.name)
                || (spec.kind == PluginKind::Connection
                    && field.name == "to_resource"
                    && out[i].to.is_some());
            if !present {
                problem(
                    &out[i].location,
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

    for c in out.iter().filter(|d| d.kind == PluginKind::Connection) {
        if c.to.is_none() && c.implicit {
            continue;
        }
        match c.to {
            None => problem(
                &c.location,
                format!(
                    "this {} has no `to_resource`: the resource it connects to",
                    c.type_name
                ),
                Some("add `to_resource=...`".into()),
            ),
            Some(to) if out[to.0].kind != PluginKind::Resource => problem(
                &c.location,
                format!("`to_resource` of this {} must be a resource", c.type_name),
                None,
            ),
            _ => {}
        }
        if c.from.is_none() {
            problem(
                &c.location,
                format!("this {} is not connected from any resource", c.type_name),
                Some("pass it to a resource's `.connect(...)` or `connections=[...]`".into()),
            );
        }
    }

    check_names(&out, &mut problem);

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
        problems,
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

/// What the Starlark side knows of a resource's name.
#[derive(Default, Clone)]
struct NameHint {
    explicit: Option<String>,
    variable: Option<String>,
}

/// Names: what the user wrote, else the variable, else derived from the
/// parent or the endpoints. Never from an AI; deterministic for the file.
/// Returns the resources that have none of these (they get a placeholder
/// so that other messages can still refer to them).
fn name_everything(out: &mut [Declaration], hints: &[NameHint]) -> Vec<usize> {
    let mut unnamed = Vec::new();
    for (d, hint) in out.iter_mut().zip(hints) {
        if let Some(name) = &hint.explicit {
            d.name = name.as_str().into();
            d.name_origin = NameOrigin::Explicit;
        } else if let Some(variable) = &hint.variable
            && d.kind == PluginKind::Resource
        {
            d.name = variable.replace('_', "-").into();
            d.name_origin = NameOrigin::Variable(variable.clone());
        }
    }
    // Unnamed resources: after their parent (named first), or by type.
    let mut per_type: HashMap<crate::model::TypeName, usize> = HashMap::new();
    loop {
        let mut progress = false;
        for i in 0..out.len() {
            if out[i].kind != PluginKind::Resource || !out[i].name.is_empty() {
                continue;
            }
            let name = match out[i].parent {
                Some(p) if out[p.0].name.is_empty() => continue,
                Some(p) => {
                    let position = out[p.0]
                        .children
                        .iter()
                        .position(|c| c.0 == i)
                        .map(|x| x + 1)
                        .unwrap_or(0);
                    format!("{}-{position}", out[p.0].name)
                }
                None => {
                    unnamed.push(i);
                    let n = per_type.entry(out[i].type_name.clone()).or_insert(0);
                    *n += 1;
                    format!("{}-{n}", crate::model::kebab(&out[i].type_name))
                }
            };
            out[i].name = name.into();
            progress = true;
        }
        if !progress {
            break;
        }
    }
    // Connections and assertions, from what they join.
    let mut taken: HashMap<String, usize> = HashMap::new();
    for i in 0..out.len() {
        let base = match out[i].kind {
            PluginKind::Resource => continue,
            PluginKind::Connection => {
                let from = out[i]
                    .from
                    .map(|f| out[f.0].name.clone())
                    .unwrap_or_else(|| "unconnected".into());
                let to = out[i]
                    .to
                    .map(|t| out[t.0].name.clone())
                    .unwrap_or_else(|| "nothing".into());
                let short = crate::defaults::short_type_name(out[i].kind, &out[i].type_name);
                if out[i].type_name == crate::defaults::SHORTHAND_CONNECTION {
                    format!("{from}-to-{to}")
                } else {
                    format!("{from}-{short}-{to}")
                }
            }
            PluginKind::Assertion => {
                let owner = out
                    .iter()
                    .find(|r| r.assertions.iter().any(|a| a.0 == i))
                    .map(|r| r.name.clone());
                let short = crate::defaults::short_type_name(out[i].kind, &out[i].type_name);
                match owner {
                    Some(owner) => format!("{owner}-{short}"),
                    None => short,
                }
            }
        };
        if out[i].name.is_empty() {
            let n = taken.entry(base.clone()).or_insert(0);
            *n += 1;
            out[i].name = if *n == 1 { base } else { format!("{base}-{n}") }.into();
        }
    }
    unnamed
}

fn check_names(out: &[Declaration], problem: &mut dyn FnMut(&Location, String, Option<String>)) {
    let mut by_name: HashMap<(String, PluginKind), &Declaration> = HashMap::new();
    for d in out {
        if d.kind == PluginKind::Resource && !valid_name(&d.name) {
            problem(
                &d.location,
                format!(
                    "`{}` is not a valid name: use letters, digits, `-`, `_` and `.`, starting with a letter or digit",
                    d.name
                ),
                None,
            );
        } else if d.kind == PluginKind::Resource && d.name.len() > MAX_NAME {
            problem(
                &d.location,
                format!(
                    "the name `{}…` is {} characters long; names are at most {MAX_NAME}, since they are host names on the project's networks",
                    d.name.chars().take(20).collect::<String>(),
                    d.name.len()
                ),
                Some("give it a shorter `name=`".into()),
            );
        }
        // Resources are host names on a network, where case does not count:
        // `Web` and `web` would answer for each other.
        let key = if d.kind == PluginKind::Resource {
            d.name.to_ascii_lowercase()
        } else {
            d.name.to_string()
        };
        if let Some(first) = by_name.insert((key, d.kind), d) {
            let what = if first.name == d.name {
                format!("two {}s are named `{}`", d.kind, d.name)
            } else {
                format!(
                    "`{}` and `{}` differ only in case, which host names ignore",
                    d.name, first.name
                )
            };
            problem(
                &d.location,
                format!("{what}: this one and the one at {}", first.location),
                Some("names are unique in a project; rename one with `name=...`".into()),
            );
        }
    }
}

/// The longest resource name: a DNS label.
const MAX_NAME: usize = 63;

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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

    fn decl(i: usize, kind: PluginKind, type_name: &str) -> Declaration {
        Declaration::fixture(i, kind, type_name, "")
    }

    fn hint(explicit: Option<&str>, variable: Option<&str>) -> NameHint {
        NameHint {
            explicit: explicit.map(str::to_string),
            variable: variable.map(str::to_string),
        }
    }

    #[test]
    fn names_come_from_the_user_the_variable_the_parent_or_the_ends() {
        use PluginKind::{Assertion, Connection, Resource};
        let mut out = vec![
            decl(0, Resource, "DockerResource"),
            decl(1, Resource, "BlankResource"),
            decl(2, Resource, "DockerResource"),
            decl(3, Connection, "DatabaseConnection"),
            decl(4, Connection, "DependencyConnection"),
            decl(5, Assertion, "HealthcheckAssert"),
            decl(6, Resource, "FileResource"),
        ];
        out[2].parent = Some(DeclId(1));
        out[1].children = vec![DeclId(2)];
        for c in [3, 4] {
            out[c].from = Some(DeclId(0));
            out[c].to = Some(DeclId(2));
        }
        out[0].assertions = vec![DeclId(5)];
        let hints = vec![
            hint(None, Some("api_server")),
            hint(Some("shop"), Some("app")),
            hint(None, None),
            hint(None, None),
            hint(None, None),
            hint(None, None),
            hint(None, None),
        ];
        let unnamed = name_everything(&mut out, &hints);
        let names: Vec<&str> = out.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "api-server",
                "shop",
                "shop-1",
                "api-server-database-shop-1",
                "api-server-to-shop-1",
                "api-server-healthcheck",
                "file-resource-1"
            ]
        );
        assert_eq!(
            out[0].name_origin,
            NameOrigin::Variable("api_server".into())
        );
        assert_eq!(out[1].name_origin, NameOrigin::Explicit);
        assert_eq!(unnamed, [6], "a resource of no variable, name or parent");
    }

    #[test]
    fn names_differing_in_case_or_too_long_are_problems() {
        let mut a = decl(0, PluginKind::Resource, "DockerResource");
        a.name = "Web".into();
        let mut b = decl(1, PluginKind::Resource, "DockerResource");
        b.name = "web".into();
        let mut c = decl(2, PluginKind::Resource, "DockerResource");
        c.name = "x".repeat(64).into();
        let mut found = Vec::new();
        check_names(&[a, b, c], &mut |l, m, _| found.push(format!("{l}: {m}")));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("main.star:2:1: `web` and `Web` differ only in case"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("main.star:3:1: the name `xxxx"),
            "{found:?}"
        );
    }
}
