//! What counts as a secret, and finding the secret values in a project.
//!
//! A value is secret when its field is marked `secret` in its plugin's
//! schema; when it sits under a name that says so ([`is_secret_name`]);
//! when it was read with `env()` (from the environment or `.env`); or when
//! it is the password of a URL (`redis://user:pw@cache`) or the value of a
//! secret-named query parameter (`?password=…`). The values found here are
//! masked wherever they appear in Clockwork's output and files
//! (`output::mask`), whatever their length.

use std::collections::BTreeSet;

use serde_json::Value;

/// Name parts that mark a secret wherever they appear in a name.
const SECRET_PARTS: [&str; 11] = [
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "APIKEY",
    "API_KEY",
    "PRIVATE_KEY",
    "PRIVATEKEY",
    "AUTHORIZATION",
];

/// Whole words of a name (split at `_`, `-`, `.`) that mark a secret:
/// `DB_PWD`, `BASIC_AUTH`, `STRIPE_KEY`, but not `KEYBOARD_LAYOUT` or `AUTHOR`.
const SECRET_WORDS: [&str; 8] = ["KEY", "KEYS", "PWD", "PASS", "PW", "AUTH", "COOKIE", "SALT"];

/// Whether a variable, field or parameter name says it holds a secret.
///
/// Matches, case-insensitively, names containing `password`, `passwd`,
/// `passphrase`, `secret`, `token`, `credential`, `apikey`/`api_key`,
/// `private_key` or `authorization`, and names with a word `key`, `keys`,
/// `pwd`, `pass`, `pw`, `auth`, `cookie` or `salt`.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Where a secret is kept, or what it is called, is not the secret:
    // `key_path`, `SECRET_NAME`, `TOKEN_FILE`.
    let last = upper
        .rsplit(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    if upper.contains(|c: char| !c.is_ascii_alphanumeric())
        && matches!(
            last,
            "PATH" | "FILE" | "DIR" | "NAME" | "ID" | "TYPE" | "LENGTH"
        )
    {
        return false;
    }
    SECRET_PARTS.iter().any(|p| upper.contains(p))
        || upper
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| SECRET_WORDS.contains(&word))
}

/// Whether a secret reads like a word of a message (`postgres`, `secret`,
/// `admin`): lower-case letters only, and shorter than twelve. Such a
/// secret may well stand in text that has nothing to do with it.
pub fn reads_like_a_word(secret: &str) -> bool {
    secret.chars().count() < 12 && secret.chars().all(|c| c.is_ascii_lowercase())
}

/// Whether a secret is to be looked for wherever it occurs, even inside
/// other text: four characters or more, unlike a word and not a number
/// (`hunter2`, `S3cret`, `p@ss`). Other secrets are looked for where they
/// stand as a word of their own, so that `postgres` leaves `postgresql://`
/// and `8080` leaves `18080` alone.
pub fn found_anywhere(secret: &str) -> bool {
    secret.chars().count() >= 4
        && !reads_like_a_word(secret)
        && !secret.chars().all(|c| c.is_ascii_digit())
}

