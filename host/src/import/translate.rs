//! The services as declarations: one `DockerResource` each, and the
//! connections — a `DatabaseConnection` where a variable holds a URL of a
//! PostgreSQL service that the connection would build identically, a plain
//! `.connect(...)` for every other `depends_on`.

use std::collections::{HashMap, HashSet};

use crate::import::compose::{Compose, Condition, EnvValue, Service};
use crate::import::interp::{Part, Text};
use crate::import::{Item, ItemKind};

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

/// The connection string DatabaseConnection uses when none is given.
const POSTGRES_TEMPLATE: &str = "postgresql://{user}:{password}@{host}:{port}/{database}";

/// Names main.star cannot give a variable: Starlark's keywords and
/// Clockwork's globals.
const RESERVED: &[&str] = &[
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "load",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "True",
    "False",
    "None",
    "env",
    "print",
    "len",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "tuple",
    "range",
    "type",
    "any",
    "all",
    "sorted",
    "reversed",
    "enumerate",
    "zip",
    "min",
    "max",
    "abs",
    "hash",
    "repr",
    "dir",
    "getattr",
    "hasattr",
    "fail",
    "struct",
    "http",
    "tcp",
    "udp",
    "dns",
    "exec",
    "docker",
    "file",
    "re",
    "time",
    "sleep",
];

/// A Starlark identifier for a service name, unique among `taken`.
pub fn identifier(name: &str, taken: &HashSet<String>) -> String {
    let mut id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id = format!("service_{id}");
    }
    if RESERVED.contains(&id.as_str()) {
        id.push_str("_service");
    }
    let mut unique = id.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{id}_{n}");
        n += 1;
    }
    unique
}

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

/// `text` with each variable replaced by a marker no URL holds, so it
/// can be cut at `:`, `@` and `/` and the pieces mapped back.
fn marked(text: &Text) -> (String, Vec<Part>) {
    let mut out = String::new();
    let mut vars = Vec::new();
    for part in &text.0 {
        match part {
            Part::Lit(s) => out.push_str(s),
            Part::Var(_) => {
                out.push('\u{E000}');
                out.push(char::from_u32(0xE100 + vars.len() as u32).unwrap_or('\u{E0FF}'));
                vars.push(part.clone());
            }
        }
    }
    (out, vars)
}

/// A piece of a marked string as text again.
fn unmarked(piece: &str, vars: &[Part]) -> Text {
    let mut out = Text::default();
    let mut chars = piece.chars();
    while let Some(c) = chars.next() {
        if c == '\u{E000}' {
            let index = chars.next().map_or(0, |n| n as u32 - 0xE100) as usize;
            if let Some(v) = vars.get(index) {
                out.0.push(v.clone());
            }
        } else {
            out.push_str(&c.to_string());
        }
    }
    out
}

fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// A user, password or database of the URL as DatabaseConnection would
/// insert it (it URL-escapes them): the value to give it, if it would
/// come out the same.
fn component(piece: &str, vars: &[Part]) -> Option<Text> {
    let text = unmarked(piece, vars);
    match text.as_literal() {
        Some(literal) => {
            let decoded = percent_decode(&literal)?;
            let again: String = decoded
                .bytes()
                .map(|b| {
                    if unreserved(b as char) && b.is_ascii() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            (again == literal).then(|| Text::literal(decoded))
        }
        None => text
            .0
            .iter()
            .all(|p| match p {
                Part::Lit(s) => s.chars().all(unreserved),
                Part::Var(_) => true,
            })
            .then_some(text),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The PostgreSQL URL of a variable, cut into what DatabaseConnection takes.
#[derive(Debug, PartialEq)]
struct PostgresUrl {
    template: String,
    host: String,
    user: Text,
    password: Option<Text>,
    database: Text,
}

fn postgres_url(value: &Text) -> Option<PostgresUrl> {
    let (text, vars) = marked(value);
    let (scheme, rest) = text.split_once("://")?;
    if !scheme.starts_with("postgres") || scheme.contains('\u{E000}') {
        return None;
    }
    let authority_end = rest.find('/')?;
    let (authority, after) = rest.split_at(authority_end);
    let after = &after[1..];
    let (userinfo, hostport) = authority.rsplit_once('@')?;
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    let (host, port) = match hostport.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    };
    let database_end = after.find(['?', '#']).unwrap_or(after.len());
    let (database, tail) = after.split_at(database_end);
    let literal = |s: &str| !s.contains('\u{E000}') && !s.contains(['{', '}']);
    if user.is_empty()
        || database.is_empty()
        || !literal(host)
        || !literal(tail)
        || !literal(scheme)
    {
        return None;
    }
    if port.is_some_and(|p| !literal(p) || p.parse::<u16>().is_err()) {
        return None;
    }
    let mut template = format!("{scheme}://{{user}}");
    if password.is_some() {
        template.push_str(":{password}");
    }
    template.push_str("@{host}");
    if port.is_some() {
        template.push_str(":{port}");
    }
    template.push_str("/{database}");
    template.push_str(tail);
    Some(PostgresUrl {
        template: format!("{template}\u{0}{}", port.unwrap_or("")),
        host: host.to_string(),
        user: component(user, &vars)?,
        password: match password {
            Some(p) => Some(component(p, &vars)?),
            None => None,
        },
        database: component(database, &vars)?,
    })
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
struct Index<'c> {
    by_key: HashMap<&'c str, &'c Service>,
    by_name: HashMap<&'c str, Vec<&'c Service>>,
    /// Steps [`reaches`] may still take: past them, a dependency is taken
    /// to close a cycle (and a plain `.connect` is written), so that a
    /// file made to walk long chains again and again stays linear.
    steps: std::cell::Cell<usize>,
}

impl<'c> Index<'c> {
    fn new(compose: &'c Compose) -> Index<'c> {
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
fn database_connection(
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
fn writes_a_secret(fields: &[(&'static str, Expr)]) -> bool {
    fields.iter().any(|(name, value)| match (name, value) {
        (&"password", Expr::Text(t)) => !t.literal_view().is_empty(),
        (&"connection_string_template", Expr::Text(t)) => {
            !crate::secret::query_secrets(&t.literal_view()).is_empty()
        }
        _ => false,
    })
}

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
    let vars = &prepared.vars;
    let var_of = |key: &str| vars.get(key).cloned().unwrap_or_else(|| key.to_string());
    let index = Index::new(compose);
    let mut at_service: HashMap<&str, Vec<&Item>> = HashMap::new();
    for item in items {
        if let Some(service) = &item.service {
            at_service.entry(service.as_str()).or_default().push(item);
        }
    }
    let mut added = Vec::new();
    let mut out = Declarations::default();
    // One-shot jobs: what another service waits to see completed.
    let one_shot: HashSet<&str> = compose
        .services
        .iter()
        .flat_map(|s| &s.depends_on)
        .filter(|d| d.condition == Condition::CompletedSuccessfully)
        .map(|d| d.service.as_str())
        .collect();
    for (i, s) in compose.services.iter().enumerate() {
        let var = var_of(&s.key);
        let added_before = added.len();
        // The variables DatabaseConnections take over.
        let databases = prepared.databases.get(i).cloned().unwrap_or_default();
        let taken_over: HashSet<String> = databases.iter().map(|(n, _, _)| n.clone()).collect();
        let depends_on: HashSet<&str> = s.depends_on.iter().map(|d| d.service.as_str()).collect();
        let mut fields: Vec<(&'static str, Expr)> =
            vec![("name", Expr::Text(Text::literal(&s.name)))];
        if let Some(image) = &s.image {
            fields.push(("image", Expr::Text(image.clone())));
        }
        if !s.ports.is_empty() {
            fields.push((
                "ports",
                Expr::List(s.ports.iter().cloned().map(Expr::Text).collect()),
            ));
        }
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
        if !env.is_empty() {
            fields.push(("env_vars", Expr::Dict(env)));
        }
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
            fields.push((
                "networks",
                Expr::List(
                    s.networks
                        .iter()
                        .map(|n| Expr::Text(Text::literal(n)))
                        .collect(),
                ),
            ));
        }
        if !s.aliases.is_empty() {
            fields.push((
                "aliases",
                Expr::List(
                    s.aliases
                        .iter()
                        .map(|n| Expr::Text(Text::literal(n)))
                        .collect(),
                ),
            ));
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
            fields.push((
                "entrypoint",
                Expr::List(entrypoint.iter().cloned().map(Expr::Text).collect()),
            ));
        }
        if let Some(command) = &s.command {
            fields.push((
                "command",
                Expr::List(command.iter().cloned().map(Expr::Text).collect()),
            ));
        }
        let job = one_shot.contains(s.key.as_str());
        // Compose restarts nothing unless told; Clockwork's default is
        // `unless-stopped`, or `no` for a one-shot job.
        match s.restart.as_deref() {
            Some(policy) => fields.push(("restart_policy", Expr::Text(Text::literal(policy)))),
            None if !job => fields.push(("restart_policy", Expr::Text(Text::literal("no")))),
            None => {}
        }
        if job {
            fields.push(("must_run", Expr::Bool(false)));
        }
        if let Some(h) = &s.healthcheck {
            let mut check = vec![Entry::Pair(
                "test".into(),
                Expr::List(h.test.iter().cloned().map(Expr::Text).collect()),
            )];
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
            fields.push(("healthcheck", Expr::Dict(check)));
        }

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
            out.connections.push(Connect {
                from: var.clone(),
                comments,
                to: Target::Database(fields),
            });
            connected.insert(target);
        }
        for d in &s.depends_on {
            if !connected.insert(d.service.clone()) {
                continue;
            }
            let target = index.by_key.get(d.service.as_str());
            let mut comments = Vec::new();
            match d.condition {
                Condition::Healthy if target.is_some_and(|t| t.healthcheck.is_none()) => {
                    comments.push(format!(
                        "service_healthy: `{}` has no health check in the Compose file; Clockwork waits until it runs, and is healthy when completion gives it a check",
                        d.service
                    ));
                }
                Condition::CompletedSuccessfully => {
                    added.push(Item {
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
            out.connections.push(Connect {
                from: var.clone(),
                comments,
                to: Target::Plain(var_of(&d.service)),
            });
        }
        let mut comments = vec![if s.name == s.key {
            format!("Compose service `{}`.", s.key)
        } else {
            format!("Compose service `{}` (container_name `{}`).", s.key, s.name)
        }];
        for item in at_service
            .get(s.key.as_str())
            .into_iter()
            .flatten()
            .copied()
            .chain(&added[added_before..])
        {
            comments.push(item.comment());
        }
        out.resources.push(Declaration {
            var: var.clone(),
            comments,
            fields,
        });
    }
    (out, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_and_unique() {
        let none = HashSet::new();
        assert_eq!(identifier("my-api", &none), "my_api");
        assert_eq!(identifier("2fa", &none), "service_2fa");
        assert_eq!(identifier("env", &none), "env_service");
        assert_eq!(identifier("for", &none), "for_service");
        assert_eq!(
            identifier("my.api", &HashSet::from(["my_api".into()])),
            "my_api_2"
        );
    }

    fn url(text: &str) -> Option<PostgresUrl> {
        postgres_url(&Text::parse(text).unwrap())
    }

    #[test]
    fn postgres_urls_are_cut_where_the_connection_fills_in() {
        let u = url("postgres://app:s3cret@db:5432/shop?sslmode=disable").unwrap();
        assert_eq!(
            u.template,
            "postgres://{user}:{password}@{host}:{port}/{database}?sslmode=disable\u{0}5432"
        );
        assert_eq!(u.host, "db");
        assert_eq!(u.user, Text::literal("app"));
        assert_eq!(u.password, Some(Text::literal("s3cret")));
        assert_eq!(u.database, Text::literal("shop"));
        // Escaped as the connection would escape it.
        let u = url("postgresql://app:p%40ss@db/shop").unwrap();
        assert_eq!(u.password, Some(Text::literal("p@ss")));
        assert_eq!(
            u.template,
            "postgresql://{user}:{password}@{host}/{database}\u{0}"
        );
        // A variable stays a variable.
        let u = url("postgresql://app:${DB_PASSWORD}@db:5432/shop").unwrap();
        assert_eq!(u.password, Text::parse("${DB_PASSWORD}").ok());
        // Not the connection's: no user, escaped otherwise, another scheme,
        // a host chosen by a variable.
        assert_eq!(url("postgresql://db:5432/shop"), None);
        assert_eq!(url("postgresql://app:p%40ss%2f@db/shop"), None);
        assert_eq!(url("mysql://app:x@db/shop"), None);
        assert_eq!(url("postgresql://app:x@${DB_HOST}/shop"), None);
    }
}
