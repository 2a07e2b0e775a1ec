//! Reconciliation settings: fields every resource type has, whatever its
//! plugin (`reconcile`, `check_interval`, `max_duration`, `on_drift`,
//! `alert_on`, seed 004). They are the host's: added to every resource
//! schema at load (so the constructor checks their types and `plugins
//! inspect` lists them), checked here, and never sent to the plugin, so
//! they change neither what it plans nor a container's config hash.

use std::collections::BTreeSet;
use std::time::Duration;

use clockwork_schema::FieldSchema;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

/// The host's fields, in the order `plugins inspect` shows them.
pub const FIELDS: [&str; 5] = [
    "reconcile",
    "check_interval",
    "max_duration",
    "on_drift",
    "alert_on",
];

/// What to do when a resource drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDrift {
    /// Apply the resource (and what depends on it) again.
    AutoCorrect,
    /// Report it; change nothing.
    Alert,
    /// Record it only.
    Ignore,
}

/// What alerts are sent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertOn {
    /// The resource drifted.
    Drift,
    /// Healing it failed, or it was given up on.
    Failure,
    /// Its `max_duration` ran out.
    Expired,
}

/// One resource's reconciliation settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Whether `clockwork watch` looks after it.
    pub reconcile: bool,
    /// How often it is checked besides the Engine's events.
    #[serde(serialize_with = "seconds")]
    pub check_interval: Duration,
    /// How long it may run after it was created; `None`: no limit.
    #[serde(serialize_with = "maybe_seconds")]
    pub max_duration: Option<Duration>,
    /// What drift leads to.
    pub on_drift: OnDrift,
    /// What alerts are sent for.
    pub alert_on: BTreeSet<AlertOn>,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

fn maybe_seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_secs()),
        None => s.serialize_none(),
    }
}

fn field(
    name: &str,
    value_type: &str,
    doc: &str,
    default: Option<Json>,
    example: Json,
) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        value_type: value_type.into(),
        doc: doc.into(),
        required: false,
        default: default.map(|d| d.to_string()),
        completable: false,
        forces_replace: false,
        secret: false,
        examples: vec![example.to_string()],
        receives: None,
    }
}

/// The fields, as every resource type's schema holds them.
pub fn fields() -> Vec<FieldSchema> {
    vec![
        field(
            "reconcile",
            "bool",
            "Whether `clockwork watch` keeps this resource as declared: it notices drift (a container \
             stopped, killed, removed, unhealthy or changed outside Clockwork) and acts as `on_drift` says. \
             A field of every resource type, kept by the host.",
            Some(json!(false)),
            json!(true),
        ),
        field(
            "check_interval",
            "int",
            "Seconds between two checks of this resource by `clockwork watch`, besides the Docker \
             Engine's events, which are seen at once.",
            Some(json!(60)),
            json!(30),
        ),
        field(
            "max_duration",
            "string",
            "How long the resource may run after it is created, e.g. `\"2h\"`, `\"30m\"`, `\"90s\"` or \
             `\"1h30m\"`; then `clockwork watch` destroys it (a composite: all its children). Left out: \
             no limit.",
            None,
            json!("2h"),
        ),
        field(
            "on_drift",
            "enum<auto_correct|alert|ignore>",
            "What drift leads to: `auto_correct` applies the resource (and what depends on it) again, \
             `alert` only reports it, `ignore` only records it.",
            Some(json!("auto_correct")),
            json!("alert"),
        ),
        field(
            "alert_on",
            "list<enum<drift|failure|expired>>",
            "What alerts are sent for: `drift`, `failure` (healing failed, or the resource was given \
             up on), `expired` (its `max_duration` ran out).",
            Some(json!(["drift", "failure", "expired"])),
            json!(["drift", "failure"]),
        ),
    ]
}

/// Whether `name` is one of the host's fields.
pub fn is_host_field(name: &str) -> bool {
    FIELDS.contains(&name)
}

/// `2h`, `30m`, `90s`, `1h30m`, `1d`: a duration of whole units, at least
/// one second.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let example = "e.g. \"2h\", \"30m\", \"90s\" or \"1h30m\"";
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if c.is_whitespace() {
            return Err(format!(
                "`{text}` is not a duration: write it without spaces; {example}"
            ));
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "`{text}` is not a duration: `{c}` is not a unit (s, m, h, d); {example}"
                ));
            }
        };
        let n: u64 = number.parse().map_err(|_| {
            format!("`{text}` is not a duration: a number goes before each unit; {example}")
        })?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(format!(
            "`{text}` is not a duration: give a unit after each number; {example}"
        ));
    }
    if total == 0 {
        return Err(format!("`{text}` is no time at all; {example}"));
    }
    Ok(Duration::from_secs(total))
}

/// A problem with one field: (field, message).
pub type Problem = (String, String);

