//! Masking secrets in everything Clockwork prints and writes.
//!
//! Masking works on the secret *values* ([`crate::secret`]), wherever they
//! appear: in a field, inside an Engine error that quotes an environment
//! variable, in a Starlark message, a plugin's log line, the journal. A
//! secret is replaced wherever it stands as a whole word (`:pw@`,
//! `` `pw` ``, `PASS=pw`, `"pw"`), so that a one-character password is still
//! replaced without turning every `a` of the output into `***`, and a
//! password `postgres` leaves `postgresql://` readable. A secret of four
//! characters or more that does not read like a word — it holds other
//! characters than lower-case letters, or is twelve characters or longer
//! (`hunter2`, `S3cret`, `p@ss`) — is replaced wherever it occurs, even
//! glued to other text (`db/xS3cret`). On top of that, the value
//! after any secret-looking `NAME=` or `name: ` and every URL password are
//! masked even when Clockwork never saw the value itself.
//!
//! The values a command learns are registered once for the process
//! ([`register_secrets`]); every function of `output` and the state files
//! pass their text through the process's masker. That is one global on
//! purpose: a secret must not leak through a path that forgot to ask.

use std::sync::RwLock;

use serde_json::Value;

use crate::secret::is_secret_name;

/// The mask.
pub const MASK: &str = "***";

/// Secrets at least this long are masked wherever they occur; shorter ones
/// only as whole words.
const ANYWHERE: usize = 4;

/// Masks secrets in values.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Every form a secret or an `env()` value may be printed in, longest
    /// first, with which it is.
    forms: Vec<(String, Kind)>,
    /// Short values of non-secret `env()` variables: masked as whole
    /// values only.
    exact: Vec<String>,
    /// What the project shows by design (its declarations' names and
    /// types, the images they run): never masked as text, even when a
    /// secret has the same value. The secret stays masked where it stands
    /// as one: under a secret-looking name, as a URL's password.
    public: std::collections::BTreeSet<String>,
    /// Words the project shows inside its values (the repository of an
    /// image: `redis` of `redis:7-alpine`): a secret that reads like a word
    /// and equals one is left where it stands in text.
    public_words: std::collections::BTreeSet<String>,
    enabled: bool,
}

/// What a masked value is: it decides where it is masked in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A secret: wherever it occurs unless it reads like a word or a
    /// number (see [`crate::secret::found_anywhere`]).
    Secret,
    /// The value of an `env()` variable whose name is not secret: where it
    /// stands as a word, or wherever it occurs when it holds other
    /// characters than letters, digits and `_`.
    EnvValue,
}

use crate::secret::forms_of;

impl Masker {
    /// A masker for these secrets; `enabled = false` (`--show-secrets`)
    /// masks nothing.
    pub fn new(secrets: &[String], enabled: bool) -> Self {
        let mut masker = Masker {
            forms: Vec::new(),
            exact: Vec::new(),
            public: Default::default(),
            public_words: Default::default(),
            enabled,
        };
        masker.add(secrets.iter().cloned());
        masker
    }

