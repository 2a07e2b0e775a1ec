//! Every field the user left out, filled — and recorded, so the next run
//! replays it instead of asking again.
//!
//! Order, per declaration: what the user wrote always wins; then the
//! plugin's deterministic `complete-rules`; then, only where a model is
//! configured, an OpenAI-compatible model asked for the completable fields
//! still missing; the schema's defaults last (`defaults`). Connections are
//! completed before they resolve (their endpoints are context), resources
//! after (what connections contributed is context), in deploy order, so a
//! resource sees what its dependencies were completed with.
//!
//! Each declaration's completion is recorded in `clockwork.lock` with the
//! hash of its inputs (its description, the fields set with secrets as
//! placeholders, what it connects to, the fields missing). While the hash
//! matches, the lock is replayed and nothing is called.

mod ask;
pub mod chat;
pub mod lock;
pub mod prompt;
mod seams;
mod settings;
#[cfg(test)]
mod tests;
pub mod trust;

pub use ask::function_arity;

pub use settings::{HOW_TO_CONFIGURE, ModelFlags, SettingsError, model_settings};

use std::collections::{BTreeMap, BTreeSet};

use clockwork_schema::{FieldSchema, TypeSchema};
use serde_json::{Map, Value as Json, json};

use crate::complete::chat::ChatError;
use crate::complete::lock::{LockError, LockFile, Locked, LockedField};
use crate::complete::prompt::{Context, Placeholders, Shown};
use crate::complete::trust::{Declared as DeclaredByProject, Origin};
use crate::model::{DeclId, Declaration, Declared};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::CompletionInput;
use crate::plugin::bindings::types::{ResourceRef, Suggestion};
use crate::plugin::{CallError, PluginKind};
use crate::project::ProjectDir;
use crate::resolve::Graph;
pub use seams::{CompletionPlugins, Model, RulesFor};

/// What completion may do in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `plan`, `apply`: replay the lock, run rules, ask the model for what
    /// is left, and write the lock.
    Complete,
    /// `--locked`: only what the lock holds; anything else is an error.
    Locked,
    /// `assert`, `destroy`, `graph`: replay the lock and run rules; never
    /// a model, never a write.
    ReadOnly,
}

/// Why completion failed.
#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    /// A plugin call failed.
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// The lock file could not be read or written.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The model server failed for a declaration.
    #[error("completing `{declaration}` ({type_name}): {error}")]
    Model {
        /// The declaration.
        declaration: String,
        /// Its type.
        type_name: String,
        /// What failed.
        error: ChatError,
    },
    /// The model's answer, asked twice, still did not fit.
    #[error(
        "completing `{declaration}` ({type_name}): the model's answer for `{field}` cannot be used: {problem} (it answered {answered})"
    )]
    BadAnswer {
        /// The declaration.
        declaration: String,
        /// Its type.
        type_name: String,
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: String,
        /// What the model wrote for it (secrets masked).
        answered: String,
    },
    /// A completed value that would do what only the user may ask for, or
    /// use a secret this declaration was not shown.
    #[error(transparent)]
    Refused(Box<Refusal>),
    /// `--locked`, and the lock does not cover every declaration.
    #[error("--locked: clockwork.lock has no completion for {}", .0.join("; "))]
    NotLocked(Vec<String>),
}

/// A completed value refused: see [`trust`].
#[derive(Debug, thiserror::Error)]
#[error(
    "completing `{declaration}` ({type_name}) at {location}: the value {origin} gives `{field}` is refused: {problem}"
)]
pub struct Refusal {
    /// The declaration.
    pub declaration: String,
    /// Its type.
    pub type_name: String,
    /// Where it is declared.
    pub location: crate::model::Location,
    /// The field.
    pub field: String,
    /// Where the value came from.
    pub origin: Origin,
    /// Why it is refused.
    pub problem: String,
}

