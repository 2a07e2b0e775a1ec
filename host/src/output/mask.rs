//! Masking secrets in everything Clockwork prints.
//!
//! A value is masked when it is a known secret (a secret field, a
//! secret-looking environment variable, a secret read with `env()`), when
//! it sits under a secret-looking key, or when it is the password part of a
//! URL (`postgresql://admin:***@db:5432/app`).

use serde_json::Value;

use crate::load::is_secret_name;

/// The mask.
pub const MASK: &str = "***";

/// Secrets below this length are masked only as whole values, so a short
/// password such as `app` does not mask every `app` in the output.
const MIN_SUBSTRING: usize = 6;

/// Masks secrets in values.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
    enabled: bool,
}

impl Masker {
    /// A masker for these secrets; `enabled = false` (`--show-secrets`)
    /// masks nothing.
    pub fn new(secrets: &[String], enabled: bool) -> Self {
        let mut secrets: Vec<String> = secrets.iter().filter(|s| !s.is_empty()).cloned().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Masker { secrets, enabled }
    }

    /// Masks a string found under `key` (a field or variable name, if any).
    pub fn text(&self, key: Option<&str>, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        if key.is_some_and(is_secret_name) || self.secrets.iter().any(|s| s == text) {
            return MASK.to_string();
        }
        let mut out = mask_url_password(text);
        for secret in self.secrets.iter().filter(|s| s.len() >= MIN_SUBSTRING) {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Masks every string inside a JSON value.
    pub fn json(&self, key: Option<&str>, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(key, s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(key, v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.json(Some(k), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Replaces the password of every `scheme://user:password@host` in `text`.
pub fn mask_url_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', ' ']).unwrap_or(tail.len());
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
            "my-app",
            "short secrets are not masked inside other text"
        );
        assert_eq!(m.text(None, "--password=secret123"), "--password=***");
        assert_eq!(
            mask_url_password("redis://cache:6379 and http://u:p@h/x"),
            "redis://cache:6379 and http://u:***@h/x"
        );
        let off = Masker::new(&["secret123".into()], false);
        assert_eq!(off.text(Some("PASSWORD"), "secret123"), "secret123");
    }
}
