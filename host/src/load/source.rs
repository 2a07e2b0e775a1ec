//! Finding the project file and accepting the Python import lines the
//! seeds' examples start with.
//!
//! `main.star` is Starlark. `main.py` is read as the same Starlark (the
//! seeds' examples are written in that subset of Python), except that its
//! `from clockwork.resources import DockerResource` lines are checked
//! against the real type names and then blanked, keeping line numbers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::project::{Entry, ProjectDir};

use crate::load::LoadError;
use crate::load::types::TypeRegistry;
use crate::model::Located;
use crate::model::Location;
use crate::model::PluginKind;
use crate::suggest;

/// The project file names, in order of preference.
pub const PROJECT_FILES: [&str; 2] = ["main.star", "main.py"];

/// The project file, relative to the project folder: `main.star`, or
/// `main.py` when there is no `main.star`. Both at once is an error (one
/// would silently be ignored), and so is a project file that is a folder,
/// a FIFO, a dangling link or a link out of the project.
pub fn project_file(files: &ProjectDir) -> Result<PathBuf, LoadError> {
    let mut present = Vec::new();
    for name in PROJECT_FILES {
        let rel = Path::new(name);
        let problem = |problem: String, help: Option<String>| LoadError::ProjectFile {
            path: rel.to_path_buf(),
            problem,
            help,
        };
        match files.entry(rel).map_err(|e| problem(e.to_string(), None))? {
            Entry::Missing => {}
            Entry::File(_) => present.push(rel.to_path_buf()),
            Entry::Dir => {
                return Err(problem(
                    "is a folder, not a file".into(),
                    Some(format!(
                        "the project file is a Starlark file named `{name}`"
                    )),
                ));
            }
            Entry::Special(what) => {
                return Err(problem(
                    format!("is {what}, not a regular file"),
                    Some(
                        "Clockwork reads the project file as text; replace it with a regular file"
                            .into(),
                    ),
                ));
            }
            Entry::Link { target, resolves } => {
                if !resolves {
                    let dangling = std::fs::metadata(files.root().join(rel)).is_err();
                    return Err(problem(
                        if dangling {
                            format!(
                                "is a symbolic link to `{}`, which does not exist",
                                target.display()
                            )
                        } else {
                            format!(
                                "is a symbolic link to `{}`, outside the project folder; Clockwork does not follow links out of the project",
                                target.display()
                            )
                        },
                        Some(
                            "point it at a file inside the project, or replace it with the file"
                                .into(),
                        ),
                    ));
                }
                match files.entry(&resolved(files, rel)) {
                    Ok(Entry::File(_)) => present.push(rel.to_path_buf()),
                    _ => {
                        return Err(problem(
                            format!(
                                "is a symbolic link to `{}`, which is not a regular file",
                                target.display()
                            ),
                            None,
                        ));
                    }
                }
            }
        }
    }
    match present.as_slice() {
        [] => Err(LoadError::NoProjectFile {
            dir: files.root().to_path_buf(),
        }),
        [one] => Ok(one.clone()),
        _ => Err(LoadError::ProjectFile {
            path: PathBuf::from("main.py"),
            problem:
                "and `main.star` both exist; Clockwork would read `main.star` and ignore `main.py`"
                    .into(),
            help: Some("remove or rename the one you do not use".into()),
        }),
    }
}

/// Where a link inside the project leads, relative to the project.
fn resolved(files: &ProjectDir, rel: &Path) -> PathBuf {
    std::fs::canonicalize(files.root().join(rel))
        .ok()
        .and_then(|p| p.strip_prefix(files.root()).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| rel.to_path_buf())
}

