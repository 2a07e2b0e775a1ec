//! The services as declarations: one `DockerResource` each, and the
//! connections — a `DatabaseConnection` where a variable holds a URL of a
//! PostgreSQL service that the connection would build identically, a plain
//! `.connect(...)` for every other `depends_on`.

mod database;
mod fields;
mod identifier;
mod postgres_url;

use std::collections::{HashMap, HashSet};

use crate::import::compose::{Compose, Condition, EnvValue, Service};
use crate::import::interp::Text;
use crate::import::{Item, ItemKind};

use database::{Index, database_connection, writes_a_secret};
use identifier::identifier;

/// A value in main.star.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string, with `env()` for its variables.
    Text(Text),
    /// `env("NAME")`: read from the environment or `.env`.
    Env(String),
    /// A whole number.
    Int(u64),
    /// Seconds, possibly fractional.
    Num(f64),
    /// True or False.
    Bool(bool),
    /// A list.
    List(Vec<Expr>),
    /// A dict, with comments between entries.
    Dict(Vec<Entry>),
    /// A Starlark variable (a declaration's handle).
    Ident(String),
    /// A list entry written commented out, for the user to turn on.
    Off(Box<Expr>),
}

/// A line of a dict.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `"key": value`.
    Pair(String, Expr),
    /// `# text`.
    Comment(String),
}

/// One declaration: `var = Type(field = value, …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    /// The Starlark variable.
    pub var: String,
    /// Comment lines above it.
    pub comments: Vec<String>,
    /// Its fields, in the order written.
    pub fields: Vec<(&'static str, Expr)>,
}

/// `from.connect(to)` or `from.connect(DatabaseConnection(…))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// The connecting declaration's variable.
    pub from: String,
    /// Comment lines above it.
    pub comments: Vec<String>,
    /// The target's variable, or a DatabaseConnection's fields.
    pub to: Target,
}

