//! What the constructors and builtins share while a project is evaluated.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use starlark::codemap::FileSpan;
use starlark::eval::Evaluator;
use starlark::values::ProvidesStaticType;

use crate::load::types::TypeRegistry;
use crate::model::Location;

/// Shared state of one project evaluation, reached from natives through
/// `Evaluator::extra`.
#[derive(ProvidesStaticType)]
pub struct LoadContext {
    /// The declaration types.
    pub registry: Arc<TypeRegistry>,
    /// The project folder.
    pub project_dir: PathBuf,
    next_id: Cell<u32>,
    /// Values read with `env()` whose variable names look secret.
    pub secrets: RefCell<Vec<String>>,
    /// `.env` in the project folder, read once.
    pub dotenv: BTreeMap<String, String>,
}

impl LoadContext {
    /// A context for the project in `project_dir`.
    pub fn new(registry: Arc<TypeRegistry>, project_dir: &Path) -> Self {
        LoadContext {
            registry,
            project_dir: project_dir.to_path_buf(),
            next_id: Cell::new(0),
            secrets: RefCell::new(Vec::new()),
            dotenv: read_dotenv(&project_dir.join(".env")),
        }
    }

    /// A fresh declaration id; ids follow creation order.
    pub fn next_id(&self) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// The context of a running evaluation.
    pub fn of<'a>(eval: &'a Evaluator<'_, '_, '_>) -> anyhow::Result<&'a LoadContext> {
        eval.extra
            .and_then(|extra| extra.downcast_ref::<LoadContext>())
            .ok_or_else(|| {
                anyhow::anyhow!("internal error: no load context (this is a bug in clockwork)")
            })
    }

    /// The location of the innermost call being evaluated.
    pub fn caller_location(eval: &Evaluator<'_, '_, '_>) -> Location {
        eval.call_stack_top_location()
            .map(|span| location_of(&span))
            .unwrap_or_else(|| Location {
                file: PathBuf::from("?"),
                line: 0,
                column: 0,
                offset: 0,
                len: 0,
            })
    }
}

/// Converts a Starlark span into a [`Location`] (1-based line and column).
pub fn location_of(span: &FileSpan) -> Location {
    let resolved = span.resolve();
    Location {
        file: PathBuf::from(resolved.file),
        line: resolved.span.begin.line + 1,
        column: resolved.span.begin.column + 1,
        offset: span.span.begin().get() as usize,
        len: (span.span.end().get() - span.span.begin().get()) as usize,
    }
}

/// `KEY=value` lines of a `.env` file; comments and blank lines skipped,
/// one level of surrounding quotes removed. A missing file is empty.
fn read_dotenv(path: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_string(), unquoted.to_string()))
        })
        .collect()
}

/// Whether an environment variable's name says it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|marker| upper.contains(marker))
        || upper.ends_with("_PASS")
        || upper.ends_with("_KEY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_parsed_leniently() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# comment\nA=1\nexport B=\"two words\"\nC='x'\n\nbroken\n",
        )
        .unwrap();
        let env = read_dotenv(&dir.path().join(".env"));
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("x"));
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn secret_names_are_recognised() {
        assert!(is_secret_name("POSTGRES_PASSWORD"));
        assert!(is_secret_name("db_password"));
        assert!(is_secret_name("GITHUB_TOKEN"));
        assert!(is_secret_name("STRIPE_API_KEY"));
        assert!(!is_secret_name("POSTGRES_DB"));
        assert!(!is_secret_name("KEYBOARD_LAYOUT"));
    }
}
