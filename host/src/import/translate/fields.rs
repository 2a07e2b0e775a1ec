//! The fields of a service's DockerResource, each as Compose wrote it or as
//! Clockwork's defaults need it to behave as under Compose.

use std::collections::HashSet;

use crate::import::compose::model::Healthcheck;
use crate::import::compose::{EnvValue, Service};
use crate::import::interp::{Part, Text};
use crate::import::translate::{Entry, Expr, Fields};
use crate::import::{Item, ItemKind};

/// Docker's health check defaults, which Compose leaves in place: written
/// out, since DockerResource's own are faster.
const DOCKER_INTERVAL: f64 = 30.0;
const DOCKER_TIMEOUT: f64 = 30.0;
const DOCKER_RETRIES: u64 = 3;

fn seconds(n: f64) -> Expr {
    if n.fract() == 0.0 && (0.0..1e15).contains(&n) {
        Expr::Int(n as u64)
    } else {
        Expr::Num(n)
    }
}

fn texts(texts: &[Text]) -> Expr {
    Expr::List(texts.iter().cloned().map(Expr::Text).collect())
}

fn literals(names: &[String]) -> Expr {
    Expr::List(names.iter().map(|n| Expr::Text(Text::literal(n))).collect())
}

/// `name`, `image` and `ports`.
pub(super) fn container(s: &Service) -> Fields {
    let mut fields: Fields = vec![("name", Expr::Text(Text::literal(&s.name)))];
    if let Some(image) = &s.image {
        fields.push(("image", Expr::Text(image.clone())));
    }
    if !s.ports.is_empty() {
        fields.push(("ports", texts(&s.ports)));
    }
    fields
}

/// The entries of `env_vars`, a comment above each env file's; the
/// variables in `taken_over` only named, as a DatabaseConnection sets them.
/// A variable passed through adds an item to `added`.
pub(super) fn env_vars(
    s: &Service,
    taken_over: &HashSet<String>,
    added: &mut Vec<Item>,
) -> Vec<Entry> {
    let mut env = Vec::new();
    let mut last_file: Option<&Option<String>> = None;
    let with_secrets: HashSet<&str> = s
        .env
        .values()
        .filter(|e| {
            matches!(e.value, EnvValue::Secret { .. }) && !taken_over.contains(e.name.as_str())
        })
        .filter_map(|e| e.file.as_deref())
        .collect();
    for e in s.env.values() {
        if last_file != Some(&e.file) {
            match &e.file {
                Some(file) => env.push(Entry::Comment(match e.value {
                    EnvValue::Dotenv => format!("from {file}, which Clockwork reads too"),
                    _ if with_secrets.contains(file.as_str()) => format!(
                        "from {file} (copied: edit them here now; its secrets are not: env() reads them)"
                    ),
                    _ => format!("from {file} (copied: edit them here now)"),
                })),
                None if last_file.is_some() => {
                    env.push(Entry::Comment("from `environment`".into()));
                }
                None => {}
            }
            last_file = Some(&e.file);
        }
        if taken_over.contains(e.name.as_str()) {
            env.push(Entry::Comment(format!(
                "{}: set by the DatabaseConnection below",
                e.name
            )));
            continue;
        }
        let value = match &e.value {
            EnvValue::Text(t) => Expr::Text(t.clone()),
            EnvValue::Secret { reference, .. } => Expr::Env(reference.clone()),
            EnvValue::Dotenv => Expr::Env(e.name.clone()),
            EnvValue::Passthrough => {
                added.push(Item {
                    service: Some(s.key.clone()),
                    key: format!("environment.{}", e.name),
                    line: None,
                    kind: ItemKind::Note,
                    reason: "passed through from the environment: unset, it is empty here, where Compose leaves it out".into(),
                });
                Expr::Text(Text(vec![Part::Var(crate::import::interp::Var {
                    name: e.name.clone(),
                    fallback: crate::import::interp::Fallback::Empty,
                })]))
            }
        };
        env.push(Entry::Pair(e.name.clone(), value));
    }
    env
}