/// The most of a project file (or a file it loads) that is read: Starlark
/// this long is a mistake, or not Starlark.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Reads a project file as text: a UTF-8 byte-order mark is dropped, bytes
/// that are not UTF-8 are a located error.
pub fn read_text(files: &ProjectDir, rel: &Path) -> Result<String, ReadError> {
    let bytes = files
        .read_limited(rel, MAX_SOURCE_BYTES)
        .map_err(ReadError::Path)?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = valid
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|i| i + 1)
                .unwrap_or(0);
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(ReadError::NotUtf8(Box::new(Located {
                message: format!(
                    "`{}` is not UTF-8 text: byte 0x{:02x} cannot start a character",
                    rel.display(),
                    bytes[e.valid_up_to()]
                ),
                location: Location {
                    file: rel.to_path_buf(),
                    line,
                    column,
                    offset: e.valid_up_to(),
                    len: 1,
                },
                help: Some(
                    "save the file as UTF-8 (most editors offer it under \"encoding\")".into(),
                ),
                source: Some(Arc::new(String::from_utf8_lossy(bytes).into_owned())),
                called_from: Vec::new(),
            })))
        }
    }
}

/// Why a project file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    /// The path (a link out, permissions).
    Path(crate::project::PathError),
    /// Not UTF-8, located.
    NotUtf8(Box<Located>),
}

/// Checks and blanks `from clockwork… import …` lines; any other `import`
/// is an error, since Starlark has none.
pub fn accept_imports(
    file: &Path,
    text: &str,
    registry: &TypeRegistry,
) -> Result<String, LoadError> {
    let mut problems = ImportProblems {
        file,
        source: Arc::new(text.to_string()),
        found: Vec::new(),
    };
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut offset = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let is_from = trimmed.starts_with("from ") && trimmed.contains(" import ");
        let is_import = trimmed.starts_with("import ");
        if !(is_from || is_import) {
            out.push_str(line);
            offset += line.len();
            i += 1;
            continue;
        }
        let consumed = statement_lines(&lines[i..], is_from);
        let statement = Statement {
            line,
            trimmed,
            indent: line.len() - trimmed.len(),
            text: lines[i..i + consumed].concat(),
            line_no: i + 1,
            offset,
        };
        if is_import {
            let module = trimmed.trim_end().trim_start_matches("import ").trim();
            problems.add(
                &statement,
                format!("`import {module}` is not supported: the project file is Starlark, which has no imports"),
                Some("Clockwork's types are always available; read settings with `env(\"NAME\")`, and split a project with `load(\"other.star\", \"name\")`".into()),
                statement.indent,
                trimmed.trim_end().len(),
            );
        } else {
            check_from_import(&statement, registry, &mut problems);
        }
        for l in &lines[i..i + consumed] {
            out.push_str(&blanked(l));
            offset += l.len();
        }
        i += consumed;
    }
    if problems.found.is_empty() {
        Ok(out)
    } else {
        Err(LoadError::Located(problems.found))
    }
}

/// How many of `lines` the import statement at their start takes: a
/// parenthesised `from … import (` may span lines.
fn statement_lines(lines: &[&str], is_from: bool) -> usize {
    let mut consumed = 1;
    if is_from && lines[0].contains('(') && !lines[0].contains(')') {
        while consumed < lines.len() {
            consumed += 1;
            if lines[consumed - 1].contains(')') {
                break;
            }
        }
    }
    consumed
}

/// A line blanked: its bytes spaces, its newline kept, so that every later
/// offset, line and column stays what it is in the user's file.
fn blanked(line: &str) -> String {
    let body = line.strip_suffix('\n').unwrap_or(line);
    let mut out = " ".repeat(body.len());
    if line.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// An import statement of the project file.
struct Statement<'t> {
    /// Its first line.
    line: &'t str,
    /// That line without its indent.
    trimmed: &'t str,
    indent: usize,
    /// All of its lines.
    text: String,
    /// Its first line's number, from 1.
    line_no: usize,
    /// Where its first line starts in the file.
    offset: usize,
}

/// The problems found in a file's import statements.
struct ImportProblems<'f> {
    file: &'f Path,
    source: Arc<String>,
    found: Vec<Located>,
}

