//! Compose variable interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`, …)
//! parsed into parts, so that a value becomes a Starlark expression built
//! with `env()` instead of being resolved on the importing machine.

/// A string value of the Compose file: literal text and variables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(pub Vec<Part>);

/// One piece of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// Literal text (`$$` already turned into `$`).
    Lit(String),
    /// A variable, read from the environment (or `.env`) when applied.
    Var(Var),
}

/// A variable reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// What it stands for when it is not set.
    pub fallback: Fallback,
}

/// What an unset variable gives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// `$VAR`, `${VAR}`: the empty string (Compose warns).
    Empty,
    /// `${VAR:-default}` or `${VAR-default}`.
    Default(Text),
    /// `${VAR:?message}` or `${VAR?message}`: an error.
    Required,
    /// `${VAR:+replacement}`: the replacement when set, else empty.
    Replacement(Text),
}

impl Text {
    /// Literal text.
    pub fn literal(text: impl Into<String>) -> Text {
        let text = text.into();
        if text.is_empty() {
            Text(Vec::new())
        } else {
            Text(vec![Part::Lit(text)])
        }
    }

    /// Parses Compose interpolation; the error says what is malformed.
    pub fn parse(text: &str) -> Result<Text, String> {
        let chars: Vec<char> = text.chars().collect();
        let (parts, end) = parse_parts(&chars, 0, false)?;
        debug_assert_eq!(end, chars.len());
        Ok(Text(parts))
    }

