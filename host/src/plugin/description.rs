//! What a plugin says about itself (`describe`), checked once at load.

use clockwork_schema::{FieldSchema, SchemaProblem, TypeSchema, ValueType, is_kebab_case};
use serde::{Deserialize, Serialize};

use crate::model::PluginKind;
use crate::plugin::bindings::types as wit;
use crate::plugin::bindings::{assertion, connection, resource};

/// A plugin's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginMeta {
    /// `kebab-case` name, unique among loaded plugins.
    pub name: String,
    /// SemVer version.
    pub version: String,
    /// One line.
    pub summary: String,
    /// Where to learn more.
    pub homepage: Option<String>,
}

/// What a type adds beyond its schema, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TypeTraits {
    /// A resource type.
    Resource {
        /// Accepts `.add(child)`.
        composite: bool,
    },
    /// A connection type.
    Connection,
    /// An assertion type.
    Assertion {
        /// Retry budget in milliseconds.
        default_timeout_ms: u32,
        /// Whether waiting may change the answer.
        retryable: bool,
    },
}

/// One declaration type of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeInfo {
    /// Constructor name, docs and fields.
    pub schema: TypeSchema,
    /// Kind-specific traits.
    pub traits: TypeTraits,
}

/// A checked `describe` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginDescription {
    /// Identity.
    pub meta: PluginMeta,
    /// Types, in the plugin's order.
    pub types: Vec<TypeInfo>,
}

