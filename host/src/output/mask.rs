//! Masking secrets in everything Clockwork prints and writes.
//!
//! Masking works on the secret *values* ([`crate::secret`]), wherever they
//! appear: in a field, inside an Engine error that quotes an environment
//! variable, in a Starlark message, a plugin's log line, the journal. A
//! secret is replaced wherever it stands as a whole word (`:pw@`,
//! `` `pw` ``, `PASS=pw`, `"pw"`), so that a one-character password is still
//! replaced without turning every `a` of the output into `***`, and a
//! password `postgres` leaves `postgresql://` readable; a secret of four
//! characters or more that holds other characters than letters, digits and
//! `_` is replaced wherever it occurs. On top of that, the value
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
    /// Every form a secret may be printed in, longest first.
    forms: Vec<String>,
    /// Short values of non-secret `env()` variables: masked as whole
    /// values only.
    exact: Vec<String>,
    enabled: bool,
}

/// The ways a secret value may appear in output: as is, percent-encoded
/// (in a URL), JSON-escaped (in `--json` output and the journal).
fn forms_of(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let encoded: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push(encoded);
    let escaped = serde_json::to_string(secret).unwrap_or_default();
    forms.push(escaped.trim_matches('"').to_string());
    forms.sort();
    forms.dedup();
    forms
}

impl Masker {
    /// A masker for these secrets; `enabled = false` (`--show-secrets`)
    /// masks nothing.
    pub fn new(secrets: &[String], enabled: bool) -> Self {
        let mut masker = Masker {
            forms: Vec::new(),
            exact: Vec::new(),
            enabled,
        };
        masker.add(secrets.iter().cloned());
        masker
    }

    fn add_env_values(&mut self, values: impl IntoIterator<Item = String>) {
        let (long, short): (Vec<String>, Vec<String>) = values
            .into_iter()
            .filter(|v| !v.is_empty())
            .partition(|v| v.chars().count() >= ANYWHERE);
        self.add(long);
        self.exact.extend(short);
    }

    fn add(&mut self, secrets: impl IntoIterator<Item = String>) {
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            self.forms.extend(forms_of(&secret));
        }
        self.forms
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.forms.dedup();
    }

    /// Masks a string found under `key` (a field or variable name, if any).
    pub fn text(&self, key: Option<&str>, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        if key.is_some_and(is_secret_name)
            || self.forms.iter().any(|s| s == text)
            || self.exact.iter().any(|s| s == text)
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

    /// Masks free text: URL passwords, values after secret-looking names,
    /// and every known secret.
    pub fn scrub(&self, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        let mut out = mask_assignments(&mask_url_password(text));
        for form in &self.forms {
            // A secret made of word characters is masked where it stands as
            // a word (`postgres` as a password leaves `postgresql://` alone);
            // one with other characters, and so unlike any word, wherever
            // it occurs.
            let wordlike = form.chars().all(|c| c.is_alphanumeric() || c == '_');
            if wordlike || form.chars().count() < ANYWHERE {
                out = replace_words(&out, form);
            } else if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), MASK);
            }
        }
        out
    }
}

/// Replaces `word` where it is not part of a longer word.
fn replace_words(text: &str, word: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(word) {
        if i < last {
            continue;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let edge_ok = |c: Option<char>, inner: Option<char>| match (c, inner) {
            (Some(c), Some(inner)) => !(is_word(c) && is_word(inner)),
            _ => true,
        };
        if edge_ok(before, word.chars().next()) && edge_ok(after, word.chars().next_back()) {
            out.push_str(&text[last..i]);
            out.push_str(MASK);
            last = i + word.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Masks the value of every `NAME=value`, `name = "value"` or `name: value`
/// whose name looks secret (`POSTGRES_PASSWORD=x`, `--password=x`,
/// `?token=x`, `password = 123` in a snippet of the project file). A call
/// (`password = env("X")`) is code, not a value, and stays.
fn mask_assignments(text: &str) -> String {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let ends_value = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '&' | '"' | '\'' | '`' | ',' | ';' | ')' | ']' | '}' | '('
            )
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['=', ':']) {
        let (head, tail) = rest.split_at(i);
        let sep = &tail[..1];
        let trimmed = head.trim_end_matches(' ');
        let name_start = trimmed
            .char_indices()
            .rev()
            .take_while(|(_, c)| name_char(*c))
            .last()
            .map(|(j, _)| j)
            .unwrap_or(trimmed.len());
        let name = trimmed[name_start..].trim_start_matches('-');
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
        let quote = value
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'));
        let (start, len) = match quote {
            Some(q) => (1, value[1..].find(q).unwrap_or(value.len() - 1)),
            None => (0, value.find(ends_value).unwrap_or(value.len())),
        };
        let is_call = quote.is_none() && value[len..].starts_with('(');
        let literal = &value[start..start + len];
        if len == 0 || is_call || literal == MASK {
            rest = value;
            continue;
        }
        out.push_str(&value[..start]);
        out.push_str(MASK);
        rest = &value[start + len..];
    }
    out.push_str(rest);
    out
}

/// Replaces the password of every `scheme://user:password@host` in `text`.
pub fn mask_url_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
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
        let off = Masker::new(&["secret123".into()], false);
        assert_eq!(off.text(Some("PASSWORD"), "secret123"), "secret123");
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
