//! `clockwork plan` as text and as JSON.

use serde_json::{Value, json};

use crate::output::{Masker, Table};
use crate::plan::{Plan, PlanEntry};
use crate::resolve::Provenance;

fn source_text(p: &Provenance) -> String {
    match p {
        Provenance::User => "user".into(),
        Provenance::Default => "default".into(),
        Provenance::Connection(by) => by.clone(),
        Provenance::Completion(by) => format!("completion ({by})"),
    }
}

/// A value as the text plan shows it: JSON, except that a mount (the
/// `{"source", "target", "read_only"}` every plugin receives) is shown the
/// way users write it, `"source:/target:ro"`.
fn shown(value: &Value) -> String {
    fn mounts_as_written(value: &Value) -> Value {
        match value {
            Value::Object(o)
                if o.len() == 3
                    && o.get("source").is_some_and(Value::is_string)
                    && o.get("target").is_some_and(Value::is_string)
                    && o.get("read_only").is_some_and(Value::is_boolean) =>
            {
                let ro = if o["read_only"] == Value::Bool(true) {
                    ":ro"
                } else {
                    ""
                };
                Value::String(format!(
                    "{}:{}{ro}",
                    o["source"].as_str().unwrap_or_default(),
                    o["target"].as_str().unwrap_or_default()
                ))
            }
            Value::Array(items) => Value::Array(items.iter().map(mounts_as_written).collect()),
            other => other.clone(),
        }
    }
    mounts_as_written(value).to_string()
}

/// The text of `clockwork plan`.
pub fn render_plan(plan: &Plan, masker: &Masker) -> String {
    let mut out = heading(plan);
    let mut layer = 0;
    for (i, r) in plan.entries.iter().enumerate() {
        if r.layer != layer {
            layer = r.layer;
            if layer > plan.layers {
                out.push_str("\nno longer declared\n");
            } else {
                out.push_str(&format!("\nlayer {layer}\n"));
            }
        }
        out.push_str(&entry(i, r, masker));
        out.push_str(&spec_table(r, masker));
    }
    out.push_str(&connections(plan, masker));
    out.push_str(&completed_assertions(plan, masker));
    out
}

/// The first lines: what the plan does in sum, and what it was compared with.
fn heading(plan: &Plan) -> String {
    use crate::plan::ChangeKind as Action;
    let count = |a: Action| plan.entries.iter().filter(|r| r.change == a).count();
    let declared = plan.declared();
    let counts: Vec<String> = [
        (Action::Create, "to create"),
        (Action::Update, "to update"),
        (Action::Replace, "to replace"),
        (Action::Delete, "to delete"),
        (Action::None, "unchanged"),
    ]
    .into_iter()
    .filter_map(|(a, label)| match count(a) {
        0 => None,
        n => Some(format!("{n} {label}")),
    })
    .collect();
    let mut out = format!(
        "Plan for `{}` ({}): {} resource{}, {}, in {} layer{}\n",
        plan.project,
        plan.file,
        declared,
        if declared == 1 { "" } else { "s" },
        if counts.is_empty() {
            "nothing to do".to_string()
        } else {
            counts.join(", ")
        },
        plan.layers,
        if plan.layers == 1 { "" } else { "s" },
    );
    match &plan.compared_with {
        Some(with) => out.push_str(&format!("compared with {with}\n")),
        None => out.push_str(
            "not compared with a deployment: every resource shows what a first apply does\n",
        ),
    }
    out
}

/// The `i`th resource's line, its changed fields and what else it is.
fn entry(i: usize, r: &PlanEntry, masker: &Masker) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "  {}. {} ({}): {}\n",
        i + 1,
        r.name,
        r.type_name,
        r.change
    ));
    for c in r.changed.iter().filter(|c| c.path != "/") {
        let field = c.name();
        let key = field.rsplit('.').next();
        let show = |v: &Option<Value>| match v {
            Some(v) => shown(&masker.json(key, v)),
            None => "(absent)".into(),
        };
        out.push_str(&format!(
            "     {field}: {} → {}{}\n",
            show(&c.old),
            show(&c.new),
            if c.forces_replace {
                " (forces replace)"
            } else {
                ""
            }
        ));
    }
    if !r.depends_on.is_empty() {
        out.push_str(&format!("     after {}\n", r.depends_on.join(", ")));
    }
    if let Some(parent) = &r.parent {
        out.push_str(&format!("     in {parent}\n"));
    }
    if !r.assertions.is_empty() {
        let names: Vec<&str> = r.assertions.iter().map(|(_, t)| t.as_str()).collect();
        out.push_str(&format!("     asserts {}\n", names.join(", ")));
    }
    if let Some(settings) = &r.reconcile {
        out.push_str(&format!("     {}\n", settings.summary()));
    }
    if let Some(at) = r.expires_at {
        out.push_str(&format!(
            "     expires at {} (its max_duration runs out; `clockwork watch` destroys it then)\n",
            crate::model::time::rfc3339(at)
        ));
    }
    out
}

