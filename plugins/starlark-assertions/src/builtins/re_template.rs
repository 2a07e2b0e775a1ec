//! `re.sub`'s replacements: a Python template, or a function of the
//! `Match`.

use anyhow::{anyhow, bail};
use regex::{Captures, Regex};
use starlark::eval::Evaluator;
use starlark::values::Value;

use super::re_match::RegexMatch;

/// A piece of a `re.sub` replacement.
#[derive(Debug, PartialEq)]
pub(super) enum Piece {
    Text(String),
    Group(usize),
}

/// Parses a Python replacement template: `\1`…`\99`, `\g<1>`, `\g<name>`,
/// the escapes `\n \t \r \f \v \a \b \\`; other backslashes stay as they
/// are, except before an ASCII letter, which is an error (as in Python).
pub(super) fn parse_template(repl: &str, regex: &Regex) -> anyhow::Result<Vec<Piece>> {
    let groups = regex.captures_len();
    let check = |i: usize| -> anyhow::Result<usize> {
        if i < groups {
            Ok(i)
        } else {
            bail!(
                "invalid group reference {i} in the replacement {repl:?}: the pattern has {} group(s)",
                groups - 1
            )
        }
    };
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            bail!("the replacement {repl:?} ends with a lone backslash");
        };
        let group = match next {
            '1'..='9' => {
                let mut n = next.to_digit(10).unwrap_or(0) as usize;
                if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                Some(check(n)?)
            }
            'g' => {
                if chars.next() != Some('<') {
                    bail!("expected \\g<name> or \\g<number> in the replacement {repl:?}");
                }
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('>') => break,
                        Some(ch) => name.push(ch),
                        None => bail!("unterminated \\g<{name} in the replacement {repl:?}"),
                    }
                }
                let index = match name.parse::<usize>() {
                    Ok(i) => check(i)?,
                    Err(_) => regex
                        .capture_names()
                        .position(|n| n == Some(name.as_str()))
                        .ok_or_else(|| {
                            anyhow!("unknown group name {name:?} in the replacement {repl:?}")
                        })?,
                };
                Some(index)
            }
            '0' => {
                text.push('\0');
                None
            }
            'n' => {
                text.push('\n');
                None
            }
            't' => {
                text.push('\t');
                None
            }
            'r' => {
                text.push('\r');
                None
            }
            'f' => {
                text.push('\x0c');
                None
            }
            'v' => {
                text.push('\x0b');
                None
            }
            'a' => {
                text.push('\x07');
                None
            }
            'b' => {
                text.push('\x08');
                None
            }
            '\\' => {
                text.push('\\');
                None
            }
            l if l.is_ascii_alphabetic() => {
                bail!("bad escape \\{l} in the replacement {repl:?}")
            }
            other => {
                text.push('\\');
                text.push(other);
                None
            }
        };
        if let Some(g) = group {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Group(g));
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

pub(super) fn expand(pieces: &[Piece], caps: &Captures, out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Group(g) => out.push_str(caps.get(*g).map_or("", |m| m.as_str())),
        }
    }
}

/// `re.sub` with a template; `count` 0 replaces every match.
pub(super) fn sub_template(
    regex: &Regex,
    repl: &str,
    text: &str,
    count: usize,
) -> anyhow::Result<String> {
    let pieces = parse_template(repl, regex)?;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, caps) in regex.captures_iter(text).enumerate() {
        if count != 0 && i >= count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        expand(&pieces, &caps, &mut out);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// `text` with the first `count` matches of `regex` (all when 0) replaced
/// by what `repl`, called with each `Match`, returns.
pub(super) fn sub_with_function<'v>(
    regex: &Regex,
    repl: Value<'v>,
    text: &str,
    count: usize,
    eval: &mut Evaluator<'v, '_, '_>,
) -> anyhow::Result<String> {
    // A `repl` that is not a str is called with the Match (a function, a
    // lambda, a partial); plain data is refused here with a clear message.
    if matches!(
        repl.get_type(),
        "int" | "float" | "bool" | "NoneType" | "list" | "dict" | "tuple" | "struct"
    ) {
        bail!(
            "`repl` must be a str or a function of the Match, got {} `{}`",
            repl.get_type(),
            repl.to_repr()
        );
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, caps) in regex.captures_iter(text).enumerate() {
        if count != 0 && i >= count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        let value = eval.heap().alloc(RegexMatch::new(regex, &caps, text));
        let put = eval
            .eval_function(repl, &[value], &[])
            .map_err(|e| anyhow!("the `repl` function of re.sub failed: {e}"))?;
        match put.unpack_str() {
            Some(s) => out.push_str(s),
            None => bail!(
                "the `repl` function of re.sub must return a str, got {} `{}`",
                put.get_type(),
                put.to_repr()
            ),
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}
