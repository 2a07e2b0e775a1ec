//! Completing connections and assertions, before `resolve`: their fields
//! are context for the resources', and connections' are read by resolve.

use serde_json::{Map, Value as Json};

use crate::complete::prompt::{Context, Placeholders};
use crate::complete::target::{
    Makers, PassCells, Target, declared_placeholders, described, missing_fields,
};
use crate::complete::trust::Declared as DeclaredByProject;
use crate::complete::{CompleteError, Completer, CompletionPlugins, RulesFor, in_words};
use crate::model::{DeclId, Declaration, Declared};
use crate::plugin::PluginKind;
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections;
use crate::plugin::bindings::types::ResourceRef;

impl Completer {
    /// Completes every connection's missing completable fields (before
    /// `resolve`, which reads them). The filled fields replace the defaults
    /// `validate` put there, and are recorded in `completed`.
    pub async fn connections(
        &mut self,
        project: &mut Declared,
        plugins: &dyn CompletionPlugins,
    ) -> Result<(), CompleteError> {
        let cells = PassCells::default();
        let ids: Vec<DeclId> = project
            .of_kind(PluginKind::Connection)
            .filter(|d| !d.implicit)
            .map(|d| d.id)
            .collect();
        // Connections complete each on its own (a connection's fields are
        // no context of another's), so all are asked about at once.
        let project_now: &Declared = project;
        let mut prepared = Vec::new();
        for id in ids {
            let d = project_now.get(id);
            let (Some(schema), Some(from), Some(to)) = (plugins.schema(&d.type_name), d.from, d.to)
            else {
                continue;
            };
            let missing = missing_fields(schema, |f| d.fields.contains_key(f));
            if missing.is_empty() {
                continue;
            }
            let input = connections::CompletionInput {
                type_name: d.type_name.to_string(),
                name: d.name.to_string(),
                config: Json::Object(d.fields.clone()).to_string(),
                missing: missing.clone(),
                from_resource: endpoint(project_now, from),
                to_resource: endpoint(project_now, to),
            };
            let context = Box::new(move |placeholders: &Placeholders| {
                let end = |id: DeclId| {
                    let e = project_now.get(id);
                    described(e, &e.config, placeholders)
                };
                Context {
                    declaration: described(d, &d.fields, placeholders),
                    related: vec![("from".into(), end(from)), ("to".into(), end(to))],
                    part_of: None,
                }
            });
            let makers = edge_makers(project_now, plugins, context);
            let target = Target::new(
                d,
                schema,
                plugins,
                d.fields.clone(),
                missing,
                &cells,
                makers,
            );
            let p = self
                .prepare(target, Some(RulesFor::Connection(input)))
                .await?;
            prepared.push((id, p));
        }
        for (id, filled) in self.ask_and_record(prepared).await? {
            record(&mut project.declarations[id.0], filled);
        }
        Ok(())
    }

    /// Completes assertions: a check given in words (`assertion = "…"`)
    /// becomes a function written by the model, once, recorded like any
    /// field. Assertions have no rules; they go to the model or stay as
    /// they are (and their plugin says what is missing).
    pub async fn assertions(
        &mut self,
        project: &mut Declared,
        plugins: &dyn CompletionPlugins,
    ) -> Result<(), CompleteError> {
        let cells = PassCells::default();
        let ids: Vec<DeclId> = project
            .of_kind(PluginKind::Assertion)
            .map(|d| d.id)
            .collect();
        // Each on its own, as connections.
        let project_now: &Declared = project;
        let mut prepared = Vec::new();
        for id in ids {
            let d = project_now.get(id);
            let Some(schema) = plugins.schema(&d.type_name) else {
                continue;
            };
            let missing = missing_fields(schema, |f| d.fields.contains_key(f));
            if missing.is_empty() {
                continue;
            }
            let context = Box::new(move |placeholders: &Placeholders| Context {
                declaration: described(d, &d.fields, placeholders),
                related: checked(project_now, d, plugins, placeholders),
                part_of: None,
            });
            let makers = edge_makers(project_now, plugins, context);
            let target = Target::new(
                d,
                schema,
                plugins,
                d.fields.clone(),
                missing,
                &cells,
                makers,
            );
            prepared.push((id, self.prepare(target, None).await?));
        }
        for (id, filled) in self.ask_and_record(prepared).await? {
            record(&mut project.declarations[id.0], filled);
            if plugins.schema(in_words::CONNECTIVITY).is_some()
                && let Some((fields, reason)) = in_words::connectivity(project, project.get(id))
            {
                become_connectivity(&mut project.declarations[id.0], fields, reason);
            } else if let Some((code, reason)) = in_words::both_run(project.get(id)) {
                both_run(&mut project.declarations[id.0], code, reason);
            }
        }
        Ok(())
    }
}

