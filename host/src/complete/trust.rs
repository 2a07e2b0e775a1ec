//! What a completed value may not do, wherever it came from: a plugin's
//! rules, a model, or `clockwork.lock` (a file from a repository). None of
//! them is the user, so none may add a privilege the policy grants only to
//! the user's own words, nor reach for what the project does not declare:
//!
//! - a port on this machine (`port` values): never completed;
//! - a bind mount of a path on this machine (a `mount` whose source is a
//!   path): never completed, inside the project or not;
//! - a named volume, or a network, that nothing in the project declares
//!   (neither a declaration's own fields nor a connection).
//!
//! The policy refuses the first two again at `plan` and before acting, by
//! provenance ([`crate::model::Grants`]); refusing them here names the
//! field and where the value came from.

use std::collections::BTreeSet;
use std::fmt;

use clockwork_schema::actions::MountSpec;
use clockwork_schema::{ContributionKind, FieldSchema, ValueType};
use serde_json::Value as Json;

/// Where a completed value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A plugin's `complete-rules`.
    Rules(String),
    /// `clockwork.lock`.
    Lock,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Rules(plugin) => write!(f, "the completion rules of `{plugin}`"),
            Origin::Lock => f.write_str(crate::complete::lock::LOCK_FILE),
        }
    }
}

/// The networks and named volumes the project declares: written in a
/// declaration's own fields, or made by a connection.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    networks: BTreeSet<String>,
    volumes: BTreeSet<String>,
}

impl Declared {
    /// What `project`'s user-written fields declare, and what the resolved
    /// `graph`'s connections make (once resolved).
    pub fn of(
        project: &crate::model::Declared,
        plugins: &dyn super::CompletionPlugins,
        graph: Option<&crate::resolve::Graph>,
    ) -> Declared {
        let mut declared = Declared::default();
        for d in &project.declarations {
            let Some(schema) = plugins.schema(&d.type_name) else {
                continue;
            };
            for (name, value) in &d.fields {
                let Some(field) = schema.field(name) else {
                    continue;
                };
                let Some(ty) = field.parsed_type() else {
                    continue;
                };
                declared.collect(field, &ty, value);
            }
        }
        if let Some(graph) = graph {
            declared.networks.extend(graph.networks().into_keys());
            declared.volumes.extend(graph.volumes().into_keys());
        }
        declared
    }

    /// A project that declares these networks and volumes.
    #[cfg(test)]
    pub(crate) fn for_tests<'a>(
        networks: impl IntoIterator<Item = &'a str>,
        volumes: impl IntoIterator<Item = &'a str>,
    ) -> Declared {
        Declared {
            networks: networks.into_iter().map(str::to_string).collect(),
            volumes: volumes.into_iter().map(str::to_string).collect(),
        }
    }

    fn collect(&mut self, field: &FieldSchema, ty: &ValueType, value: &Json) {
        match (ty, value) {
            (ValueType::List(inner) | ValueType::Map(inner), Json::Array(items)) => {
                items.iter().for_each(|i| self.collect(field, inner, i));
            }
            (ValueType::Map(inner), Json::Object(entries)) => {
                entries.values().for_each(|i| self.collect(field, inner, i));
            }
            (ValueType::Mount, value) => {
                if let Some(mount) = mount_of(value).filter(|m| !m.is_bind()) {
                    self.volumes.insert(mount.source);
                }
            }
            (ValueType::String, Json::String(name))
                if field.receives == Some(ContributionKind::Networks) =>
            {
                self.networks.insert(name.clone());
            }
            _ => {}
        }
    }
}

fn mount_of(value: &Json) -> Option<MountSpec> {
    match ValueType::Mount.normalize(value) {
        Json::Object(o) => serde_json::from_value(Json::Object(o)).ok(),
        _ => None,
    }
}

