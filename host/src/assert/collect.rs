//! Which assertions a run checks: those the declarations hold, those the
//! connections add, narrowed to the names asked for.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use crate::assert::Check;
use crate::model::{DeclId, ResourceName, TypeName};
use crate::plugin::{CallError, PluginKind, PluginSet, TypeTraits};
use crate::resolve::Graph;

/// Where a check comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The user wrote it.
    Declared,
    /// A connection added it (a `ServiceMeshConnection`'s health check).
    Connection(ResourceName),
    /// Nobody wrote it: the declarations imply it (`--implied`); why.
    Implied(String),
}

/// Which checks to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Names of declarations (resources, connections, assertions); their
    /// assertions and those of their children run. Empty: everything.
    pub names: Vec<String>,
    /// Also the checks the declarations imply.
    pub implied: bool,
}

/// Why the checks could not be listed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AssertError {
    /// A name on the command line names nothing.
    #[error("`{name}` names no resource, connection or assertion of this project")]
    #[diagnostic(code("clockwork::assert::unknown_name"))]
    UnknownName {
        /// The name.
        name: String,
        /// What it may have meant.
        #[help]
        help: Option<String>,
    },
    /// An assertion a connection added (or the host implied) is not
    /// valid for its plugin.
    #[error("`{assertion}` ({type_name}), added by {by}: {message}")]
    #[diagnostic(code("clockwork::assert::invalid"))]
    Invalid {
        /// The assertion.
        assertion: ResourceName,
        /// Its type.
        type_name: TypeName,
        /// What added it: `` `connection` `` or `--implied`.
        by: String,
        /// Why.
        message: String,
    },
    /// No loaded plugin provides an assertion's type.
    #[error("`{assertion}` is a {type_name}, which no loaded plugin provides")]
    #[diagnostic(code("clockwork::assert::unknown_type"))]
    UnknownType {
        /// The assertion.
        assertion: ResourceName,
        /// Its type.
        type_name: TypeName,
    },
    /// A plugin failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(#[from] CallError),
}

/// The checks of `graph` that `selection` asks for, in declaration order
/// (a connection's after the assertions of the resource they check).
pub async fn checks(
    graph: &Graph,
    plugins: &PluginSet,
    state: &crate::state::State,
    selection: &Selection,
) -> Result<Vec<Check>, AssertError> {
    let project = &graph.project;
    let holder: BTreeMap<DeclId, DeclId> = project
        .declarations
        .iter()
        .flat_map(|d| d.assertions.iter().map(move |a| (*a, d.id)))
        .collect();
    let wanted = wanted(graph, selection)?;
    // A user's function may look at every resource; built once.
    let views = std::sync::OnceLock::new();
    let mut out = Vec::new();
    for d in &project.declarations {
        if d.kind != PluginKind::Assertion {
            continue;
        }
        let target = holder.get(&d.id).map(|h| project.get(*h));
        let selected = wanted
            .as_ref()
            .is_none_or(|w| w.contains(&d.id) || target.is_some_and(|t| w.contains(&t.id)));
        if !selected {
            continue;
        }
        let mut config = Json::Object(d.config.clone());
        if crate::assert::views::has_program(&config) {
            let views = views.get_or_init(|| crate::assert::views::views(graph, state));
            // Secrets go only to the bundled interpreter, which gives one
            // to a check that asks for it by name, and logs that it did.
            let interpreter = plugins.for_type(&d.type_name).is_some_and(|p| {
                p.origin.source == crate::plugin::PluginSource::Bundled
                    && p.name() == crate::plugin::INTERPRETER_PLUGIN
            });
            config = crate::assert::views::with_views(
                config,
                views,
                target.map(|t| t.name.as_str()),
                interpreter,
            );
        }
        let check = check_of(
            plugins,
            d.name.clone(),
            d.type_name.clone(),
            target.map(|t| (t.name.clone(), t.type_name.clone())),
            config,
            Origin::Declared,
            Some(d.location.to_string()),
        )?;
        out.push(check);
    }
    for c in &graph.connections {
        let connection = project.get(c.decl);
        let to = project.get(c.to);
        let selected = wanted
            .as_ref()
            .is_none_or(|w| w.contains(&c.decl) || w.contains(&c.to));
        if !selected {
            continue;
        }
        for (type_name, config) in &c.assertions {
            let short = crate::defaults::short_type_name(PluginKind::Assertion, type_name);
            let name: ResourceName = format!("{}-{short}", connection.name).into();
            let config: Json = serde_json::from_str(config).unwrap_or(Json::Null);
            out.push(
                validated(
                    plugins,
                    name,
                    type_name.as_str().into(),
                    Some((to.name.clone(), to.type_name.clone())),
                    config,
                    Origin::Connection(connection.name.clone()),
                )
                .await?,
            );
        }
    }
    if selection.implied {
        let implied = crate::assert::implied::implied(graph, state);
        let names = crate::assert::implied::names(&implied);
        for (check, name) in implied.into_iter().zip(names) {
            let Some(target) = project.declarations.iter().find(|d| d.name == check.target) else {
                continue;
            };
            if wanted.as_ref().is_some_and(|w| !w.contains(&target.id)) {
                continue;
            }
            out.push(
                validated(
                    plugins,
                    name,
                    check.type_name,
                    Some((target.name.clone(), target.type_name.clone())),
                    check.config,
                    Origin::Implied(check.reason),
                )
                .await?,
            );
        }
    }
    Ok(out)
}

