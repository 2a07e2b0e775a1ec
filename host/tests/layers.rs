//! The floors of `ARCHITECTURE.md`, held against the code: every module of
//! `host/src` imports only modules on its own floor or below, no two
//! modules import each other (directly or round a longer circle), and
//! every module has a floor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → floor, from the table in `ARCHITECTURE.md`: rows
/// `| N | `module`, `module` | … |`.
fn floors(architecture: &str) -> BTreeMap<String, u32> {
    let mut floors = BTreeMap::new();
    for line in architecture.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(floor), Some(modules)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(floor) = floor.parse::<u32>() else {
            continue;
        };
        for module in modules.split(',') {
            let name = module.trim().trim_matches('`');
            if !name.is_empty() {
                floors.insert(name.to_string(), floor);
            }
        }
    }
    floors
}

/// The text of a source file that counts: without comment lines and
/// without its test module (tests may reach anywhere).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `code` names through `crate::`: paths
/// (`crate::plan::Plan`) and groups (`use crate::{plan::Plan, state}`).
fn named_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: after `{` and after each `,`
            // at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start => {
                        out.insert(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// What is wrong with the floors of the crate at `src` against `floors`:
/// each upward import, each module without a floor, each circle.
fn problems(src: &Path, floors: &BTreeMap<String, u32>) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(src).expect("inside src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a name")
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(&floor) = floors.get(&top) else {
            problems.push(format!(
                "module `{top}` has no floor in ARCHITECTURE.md's table"
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        for named in named_modules(&code(&text)) {
            if named == top {
                continue;
            }
            match floors.get(&named) {
                Some(&to) if to > floor => problems.push(format!(
                    "{} (`{top}`, floor {floor}) imports `{named}` (floor {to}): an import up",
                    relative.display()
                )),
                Some(_) => {
                    edges.entry(top.clone()).or_default().insert(named);
                }
                None => {}
            }
        }
    }
    if let Some(circle) = circle(&edges) {
        problems.push(format!("modules in a circle: {}", circle.join(" → ")));
    }
    problems
}

/// A circle of `edges`, if there is one.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut circle = path[i..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(c) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn every_module_imports_only_its_floor_and_below() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture =
        std::fs::read_to_string(root.join("../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let floors = floors(&architecture);
    assert!(
        floors.len() >= 20,
        "the floor table of ARCHITECTURE.md was not read: {floors:?}"
    );
    let problems = problems(&root.join("src"), &floors);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself: it finds an import up, a circle and a module with no
/// floor, in a crate made for it.
#[test]
fn the_floor_check_finds_what_breaks_the_floors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    };
    let table = "| floor | modules | what |\n|---|---|---|\n| 0 | `model` | x |\n| 1 | `plan`, `state` | y |\n";
    let floors = floors(table);
    write("lib.rs", "mod model;\nmod plan;\nmod state;\n");
    write(
        "model/mod.rs",
        "// crate::plan in a comment is no import\npub struct A;\n#[cfg(test)]\nmod tests {\n    use crate::plan::B;\n}\n",
    );
    write(
        "plan/mod.rs",
        "use crate::{model::A, state};\npub struct B;\n",
    );
    write("state.rs", "pub struct C;\n");
    assert!(
        problems(src, &floors).is_empty(),
        "{:?}",
        problems(src, &floors)
    );

    write("model/name.rs", "fn f() -> crate::plan::B { todo!() }\n");
    write("state.rs", "use crate::{\n    plan::B,\n};\n");
    write("render.rs", "pub struct D;\n");
    let found = problems(src, &floors).join("\n");
    assert!(
        found.contains("`model`, floor 0) imports `plan` (floor 1): an import up"),
        "{found}"
    );
    assert!(
        found.contains("modules in a circle: plan → state → plan"),
        "{found}"
    );
    assert!(found.contains("module `render` has no floor"), "{found}");
}