    pub(crate) fn add_env_values(&mut self, values: impl IntoIterator<Item = String>) {
        // A switch's value (`DEBUG=true`) says nothing worth hiding, and
        // hidden it would take every `true` of a plan with it.
        let switch = |v: &str| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "none"
            )
        };
        let (long, short): (Vec<String>, Vec<String>) = values
            .into_iter()
            .filter(|v| !v.is_empty() && !switch(v))
            .partition(|v| v.chars().count() >= ANYWHERE);
        self.add_as(long, Kind::EnvValue);
        self.exact.extend(short);
    }

    fn add(&mut self, secrets: impl IntoIterator<Item = String>) {
        self.add_as(secrets, Kind::Secret);
    }

    fn add_as(&mut self, values: impl IntoIterator<Item = String>, kind: Kind) {
        for value in values.into_iter().filter(|s| !s.is_empty()) {
            self.forms
                .extend(forms_of(&value).into_iter().map(|f| (f, kind)));
        }
        // A value both secret and read with env() is a secret.
        self.forms.sort_by(|a, b| {
            b.0.len()
                .cmp(&a.0.len())
                .then(a.0.cmp(&b.0))
                .then((a.1 == Kind::EnvValue).cmp(&(b.1 == Kind::EnvValue)))
        });
        self.forms.dedup_by(|later, first| later.0 == first.0);
    }

    /// Masks a string found under `key` (a field or variable name, if any).
    pub fn text(&self, key: Option<&str>, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        if key.is_some_and(is_secret_name) {
            return MASK.to_string();
        }
        if !self.is_public(text)
            && (self.forms.iter().any(|(s, _)| s == text) || self.exact.iter().any(|s| s == text))
        {
            return MASK.to_string();
        }
        self.scrub(text)
    }

    /// Masks every string inside a JSON value.
    pub fn json(&self, key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(key, s)),
            Value::Number(_) if self.enabled && key.is_some_and(is_secret_name) => {
                Value::String(MASK.into())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(key, v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.json(Some(k), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A document for printing: a JSON document has each string (keys
    /// included) scrubbed and keeps its shape — a number, a constant, a
    /// bracket is never touched, so it stays JSON; any other text is
    /// scrubbed whole.
    pub fn document(&self, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(value) = serde_json::from_str::<Value>(text)
        {
            let masked = self.leaves(&value);
            let pretty = text.trim_end().contains('\n');
            let rendered = if pretty {
                serde_json::to_string_pretty(&masked)
            } else {
                serde_json::to_string(&masked)
            };
            if let Ok(mut rendered) = rendered {
                if text.ends_with('\n') {
                    rendered.push('\n');
                }
                return rendered;
            }
        }
        self.scrub(text)
    }

    /// `value` with every string scrubbed, keys included.
    fn leaves(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.scrub(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.leaves(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.scrub(k), self.leaves(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Whether `value` is one the project shows by design.
    fn is_public(&self, value: &str) -> bool {
        self.public.contains(value)
            || (self.public_words.contains(value) && crate::secret::reads_like_a_word(value))
    }

    /// Masks free text: URL passwords, values after secret-looking names,
    /// and every known secret.
    pub fn scrub(&self, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        // Known values first, whole: a pattern below could cover only part
        // of one (`'pa"ssw0rd'` ends at its quote for no reader).
        let mut out = text.to_string();
        for (form, kind) in self.forms.iter().filter(|(f, _)| !self.is_public(f)) {
            // A secret that reads like a word or a number is masked where
            // it stands as one (`postgres` as a password leaves
            // `postgresql://` alone, `8080` leaves `18080`); one unlike
            // any, wherever it occurs, even glued to other text.
            let anywhere = match kind {
                Kind::Secret => crate::secret::found_anywhere(form),
                Kind::EnvValue => {
                    form.chars().count() >= ANYWHERE
                        && !form.chars().all(|c| c.is_alphanumeric() || c == '_')
                }
            };
            if !anywhere {
                out = replace_words(&out, form);
            } else if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), MASK);
            }
        }
        mask_assignments(&mask_url_password(&out))
    }
}

/// Replaces `word` where it is not part of a longer word.
fn replace_words(text: &str, word: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in crate::secret::occurrences(text, word, false) {
        out.push_str(&text[last..span.start]);
        out.push_str(MASK);
        last = span.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Masks the value of every `NAME=value`, `name = "value"` or `name: value`
/// whose name looks secret (`POSTGRES_PASSWORD=x`, `--password=x`,
/// `?token=x`, `password = 123`, `"DB_PASSWORD": ["x"]` in a snippet of the
/// project file). A value in brackets is masked whole, and so is each
/// literal a `+` adds to it; under a quoted key (a dict, a JSON document)
/// each literal inside the brackets is masked instead, so that a JSON
/// document stays one. `true`, `false` and `null` are no secrets. A call
/// (`password = env("X")`) is code, not a value, and stays.
fn mask_assignments(text: &str) -> String {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['=', ':']) {
        let (head, tail) = rest.split_at(i);
        let sep = &tail[..1];
        let trimmed = head.trim_end_matches(' ');
        // A quoted key (`"DB_PASSWORD": …` in a dict) is a name too.
        let quoted_key = trimmed
            .strip_suffix(['"', '\''])
            .filter(|t| t.ends_with(name_char));
        let unquoted = quoted_key.unwrap_or(trimmed);
        let name_start = unquoted
            .char_indices()
            .rev()
            .take_while(|(_, c)| name_char(*c))
            .last()
            .map(|(j, _)| j)
            .unwrap_or(unquoted.len());
        let name = unquoted[name_start..].trim_start_matches('-');
        // `name: value` only with a space after the colon (YAML-ish), so
        // that `host:port` stays as it is.
        let after = &tail[1..];
        let spaces = after.len() - after.trim_start_matches(' ').len();
        let applies = (sep == "=" || spaces > 0) && !name.is_empty() && is_secret_name(name);
        out.push_str(head);
        out.push_str(sep);
        if !applies {
            rest = after;
            continue;
        }
        out.push_str(&after[..spaces]);
        let value = &after[spaces..];
        let Some((masked, used)) = masked_value(value, quoted_key.is_some()) else {
            rest = value;
            continue;
        };
        out.push_str(&masked);
        rest = &value[used..];
        // `"abc" + "def"`: every literal of the sum is the secret's.
        loop {
            let operand = rest.trim_start_matches(' ');
            let Some(operand) = operand.strip_prefix('+') else {
                break;
            };
            let operand = operand.trim_start_matches(' ');
            let Some((masked, used)) = masked_value(operand, quoted_key.is_some()) else {
                break;
            };
            out.push_str(&rest[..rest.len() - operand.len()]);
            out.push_str(&masked);
            rest = &operand[used..];
        }
    }
    out.push_str(rest);
    out
}

/// The literal at the start of `value` masked, and how much of `value` it
/// took: a quoted string's inside, a bracketed value (whole, or each
/// literal in it when `in_document`), a bare word. `None` for nothing, a
/// call, `true`/`false`/`null`, or a value already masked.
fn masked_value(value: &str, in_document: bool) -> Option<(String, usize)> {
    let ends_value = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '&' | '"' | '\'' | '`' | ',' | ';' | ')' | ']' | '}' | '(' | '+'
            )
    };
    // `\"abc\"`: a quoted value inside a JSON string, its quotes escaped.
    if let Some(inner) = value.strip_prefix("\\\"") {
        let end = quoted_end(inner, "\\\"");
        let literal = &inner[..end];
        if literal.is_empty() || literal == MASK {
            return None;
        }
        let closing = if inner[end..].starts_with("\\\"") {
            2
        } else {
            0
        };
        return Some((
            format!("\\\"{MASK}{}", &inner[end..end + closing]),
            2 + end + closing,
        ));
    }
    let first = value.chars().next()?;
    match first {
        '"' | '\'' | '`' => {
            let inner = &value[1..];
            let end = quoted_end(inner, &first.to_string());
            let literal = &inner[..end];
            if literal.is_empty() || literal == MASK {
                return None;
            }
            let closing = if inner[end..].starts_with(first) {
                1
            } else {
                0
            };
            Some((
                format!("{first}{MASK}{}", &inner[end..end + closing]),
                1 + end + closing,
            ))
        }
        '[' | '{' => {
            // A document's brackets may close lines later; in other text
            // an unclosed bracket ends with its line.
            let end = closing_bracket(value, in_document)
                .unwrap_or_else(|| value.find('\n').unwrap_or(value.len()));
            if in_document {
                Some((mask_literals(&value[..end]), end))
            } else {
                Some((MASK.to_string(), end))
            }
        }
        _ => {
            let len = value.find(ends_value).unwrap_or(value.len());
            let word = &value[..len];
            let constant = matches!(word, "true" | "false" | "null" | "True" | "False" | "None");
            if len == 0 || word == MASK || constant || value[len..].starts_with('(') {
                return None;
            }
            // In a document a value is a literal: `"***"` keeps it one.
            let masked = if in_document {
                format!("\"{MASK}\"")
            } else {
                MASK.to_string()
            };
            Some((masked, len))
        }
    }
}

/// Where the quoted text `inner` (just past its opening quote) ends: at
/// its closing `quote` (a `\\` escaping the next character), else at the
/// line's end, so that a quote left open never swallows the lines after
/// it. (A JSON document is masked string by string, [`Masker::document`],
/// never as one text.)
fn quoted_end(inner: &str, quote: &str) -> usize {
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if inner[i..].starts_with(quote) {
            return i;
        }
        match c {
            '\\' => escaped = true,
            '\n' => return i,
            _ => {}
        }
    }
    inner.len()
}

/// `text` (a bracketed value) with each string literal's inside masked
/// and each bare number made `"***"`, its brackets, commas, keys and
/// constants left as they are: a JSON document stays one.
fn mask_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                let mut escaped = false;
                let mut end = text.len();
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        end = j;
                        break;
                    }
                }
                // A key of a dict inside stays readable.
                let is_key = text[(end + 1).min(text.len())..]
                    .trim_start()
                    .starts_with(':');
                if is_key || end == i + 1 {
                    out.push_str(&text[i..(end + 1).min(text.len())]);
                } else {
                    out.push(c);
                    out.push_str(MASK);
                    if end < text.len() {
                        out.push(c);
                    }
                }
            }
            c if c.is_ascii_digit() || c == '-' => {
                while chars
                    .peek()
                    .is_some_and(|(_, d)| d.is_ascii_alphanumeric() || matches!(d, '.' | '-' | '+'))
                {
                    chars.next();
                }
                out.push('"');
                out.push_str(MASK);
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The end of the bracketed value `value` starts with (just past its
/// closing bracket), brackets inside strings not counted.
fn closing_bracket(value: &str, across_lines: bool) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '[' | '{' | '(' => depth += 1,
                ']' | '}' | ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                '\n' if !across_lines => return None,
                _ => {}
            },
        }
    }
    None
}

