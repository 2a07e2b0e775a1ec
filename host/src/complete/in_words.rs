//! A `CrossResourceAssert` whose check in words came back as no usable
//! function (or had no model to ask), read by its common phrasings: "the
//! one reaches the other" ("can connect to", "can query", "can reach")
//! becomes a `ServiceConnectivityAssert` from `source` to `target` in the
//! protocol the target speaks; "both run" ("are running", "are up")
//! becomes a check function that both containers run. Both are shown by
//! `plan` for review. Anything else stays as it is, and its plugin says
//! what is missing.

use serde_json::{Map, Value as Json, json};

use crate::model::{Declaration, Declared};

/// The type a check in words may become.
pub const CONNECTIVITY: &str = "ServiceConnectivityAssert";

/// The type whose check in words is read here.
const CROSS_RESOURCE: &str = "CrossResourceAssert";

/// Words that say one service reaches another.
const REACHES: &[&str] = &[
    "connect",
    "connects",
    "reach",
    "reaches",
    "reachable",
    "query",
    "queries",
    "talk",
    "talks",
    "access",
    "accesses",
    "ping",
    "pings",
];

/// The `ServiceConnectivityAssert` fields `d` reads as, when it is a
/// `CrossResourceAssert` without a check whose words say its source
/// reaches its target, and the port to try is known.
pub fn connectivity(project: &Declared, d: &Declaration) -> Option<(Map<String, Json>, String)> {
    let (words, lower) = unchecked_words(d)?;
    if !says_any(&lower, REACHES) {
        return None;
    }
    let source = d.fields.get("source")?;
    let target_ref = d.fields.get("target")?;
    let target = project.resource(target_ref.get("$ref")?.as_str()?)?;
    let (protocol, default_port) = protocol_of(target, &lower);
    let mut fields = Map::new();
    fields.insert("from_service".into(), source.clone());
    fields.insert("to_service".into(), target_ref.clone());
    fields.insert("protocol".into(), json!(protocol));
    if !has_ports(target) {
        // Left out, the port is the target's first published one.
        fields.insert("port".into(), json!(default_port?));
    }
    let reason =
        format!("your words \"{words}\" read as a {protocol} connectivity check; review it");
    Some((fields, reason))
}

/// Words that say both containers run.
const RUN: &[&str] = &["running", "run", "runs", "up", "started", "alive"];

/// The check "both run" as a function, for a `CrossResourceAssert` whose
/// words say only that (and not that one reaches the other).
pub fn both_run(d: &Declaration) -> Option<(&'static str, String)> {
    let (words, lower) = unchecked_words(d)?;
    if !says_any(&lower, RUN) || says_any(&lower, REACHES) {
        return None;
    }
    let code = "def check(source, target):\n    up = source.state.running and target.state.running\n    return (up, \"both run\" if up else \"%s or %s is not running\" % (source.name, target.name))\n";
    let reason = format!("your words \"{words}\" read as: both containers run; review it");
    Some((code, reason))
}

/// The words of a `CrossResourceAssert` still without a check, as written
/// and lower-cased.
fn unchecked_words(d: &Declaration) -> Option<(&str, String)> {
    if d.type_name != CROSS_RESOURCE || d.config.contains_key("check") {
        return None;
    }
    let words = d.fields.get("assertion")?.as_str()?;
    Some((words, words.to_lowercase()))
}

/// Whether lower-cased `text` has one of `words` as a word of its own.
fn says_any(text: &str, words: &[&str]) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.contains(&w))
}

/// The protocol `target` speaks, from its image, its name or the words,
/// and its usual port.
fn protocol_of(target: &Declaration, words: &str) -> (&'static str, Option<u16>) {
    let image = target
        .config
        .get("image")
        .or_else(|| target.fields.get("image"))
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_lowercase();
    let name = target.name.as_str().to_lowercase();
    let says = |needle: &str| image.contains(needle) || (image.is_empty() && name.contains(needle));
    if says("postgres") || words.contains("postgres") {
        ("postgresql", Some(5432))
    } else if says("redis") {
        ("redis", Some(6379))
    } else if ["nginx", "httpd", "caddy", "traefik"]
        .iter()
        .any(|s| says(s))
        || words.contains("http")
    {
        ("http", Some(80))
    } else {
        ("tcp", None)
    }
}

fn has_ports(target: &Declaration) -> bool {
    target
        .config
        .get("ports")
        .or_else(|| target.fields.get("ports"))
        .and_then(Json::as_array)
        .is_some_and(|p| !p.is_empty())
}