/// `volumes`, `networks`, `aliases`, `labels`, `entrypoint` and `command`:
/// each when Compose gives it.
pub(super) fn mounts_and_process(s: &Service) -> Fields {
    let mut fields: Fields = Vec::new();
    if !s.volumes.is_empty() {
        fields.push((
            "volumes",
            Expr::List(
                s.volumes
                    .iter()
                    .map(|m| {
                        let text = Expr::Text(m.text.clone());
                        if m.held {
                            Expr::Off(Box::new(text))
                        } else {
                            text
                        }
                    })
                    .collect(),
            ),
        ));
    }
    if !s.networks.is_empty() {
        fields.push(("networks", literals(&s.networks)));
    }
    if !s.aliases.is_empty() {
        fields.push(("aliases", literals(&s.aliases)));
    }
    if !s.labels.is_empty() {
        fields.push((
            "labels",
            Expr::Dict(
                s.labels
                    .iter()
                    .map(|(k, v)| Entry::Pair(k.to_string(), Expr::Text(v.clone())))
                    .collect(),
            ),
        ));
    }
    if let Some(entrypoint) = &s.entrypoint {
        fields.push(("entrypoint", texts(entrypoint)));
    }
    if let Some(command) = &s.command {
        fields.push(("command", texts(command)));
    }
    fields
}

/// `restart_policy` and `must_run`, for a service that is a one-shot `job`
/// or not.
pub(super) fn restart(restart: Option<&str>, job: bool) -> Fields {
    let mut fields: Fields = Vec::new();
    // Compose restarts nothing unless told; Clockwork's default is
    // `unless-stopped`, or `no` for a one-shot job.
    match restart {
        Some(policy) => fields.push(("restart_policy", Expr::Text(Text::literal(policy)))),
        None if !job => fields.push(("restart_policy", Expr::Text(Text::literal("no")))),
        None => {}
    }
    if job {
        fields.push(("must_run", Expr::Bool(false)));
    }
    fields
}

/// `healthcheck`, with Docker's defaults written out where Compose leaves
/// them.
pub(super) fn healthcheck(h: &Healthcheck) -> Expr {
    let mut check = vec![Entry::Pair("test".into(), texts(&h.test))];
    if h.test.first().and_then(Text::as_literal).as_deref() != Some("NONE") {
        check.push(Entry::Pair(
            "interval_seconds".into(),
            seconds(h.interval.unwrap_or(DOCKER_INTERVAL)),
        ));
        check.push(Entry::Pair(
            "timeout_seconds".into(),
            seconds(h.timeout.unwrap_or(DOCKER_TIMEOUT)),
        ));
        check.push(Entry::Pair(
            "retries".into(),
            Expr::Int(h.retries.unwrap_or(DOCKER_RETRIES)),
        ));
        if let Some(start) = h.start_period {
            check.push(Entry::Pair("start_period_seconds".into(), seconds(start)));
        }
    }
    Expr::Dict(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(test: &[&str], interval: Option<f64>, start_period: Option<f64>) -> Healthcheck {
        Healthcheck {
            test: test.iter().map(|t| Text::literal(*t)).collect(),
            interval,
            timeout: None,
            retries: None,
            start_period,
        }
    }

    #[test]
    fn health_checks_write_dockers_defaults_out() {
        let Expr::Dict(entries) = healthcheck(&check(&["CMD", "true"], Some(2.5), Some(10.0)))
        else {
            panic!("not a dict");
        };
        let pairs: Vec<(String, Expr)> = entries
            .into_iter()
            .filter_map(|e| match e {
                Entry::Pair(k, v) => Some((k, v)),
                Entry::Comment(_) => None,
            })
            .collect();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "test",
                "interval_seconds",
                "timeout_seconds",
                "retries",
                "start_period_seconds"
            ]
        );
        assert_eq!(pairs[1].1, Expr::Num(2.5));
        assert_eq!(pairs[2].1, Expr::Int(30));
        assert_eq!(pairs[3].1, Expr::Int(3));
        assert_eq!(pairs[4].1, Expr::Int(10));
    }

    #[test]
    fn a_disabled_health_check_is_only_its_test() {
        let Expr::Dict(entries) = healthcheck(&check(&["NONE"], Some(5.0), None)) else {
            panic!("not a dict");
        };
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn compose_restarts_nothing_unless_told_and_a_job_need_not_run() {
        assert_eq!(
            restart(None, false),
            vec![("restart_policy", Expr::Text(Text::literal("no")))]
        );
        assert_eq!(restart(None, true), vec![("must_run", Expr::Bool(false))]);
        assert_eq!(
            restart(Some("always"), false),
            vec![("restart_policy", Expr::Text(Text::literal("always")))]
        );
    }
}
