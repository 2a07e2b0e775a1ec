//! Where everything Clockwork prints goes: masked, to stdout or stderr.
//! The only module that writes to them; any stage may use it. What a
//! plan, an apply or a check looks like is [`crate::render`]'s.

mod mask;
pub(crate) mod spinner;
mod table;

pub use mask::{
    Masker, file_masker, mask_json_always, masked, process_masker, register_env_values,
    register_public, register_secrets, secrets_masker, show_secrets,
};
pub use table::Table;

use std::io::Write;

/// Text Clockwork did not write (a model's answer, a plugin's message, a
/// name from a file) made inert for one line of a terminal: line breaks,
/// escape sequences and the other control characters, and the Unicode
/// controls that reorder or break lines, are shown as escapes (`\n`,
/// `\u{1b}`), so such text can neither start a line of its own nor move
/// the cursor.
pub fn inert(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if needs_escape(c) {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes a document to stdout. A closed pipe (`clockwork … | head`) is not
/// an error worth reporting.
pub fn emit(text: &str) {
    let text = mask::masked_document(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// Writes a JSON value to stdout, pretty-printed.
pub fn emit_json(value: &serde_json::Value) {
    emit(
        &serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
    );
}

/// `CW_TIMINGS=1`: when each stage of a command ended, on stderr.
pub struct Timings {
    started: std::time::Instant,
    shown: bool,
}

impl Timings {
    /// Counting from now.
    pub fn start() -> Timings {
        Timings::since(std::time::Instant::now())
    }

    /// Counting from `started`.
    pub fn since(started: std::time::Instant) -> Timings {
        Timings {
            started,
            shown: std::env::var_os("CW_TIMINGS").is_some(),
        }
    }

    /// `timing: <what> done at <ms> ms`.
    pub fn lap(&self, what: &str) {
        self.note(&format!(
            "{what} done at {} ms",
            self.started.elapsed().as_millis()
        ));
    }

    /// `timing: <text>`.
    pub fn note(&self, text: &str) {
        if self.shown {
            note(&format!("timing: {text}"));
        }
    }
}

/// How much `-v` asked for; set once at start.
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Records the `-v` count for [`detail`].
pub fn set_verbosity(verbosity: u8) {
    VERBOSITY.store(verbosity, std::sync::atomic::Ordering::Relaxed);
}

/// Writes a note to stderr under `-v` only.
pub fn detail(text: &str) {
    if VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) >= 1 {
        note(text);
    }
}

/// Writes a note to stderr.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", masked(text));
}

/// Renders a diagnostic like [`error`] does.
pub fn diagnostic(diagnostic: &dyn miette::Diagnostic) {
    note(&rendered(diagnostic));
}

/// A diagnostic as [`diagnostic`] prints it, masked.
pub(crate) fn rendered(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut text = String::new();
    if handler().render_report(&mut text, diagnostic).is_err() {
        text = format!("error: {diagnostic}");
    }
    masked(text.trim_end())
}

fn handler() -> miette::GraphicalReportHandler {
    use std::io::IsTerminal;
    let theme = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    miette::GraphicalReportHandler::new_themed(theme).with_wrap_lines(false)
}

/// Renders an error for a terminal or a log: miette's report, without
/// colour when stderr is not a terminal.
pub fn error(report: &miette::Report) {
    let mut text = String::new();
    if handler().render_report(&mut text, report.as_ref()).is_err() {
        text = format!("error: {report:?}");
    }
    note(text.trim_end());
}
