//! Each plugin validating its own declarations: what it normalised becomes
//! the declaration's `config`, and each diagnostic is reported at its
//! declaration, or left for completion when it is about a field completion
//! may still fill.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::load::{LoadError, located, structural_fields};
use crate::model::{DeclId, Declaration, Declared, Located, Location};
use crate::plugin::bindings::types::{Diagnostic, Severity};
use crate::plugin::{CallError, PluginKind, PluginSet};

/// A plugin's answer to `validate`: the normalised fields, or diagnostics.
type Answer = Result<Result<Json, Vec<Diagnostic>>, CallError>;

/// Has each plugin validate its declarations (concurrently); fills
/// `config` with the normalised fields. Every diagnostic is reported at its
/// declaration.
pub(super) async fn validate(
    mut project: Declared,
    plugins: &PluginSet,
    sources: &HashMap<String, Arc<String>>,
    flagged: &[Location],
) -> Result<Declared, LoadError> {
    let answers = ask_plugins(&project, plugins, flagged).await?;
    let mut verdicts = Verdicts {
        plugins,
        sources,
        problems: Vec::new(),
        warnings: Vec::new(),
        accepted: Vec::new(),
        deferred: Vec::new(),
    };
    for (id, answer) in answers {
        verdicts.take(&mut project, id, answer);
    }
    let Verdicts {
        mut problems,
        warnings,
        accepted,
        deferred,
        ..
    } = verdicts;
    for id in accepted {
        let d = &mut project.declarations[id.0];
        d.config = d.fields.clone();
        d.config
            .retain(|key, _| !crate::reconcile::is_host_field(key));
    }
    problems.extend(reconciliation_problems(&project, sources));
    for id in deferred {
        project.declarations[id.0].deferred = true;
    }
    project.warnings.extend(warnings);
    if problems.is_empty() {
        Ok(project)
    } else {
        Err(LoadError::Located(problems))
    }
}

/// Each declaration's answer from its plugin, in declaration order.
async fn ask_plugins(
    project: &Declared,
    plugins: &PluginSet,
    flagged: &[Location],
) -> Result<Vec<(DeclId, Answer)>, LoadError> {
    // A declaration the host already found wrong is not sent to its plugin,
    // which would only repeat the problem. Calls run on every core.
    crate::plugin::in_order(project.declarations.iter().map(|d| {
        // Shorthand dependencies have no fields to validate.
        let plugin = plugins
            .for_type(&d.type_name)
            .cloned()
            .filter(|_| !d.implicit && !flagged.contains(&d.location));
        // The reconciliation fields are the host's: checked below, never
        // the plugin's to see.
        let mut own = d.fields.clone();
        if d.kind == PluginKind::Resource {
            own.retain(|key, _| !crate::reconcile::is_host_field(key));
        }
        let fields = Json::Object(own);
        let (id, type_name, name) = (d.id, d.type_name.clone(), d.name.clone());
        async move {
            match plugin {
                Some(plugin) => (id, plugin.validate(&type_name, &name, &fields).await),
                None => (id, Ok(Ok(fields))),
            }
        }
    }))
    .await
    .map_err(|e| LoadError::Internal(format!("a validation task failed: {e}")))
}

/// What the plugins' answers come to, taken one declaration at a time.
struct Verdicts<'a> {
    plugins: &'a PluginSet,
    sources: &'a HashMap<String, Arc<String>>,
    problems: Vec<Located>,
    warnings: Vec<Located>,
    /// Declarations usable as written: the user's fields stand.
    accepted: Vec<DeclId>,
    /// Declarations whose only problems completion may still solve.
    deferred: Vec<DeclId>,
}

