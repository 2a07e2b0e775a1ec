//! A place in one of the project's files.

use std::fmt;
use std::path::PathBuf;

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
