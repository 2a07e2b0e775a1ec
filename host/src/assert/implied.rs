//! Checks nobody wrote: what the declarations already say, as the host
//! carried it out. Every container the host ensured runs (and is healthy
//! where it has a health check, and has not crashed since), every port it
//! published answers, every file it wrote has its content and mode, every
//! connection's ends reach each other, and every database URL a
//! connection provides accepts its credentials.
//!
//! They come from the host's own records (the containers in the state, the
//! files it wrote, the connections it resolved), so a third-party resource
//! type gets them as a bundled one does. The assertion types they use are
//! in [`crate::defaults::implied`].

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::defaults::implied;
use crate::model::{ResourceName, TypeName};
use crate::resolve::Graph;
use crate::state::State;

/// One implied check, before its plugin validates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Implied {
    /// The declaration it checks.
    pub target: ResourceName,
    /// The assertion type.
    pub type_name: TypeName,
    /// Its config.
    pub config: Json,
    /// Why it is implied, e.g. `publishes port 8080`.
    pub reason: String,
}

/// The implied checks of the declared resources, from what `state`
/// recorded of them.
pub fn implied(graph: &Graph, state: &State) -> Vec<Implied> {
    let project = &graph.project;
    let declared = |name: &str| {
        project
            .declarations
            .iter()
            .any(|d| d.kind == crate::model::PluginKind::Resource && d.name == *name)
    };
    let mut out = Vec::new();
    let mut push = |target: &ResourceName, type_name: &str, config: Json, reason: String| {
        out.push(Implied {
            target: target.clone(),
            type_name: type_name.into(),
            config,
            reason,
        });
    };
    for (name, recorded) in &state.resources {
        if !declared(name) {
            continue;
        }
        for c in &recorded.containers {
            if c.must_run {
                push(
                    name,
                    implied::RUNNING,
                    json!({"container_name": c.name, "max_restarts": c.restart_count}),
                    format!("`{}` must keep running", c.name),
                );
                if c.healthcheck {
                    push(
                        name,
                        implied::HEALTHY,
                        json!({"container_name": c.name}),
                        format!("`{}` has a health check", c.name),
                    );
                }
            }
            for (host_port, _) in &c.ports {
                if let Some(port) = host_port {
                    push(
                        name,
                        implied::PORT,
                        json!({"port": port}),
                        format!("`{}` publishes port {port}", c.name),
                    );
                }
            }
        }
    }
    for (path, file) in &state.files {
        if !declared(&file.resource) {
            continue;
        }
        push(
            &file.resource,
            implied::CONTENT,
            json!({"path": path, "sha256": file.sha256}),
            format!("Clockwork wrote `{path}`"),
        );
        if let Some(mode) = &file.mode {
            push(
                &file.resource,
                implied::MODE,
                json!({"path": path, "expected_perms": mode}),
                format!("Clockwork wrote `{path}` with mode {mode}"),
            );
        }
    }
    let containers = |name: &ResourceName| {
        state
            .resources
            .get(name.as_str())
            .map(|r| r.containers.as_slice())
            .unwrap_or_default()
    };
    for c in &graph.connections {
        let from = &project.get(c.from).name;
        let to = &project.get(c.to).name;
        let (Some(source), Some(target)) = (
            containers(from).iter().find(|c| c.must_run),
            containers(to).iter().find(|c| c.must_run),
        ) else {
            continue;
        };
        let connection = &project.get(c.decl).name;
        if let Some((_, port)) = target.ports.first() {
            push(
                from,
                implied::REACH,
                json!({
                    "from_service": {"$ref": source.name},
                    "to_service": {"$ref": target.name},
                    "port": port,
                }),
                format!("`{connection}` connects `{from}` to `{to}`"),
            );
        }
        for (key, value) in &c.outputs {
            if let Some(config) = login_of(value, &target.name) {
                push(
                    to,
                    implied::LOGIN,
                    config,
                    format!("`{connection}` provides {key}"),
                );
            }
        }
    }
    out
}

/// A `DatabaseConnectionAssert` config for a database URL, tried inside
/// `container` (where the database listens on its own port).
fn login_of(value: &str, container: &str) -> Option<Json> {
    let url = url::Url::parse(value).ok()?;
    let engine = implied::DATABASE_SCHEMES
        .iter()
        .find(|(scheme, _)| *scheme == url.scheme())
        .map(|(_, engine)| *engine)?;
    let mut config = json!({"container_name": container, "engine": engine, "host": "localhost"});
    if let Some(port) = url.port() {
        config["port"] = json!(port);
    }
    let decode = crate::secret::percent_decode;
    if !url.username().is_empty() {
        config["username"] = json!(decode(url.username()));
    }
    if let Some(password) = url.password() {
        config["password"] = json!(decode(password));
    }
    let database = url.path().trim_start_matches('/');
    if !database.is_empty() {
        config["database"] = json!(decode(database));
    }
    Some(config)
}

/// Names for implied checks: `<target>-implied-<type>`, numbered from the
/// second of a kind.
pub fn names(checks: &[Implied]) -> Vec<ResourceName> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    checks
        .iter()
        .map(|c| {
            let short =
                crate::defaults::short_type_name(crate::model::PluginKind::Assertion, &c.type_name);
            let base = format!("{}-implied-{short}", c.target);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 { base } else { format!("{base}-{n}") }.into()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_becomes_a_login_tried_inside_the_database() {
        let config = login_of("postgresql://app:p%40ss@db:5432/shop", "db").unwrap();
        assert_eq!(
            config,
            json!({
                "container_name": "db", "engine": "postgresql", "host": "localhost",
                "port": 5432, "username": "app", "password": "p@ss", "database": "shop",
            })
        );
        assert_eq!(
            login_of("redis://cache:6379", "cache").unwrap()["engine"],
            "redis"
        );
        assert!(login_of("http://api:8000/", "api").is_none());
        assert!(login_of("not a url", "x").is_none());
    }

    #[test]
    fn implied_names_are_numbered_per_target_and_type() {
        let check = |target: &str, type_name: &str| Implied {
            target: target.into(),
            type_name: type_name.into(),
            config: json!({}),
            reason: String::new(),
        };
        let names = names(&[
            check("web", "PortAccessibleAssert"),
            check("web", "PortAccessibleAssert"),
            check("db", "PortAccessibleAssert"),
        ]);
        assert_eq!(
            names,
            [
                ResourceName::from("web-implied-port-accessible"),
                "web-implied-port-accessible-2".into(),
                "db-implied-port-accessible".into(),
            ]
        );
    }
}
