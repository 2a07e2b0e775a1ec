//! One declaration's completion: the lock while it still fits, else the
//! plugin's rules, then the model for what is left, recorded in the lock.

use std::collections::{BTreeMap, BTreeSet};

use clockwork_schema::{FieldSchema, TypeSchema};
use futures::StreamExt;
use serde_json::Value as Json;

use crate::complete::lock::{Locked, LockedField, ModelRecord};
use crate::complete::prompt;
use crate::complete::target::{Filled, Target};
use crate::complete::trust::Origin;
use crate::complete::{CompleteError, Completer, Mode, RulesFor};
use crate::model::PluginKind;
use crate::plugin::bindings::types::Suggestion;

/// Questions to the model in flight at once: a local server answers one
/// at a time anyway, a hosted one several.
const MODEL_REQUESTS_AT_ONCE: usize = 4;

/// One declaration on its way: what the lock and the rules gave, and what
/// is left for a model.
pub(super) struct Prepared<'t> {
    t: Target<'t>,
    entry: Option<Locked>,
    replay: bool,
    out: Vec<Filled>,
    fresh: Vec<(String, LockedField)>,
    /// The fields to ask a model for; empty: none is asked.
    ask: Vec<&'t FieldSchema>,
    model_record: Option<ModelRecord>,
    /// What the rules were asked, to ask again after the model.
    rules: Option<RulesFor>,
}

impl<'t> Prepared<'t> {
    /// Whether a model is to be asked.
    pub(super) fn asks(&self) -> bool {
        !self.ask.is_empty()
    }
}