/// What completion did, for the plan's notes and the tests.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Requests sent to the model (the probe included).
    pub requests: u32,
    /// Fields completed now rather than replayed, as `name.field`.
    pub new: Vec<String>,
    /// Fields a model would be asked for, had one been configured:
    /// declaration → fields without a default.
    pub unfilled: BTreeMap<DeclId, Vec<String>>,
    /// Whether the lock file was written.
    pub wrote_lock: bool,
}

/// One invocation's completion.
pub struct Completer {
    mode: Mode,
    lock: LockFile,
    read: LockFile,
    client: Option<Box<dyn Model>>,
    probed: bool,
    /// `None`: refresh nothing; empty: refresh everything.
    refresh: Option<BTreeSet<String>>,
    /// Entries used this run; the others are dropped when the lock is written.
    seen: BTreeSet<(PluginKind, String)>,
    /// The report.
    pub report: Report,
}

impl Completer {
    /// A completer reading the project's lock.
    pub fn new(
        files: &ProjectDir,
        mode: Mode,
        client: Option<Box<dyn Model>>,
        refresh: Option<BTreeSet<String>>,
    ) -> Result<Self, CompleteError> {
        let lock = LockFile::read(files)?;
        Ok(Completer {
            mode,
            read: lock.clone(),
            lock,
            client: if mode == Mode::Complete { client } else { None },
            probed: false,
            refresh,
            seen: BTreeSet::new(),
            report: Report::default(),
        })
    }

    fn refreshes(&self, name: &str) -> bool {
        self.refresh
            .as_ref()
            .is_some_and(|names| names.is_empty() || names.contains(name))
    }

