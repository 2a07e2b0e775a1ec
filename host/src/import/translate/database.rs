//! The DatabaseConnections a file's variables stand for: a variable holding
//! a URL of a PostgreSQL service of the file that the connection would
//! build byte for byte.

use std::collections::{HashMap, HashSet};

use crate::import::compose::{Compose, EnvValue, Service};
use crate::import::interp::Text;
use crate::import::translate::postgres_url::postgres_url;
use crate::import::translate::{Expr, Fields};

/// The connection string DatabaseConnection uses when none is given.
const POSTGRES_TEMPLATE: &str = "postgresql://{user}:{password}@{host}:{port}/{database}";

/// Whether a service runs PostgreSQL, as DatabaseConnection tells it
/// (`Some(true)`: also from its image, so `engine` need not be set).
fn postgres(s: &Service) -> Option<bool> {
    let image = s
        .image
        .as_ref()
        .map(|i| i.resolved().to_ascii_lowercase())
        .unwrap_or_default();
    let shows = |needles: &[&str]| needles.iter().any(|n| image.contains(n));
    if shows(&["postgres", "postgis", "timescale"]) {
        return Some(true);
    }
    let other = shows(&["mariadb", "mysql", "percona", "redis", "valkey", "keydb"]);
    (!other && s.env.values().any(|e| e.name.starts_with("POSTGRES_"))).then_some(false)
}

/// The container port DatabaseConnection puts in `{port}`.
fn container_port(s: &Service) -> u16 {
    s.ports
        .first()
        .and_then(|p| clockwork_schema::parse_port(&p.resolved()).ok())
        .map_or(5432, |m| m.container_port)
}

/// The value a variable of `s` holds when written in the file or in one
/// of its env files (a secret's too: to compare, never to write).
fn written(s: &Service, name: &str) -> Option<Text> {
    s.env.get(name).and_then(|e| match &e.value {
        EnvValue::Text(t) | EnvValue::Secret { value: t, .. } => Some(t.clone()),
        _ => None,
    })
}

/// The services of a file by key and by container name, and a budget for
/// walking their dependencies.
pub(super) struct Index<'c> {
    pub(super) by_key: HashMap<&'c str, &'c Service>,
    by_name: HashMap<&'c str, Vec<&'c Service>>,
    /// Steps [`reaches`] may still take: past them, a dependency is taken
    /// to close a cycle (and a plain `.connect` is written), so that a
    /// file made to walk long chains again and again stays linear.
    steps: std::cell::Cell<usize>,
}

impl<'c> Index<'c> {
    pub(super) fn new(compose: &'c Compose) -> Index<'c> {
        let mut by_key = HashMap::new();
        let mut by_name: HashMap<&str, Vec<&Service>> = HashMap::new();
        for s in &compose.services {
            by_key.entry(s.key.as_str()).or_insert(s);
            by_name.entry(s.name.as_str()).or_default().push(s);
        }
        Index {
            by_key,
            by_name,
            steps: std::cell::Cell::new(1_000_000),
        }
    }

    /// Whether `to` depends, directly or not, on `from`: a connection from
    /// `from` to `to` would then close a cycle.
    fn reaches(&self, to: &str, from: &str) -> bool {
        let mut seen: HashSet<&str> = HashSet::from([to]);
        let mut todo = vec![to];
        while let Some(key) = todo.pop() {
            if key == from {
                return true;
            }
            let left = self.steps.get();
            if left == 0 {
                return true;
            }
            self.steps.set(left - 1);
            let Some(s) = self.by_key.get(key) else {
                continue;
            };
            for d in &s.depends_on {
                if seen.insert(d.service.as_str()) {
                    todo.push(d.service.as_str());
                }
            }
        }
        false
    }
}

/// A DatabaseConnection for variable `var` of `s`, when its value is a
/// URL of a PostgreSQL service of the file that the connection would
/// build byte for byte; its fields (`to_resource` first) and the target.
pub(super) fn database_connection(
    index: &Index<'_>,
    s: &Service,
    var: &str,
    value: &Text,
    vars: &HashMap<&str, String>,
) -> Option<(String, Fields)> {
    let url = postgres_url(value)?;
    let target = *index
        .by_name
        .get(url.host.as_str())?
        .iter()
        .find(|t| t.key != s.key)?;
    let from_image = postgres(target)?;
    if index.reaches(&target.key, &s.key) {
        return None;
    }
    let (template, port) = url.template.split_once('\u{0}')?;
    if !port.is_empty() && port.parse::<u16>().ok()? != container_port(target) {
        return None;
    }
    let target_var = vars.get(target.key.as_str())?.clone();
    let mut fields: Vec<(&'static str, Expr)> = vec![("to_resource", Expr::Ident(target_var))];
    if !from_image {
        fields.push(("engine", Expr::Text(Text::literal("postgresql"))));
    }
    // Left out, each comes from the database container as DatabaseConnection
    // reads it: its POSTGRES_* variable, else the image's default.
    let derived = |name: &str| written(target, name).unwrap_or_else(|| Text::literal("postgres"));
    if url.user != derived("POSTGRES_USER") {
        fields.push(("username", Expr::Text(url.user.clone())));
    }
    if let Some(password) = &url.password
        && *password != derived("POSTGRES_PASSWORD")
    {
        fields.push(("password", Expr::Text(password.clone())));
    }
    if url.database != derived("POSTGRES_DB") {
        fields.push(("database_name", Expr::Text(url.database.clone())));
    }
    if var != "DATABASE_URL" {
        fields.push(("env_var_name", Expr::Text(Text::literal(var))));
    }
    if template != POSTGRES_TEMPLATE {
        fields.push((
            "connection_string_template",
            Expr::Text(Text::literal(template)),
        ));
    }
    Some((target.key.clone(), fields))
}

/// Whether a DatabaseConnection's fields would write a secret into
/// main.star: a password given as text, or a secret parameter in the
/// template's query. For a URL read from an env file, whose secrets stay
/// out of main.star, such a connection is not made.
pub(super) fn writes_a_secret(fields: &[(&'static str, Expr)]) -> bool {
    fields.iter().any(|(name, value)| match (name, value) {
        (&"password", Expr::Text(t)) => !t.literal_view().is_empty(),
        (&"connection_string_template", Expr::Text(t)) => {
            !crate::secret::query_secrets(&t.literal_view()).is_empty()
        }
        _ => false,
    })
}