/// Replaces the password of every `scheme://user:password@host` in `text`
/// (see [`crate::secret::url_password_spans`]).
pub fn mask_url_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in crate::secret::url_password_spans(text) {
        out.push_str(&text[last..span.start]);
        out.push_str(MASK);
        last = span.end;
    }
    out.push_str(&text[last..]);
    out
}

/// The process's masker; see the module documentation.
static PROCESS: RwLock<Option<Masker>> = RwLock::new(None);

/// The secrets alone, without the other `env()` values: for data handed
/// to a check, where `localhost` read from `.env` must stay `localhost`.
static SECRETS_ONLY: RwLock<Option<Masker>> = RwLock::new(None);

/// Adds secret values to the process's masker.
pub fn register_secrets(secrets: impl IntoIterator<Item = String>) {
    let secrets: Vec<String> = secrets.into_iter().collect();
    let mut only = SECRETS_ONLY.write().unwrap_or_else(|p| p.into_inner());
    only.get_or_insert_with(|| Masker::new(&[], true))
        .add(secrets.iter().cloned());
    let mut guard = PROCESS.write().unwrap_or_else(|p| p.into_inner());
    guard
        .get_or_insert_with(|| Masker::new(&[], true))
        .add(secrets);
}

/// A masker of the secrets and secret-named keys only (not of other
/// `env()` values), masking even under `--show-secrets`: for values given
/// to a user's check, which must see the project's data as it is.
pub fn secrets_masker() -> Masker {
    SECRETS_ONLY
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| Masker::new(&[], true))
}

