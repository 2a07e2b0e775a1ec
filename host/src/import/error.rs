//! Why a Compose file cannot be imported: each problem located in the file
//! (where it can be), with what was expected and a way out.

use miette::{NamedSource, SourceSpan};

use crate::import::locate::Spot;

/// A Compose file that cannot be imported. Nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not YAML.
    #[error("{} is not YAML", .0.file)]
    Syntax(Box<Problem>),
    /// The file is YAML but not a Compose file Clockwork can read: every
    /// problem found, in file order.
    #[error("{} problem(s) in {}", .0.len(), .0.first().map(|p| p.file.as_str()).unwrap_or("the Compose file"))]
    Invalid(Vec<Problem>),
}

impl ImportError {
    /// Each problem, for rendering one by one.
    pub fn problems(&self) -> Vec<&Problem> {
        match self {
            ImportError::Syntax(p) => vec![p],
            ImportError::Invalid(all) => all.iter().collect(),
        }
    }
}

/// One problem of the file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(clockwork::import))]
pub struct Problem {
    /// What is wrong, naming the key.
    pub message: String,
    /// How to fix it.
    #[help]
    pub help: Option<String>,
    /// The file, as the user named it.
    pub file: String,
    /// Where, when it could be found.
    pub spot: Option<Spot>,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("here")]
    span: Option<SourceSpan>,
}

impl Problem {
    /// A problem at `spot` of `file` (whose text is `text`).
    pub fn new(
        file: &str,
        text: &str,
        spot: Option<Spot>,
        message: String,
        help: Option<String>,
    ) -> Problem {
        // The message quotes the file, which may hold a line break or a
        // terminal's escape character.
        Problem {
            message: crate::import::starlark::one_line(&message),
            help: help.map(|h| crate::import::starlark::one_line(&h)),
            file: file.to_string(),
            spot,
            source_code: NamedSource::new(file, text.to_string()),
            span: spot.map(|s| SourceSpan::new(s.offset.into(), s.len.max(1))),
        }
    }

    /// `file:line:column`, or the file alone.
    pub fn place(&self) -> String {
        match self.spot {
            Some(s) => format!("{}:{}:{}", self.file, s.line, s.column),
            None => self.file.clone(),
        }
    }
}