/// The settings a declaration's fields give (types are already checked
/// against the schema); every problem found.
pub fn settings(fields: &Map<String, Json>) -> Result<Settings, Vec<Problem>> {
    let mut problems = Vec::new();
    let reconcile = fields
        .get("reconcile")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let interval = fields
        .get("check_interval")
        .and_then(Json::as_i64)
        .unwrap_or(60);
    if interval < 1 {
        problems.push((
            "check_interval".to_string(),
            format!("`check_interval` is {interval}: it is a number of seconds, at least 1"),
        ));
    }
    let max_duration = match fields.get("max_duration").and_then(Json::as_str) {
        Some(text) => match parse_duration(text) {
            Ok(d) => Some(d),
            Err(message) => {
                problems.push(("max_duration".to_string(), message));
                None
            }
        },
        None => None,
    };
    let on_drift = match fields.get("on_drift").and_then(Json::as_str) {
        Some("alert") => OnDrift::Alert,
        Some("ignore") => OnDrift::Ignore,
        _ => OnDrift::AutoCorrect,
    };
    let alert_on = match fields.get("alert_on").and_then(Json::as_array) {
        Some(items) => items
            .iter()
            .filter_map(|i| match i.as_str() {
                Some("drift") => Some(AlertOn::Drift),
                Some("failure") => Some(AlertOn::Failure),
                Some("expired") => Some(AlertOn::Expired),
                _ => None,
            })
            .collect(),
        None => [AlertOn::Drift, AlertOn::Failure, AlertOn::Expired].into(),
    };
    let given = FIELDS.iter().any(|f| fields.contains_key(*f));
    if given && !reconcile && fields.get("reconcile").is_none() {
        // Settings without `reconcile = True` would silently do nothing.
        let named: Vec<String> = FIELDS
            .iter()
            .filter(|f| fields.contains_key(**f))
            .map(|f| format!("`{f}`"))
            .collect();
        problems.push((
            FIELDS
                .iter()
                .find(|f| fields.contains_key(**f))
                .map(|f| f.to_string())
                .unwrap_or_default(),
            format!(
                "{} {} effect only with `reconcile = True`; add it, or remove {}",
                named.join(", "),
                if named.len() == 1 { "takes" } else { "take" },
                if named.len() == 1 { "it" } else { "them" },
            ),
        ));
    }
    if problems.is_empty() {
        Ok(Settings {
            reconcile,
            check_interval: Duration::from_secs(interval.max(1) as u64),
            max_duration,
            on_drift,
            alert_on,
        })
    } else {
        Err(problems)
    }
}

/// The settings that apply to resource `id`: its own when it sets any of
/// the fields, else its composite's (a composite's `max_duration` is its
/// children's), else none.
pub fn effective(project: &crate::model::Declared, id: crate::model::DeclId) -> Settings {
    let mut at = Some(id);
    while let Some(current) = at {
        let d = project.get(current);
        if FIELDS.iter().any(|f| d.fields.contains_key(*f))
            && let Ok(s) = settings(&d.fields)
        {
            return s;
        }
        at = d.parent;
    }
    settings(&Map::new()).unwrap_or(Settings {
        reconcile: false,
        check_interval: Duration::from_secs(60),
        max_duration: None,
        on_drift: OnDrift::AutoCorrect,
        alert_on: BTreeSet::new(),
    })
}

impl Settings {
    /// One line for `plan`, e.g. `reconciled: checked every 60 s, drift
    /// auto-corrected, alerts on drift and failure, destroyed 2h after it
    /// is created`.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("checked every {} s", self.check_interval.as_secs())];
        parts.push(
            match self.on_drift {
                OnDrift::AutoCorrect => "drift corrected",
                OnDrift::Alert => "drift alerted, not corrected",
                OnDrift::Ignore => "drift recorded only",
            }
            .to_string(),
        );
        if !self.alert_on.is_empty() {
            let kinds: Vec<&str> = self
                .alert_on
                .iter()
                .map(|a| match a {
                    AlertOn::Drift => "drift",
                    AlertOn::Failure => "failure",
                    AlertOn::Expired => "expiry",
                })
                .collect();
            parts.push(format!("alerts on {}", kinds.join(", ")));
        }
        if let Some(d) = self.max_duration {
            parts.push(format!("destroyed {} after it is created", shown(d)));
        }
        format!("reconciled: {}", parts.join(", "))
    }
}

/// `7200 s` → `2h`, `5400 s` → `1h30m`.
pub fn shown(d: Duration) -> String {
    let mut s = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= size {
            out.push_str(&format!("{}{unit}", s / size));
            s %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_written_in_the_seed() {
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(
            parse_duration("2 hours")
                .unwrap_err()
                .contains("without spaces")
        );
        assert!(parse_duration("2w").unwrap_err().contains("not a unit"));
        assert!(parse_duration("90").unwrap_err().contains("give a unit"));
        assert!(parse_duration("0s").unwrap_err().contains("no time"));
        assert_eq!(shown(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn settings_need_reconcile_and_sensible_values() {
        let fields = |v: Json| v.as_object().cloned().unwrap_or_default();
        let s = settings(&fields(json!({"reconcile": true, "max_duration": "2h", "on_drift": "alert", "alert_on": ["drift"]}))).unwrap();
        assert_eq!(s.max_duration, Some(Duration::from_secs(7200)));
        assert_eq!(s.on_drift, OnDrift::Alert);
        assert_eq!(s.alert_on, [AlertOn::Drift].into());
        assert_eq!(
            s.summary(),
            "reconciled: checked every 60 s, drift alerted, not corrected, alerts on drift, destroyed 2h after it is created"
        );
        let off = settings(&fields(json!({}))).unwrap();
        assert!(!off.reconcile);
        let problems = settings(&fields(json!({"check_interval": 10}))).unwrap_err();
        assert!(
            problems[0]
                .1
                .contains("`check_interval` takes effect only with `reconcile = True`"),
            "{problems:?}"
        );
        let problems = settings(&fields(
            json!({"reconcile": true, "check_interval": 0, "max_duration": "soon"}),
        ))
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