impl Verdicts<'_> {
    /// The answer about declaration `id`.
    fn take(&mut self, project: &mut Declared, id: DeclId, answer: Answer) {
        let d = &project.declarations[id.0];
        let source = self
            .sources
            .get(&d.location.file.display().to_string())
            .cloned();
        let at = |message: String, help: Option<String>| Located {
            message,
            location: d.location.clone(),
            help,
            source: source.clone(),
            called_from: Vec::new(),
        };
        match answer {
            Ok(Ok(Json::Object(config))) => {
                let config = normalised(d, config);
                project.declarations[id.0].config = config;
            }
            Ok(Ok(other)) => self.problems.push(at(
                format!(
                    "plugin for `{}` returned a config that is not an object: {other}",
                    d.type_name
                ),
                None,
            )),
            Ok(Err(diagnostics)) => self.diagnosed(id, d, source.clone(), diagnostics),
            Err(call) => self.problems.push(at(
                call.to_string(),
                Some(
                    "this is a problem in the plugin, not in your project; report it to its author"
                        .into(),
                ),
            )),
        }
    }

    /// The diagnostics a plugin gave about `d`.
    fn diagnosed(
        &mut self,
        id: DeclId,
        d: &Declaration,
        source: Option<Arc<String>>,
        diagnostics: Vec<Diagnostic>,
    ) {
        let errors: Vec<&Diagnostic> = diagnostics
            .iter()
            .filter(|x| x.severity == Severity::Error)
            .collect();
        // A problem about a field completion may still fill is
        // judged once completion ran (`complete::revalidate`).
        let deferred = !errors.is_empty()
            && errors
                .iter()
                .all(|x| about_completable_gap(d, self.plugins.schema(&d.type_name), x));
        if errors.is_empty() || deferred {
            // Usable as written: the user's fields stand.
            self.accepted.push(id);
        }
        let (errors, warned) = located(d, source, diagnostics);
        self.warnings.extend(warned);
        if deferred {
            self.deferred.push(id);
        } else {
            self.problems.extend(errors);
        }
    }
}

/// The config a plugin normalised from `d`'s fields, as the declaration
/// keeps it.
fn normalised(d: &Declaration, mut config: Map<String, Json>) -> Map<String, Json> {
    // Edges are not fields of the resolved spec.
    for structural in structural_fields(d.kind) {
        config.remove(*structural);
    }
    // A resource's spec starts from what the user wrote (as
    // the plugin normalised it): connections and completion may
    // still fill what is left out, so defaults come last
    // (`complete::defaults`), never here.
    if d.kind == PluginKind::Resource {
        config.retain(|key, _| d.fields.contains_key(key));
    }
    config
}

/// The reconciliation fields every resource has, checked by the host.
fn reconciliation_problems(
    project: &Declared,
    sources: &HashMap<String, Arc<String>>,
) -> Vec<Located> {
    let mut problems = Vec::new();
    for d in project.of_kind(PluginKind::Resource) {
        if let Err(found) = crate::reconcile::settings(&d.fields) {
            let source = sources.get(&d.location.file.display().to_string()).cloned();
            for (field, message) in found {
                problems.push(Located {
                    message: format!("`{}` ({}): `{field}`: {message}", d.name, d.type_name)
                        .replace(&format!("`{field}`: `{field}`"), &format!("`{field}`")),
                    location: d.location.clone(),
                    help: Some(format!(
                        "`clockwork plugins inspect {}` lists the reconciliation fields every resource type has",
                        d.type_name
                    )),
                    source: source.clone(),
                    called_from: Vec::new(),
                });
            }
        }
    }
    problems
}

/// Whether `diagnostic` is about a completable field the user left out.
pub(super) fn about_completable_gap(
    d: &crate::model::Declaration,
    schema: Option<&clockwork_schema::TypeSchema>,
    diagnostic: &Diagnostic,
) -> bool {
    let path = diagnostic
        .path
        .as_deref()
        .map(crate::model::FieldPath::from_pointer);
    let Some(field) = path.as_ref().and_then(|p| p.field()) else {
        return false;
    };
    !d.fields.contains_key(field)
        && schema
            .and_then(|s| s.field(field))
            .is_some_and(|f| f.completable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_normalised_config_keeps_no_edges_and_of_a_resource_only_what_the_user_wrote() {
        let config = |pairs: &[&str]| -> Map<String, Json> {
            pairs
                .iter()
                .map(|k| (k.to_string(), Json::from(1)))
                .collect()
        };
        let mut web = Declaration::fixture(0, PluginKind::Resource, "DockerResource", "web");
        web.fields = config(&["image", "connections"]);
        assert_eq!(
            normalised(&web, config(&["image", "restart", "connections"])),
            config(&["image"])
        );
        let mut db = Declaration::fixture(1, PluginKind::Connection, "DatabaseConnection", "db");
        db.fields = config(&["to_resource"]);
        assert_eq!(
            normalised(&db, config(&["to_resource", "database"])),
            config(&["database"]),
            "a connection keeps the defaults its plugin filled in"
        );
    }
}