    /// Completes every connection's missing completable fields (before
    /// `resolve`, which reads them). The filled fields replace the defaults
    /// `validate` put there, and are recorded in `completed`.
    pub async fn connections(
        &mut self,
        project: &mut Declared,
        plugins: &dyn CompletionPlugins,
    ) -> Result<(), CompleteError> {
        let placeholders = declared_placeholders(project);
        let declared = DeclaredByProject::of(project, plugins, None);
        let ids: Vec<DeclId> = project
            .of_kind(PluginKind::Connection)
            .filter(|d| !d.implicit)
            .map(|d| d.id)
            .collect();
        for id in ids {
            let d = project.get(id);
            let (Some(schema), Some(from), Some(to)) = (plugins.schema(&d.type_name), d.from, d.to)
            else {
                continue;
            };
            let missing = missing_fields(schema, |f| d.fields.contains_key(f));
            if missing.is_empty() {
                continue;
            }
            let user = Json::Object(d.fields.clone());
            let context = Context {
                declaration: described(d, &d.fields, &placeholders),
                related: vec![
                    (
                        "from".into(),
                        described(project.get(from), &project.get(from).config, &placeholders),
                    ),
                    (
                        "to".into(),
                        described(project.get(to), &project.get(to).config, &placeholders),
                    ),
                ],
                part_of: None,
            };
            let endpoint = |id: DeclId| connections::Endpoint {
                target: ResourceRef {
                    type_name: project.get(id).type_name.to_string(),
                    name: project.get(id).name.to_string(),
                },
                config: Json::Object(project.get(id).config.clone()).to_string(),
            };
            let input = connections::CompletionInput {
                type_name: d.type_name.to_string(),
                name: d.name.to_string(),
                config: user.to_string(),
                missing: missing.clone(),
                from_resource: endpoint(from),
                to_resource: endpoint(to),
            };
            let target = Target::new(
                d,
                schema,
                plugins,
                d.fields.clone(),
                missing,
                context,
                &placeholders,
                &declared,
            );
            let type_name = d.type_name.to_string();
            let filled = self
                .complete(target, || async move {
                    Ok(plugins
                        .rules(&type_name, RulesFor::Connection(input))
                        .await?
                        .unwrap_or_default())
                })
                .await?;
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
        let placeholders = declared_placeholders(project);
        let declared = DeclaredByProject::of(project, plugins, None);
        let ids: Vec<DeclId> = project
            .of_kind(PluginKind::Assertion)
            .map(|d| d.id)
            .collect();
        for id in ids {
            let d = project.get(id);
            let Some(schema) = plugins.schema(&d.type_name) else {
                continue;
            };
            let missing = missing_fields(schema, |f| d.fields.contains_key(f));
            if missing.is_empty() {
                continue;
            }
            // What it checks: the resources its fields name, else the one
            // it is attached to.
            let mut related: Vec<(String, Json)> = Vec::new();
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
                        described(r, &r.config, &placeholders),
                    ));
                }
            }
            if related.is_empty()
                && let Some(owner) = project
                    .declarations
                    .iter()
                    .find(|r| r.assertions.contains(&id))
            {
                related.push((
                    "checking".into(),
                    described(owner, &owner.config, &placeholders),
                ));
            }
            let context = Context {
                declaration: described(d, &d.fields, &placeholders),
                related,
                part_of: None,
            };
            let target = Target::new(
                d,
                schema,
                plugins,
                d.fields.clone(),
                missing,
                context,
                &placeholders,
                &declared,
            );
            let filled = self.complete(target, || async { Ok(Vec::new()) }).await?;
            record(&mut project.declarations[id.0], filled);
        }
        Ok(())
    }

    /// Completes every resource's missing completable fields, in deploy
    /// order, after connections contributed.
    pub async fn resources(
        &mut self,
        graph: &mut Graph,
        plugins: &dyn CompletionPlugins,
    ) -> Result<(), CompleteError> {
        let places: Vec<(String, Json)> = graph
            .project
            .declarations
            .iter()
            .map(|d| {
                let fields = graph.specs.get(&d.id).map_or(&d.config, |s| &s.fields);
                (d.name.to_string(), Json::Object(fields.clone()))
            })
            .collect();
        let placeholders = Placeholders::new(secrets_of(graph), &places);
        let declared = DeclaredByProject::of(&graph.project, plugins, Some(graph));
        let order: Vec<DeclId> = graph.order().collect();
        for id in order {
            let d = graph.project.get(id);
            let (Some(schema), Some(spec)) = (plugins.schema(&d.type_name), graph.specs.get(&id))
            else {
                continue;
            };
            // A field only connections put entries in is still the
            // user's to leave out: completion may add to it.
            let missing = missing_fields(schema, |f| d.config.contains_key(f));
            if missing.is_empty() {
                continue;
            }
            let related: Vec<(String, Json)> = graph
                .depends_on
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|n| Some(**n) != d.parent)
                .map(|n| {
                    let fields = graph
                        .specs
                        .get(n)
                        .map(|s| s.fields.clone())
                        .unwrap_or_default();
                    (
                        "connected to".to_string(),
                        described(graph.project.get(*n), &fields, &placeholders),
                    )
                })
                .collect();
            let part_of = d.parent.map(|p| {
                described(
                    graph.project.get(p),
                    &graph.project.get(p).config,
                    &placeholders,
                )
            });
            let context = Context {
                declaration: described(d, &spec.fields, &placeholders),
                related,
                part_of,
            };
            let neighbours: Vec<Json> = graph
                .depends_on
                .get(&id)
                .into_iter()
                .flatten()
                .map(|n| {
                    let n = graph.project.get(*n);
                    json!({"type-name": n.type_name, "name": n.name, "config": n.config})
                })
                .collect();
            let input = CompletionInput {
                target: ResourceRef {
                    type_name: d.type_name.to_string(),
                    name: d.name.to_string(),
                },
                config: Json::Object(spec.fields.clone()).to_string(),
                missing: missing.clone(),
                neighbours: Json::Array(neighbours).to_string(),
            };
            let target = Target::new(
                d,
                schema,
                plugins,
                spec.fields.clone(),
                missing,
                context,
                &placeholders,
                &declared,
            );
            let type_name = d.type_name.to_string();
            let filled = self
                .complete(target, || async move {
                    Ok(plugins
                        .rules(&type_name, RulesFor::Resource(input))
                        .await?
                        .unwrap_or_default())
                })
                .await?;
            if let Some(spec) = graph.specs.get_mut(&id) {
                for (field, value, source) in filled {
                    spec.complete(&field, value, &source);
                }
            }
        }
        Ok(())
    }

    /// One declaration: the lock when it still fits, else rules and the
    /// model. Returns (field, value, source text for `plan`).
    async fn complete<F, Fut>(
        &mut self,
        t: Target<'_>,
        rules: F,
    ) -> Result<Vec<(String, Json, String)>, CompleteError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Suggestion>, CallError>>,
    {
        let inputs = lock::hash(&json!({
            "type": t.type_name,
            "context": t.context.inputs(),
            "missing": t.missing,
        }));
        let key = (t.kind, t.name.clone());
        let replay = !self.refreshes(&t.name)
            && self
                .lock
                .of(t.kind)
                .get(&t.name)
                .is_some_and(|l| l.type_name == t.type_name && l.inputs == inputs);
        let mut entry = if replay {
            self.lock.of(t.kind).get(&t.name).cloned()
        } else {
            None
        };
        let mut out = Vec::new();
        let mut fresh = Vec::new();
        if let Some(entry) = &entry {
            // The lock comes from a repository: each value passes the
            // checks a model's answer does, and one for a field the user
            // set is ignored (theirs wins).
            for (field, locked) in &entry.fields {
                if !t.missing.contains(field) {
                    continue;
                }
                // A value of another shape (the plugin's field changed
                // since) is left, as it always was; one of the field's own
                // shape is judged.
                if !fits(t.schema, field, &locked.value) {
                    continue;
                }
                let value = t.untrusted(field, &locked.value, Origin::Lock)?;
                out.push((field.clone(), value, shown_source(locked, false)));
            }
        } else {
            let plugin_name = t
                .plugins
                .plugin_name(&t.type_name)
                .unwrap_or_default()
                .to_string();
            for s in rules().await? {
                if !t.missing.contains(&s.field) || fresh.iter().any(|(f, _)| *f == s.field) {
                    continue;
                }
                let Ok(value) = serde_json::from_str::<Json>(&s.value) else {
                    continue;
                };
                if !fits(t.schema, &s.field, &value) {
                    continue;
                }
                // A plugin's rule is no more the user than a model is; one
                // that asks for what only the user may is left out, said.
                let value = match t.untrusted(&s.field, &value, Origin::Rules(plugin_name.clone()))
                {
                    Ok(value) => value,
                    Err(CompleteError::Refused(refusal)) => {
                        crate::output::note(&format!("{refusal}; the suggestion is left out"));
                        continue;
                    }
                    Err(other) => return Err(other),
                };
                fresh.push((
                    s.field,
                    LockedField {
                        value,
                        source: format!("rules:{plugin_name}"),
                        reason: Some(s.reason),
                    },
                ));
            }
        }

        // `--locked` completes nothing the lock does not hold: rules that
        // would fill a field now mean the lock is stale (a model is never
        // asked under `--locked`).
        if self.mode == Mode::Locked && !fresh.is_empty() {
            return Err(CompleteError::NotLocked(vec![format!(
                "`{}` ({}): {} would be completed now (its inputs changed or it was never completed); run `clockwork plan` and commit clockwork.lock",
                t.name,
                t.type_name,
                fresh
                    .iter()
                    .map(|(f, _)| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )]));
        }

        // What neither the lock nor the rules filled may go to the model.
        let filled: BTreeSet<&str> = out
            .iter()
            .map(|(f, _, _)| f.as_str())
            .chain(fresh.iter().map(|(f, _)| f.as_str()))
            .collect();
        let left: Vec<&FieldSchema> = t
            .missing
            .iter()
            .filter(|f| !filled.contains(f.as_str()))
            .filter_map(|f| t.schema.field(f))
            .filter(|f| {
                f.name != "name"
                    && f.parsed_type().is_some_and(|ty| {
                        prompt::askable(&ty)
                            || (t.kind == PluginKind::Assertion
                                && ty == clockwork_schema::ValueType::Function)
                    })
            })
            .collect();
        // A model is asked only about a declaration the user described:
        // the description is the request (seed 002), and without one a
        // missing field is meant to take its default.
        let left = if t.described { left } else { Vec::new() };
        let asked_before = entry.as_ref().is_some_and(|e| e.model.is_some());
        let mut model_record = entry.as_ref().and_then(|e| e.model.clone());
        if !left.is_empty() && !asked_before {
            if self.client.is_some() {
                let (answers, record) = self.ask_model(&t, &left, &fresh).await?;
                fresh.extend(answers);
                model_record = Some(record);
            } else if self.mode != Mode::ReadOnly {
                let without_default: Vec<String> = left
                    .iter()
                    .filter(|f| f.default.is_none())
                    .map(|f| f.name.clone())
                    .collect();
                if !without_default.is_empty() {
                    self.report.unfilled.insert(t.id, without_default);
                }
            }
        }

        if !fresh.is_empty() || entry.is_none() {
            let e = entry.get_or_insert_with(|| Locked {
                type_name: t.type_name.clone(),
                inputs: inputs.clone(),
                model: None,
                fields: BTreeMap::new(),
            });
            e.model = model_record;
            for (field, mut locked) in fresh {
                self.report.new.push(format!("{}.{field}", t.name));
                out.push((
                    field.clone(),
                    locked.value.clone(),
                    shown_source(&locked, true),
                ));
                // The lock is committed: a secret in a value (a URL the
                // model built with the password) is kept as its placeholder
                // — only the secrets this declaration was shown, which are
                // the only ones its values can hold (restored from the
                // placeholders it was shown, or built by rules from what it
                // connects to); what merely equals another's stays.
                locked.value = t.placeholders.hide_shown(&locked.value, &t.shown);
                e.fields.insert(field, locked);
            }
        }
        if let Some(entry) = entry
            && self.mode == Mode::Complete
            && !entry.fields.is_empty()
        {
            self.lock.of(t.kind).insert(t.name.clone(), entry);
            self.seen.insert(key);
        } else if replay {
            self.seen.insert(key);
        }
        Ok(out)
    }

    /// Validates again, with what completion filled, every declaration of
    /// `kinds` whose problems were left for after completion; a
    /// connection's or an assertion's config becomes the normalised one.
    /// Returns the problems that remain.
    pub async fn revalidate(
        &self,
        project: &mut Declared,
        specs: Option<&BTreeMap<DeclId, crate::resolve::Spec>>,
        plugins: &dyn CompletionPlugins,
        sources: &crate::load::Sources,
        kinds: &[PluginKind],
    ) -> Result<Vec<crate::load::Located>, CompleteError> {
        let mut problems = Vec::new();
        let ids: Vec<DeclId> = project
            .declarations
            .iter()
            .filter(|d| d.deferred && kinds.contains(&d.kind))
            .map(|d| d.id)
            .collect();
        for id in ids {
            let d = project.get(id);
            if plugins.plugin_name(&d.type_name).is_none() {
                continue;
            }
            let config = match specs.and_then(|s| s.get(&id)) {
                Some(spec) => spec.fields.clone(),
                None => d.config.clone(),
            };
            let result = plugins
                .validate(&d.type_name, &d.name, Json::Object(config))
                .await?;
            let d = &mut project.declarations[id.0];
            match result {
                Ok(Json::Object(mut normalised)) if d.kind != PluginKind::Resource => {
                    for structural in crate::load::structural_fields(d.kind) {
                        normalised.remove(*structural);
                    }
                    d.config = normalised;
                }
                Ok(_) => {}
                Err(diagnostics) => {
                    let source = sources.get(&d.location.file.display().to_string()).cloned();
                    let (errors, _) = crate::load::located(d, source, diagnostics);
                    problems.extend(errors);
                }
            }
            d.deferred = false;
        }
        Ok(problems)
    }

    /// Writes the lock when this run changed it (entries of declarations
    /// no longer declared are dropped, as Cargo drops unused packages).
    pub fn finish(&mut self, files: &ProjectDir) -> Result<(), CompleteError> {
        if self.mode != Mode::Complete {
            return Ok(());
        }
        for kind in PluginKind::ALL {
            let seen = &self.seen;
            self.lock
                .of(kind)
                .retain(|name, _| seen.contains(&(kind, name.clone())));
        }
        let empty = self.lock.is_empty();
        let existed = files
            .metadata(std::path::Path::new(lock::LOCK_FILE))
            .is_ok();
        if self.lock != self.read && (existed || !empty) {
            self.lock.write(files)?;
            self.report.wrote_lock = true;
        }
        Ok(())
    }
}

