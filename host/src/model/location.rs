//! A place in one of the project's files.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use serde::Serialize;

/// A file, line and column (both 1-based), shown as `main.star:12:7`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// The file, relative to the project folder.
    pub file: PathBuf,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// Byte offset of the start in the file, for underlining.
    #[serde(skip)]
    pub offset: usize,
    /// Length in bytes of the located text, for underlining.
    #[serde(skip)]
    pub len: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A problem at a place in a project file.
#[derive(Debug, Clone)]
pub struct Located {
    /// What is wrong, lower-case, naming the thing and what was expected.
    pub message: String,
    /// Where.
    pub location: Location,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
    /// The file's text, for the snippet under the message.
    pub source: Option<Arc<String>>,
    /// Where the call that failed was made from, innermost first, when the
    /// error happened inside a function.
    pub called_from: Vec<Location>,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for Located {}

impl Diagnostic for Located {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        None
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut lines: Vec<String> = self.help.iter().cloned().collect();
        lines.extend(self.called_from.iter().map(|l| format!("called from {l}")));
        (!lines.is_empty()).then(|| Box::new(lines.join("\n")) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        None
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        None
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        None
    }
}
