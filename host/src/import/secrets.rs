//! The secrets of env files: which values are secrets ([`holds_secret`]),
//! the name `main.star` reads each with `env()`, and what the user must
//! set. A Compose file is untrusted input and `main.star` is often
//! committed: a secret an env file holds stays out of it, and is printed
//! by its name only.

use std::collections::{HashMap, HashSet};

use crate::import::Item;
use crate::import::compose::model::{Compose, EnvValue, EnvVar, SecretToSet};
use crate::import::interp::Text;
use crate::import::ordered::Ordered;

/// Whether `t`, the value of `name` read from an env file, holds a secret
/// that main.star must not copy: a value of a secret name (unless it only
/// names other variables), or a URL's password or a secret query
/// parameter written in it (`crate::secret`).
pub fn holds_secret(name: &str, t: &Text) -> bool {
    let view = t.literal_view();
    (crate::secret::is_secret_name(name) && !view.is_empty())
        || !crate::secret::url_passwords(&view).is_empty()
        || !crate::secret::query_secrets(&view).is_empty()
}

/// The secrets of env files as read, to be given the names main.star
/// reads them under ([`Secrets::name`]) once it is known which of them a
/// DatabaseConnection builds instead.
#[derive(Debug, Default)]
pub struct Secrets {
    /// Literal values of the project's `.env`, which `env()` reads.
    dotenv: HashMap<String, String>,
    /// The names given.
    taken: HashSet<String>,
    /// The name given to each variable and value.
    given: HashMap<(String, Text), String>,
    /// Notes whose reason is written once the names are given: the item,
    /// the service's index, the env file, the variables.
    notes: Vec<(usize, usize, String, Vec<String>)>,
}

impl Secrets {
    pub(super) fn in_dotenv(&mut self, name: &str, value: String) {
        self.dotenv.insert(name.to_string(), value);
    }

    pub(super) fn note_at(&mut self, item: usize, service: usize, file: &str, names: Vec<String>) {
        self.notes.push((item, service, file.to_string(), names));
    }

    /// The name main.star reads the secret `name` of `service` under:
    /// its own, unless that name is given to another value already (by
    /// `.env` or another env file), then prefixed with the service.
    fn reference(&mut self, service: &str, name: &str, value: &Text) -> String {
        if value
            .as_literal()
            .is_some_and(|l| self.dotenv.get(name) == Some(&l))
        {
            // `.env` gives it already, and `env()` reads it there.
            return name.to_string();
        }
        let key = (name.to_string(), value.clone());
        match self.given.get(&key) {
            Some(reference) => reference.clone(),
            None => {
                let free = |r: &str, s: &Self| !s.taken.contains(r) && !s.dotenv.contains_key(r);
                let mut reference = name.to_string();
                if !free(&reference, self) {
                    let prefix: String = service
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() {
                                c.to_ascii_uppercase()
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let prefix = if prefix.starts_with(|c: char| c.is_ascii_digit()) {
                        format!("_{prefix}")
                    } else {
                        prefix
                    };
                    reference = format!("{prefix}_{name}");
                    let mut n = 2;
                    while !free(&reference, self) {
                        reference = format!("{prefix}_{name}_{n}");
                        n += 1;
                    }
                }
                self.taken.insert(reference.clone());
                self.given.insert(key, reference.clone());
                reference
            }
        }
    }

    /// Gives each secret of the env files that main.star reads the name
    /// it reads it under, writes the notes that say so (at the items
    /// `read` left for them), and lists what the user must set.
    /// `takes_over(service index, variable)`: a DatabaseConnection builds
    /// the variable, so main.star neither writes nor reads it.
    pub fn name(
        mut self,
        compose: &mut Compose,
        items: &mut [Item],
        takes_over: &dyn Fn(usize, &str) -> bool,
    ) {
        let mut to_set: Ordered<SecretToSet> = Ordered::default();
        for (i, service) in compose.services.iter_mut().enumerate() {
            for e in service.env.values_mut() {
                let EnvValue::Secret { reference, value } = &mut e.value else {
                    continue;
                };
                if takes_over(i, &e.name) {
                    continue;
                }
                let file = e.file.clone().unwrap_or_default();
                *reference = self.reference(&service.key, &e.name, value);
                if self.dotenv.contains_key(reference.as_str()) {
                    // In `.env` already, with this value.
                    continue;
                }
                match to_set.get_mut(reference) {
                    Some(entry) => {
                        if entry.services.last() != Some(&service.key) {
                            entry.services.push(service.key.clone());
                        }
                    }
                    None => to_set.set(
                        reference.clone(),
                        SecretToSet {
                            reference: reference.clone(),
                            name: e.name.clone(),
                            file,
                            services: vec![service.key.clone()],
                        },
                    ),
                }
            }
        }
        for (item, index, file, names) in std::mem::take(&mut self.notes) {
            let Some(s) = compose.services.get(index) else {
                continue;
            };
            let mut shown = Vec::new();
            let mut read = Vec::new();
            let mut built = Vec::new();
            for name in &names {
                let Some(EnvVar {
                    value: EnvValue::Secret { reference, .. },
                    ..
                }) = s.env.get(name)
                else {
                    continue;
                };
                if takes_over(index, name) {
                    built.push(format!("`{name}`"));
                } else {
                    read.push(format!("`{name}`"));
                }
                shown.push(if reference == name || takes_over(index, name) {
                    format!("`{name}`")
                } else {
                    format!(
                        "`{name}` (as `{reference}`, since another env file gives `{name}` another value)"
                    )
                });
            }
            let count = shown.len();
            let how = match (read.is_empty(), built.is_empty()) {
                (false, true) => format!(
                    "it reads {} with `env()`, from .env or the environment",
                    if count == 1 { "it" } else { "them" }
                ),
                (true, false) => format!(
                    "the DatabaseConnection below builds {}",
                    if count == 1 { "it" } else { "them" }
                ),
                _ => format!(
                    "it reads {} with `env()`, from .env or the environment, and the DatabaseConnection below builds {}",
                    and(&read),
                    and(&built)
                ),
            };
            let reason = format!(
                "{} of `{file}` {}, not copied into main.star: {how}",
                and(&shown),
                if count == 1 {
                    "is a secret"
                } else {
                    "are secrets"
                },
            );
            if let Some(i) = items.get_mut(item) {
                i.reason = reason;
            }
        }
        compose.secrets = to_set.values().cloned().collect();
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