/// Adds values read with `env()` for names that do not look secret.
pub fn register_env_values(values: impl IntoIterator<Item = String>) {
    let values: Vec<String> = values.into_iter().collect();
    let mut guard = PROCESS.write().unwrap_or_else(|p| p.into_inner());
    guard
        .get_or_insert_with(|| Masker::new(&[], true))
        .add_env_values(values);
}

/// Adds what the project shows by design — `values` (names, types,
/// images) and `words` inside them (an image's repository) — which is not
/// masked as text; see [`Masker`].
pub fn register_public(
    values: impl IntoIterator<Item = String>,
    words: impl IntoIterator<Item = String>,
) {
    let values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
    let words: Vec<String> = words.into_iter().filter(|v| !v.is_empty()).collect();
    for lock in [&PROCESS, &SECRETS_ONLY] {
        let mut guard = lock.write().unwrap_or_else(|p| p.into_inner());
        let masker = guard.get_or_insert_with(|| Masker::new(&[], true));
        masker.public.extend(values.iter().cloned());
        masker.public_words.extend(words.iter().cloned());
    }
}

/// `--show-secrets`: printed output is not masked (files still are).
pub fn show_secrets() {
    let mut guard = PROCESS.write().unwrap_or_else(|p| p.into_inner());
    guard.get_or_insert_with(|| Masker::new(&[], true)).enabled = false;
}