impl ImportProblems<'_> {
    /// A problem at `column` (of the statement's first line), `len` bytes long.
    fn add(
        &mut self,
        statement: &Statement<'_>,
        message: String,
        help: Option<String>,
        column: usize,
        len: usize,
    ) {
        self.found.push(Located {
            message,
            location: Location {
                file: self.file.to_path_buf(),
                line: statement.line_no,
                column: column + 1,
                offset: statement.offset + column,
                len,
            },
            help,
            source: Some(Arc::clone(&self.source)),
            called_from: Vec::new(),
        });
    }
}

/// The kinds of type a Clockwork module offers; none for another module.
fn module_kinds(module: &str) -> Option<&'static [PluginKind]> {
    match module {
        "clockwork" => Some(&[
            PluginKind::Resource,
            PluginKind::Connection,
            PluginKind::Assertion,
        ]),
        "clockwork.resources" => Some(&[PluginKind::Resource]),
        "clockwork.connections" => Some(&[PluginKind::Connection]),
        "clockwork.assertions" => Some(&[PluginKind::Assertion]),
        _ => None,
    }
}

/// Checks `from module import names`: the module must be Clockwork's and
/// each name one of its types.
fn check_from_import(
    statement: &Statement<'_>,
    registry: &TypeRegistry,
    problems: &mut ImportProblems<'_>,
) {
    let Statement {
        line,
        trimmed,
        indent,
        ..
    } = *statement;
    let statement_text = &statement.text;
    let body = statement_text.trim_start().trim_start_matches("from ");
    let (module, names) = body.split_once(" import ").unwrap_or((body, ""));
    let module = module.trim();
    let module_column = indent + 5;
    let Some(kinds) = module_kinds(module) else {
        problems.add(
            statement,
            format!("`from {module} import ...` is not supported: only Clockwork's own modules can be imported"),
            Some("use `clockwork`, `clockwork.resources`, `clockwork.connections` or `clockwork.assertions`; split a project with `load(...)`".into()),
            module_column,
            module.len(),
        );
        return;
    };
    let names_start = statement_text.find(" import ").map(|p| p + 8).unwrap_or(0);
    let list = names.replace(['(', ')', '\n', '\r'], " ");
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
    {
        let name = name.split_whitespace().next().unwrap_or(name);
        let known = registry.get(name).is_some_and(|t| kinds.contains(&t.kind));
        if known {
            continue;
        }
        let column = statement_text[names_start..]
            .find(name)
            .map(|p| p + names_start)
            .unwrap_or(indent);
        let candidates = registry
            .iter()
            .filter(|t| kinds.contains(&t.kind))
            .map(|t| t.name());
        let help = match registry.get(name) {
            Some(t) => Some(format!(
                "`{name}` is a {}; import it from `clockwork.{}s`",
                t.kind, t.kind
            )),
            None => suggest::nearest(name, candidates).map(|n| format!("did you mean `{n}`?")),
        };
        if column < line.len() {
            problems.add(
                statement,
                format!("`{module}` has no `{name}`"),
                help,
                column,
                name.len(),
            );
        } else {
            problems.add(
                statement,
                format!("`{module}` has no `{name}`"),
                help,
                indent,
                trimmed.trim_end().len(),
            );
        }
    }
}