impl PluginDescription {
    /// Checks a description against the rules every plugin must follow;
    /// returns every problem found.
    pub fn check(self, kind: PluginKind) -> Result<Self, Vec<String>> {
        let mut problems: Vec<String> = Vec::new();
        if !is_kebab_case(&self.meta.name) {
            problems.push(format!(
                "plugin name `{}` is not kebab-case (e.g. `docker-resource`)",
                self.meta.name
            ));
        }
        if !is_semver(&self.meta.version) {
            problems.push(format!(
                "version `{}` is not SemVer (e.g. `0.1.0`)",
                self.meta.version
            ));
        }
        if self.types.is_empty() {
            problems.push("describes no types".into());
        }
        let mut names: Vec<&str> = Vec::new();
        for ty in &self.types {
            if names.contains(&ty.schema.name.as_str()) {
                problems.push(format!("type `{}` is described twice", ty.schema.name));
            }
            names.push(&ty.schema.name);
            problems.extend(ty.schema.problems().iter().map(SchemaProblem::to_string));
            if let Some(problem) = standard_field_problem(kind, &ty.schema) {
                problems.push(problem.to_string());
            }
        }
        if kind == PluginKind::Resource {
            for ty in &self.types {
                if let Some(f) = ty
                    .schema
                    .fields
                    .iter()
                    .find(|f| crate::reconcile::is_host_field(&f.name))
                {
                    problems.push(format!(
                        "type `{}` declares `{}`, a field every resource type gets from the host (reconciliation); rename it",
                        ty.schema.name, f.name
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut checked = self;
        if kind == PluginKind::Resource {
            for ty in &mut checked.types {
                ty.schema.fields.extend(crate::reconcile::fields());
            }
        }
        Ok(checked)
    }

    /// Looks up a type by name.
    pub fn type_info(&self, name: &str) -> Option<&TypeInfo> {
        self.types.iter().find(|t| t.schema.name == name)
    }
}

/// Resource types must have a `name`; connection types a `to_resource`
/// reference. The host builds constructors and graph edges from them.
fn standard_field_problem(kind: PluginKind, schema: &TypeSchema) -> Option<SchemaProblem> {
    let (field, wanted): (&str, fn(&ValueType) -> bool) = match kind {
        PluginKind::Resource => ("name", |t| *t == ValueType::String),
        PluginKind::Connection => ("to_resource", |t| matches!(t, ValueType::Resource(_))),
        PluginKind::Assertion => return None,
    };
    let ok = schema
        .field(field)
        .and_then(FieldSchema::parsed_type)
        .is_some_and(|t| wanted(&t));
    (!ok).then(|| SchemaProblem::MissingStandardField {
        type_name: schema.name.clone(),
        reason: match kind {
            PluginKind::Resource => "a resource type needs a `name` field of type `string`".into(),
            _ => "a connection type needs a `to_resource` field of type `resource`".into(),
        },
    })
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn meta(m: wit::PluginMeta) -> PluginMeta {
    PluginMeta {
        name: m.name,
        version: m.version,
        summary: m.summary,
        homepage: m.homepage,
    }
}

fn schema(t: wit::TypeSchema) -> TypeSchema {
    TypeSchema {
        name: t.name,
        doc: t.doc,
        fields: t
            .fields
            .into_iter()
            .map(|f| FieldSchema {
                name: f.name,
                value_type: f.value_type,
                doc: f.doc,
                required: f.required,
                default: f.default,
                completable: f.completable,
                forces_replace: f.forces_replace,
                secret: f.secret,
                examples: f.examples,
                receives: f.receives.map(|k| {
                    use crate::plugin::bindings::types::ContributionKind as Wit;
                    use clockwork_schema::ContributionKind as Kind;
                    match k {
                        Wit::Environment => Kind::Environment,
                        Wit::Networks => Kind::Networks,
                        Wit::Aliases => Kind::Aliases,
                        Wit::Mounts => Kind::Mounts,
                    }
                }),
            })
            .collect(),
    }
}

impl From<resource::exports::clockwork::plugin::resources::ResourceDescription>
    for PluginDescription
{
    fn from(d: resource::exports::clockwork::plugin::resources::ResourceDescription) -> Self {
        PluginDescription {
            meta: meta(d.plugin),
            types: d
                .types
                .into_iter()
                .map(|t| TypeInfo {
                    schema: schema(t.schema),
                    traits: TypeTraits::Resource {
                        composite: t.composite,
                    },
                })
                .collect(),
        }
    }
}

impl From<connection::exports::clockwork::plugin::connections::ConnectionDescription>
    for PluginDescription
{
    fn from(d: connection::exports::clockwork::plugin::connections::ConnectionDescription) -> Self {
        PluginDescription {
            meta: meta(d.plugin),
            types: d
                .types
                .into_iter()
                .map(|t| TypeInfo {
                    schema: schema(t),
                    traits: TypeTraits::Connection,
                })
                .collect(),
        }
    }
}

impl From<assertion::exports::clockwork::plugin::assertions::AssertionDescription>
    for PluginDescription
{
    fn from(d: assertion::exports::clockwork::plugin::assertions::AssertionDescription) -> Self {
        PluginDescription {
            meta: meta(d.plugin),
            types: d
                .types
                .into_iter()
                .map(|t| TypeInfo {
                    schema: schema(t.schema),
                    traits: TypeTraits::Assertion {
                        default_timeout_ms: t.default_timeout_ms,
                        retryable: t.retryable,
                    },
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(types: Vec<TypeSchema>) -> PluginDescription {
        PluginDescription {
            meta: PluginMeta {
                name: "x-resource".into(),
                version: "0.1.0".into(),
                summary: "s".into(),
                homepage: None,
            },
            types: types
                .into_iter()
                .map(|schema| TypeInfo {
                    schema,
                    traits: TypeTraits::Resource { composite: false },
                })
                .collect(),
        }
    }

    fn name_field() -> FieldSchema {
        FieldSchema::new("name", "string")
    }

    #[test]
    fn resource_types_need_a_name_field_and_unique_names() {
        let without_name = TypeSchema {
            name: "XResource".into(),
            doc: "X.".into(),
            fields: vec![],
        };
        let problems = description(vec![without_name.clone(), without_name])
            .check(PluginKind::Resource)
            .unwrap_err();
        assert_eq!(
            problems,
            vec![
                "XResource: a resource type needs a `name` field of type `string`",
                "type `XResource` is described twice",
                "XResource: a resource type needs a `name` field of type `string`",
            ]
        );
        let ok = TypeSchema {
            name: "XResource".into(),
            doc: "X.".into(),
            fields: vec![name_field()],
        };
        assert!(description(vec![ok]).check(PluginKind::Resource).is_ok());
    }

    #[test]
    fn names_and_versions_are_checked() {
        let mut d = description(vec![]);
        d.meta.name = "X Plugin".into();
        d.meta.version = "1.0".into();
        let problems = d.check(PluginKind::Assertion).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(is_semver("1.2.3-beta.1"));
    }
}