/// The process's masker as it is now.
pub fn process_masker() -> Masker {
    PROCESS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| Masker::new(&[], true))
}

/// Masks a document for printing (see [`Masker::document`]).
pub fn masked_document(text: &str) -> String {
    let guard = PROCESS.read().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(m) => m.document(text),
        None => Masker::new(&[], true).document(text),
    }
}

/// Masks text for printing.
pub fn masked(text: &str) -> String {
    let guard = PROCESS.read().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(m) => m.scrub(text),
        None => Masker::new(&[], true).scrub(text),
    }
}

/// The process's masker for what goes into files: it masks even under
/// `--show-secrets`.
pub fn file_masker() -> Masker {
    let mut masker = process_masker();
    masker.enabled = true;
    masker
}

/// Masks a JSON value for a file, even under `--show-secrets`.
pub fn mask_json_always(value: &Value) -> Value {
    let mut masker = process_masker();
    masker.enabled = true;
    masker.json(None, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_passwords_keys_and_known_secrets() {
        let m = Masker::new(&["secret123".into(), "app".into()], true);
        assert_eq!(
            m.text(
                Some("DATABASE_URL"),
                "postgresql://admin:secret123@db:5432/appdb"
            ),
            "postgresql://admin:***@db:5432/appdb"
        );
        assert_eq!(m.text(Some("POSTGRES_PASSWORD"), "anything"), "***");
        assert_eq!(m.text(None, "app"), "***");
        assert_eq!(
            m.text(None, "my-app"),
            "my-***",
            "a short secret standing as a word is masked"
        );
        assert_eq!(
            m.text(None, "apple application"),
            "apple application",
            "but not inside other words"
        );
        assert_eq!(m.text(None, "--password=secret123"), "--password=***");
        assert_eq!(
            mask_url_password("redis://cache:6379 and http://u:p@h/x"),
            "redis://cache:6379 and http://u:***@h/x"
        );
        // A `/` in a password is not the start of the path.
        assert_eq!(
            mask_url_password("postgresql://admin:pa/ss@db:5432/app and more"),
            "postgresql://admin:***@db:5432/app and more"
        );
        assert_eq!(
            mask_url_password("\"redis://:s3/cr3t@cache\" http://host:8080/@scope/x https://h/a@b"),
            "\"redis://:***@cache\" http://host:8080/@scope/x https://h/a@b"
        );
        let off = Masker::new(&["secret123".into()], false);
        assert_eq!(off.text(Some("PASSWORD"), "secret123"), "secret123");
    }

    /// A secret equal to a name the project shows stays masked where it
    /// is a secret, and the name stays readable.
    #[test]
    fn names_and_images_equal_to_a_secret_stay_readable() {
        let mut m = Masker::new(
            &["postgres".into(), "cache".into(), "s3cr3t-repo".into()],
            true,
        );
        m.public.insert("cache".to_string());
        m.public_words
            .extend(["postgres".to_string(), "s3cr3t-repo".to_string()]);
        // A secret unlike a word is masked even inside an image.
        assert_eq!(
            m.scrub("pull `127.0.0.1:9/s3cr3t-repo:1` failed"),
            "pull `127.0.0.1:9/***:1` failed"
        );
        assert_eq!(m.text(Some("name"), "cache"), "cache");
        assert_eq!(m.text(Some("REDIS_PASSWORD"), "cache"), "***");
        assert_eq!(
            m.scrub("+ cache (DockerResource) image postgres, POSTGRES_PASSWORD=postgres"),
            "+ cache (DockerResource) image postgres, POSTGRES_PASSWORD=***"
        );
        assert_eq!(
            m.scrub("postgresql://postgres:postgres@db/x"),
            "postgresql://postgres:***@db/x"
        );
    }

    #[test]
    fn a_one_character_secret_is_masked_in_free_text() {
        let m = Masker::new(&["x".into()], true);
        assert_eq!(
            m.scrub("`x` is not a port mapping; redis://:x@cache"),
            "`***` is not a port mapping; redis://:***@cache"
        );
        assert_eq!(m.scrub("nginx:alpine exited"), "nginx:alpine exited");
    }

    #[test]
    fn short_values_of_plain_env_variables_are_masked_as_whole_values_only() {
        let mut m = Masker::new(&[], true);
        m.add_env_values(["1".to_string(), "eu-west".to_string()]);
        assert_eq!(m.text(Some("DEBUG"), "1"), "***");
        assert_eq!(m.scrub("Plan: 1 to create"), "Plan: 1 to create");
        assert_eq!(m.scrub("region eu-west-1"), "region ***-1");
    }

    #[test]
    fn assignments_in_code_are_masked_but_calls_stay() {
        let m = Masker::new(&[], true);
        assert_eq!(
            m.scrub("DatabaseConnection(password = 987654321, user = \"a\")"),
            "DatabaseConnection(password = ***, user = \"a\")"
        );
        assert_eq!(
            m.scrub("api_key = \"sk-123\", token = env(\"TOKEN\")"),
            "api_key = \"***\", token = env(\"TOKEN\")"
        );
        // A list, a dict key in quotes, a sum of literals: the whole value.
        assert_eq!(
            m.scrub("password=[\"Hunter2ListSecret\"], user=\"a\""),
            "password=***, user=\"a\""
        );
        assert_eq!(
            m.scrub("env_vars={\"DB_PASSWORD\": {\"v\": \"Hunter2]\"}, \"MODE\": \"x\"}"),
            "env_vars={\"DB_PASSWORD\": {\"v\": \"***\"}, \"MODE\": \"x\"}"
        );
        // A JSON document stays one: keys, brackets and constants stay.
        let doc = "{\"secret\": false, \"passwords\": [\"a-1\", \"\", 42], \"token\": null}";
        let scrubbed = m.scrub(doc);
        assert_eq!(
            scrubbed,
            "{\"secret\": false, \"passwords\": [\"***\", \"\", \"***\"], \"token\": null}"
        );
        assert!(
            serde_json::from_str::<Value>(&scrubbed).is_ok(),
            "{scrubbed}"
        );
        assert_eq!(
            m.scrub("{\"pin_code_secret\": 1234}"),
            "{\"pin_code_secret\": \"***\"}"
        );
        assert_eq!(
            m.scrub("token = \"abc\" + \"def\" + suffix"),
            "token = \"***\" + \"***\" + ***"
        );
        assert_eq!(m.scrub("'API_TOKEN': 12345678,"), "'API_TOKEN': \"***\",");
        // A quote is closed where it is, escaped or not, and never crosses
        // a line or the string it stands in (a document is masked string
        // by string).
        let doc = r#"{"message":"token: \"abc\"","note":"password: 'see vault","x":"it's"}"#;
        let scrubbed = m.document(doc);
        let known = Masker::new(&["pa\"ssw0rd".into()], true);
        assert_eq!(
            known.scrub("env_vars = {\"DB_PASSWORD\": 'pa\"ssw0rd'}"),
            "env_vars = {\"DB_PASSWORD\": '***'}"
        );
        assert_eq!(
            scrubbed,
            r#"{"message":"token: \"***\"","note":"password: '***","x":"it's"}"#
        );
        assert!(
            serde_json::from_str::<Value>(&scrubbed).is_ok(),
            "{scrubbed}"
        );
        assert_eq!(
            m.scrub("password = \"open\nnext line"),
            "password = \"***\nnext line"
        );
        // Prose in parentheses is no value.
        assert_eq!(m.scrub("secret: (set in .env)"), "secret: (set in .env)");
    }

    #[test]
    fn secret_assignments_and_encoded_forms_are_masked() {
        let m = Masker::new(&["p@ss word".into()], true);
        assert_eq!(
            m.scrub("DB_PWD=hunter2 MODE=debug api_key: abc host:5432"),
            "DB_PWD=*** MODE=debug api_key: *** host:5432"
        );
        assert_eq!(
            m.scrub("url=postgresql://u:p%40ss%20word@db/x, raw p@ss word, json \"p@ss word\""),
            "url=postgresql://u:***@db/x, raw ***, json \"***\""
        );
        assert_eq!(
            m.scrub("GET http://h/x?user=a&password=zz&mode=1"),
            "GET http://h/x?user=a&password=***&mode=1"
        );
    }
}
