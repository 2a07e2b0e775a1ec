//! What the constructors and builtins share while a project is evaluated.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use starlark::codemap::FileSpan;
use starlark::eval::Evaluator;
use starlark::values::ProvidesStaticType;

use crate::load::source::ReadError;
use crate::load::types::TypeRegistry;
use crate::model::Located;
use crate::model::Location;
use crate::project::ProjectDir;

/// Shared state of one project evaluation, reached from natives through
/// `Evaluator::extra`.
#[derive(ProvidesStaticType)]
pub struct LoadContext {
    /// The declaration types.
    pub registry: Arc<TypeRegistry>,
    /// The project folder.
    pub project_dir: PathBuf,
    /// The project's name.
    pub project_name: String,
    next_id: Cell<u32>,
    /// Values read with `env()` for secret-looking names (and their
    /// defaults): masked wherever they appear, whatever their length.
    pub secrets: RefCell<Vec<String>>,
    /// Values read with `env()` for other names: masked too, but when
    /// shorter than four characters only where they are a whole value, so
    /// `DEBUG=1` does not turn every `1` of the output into `***`.
    pub env_values: RefCell<Vec<String>>,
    /// `.env` in the project folder, read once.
    pub dotenv: BTreeMap<String, String>,
    /// `main.py`'s `@PythonAssert(...)` lines: the function each decorates,
    /// by file and line (`source::rewrite_decorators`).
    pub decorated: RefCell<BTreeMap<(PathBuf, usize), String>>,
}

impl LoadContext {
    /// A context for the project; `.env` is read now, and one that cannot
    /// be read is an error rather than silently empty.
    pub fn new(
        registry: Arc<TypeRegistry>,
        files: &ProjectDir,
        project_name: &str,
    ) -> Result<Self, Box<Located>> {
        Ok(LoadContext {
            registry,
            project_dir: files.root().to_path_buf(),
            project_name: project_name.to_string(),
            next_id: Cell::new(0),
            secrets: RefCell::new(Vec::new()),
            env_values: RefCell::new(Vec::new()),
            dotenv: read_dotenv(files)?,
            decorated: RefCell::new(BTreeMap::new()),
        })
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

/// `KEY=value` lines of the project's `.env` ([`crate::project::dotenv`]); comments, blank lines and
/// lines without `=` skipped, one level of surrounding quotes removed. A
/// missing file is empty; one that is not UTF-8 (or a link out of the
/// project) is a located error.
pub fn read_dotenv(files: &ProjectDir) -> Result<BTreeMap<String, String>, Box<Located>> {
    let rel = Path::new(".env");
    let text = match crate::load::source::read_text(files, rel) {
        Ok(text) => text,
        Err(ReadError::Path(e)) if e.is_not_found() => return Ok(BTreeMap::new()),
        Err(ReadError::Path(e)) => {
            return Err(Box::new(Located {
                message: e.to_string(),
                location: Location {
                    file: rel.to_path_buf(),
                    line: 1,
                    column: 1,
                    offset: 0,
                    len: 0,
                },
                help: None,
                source: None,
                called_from: Vec::new(),
            }));
        }
        Err(ReadError::NotUtf8(located)) => return Err(located),
    };
    Ok(parse_dotenv(&text))
}

/// The values `env()` reads: every `KEY=value` line, the last one of a
/// key winning; a bare `KEY` (Compose's pass-through) sets nothing.
fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    crate::project::dotenv::parse(text)
        .into_iter()
        .filter_map(|(key, value)| Some((key, value.text()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_parsed_leniently() {
        let env = parse_dotenv("# comment\nA=1\nexport B=\"two words\"\nC='x'\n\nbroken\n");
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("two words"));
        assert_eq!(env.get("C").map(String::as_str), Some("x"));
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn a_comment_after_a_value_is_no_part_of_it_as_for_import() {
        let env = parse_dotenv("\u{feff}PASSWORD=abc # note\nQUOTED=\"a # b\"\nBARE\n");
        assert_eq!(env.get("PASSWORD").map(String::as_str), Some("abc"));
        assert_eq!(env.get("QUOTED").map(String::as_str), Some("a # b"));
        assert_eq!(env.get("BARE"), None);
    }

    #[test]
    fn a_dotenv_that_is_not_utf8_is_a_located_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join(".env"), b"A=1\nB=\xff\n").unwrap();
        let files = ProjectDir::open(&root).unwrap();
        let err = read_dotenv(&files).unwrap_err();
        assert_eq!((err.location.line, err.location.column), (2, 3));
        assert!(err.message.contains("not UTF-8"), "{}", err.message);
    }
}
