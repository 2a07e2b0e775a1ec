//! Env files (`.env`, a Compose service's `env_file`), read one way: as
//! Compose reads them. `env()` and `clockwork import` both use this, so a
//! value means the same to both (`PASSWORD=abc # note` is `abc`).

/// A value of an env file, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotenvValue {
    /// `KEY` alone: passed through from the environment.
    Passthrough,
    /// Unquoted or in double quotes: `${…}` is interpolated (Compose v2,
    /// as the Compose Specification says; v1 took it literally).
    Interpolated(String),
    /// In single quotes: taken as it is.
    Literal(String),
}

/// `KEY=value` lines of an env file as Compose reads them (and `env()`
/// reads `.env`), in order (a key
/// set twice is there twice: a line between may read the first value):
/// comments and blank lines skipped, `export ` allowed, one pair of quotes
/// removed.
pub fn parse(text: &str) -> Vec<(String, DotenvValue)> {
    let mut out: Vec<(String, DotenvValue)> = Vec::new();
    // A byte-order mark an editor put first is no part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => {
                let v = v.trim();
                let value = if let Some(inner) =
                    v.strip_prefix('"').and_then(|v| v.strip_suffix('"'))
                {
                    DotenvValue::Interpolated(inner.to_string())
                } else if let Some(inner) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))
                {
                    DotenvValue::Literal(inner.to_string())
                } else {
                    // An unquoted value ends at ` #`, a comment.
                    let bare = v.split(" #").next().unwrap_or(v).trim_end();
                    DotenvValue::Interpolated(bare.to_string())
                };
                (k.trim().to_string(), value)
            }
            None => (line.to_string(), DotenvValue::Passthrough),
        };
        out.push((k, v));
    }
    out
}

impl DotenvValue {
    /// The value's text, quotes removed; none for a bare `KEY`.
    pub fn text(&self) -> Option<&str> {
        match self {
            DotenvValue::Passthrough => None,
            DotenvValue::Interpolated(t) | DotenvValue::Literal(t) => Some(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_are_read_as_compose_reads_them() {
        let parsed =
            parse("# c\nexport A=1\nB=\"two words\"\nC='x' \nD=plain # note\nPASSTHROUGH\nA=2\n");
        let expected: Vec<(String, DotenvValue)> = vec![
            ("A".into(), DotenvValue::Interpolated("1".into())),
            ("B".into(), DotenvValue::Interpolated("two words".into())),
            ("C".into(), DotenvValue::Literal("x".into())),
            ("D".into(), DotenvValue::Interpolated("plain".into())),
            ("PASSTHROUGH".into(), DotenvValue::Passthrough),
            ("A".into(), DotenvValue::Interpolated("2".into())),
        ];
        assert_eq!(parsed, expected);
    }
}
