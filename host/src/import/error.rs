//! Why a Compose file cannot be imported: each problem located in the file
//! (where it can be), with what was expected and a way out.

use miette::{MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents};

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
#[diagnostic(code("clockwork::import"))]
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
    source_code: NamedSource<Excerpt>,
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
            message: one_line(&message),
            help: help.map(|h| one_line(&h)),
            file: file.to_string(),
            spot,
            source_code: NamedSource::new(file, Excerpt::around(text, spot)),
            span: spot.map(|s| SourceSpan::new(s.offset.into(), s.len.max(1))),
        }
    }

    /// `file:line:column`, or the file alone.
    #[cfg(test)]
    pub fn place(&self) -> String {
        match self.spot {
            Some(s) => format!("{}:{}:{}", self.file, s.line, s.column),
            None => self.file.clone(),
        }
    }
}

/// The lines of the file around a problem, which is all its rendering
/// shows: a copy of the whole file per problem, and miette's scan from its
/// start to each problem, made a file with many problems quadratic.
#[derive(Debug)]
pub struct Excerpt {
    /// Whole lines of the file.
    text: String,
    /// The offset of `text` in the file.
    start: usize,
    /// The 0-based line of the file `text` starts at.
    first_line: usize,
}

/// Lines shown around a problem; miette's handler asks for one.
const CONTEXT_LINES: usize = 3;

impl Excerpt {
    /// The lines of `text` around `spot` (nothing without one).
    fn around(text: &str, spot: Option<Spot>) -> Excerpt {
        let Some(spot) = spot.filter(|s| s.offset <= text.len()) else {
            return Excerpt {
                text: String::new(),
                start: 0,
                first_line: 0,
            };
        };
        let bytes = text.as_bytes();
        let mut start = spot.offset;
        let mut back = 0;
        // The start of the spot's line, then of CONTEXT_LINES lines above.
        loop {
            while start > 0 && bytes[start - 1] != b'\n' {
                start -= 1;
            }
            if start == 0 || back == CONTEXT_LINES {
                break;
            }
            start -= 1;
            back += 1;
        }
        let mut end = (spot.offset + spot.len).min(text.len());
        let mut ahead = 0;
        while end < text.len() {
            if bytes[end] == b'\n' {
                ahead += 1;
                if ahead > CONTEXT_LINES {
                    break;
                }
            }
            end += 1;
        }
        let first_line = spot.line.saturating_sub(1 + back);
        Excerpt {
            text: text.get(start..end).unwrap_or_default().to_string(),
            start,
            first_line,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let offset = span
            .offset()
            .checked_sub(self.start)
            .ok_or(MietteError::OutOfBounds)?;
        let inner = self.text.as_str().read_span(
            &SourceSpan::new(offset.into(), span.len()),
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + self.start).into(),
                inner.span().len(),
            ),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// `text` with every line break (and other control character) made a
/// space: comment text quotes the Compose file, and a break in a quoted
/// name or value would otherwise start a line of code in main.star.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_renders_as_the_whole_file_does() {
        let text: String = (1..=40).map(|n| format!("line{n}: value {n}\n")).collect();
        let offset = text.find("line20").expect("there");
        let spot = Spot {
            line: 20,
            column: 1,
            offset,
            len: 6,
        };
        let whole = |source: &dyn SourceCode| {
            let span = SourceSpan::new(offset.into(), 6);
            let c = source.read_span(&span, 1, 1).expect("read");
            (
                String::from_utf8_lossy(c.data()).into_owned(),
                c.span().offset(),
                c.line(),
                c.column(),
            )
        };
        let excerpt = Excerpt::around(&text, Some(spot));
        assert!(excerpt.text.lines().count() <= 2 * CONTEXT_LINES + 1);
        assert_eq!(whole(&excerpt), whole(&text.as_str()));
    }
}