/// One declaration being completed.
struct Target<'a> {
    /// Its kind: names are unique within one; an assertion's `function`
    /// fields may be written by the model.
    kind: PluginKind,
    name: String,
    type_name: String,
    id: DeclId,
    schema: &'a TypeSchema,
    plugins: &'a dyn CompletionPlugins,
    /// Its fields so far (for a connection or an assertion, the user's).
    current: Map<String, Json>,
    missing: Vec<String>,
    context: Context,
    placeholders: &'a Placeholders,
    /// The placeholders its context showed: the only ones an answer or
    /// its lock entry may use.
    shown: Shown,
    /// The networks and volumes the project declares.
    declared: &'a DeclaredByProject,
    /// Where it is declared.
    location: crate::model::Location,
    /// Whether it has a description.
    described: bool,
}

impl<'a> Target<'a> {
    #[allow(clippy::too_many_arguments, reason = "one declaration's whole context")]
    fn new(
        d: &Declaration,
        schema: &'a TypeSchema,
        plugins: &'a dyn CompletionPlugins,
        current: Map<String, Json>,
        missing: Vec<String>,
        context: Context,
        placeholders: &'a Placeholders,
        declared: &'a DeclaredByProject,
    ) -> Self {
        Target {
            shown: context.shown(),
            declared,
            location: d.location.clone(),
            kind: d.kind,
            name: d.name.to_string(),
            type_name: d.type_name.to_string(),
            id: d.id,
            schema,
            plugins,
            described: has_description(&current),
            current,
            missing,
            context,
            placeholders,
        }
    }
}

