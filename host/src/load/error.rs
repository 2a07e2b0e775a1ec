//! Errors of loading a project, each pointing into the user's file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use crate::load::context::location_of;
use crate::model::{Located, Location};

impl LoadReport<'_> {
    /// Renders located warnings like problems, marked as warnings.
    pub fn warnings(warnings: &[Located], mut render: impl FnMut(&dyn Diagnostic)) {
        for located in warnings {
            let source = located.source.as_ref().map(|text| {
                NamedSource::new(
                    located.location.file.display().to_string(),
                    text.as_str().to_owned(),
                )
            });
            render(&WarningSnippet { located, source });
        }
    }
}

#[derive(Debug)]
struct WarningSnippet<'a> {
    located: &'a Located,
    source: Option<NamedSource<String>>,
}

impl fmt::Display for WarningSnippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.located.fmt(f)
    }
}

impl std::error::Error for WarningSnippet<'_> {}

impl Diagnostic for WarningSnippet<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Warning)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.located.help()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        let loc = &self.located.location;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some("here".into()),
            loc.offset,
            loc.len.max(1),
        ))))
    }
}

/// [`Located`] with its snippet, as miette renders it.
#[derive(Debug)]
struct Snippet<'a> {
    located: &'a Located,
    source: NamedSource<String>,
}

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.located.fmt(f)
    }
}

impl std::error::Error for Snippet<'_> {}

impl Diagnostic for Snippet<'_> {
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.located.help()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = &self.located.location;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some("here".into()),
            loc.offset,
            loc.len.max(1),
        ))))
    }
}

/// Why a project could not be loaded. Unrelated problems are collected and
/// reported together.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Neither `main.star` nor `main.py` exists.
    #[error("no project file in `{}`: expected `main.star` (or `main.py`)", dir.display())]
    NoProjectFile {
        /// The project folder.
        dir: PathBuf,
    },
    /// The project file is there but cannot be used.
    #[error("`{}` {problem}", path.display())]
    ProjectFile {
        /// The file, relative to the project.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        help: Option<String>,
    },
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A failure of Clockwork itself.
    #[error("internal error: {0} (this is a bug in clockwork)")]
    Internal(String),
    /// Problems located in the project's files.
    #[error("{}", render_list(.0))]
    Located(Vec<Located>),
}

fn render_list(items: &[Located]) -> String {
    match items {
        [one] => one.to_string(),
        many => format!(
            "{} problems in the project:\n{}",
            many.len(),
            many.iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

impl LoadError {
    /// One located problem.
    pub fn at(
        location: Location,
        message: impl Into<String>,
        help: Option<String>,
        source: Option<Arc<String>>,
    ) -> Self {
        LoadError::Located(vec![Located {
            message: message.into(),
            location,
            help,
            source,
            called_from: Vec::new(),
        }])
    }

    /// The located problems, if that is what this is.
    pub fn located(&self) -> &[Located] {
        match self {
            LoadError::Located(items) => items,
            _ => &[],
        }
    }
}

/// A report for the CLI: one miette diagnostic per located problem, each
/// with its snippet.
pub struct LoadReport<'a>(pub &'a LoadError);

impl LoadReport<'_> {
    /// Renders every problem with `render`, which receives a diagnostic.
    pub fn each(&self, mut render: impl FnMut(&dyn Diagnostic)) {
        match self.0 {
            LoadError::Located(items) => {
                for located in items {
                    match &located.source {
                        Some(text) => {
                            let source = NamedSource::new(
                                located.location.file.display().to_string(),
                                text.as_str().to_owned(),
                            );
                            render(&Snippet { located, source });
                        }
                        None => render(located),
                    }
                }
            }
            LoadError::ProjectFile {
                help: Some(help), ..
            } => render(&Plain(self.0.to_string(), Some(help.clone()))),
            other => render(&Plain(other.to_string(), None)),
        }
    }
}

#[derive(Debug)]
struct Plain(String, Option<String>);

impl fmt::Display for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Plain {}
impl Diagnostic for Plain {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.1
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }
}

