//! Asking the model about one declaration: the request, the answer
//! checked against the field types, the plugin's `validate` and the
//! project's secrets, and one more try with the problem when it does not
//! fit.

use std::collections::BTreeSet;

use clockwork_schema::TypeSchema;
use serde_json::{Map, Value as Json, json};

use crate::complete::chat::{ChatError, Message, Probe};
use crate::complete::lock::{self, LockedField, ModelRecord};
use crate::complete::prompt::{self, Placeholders};
use crate::complete::target::Target;
use crate::complete::{CompleteError, Completer, Model};
use crate::plugin::bindings::types::Severity;

use clockwork_schema::FieldSchema;

/// A field the model gave no usable value for, after being asked again
/// with the problem.
#[derive(Debug, Clone)]
pub(super) struct Unusable {
    pub field: String,
    /// Why the answer was not used.
    pub problem: String,
    /// What the model answered for it (masked when shown).
    pub answered: String,
}

/// What the model gave for one declaration.
pub(super) struct Answered {
    /// The values that passed every check, as the lock holds them.
    pub values: Vec<(String, LockedField)>,
    /// The fields left to their rules or defaults.
    pub unusable: Vec<Unusable>,
    /// What the rules, asked again with the model's values, gave fields
    /// still missing.
    pub after: Vec<(String, LockedField)>,
    /// The record of the asking, when every field asked was filled.
    /// Without it, the next run asks again for what is still missing (and
    /// only that).
    pub record: Option<ModelRecord>,
    /// Requests sent.
    pub requests: u32,
}

impl Completer {
    /// Probes the model once a run, before its first question: whether its
    /// server holds answers to the schema. A server that does not answer
    /// is an error.
    pub(super) async fn probe_once(&mut self, t: &Target<'_>) -> Result<(), CompleteError> {
        let Some(client) = self.client.as_deref() else {
            return Ok(());
        };
        if self.probed {
            return Ok(());
        }
        self.probed = true;
        self.report.requests += 1;
        let probe = client.probe().await.map_err(|error| CompleteError::Model {
            declaration: t.name.clone(),
            type_name: t.type_name.clone(),
            error,
        })?;
        say_how_answers_are_held(client, &probe);
        Ok(())
    }