impl Completer {
    /// The lock when it still fits, else the rules (asked `rules`, when
    /// the type has any); and what is left for a model, if one may be
    /// asked.
    pub(super) async fn prepare<'t>(
        &mut self,
        t: Target<'t>,
        rules: Option<RulesFor>,
    ) -> Result<Prepared<'t>, CompleteError> {
        let entry = self.replayable(&t);
        let replay = entry.is_some();
        let (out, fresh) = match (&entry, &rules) {
            (Some(entry), _) => (replayed(&t, entry)?, Vec::new()),
            (None, Some(rules)) => (Vec::new(), from_rules(&t, asked(&t, rules.clone()).await?)?),
            (None, None) => (Vec::new(), Vec::new()),
        };

        // `--locked` completes nothing the lock does not hold: rules that
        // would fill a field now mean the lock is stale (a model is never
        // asked under `--locked`).
        if self.mode == Mode::Locked && !fresh.is_empty() {
            return Err(not_locked(&t, &fresh));
        }

        let left = left_for_model(&t, &out, &fresh);
        let asked_before = entry.as_ref().is_some_and(|e| e.model.is_some());
        let model_record = entry.as_ref().and_then(|e| e.model.clone());
        let mut ask = Vec::new();
        if !left.is_empty() && !asked_before {
            if self.client.is_some() {
                ask = left;
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
        Ok(Prepared {
            t,
            entry,
            replay,
            out,
            fresh,
            ask,
            model_record,
            rules,
        })
    }

    /// Asks the model about each of `prepared` that needs it, several at
    /// once, and records them in order: each one's answers are in the
    /// lock before a later one's error ends the run.
    pub(super) async fn ask_and_record<'t, K>(
        &mut self,
        prepared: Vec<(K, Prepared<'t>)>,
    ) -> Result<Vec<(K, Vec<Filled>)>, CompleteError> {
        if let Some((_, first)) = prepared.iter().find(|(_, p)| p.asks()) {
            self.probe_once(&first.t).await?;
        }
        let answers: Vec<_> = {
            let this: &Completer = self;
            futures::stream::iter(prepared.iter().map(|(_, p)| async move {
                if p.asks() {
                    this.ask(p).await.map(Some)
                } else {
                    Ok(None)
                }
            }))
            .buffered(MODEL_REQUESTS_AT_ONCE)
            .collect()
            .await
        };
        let mut filled = Vec::new();
        for ((key, p), answer) in prepared.into_iter().zip(answers) {
            filled.push((key, self.record(p, answer?)?));
        }
        Ok(filled)
    }

    /// Asks the model for what `prepared` leaves (many at once: this
    /// borrows the completer only to read), then the rules again about
    /// what is still missing, with the model's choices: they may follow
    /// from them (the ports of the image it picked, the mount path of the
    /// volume it named), and a field whose answer was unusable takes such
    /// a rule's value.
    pub(super) async fn ask(
        &self,
        prepared: &Prepared<'_>,
    ) -> Result<super::ask::Answered, CompleteError> {
        let t = &prepared.t;
        let mut answered = self.ask_model(t, &prepared.ask, &prepared.fresh).await?;
        let Some(rules) = &prepared.rules else {
            return Ok(answered);
        };
        if answered.values.is_empty() {
            return Ok(answered);
        }
        let chosen: Vec<&(String, LockedField)> =
            prepared.fresh.iter().chain(&answered.values).collect();
        let mut config = t.current.clone();
        for (field, value, _) in &prepared.out {
            config.insert(field.clone(), value.clone());
        }
        for (field, locked) in &chosen {
            config.insert(field.clone(), locked.value.clone());
        }
        let missing: Vec<String> = t
            .missing
            .iter()
            .filter(|f| !config.contains_key(f.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(answered);
        }
        let suggestions = asked(t, rules.again(&config, missing.clone())).await?;
        answered.after = from_rules(t, suggestions)?
            .into_iter()
            .filter(|(field, _)| missing.contains(field))
            .collect();
        Ok(answered)
    }

    /// Records what the lock, the rules and the model gave; what a model
    /// answered is written to the lock at once.
    pub(super) fn record(
        &mut self,
        prepared: Prepared<'_>,
        answered: Option<super::ask::Answered>,
    ) -> Result<Vec<Filled>, CompleteError> {
        let Prepared {
            t,
            mut entry,
            replay,
            mut out,
            mut fresh,
            mut model_record,
            ..
        } = prepared;
        let mut asked_now = false;
        if let Some(answered) = answered {
            self.report.requests += answered.requests;
            for unusable in &answered.unusable {
                let instead = answered.after.iter().find(|(f, _)| *f == unusable.field);
                say_unusable(&t, unusable, instead.map(|(_, locked)| locked));
            }
            // What validated is kept at once: a run that fails later
            // (another declaration, the plan) asks only the rest.
            asked_now = !answered.values.is_empty();
            fresh.extend(answered.values);
            fresh.extend(answered.after);
            model_record = answered.record;
        }
        if !fresh.is_empty() {
            let e = entry.get_or_insert_with(|| Locked {
                type_name: t.type_name.clone(),
                inputs: t.inputs(),
                model: None,
                fields: BTreeMap::new(),
            });
            self.record_fresh(&t, e, model_record, fresh, &mut out);
        }
        self.keep(&t, entry, replay);
        if asked_now {
            self.write_answers()?;
        }
        Ok(out)
    }

    /// The lock's entry for `t`, when its inputs are still `t`'s and the
    /// user did not ask to complete it afresh.
    fn replayable(&mut self, t: &Target<'_>) -> Option<Locked> {
        if self.refreshes(&t.name) {
            return None;
        }
        let entry = self.lock.of(t.kind).get(&t.name)?;
        (entry.type_name == t.type_name && entry.inputs == t.inputs()).then(|| entry.clone())
    }

    /// Puts what was completed now into the lock entry and `out`.
    fn record_fresh(
        &mut self,
        t: &Target<'_>,
        entry: &mut Locked,
        model: Option<ModelRecord>,
        fresh: Vec<(String, LockedField)>,
        out: &mut Vec<Filled>,
    ) {
        entry.model = model;
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
            locked.value = t.placeholders().hide_shown(&locked.value, t.shown());
            entry.fields.insert(field, locked);
        }
    }

    /// Keeps `entry` in the lock (and marks it used) when this run may
    /// write the lock and it holds a field.
    fn keep(&mut self, t: &Target<'_>, entry: Option<Locked>, replay: bool) {
        let key = (t.kind, t.name.clone());
        if let Some(entry) = entry
            && self.mode == Mode::Complete
            && !entry.fields.is_empty()
        {
            self.lock.of(t.kind).insert(t.name.clone(), entry);
            self.seen.insert(key);
        } else if replay {
            self.seen.insert(key);
        }
    }
}

/// What the rules of `t`'s plugin suggest for `input`; a plugin's error
/// leaves them with nothing to say.
async fn asked(t: &Target<'_>, input: RulesFor) -> Result<Vec<Suggestion>, CompleteError> {
    Ok(t.plugins
        .rules(&t.type_name, input)
        .await?
        .unwrap_or_default())
}

