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

impl Completer {
    /// Asks the model for `left`, validates the answer against the field
    /// types and the plugin's `validate`, and asks once more with the
    /// problems when it does not fit.
    pub(super) async fn ask_model(
        &mut self,
        t: &Target<'_>,
        left: &[&FieldSchema],
        rules: &[(String, LockedField)],
    ) -> Result<(Vec<(String, LockedField)>, ModelRecord), CompleteError> {
        let model_error = |error: ChatError| CompleteError::Model {
            declaration: t.name.clone(),
            type_name: t.type_name.clone(),
            error,
        };
        let Some(client) = self.client.as_deref() else {
            return Ok((Vec::new(), empty_record()));
        };
        if !self.probed {
            self.probed = true;
            self.report.requests += 1;
            let probe = client.probe().await.map_err(model_error)?;
            say_how_answers_are_held(client, &probe);
        }
        let schema = prompt::response_schema(left);
        let schema_name = format!("{}_fields", t.type_name);
        let mut current = t.current.clone();
        for (field, locked) in rules {
            current.insert(field.clone(), locked.value.clone());
        }
        // The same for both attempts: found once.
        let parameters = resource_parameters(t.schema);
        let mut note: Option<String> = None;
        for attempt in 0..2 {
            let messages = prompt::messages(
                &t.schema.doc,
                left,
                &parameters,
                t.context(),
                note.as_deref(),
            );
            self.report.requests += 1;
            let started = std::time::Instant::now();
            let asked = client
                .ask(&messages, &schema_name, &schema, attempt > 0)
                .await;
            crate::output::detail(&format!(
                "model {} answered for `{}` in {} ms",
                client.name(),
                t.name,
                started.elapsed().as_millis()
            ));
            let answer = match asked {
                Ok(answer) => answer,
                Err(e) if e.answer_problem() && attempt == 0 => {
                    note = Some(e.to_string());
                    continue;
                }
                Err(e) => return Err(model_error(e)),
            };
            match self.check_answer(t, left, &answer.value, &current).await? {
                Ok(values) => {
                    let record = ModelRecord {
                        name: client.name().to_string(),
                        id: answer.model_id,
                        system_fingerprint: answer.system_fingerprint,
                        prompt: prompt_hash(&messages),
                        schema: lock::hash(&schema),
                    };
                    return Ok((locked_by_model(client.name(), values), record));
                }
                Err((field, problem, answered)) if attempt == 1 => {
                    // The problem may quote the answer (a plugin's
                    // diagnostic of a name it was given): inert text.
                    return Err(CompleteError::BadAnswer {
                        declaration: t.name.clone(),
                        type_name: t.type_name.clone(),
                        field: crate::output::inert(&field),
                        problem: crate::output::inert(&problem),
                        answered: crate::output::inert(&crate::output::masked(&answered)),
                    });
                }
                Err((field, problem, _)) => {
                    note = Some(format!("`{field}`: {problem}"));
                }
            }
        }
        Err(model_error(ChatError::Protocol(
            "no answer after two attempts".into(),
        )))
    }

    /// The answer as field values, or (field, problem, what it answered).
    async fn check_answer(
        &self,
        t: &Target<'_>,
        left: &[&FieldSchema],
        answer: &Json,
        current: &Map<String, Json>,
    ) -> Result<Result<Vec<(String, Json)>, (String, String, String)>, CompleteError> {
        let mut values = Vec::new();
        for field in left {
            let Some(ty) = field.parsed_type() else {
                continue;
            };
            let Some(raw) = answer.get(&field.name) else {
                return Ok(Err((
                    field.name.clone(),
                    "the answer has no value for it".into(),
                    answer.to_string(),
                )));
            };
            // Only the placeholders this declaration's prompt showed come
            // back as secrets; naming another is reaching for a secret it
            // was not given.
            let raw = &match t.placeholders().restore(raw, t.shown()) {
                Ok(restored) => restored,
                Err(placeholder) => {
                    return Ok(Err((
                        field.name.clone(),
                        format!(
                            "it names the secret `{placeholder}`, which is not a secret of `{}` or of what it connects to",
                            t.name
                        ),
                        raw.to_string(),
                    )));
                }
            };
            let value = if ty == clockwork_schema::ValueType::Function {
                let module = format!("{}/{}.star", lock::LOCK_FILE, t.name);
                let source = raw.as_str().unwrap_or_default();
                match crate::load::program_from_source(&module, source, function_arity(t.schema)) {
                    Ok(program) => program,
                    Err(problem) => {
                        return Ok(Err((
                            field.name.clone(),
                            problem.to_string(),
                            raw.to_string(),
                        )));
                    }
                }
            } else {
                ty.normalize(&prompt::from_strict(&ty, raw))
            };
            if let Err(mismatch) = ty.check(&value) {
                return Ok(Err((
                    field.name.clone(),
                    mismatch.to_string(),
                    raw.to_string(),
                )));
            }
            // Secrets are never completed: a secret the model made up (a
            // password under `POSTGRES_PASSWORD`, one inside a URL) would
            // land in the committed lock. A placeholder it was shown, made
            // the user's secret again, is fine.
            let value = match without_invented_secrets(
                &field.name,
                field.secret,
                value,
                t.placeholders(),
            ) {
                Ok(value) => value,
                Err(problem) => return Ok(Err((field.name.clone(), problem, raw.to_string()))),
            };
            if let Some(problem) = super::trust::refusal(field, &value, t.declared()) {
                return Ok(Err((field.name.clone(), problem, raw.to_string())));
            }
            values.push((field.name.clone(), value));
        }
        let mut config = current.clone();
        for (field, value) in &values {
            config.insert(field.clone(), value.clone());
        }
        let config = Json::Object(config);
        if let Err(diagnostics) = t
            .plugins
            .validate(&t.type_name, &t.name, config.clone())
            .await?
            && let Some(d) = diagnostics.iter().find(|d| d.severity == Severity::Error)
        {
            let field = d
                .path
                .as_deref()
                .map(|p| {
                    p.trim_start_matches('/')
                        .split('/')
                        .next()
                        .unwrap_or(p)
                        .to_string()
                })
                .unwrap_or_else(|| "?".into());
            let answered = values
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| answer.to_string());
            return Ok(Err((field, d.summary.clone(), answered)));
        }
        Ok(Ok(values))
    }
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
