//! A resource's resolved fields: the user's, the defaults, and what
//! connections add, each with where it came from. What the user wrote
//! always wins.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use clockwork_schema::{ContributionKind, TypeSchema};
use serde_json::json;

use crate::model::Declaration;
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    EndpointPatch, MountSource,
};

/// Why a connection's patch cannot go into a resource: said as a problem
/// at the connection's declaration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum MergeError {
    /// The resource's type has no field that receives what the connection
    /// gives.
    #[error(
        "{connection} gives {} ({what}), but a {type_name} takes none: no field of it receives {kind}",
        kind.describe()
    )]
    #[diagnostic(code("clockwork::resolve::not_received"))]
    NotReceived {
        /// The connection, e.g. `DatabaseConnection a`.
        connection: String,
        /// What it gives: the names, targets or variables.
        what: String,
        /// The resource's type.
        type_name: String,
        /// The kind of contribution.
        kind: ContributionKind,
    },
    /// Two connections set one variable to different values.
    #[error(
        "`{key}` is set differently by {other} and {connection}; set it yourself in `{field}` to choose"
    )]
    #[diagnostic(code("clockwork::resolve::conflict"))]
    SetDifferently {
        /// The variable.
        key: String,
        /// The connection that set it first.
        other: String,
        /// The connection that sets it now.
        connection: String,
        /// The field that receives it.
        field: String,
    },
    /// The field receiving a map holds something else.
    #[error("`{field}` is not a dict")]
    #[diagnostic(code("clockwork::resolve::field_type"))]
    NotADict {
        /// The field.
        field: String,
    },
    /// The field receiving a list holds something else.
    #[error("`{field}` is not a list")]
    #[diagnostic(code("clockwork::resolve::field_type"))]
    NotAList {
        /// The field.
        field: String,
    },
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "by", rename_all = "lowercase")]
pub enum Provenance {
    /// Written in the project file.
    User,
    /// The type's default.
    Default,
    /// Added by a connection (named).
    Connection(String),
    /// Filled by completion (rules or AI).
    Completion(String),
}

/// A resource's resolved fields.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spec {
    /// Field → value.
    pub fields: Map<String, Json>,
    /// `field`, `field.KEY` (an entry a connection added to a map field),
    /// `field[]=ITEM` (an item added to a list field) → source.
    pub provenance: BTreeMap<String, Provenance>,
}

impl Spec {
    /// What the user wrote of a declaration (as its plugin normalised it).
    pub fn from_declaration(d: &Declaration) -> Self {
        let provenance = d
            .config
            .keys()
            .map(|key| (key.clone(), Provenance::User))
            .collect();
        Spec {
            fields: d.config.clone(),
            provenance,
        }
    }

    /// Fills every field still missing that has a default: last, after
    /// the user, the connections and completion.
    pub fn fill_defaults(&mut self, schema: &clockwork_schema::TypeSchema) {
        for field in &schema.fields {
            // The reconciliation fields are the host's, not the plugin's.
            if self.fields.contains_key(&field.name) || crate::reconcile::is_host_field(&field.name)
            {
                continue;
            }
            if let Some(default) = field.default_value() {
                self.fields.insert(field.name.clone(), default);
                self.provenance
                    .insert(field.name.clone(), Provenance::Default);
            }
        }
    }

    /// Where `key` came from; nested keys inherit from their field.
    pub fn source_of(&self, key: &str) -> &Provenance {
        self.provenance
            .get(key)
            .or_else(|| {
                key.split('.')
                    .next()
                    .and_then(|field| self.provenance.get(field))
            })
            .unwrap_or(&Provenance::User)
    }

    /// Where one item of a list field came from, when a connection added it.
    pub fn item_source(&self, field: &str, item: &Json) -> Option<&Provenance> {
        self.provenance.get(&item_key(field, item))
    }

    /// Puts a completed value into a field the user left out. Where
    /// connections already put entries in it, the completion only adds:
    /// the keys of a map and the items of a list they did not set.
    pub fn complete(&mut self, field: &str, value: Json, source: &str) {
        let by = || Provenance::Completion(source.to_string());
        match (self.fields.get_mut(field), value) {
            (None, value) => {
                self.fields.insert(field.to_string(), value);
                self.provenance.insert(field.to_string(), by());
            }
            (Some(Json::Object(have)), Json::Object(new)) => {
                for (key, v) in new {
                    if !have.contains_key(&key) {
                        have.insert(key.clone(), v);
                        self.provenance.insert(format!("{field}.{key}"), by());
                    }
                }
            }
            (Some(Json::Array(have)), Json::Array(new)) => {
                for item in new {
                    if !have.contains(&item) {
                        self.provenance.insert(item_key(field, &item), by());
                        have.push(item);
                    }
                }
            }
            // A connection's value stands.
            _ => {}
        }
    }