/// What is connected to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A plain dependency.
    Plain(String),
    /// A DatabaseConnection with these fields (`to_resource` first).
    Database(Vec<(&'static str, Expr)>),
}

/// A call's keyword arguments, in the order written.
pub type Fields = Vec<(&'static str, Expr)>;

/// Everything main.star declares.
#[derive(Debug, Default)]
pub struct Declarations {
    /// The resources, in service order.
    pub resources: Vec<Declaration>,
    /// The connections, in service order.
    pub connections: Vec<Connect>,
}

/// What is decided before writing: each service's Starlark variable, and
/// the variables of each service that DatabaseConnections take over.
#[derive(Debug)]
pub struct Prepared {
    vars: HashMap<String, String>,
    /// By service index: the variable, the service connected to, and the
    /// connection's fields.
    databases: Vec<Vec<(String, String, Fields)>>,
}

impl Prepared {
    /// Whether a DatabaseConnection sets the variable `name` of the
    /// service at `index` (so main.star neither writes nor reads it).
    pub fn takes_over(&self, index: usize, name: &str) -> bool {
        self.databases
            .get(index)
            .is_some_and(|d| d.iter().any(|(n, _, _)| n == name))
    }
}

/// Names the declarations and finds the DatabaseConnections.
pub fn prepare(compose: &Compose) -> Prepared {
    // Every look-up here and in `translate` is by a map: a file of many
    // services must not make each of them search all the others.
    let mut vars: HashMap<&str, String> = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    for s in &compose.services {
        let var = identifier(&s.key, &taken);
        taken.insert(var.clone());
        vars.entry(s.key.as_str()).or_insert(var);
    }
    let index = Index::new(compose);
    let databases = compose
        .services
        .iter()
        .map(|s| {
            let mut databases: Vec<(String, String, Fields)> = Vec::new();
            for e in s.env.values() {
                let (value, secret) = match &e.value {
                    EnvValue::Text(value) => (value, false),
                    EnvValue::Secret { value, .. } => (value, true),
                    _ => continue,
                };
                if let Some((target, fields)) =
                    database_connection(&index, s, &e.name, value, &vars)
                    && !(secret && writes_a_secret(&fields))
                {
                    databases.push((e.name.clone(), target, fields));
                }
            }
            databases
        })
        .collect();
    Prepared {
        vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        databases,
    }
}

/// The declarations of the file, and the items the choices here add.
pub fn translate(
    compose: &Compose,
    prepared: &Prepared,
    items: &[Item],
) -> (Declarations, Vec<Item>) {
    let mut at_service: HashMap<&str, Vec<&Item>> = HashMap::new();
    for item in items {
        if let Some(service) = &item.service {
            at_service.entry(service.as_str()).or_default().push(item);
        }
    }
    let mut translation = Translation {
        prepared,
        index: Index::new(compose),
        at_service,
        one_shot: one_shot_jobs(compose),
        added: Vec::new(),
        out: Declarations::default(),
    };
    for (i, s) in compose.services.iter().enumerate() {
        translation.service(i, s);
    }
    (translation.out, translation.added)
}

/// One-shot jobs: what another service waits to see completed.
fn one_shot_jobs(compose: &Compose) -> HashSet<&str> {
    compose
        .services
        .iter()
        .flat_map(|s| &s.depends_on)
        .filter(|d| d.condition == Condition::CompletedSuccessfully)
        .map(|d| d.service.as_str())
        .collect()
}

/// What [`translate`] carries from one service to the next.
struct Translation<'a> {
    prepared: &'a Prepared,
    index: Index<'a>,
    /// The file's items, by the service they are at.
    at_service: HashMap<&'a str, Vec<&'a Item>>,
    one_shot: HashSet<&'a str>,
    /// The items the choices here add.
    added: Vec<Item>,
    out: Declarations,
}

impl Translation<'_> {
    fn var_of(&self, key: &str) -> String {
        self.prepared
            .vars
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// The declaration of service `s`, the `i`th, and its connections.
    fn service(&mut self, i: usize, s: &Service) {
        let var = self.var_of(&s.key);
        let added_before = self.added.len();
        // The variables DatabaseConnections take over.
        let databases = self.prepared.databases.get(i).cloned().unwrap_or_default();
        let taken_over: HashSet<String> = databases.iter().map(|(n, _, _)| n.clone()).collect();
        let mut fields = fields::container(s);
        let env = fields::env_vars(s, &taken_over, &mut self.added);
        if !env.is_empty() {
            fields.push(("env_vars", Expr::Dict(env)));
        }
        fields.extend(fields::mounts_and_process(s));
        let job = self.one_shot.contains(s.key.as_str());
        fields.extend(fields::restart(s.restart.as_deref(), job));
        if let Some(h) = &s.healthcheck {
            fields.push(("healthcheck", fields::healthcheck(h)));
        }
        let connected = self.database_connections(s, &var, databases);
        self.dependencies(s, &var, connected);
        let comments = self.comments(s, added_before);
        self.out.resources.push(Declaration {
            var,
            comments,
            fields,
        });
    }

    /// The DatabaseConnections of `s`; the services they connect to.
    fn database_connections(
        &mut self,
        s: &Service,
        var: &str,
        databases: Vec<(String, String, Fields)>,
    ) -> HashSet<String> {
        let depends_on: HashSet<&str> = s.depends_on.iter().map(|d| d.service.as_str()).collect();
        let mut connected: HashSet<String> = HashSet::new();
        for (name, target, fields) in databases {
            let mut comments = vec![format!(
                "{name} from a DatabaseConnection: `{}` starts once `{}` accepts connections.",
                s.key, target
            )];
            if !depends_on.contains(target.as_str()) {
                comments.push(format!(
                    "(Compose started `{}` without waiting for `{target}`.)",
                    s.key
                ));
            }
            self.out.connections.push(Connect {
                from: var.to_string(),
                comments,
                to: Target::Database(fields),
            });
            connected.insert(target);
        }
        connected
    }

    /// A plain `.connect` for each `depends_on` of `s` not yet `connected`.
    fn dependencies(&mut self, s: &Service, var: &str, mut connected: HashSet<String>) {
        for d in &s.depends_on {
            if !connected.insert(d.service.clone()) {
                continue;
            }
            let target = self.index.by_key.get(d.service.as_str());
            let mut comments = Vec::new();
            match d.condition {
                Condition::Healthy if target.is_some_and(|t| t.healthcheck.is_none()) => {
                    comments.push(format!(
                        "service_healthy: `{}` has no health check in the Compose file; Clockwork waits until it runs, and is healthy when completion gives it a check",
                        d.service
                    ));
                }
                Condition::CompletedSuccessfully => {
                    self.added.push(Item {
                        service: Some(s.key.clone()),
                        key: format!("depends_on.{}", d.service),
                        line: None,
                        kind: ItemKind::Note,
                        reason: format!(
                            "service_completed_successfully: Clockwork starts `{}` once `{}` has started (a one-shot job, `must_run = False`), not once it has exited",
                            s.key, d.service
                        ),
                    });
                    comments.push(format!(
                        "service_completed_successfully: Clockwork waits for `{}` to start, not to exit.",
                        d.service
                    ));
                }
                _ => {}
            }
            self.out.connections.push(Connect {
                from: var.to_string(),
                comments,
                to: Target::Plain(self.var_of(&d.service)),
            });
        }
    }

    /// The comment above the declaration of `s`: what it was in Compose,
    /// its items, and those added since `added_before`.
    fn comments(&self, s: &Service, added_before: usize) -> Vec<String> {
        let mut comments = vec![if s.name == s.key {
            format!("Compose service `{}`.", s.key)
        } else {
            format!("Compose service `{}` (container_name `{}`).", s.key, s.name)
        }];
        for item in self
            .at_service
            .get(s.key.as_str())
            .into_iter()
            .flatten()
            .copied()
            .chain(&self.added[added_before..])
        {
            comments.push(item.comment());
        }
        comments
    }
}
