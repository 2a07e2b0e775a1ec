//! `clockwork complete` and `clockwork doctor`.

use serde_json::{Value, json};

use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation, project};
use crate::complete::Mode;
use crate::model::DeclId;
use crate::model::PluginKind;
use crate::output;
use crate::resolve::Provenance;

/// `clockwork complete [--refresh [NAME…]] [--json]`: completes, writes
/// the lock, and lists every completed field with its source.
pub async fn run_complete(invocation: &Invocation, json: bool) -> Result<u8, CliError> {
    if let Some(names) = &invocation.refresh {
        let resolved = project::resolved(invocation, Mode::ReadOnly).await?;
        let known: Vec<&str> = resolved
            .graph
            .project
            .declarations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
            let near = crate::suggest::nearest(unknown, known.iter().copied());
            return Err(CliError::Usage {
                message: format!("`--refresh {unknown}`: no declaration has that name"),
                help: match near {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "`clockwork plan` lists every declaration".into(),
                },
            });
        }
    }
    let resolved = project::resolved(invocation, Mode::Complete).await?;
    let masker = output::process_masker();
    // (declaration, type, field, value, source) of every completed field.
    let mut rows: Vec<(String, String, String, Value, String)> = Vec::new();
    for d in &resolved.graph.project.declarations {
        let mut row = |field: &str, value: Option<&Value>, source: &str| {
            rows.push((
                d.name.to_string(),
                d.type_name.to_string(),
                field.to_string(),
                value.cloned().unwrap_or(Value::Null),
                source.to_string(),
            ));
        };
        match (d.kind, resolved.graph.specs.get(&d.id)) {
            (PluginKind::Resource, Some(spec)) => {
                for (path, p) in &spec.provenance {
                    if let Provenance::Completion(source) = p {
                        // `env_vars.REDIS_URL`: an entry completion added.
                        let value = match path.split_once('.') {
                            Some((field, key)) => spec.fields.get(field).and_then(|v| v.get(key)),
                            None => spec.fields.get(path),
                        };
                        row(path, value, source);
                    }
                }
            }
            _ => {
                for (field, source) in &d.completed {
                    row(field, d.config.get(field), source);
                }
            }
        }
    }
    let report = &resolved.completion;
    if json {
        output::emit_json(&json!({
            "completed": rows.iter().map(|(name, ty, field, value, source)| json!({
                "declaration": name,
                "type": ty,
                "field": field,
                "value": masker.json(Some(field), value),
                "source": source,
            })).collect::<Vec<_>>(),
            "requests": report.requests,
            "new": report.new,
            "wrote_lock": report.wrote_lock,
            "unfilled": unfilled_json(&resolved),
        }));
    } else {
        let mut table = output::Table::new(&["DECLARATION", "FIELD", "VALUE", "SOURCE"]);
        for (name, _, field, value, source) in &rows {
            table.row(vec![
                name.clone(),
                field.clone(),
                masker.json(Some(field), value).to_string(),
                source.clone(),
            ]);
        }
        if rows.is_empty() {
            output::emit(
                "nothing to complete: every completable field is written in the project file\n",
            );
        } else {
            output::emit(&table.render());
        }
        output::note(&format!(
            "{} new, {} model request{}; clockwork.lock {}",
            report.new.len(),
            report.requests,
            if report.requests == 1 { "" } else { "s" },
            if report.wrote_lock {
                "written"
            } else {
                "unchanged"
            }
        ));
        for (id, fields) in &report.unfilled {
            let d = resolved.graph.project.get(*id);
            output::note(&format!(
                "`{}` leaves {} to its defaults or to you",
                d.name,
                fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        if !report.unfilled.is_empty() {
            output::note(&format!(
                "a model could fill those: {}",
                crate::complete::HOW_TO_CONFIGURE
            ));
        }
    }
    Ok(EXIT_OK)
}

fn unfilled_json(resolved: &project::Resolved) -> Value {
    Value::Object(
        resolved
            .completion
            .unfilled
            .iter()
            .map(|(id, fields): (&DeclId, &Vec<String>)| {
                (
                    resolved.graph.project.get(*id).name.to_string(),
                    json!(fields),
                )
            })
            .collect(),
    )
}

/// `clockwork doctor`: the Docker Engine and the model, each checked.
pub async fn run_doctor(invocation: &Invocation, json: bool) -> Result<u8, CliError> {
    let mut ok = true;
    let engine = match crate::docker::Engine::connect(
        &invocation.project.identity,
        invocation.project.files.clone(),
    )
    .await
    {
        Ok(_) => json!({"ok": true}),
        Err(e) => {
            ok = false;
            json!({"ok": false, "error": e.to_string()})
        }
    };
    let model = match invocation.chat_client()? {
        None => json!({"configured": false, "help": crate::complete::HOW_TO_CONFIGURE}),
        Some(client) => {
            let settings = client.settings().clone();
            match client.probe().await {
                Ok(p) => json!({
                    "configured": true,
                    "server": settings.base_url,
                    "model": settings.model,
                    "answered_by": p.model_id,
                    "structured_output_enforced": p.enforced,
                    "latency_ms": p.latency.as_millis() as u64,
                }),
                Err(e) => {
                    ok = false;
                    json!({"configured": true, "server": settings.base_url, "model": settings.model, "error": e.to_string()})
                }
            }
        }
    };
    if json {
        output::emit_json(&json!({"docker": engine, "model": model}));
    } else {
        let mut out = String::new();
        match engine["ok"].as_bool() {
            Some(true) => out.push_str("docker: the Engine answers\n"),
            _ => out.push_str(&format!(
                "docker: {}\n",
                engine["error"].as_str().unwrap_or("unreachable")
            )),
        }
        if model["configured"] == false {
            out.push_str(&format!(
                "model: not configured ({})\n",
                crate::complete::HOW_TO_CONFIGURE
            ));
        } else if let Some(error) = model["error"].as_str() {
            out.push_str(&format!(
                "model: {} at {}: {error}\n",
                model["model"].as_str().unwrap_or(""),
                model["server"].as_str().unwrap_or("")
            ));
        } else {
            out.push_str(&format!(
                "model: {} at {} (answered by {}), structured output {}, {} ms for a tiny request\n",
                model["model"].as_str().unwrap_or(""),
                model["server"].as_str().unwrap_or(""),
                model["answered_by"].as_str().unwrap_or(""),
                if model["structured_output_enforced"] == true {
                    "enforced"
                } else {
                    "NOT enforced: answers are checked and asked again once"
                },
                model["latency_ms"]
            ));
        }
        output::emit(&out);
    }
    Ok(if ok { EXIT_OK } else { EXIT_FAILED })
}