impl Target<'_> {
    /// A value from anyone but the user for `field`, its placeholders
    /// restored: refused when it names a secret the context did not show,
    /// or does what only the user may ask for ([`trust::refusal`]).
    fn untrusted(&self, field: &str, value: &Json, origin: Origin) -> Result<Json, CompleteError> {
        let refused = |problem: String| {
            CompleteError::Refused(Box::new(Refusal {
                declaration: self.name.clone(),
                type_name: self.type_name.clone(),
                location: self.location.clone(),
                field: field.to_string(),
                origin: origin.clone(),
                problem,
            }))
        };
        let value = self.placeholders.restore(value, &self.shown).map_err(|p| {
            refused(format!(
                "it names the secret `{p}`, which is not a secret of `{}` or of what it connects to",
                self.name
            ))
        })?;
        // A function from anyone but the user is its source alone, checked
        // as a model's answer is: one module of `def`s, no values of its
        // own (a lock's program could carry globals that reach resources).
        let is_function = self
            .schema
            .field(field)
            .and_then(|f| f.parsed_type())
            .is_some_and(|ty| ty == clockwork_schema::ValueType::Function);
        let value = if is_function {
            let entry = value["entry"]["module"].as_str().unwrap_or_default();
            let source = value["modules"][entry]["source"]
                .as_str()
                .unwrap_or_default();
            let module = format!("{}/{}.star", lock::LOCK_FILE, self.name);
            crate::load::program_from_source(&module, source, function_arity(self.schema))
                .map_err(|e| refused(e.to_string()))?
        } else {
            value
        };
        if let Some(problem) = self
            .schema
            .field(field)
            .and_then(|f| trust::refusal(f, &value, self.declared))
        {
            return Err(refused(problem));
        }
        Ok(value)
    }
}

