//! `clockwork graph`: the dependency graph as Graphviz DOT or Mermaid.
//! Edges point from a resource to what it depends on, as declared
//! (`api.connect(db)` draws `api → db`); composites are clusters.

use crate::model::PluginKind;
use crate::model::{DeclId, Declared};
use crate::resolve::Graph;

fn quote(text: &str) -> String {
    format!(
        "\"{}\"",
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Edges as (from, to, label): connections, then composite membership is
/// shown by clusters, not edges.
fn edges(graph: &Graph) -> Vec<(DeclId, DeclId, String)> {
    graph
        .project
        .of_kind(PluginKind::Connection)
        .filter_map(|c| {
            Some((
                c.from?,
                c.to?,
                if c.implicit {
                    String::new()
                } else {
                    c.type_name.to_string()
                },
            ))
        })
        .collect()
}

fn roots(project: &Declared) -> Vec<DeclId> {
    project
        .of_kind(PluginKind::Resource)
        .filter(|d| d.parent.is_none())
        .map(|d| d.id)
        .collect()
}

/// Graphviz DOT.
pub fn render_dot(graph: &Graph) -> String {
    let project = &graph.project;
    let mut out = format!(
        "digraph {} {{\n  rankdir=LR;\n  node [shape=box];\n",
        quote(&project.name)
    );
    fn node(project: &Declared, id: DeclId, indent: usize, out: &mut String) {
        let d = project.get(id);
        let pad = " ".repeat(indent);
        if d.children.is_empty() {
            out.push_str(&format!(
                "{pad}{} [label={}];\n",
                quote(&d.name),
                quote(&format!("{}\n{}", d.name, d.type_name))
            ));
        } else {
            out.push_str(&format!(
                "{pad}subgraph {} {{\n",
                quote(&format!("cluster_{}", d.name))
            ));
            out.push_str(&format!(
                "{pad}  label={};\n",
                quote(&format!("{} ({})", d.name, d.type_name))
            ));
            out.push_str(&format!(
                "{pad}  {} [label={}, shape=folder];\n",
                quote(&d.name),
                quote(&d.name)
            ));
            for child in &d.children {
                node(project, *child, indent + 2, out);
            }
            out.push_str(&format!("{pad}}}\n"));
        }
    }
    for id in roots(project) {
        node(project, id, 2, &mut out);
    }
    for (from, to, label) in edges(graph) {
        let (f, t) = (&project.get(from).name, &project.get(to).name);
        if label.is_empty() {
            out.push_str(&format!("  {} -> {};\n", quote(f), quote(t)));
        } else {
            out.push_str(&format!(
                "  {} -> {} [label={}];\n",
                quote(f),
                quote(t),
                quote(&label)
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart.
pub fn render_mermaid(graph: &Graph) -> String {
    let project = &graph.project;
    let mut out = String::from("flowchart LR\n");
    fn node(project: &Declared, id: DeclId, indent: usize, out: &mut String) {
        let d = project.get(id);
        let pad = " ".repeat(indent);
        if d.children.is_empty() {
            out.push_str(&format!(
                "{pad}{}[\"{}<br/><small>{}</small>\"]\n",
                mermaid_id(&d.name),
                d.name,
                d.type_name
            ));
        } else {
            out.push_str(&format!(
                "{pad}subgraph {} [\"{} ({})\"]\n",
                mermaid_id(&d.name),
                d.name,
                d.type_name
            ));
            for child in &d.children {
                node(project, *child, indent + 2, out);
            }
            out.push_str(&format!("{pad}end\n"));
        }
    }
    for id in roots(project) {
        node(project, id, 2, &mut out);
    }
    for (from, to, label) in edges(graph) {
        let (f, t) = (
            mermaid_id(&project.get(from).name),
            mermaid_id(&project.get(to).name),
        );
        if label.is_empty() {
            out.push_str(&format!("  {f} --> {t}\n"));
        } else {
            out.push_str(&format!("  {f} -->|{label}| {t}\n"));
        }
    }
    out
}