/// The table of a resource's fields, each with where it came from.
fn spec_table(r: &PlanEntry, masker: &Masker) -> String {
    let mut table = Table::new(&["FIELD", "VALUE", "SOURCE"]).indent(5);
    for (field, value) in &r.spec.fields {
        let source = r.spec.source_of(field);
        let empty = matches!(value, Value::Array(a) if a.is_empty())
            || matches!(value, Value::Object(o) if o.is_empty());
        match value {
            Value::Null => {}
            // Empty defaults say nothing; `--json` still has them.
            _ if empty && *source == Provenance::Default => {}
            Value::Object(entries) if !entries.is_empty() => {
                for (key, item) in entries {
                    let path = format!("{field}.{key}");
                    table.row(vec![
                        path.clone(),
                        shown(&masker.json(Some(key), item)),
                        source_text(r.spec.source_of(&path)),
                    ]);
                }
            }
            // Items a connection added are shown one per row, with it.
            Value::Array(items) if items.iter().any(|i| r.spec.item_source(field, i).is_some()) => {
                let (added, own): (Vec<&Value>, Vec<&Value>) = items
                    .iter()
                    .partition(|i| r.spec.item_source(field, i).is_some());
                if !own.is_empty() {
                    let own = Value::Array(own.into_iter().cloned().collect());
                    table.row(vec![
                        field.clone(),
                        shown(&masker.json(Some(field), &own)),
                        source_text(source),
                    ]);
                }
                for item in added {
                    let by = r
                        .spec
                        .item_source(field, item)
                        .map(source_text)
                        .unwrap_or_default();
                    table.row(vec![
                        format!("{field} +"),
                        shown(&masker.json(Some(field), item)),
                        by,
                    ]);
                }
            }
            _ => table.row(vec![
                field.clone(),
                shown(&masker.json(Some(field), value)),
                source_text(source),
            ]),
        }
    }
    table.render()
}

/// The connections, each with what it provides.
fn connections(plan: &Plan, masker: &Masker) -> String {
    let mut out = String::new();
    if !plan.connections.is_empty() {
        out.push_str("\nconnections\n");
        for c in &plan.connections {
            let mut line = format!("  {} → {}  {} ({})", c.from, c.to, c.type_name, c.name);
            let provides: Vec<String> = c
                .outputs
                .iter()
                .map(|(k, v)| format!("{k}={}", masker.text(Some(k), v)))
                .collect();
            if !provides.is_empty() {
                line.push_str(&format!(": {}", provides.join(", ")));
            }
            if !c.setup.is_empty() {
                line.push_str(&format!("; then {}", c.setup.join(", ")));
            }
            if !c.assertions.is_empty() {
                line.push_str(&format!("; asserts {}", c.assertions.join(", ")));
            }
            out.push_str(&line);
            out.push('\n');
            for (field, value, source) in &c.completed {
                out.push_str(&format!(
                    "     {field} = {}  completion ({source})\n",
                    shown(&masker.json(Some(field), value))
                ));
            }
        }
    }
    out
}

/// The assertion fields completion filled, for review.
fn completed_assertions(plan: &Plan, masker: &Masker) -> String {
    let mut out = String::new();
    if !plan.completed_assertions.is_empty() {
        out.push_str("\nassertions completed (review before apply)\n");
        for a in &plan.completed_assertions {
            out.push_str(&format!(
                "  {} ({}): {}  completion ({})\n",
                a.name, a.type_name, a.field, a.source
            ));
            match function_source(&a.value) {
                Some(code) => {
                    for line in masker.scrub(code).lines() {
                        out.push_str(&format!("     | {line}\n"));
                    }
                }
                None => out.push_str(&format!(
                    "     = {}\n",
                    shown(&masker.json(Some(&a.field), &a.value))
                )),
            }
        }
    }
    out
}

/// The source of a function value (a program with one module), if it is one.
fn function_source(value: &Value) -> Option<&str> {
    let module = value["entry"]["module"].as_str()?;
    value["modules"][module]["source"].as_str()
}

/// The JSON of `clockwork plan --json`.
pub fn plan_json(plan: &Plan, masker: &Masker) -> Value {
    json!({
        "project": plan.project,
        "file": plan.file,
        "layers": plan.layers,
        "compared_with": plan.compared_with,
        "resources": plan.entries.iter().map(|r| json!({
            "name": r.name,
            "type": r.type_name,
            "action": r.change,
            "depends_on": r.depends_on,
            "layer": r.layer,
            "parent": r.parent,
            "declared_at": r.declared_at,
            "reconcile": r.reconcile,
            "expires_at": r.expires_at.map(crate::model::time::rfc3339),
            "assertions": r.assertions.iter().map(|(name, ty)| json!({"name": name, "type": ty})).collect::<Vec<_>>(),
            "spec": masker.json(None, &Value::Object(r.spec.fields.clone())),
            "changed": r.changed.iter().map(|c| {
                let key = c.path.rsplit('/').next();
                json!({
                    "path": c.path,
                    "old": c.old.as_ref().map(|v| masker.json(key, v)),
                    "new": c.new.as_ref().map(|v| masker.json(key, v)),
                    "forces_replace": c.forces_replace,
                })
            }).collect::<Vec<_>>(),
            "actions": r.actions.iter().map(|a| masker.json(None, &crate::plan::action_json(a))).collect::<Vec<_>>(),
            "sources": r.spec.provenance.iter().map(|(k, p)| (k.clone(), Value::String(source_text(p)))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "connections": plan.connections.iter().map(|c| json!({
            "name": c.name,
            "type": c.type_name,
            "from": c.from,
            "to": c.to,
            "outputs": c.outputs.iter().map(|(k, v)| (k.clone(), Value::String(masker.text(Some(k), v)))).collect::<serde_json::Map<_, _>>(),
            "setup": c.setup,
            "assertions": c.assertions,
            "completed": c.completed.iter().map(|(field, value, source)| json!({
                "field": field,
                "value": masker.json(Some(field), value),
                "source": format!("completion ({source})"),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "completed_assertions": plan.completed_assertions.iter().map(|a| json!({
            "name": a.name,
            "type": a.type_name,
            "field": a.field,
            "source": format!("completion ({})", a.source),
            "code": function_source(&a.value).map(|c| masker.scrub(c)),
            "value": masker.json(Some(&a.field), &a.value),
        })).collect::<Vec<_>>(),
    })
}
