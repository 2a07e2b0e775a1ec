//! What a check function's return value (or its error) means.
//!
//! `(True, "message")` and `True` pass; `(False, "why")` and `False` fail;
//! `fail("why")` fails with that message. Anything else returned — `None`
//! from a forgotten `return` too — is an error, as is a Starlark error or a
//! limit hit: the check could not say.

use clockwork_sdk::prelude::*;
use starlark::values::tuple::TupleRef;
use starlark::values::{Value, ValueLike};

use crate::limits;
use crate::program::{Program, ProgramError};

/// The most bytes of a message a check may report; the rest is cut.
const MESSAGE_BYTES: usize = 16 << 10;

/// `text` cut to [`MESSAGE_BYTES`], saying so.
fn bounded(text: String) -> String {
    if text.len() <= MESSAGE_BYTES {
        return text;
    }
    let mut cut = MESSAGE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes more)", &text[..cut], text.len() - cut)
}

/// The outcome of a returned `value`, or why it is not one.
pub fn judge(program: &Program, value: Value) -> Result<Outcome, String> {
    let title = program.title();
    let outcome = |passed: bool, message: String| {
        let message = bounded(message);
        let details = json!({"function": program.function, "defined_at": program.defined_at});
        let outcome = if passed {
            Outcome::pass(message)
        } else {
            Outcome {
                verdict: Verdict::Fail,
                message,
                expected: None,
                actual: None,
                details: String::new(),
                timings: Vec::new(),
            }
        };
        outcome.with_details(details)
    };
    // A function that falls off its end most likely forgot its `return`:
    // never a silent pass.
    if value.is_none() {
        return Err(format!(
            "{title} returned None; a check returns `(passed, message)` or a bool (`return True` at its end when it only calls `fail(...)`)"
        ));
    }
    if let Some(passed) = value.unpack_bool() {
        let message = if passed {
            format!("{title} passed")
        } else {
            format!("{title} returned False")
        };
        return Ok(outcome(passed, message));
    }
    if let Some(tuple) = TupleRef::from_value(value)
        && tuple.len() == 2
        && let Some(passed) = tuple.content()[0].unpack_bool()
    {
        let said = tuple.content()[1];
        let message = said
            .unpack_str()
            .map(str::to_string)
            .unwrap_or_else(|| said.to_str());
        let message = if message.is_empty() {
            format!("{title} returned {}", if passed { "True" } else { "False" })
        } else {
            message
        };
        return Ok(outcome(passed, message));
    }
    if let Some(unavailable) = value.downcast_ref::<crate::program::Unavailable>() {
        return Err(format!("{title}: {}", unavailable.message()));
    }
    Err(format!(
        "{title} returned {} `{}`; a check returns `(passed, message)` or a bool, and calls `fail(\"why\")` to fail",
        article(value.get_type()),
        short(&value.to_repr())
    ))
}

/// A `fail()` is a failing verdict; every other error is the check's
/// error, located.
pub fn from_error(program: &Program, error: &ProgramError) -> Result<Outcome, PluginError> {
    if let ProgramError::Starlark(e) = error
        && let starlark::ErrorKind::Fail(message) = e.kind()
    {
        let at = location(e);
        let details = json!({
            "function": program.function,
            "defined_at": program.defined_at,
            "failed_at": at,
        });
        return Ok(Outcome {
            verdict: Verdict::Fail,
            message: bounded(message.to_string().trim().to_string()),
            expected: None,
            actual: None,
            details: String::new(),
            timings: Vec::new(),
        }
        .with_details(details));
    }
    Err(PluginError::Failed(bounded(error_text(program, error))))
}

/// One line: the function, where it stopped, and why.
pub fn error_text(program: &Program, error: &ProgramError) -> String {
    let title = program.title();
    match error {
        ProgramError::Malformed(m) => format!("{title}: {m}"),
        ProgramError::Starlark(e) => {
            let at = location(e).map(|l| format!(" at {l}")).unwrap_or_default();
            if let Some(hit) = limits::hit_by(e) {
                // The place goes before the hint: "…of 2 s at main.star:7:9; a loop…".
                return match hit.message.split_once("; ") {
                    Some((what, hint)) => format!("{title} {what}{at}; {hint}"),
                    None => format!("{title} {}{at}", hit.message),
                };
            }
            let what = match e.kind() {
                starlark::ErrorKind::StackOverflow(_) => {
                    "recursed too deeply (Starlark's call stack limit)".to_string()
                }
                kind => first_line(&kind.to_string()),
            };
            format!("{title} failed{at}: {what}")
        }
    }
}

/// Where an error was raised: its innermost location in the user's code.
fn location(e: &starlark::Error) -> Option<String> {
    let span = e.span()?;
    let resolved = span.resolve_span();
    Some(format!(
        "{}:{}:{}",
        span.filename(),
        resolved.begin.line + 1,
        resolved.begin.column + 1
    ))
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(text)
        .to_string()
}

fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

fn short(text: &str) -> String {
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text.to_string()
    }
}