/// Placeholders for the project's secrets, labelled by the declarations'
/// configs (before `resolve`).
fn declared_placeholders(project: &Declared) -> Placeholders {
    let places: Vec<(String, Json)> = project
        .declarations
        .iter()
        .map(|d| (d.name.to_string(), Json::Object(d.config.clone())))
        .collect();
    Placeholders::new(project.secrets.iter().cloned(), &places)
}

/// Puts what completion filled into a connection's or an assertion's
/// config, remembering where each came from.
fn record(d: &mut Declaration, filled: Vec<(String, Json, String)>) {
    for (field, value, source) in filled {
        d.config.insert(field.clone(), value);
        d.completed.insert(field, source);
    }
}

/// The completable fields `is_set` says are missing.
fn missing_fields(schema: &TypeSchema, is_set: impl Fn(&str) -> bool) -> Vec<String> {
    schema
        .fields
        .iter()
        .filter(|f| f.completable && !is_set(&f.name))
        .map(|f| f.name.clone())
        .collect()
}

/// Whether the user described the declaration: a `description`, or an
/// assertion's check in words (`assertion`).
fn has_description(fields: &Map<String, Json>) -> bool {
    ["description", "assertion"].iter().any(|key| {
        fields
            .get(*key)
            .and_then(Json::as_str)
            .is_some_and(|d| !d.trim().is_empty())
    })
}