    /// Asks the model for `left`, checks each answered field against its
    /// type, the project's secrets and what only the user may ask for, then
    /// the whole against the plugin's `validate`; asks once more for the
    /// fields that did not fit, with the problems. What still does not fit
    /// is left out (its rule or default applies) and said; a declaration
    /// that cannot do without it fails when it is validated again.
    pub(super) async fn ask_model(
        &self,
        t: &Target<'_>,
        left: &[&FieldSchema],
        rules: &[(String, LockedField)],
    ) -> Result<Answered, CompleteError> {
        let Some(client) = self.client.as_deref() else {
            return Ok(Answered {
                values: Vec::new(),
                unusable: Vec::new(),
                after: Vec::new(),
                record: None,
                requests: 0,
            });
        };
        let model_error = |error: ChatError| CompleteError::Model {
            declaration: t.name.clone(),
            type_name: t.type_name.clone(),
            error,
        };
        let mut current = t.current.clone();
        for (field, locked) in rules {
            current.insert(field.clone(), locked.value.clone());
        }
        // The same for both attempts: found once.
        let parameters = resource_parameters(t.schema);
        let mut asking: Vec<&FieldSchema> = left.to_vec();
        let mut fit: Vec<(String, Json)> = Vec::new();
        let mut unusable: Vec<Unusable> = Vec::new();
        let mut first_record: Option<ModelRecord> = None;
        let mut note: Option<String> = None;
        let mut requests = 0;
        for attempt in 0..2 {
            let schema = prompt::response_schema(&asking);
            let messages = prompt::messages(
                &t.schema.doc,
                &asking,
                &parameters,
                t.context(),
                note.as_deref(),
            );
            requests += 1;
            let started = std::time::Instant::now();
            let schema_name = format!("{}_fields", t.type_name);
            let asked = client
                .ask(&messages, &schema_name, &schema, attempt > 0)
                .await;
            crate::output::detail(&format!(
                "model {} answered for `{}` in {} ms",
                client.name(),
                t.name,
                started.elapsed().as_millis()
            ));
            match asked {
                Ok(answer) => {
                    let mut with_fit = current.clone();
                    with_fit.extend(fit.iter().cloned());
                    let judged = self
                        .check_answer(t, &asking, &answer.value, &with_fit)
                        .await?;
                    if !judged.fit.is_empty() && first_record.is_none() {
                        first_record = Some(ModelRecord {
                            name: client.name().to_string(),
                            id: answer.model_id,
                            system_fingerprint: answer.system_fingerprint,
                            prompt: prompt_hash(&messages),
                            schema: lock::hash(&schema),
                        });
                    }
                    fit.extend(judged.fit);
                    unusable = judged.unfit;
                }
                // A server that is down or refuses is an error; only what
                // it answered is judged and left out.
                Err(e) if !e.answer_problem() => return Err(model_error(e)),
                Err(e) => {
                    unusable = asking
                        .iter()
                        .map(|f| Unusable {
                            field: f.name.clone(),
                            problem: e.to_string(),
                            answered: String::new(),
                        })
                        .collect();
                }
            }
            if unusable.is_empty() {
                break;
            }
            note = Some(
                unusable
                    .iter()
                    .map(|u| format!("`{}`: {}", u.field, u.problem))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            asking = left
                .iter()
                .copied()
                .filter(|f| unusable.iter().any(|u| u.field == f.name))
                .collect();
        }
        let record = if !unusable.is_empty() {
            None
        } else {
            Some(first_record.unwrap_or_else(|| ModelRecord {
                name: client.name().to_string(),
                ..empty_record()
            }))
        };
        Ok(Answered {
            values: locked_by_model(client.name(), fit),
            unusable,
            after: Vec::new(),
            record,
            requests,
        })
    }

    /// Each answered field judged on its own, then the fitting ones
    /// together by the plugin's `validate`: an error at one of them moves
    /// it to the unfit.
    async fn check_answer(
        &self,
        t: &Target<'_>,
        asked: &[&FieldSchema],
        answer: &Json,
        current: &Map<String, Json>,
    ) -> Result<Judged, CompleteError> {
        let mut judged = Judged::default();
        for field in asked {
            match check_field(t, field, answer) {
                Ok(Some(value)) => judged.fit.push((field.name.clone(), value)),
                Ok(None) => {}
                Err(unfit) => judged.unfit.push(unfit),
            }
        }
        // Each round moves one field out, so this ends.
        loop {
            let mut config = current.clone();
            config.extend(judged.fit.iter().cloned());
            let Err(diagnostics) = t
                .plugins
                .validate(&t.type_name, &t.name, Json::Object(config))
                .await?
            else {
                return Ok(judged);
            };
            let Some(d) = diagnostics.iter().find(|d| d.severity == Severity::Error) else {
                return Ok(judged);
            };
            let path = d.path.as_deref().map(crate::model::FieldPath::from_pointer);
            let field = path
                .as_ref()
                .and_then(|p| p.field())
                .unwrap_or_default()
                .to_string();
            match judged.fit.iter().position(|(f, _)| *f == field) {
                Some(at) => {
                    let (field, value) = judged.fit.remove(at);
                    judged.unfit.push(Unusable {
                        field,
                        problem: d.summary.clone(),
                        answered: value.to_string(),
                    });
                }
                // About a field the model could not fill, or the user's
                // own: validated again after completion.
                None => return Ok(judged),
            }
        }
    }
}

/// An answer judged.
#[derive(Default)]
struct Judged {
    fit: Vec<(String, Json)>,
    unfit: Vec<Unusable>,
}

/// One answered field: its value, `None` for a type this host cannot
/// read, or why it is unusable.
fn check_field(
    t: &Target<'_>,
    field: &FieldSchema,
    answer: &Json,
) -> Result<Option<Json>, Unusable> {
    let Some(ty) = field.parsed_type() else {
        return Ok(None);
    };
    let unusable = |problem: String, answered: &Json| Unusable {
        field: field.name.clone(),
        problem,
        answered: answered.to_string(),
    };
    let Some(raw) = answer.get(&field.name) else {
        return Err(unusable("the answer has no value for it".into(), answer));
    };
    // Only the placeholders this declaration's prompt showed come back as
    // secrets; naming another is reaching for a secret it was not given.
    let raw = &t.placeholders().restore(raw, t.shown()).map_err(|placeholder| {
        unusable(
            format!(
                "it names the secret `{placeholder}`, which is not a secret of `{}` or of what it connects to",
                t.name
            ),
            raw,
        )
    })?;
    let value = if ty == clockwork_schema::ValueType::Function {
        let module = format!("{}/{}.star", lock::LOCK_FILE, t.name);
        let source = raw.as_str().unwrap_or_default();
        crate::load::program_from_source(&module, source, function_arity(t.schema))
            .map_err(|problem| unusable(problem.to_string(), raw))?
    } else {
        ty.normalize(&prompt::from_strict(&ty, raw))
    };
    ty.check(&value)
        .map_err(|mismatch| unusable(mismatch.to_string(), raw))?;
    // Secrets are never completed: a secret the model made up (a password
    // under `POSTGRES_PASSWORD`, one inside a URL) would land in the
    // committed lock. A placeholder it was shown, made the user's secret
    // again, is fine.
    let value = without_invented_secrets(&field.name, field.secret, value, t.placeholders())
        .map_err(|problem| unusable(problem, raw))?;
    if let Some(problem) = super::trust::refusal(field, &value, t.declared()) {
        return Err(unusable(problem, raw));
    }
    Ok(Some(value))
}

/// Says, once a run, whether the model's server holds answers to the
/// response schema or they are only checked after.
fn say_how_answers_are_held(client: &dyn Model, p: &Probe) {
    if p.enforced {
        crate::output::detail(&format!(
            "model {} at {}: structured output is enforced ({} ms)",
            p.model_id,
            client.base_url(),
            p.latency.as_millis()
        ));
    } else {
        crate::output::note(&format!(
            "model {} at {} does not enforce the response schema (asked for an integer field, it answered {}); answers are checked and asked again once when they do not fit",
            p.model_id,
            client.base_url(),
            crate::output::masked(&p.text)
        ));
    }
}

/// The fields of a type that name a resource: the parameters of a
/// completed function.
fn resource_parameters(schema: &TypeSchema) -> Vec<String> {
    schema
        .fields
        .iter()
        .filter(|f| {
            f.parsed_type()
                .is_some_and(|ty| matches!(ty, clockwork_schema::ValueType::Resource(_)))
        })
        .map(|f| f.name.clone())
        .collect()
}

/// The hash of the prompt, as the lock records it.
fn prompt_hash(messages: &[Message]) -> String {
    lock::hash(&Json::Array(
        messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect(),
    ))
}

/// Values the model `model` gave, as the lock holds them.
fn locked_by_model(model: &str, values: Vec<(String, Json)>) -> Vec<(String, LockedField)> {
    let source = format!("model:{model}");
    values
        .into_iter()
        .map(|(field, value)| {
            (
                field,
                LockedField {
                    value,
                    source: source.clone(),
                    reason: None,
                },
            )
        })
        .collect()
}

fn empty_record() -> ModelRecord {
    ModelRecord {
        name: String::new(),
        id: String::new(),
        system_fingerprint: None,
        prompt: String::new(),
        schema: String::new(),
    }
}

/// `value` without what holds a secret the user did not declare: a map's
/// entries are dropped (with a note), any other value is refused.
fn without_invented_secrets(
    field: &str,
    secret: bool,
    value: Json,
    placeholders: &Placeholders,
) -> Result<Json, String> {
    let invented = |v: &Json, key: Option<&str>| {
        let mut found = BTreeSet::new();
        let named = key.is_some_and(crate::secret::is_secret_name);
        crate::secret::scan(v, secret || named, &mut found);
        // `{password}` in a connection string template is a slot, not a
        // secret.
        let slot = |s: &str| s.starts_with('{') && s.ends_with('}');
        found
            .into_iter()
            .any(|s| !slot(&s) && !placeholders.knows(&s))
    };
    match value {
        Json::Object(map) => {
            let mut kept = Map::new();
            for (key, v) in map {
                if invented(&v, Some(&key)) {
                    let key = crate::output::inert(&key);
                    crate::output::note(&format!(
                        "the model proposed a secret for `{field}.{key}`; secrets are never completed, so it is left out: set it yourself, e.g. with env(\"{key}\")"
                    ));
                } else {
                    kept.insert(key, v);
                }
            }
            Ok(Json::Object(kept))
        }
        other if invented(&other, None) => Err(
            "it holds a secret the model made up (secrets are never completed: use the placeholders shown, or leave it out)".into(),
        ),
        other => Ok(other),
    }
}

/// A completed function takes one parameter per resource field of its
/// type (`PythonAssert(resource)` one, `CrossResourceAssert(source,
/// target)` two).
pub fn function_arity(schema: &TypeSchema) -> usize {
    schema
        .fields
        .iter()
        .filter(|f| {
            f.parsed_type()
                .is_some_and(|t| matches!(t, clockwork_schema::ValueType::Resource(_)))
        })
        .count()
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_model_gave_is_locked_as_the_models() {
        let locked = locked_by_model("local", vec![("image".into(), json!("nginx"))]);
        assert_eq!(locked.len(), 1);
        let (field, locked) = &locked[0];
        assert_eq!(field, "image");
        assert_eq!(locked.value, json!("nginx"));
        assert_eq!(locked.source, "model:local");
        assert_eq!(locked.reason, None);
    }

    #[test]
    fn the_resource_fields_of_a_type_are_the_parameters_of_its_function() {
        let field = |name: &str, value_type: &str| FieldSchema {
            name: name.into(),
            value_type: value_type.into(),
            doc: String::new(),
            required: false,
            default: None,
            completable: true,
            forces_replace: false,
            secret: false,
            examples: Vec::new(),
            receives: None,
        };
        let schema = TypeSchema {
            name: "CrossResourceAssert".into(),
            doc: String::new(),
            fields: vec![
                field("source", "resource"),
                field("check", "function"),
                field("target", "resource<DockerResource>"),
                field("timeout", "duration"),
            ],
        };
        assert_eq!(resource_parameters(&schema), ["source", "target"]);
        assert_eq!(function_arity(&schema), 2);
    }
}