    /// Adds a connection's typed patch to the fields of this resource's
    /// type that receive each kind (its schema says which). Values the user
    /// set are kept; the same variable set differently by two connections
    /// is an error; a kind the type receives in no field is refused.
    pub fn apply(
        &mut self,
        patch: &EndpointPatch,
        source: &str,
        schema: Option<&TypeSchema>,
    ) -> Result<(), MergeError> {
        let from = Provenance::Connection(source.to_string());
        let type_name = schema.map(|s| s.name.as_str()).unwrap_or("resource");
        let receiving = |kind: ContributionKind, what: String| {
            schema
                .and_then(|s| s.receiving(kind))
                .map(|f| f.name.clone())
                .ok_or_else(|| MergeError::NotReceived {
                    connection: source.to_string(),
                    what,
                    type_name: type_name.to_string(),
                    kind,
                })
        };
        if !patch.env.is_empty() {
            let names: Vec<&str> = patch.env.iter().map(|(k, _)| k.as_str()).collect();
            let field = receiving(ContributionKind::Environment, names.join(", "))?;
            let env = self.container(&field, || Json::Object(Map::new()));
            let Json::Object(env) = env else {
                return Err(MergeError::NotADict { field });
            };
            let mut added = Vec::new();
            let mut differing = Vec::new();
            for (key, value) in &patch.env {
                match env.get(key) {
                    None => {
                        env.insert(key.clone(), Json::String(value.clone()));
                        added.push(key.clone());
                    }
                    Some(existing) if existing.as_str() == Some(value) => {}
                    Some(_) => differing.push(key.clone()),
                }
            }
            for key in differing {
                if let Some(Provenance::Connection(other)) =
                    self.provenance.get(&format!("{field}.{key}"))
                {
                    return Err(MergeError::SetDifferently {
                        key,
                        other: other.clone(),
                        connection: source.to_string(),
                        field,
                    });
                }
            }
            for key in added {
                self.provenance
                    .insert(format!("{field}.{key}"), from.clone());
            }
        }
        for (kind, names) in [
            (ContributionKind::Networks, &patch.networks),
            (ContributionKind::Aliases, &patch.aliases),
        ] {
            if names.is_empty() {
                continue;
            }
            let field = receiving(kind, names.join(", "))?;
            for name in names {
                let item = Json::String(name.clone());
                if self.push_unique(&field, item.clone())? {
                    self.provenance
                        .insert(item_key(&field, &item), from.clone());
                }
            }
        }
        if !patch.mounts.is_empty() {
            let targets: Vec<&str> = patch.mounts.iter().map(|m| m.target.as_str()).collect();
            let field = receiving(ContributionKind::Mounts, targets.join(", "))?;
            for mount in &patch.mounts {
                let source_text = match &mount.source {
                    MountSource::Bind(path) => path.clone(),
                    MountSource::Volume(name) => name.clone(),
                };
                let item = json!({
                    "source": source_text,
                    "target": mount.target,
                    "read_only": mount.read_only,
                });
                // The user's mount at the same target wins.
                let taken = self
                    .fields
                    .get(&field)
                    .and_then(Json::as_array)
                    .is_some_and(|v| v.iter().any(|m| m["target"] == item["target"]));
                if !taken && self.push_unique(&field, item.clone())? {
                    self.provenance
                        .insert(item_key(&field, &item), from.clone());
                }
            }
        }
        Ok(())
    }

    /// The field, created with `empty` when the user left it out.
    fn container(&mut self, field: &str, empty: impl FnOnce() -> Json) -> &mut Json {
        if !self.fields.contains_key(field) {
            self.provenance
                .insert(field.to_string(), Provenance::Default);
        }
        self.fields.entry(field.to_string()).or_insert_with(empty)
    }

    fn push_unique(&mut self, field: &str, value: Json) -> Result<bool, MergeError> {
        match self.container(field, || Json::Array(Vec::new())) {
            Json::Array(items) => {
                if items.contains(&value) {
                    Ok(false)
                } else {
                    items.push(value);
                    Ok(true)
                }
            }
            _ => Err(MergeError::NotAList {
                field: field.to_string(),
            }),
        }
    }
}

/// The provenance key of one item a connection added to a list field.
fn item_key(field: &str, item: &Json) -> String {
    format!("{field}[]={item}")
}