/// Whether `value` has the type of `field`.
fn fits(schema: &TypeSchema, field: &str, value: &Json) -> bool {
    !value.is_null()
        && schema
            .field(field)
            .and_then(|f| f.parsed_type())
            .is_some_and(|ty| ty.check(value).is_ok())
}

/// `plan`'s text for a completed field's source.
fn shown_source(field: &LockedField, new: bool) -> String {
    let mut text = match (&field.reason, field.source.strip_prefix("model:")) {
        (_, Some(model)) => format!("model {model}"),
        (Some(reason), None) => format!("{}: {reason}", field.source),
        (None, None) => field.source.clone(),
    };
    if new {
        text.push_str(", new");
    }
    text
}

/// A declaration as context: type, name, description, and its fields with
/// every secret replaced by a placeholder.
fn described(d: &Declaration, fields: &Map<String, Json>, placeholders: &Placeholders) -> Json {
    let mut shown = fields.clone();
    shown.remove("description");
    shown.remove("name");
    let mut out = json!({
        "type": d.type_name,
        "name": d.name,
        "fields": placeholders.hide(&Json::Object(shown)),
    });
    if let Some(description) = fields
        .get("description")
        .or_else(|| d.fields.get("description"))
    {
        out["description"] = placeholders.hide(description);
    }
    out
}

/// Every secret the resolved project holds: the declared ones and what
/// connections put together (a URL with its password).
pub fn secrets_of(graph: &Graph) -> BTreeSet<String> {
    let mut secrets: BTreeSet<String> = graph.project.secrets.iter().cloned().collect();
    for spec in graph.specs.values() {
        crate::secret::scan(&Json::Object(spec.fields.clone()), false, &mut secrets);
    }
    for c in &graph.connections {
        for (key, value) in &c.outputs {
            crate::secret::scan(&json!({ key: value }), false, &mut secrets);
        }
    }
    secrets
}

/// Fills the schema's defaults into every resource's spec where the user,
/// the connections and completion left the field out.
pub fn defaults(graph: &mut Graph, plugins: &dyn CompletionPlugins) {
    for (id, spec) in graph.specs.iter_mut() {
        if let Some(schema) = plugins.schema(&graph.project.get(*id).type_name) {
            spec.fill_defaults(schema);
        }
    }
}