/// A check nobody wrote in `main.star`, with its config validated (and
/// completed with defaults) by its plugin.
async fn validated(
    plugins: &PluginSet,
    name: ResourceName,
    type_name: TypeName,
    target: Option<(ResourceName, TypeName)>,
    config: Json,
    origin: Origin,
) -> Result<Check, AssertError> {
    let Some(plugin) = plugins.for_type(&type_name) else {
        return Err(AssertError::UnknownType {
            assertion: name,
            type_name,
        });
    };
    let checked = plugin.validate(&type_name, &name, &config).await?;
    let config = checked.map_err(|problems| AssertError::Invalid {
        assertion: name.clone(),
        type_name: type_name.clone(),
        by: match &origin {
            Origin::Connection(c) => format!("`{c}`"),
            _ => "--implied".into(),
        },
        message: problems
            .iter()
            .map(|p| p.summary.clone())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    check_of(plugins, name, type_name, target, config, origin, None)
}

/// The declarations whose assertions run, or `None` for all of them.
fn wanted(
    graph: &Graph,
    selection: &Selection,
) -> Result<Option<std::collections::BTreeSet<DeclId>>, AssertError> {
    if selection.names.is_empty() {
        return Ok(None);
    }
    let project = &graph.project;
    let mut wanted = std::collections::BTreeSet::new();
    for name in &selection.names {
        let Some(found) = project.declarations.iter().find(|d| d.name == *name) else {
            let near =
                crate::suggest::nearest(name, project.declarations.iter().map(|d| d.name.as_str()));
            return Err(AssertError::UnknownName {
                name: name.clone(),
                help: Some(match near {
                    Some(n) => format!("did you mean `{n}`? (`clockwork plan` lists every name)"),
                    None => "`clockwork plan` lists every name".into(),
                }),
            });
        };
        // A composite's children are checked with it.
        let mut stack = vec![found.id];
        while let Some(id) = stack.pop() {
            if wanted.insert(id) {
                stack.extend(project.get(id).children.iter().copied());
            }
        }
    }
    Ok(Some(wanted))
}

fn check_of(
    plugins: &PluginSet,
    name: ResourceName,
    type_name: TypeName,
    target: Option<(ResourceName, TypeName)>,
    config: Json,
    origin: Origin,
    declared_at: Option<String>,
) -> Result<Check, AssertError> {
    let Some(info) = plugins.type_info(&type_name) else {
        return Err(AssertError::UnknownType {
            assertion: name,
            type_name,
        });
    };
    let (default_ms, retryable) = match info.traits {
        TypeTraits::Assertion {
            default_timeout_ms,
            retryable,
        } => (default_timeout_ms, retryable),
        _ => (30_000, true),
    };
    let timeout = config
        .get("timeout_seconds")
        .and_then(Json::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_millis(u64::from(default_ms)));
    let brief = config
        .get("description")
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| {
            info.schema
                .fields
                .iter()
                .filter(|f| f.required)
                .find_map(|f| config.get(&f.name).map(brief_of))
        })
        .unwrap_or_default();
    Ok(Check {
        name,
        type_name,
        target,
        config,
        origin,
        declared_at,
        timeout,
        retryable,
        brief,
    })
}

/// A field's value in a few characters: a string as it is, a reference by
/// its name, anything else as JSON.
fn brief_of(value: &Json) -> String {
    let text = match value {
        Json::String(s) => s.clone(),
        Json::Object(o) if o.contains_key("$ref") => {
            o["$ref"].as_str().unwrap_or_default().to_string()
        }
        // A user's function, by name and place.
        Json::Object(o) if o.contains_key("$function") => format!(
            "{} ({})",
            o["$function"].as_str().unwrap_or_default(),
            o.get("defined_at")
                .and_then(Json::as_str)
                .unwrap_or_default()
        ),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A name that names nothing says so, with its code and the nearest
    /// name as its help.
    #[test]
    fn an_unknown_name_carries_its_code_and_the_nearest_name() {
        let e = AssertError::UnknownName {
            name: "wbe".into(),
            help: Some("did you mean `web`?".into()),
        };
        assert_eq!(
            e.to_string(),
            "`wbe` names no resource, connection or assertion of this project"
        );
        let code = miette::Diagnostic::code(&e).map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("clockwork::assert::unknown_name"));
        let help = miette::Diagnostic::help(&e).map(|h| h.to_string());
        assert_eq!(help.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn a_brief_is_short_and_names_references() {
        assert_eq!(brief_of(&json!("http://localhost/")), "http://localhost/");
        assert_eq!(brief_of(&json!({"$ref": "db"})), "db");
        assert_eq!(
            brief_of(
                &json!({"$function": "api_is_up", "defined_at": "main.star:3", "modules": {}})
            ),
            "api_is_up (main.star:3)"
        );
        assert_eq!(brief_of(&json!(8080)), "8080");
        let long = "x".repeat(100);
        let brief = brief_of(&json!(long));
        assert_eq!(brief.chars().count(), 60);
        assert!(brief.ends_with("..."));
    }
}