/// The ways a secret value may be written: as is, percent-encoded (in a
/// URL), JSON-escaped (in JSON text).
pub fn forms_of(secret: &str) -> Vec<String> {
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

/// Where `value` stands in `text`: wherever it occurs (`anywhere`), else
/// where it is not part of a longer word (`pw` in `:pw@`, not in `pwd`).
pub fn occurrences(text: &str, value: &str, anywhere: bool) -> Vec<std::ops::Range<usize>> {
    if value.is_empty() {
        return Vec::new();
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let edge_ok = |outside: Option<char>, inside: Option<char>| match (outside, inside) {
        (Some(o), Some(i)) => !(is_word(o) && is_word(i)),
        _ => true,
    };
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(value) {
        let start = from + found;
        let end = start + value.len();
        let standing = anywhere
            || (edge_ok(text[..start].chars().next_back(), value.chars().next())
                && edge_ok(text[end..].chars().next(), value.chars().next_back()));
        if standing {
            spans.push(start..end);
            from = end;
        } else {
            from = start + value.chars().next().map_or(1, char::len_utf8);
        }
    }
    spans
}

/// Where the password of every `scheme://user:password@host` in `text`
/// stands, as byte ranges. A password may hold a `/`, which a URL parser
/// takes for the start of the path (`postgres://u:pa/ss@db/app`): when the
/// authority has no `@`, a `user:` that is not `host:port` before a later
/// `@` of the same URL makes that `@` the end of the password.
pub fn url_password_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut offset = 0;
    while let Some(i) = text[offset..].find("://") {
        let start = offset + i + 3;
        let tail = &text[start..];
        let url_end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .unwrap_or(tail.len());
        let url = &tail[..url_end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        let userinfo_end = match authority.rfind('@') {
            Some(at) => Some(at),
            None => authority.split_once(':').and_then(|(_, after)| {
                let port = !after.is_empty() && after.bytes().all(|b| b.is_ascii_digit());
                let at = url[authority_end..].rfind('@').map(|a| a + authority_end);
                (!port && authority_end < url.len()).then_some(at).flatten()
            }),
        };
        if let Some(at) = userinfo_end
            && let Some(colon) = url[..at].find(':')
            && colon + 1 < at
        {
            spans.push(start + colon + 1..start + at);
        }
        offset = start + userinfo_end.map_or(authority_end, |at| at + 1);
    }
    spans
}

/// The passwords of every `scheme://user:password@host` in `text`, as
/// written and percent-decoded.
pub fn url_passwords(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for span in url_password_spans(text) {
        let password = &text[span];
        found.push(password.to_string());
        let decoded = percent_decode(password);
        if decoded != password {
            found.push(decoded);
        }
    }
    found
}

/// The values of secret-named parameters in every query string of `text`
/// (`?password=x&user=y` gives `x`).
pub fn query_secrets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices('?') {
        let query = &text[i + 1..];
        let end = query
            .find(|c: char| c == '#' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(query.len());
        for pair in query[..end].split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && is_secret_name(key)
                && !value.is_empty()
            {
                found.push(value.to_string());
                let decoded = percent_decode(value);
                if decoded != value {
                    found.push(decoded);
                }
            }
        }
    }
    found
}

/// `%40` → `@`: a URL's parts as their owner wrote them.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A scalar as the text it would be printed as.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(_) | Value::Null => None,
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Collects the secret values inside `value`: everything under a
/// secret-looking key (at any depth), and URL passwords and secret query
/// parameters in every string. `secret` marks the whole value secret (a
/// schema field marked so).
pub fn scan(value: &Value, secret: bool, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if secret {
                out.insert(s.clone());
            }
            out.extend(url_passwords(s));
            out.extend(query_secrets(s));
        }
        Value::Number(_) => {
            if secret && let Some(text) = scalar_text(value) {
                out.insert(text);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| scan(v, secret, out)),
        Value::Object(map) => {
            for (key, v) in map {
                scan(v, secret || is_secret_name(key), out);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
    out.remove("");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for secret in [
            "POSTGRES_PASSWORD",
            "db_password",
            "GITHUB_TOKEN",
            "STRIPE_API_KEY",
            "GPG_PASSPHRASE",
            "DB_PWD",
            "BASIC_AUTH",
            "AWS_SECRET_ACCESS_KEY",
            "ssh-key",
            "apiKey",
            "client_credentials",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in [
            "POSTGRES_DB",
            "KEYBOARD_LAYOUT",
            "AUTHOR",
            "MONKEY",
            "PATH",
            "key_path",
            "TOKEN_FILE",
            "SECRET_NAME",
        ] {
            assert!(!is_secret_name(plain), "{plain}");
        }
    }

    #[test]
    fn url_passwords_and_query_secrets_are_found() {
        assert_eq!(
            url_passwords("redis://user:pw@cache:6379 and postgresql://a:p%40ss@db/x"),
            ["pw", "p%40ss", "p@ss"]
        );
        assert!(url_passwords("http://example/?x=1 redis://cache:6379").is_empty());
        assert_eq!(
            url_passwords("postgresql://admin:pa/ss@db/app redis://:s3/cr@cache"),
            ["pa/ss", "s3/cr"]
        );
        assert!(url_passwords("https://registry/@scope/pkg http://h:8080/a@b").is_empty());
        assert_eq!(
            query_secrets("http://h/db?user=a&password=s3&sslmode=off"),
            ["s3"]
        );
    }

    #[test]
    fn scan_finds_values_under_secret_keys_at_any_depth() {
        let mut found = BTreeSet::new();
        scan(
            &serde_json::json!({
                "env_vars": {"DB_PWD": "x", "MODE": "debug", "URL": "amqp://u:q@mq"},
                "auth": {"user": "a", "pin": 1234},
                "port": 80,
            }),
            false,
            &mut found,
        );
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["1234", "a", "q", "x"]
        );
    }
}