/// Converts a Starlark error (syntax, an unknown name, a failed builtin)
/// into a located problem.
pub fn from_starlark(
    error: &starlark::Error,
    files: &dyn Fn(&str) -> Option<Arc<String>>,
) -> Located {
    let message = clean_message(&error.without_diagnostic().to_string());
    let (location, source) = match error.span() {
        Some(span) => {
            let location = location_of(span);
            let source = files(&location.file.display().to_string())
                .or_else(|| Some(Arc::new(span.file.source().to_owned())));
            (location, source)
        }
        None => (
            Location {
                file: PathBuf::from("main.star"),
                line: 1,
                column: 1,
                offset: 0,
                len: 0,
            },
            None,
        ),
    };
    let called_from = error
        .call_stack()
        .frames
        .iter()
        .rev()
        .filter_map(|frame| frame.location.as_ref().map(location_of))
        .filter(|l| *l != location)
        .collect();
    let (message, mut help) = split_help(message);
    let mut location = location;
    // Starlark points a tab error at the end of the line before the tab.
    if message.contains("tabs are not allowed")
        && let Some(text) = &source
        && let Some(tab) = text.get(location.offset..).and_then(|t| t.find('\t'))
    {
        location = location_at(&location.file, text, location.offset + tab, 1);
        help.get_or_insert_with(|| "indent with spaces: Starlark does not allow tabs".into());
    }
    // Starlark freezes a loaded file's values; its word for changing one is
    // a bare "immutable".
    let message = if message == "immutable" {
        help.get_or_insert_with(|| {
            "a value from a loaded file is frozen once that file finishes; change it where it is declared, or have the loaded file export a function that declares it".into()
        });
        "this value cannot be changed here".to_string()
    } else {
        message
    };
    Located {
        message,
        location,
        help,
        source,
        called_from,
    }
}

/// The location of byte `offset` of `text`.
pub fn location_at(file: &std::path::Path, text: &str, offset: usize, len: usize) -> Location {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    Location {
        file: file.to_path_buf(),
        line,
        column: before[line_start..].chars().count() + 1,
        offset,
        len,
    }
}

/// Starlark's own messages start with a capital and sometimes a kind
/// prefix; ours are lower-case. `error: ` and trailing periods go.
fn clean_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut message = first.trim_end_matches('.').to_string();
    // Lower-case a capitalised English word ("Variable"), never a type
    // name ("DockerResource").
    let word = message
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    let capitalised = word.chars().next().is_some_and(char::is_uppercase)
        && word.chars().skip(1).all(char::is_lowercase);
    if capitalised && let Some(c) = message.chars().next() {
        let lower: String = c.to_lowercase().collect();
        message.replace_range(..c.len_utf8(), &lower);
    }
    message
}

/// Our messages put a hint after `; did you mean`; show it as help.
fn split_help(message: String) -> (String, Option<String>) {
    if let Some((main, hint)) = message.split_once("; did you mean ") {
        return (main.to_string(), Some(format!("did you mean {hint}")));
    }
    if let Some((main, hint)) = message.split_once("; its fields are: ") {
        return (main.to_string(), Some(format!("its fields are: {hint}")));
    }
    (message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starlark_messages_are_lower_cased_without_periods() {
        assert_eq!(
            clean_message("Variable `x` not found."),
            "variable `x` not found"
        );
        assert_eq!(
            clean_message("error: Parse error: unexpected `)`"),
            "parse error: unexpected `)`"
        );
        assert_eq!(
            clean_message("DockerResource has no field"),
            "DockerResource has no field"
        );
    }

    #[test]
    fn hints_become_help() {
        let (m, h) = split_help("`X` has no field `imagee`; did you mean `image`?".into());
        assert_eq!(m, "`X` has no field `imagee`");
        assert_eq!(h.as_deref(), Some("did you mean `image`?"));
    }
}