/// The lock's values for the fields `t` still misses. The lock comes from
/// a repository: each value passes the checks a model's answer does, and
/// one for a field the user set is ignored (theirs wins).
fn replayed(t: &Target<'_>, entry: &Locked) -> Result<Vec<Filled>, CompleteError> {
    let mut out = Vec::new();
    for (field, locked) in &entry.fields {
        if !t.missing.contains(field) {
            continue;
        }
        // A value of another shape (the plugin's field changed since) is
        // left, as it always was; one of the field's own shape is judged.
        if !fits(t.schema, field, &locked.value) {
            continue;
        }
        let value = t.untrusted(field, &locked.value, Origin::Lock)?;
        out.push((field.clone(), value, shown_source(locked, false)));
    }
    Ok(out)
}

/// What the plugin's rules suggested for the fields `t` misses, each of
/// the field's type and judged like any value the user did not write.
fn from_rules(
    t: &Target<'_>,
    suggestions: Vec<Suggestion>,
) -> Result<Vec<(String, LockedField)>, CompleteError> {
    let plugin_name = t
        .plugins
        .plugin_name(&t.type_name)
        .unwrap_or_default()
        .to_string();
    let mut fresh: Vec<(String, LockedField)> = Vec::new();
    for s in suggestions {
        if !t.missing.contains(&s.field) || fresh.iter().any(|(f, _)| *f == s.field) {
            continue;
        }
        let Ok(value) = serde_json::from_str::<Json>(&s.value) else {
            continue;
        };
        if !fits(t.schema, &s.field, &value) {
            continue;
        }
        // A plugin's rule is no more the user than a model is; one that
        // asks for what only the user may is left out, said.
        let value = match t.untrusted(&s.field, &value, Origin::Rules(plugin_name.clone())) {
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
    Ok(fresh)
}

/// A field the model could not fill, said once: the value a rule gave it
/// from the model's other choices (`instead`), else its default, or — for
/// one the declaration cannot do without — validating it again says what
/// to write.
fn say_unusable(t: &Target<'_>, unusable: &super::ask::Unusable, instead: Option<&LockedField>) {
    let answered = if unusable.answered.is_empty() {
        String::new()
    } else {
        format!(
            " (it answered {})",
            crate::output::inert(&crate::output::masked(&unusable.answered))
        )
    };
    let then = match instead {
        Some(locked) => format!(
            "it takes {} by rule ({})",
            crate::output::inert(&crate::output::masked(&locked.value.to_string())),
            crate::output::inert(locked.reason.as_deref().unwrap_or("the plugin's rules")),
        ),
        None => "it is left to its default, if it has one".to_string(),
    };
    crate::output::note(&format!(
        "warning: `{}` ({}): the model's value for `{}` is not used{answered}: {}; {then}: write it in the project file to choose",
        t.name,
        t.type_name,
        crate::output::inert(&unusable.field),
        crate::output::inert(&unusable.problem),
    ));
}

/// `--locked` and fields the lock does not hold.
fn not_locked(t: &Target<'_>, fresh: &[(String, LockedField)]) -> CompleteError {
    CompleteError::NotLocked(vec![format!(
        "`{}` ({}): {} would be completed now (its inputs changed or it was never completed); run `clockwork plan` and commit clockwork.lock",
        t.name,
        t.type_name,
        fresh
            .iter()
            .map(|(f, _)| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )])
}

/// What neither the lock nor the rules filled and a model may be asked
/// for. A model is asked only about a declaration the user described: the
/// description is the request (seed 002), and without one a missing field
/// is meant to take its default.
fn left_for_model<'s>(
    t: &Target<'s>,
    out: &[Filled],
    fresh: &[(String, LockedField)],
) -> Vec<&'s FieldSchema> {
    if !t.described {
        return Vec::new();
    }
    let filled: BTreeSet<&str> = out
        .iter()
        .map(|(f, _, _)| f.as_str())
        .chain(fresh.iter().map(|(f, _)| f.as_str()))
        .collect();
    t.missing
        .iter()
        .filter(|f| !filled.contains(f.as_str()))
        .filter_map(|f| t.schema.field(f))
        // A field with a default is the plugin's answer already: a model
        // is asked only what takes judgement.
        .filter(|f| f.default.is_none())
        .filter(|f| {
            f.name != "name"
                && f.parsed_type().is_some_and(|ty| {
                    prompt::askable(&ty)
                        || (t.kind == PluginKind::Assertion
                            && ty == clockwork_schema::ValueType::Function)
                })
        })
        .collect()
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
