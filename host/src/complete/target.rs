//! One declaration being completed, and what it is judged against.
//!
//! Its context (itself and its neighbours with every secret as a
//! placeholder), the project's placeholders and what the project declares
//! are made the first time something needs them: most declarations have
//! optional fields left out that no rule, lock entry or model fills, and
//! for those nothing but the rules is asked. A pass's placeholders and
//! declared networks are made once, at its first target that needs them;
//! no value was completed in that pass before (every value is judged with
//! them), so they are what they would have been at its start.

use std::sync::OnceLock;

use clockwork_schema::TypeSchema;
use serde_json::{Map, Value as Json, json};

use crate::complete::lock;
use crate::complete::prompt::{Context, Placeholders, Shown};
use crate::complete::trust::{Declared as DeclaredByProject, Origin};
use crate::complete::{CompleteError, CompletionPlugins, Refusal, function_arity};
use crate::model::{DeclId, Declaration, Declared, PluginKind};

/// A value and where it came from, as `plan` shows it.
pub(super) type Filled = (String, Json, String);

/// What the targets of one pass share, made at the first that needs it.
#[derive(Default)]
pub(super) struct PassCells {
    placeholders: OnceLock<Placeholders>,
    declared: OnceLock<DeclaredByProject>,
}

/// How a target's surroundings are made, when first needed.
pub(super) struct Makers<'a> {
    /// The project's secrets as placeholders, labelled by where they are.
    pub placeholders: Box<dyn Fn() -> Placeholders + Send + Sync + 'a>,
    /// The networks and volumes the project declares.
    pub declared: Box<dyn Fn() -> DeclaredByProject + Send + Sync + 'a>,
    /// The declaration and its neighbours, as the model would see them.
    pub context: Box<dyn Fn(&Placeholders) -> Context + Send + Sync + 'a>,
}

/// One declaration being completed.
pub(super) struct Target<'a> {
    /// Its kind: names are unique within one; an assertion's `function`
    /// fields may be written by the model.
    pub kind: PluginKind,
    pub name: String,
    pub type_name: String,
    pub id: DeclId,
    pub schema: &'a TypeSchema,
    pub plugins: &'a dyn CompletionPlugins,
    /// Its fields so far (for a connection or an assertion, the user's).
    pub current: Map<String, Json>,
    pub missing: Vec<String>,
    /// Where it is declared.
    pub location: crate::model::Location,
    /// Whether it has a description.
    pub described: bool,
    cells: &'a PassCells,
    makers: Makers<'a>,
    context: OnceLock<Context>,
    shown: OnceLock<Shown>,
}

impl<'a> Target<'a> {
    pub fn new(
        d: &Declaration,
        schema: &'a TypeSchema,
        plugins: &'a dyn CompletionPlugins,
        current: Map<String, Json>,
        missing: Vec<String>,
        cells: &'a PassCells,
        makers: Makers<'a>,
    ) -> Self {
        Target {
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
            cells,
            makers,
            context: OnceLock::new(),
            shown: OnceLock::new(),
        }
    }

    /// The project's secrets as placeholders.
    pub fn placeholders(&self) -> &Placeholders {
        self.cells
            .placeholders
            .get_or_init(|| (self.makers.placeholders)())
    }

    /// The networks and volumes the project declares.
    pub fn declared(&self) -> &DeclaredByProject {
        self.cells.declared.get_or_init(|| (self.makers.declared)())
    }

    /// The declaration and its neighbours, secrets as placeholders.
    pub fn context(&self) -> &Context {
        self.context
            .get_or_init(|| (self.makers.context)(self.placeholders()))
    }

    /// The placeholders its context showed: the only ones an answer or
    /// its lock entry may use.
    pub fn shown(&self) -> &Shown {
        self.shown.get_or_init(|| self.context().shown())
    }

    /// The hash of what its completion depends on, as the lock records it.
    pub fn inputs(&self) -> String {
        lock::hash(&json!({
            "type": self.type_name,
            "context": self.context().inputs(),
            "missing": self.missing,
        }))
    }

    /// A value from anyone but the user for `field`, its placeholders
    /// restored: refused when it names a secret the context did not show,
    /// or does what only the user may ask for ([`super::trust::refusal`]).
    pub fn untrusted(
        &self,
        field: &str,
        value: &Json,
        origin: Origin,
    ) -> Result<Json, CompleteError> {
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
        let value = self
            .placeholders()
            .restore(value, self.shown())
            .map_err(|p| {
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
            .and_then(|f| super::trust::refusal(f, &value, self.declared()))
        {
            return Err(refused(problem));
        }
        Ok(value)
    }
}

/// Placeholders for the project's secrets, labelled by the declarations'
/// configs (before `resolve`).
pub(super) fn declared_placeholders(project: &Declared) -> Placeholders {
    let places: Vec<(String, Json)> = project
        .declarations
        .iter()
        .map(|d| (d.name.to_string(), Json::Object(d.config.clone())))
        .collect();
    Placeholders::new(project.secrets.iter().cloned(), &places)
}

/// A declaration as context: type, name, description, and its fields with
/// every secret replaced by a placeholder.
pub(super) fn described(
    d: &Declaration,
    fields: &Map<String, Json>,
    placeholders: &Placeholders,
) -> Json {
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

/// The completable fields `is_set` says are missing.
pub(super) fn missing_fields(schema: &TypeSchema, is_set: impl Fn(&str) -> bool) -> Vec<String> {
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