    /// The text when it holds no variable.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(_) => return None,
            }
        }
        Some(out)
    }

    /// The value with every variable unset: what the file says by itself,
    /// the same on every machine. Used to understand a value (is it a
    /// path, a port, a PostgreSQL URL), never written out.
    pub fn resolved(&self) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    if let Fallback::Default(d) = &v.fallback {
                        out.push_str(&d.resolved());
                    }
                }
            }
        }
        out
    }

    /// Every literal character main.star would write for it: the literal
    /// parts and each variable's default or replacement, in order (a
    /// variable alone adds nothing). Where a secret could be written.
    pub fn literal_view(&self) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => match &v.fallback {
                    Fallback::Default(t) | Fallback::Replacement(t) => {
                        out.push_str(&t.literal_view());
                    }
                    Fallback::Empty | Fallback::Required => {}
                },
            }
        }
        out
    }

    /// The names of the variables it reads, those of fallbacks included.
    pub fn var_names(&self, out: &mut Vec<String>) {
        for part in &self.0 {
            if let Part::Var(v) = part {
                out.push(v.name.clone());
                if let Fallback::Default(t) | Fallback::Replacement(t) = &v.fallback {
                    t.var_names(out);
                }
            }
        }
    }

    /// Whether it holds a variable.
    pub fn has_vars(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Part::Var(_)))
    }

    /// Appends another text.
    pub fn push_text(&mut self, other: Text) {
        for part in other.0 {
            match (self.0.last_mut(), part) {
                (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
                (_, part) => self.0.push(part),
            }
        }
    }

    /// Appends literal text.
    pub fn push_str(&mut self, text: &str) {
        if !text.is_empty() {
            self.push_text(Text::literal(text));
        }
    }

    /// The text with each variable that `known` gives a value replaced by
    /// it, as an env file's `${A}` takes the `A` set above it in the file;
    /// the others are left to the environment. A known value that is not
    /// literal counts as set.
    pub fn with_known(&self, known: &dyn Fn(&str) -> Option<Text>) -> Text {
        let mut out = Text::default();
        for part in &self.0 {
            let Part::Var(v) = part else {
                out.push_text(Text(vec![part.clone()]));
                continue;
            };
            // The variable left to the environment, under `name`.
            let unknown = |name: &str| {
                let fallback = match &v.fallback {
                    Fallback::Default(d) => Fallback::Default(d.with_known(known)),
                    Fallback::Replacement(r) => Fallback::Replacement(r.with_known(known)),
                    other => other.clone(),
                };
                Text(vec![Part::Var(Var {
                    name: name.to_string(),
                    fallback,
                })])
            };
            let Some(value) = known(&v.name) else {
                out.push_text(unknown(&v.name));
                continue;
            };
            // Set to another variable alone (`A=${X}`): whether it is empty
            // is the environment's to say, so the fallback goes onto `X`.
            if let [Part::Var(inner)] = value.0.as_slice()
                && inner.fallback == Fallback::Empty
                && v.fallback != Fallback::Empty
            {
                out.push_text(unknown(&inner.name));
                continue;
            }
            let empty = value.as_literal().is_some_and(|l| l.is_empty());
            match &v.fallback {
                Fallback::Default(d) if empty => out.push_text(d.with_known(known)),
                Fallback::Replacement(r) if !empty => out.push_text(r.with_known(known)),
                Fallback::Replacement(_) => {}
                _ => out.push_text(value),
            }
        }
        out
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses from `i` to the end, or (inside `${…}`) to the closing brace,
/// returning the parts and the index after what was read.
fn parse_parts(chars: &[char], mut i: usize, nested: bool) -> Result<(Vec<Part>, usize), String> {
    let mut out = Text::default();
    let mut literal = String::new();
    while i < chars.len() {
        let c = chars[i];
        if nested && c == '}' {
            break;
        }
        if c != '$' {
            literal.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                literal.push('$');
                i += 2;
            }
            Some('{') => {
                out.push_str(&literal);
                literal.clear();
                let (var, next) = parse_braced(chars, i + 2)?;
                out.0.push(Part::Var(var));
                i = next;
            }
            Some(&n) if is_name_start(n) => {
                out.push_str(&literal);
                literal.clear();
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && is_name_char(chars[end]) {
                    end += 1;
                }
                out.0.push(Part::Var(Var {
                    name: chars[start..end].iter().collect(),
                    fallback: Fallback::Empty,
                }));
                i = end;
            }
            // A lone `$` is kept: Compose v2 keeps it too.
            _ => {
                literal.push('$');
                i += 1;
            }
        }
    }
    out.push_str(&literal);
    Ok((out.0, i))
}

/// Parses `NAME`, `NAME:-…`, `NAME-…`, `NAME:?…`, `NAME?…`, `NAME:+…`
/// and `NAME+…` up to the closing brace (from just after `${`).
fn parse_braced(chars: &[char], start: usize) -> Result<(Var, usize), String> {
    let mut i = start;
    while i < chars.len() && is_name_char(chars[i]) {
        i += 1;
    }
    let name: String = chars[start..i].iter().collect();
    let shown = || {
        let end = chars[start..]
            .iter()
            .position(|c| *c == '}')
            .map_or(chars.len(), |p| start + p + 1);
        format!("${{{}", chars[start..end].iter().collect::<String>())
    };
    if name.is_empty() || !name.chars().next().is_some_and(is_name_start) {
        return Err(format!(
            "`{}` is not a variable: write `${{NAME}}` with a name of letters, digits and `_`, or `$$` for a literal `$`",
            shown()
        ));
    }
    let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
    let (operator_len, make): (usize, fn(Text) -> Fallback) = if rest.starts_with('}') {
        return Ok((
            Var {
                name,
                fallback: Fallback::Empty,
            },
            i + 1,
        ));
    } else if rest.starts_with(":-") {
        (2, Fallback::Default)
    } else if rest.starts_with(":?") {
        (2, |_| Fallback::Required)
    } else if rest.starts_with(":+") {
        (2, Fallback::Replacement)
    } else if rest.starts_with('-') {
        (1, Fallback::Default)
    } else if rest.starts_with('?') {
        (1, |_| Fallback::Required)
    } else if rest.starts_with('+') {
        (1, Fallback::Replacement)
    } else if i >= chars.len() {
        return Err(format!("`{}` has no closing `}}`", shown()));
    } else {
        return Err(format!(
            "`{}` is not an interpolation Compose knows: use `${{{name}}}`, `${{{name}:-default}}` or `${{{name}:?message}}`",
            shown()
        ));
    };
    let (parts, end) = parse_parts(chars, i + operator_len, true)?;
    if end >= chars.len() {
        return Err(format!("`{}` has no closing `}}`", shown()));
    }
    Ok((
        Var {
            name,
            fallback: make(Text(parts)),
        },
        end + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, fallback: Fallback) -> Part {
        Part::Var(Var {
            name: name.into(),
            fallback,
        })
    }

    #[test]
    fn every_form_compose_knows_is_parsed() {
        let t = Text::parse("a$$b ${X} $Y ${Z:-d ${W}} ${R:?set it} ${P+yes}").unwrap();
        assert_eq!(
            t.0,
            [
                Part::Lit("a$b ".into()),
                var("X", Fallback::Empty),
                Part::Lit(" ".into()),
                var("Y", Fallback::Empty),
                Part::Lit(" ".into()),
                var(
                    "Z",
                    Fallback::Default(Text(vec![
                        Part::Lit("d ".into()),
                        var("W", Fallback::Empty)
                    ]))
                ),
                Part::Lit(" ".into()),
                var("R", Fallback::Required),
                Part::Lit(" ".into()),
                var("P", Fallback::Replacement(Text::literal("yes"))),
            ]
        );
        assert_eq!(t.resolved(), "a$b   d   ");
        assert_eq!(
            Text::parse("100$").unwrap().as_literal().as_deref(),
            Some("100$")
        );
    }

    #[test]
    fn malformed_interpolation_says_what_is_wrong() {
        assert_eq!(
            Text::parse("x ${OOPS").unwrap_err(),
            "`${OOPS` has no closing `}`"
        );
        assert_eq!(
            Text::parse("${1X}").unwrap_err(),
            "`${1X}` is not a variable: write `${NAME}` with a name of letters, digits and `_`, or `$$` for a literal `$`"
        );
        assert!(Text::parse("${A:-never closed").is_err());
        assert!(
            Text::parse("${A/x}")
                .unwrap_err()
                .contains("not an interpolation")
        );
    }
}