/// Why `value`, completed for `field` by anyone but the user, cannot be
/// used, if it cannot.
pub fn refusal(field: &FieldSchema, value: &Json, declared: &Declared) -> Option<String> {
    let Some(ty) = field.parsed_type() else {
        return Some(format!(
            "the field's type `{}` is unknown",
            field.value_type
        ));
    };
    // Only a value of the field's own shape is judged; any other is refused
    // here rather than trusted to be refused later.
    if let Err(mismatch) = ty.check(&ty.normalize(value)) {
        return Some(format!("it is not {} ({mismatch})", ty.describe()));
    }
    refusal_in(field, &ty, &ty.normalize(value), declared)
}

fn refusal_in(
    field: &FieldSchema,
    ty: &ValueType,
    value: &Json,
    declared: &Declared,
) -> Option<String> {
    match (ty, value) {
        (ValueType::List(inner), Json::Array(items)) => items
            .iter()
            .find_map(|i| refusal_in(field, inner, i, declared)),
        (ValueType::Map(inner), Json::Object(entries)) => entries
            .values()
            .find_map(|i| refusal_in(field, inner, i, declared)),
        (ValueType::Port, port) => Some(format!(
            "it publishes `{}` on this machine; a port is published only when you write it in `{}`",
            port.as_str()
                .map_or_else(|| port.to_string(), str::to_string)
                .escape_debug(),
            field.name
        )),
        (ValueType::Mount, value) => {
            let Some(mount) = mount_of(value) else {
                return Some(format!(
                    "`{}` is not a mount",
                    value.to_string().escape_debug()
                ));
            };
            if mount.is_bind() {
                Some(format!(
                    "it mounts `{}` of this machine into the container; a bind mount is made only when you write it in `{}`",
                    mount.source.escape_debug(),
                    field.name
                ))
            } else if !declared.volumes.contains(&mount.source) {
                Some(format!(
                    "it mounts the volume `{}`, which nothing in the project declares; write it in a resource's `{}` yourself",
                    mount.source.escape_debug(),
                    field.name
                ))
            } else {
                None
            }
        }
        (ValueType::String, Json::String(network))
            if field.receives == Some(ContributionKind::Networks)
                && !declared.networks.contains(network) =>
        {
            Some(format!(
                "it joins the network `{}`, which nothing in the project declares; write it in `{}` yourself, or connect the resources with a `NetworkConnection`",
                network.escape_debug(),
                field.name
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, ty: &str, receives: Option<ContributionKind>) -> FieldSchema {
        FieldSchema {
            completable: true,
            receives,
            ..FieldSchema::new(name, ty)
        }
    }

    #[test]
    fn no_completion_publishes_a_port_or_binds_a_path() {
        let declared = Declared::default();
        let ports = field("ports", "list<port>", None);
        let problem = refusal(&ports, &json!(["0.0.0.0:18777:80"]), &declared);
        assert!(
            problem
                .as_deref()
                .is_some_and(|p| p.contains("`0.0.0.0:18777:80`")),
            "{problem:?}"
        );
        assert!(refusal(&ports, &json!([]), &declared).is_none());
        let volumes = field("volumes", "list<mount>", Some(ContributionKind::Mounts));
        for bind in ["/etc:/host-etc", "/var/run/docker.sock:/s", "./data:/data"] {
            assert!(
                refusal(&volumes, &json!([bind]), &declared).is_some(),
                "{bind}"
            );
        }
    }

    #[test]
    fn volumes_and_networks_must_be_declared_somewhere() {
        let mut declared = Declared::default();
        declared.volumes.insert("pgdata".into());
        declared.networks.insert("backend".into());
        let volumes = field("volumes", "list<mount>", Some(ContributionKind::Mounts));
        assert!(refusal(&volumes, &json!(["pgdata:/var/lib/data"]), &declared).is_none());
        assert!(refusal(&volumes, &json!(["invented:/x"]), &declared).is_some());
        let networks = field("networks", "list<string>", Some(ContributionKind::Networks));
        assert!(refusal(&networks, &json!(["backend"]), &declared).is_none());
        assert!(refusal(&networks, &json!(["app_network"]), &declared).is_some());
        // A list of strings that receives no networks is not about them.
        let aliases = field("aliases", "list<string>", Some(ContributionKind::Aliases));
        assert!(refusal(&aliases, &json!(["app_network"]), &declared).is_none());
    }
}