#[cfg(test)]
mod tests {
    use clockwork_schema::FieldSchema;

    use super::*;
    use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::Mount;

    fn field(name: &str, ty: &str, receives: Option<ContributionKind>) -> FieldSchema {
        FieldSchema {
            receives,
            ..FieldSchema::new(name, ty)
        }
    }

    /// A type with its own names for what it receives.
    fn schema() -> TypeSchema {
        TypeSchema {
            name: "Box".into(),
            doc: "A box.".into(),
            fields: vec![
                field("vars", "map<string>", Some(ContributionKind::Environment)),
                field("nets", "list<string>", Some(ContributionKind::Networks)),
                field("disks", "list<mount>", Some(ContributionKind::Mounts)),
            ],
        }
    }

    fn patch(env: &[(&str, &str)]) -> EndpointPatch {
        EndpointPatch {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            networks: Vec::new(),
            aliases: Vec::new(),
            mounts: Vec::new(),
        }
    }

    fn user(fields: Json) -> Spec {
        let Json::Object(fields) = fields else {
            unreachable!("an object")
        };
        Spec {
            provenance: fields
                .keys()
                .map(|k| (k.clone(), Provenance::User))
                .collect(),
            fields,
        }
    }

    #[test]
    fn contributions_go_to_the_receiving_fields_and_the_user_wins() {
        let mut spec = user(json!({"vars": {"MODE": "mine", "URL": "user's"}}));
        let mut p = patch(&[("URL", "theirs"), ("DATABASE_URL", "postgresql://db")]);
        p.networks.push("backend".into());
        p.mounts.push(Mount {
            source: MountSource::Bind("./conf".into()),
            target: "/etc/conf".into(),
            read_only: true,
        });
        spec.apply(&p, "DatabaseConnection a", Some(&schema()))
            .unwrap();
        assert_eq!(
            spec.fields["vars"],
            json!({"MODE": "mine", "URL": "user's", "DATABASE_URL": "postgresql://db"})
        );
        assert_eq!(spec.fields["nets"], json!(["backend"]));
        assert_eq!(
            spec.fields["disks"],
            json!([{"source": "./conf", "target": "/etc/conf", "read_only": true}])
        );
        assert_eq!(
            spec.source_of("vars.DATABASE_URL"),
            &Provenance::Connection("DatabaseConnection a".into())
        );
        assert_eq!(spec.source_of("vars.URL"), &Provenance::User);
        assert!(spec.item_source("nets", &json!("backend")).is_some());
    }

    #[test]
    fn two_connections_setting_one_variable_differently_is_an_error() {
        let mut spec = user(json!({}));
        spec.apply(
            &patch(&[("HOST", "a")]),
            "NetworkConnection x",
            Some(&schema()),
        )
        .unwrap();
        spec.apply(
            &patch(&[("HOST", "a")]),
            "NetworkConnection y",
            Some(&schema()),
        )
        .unwrap();
        let err = spec
            .apply(
                &patch(&[("HOST", "b")]),
                "NetworkConnection z",
                Some(&schema()),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`HOST` is set differently by NetworkConnection x and NetworkConnection z; set it yourself in `vars` to choose"
        );
        assert_eq!(
            miette::Diagnostic::code(&err)
                .map(|c| c.to_string())
                .as_deref(),
            Some("clockwork::resolve::conflict")
        );
    }

    #[test]
    fn a_kind_the_type_does_not_receive_is_refused() {
        let mut spec = user(json!({}));
        let mut p = patch(&[]);
        p.aliases.push("db".into());
        let err = spec
            .apply(&p, "NetworkConnection x", Some(&schema()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "NetworkConnection x gives network aliases (db), but a Box takes none: no field of it receives aliases"
        );
        assert!(matches!(
            err,
            MergeError::NotReceived {
                kind: ContributionKind::Aliases,
                ..
            }
        ));
    }

    #[test]
    fn defaults_fill_only_what_nothing_else_did() {
        let mut schema = schema();
        schema.fields.push(FieldSchema {
            default: Some("\"always\"".into()),
            ..field("restart", "string", None)
        });
        schema.fields[0].default = Some("{}".into());
        let mut spec = user(json!({}));
        spec.apply(&patch(&[("A", "1")]), "c", Some(&schema))
            .unwrap();
        spec.fill_defaults(&schema);
        assert_eq!(
            spec.fields["vars"],
            json!({"A": "1"}),
            "a connection filled it"
        );
        assert_eq!(spec.fields["restart"], json!("always"));
        assert_eq!(spec.source_of("restart"), &Provenance::Default);
    }
}
