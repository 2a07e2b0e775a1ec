//! `clockwork plugins list` and `clockwork plugins inspect`.

use serde_json::{Value, json};

use crate::output::Table;
use crate::plugin::{LoadedPlugin, PluginSet, TypeTraits};

/// The text of `plugins list`.
pub fn render_plugins_list(set: &PluginSet) -> String {
    let mut table = Table::new(&["NAME", "KIND", "VERSION", "SOURCE", "TYPES"]);
    for p in &set.plugins {
        table.row(vec![
            p.name().to_string(),
            p.kind().to_string(),
            p.description.meta.version.clone(),
            p.origin.source.to_string(),
            p.type_names().join(", "),
        ]);
    }
    let mut out = table.render();
    for note in &set.overrides {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    if !set.problems.is_empty() {
        let n = set.problems.len();
        out.push_str(&format!(
            "\n{n} plugin file{} could not be used:\n",
            if n == 1 { "" } else { "s" }
        ));
        for problem in &set.problems {
            out.push_str(&format!(
                "  {} ({}): {}\n",
                problem.file,
                problem.source,
                problem.reason.replace('\n', "\n    ")
            ));
        }
    }
    out
}

/// The JSON of `plugins list --json`.
pub fn plugins_list_json(set: &PluginSet) -> Value {
    json!({
        "plugins": set.plugins.iter().map(|p| json!({
            "name": p.name(),
            "kind": p.kind(),
            "version": p.description.meta.version,
            "source": p.origin.source,
            "types": p.type_names(),
            "summary": p.description.meta.summary,
            "file": p.origin.path,
        })).collect::<Vec<_>>(),
        "problems": set.problems,
        "overrides": set.overrides,
    })
}

/// The JSON of `plugins inspect --json`: every type with its fields and
/// its JSON Schema.
pub fn plugin_json(p: &LoadedPlugin) -> Value {
    json!({
        "name": p.name(),
        "kind": p.kind(),
        "version": p.description.meta.version,
        "source": p.origin.source,
        "summary": p.description.meta.summary,
        "homepage": p.description.meta.homepage,
        "file": p.origin.path,
        "sha256": p.origin.digest,
        "size": p.origin.size,
        "imports": p.imports,
        "types": p.description.types.iter().map(|t| json!({
            "name": t.schema.name,
            "doc": t.schema.doc,
            "traits": t.traits,
            "fields": t.schema.fields.iter().map(|f| json!({
                "name": f.name,
                "type": f.value_type,
                "doc": f.doc,
                "required": f.required,
                "default": f.default_value(),
                "completable": f.completable,
                "forces_replace": f.forces_replace,
                "secret": f.secret,
                "examples": f.examples.iter().filter_map(|e| serde_json::from_str::<Value>(e).ok()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "json_schema": t.schema.json_schema(),
        })).collect::<Vec<_>>(),
    })
}

/// The text of `plugins inspect`: a header, then a field table per type.
pub fn render_inspect(p: &LoadedPlugin) -> String {
    let meta = &p.description.meta;
    let mut out = format!(
        "{} {} — {} plugin, {}\n{}\n",
        meta.name,
        meta.version,
        p.kind(),
        p.origin.source,
        meta.summary
    );
    if let Some(home) = &meta.homepage {
        out.push_str(&format!("{home}\n"));
    }
    if let Some(path) = &p.origin.path {
        out.push_str(&format!("file: {}\n", path.display()));
    }
    out.push_str(&format!(
        "host imports: {}\n",
        if p.imports.is_empty() {
            "none".to_string()
        } else {
            p.imports.join(", ")
        }
    ));
    for t in &p.description.types {
        let traits = match &t.traits {
            TypeTraits::Resource {
                composite: true, ..
            } => " (composite: accepts .add(child))".to_string(),
            TypeTraits::Assertion {
                default_timeout_ms,
                retryable,
            } => format!(
                " (retried for up to {} s{})",
                default_timeout_ms / 1000,
                if *retryable { "" } else { "; not retryable" }
            ),
            _ => String::new(),
        };
        out.push_str(&format!("\n{}{traits}\n", t.schema.name));
        for line in textwrap(&t.schema.doc, 96) {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
        let mut table = Table::new(&["FIELD", "TYPE", "DEFAULT", "FLAGS", "DESCRIPTION"]).indent(2);
        for f in &t.schema.fields {
            let mut flags = Vec::new();
            if f.required {
                flags.push("required");
            }
            if f.completable {
                flags.push("completable");
            }
            if f.forces_replace {
                flags.push("replaces");
            }
            if f.secret {
                flags.push("secret");
            }
            table.row(vec![
                f.name.clone(),
                f.value_type.clone(),
                f.default.clone().unwrap_or_else(|| "-".into()),
                if flags.is_empty() {
                    "-".into()
                } else {
                    flags.join(",")
                },
                f.summary().to_string(),
            ]);
        }
        out.push_str(&table.render());
    }
    out
}

fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}