/// The seed's decorator form in `main.py`, read as the call it stands for:
///
/// ```python
/// @PythonAssert(resource = nginx)
/// def validate_api(resource): ...
/// ```
///
/// is `PythonAssert(validate_api, resource = nginx)`. Starlark has no
/// decorators, so the `@` becomes a unary `+` (the same length: every line
/// and column stays the user's), the constructor's value answers `+`, and
/// the assertion gets the function that follows when the project is
/// collected. Returns the text and, by the decorator's line, the name of the
/// function it decorates. Any other decorator is an error that shows the
/// call form.
pub fn rewrite_decorators(
    file: &Path,
    text: &str,
    registry: &TypeRegistry,
) -> Result<(String, BTreeMap<usize, String>), LoadError> {
    let source = Arc::new(text.to_string());
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut decorated = BTreeMap::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix('@') else {
            out.push_str(line);
            offset += line.len();
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // The `def` this decorator (and any stacked below it) decorates.
        let function = lines[i + 1..]
            .iter()
            .map(|l| l.trim_end())
            .find(|l| {
                !l.is_empty()
                    && !l.starts_with('@')
                    && !l.starts_with('#')
                    && !l.starts_with(' ')
                    && !l.starts_with(')')
            })
            .and_then(|l| l.strip_prefix("def "))
            .map(|l| {
                l.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty());
        let takes_function = registry.get(&name).is_some_and(|t| {
            t.field_types
                .values()
                .any(|ty| *ty == clockwork_schema::ValueType::Function)
        });
        let location = Location {
            file: file.to_path_buf(),
            line: i + 1,
            column: 1,
            offset,
            len: line.trim_end().len(),
        };
        let target = function.clone().unwrap_or_else(|| "check".into());
        match (&function, takes_function) {
            (Some(function), true) => {
                if rest[name.len()..].trim_start().starts_with('(') {
                    decorated.insert(i + 1, function.clone());
                    out.push('+');
                    out.push_str(rest);
                } else {
                    // Parentheses are needed: without them the rewrite
                    // could not keep every column where it is.
                    problems.push(Located {
                        message: format!("`@{name}` needs parentheses: `@{name}()`"),
                        location: location.clone(),
                        help: Some(format!("or write the call: `{name}({function})`")),
                        source: Some(Arc::clone(&source)),
                        called_from: Vec::new(),
                    });
                    out.push_str(line);
                }
            }
            (None, true) => {
                problems.push(Located {
                    message: format!("`@{name}` must be followed by the `def` it decorates"),
                    location,
                    help: Some(format!("or write the call: `{name}(check, ...)`")),
                    source: Some(Arc::clone(&source)),
                    called_from: Vec::new(),
                });
                out.push_str(line);
            }
            (_, false) => {
                problems.push(Located {
                    message: format!(
                        "decorators are not Starlark: only the decorators of assertion types that take a function (`@PythonAssert(...)`) are read, and `@{name}` is not one"
                    ),
                    location,
                    help: Some(format!(
                        "write the call after the function instead: `{target} = {name}({target})`"
                    )),
                    source: Some(Arc::clone(&source)),
                    called_from: Vec::new(),
                });
                out.push_str(line);
            }
        }
        offset += line.len();
    }
    if problems.is_empty() {
        Ok((out, decorated))
    } else {
        Err(LoadError::Located(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_assert_decorator_becomes_a_plus_of_the_same_length() {
        let registry = TypeRegistry::default();
        let text = "@Other(x)\ndef f(r):\n    return True\n";
        let refused = rewrite_decorators(Path::new("main.py"), text, &registry);
        assert!(
            matches!(refused, Err(LoadError::Located(p)) if p[0].message.contains("decorators are not Starlark"))
        );
    }

    #[test]
    fn a_parenthesised_import_takes_the_lines_to_its_closing_parenthesis() {
        let lines = [
            "from clockwork import (\n",
            "    A,\n",
            "    B)\n",
            "x = 1\n",
        ];
        assert_eq!(statement_lines(&lines, true), 3);
        assert_eq!(statement_lines(&lines[3..], false), 1);
        assert_eq!(statement_lines(&["from a import (b\n", "c\n"], true), 2);
        assert_eq!(statement_lines(&["from a import (b, c)\n", "d\n"], true), 1);
    }

    #[test]
    fn a_blanked_line_keeps_its_length_and_newline() {
        assert_eq!(blanked("import os\n"), "         \n");
        assert_eq!(blanked("import os"), "         ");
    }

    #[test]
    fn only_clockworks_modules_offer_types() {
        assert_eq!(
            module_kinds("clockwork.resources"),
            Some(&[PluginKind::Resource][..])
        );
        assert_eq!(module_kinds("clockwork").map(<[_]>::len), Some(3));
        assert_eq!(module_kinds("os"), None);
    }
}
