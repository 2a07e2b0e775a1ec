//! The masker over text and JSON: a secret never survives it, and a JSON
//! document stays one.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::output::Masker;

use super::{fuzz, secret_token};

/// A piece of text around the secrets: words, numbers, code, URLs.
fn filler() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_]{1,8}",
        "[0-9]{1,5}",
        Just("password = ".to_string()),
        Just("\"DB_PASSWORD\": ".to_string()),
        Just("token=".to_string()),
        Just("postgresql://user:".to_string()),
        Just("@db:5432/app".to_string()),
        Just("env(\"X\")".to_string()),
        Just(" + ".to_string()),
        "[ \t\n,;:=()\\[\\]{}\"'`/@?&#%+-]{1,3}",
    ]
}

/// A separator that cannot join a secret to a neighbouring word.
fn separator() -> impl Strategy<Value = String> {
    "[ \t\n,;:=()\\[\\]{}\"'`/@?&#]{1,2}"
}

#[derive(Debug, Clone)]
struct Text {
    pieces: Vec<String>,
    secrets: Vec<String>,
}

fn text() -> impl Strategy<Value = Text> {
    let secret = prop_oneof![
        secret_token(),
        // Not a word: masked wherever it occurs.
        (secret_token(), "[-/@%.!]{1,2}", "[a-z0-9]{2,4}")
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ];
    (
        proptest::collection::vec(secret, 1..4),
        proptest::collection::vec((filler(), separator(), any::<prop::sample::Index>()), 0..24),
    )
        .prop_map(|(secrets, parts)| {
            let mut pieces = Vec::new();
            for (filler, separator, which) in parts {
                pieces.push(filler);
                pieces.push(separator.clone());
                pieces.push(which.get(&secrets).clone());
                pieces.push(separator);
            }
            Text { pieces, secrets }
        })
}

#[test]
fn a_secret_never_survives_the_masker() {
    fuzz("masking/text", text(), |t| {
        let masker = Masker::new(&t.secrets, true);
        let joined = t.pieces.concat();
        let out = masker.scrub(&joined);
        for secret in &t.secrets {
            if out.contains(secret.as_str()) {
                return Err(format!("`{secret}` survived: {out:?}"));
            }
        }
        Ok(())
    });
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("password".to_string()),
        Just("DB_PASSWORD".to_string()),
        Just("secret".to_string()),
        Just("api_key".to_string()),
        Just("token_count".to_string()),
        Just("name".to_string()),
        Just("image".to_string()),
        "[a-z_]{1,10}",
    ]
}

fn json_value(secrets: Vec<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        Just(Value::String("token: \"abc\" and more".into())),
        Just(Value::String("password: 'see vault".into())),
        Just(Value::String("secret: (set in .env)".into())),
        Just(Value::String("18080:80".into())),
        Just(Value::from(1733598080123_u64)),
        Just(Value::from(8080)),
        proptest::sample::select(secrets.clone()).prop_map(Value::String),
        (proptest::sample::select(secrets), "[ -~]{0,6}")
            .prop_map(|(s, t)| Value::String(format!("postgresql://u:{s}@db/x {t}"))),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
struct Document {
    value: Value,
    secrets: Vec<String>,
    pretty: bool,
}

fn document() -> impl Strategy<Value = Document> {
    let secrets = proptest::collection::vec(
        prop_oneof![secret_token(), "[0-9]{4,6}", "[a-z]{4,8}"],
        1..3,
    );
    secrets.prop_flat_map(|secrets| {
        (json_value(secrets.clone()), any::<bool>()).prop_map(move |(value, pretty)| Document {
            // What Clockwork prints as JSON is an object or a list.
            value: json!({"v": value}),
            secrets: secrets.clone(),
            pretty,
        })
    })
}

/// What `plan --json` does: the value masked by its keys, then its text
/// scrubbed again on the way out. The text must still be JSON, and hold
/// no secret.
#[test]
fn a_masked_json_document_stays_json_and_holds_no_secret() {
    fuzz("masking/json", document(), |d| {
        let mut masker = Masker::new(&d.secrets, true);
        masker.add_env_values(["8080".to_string(), "1.25".to_string(), "prod".to_string()]);
        let masked = masker.json(None, &d.value);
        let text = if d.pretty {
            serde_json::to_string_pretty(&masked)
        } else {
            serde_json::to_string(&masked)
        }
        .map_err(|e| e.to_string())?;
        let out = masker.document(&text);
        if let Err(e) = serde_json::from_str::<Value>(&out) {
            return Err(format!("no longer JSON ({e}): {out}"));
        }
        // A secret that may stand in text by chance (a word, a number) is
        // looked for where it stands alone; the others anywhere.
        for secret in &d.secrets {
            let alone = format!("\"{secret}\"");
            let survived = if crate::secret::found_anywhere(secret) {
                out.contains(secret.as_str())
            } else {
                out.contains(&alone)
            };
            if survived {
                return Err(format!("`{secret}` survived: {out}"));
            }
        }
        Ok(())
    });
}