/// `d`'s check made the function "both run" its words describe, shown
/// for review; not recorded (the same words give it again).
fn both_run(d: &mut Declaration, code: &str, reason: String) {
    let module = format!("{}/{}.star", super::lock::LOCK_FILE, d.name);
    if let Ok(program) = crate::load::program_from_source(&module, code, 2) {
        crate::output::note(&format!("note: `{}` ({}): {reason}", d.name, d.type_name));
        d.config.insert("check".into(), program);
        d.completed
            .insert("check".into(), format!("rules: {reason}"));
    }
}

/// `d` made the `ServiceConnectivityAssert` its words describe: validated
/// again with that plugin, every field shown as read from the words.
fn become_connectivity(d: &mut Declaration, fields: Map<String, Json>, reason: String) {
    crate::output::note(&format!("note: `{}` ({}): {reason}", d.name, d.type_name));
    d.type_name = in_words::CONNECTIVITY.into();
    // The reason once, at the field it decides; the others follow it.
    d.completed = fields
        .keys()
        .map(|f| {
            let source = if f == "protocol" {
                format!("rules: {reason}")
            } else {
                "rules: from your words".to_string()
            };
            (f.clone(), source)
        })
        .collect();
    d.fields = fields.clone();
    d.config = fields;
    d.deferred = true;
}

/// The makers every connection and assertion shares: placeholders
/// labelled by the declarations' configs, and the user-declared networks
/// and volumes (nothing is resolved yet).
fn edge_makers<'a>(
    project: &'a Declared,
    plugins: &'a dyn CompletionPlugins,
    context: Box<dyn Fn(&Placeholders) -> Context + Send + Sync + 'a>,
) -> Makers<'a> {
    Makers {
        placeholders: Box::new(move || declared_placeholders(project)),
        declared: Box::new(move || DeclaredByProject::of(project, plugins, None)),
        context,
    }
}

/// A connection's end as its rules see it.
fn endpoint(project: &Declared, id: DeclId) -> connections::Endpoint {
    let d = project.get(id);
    connections::Endpoint {
        target: ResourceRef {
            type_name: d.type_name.to_string(),
            name: d.name.to_string(),
        },
        config: Json::Object(d.config.clone()).to_string(),
    }
}

/// What an assertion checks: the resources its fields name, else the one
/// it is attached to.
fn checked(
    project: &Declared,
    d: &Declaration,
    plugins: &dyn CompletionPlugins,
    placeholders: &Placeholders,
) -> Vec<(String, Json)> {
    let mut related: Vec<(String, Json)> = Vec::new();
    let Some(schema) = plugins.schema(&d.type_name) else {
        return related;
    };
    for f in schema.fields.iter().filter(|f| {
        f.parsed_type()
            .is_some_and(|t| matches!(t, clockwork_schema::ValueType::Resource(_)))
    }) {
        let target = d.fields.get(&f.name).and_then(|v| v["$ref"].as_str());
        if let Some(r) = target.and_then(|n| {
            project
                .declarations
                .iter()
                .find(|x| x.name.as_str() == n && x.kind == PluginKind::Resource)
        }) {
            related.push((
                format!("checked as `{}`:", f.name),
                described(r, &r.config, placeholders),
            ));
        }
    }
    if related.is_empty()
        && let Some(owner) = project
            .declarations
            .iter()
            .find(|r| r.assertions.contains(&d.id))
    {
        related.push((
            "checking".into(),
            described(owner, &owner.config, placeholders),
        ));
    }
    related
}

/// Puts what completion filled into a connection's or an assertion's
/// config, remembering where each came from.
fn record(d: &mut Declaration, filled: Vec<crate::complete::target::Filled>) {
    for (field, value, source) in filled {
        d.config.insert(field.clone(), value);
        d.completed.insert(field, source);
    }
}
