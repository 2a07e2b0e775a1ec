//! A Compose file read into what Clockwork can express: the services with
//! the keys it translates, checked and normalised (short and long syntax
//! alike), and everything else recorded as an [`Item`] at its key.
//!
//! The checks are those Compose itself makes (a named volume or network
//! that is not declared, a `depends_on` of no service), plus unknown keys,
//! which Compose refuses too and which are usually typos.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use crate::import::error::{ImportError, Problem};
use crate::import::interp::Text;
use crate::import::locate::{Locator, Seg};
use crate::import::ordered::Ordered;
use crate::import::read::ReadError;
use crate::import::secrets::{SecretToSet, Secrets, holds_secret};
use crate::import::{Input, Item, ItemKind};
use crate::project::dotenv::DotenvValue;

/// Problems shown one by one; past these, they are counted (a file with
/// thousands of mistakes is not helped by thousands of messages, and each
/// costs a suggestion worked out against every name).
const MAX_PROBLEMS: usize = 200;

/// The most bytes of env files one import reads, counting a file at each
/// service that names it: what is read is copied into main.star, so a
/// small Compose file naming a large env file at many services would
/// otherwise make a main.star of gigabytes.
const ENV_FILES_BUDGET: u64 = 64 * 1024 * 1024;

/// The services of a Compose file, in file order.
#[derive(Debug, Default)]
pub struct Compose {
    /// The services.
    pub services: Vec<Service>,
    /// Whether any service lists its networks (Compose then keeps it off
    /// the others; Clockwork puts every container on the project network).
    pub uses_networks: bool,
    /// The secrets of env files main.star reads with `env()`, which the
    /// user must set.
    pub secrets: Vec<SecretToSet>,
}

/// One service, as Clockwork can run it.
#[derive(Debug, Default)]
pub struct Service {
    /// The service's key.
    pub key: String,
    /// The container's name: `container_name`, else the key.
    pub name: String,
    /// The image.
    pub image: Option<Text>,
    /// Published ports, each as DockerResource writes them.
    pub ports: Vec<Text>,
    /// The environment: `env_file` entries, then `environment`, each name once.
    pub env: Ordered<EnvVar>,
    /// Mounts, each as DockerResource writes them.
    pub volumes: Vec<Mount>,
    /// Networks by their Docker names (Compose's `default` left out).
    pub networks: Vec<String>,
    /// Extra names on the networks.
    pub aliases: Vec<String>,
    /// What it waits for.
    pub depends_on: Vec<Dependency>,
    /// Its health check.
    pub healthcheck: Option<Healthcheck>,
    /// The command, replacing the image's.
    pub command: Option<Vec<Text>>,
    /// The entrypoint, replacing the image's (empty: none at all).
    pub entrypoint: Option<Vec<Text>>,
    /// The labels, in file order, each key once; none of Clockwork's own.
    pub labels: Ordered<Text>,
    /// `restart`, as DockerResource's `restart_policy`.
    pub restart: Option<String>,
}

/// A mount of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    /// As DockerResource writes it: `source:target[:ro]`.
    pub text: Text,
    /// Whether main.star holds it commented out, for the user to turn on:
    /// a host path outside the project grants the container access to
    /// this machine, which a Compose file (untrusted input) may not grant
    /// by itself.
    pub held: bool,
}

/// One environment variable.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: EnvValue,
    /// The env file it comes from, as written, if any.
    pub file: Option<String>,
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvValue {
    /// Written in the file (with interpolation).
    Text(Text),
    /// The project's `.env`, which Clockwork reads itself: `env("NAME")`.
    Dotenv,
    /// `KEY` alone: passed through from the environment of `up`.
    Passthrough,
    /// A secret of an env file: main.star reads it with
    /// `env(reference)`. The value is kept to compare it (is it the
    /// password a DatabaseConnection would put in its URL?), never to be
    /// written.
    Secret {
        /// The name main.star reads it under.
        reference: String,
        /// The value the env file gives.
        value: Text,
    },
}

/// A `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The service depended on.
    pub service: String,
    /// What Compose waits for.
    pub condition: Condition,
}

/// `depends_on`'s conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Started (the default).
    Started,
    /// Healthy.
    Healthy,
    /// Exited with 0.
    CompletedSuccessfully,
}

/// A health check with Docker's units: seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]` or `["NONE"]`.
    pub test: Vec<Text>,
    /// Seconds between checks.
    pub interval: Option<f64>,
    /// Seconds a check may take.
    pub timeout: Option<f64>,
    /// Failures before unhealthy.
    pub retries: Option<u64>,
    /// Seconds of grace after start.
    pub start_period: Option<f64>,
}

/// Service keys Clockwork cannot express, with what to do instead.
const UNTRANSLATED: &[(&str, &str)] = &[
    ("build", "Clockwork runs images: build it and set `image`"),
    (
        "deploy",
        "replicas, resources and placement are Swarm's; Clockwork runs one container per declaration",
    ),
    (
        "profiles",
        "Clockwork starts every declaration: delete this one to leave it out",
    ),
    (
        "extends",
        "copy what it takes from the base service into this declaration",
    ),
    (
        "secrets",
        "mount the secret's file instead: `\"./secret.txt:/run/secrets/NAME:ro\"` in `volumes`",
    ),
    (
        "configs",
        "mount the config's file instead: `\"./app.conf:/app.conf:ro\"` in `volumes`",
    ),
    (
        "label_file",
        "the file's labels are not read: copy them into `labels`",
    ),
    (
        "expose",
        "not needed: containers reach each other on every port over the project network",
    ),
    (
        "links",
        "not needed: declarations reach each other by name over the project network",
    ),
    (
        "external_links",
        "not needed: declarations reach each other by name over the project network",
    ),
    (
        "privileged",
        "Clockwork's policy refuses privileged containers",
    ),
    (
        "network_mode",
        "Clockwork's policy refuses host namespaces; containers join the project network",
    ),
    ("pid", "Clockwork's policy refuses host namespaces"),
    ("ipc", "Clockwork's policy refuses host namespaces"),
    ("userns_mode", "Clockwork's policy refuses host namespaces"),
    ("uts", "Clockwork's policy refuses host namespaces"),
    (
        "volumes_from",
        "give the volumes to this declaration itself in `volumes`",
    ),
    (
        "scale",
        "Clockwork runs one container per declaration: declare another to run two",
    ),
    (
        "stop_grace_period",
        "Clockwork gives every container `[limits] stop_grace_seconds` (10 s) to stop",
    ),
    (
        "logging",
        "the Engine's default log driver is used; `clockwork logs` reads it",
    ),
    (
        "user",
        "DockerResource has no `user`: the image's own user runs the command",
    ),
    (
        "working_dir",
        "DockerResource has no `working_dir`: the image's own is used",
    ),
    (
        "hostname",
        "DockerResource has no `hostname`: other containers reach it by its name",
    ),
    (
        "cap_add",
        "Clockwork runs containers with Docker's default capabilities",
    ),
    (
        "cap_drop",
        "Clockwork runs containers with Docker's default capabilities",
    ),
    (
        "devices",
        "Clockwork's policy gives containers no host devices",
    ),
    (
        "tmpfs",
        "DockerResource mounts host paths and named volumes only",
    ),
    (
        "extra_hosts",
        "DockerResource has no `extra_hosts`: declarations reach each other by name",
    ),
    (
        "init",
        "DockerResource has no `init`: the command runs as PID 1",
    ),
    (
        "tty",
        "containers run detached; `clockwork exec` and `clockwork shell` give a terminal",
    ),
    (
        "stdin_open",
        "containers run detached; `clockwork exec` and `clockwork shell` give a terminal",
    ),
    ("mem_limit", "DockerResource sets no resource limits"),
    ("cpus", "DockerResource sets no resource limits"),
];

/// Service keys Compose knows that DockerResource has no field for.
const OTHER_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "driver_opts",
    "gpus",
    "group_add",
    "isolation",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "provider",
    "read_only",
    "runtime",
    "security_opt",
    "shm_size",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "ulimits",
    "use_api_socket",
];

/// Service keys translated into DockerResource fields or connections.
const TRANSLATED: &[&str] = &[
    "image",
    "container_name",
    "ports",
    "environment",
    "env_file",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "command",
    "entrypoint",
    "labels",
    "restart",
    "pull_policy",
];

/// The prefix of Clockwork's own labels, which a declaration may not set.
const CLOCKWORK_LABELS: &str = crate::docker::labels::NAMESPACE;

const TOP_LEVEL: &[&str] = &[
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models",
];

/// A top-level network or volume: its Docker name and whether Compose
/// expects it to exist already.
#[derive(Debug, Clone)]
struct Declared {
    name: String,
}

/// What is wrong with the interpolation in `raw`, the value of `name`:
/// `message`, which quotes a piece of it, unless the value is a secret
/// (by its name, or a URL's password or secret parameter in it).
fn unquoted_if_secret(name: Option<&str>, raw: &str, message: String) -> String {
    let secret = name.is_some_and(crate::secret::is_secret_name)
        || !crate::secret::url_passwords(raw).is_empty()
        || !crate::secret::query_secrets(raw).is_empty();
    if secret {
        "its value, a secret (so not quoted here), is not valid Compose interpolation".into()
    } else {
        message
    }
}

/// Where each `<<` key of `text` is (a key at a line's start, perhaps after
/// a list's `- `).
fn merge_keys(text: &str) -> Vec<crate::import::locate::Spot> {
    let mut spots = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_start_matches([' ', '-']);
        if body.starts_with("<<") && body[2..].trim_start().starts_with(':') {
            let column = line.len() - body.len();
            spots.push(crate::import::locate::Spot {
                line: i + 1,
                column: column + 1,
                offset: offset + column,
                len: 2,
            });
        }
        offset += line.len();
    }
    spots
}

/// Whether a port chosen by variables starts with a loopback address
/// (`127.0.0.1:${PORT}:80`).
fn loopback_prefix(text: &Text) -> bool {
    let Some(crate::import::interp::Part::Lit(first)) = text.0.first() else {
        return false;
    };
    let address = match first.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(a, _)| a),
        None => first.split_once(':').map(|(a, _)| a),
    };
    address
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

/// A name as a key of an example: quoted when it looks secret, since
/// `password: {}` reads as `name: value` to the output's masking, which
/// would mask Clockwork's own example.
fn yaml_key(name: &str) -> String {
    if crate::secret::is_secret_name(name) {
        serde_json::to_string(name).unwrap_or_else(|_| name.to_string())
    } else {
        name.to_string()
    }
}

/// Whether Docker accepts `name` for a volume or network:
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn docker_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Reads the file, collecting every problem and every untranslated key.
pub fn read(input: &Input<'_>) -> Result<(Compose, Vec<Item>, Secrets), ImportError> {
    let mut value: Value = serde_yaml_ng::from_str(input.text).map_err(|e| {
        let spot = e.location().map(|l| crate::import::locate::Spot {
            line: l.line(),
            column: l.column(),
            offset: l.index(),
            len: 1,
        });
        let message = e.to_string();
        // The snippet shows where; the message keeps what and while doing
        // what (`, while scanning a quoted scalar at line 3 column 12`).
        let message = match message.find(" at line ") {
            Some(at) => {
                let context = message[at..].find(',').map_or("", |c| &message[at + c..]);
                format!("{}{context}", &message[..at])
            }
            None => message,
        };
        ImportError::Syntax(Box::new(Problem::new(
            input.file,
            input.text,
            spot,
            format!("{} is not YAML: {message}", input.file),
            Some("a Compose file is a YAML mapping with `services:` at the top".into()),
        )))
    })?;
    // `<<: *defaults` is how Compose files share settings between services.
    if let Err(e) = value.apply_merge() {
        // The parser does not say which merge failed: with one `<<` key it
        // is that one; with several, their lines are named.
        let merges = merge_keys(input.text);
        let (spot, lines) = match merges.as_slice() {
            [] => (None, String::new()),
            [only] => (Some(*only), String::new()),
            many => (
                None,
                format!(
                    " (one of the `<<` keys on lines {})",
                    many.iter()
                        .map(|s| s.line.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        return Err(ImportError::Syntax(Box::new(Problem::new(
            input.file,
            input.text,
            spot,
            // The file's name in backticks: one that looks secret
            // (`secrets.yml`) must not read as `name: value` to the
            // output's masking, as nothing before a colon may.
            format!(
                "`{}`: a `<<` merge cannot be applied{lines}: {e}",
                input.file
            ),
            Some("`<<` takes a mapping or a list of mappings, e.g. `<<: *defaults`".into()),
        ))));
    }
    let mut reader = Reader {
        input,
        locator: Locator::new(input.text),
        problems: Vec::new(),
        items: Vec::new(),
        project: input.folder_project(),
        hidden_problems: 0,
        env_bytes: 0,
        service_index: 0,
        secrets: Secrets::default(),
    };
    let compose = reader.file(&value);
    if reader.hidden_problems > 0 {
        let more = reader.hidden_problems;
        reader.problems.push(Problem::new(
            input.file,
            input.text,
            None,
            format!(
                "and {more} more problem(s) in {}, not shown: {MAX_PROBLEMS} are shown at most",
                input.file
            ),
            Some("fix those shown and import again".into()),
        ));
    }
    // In file order, whatever order the keys were checked in.
    reader
        .problems
        .sort_by_key(|p| p.spot.map_or(usize::MAX, |s| s.offset));
    if reader.problems.is_empty() {
        Ok((compose, reader.items, reader.secrets))
    } else {
        Err(ImportError::Invalid(reader.problems))
    }
}

struct Reader<'a, 'i> {
    input: &'a Input<'i>,
    /// Finds keys in the file's text.
    locator: Locator<'i>,
    problems: Vec<Problem>,
    /// Problems past [`MAX_PROBLEMS`], counted only.
    hidden_problems: usize,
    /// The bytes of env files read so far, each use counted.
    env_bytes: u64,
    /// The index the service being read will have.
    service_index: usize,
    /// The secrets of env files, by the name main.star reads them under.
    secrets: Secrets,
    items: Vec<Item>,
    /// The Compose project name: `name`, else the folder's.
    project: String,
}

/// A path from string keys.
fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_string())).collect()
}

fn with(base: &[Seg], more: Seg) -> Vec<Seg> {
    let mut p = base.to_vec();
    p.push(more);
    p
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// `services.web.ports[0]`, as messages name a key.
fn shown(p: &[Seg]) -> String {
    let mut out = String::new();
    for seg in p {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What a value is, for "expected …, found …".
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A scalar as Compose reads it into a string.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A name listed under a key, its place, and its options when the key is
/// a mapping.
type Named<'v> = (String, Vec<Seg>, Option<&'v Value>);

fn entries(m: &Mapping) -> impl Iterator<Item = (String, &Value)> {
    m.iter().map(|(k, v)| (scalar(k).unwrap_or_default(), v))
}

impl Reader<'_, '_> {
    /// Whether problems are no longer shown one by one (so that working
    /// out a suggestion for one is wasted).
    fn flooded(&self) -> bool {
        self.problems.len() >= MAX_PROBLEMS
    }

    fn problem(&mut self, at: &[Seg], message: String, help: Option<String>) {
        if self.flooded() {
            self.hidden_problems += 1;
            return;
        }
        let spot = self.locator.locate(at);
        self.problems.push(Problem::new(
            self.input.file,
            self.input.text,
            spot,
            message,
            help,
        ));
    }

    fn item(&mut self, service: Option<&str>, at: &[Seg], kind: ItemKind, reason: String) {
        // The key as the user knows it, below the service.
        let skip = if service.is_some() { 2 } else { 0 };
        let key = shown(&at[skip.min(at.len())..]);
        self.items.push(Item {
            service: service.map(str::to_string),
            key,
            line: self.locator.locate(at).map(|s| s.line),
            kind,
            reason,
        });
    }

    fn skip(&mut self, service: Option<&str>, at: &[Seg], reason: impl Into<String>) {
        self.item(service, at, ItemKind::NotTranslated, reason.into());
    }

    fn note(&mut self, service: Option<&str>, at: &[Seg], reason: impl Into<String>) {
        self.item(service, at, ItemKind::Note, reason.into());
    }

    /// Something main.star would grant the container on this machine.
    fn review(&mut self, service: Option<&str>, at: &[Seg], reason: impl Into<String>) {
        self.item(service, at, ItemKind::Review, reason.into());
    }

    fn expected(&mut self, at: &[Seg], what: &str, found: &Value, example: &str) {
        self.problem(
            at,
            format!("`{}` must be {what}; found {}", shown(at), kind(found)),
            Some(format!("for example `{example}`")),
        );
    }

    fn text(&mut self, at: &[Seg], raw: &str) -> Option<Text> {
        let name = match at.last() {
            Some(Seg::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        self.text_named(at, raw, name)
    }

    /// [`text`](Self::text) of the value of the variable `name` (which a
    /// list item's place does not say).
    fn text_named(&mut self, at: &[Seg], raw: &str, name: Option<&str>) -> Option<Text> {
        match Text::parse(raw) {
            Ok(t) => Some(t),
            Err(message) => {
                self.problem(
                    at,
                    format!("`{}`: {}", shown(at), unquoted_if_secret(name, raw, message)),
                    Some("Compose interpolation is `${NAME}`, `${NAME:-default}` or `${NAME:?message}`; `$$` is a literal `$`".into()),
                );
                None
            }
        }
    }

    fn file(&mut self, root: &Value) -> Compose {
        let Value::Mapping(top) = root else {
            self.problem(
                &[],
                format!(
                    "{} is not a Compose file: it is {}, not a mapping",
                    self.input.file,
                    kind(root)
                ),
                Some("a Compose file starts with `services:` and one key per service".into()),
            );
            return Compose::default();
        };
        for (k, _) in entries(top) {
            if k.starts_with("x-") || TOP_LEVEL.contains(&k.as_str()) {
                continue;
            }
            let help = match crate::suggest::nearest(&k, TOP_LEVEL.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "the top-level keys are `services`, `networks`, `volumes`, `secrets`, `configs`, `name`, `version`, and `x-…` for extensions".into(),
            };
            self.problem(
                &path(&[&k]),
                format!("`{k}` is not a top-level key of a Compose file"),
                Some(help),
            );
        }
        if let Some(name) = top.get("name") {
            if let Some(n) = scalar(name) {
                self.project = n;
            }
            self.note(
                None,
                &path(&["name"]),
                format!(
                    "the project name (`{}`) is not translated: Clockwork names the project after its folder and each container after its declaration",
                    scalar(name).unwrap_or_default()
                ),
            );
        }
        for key in ["include", "secrets", "configs", "models"] {
            if let Some(v) = top.get(key) {
                let names: Vec<String> = v
                    .as_mapping()
                    .map(|m| entries(m).map(|(k, _)| format!("`{k}`")).collect())
                    .unwrap_or_default();
                let what = if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                };
                let reason = match key {
                    "include" => {
                        "the included files are not read: import each and merge the declarations"
                            .to_string()
                    }
                    // `secrets` in backticks: bare, before a colon, the
                    // output's masking takes it for `name: value`.
                    "secrets" => format!(
                        "Clockwork has no `secrets`{what}: mount each file read-only where the services read it"
                    ),
                    "configs" => format!(
                        "Clockwork has no `configs`{what}: mount each file read-only where the services read it"
                    ),
                    _ => "Clockwork runs no models".to_string(),
                };
                self.skip(None, &path(&[key]), reason);
            }
        }
        let networks = self.declared(top, "networks");
        let volumes = self.declared(top, "volumes");
        let services = match top.get("services") {
            Some(Value::Mapping(m)) => m,
            Some(other) => {
                self.expected(
                    &path(&["services"]),
                    "a mapping of service names to services",
                    other,
                    "services: {web: {image: nginx:alpine}}",
                );
                return Compose::default();
            }
            None => {
                self.problem(
                    &[],
                    format!(
                        "{} is not a Compose file: it has no `services`",
                        self.input.file
                    ),
                    Some(
                        "a Compose file has `services:` at the top, with one key per service"
                            .into(),
                    ),
                );
                return Compose::default();
            }
        };
        let mut names: Ordered<()> = Ordered::default();
        for (k, _) in entries(services) {
            names.set(k, ());
        }
        let mut compose = Compose::default();
        for (name, body) in entries(services) {
            let at = path(&["services", &name]);
            let Value::Mapping(body) = body else {
                self.expected(
                    &at,
                    "a mapping of settings",
                    body,
                    "web: {image: nginx:alpine}",
                );
                continue;
            };
            if body.contains_key("networks") {
                compose.uses_networks = true;
            }
            self.service_index = compose.services.len();
            let service = self.service(&name, body, &names, &networks, &volumes);
            compose.services.push(service);
        }
        compose
    }

    /// Top-level `networks` or `volumes`: each key's Docker name, with
    /// what DockerResource cannot set noted.
    fn declared(&mut self, top: &Mapping, section: &str) -> Ordered<Declared> {
        let mut out = Ordered::default();
        let Some(v) = top.get(section) else {
            return out;
        };
        let Value::Mapping(m) = v else {
            if !v.is_null() {
                self.expected(
                    &path(&[section]),
                    "a mapping of names",
                    v,
                    &format!("{section}: {{data: {{}}}}"),
                );
            }
            return out;
        };
        let what = if section == "networks" {
            "network"
        } else {
            "volume"
        };
        for (k, body) in entries(m) {
            let at = path(&[section, &k]);
            let mut declared = Declared { name: k.clone() };
            match body {
                Value::Null => {}
                Value::Mapping(opts) => {
                    for (opt, value) in entries(opts) {
                        let at = with(&at, key(&opt));
                        match (opt.as_str(), value) {
                            ("name", v) => match scalar(v) {
                                Some(n) => declared.name = n,
                                None => self.expected(&at, "a string", v, "name: app-data"),
                            },
                            ("external", Value::Bool(external)) => {
                                if *external {
                                    self.note(None, &with(&path(&[section]), key(&k)), format!(
                                        "an external {what}: Clockwork uses only {what}s it made itself, so `apply` refuses one made by anyone else; let Clockwork make it (drop `external`)"
                                    ));
                                }
                            }
                            ("external", Value::Mapping(ext)) => {
                                if let Some(n) = ext.get("name").and_then(scalar) {
                                    declared.name = n;
                                }
                                self.note(None, &with(&path(&[section]), key(&k)), format!(
                                    "an external {what}: Clockwork uses only {what}s it made itself, so `apply` refuses one made by anyone else"
                                ));
                            }
                            ("driver", v) if matches!(scalar(v).as_deref(), Some("bridge" | "local")) => {}
                            (opt, _) => self.skip(None, &at, format!(
                                "DockerResource makes the {what} with Docker's defaults{}",
                                if what == "network" && matches!(opt, "internal" | "ipam" | "driver" | "enable_ipv6") {
                                    "; a NetworkConnection between two of its members can declare `internal`, `subnet`, `gateway`, `driver` and `enable_ipv6`"
                                } else {
                                    ""
                                }
                            )),
                        }
                    }
                }
                other => self.expected(
                    &at,
                    "a mapping of options or nothing",
                    other,
                    &format!("{}: {{}}", yaml_key(&k)),
                ),
            }
            if !docker_name(&declared.name) {
                // A volume "named" `/etc` would be written as the mount
                // `/etc:/data`: a bind mount of the machine's files.
                self.problem(
                    &at,
                    format!(
                        "`{}` is not a {what} name Docker accepts (letters, digits, `_`, `.` and `-`, starting with a letter or digit){}",
                        declared.name,
                        if declared.name.contains('/') {
                            ": with a `/`, it would be a path on this machine here"
                        } else {
                            ""
                        }
                    ),
                    Some(format!(
                        "name the {what} e.g. `data`; to mount a folder, write its path as a service's volume source"
                    )),
                );
            }
            out.set(k, declared);
        }
        out
    }

    fn service(
        &mut self,
        name: &str,
        body: &Mapping,
        names: &Ordered<()>,
        networks: &Ordered<Declared>,
        volumes: &Ordered<Declared>,
    ) -> Service {
        let base = path(&["services", name]);
        let mut s = Service {
            key: name.to_string(),
            name: name.to_string(),
            ..Service::default()
        };
        let known: Vec<&str> = TRANSLATED
            .iter()
            .chain(OTHER_KEYS)
            .copied()
            .chain(UNTRANSLATED.iter().map(|(k, _)| *k))
            .collect();
        for (k, value) in entries(body) {
            let at = with(&base, key(&k));
            if k.starts_with("x-") {
                continue;
            }
            if let Some((_, reason)) = UNTRANSLATED.iter().find(|(u, _)| *u == k) {
                let reason = if k == "build" {
                    build_reason(value, body.get("image").and_then(scalar))
                } else {
                    (*reason).to_string()
                };
                self.skip(Some(name), &at, reason);
                continue;
            }
            if OTHER_KEYS.contains(&k.as_str()) {
                self.skip(Some(name), &at, "DockerResource has no such setting");
                continue;
            }
            if !TRANSLATED.contains(&k.as_str()) {
                let help = match crate::suggest::nearest(&k, known.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "see the Compose specification for the keys of a service; `x-…` keys are extensions".into(),
                };
                self.problem(
                    &at,
                    format!("`{k}` is not a key of a Compose service (in `{name}`)"),
                    Some(help),
                );
                continue;
            }
            match k.as_str() {
                "image" => match scalar(value) {
                    Some(raw) => s.image = self.text(&at, &raw),
                    None => self.expected(&at, "a string", value, "image: nginx:alpine"),
                },
                "container_name" => match scalar(value) {
                    Some(n) => {
                        if n != name {
                            s.aliases.push(name.to_string());
                        }
                        s.name = n;
                    }
                    None => self.expected(&at, "a string", value, "container_name: web"),
                },
                "ports" => self.ports(name, &at, value, &mut s),
                "environment" => {}
                "env_file" => {}
                "volumes" => self.volumes(name, &at, value, volumes, &mut s),
                "networks" => self.networks(name, &at, value, networks, &mut s),
                "depends_on" => self.depends_on(name, &at, value, names, &mut s),
                "healthcheck" => s.healthcheck = self.healthcheck(name, &at, value),
                "command" => s.command = self.command(&at, value, "command: [\"npm\", \"start\"]"),
                "entrypoint" => {
                    s.entrypoint = self.command(&at, value, "entrypoint: [\"/entrypoint.sh\"]");
                }
                "labels" => self.labels(name, &at, value, &mut s),
                "restart" => s.restart = self.restart(name, &at, value),
                // `missing` is what Clockwork does anyway.
                "pull_policy"
                    if !matches!(scalar(value).as_deref(), Some("missing" | "if_not_present")) =>
                {
                    self.skip(
                        Some(name),
                        &at,
                        "Clockwork pulls an image only when it is missing locally",
                    );
                }
                _ => {}
            }
        }
        // `env_file` first: `environment` wins over it, whatever the order.
        if let Some(v) = body.get("env_file") {
            self.env_files(&with(&base, key("env_file")), v, &mut s);
        }
        if let Some(v) = body.get("environment") {
            self.environment(name, &with(&base, key("environment")), v, &mut s);
        }
        if s.image.is_none() && !body.contains_key("build") {
            let help = if body.contains_key("extends") {
                "its `extends` is not translated: copy the base service's `image` into it"
                    .to_string()
            } else {
                "give the image it runs, e.g. `image: nginx:alpine`".to_string()
            };
            self.problem(
                &base,
                format!("service `{name}` has neither `image` nor `build`"),
                Some(help),
            );
        }
        if s.image.is_none()
            && let Some(build) = body.get("build")
        {
            // What Compose tags an image it builds for the service (v2).
            let project = self.project.clone();
            s.image = Some(Text::literal(format!("{project}-{name}")));
            let context = match build {
                Value::Mapping(m) => m
                    .get("context")
                    .and_then(scalar)
                    .unwrap_or_else(|| ".".into()),
                other => scalar(other).unwrap_or_else(|| ".".into()),
            };
            self.note(Some(name), &with(&base, key("build")), format!(
                "`image` is set to `{project}-{name}`, the tag Compose gives the image it builds: build it first (`docker build -t {project}-{name} {context}`)"
            ));
        }
        s
    }

    fn ports(&mut self, service: &str, at: &[Seg], value: &Value, s: &mut Service) {
        let Value::Sequence(items) = value else {
            self.expected(at, "a list", value, "ports: [\"8080:80\"]");
            return;
        };
        // Published on every address: said once, at `ports`.
        let mut open: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = with(at, Seg::Index(i));
            let raw = match item {
                Value::Mapping(m) => {
                    let field = |k: &str| m.get(k).and_then(scalar);
                    let Some(target) = field("target") else {
                        self.problem(
                            &at,
                            format!("`{}` needs `target`, the container's port", shown(&at)),
                            Some("for example `{target: 80, published: \"8080\"}`".into()),
                        );
                        continue;
                    };
                    for (k, _) in entries(m) {
                        if !matches!(
                            k.as_str(),
                            "target"
                                | "published"
                                | "host_ip"
                                | "protocol"
                                | "mode"
                                | "name"
                                | "app_protocol"
                        ) {
                            self.problem(&with(&at, key(&k)), format!("`{k}` is not a key of a port"), Some("a port has `target`, `published`, `host_ip`, `protocol`, `mode`, `name` and `app_protocol`".into()));
                        }
                    }
                    if field("mode").is_some_and(|m| m != "ingress" && m != "host") {
                        self.skip(
                            Some(service),
                            &with(&at, key("mode")),
                            "Docker Engine's modes are `host` and `ingress`",
                        );
                    }
                    let mut text = String::new();
                    if let Some(ip) = field("host_ip") {
                        text.push_str(&ip);
                        text.push(':');
                    }
                    if let Some(published) = field("published") {
                        text.push_str(&published);
                        text.push(':');
                    } else if !text.is_empty() {
                        text.push(':');
                    }
                    text.push_str(&target);
                    if let Some(protocol) = field("protocol").filter(|p| p != "tcp") {
                        text.push('/');
                        text.push_str(&protocol);
                    }
                    text
                }
                other => match scalar(other) {
                    Some(text) => text,
                    None => {
                        self.expected(&at, "a string or a mapping", other, "\"8080:80\"");
                        continue;
                    }
                },
            };
            let Some(text) = self.text(&at, &raw) else {
                continue;
            };
            if text.has_vars() {
                if !loopback_prefix(&text) {
                    open.push(raw.clone());
                }
                s.ports.push(text);
                continue;
            }
            match expand_ports(&raw) {
                Ok(all) => {
                    let local = all.first().is_some_and(|p| {
                        clockwork_schema::parse_port(p)
                            .is_ok_and(|m| m.host_ip.is_some_and(|ip| ip.is_loopback()))
                    });
                    if !local {
                        open.push(raw.clone());
                    }
                    s.ports.extend(all.into_iter().map(Text::literal));
                }
                Err(reason) => self.skip(Some(service), &at, reason),
            }
        }
        self.review_ports(service, at, &open);
    }

    /// Ports published on every address of this machine.
    fn review_ports(&mut self, service: &str, at: &[Seg], open: &[String]) {
        let listed: Vec<String> = open.iter().map(|p| format!("`{p}`")).collect();
        let (listed, verb) = match listed.as_slice() {
            [] => return,
            [one] => (one.clone(), "is"),
            [rest @ .., last] => (format!("{} and {last}", rest.join(", ")), "are"),
        };
        self.review(Some(service), at, format!(
            "{listed} {verb} published on every network address of this machine, so other machines can reach {} (as under Compose); give the host address `127.0.0.1` to keep a port to this machine, e.g. `127.0.0.1:8080:80`",
            if open.len() == 1 { "it" } else { "them" }
        ));
    }

    fn environment(&mut self, service: &str, at: &[Seg], value: &Value, s: &mut Service) {
        let mut set = |reader: &mut Self, k: String, v: EnvValue, at: &[Seg]| {
            if !clockwork_schema::valid_env_name(&k) {
                reader.skip(Some(service), at, format!(
                    "`{k}` is not a name Clockwork accepts for a variable (letters, digits and `_`, not starting with a digit)"
                ));
                return;
            }
            s.env.put(EnvVar {
                name: k,
                value: v,
                file: None,
            });
        };
        match value {
            Value::Mapping(m) => {
                for (k, v) in entries(m) {
                    let at = with(at, key(&k));
                    let value = match v {
                        Value::Null => EnvValue::Passthrough,
                        other => match scalar(other) {
                            Some(raw) => match self.text(&at, &raw) {
                                Some(t) => EnvValue::Text(t),
                                None => continue,
                            },
                            None => {
                                self.expected(
                                    &at,
                                    "a string, a number or nothing",
                                    other,
                                    "LOG_LEVEL: info",
                                );
                                continue;
                            }
                        },
                    };
                    set(self, k, value, &at);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = with(at, Seg::Index(i));
                    let Some(line) = scalar(item) else {
                        self.expected(&at, "a string `NAME=value`", item, "- LOG_LEVEL=info");
                        continue;
                    };
                    let (k, value) = match line.split_once('=') {
                        Some((k, raw)) => match self.text_named(&at, raw, Some(k)) {
                            Some(t) => (k.to_string(), EnvValue::Text(t)),
                            None => continue,
                        },
                        None => (line.clone(), EnvValue::Passthrough),
                    };
                    set(self, k, value, &at);
                }
            }
            other => self.expected(
                at,
                "a mapping or a list",
                other,
                "environment: {LOG_LEVEL: info}",
            ),
        }
    }

    fn env_files(&mut self, at: &[Seg], value: &Value, s: &mut Service) {
        let items: Vec<(Vec<Seg>, &Value)> = match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (with(at, Seg::Index(i)), v))
                .collect(),
            other => vec![(at.to_vec(), other)],
        };
        // What the env files set above a line (this file's lines above it,
        // and the files before), which its `${…}` reads first; and whether
        // it is a secret (a value built from one is one too).
        let mut set_above: HashMap<String, (Text, bool)> = HashMap::new();
        for (at, item) in items {
            let (file, required) = match item {
                Value::Mapping(m) => (
                    m.get("path").and_then(scalar),
                    !matches!(m.get("required"), Some(Value::Bool(false))),
                ),
                other => (scalar(other), true),
            };
            let Some(file) = file else {
                self.expected(&at, "a path", item, "env_file: ./app.env");
                continue;
            };
            if self.env_bytes > ENV_FILES_BUDGET {
                // Said once, at the entry that went past it.
                continue;
            }
            let text = match self.input.env_files.read(&file) {
                Ok(text) => text,
                Err(ReadError::NotFound(_)) if !required => continue,
                Err(e) => {
                    self.env_file_refused(&s.key, &at, &file, &e);
                    continue;
                }
            };
            self.env_bytes += text.len() as u64;
            if self.env_bytes > ENV_FILES_BUDGET {
                self.problem(
                    &at,
                    format!(
                        "the env files of the services add up to more than {} (each file counted at each service that names it), the most `clockwork import` reads",
                        crate::import::read::size(ENV_FILES_BUDGET)
                    ),
                    Some("name fewer or smaller env files; Clockwork's own `.env` is read by `env()` at plan time, not copied".into()),
                );
                continue;
            }
            // Clockwork reads the project's `.env` itself: its values stay
            // there, out of main.star, as they were out of the Compose file.
            let full = normalise(&self.input.compose_dir.join(&file));
            let dotenv = full == normalise(&self.input.project_dir.join(".env"));
            // A file that is no env file (a key, a certificate) is neither
            // copied nor quoted: one of its lines would be a variable's
            // name in main.star, and every line a line of output.
            if let Some(line) = not_an_env_file(&text) {
                self.problem(
                    &at,
                    format!(
                        "`{file}` is not an env file: its line {line} is neither `NAME=value` nor a variable's name (its text is not shown)"
                    ),
                    Some("name an env file here: lines of `NAME=value`, `# comments` and blank lines".into()),
                );
                continue;
            }
            let mut secret_names: Vec<String> = Vec::new();
            let mut seen_secret: HashSet<String> = HashSet::new();
            for (k, v) in crate::project::dotenv::parse(&text) {
                let mut tainted = false;
                let text = match &v {
                    DotenvValue::Passthrough => None,
                    DotenvValue::Literal(l) => Some(Text::literal(l.clone())),
                    DotenvValue::Interpolated(raw) => match Text::parse(raw) {
                        Ok(t) => {
                            let mut names = Vec::new();
                            t.var_names(&mut names);
                            tainted = names
                                .iter()
                                .any(|n| set_above.get(n).is_some_and(|(_, secret)| *secret));
                            Some(t.with_known(&|name: &str| {
                                set_above.get(name).map(|(t, _)| t.clone())
                            }))
                        }
                        Err(message) => {
                            self.problem(
                                &at,
                                format!(
                                    "`{k}` of the env file `{file}`: {}",
                                    unquoted_if_secret(Some(&k), raw, message)
                                ),
                                Some("Compose interpolates unquoted and double-quoted values of an env file; put the value in single quotes to take it as it is".into()),
                            );
                            continue;
                        }
                    },
                };
                let secret = text
                    .as_ref()
                    .is_some_and(|t| tainted || holds_secret(&k, t));
                if let Some(t) = &text {
                    set_above.insert(k.clone(), (t.clone(), secret));
                    if dotenv && let Some(literal) = t.as_literal() {
                        self.secrets.in_dotenv(&k, literal);
                    }
                }
                if !clockwork_schema::valid_env_name(&k) {
                    self.skip(
                        Some(&s.key),
                        &at,
                        format!("`{k}` of `{file}` is not a name Clockwork accepts for a variable"),
                    );
                    continue;
                }
                let value = match text {
                    None => EnvValue::Passthrough,
                    Some(_) if dotenv => EnvValue::Dotenv,
                    Some(t) if secret => {
                        if seen_secret.insert(k.clone()) {
                            secret_names.push(k.clone());
                        }
                        EnvValue::Secret {
                            reference: k.clone(),
                            value: t,
                        }
                    }
                    Some(t) => EnvValue::Text(t),
                };
                s.env.put(EnvVar {
                    name: k,
                    value,
                    file: Some(file.clone()),
                });
            }
            if !secret_names.is_empty() {
                // The names main.star reads them under are known once every
                // service is read: the reason is written then.
                let item = self.items.len();
                self.note(Some(&s.key), &at, String::new());
                self.secrets
                    .note_at(item, self.service_index, &file, secret_names);
            }
        }
    }

    /// An env file that was not read: why, located at its entry, without a
    /// word of its content.
    fn env_file_refused(&mut self, service: &str, at: &[Seg], file: &str, e: &ReadError) {
        let flag = if self.input.compose_dir == self.input.project_dir {
            file.to_string()
        } else {
            normalise(&self.input.compose_dir.join(file))
                .display()
                .to_string()
        };
        let allow = format!(
            "`clockwork import {} --allow-env-file {flag}`",
            self.input.file
        );
        let (message, help) = match e {
            ReadError::Outside => (
                format!(
                    "the env file `{file}` of `{service}` is outside the Compose file's folder: Clockwork reads env files only from that folder, since a Compose file could otherwise copy any file it names into main.star"
                ),
                format!(
                    "move the file beside the Compose file, or, if you trust this one file, allow it by name: {allow}"
                ),
            ),
            ReadError::LinkOutside { link } => (
                format!(
                    "the env file `{file}` of `{service}` goes through the symbolic link `{link}`, which points out of the Compose file's folder: Clockwork reads env files only from that folder"
                ),
                format!(
                    "copy the file into the folder instead of linking to it, or, if you trust the file it leads to, allow it by name: {allow}"
                ),
            ),
            ReadError::NotAFile { what } => (
                format!("the env file `{file}` of `{service}` is {what}, not a regular file"),
                "an env file is a text file of `NAME=value` lines".to_string(),
            ),
            ReadError::TooLarge { limit, of } => (
                format!(
                    "the env file `{file}` of `{service}` is larger than {}, the most Clockwork reads of {of}",
                    crate::import::read::size(*limit)
                ),
                "an env file is a text file of `NAME=value` lines; split it, or name the right file"
                    .to_string(),
            ),
            ReadError::NotText => (
                format!("the env file `{file}` of `{service}` is not UTF-8 text"),
                "an env file is a text file of `NAME=value` lines".to_string(),
            ),
            ReadError::NotFound(e) | ReadError::Io(e) => (
                format!(
                    "cannot read the env file `{file}` ({}): {e}",
                    normalise(&self.input.compose_dir.join(file)).display()
                ),
                "Compose reads it relative to the Compose file's folder; create it or remove the entry"
                    .to_string(),
            ),
        };
        self.problem(at, message, Some(help));
    }

    fn volumes(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        declared: &Ordered<Declared>,
        s: &mut Service,
    ) {
        let Value::Sequence(items) = value else {
            self.expected(at, "a list", value, "volumes: [\"./data:/data\"]");
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let at = with(at, Seg::Index(i));
            let (source, target, mut read_only, options) = match item {
                Value::String(raw) => {
                    let Some(text) = self.text(&at, raw) else {
                        continue;
                    };
                    if text.has_vars() {
                        // A path or volume chosen by a variable stays as written.
                        self.mount_by_variable(service, &at, text, s);
                        continue;
                    }
                    let parts: Vec<&str> = raw.split(':').collect();
                    match parts.as_slice() {
                        [target] => (None, target.to_string(), false, Vec::new()),
                        [source, target] => (
                            Some(source.to_string()),
                            target.to_string(),
                            false,
                            Vec::new(),
                        ),
                        [source, target, mode] => {
                            let modes: Vec<String> = mode.split(',').map(str::to_string).collect();
                            (
                                Some(source.to_string()),
                                target.to_string(),
                                modes.iter().any(|m| m == "ro"),
                                modes,
                            )
                        }
                        _ => {
                            self.problem(&at, format!("`{raw}` is not a volume: expected `source:target` or `source:target:mode`"), Some("for example `./data:/data:ro` or `pgdata:/var/lib/postgresql/data`".into()));
                            continue;
                        }
                    }
                }
                Value::Mapping(m) => {
                    let field = |k: &str| m.get(k).and_then(scalar);
                    let Some(target) = field("target") else {
                        self.problem(
                            &at,
                            format!("`{}` needs `target`, the path in the container", shown(&at)),
                            Some(
                                "for example `{type: bind, source: ./data, target: /data}`".into(),
                            ),
                        );
                        continue;
                    };
                    let kind = field("type").unwrap_or_else(|| "volume".into());
                    if kind != "bind" && kind != "volume" {
                        self.skip(Some(service), &at, format!("a `{kind}` mount: DockerResource mounts host paths and named volumes"));
                        continue;
                    }
                    for (k, v) in entries(m) {
                        match k.as_str() {
                            "type" | "source" | "target" | "read_only" => {}
                            "bind"
                                if v.get("create_host_path").is_some()
                                    && v.as_mapping().is_some_and(|b| b.len() == 1) => {}
                            _ => self.skip(
                                Some(service),
                                &with(&at, key(&k)),
                                "DockerResource mounts have no such option",
                            ),
                        }
                    }
                    let mut source = field("source");
                    if kind == "bind" && source.is_none() {
                        self.problem(
                            &at,
                            format!("`{}` is a bind mount without `source`", shown(&at)),
                            Some("give the host path, e.g. `source: ./data`".into()),
                        );
                        continue;
                    }
                    if kind == "volume" && source.as_deref() == Some("") {
                        source = None;
                    }
                    // A source chosen by a variable stays as written, as in
                    // the short form.
                    if let Some(raw) = source.clone().filter(|s| s.contains('$')) {
                        let Some(mut text) = self.text(&with(&at, key("source")), &raw) else {
                            continue;
                        };
                        if text.has_vars() {
                            let read_only = matches!(m.get("read_only"), Some(Value::Bool(true)));
                            text.push_str(&format!(
                                ":{target}{}",
                                if read_only { ":ro" } else { "" }
                            ));
                            self.mount_by_variable(service, &at, text, s);
                            continue;
                        }
                        source = text.as_literal();
                    }
                    // The type says which a source is, not its spelling
                    // (below, for the short form): a bind's `data` is the
                    // folder `./data` beside the Compose file.
                    match source.as_deref() {
                        Some(src) if kind == "bind" && !src.starts_with(['.', '/', '~']) => {
                            source = Some(format!("./{src}"));
                        }
                        Some(src) if kind == "volume" && src.starts_with(['.', '/', '~']) => {
                            self.problem(
                                &with(&at, key("source")),
                                format!("`{src}` is a path, but the mount's `type` is `volume`"),
                                Some("write `type: bind` to mount the folder, or give a volume's name as `source`".into()),
                            );
                            continue;
                        }
                        _ => {}
                    }
                    let read_only = matches!(m.get("read_only"), Some(Value::Bool(true)));
                    (source, target, read_only, Vec::new())
                }
                other => {
                    self.expected(&at, "a string or a mapping", other, "./data:/data");
                    continue;
                }
            };
            for option in options
                .iter()
                .filter(|o| !matches!(o.as_str(), "ro" | "rw"))
            {
                self.skip(
                    Some(service),
                    &at,
                    format!(
                        "the mount option `{option}`: DockerResource mounts are read-write or `ro`"
                    ),
                );
            }
            if !target.starts_with('/') {
                self.problem(
                    &at,
                    format!("`{target}` is not a path in the container: it must be absolute"),
                    Some("for example `/data`".into()),
                );
                continue;
            }
            let mut held = false;
            let source = match source {
                None => {
                    // Compose makes an anonymous volume; Clockwork's volumes have names.
                    let named = format!("{}{}", s.key, target.replace('/', "-"))
                        .trim_end_matches('-')
                        .to_string();
                    self.note(Some(service), &at, format!(
                        "an anonymous volume: it is the named volume `{named}` here, kept until `clockwork destroy`"
                    ));
                    named
                }
                Some(src) if src.starts_with('~') => {
                    self.skip(
                        Some(service),
                        &at,
                        "Clockwork does not expand `~`: write the absolute path",
                    );
                    continue;
                }
                Some(src) if src.starts_with('.') || src.starts_with('/') => {
                    match self.input.bind_source(&src) {
                        Ok(p) => p,
                        Err(p) => {
                            held = true;
                            let access = if read_only || options.iter().any(|o| o == "ro") {
                                "read access to"
                            } else {
                                "read and write access to"
                            };
                            // The Docker socket is the Engine itself.
                            let socket = if p.ends_with("docker.sock") {
                                " (the Docker socket: control of the Docker Engine, as good as root on this machine)"
                            } else {
                                ""
                            };
                            self.review(Some(service), &at, format!(
                                "`{src}` is outside the project folder: mounting it gives the container {access} `{p}` on this machine{socket}, which the Compose file cannot grant by itself; main.star has the mount commented out: uncomment it if you trust it"
                            ));
                            p
                        }
                    }
                }
                Some(volume) => {
                    let Some(d) = declared.get(&volume) else {
                        let near = if self.flooded() {
                            None
                        } else {
                            crate::suggest::nearest(&volume, declared.iter().map(|(k, _)| k))
                        };
                        let help = match near {
                            Some(near) => format!(
                                "did you mean `{near}`? Or declare it under the top-level `volumes:`, or write `./{volume}` for a folder"
                            ),
                            None => format!(
                                "declare it under the top-level `volumes:` (`volumes: {{{}: {{}}}}`), or write `./{volume}` for a folder",
                                yaml_key(&volume)
                            ),
                        };
                        self.problem(&at, format!("the named volume `{volume}` of `{service}` is not declared under the top-level `volumes`"), Some(help));
                        continue;
                    };
                    d.name.clone()
                }
            };
            if !read_only && options.iter().any(|o| o == "ro") {
                read_only = true;
            }
            let mut text = format!("{source}:{target}");
            if read_only {
                text.push_str(":ro");
            }
            s.volumes.push(Mount {
                text: Text::literal(text),
                held,
            });
        }
    }

    /// A mount whose source a variable chooses: as written, unless the
    /// source can be a path outside the project (its default is one, or
    /// nothing says which folder it is), which main.star holds for the
    /// user to turn on.
    fn mount_by_variable(&mut self, service: &str, at: &[Seg], text: Text, s: &mut Service) {
        let resolved = text.resolved();
        let source = resolved.split(':').next().unwrap_or_default();
        let inside = source.starts_with('.') && self.input.bind_source(source).is_ok();
        // A named volume (with a default name) is not a host path.
        let named = !source.is_empty() && !source.starts_with(['.', '/', '~']);
        let held = !inside && !named;
        if held {
            // What says which folder: the variable it starts with (its
            // default is not the folder then: `${HOME}/.ssh`), or its default.
            let chosen = match text.0.first() {
                Some(crate::import::interp::Part::Var(v))
                    if !matches!(v.fallback, crate::import::interp::Fallback::Default(_)) =>
                {
                    format!(
                        "it starts with `${{{}}}`, which can be any folder of this machine",
                        v.name
                    )
                }
                _ if source.is_empty() => "no default says which folder".to_string(),
                _ => format!("by default `{source}`, outside the project"),
            };
            self.review(Some(service), at, format!(
                "the mount's source is chosen by a variable ({chosen}): that gives the container access to this machine, which the Compose file cannot grant by itself; main.star has the mount commented out: uncomment it if you trust it"
            ));
        } else if self.input.compose_dir != self.input.project_dir {
            self.note(Some(service), at, "a relative path in it is taken relative to the project folder, not to the Compose file's");
        }
        s.volumes.push(Mount { text, held });
    }

    /// The names of a key written as a list (`[a, b]`) or as a mapping
    /// whose keys are the names and whose values are options: each with
    /// its place and its options.
    fn names_listed<'v>(
        &mut self,
        at: &[Seg],
        value: &'v Value,
        example: &str,
    ) -> Option<Vec<Named<'v>>> {
        match value {
            Value::Sequence(items) => {
                let mut names = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    let place = with(at, Seg::Index(i));
                    match scalar(v) {
                        Some(name) => names.push((name, place, None)),
                        // `[{db: {condition: …}}]` mixes the two forms.
                        None => self.expected(&place, "a name", v, example),
                    }
                }
                Some(names)
            }
            Value::Mapping(m) => Some(
                entries(m)
                    .map(|(k, v)| (k.clone(), with(at, key(&k)), Some(v)))
                    .collect(),
            ),
            other => {
                self.expected(at, "a list or a mapping", other, example);
                None
            }
        }
    }

    fn networks(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        declared: &Ordered<Declared>,
        s: &mut Service,
    ) {
        let Some(listed) = self.names_listed(at, value, "networks: [backend]") else {
            return;
        };
        let mut joined: HashSet<String> = s.networks.iter().cloned().collect();
        let mut aliased: HashSet<String> = s.aliases.iter().cloned().collect();
        for (network, at, options) in listed {
            let docker_name = match declared.get(&network) {
                Some(d) => Some(d.name.clone()),
                None if network == "default" => None,
                None => {
                    let near = if self.flooded() {
                        None
                    } else {
                        crate::suggest::nearest(&network, declared.iter().map(|(k, _)| k))
                    };
                    let help = match near {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!(
                            "declare it under the top-level `networks:` (`networks: {{{}: {{}}}}`)",
                            yaml_key(&network)
                        ),
                    };
                    self.problem(&at, format!("the network `{network}` of `{service}` is not declared under the top-level `networks`"), Some(help));
                    continue;
                }
            };
            // Compose's `default` is the project's own network, which
            // every Clockwork container joins.
            let docker_name = match docker_name {
                Some(n) if network == "default" => {
                    self.note(
                        Some(service),
                        &at,
                        format!(
                            "the `default` network named `{n}` is Clockwork's project network here"
                        ),
                    );
                    None
                }
                other => other,
            };
            if let Some(n) = docker_name
                && joined.insert(n.clone())
            {
                s.networks.push(n);
            }
            match options {
                Some(Value::Mapping(opts)) => {
                    for (k, v) in entries(opts) {
                        let at = with(&at, key(&k));
                        match (k.as_str(), v) {
                            ("aliases", Value::Sequence(aliases)) => {
                                for a in aliases.iter().filter_map(scalar) {
                                    if aliased.insert(a.clone()) {
                                        s.aliases.push(a);
                                    }
                                }
                            }
                            _ => self.skip(
                                Some(service),
                                &at,
                                "DockerResource joins networks by name only",
                            ),
                        }
                    }
                }
                Some(Value::Null) | None => {}
                Some(other) => self.expected(
                    &at,
                    "a mapping or nothing",
                    other,
                    "backend: {aliases: [db]}",
                ),
            }
        }
    }

    fn depends_on(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        names: &Ordered<()>,
        s: &mut Service,
    ) {
        let Some(listed) = self.names_listed(at, value, "depends_on: [db]") else {
            return;
        };
        for (target, at, options) in listed {
            if names.get(&target).is_none() {
                let near = if self.flooded() {
                    None
                } else {
                    crate::suggest::nearest(&target, names.iter().map(|(k, _)| k))
                };
                let help = match near {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => {
                        const SHOWN: usize = 20;
                        let mut listed: Vec<String> = names
                            .iter()
                            .take(SHOWN)
                            .map(|(n, _)| format!("`{n}`"))
                            .collect();
                        let count = names.len();
                        if count > SHOWN {
                            listed.push(format!("and {} more", count - SHOWN));
                        }
                        format!("the services are {}", listed.join(", "))
                    }
                };
                self.problem(
                    &at,
                    format!(
                        "`{service}` depends on `{target}`, which is not a service of the file"
                    ),
                    Some(help),
                );
                continue;
            }
            if target == service {
                self.problem(
                    &at,
                    format!("`{service}` depends on itself"),
                    Some("remove the entry".into()),
                );
                continue;
            }
            let mut condition = Condition::Started;
            if let Some(Value::Mapping(opts)) = options {
                for (k, v) in entries(opts) {
                    let at = with(&at, key(&k));
                    match (k.as_str(), scalar(v).as_deref()) {
                        ("condition", Some("service_started")) => condition = Condition::Started,
                        ("condition", Some("service_healthy")) => condition = Condition::Healthy,
                        ("condition", Some("service_completed_successfully")) => condition = Condition::CompletedSuccessfully,
                        ("condition", _) => self.problem(&at, format!("`{}` is not a condition of `depends_on`", scalar(v).unwrap_or_default()), Some("use `service_started`, `service_healthy` or `service_completed_successfully`".into())),
                        ("required", Some("true")) | ("restart", Some("false")) => {}
                        ("required", _) => self.skip(Some(service), &at, "a Clockwork dependency is always required"),
                        ("restart", _) => self.skip(Some(service), &at, "Clockwork does not restart a dependent when what it depends on is replaced"),
                        _ => self.problem(&at, format!("`{k}` is not a key of a `depends_on` entry"), Some("an entry has `condition`, `restart` and `required`".into())),
                    }
                }
            }
            s.depends_on.push(Dependency {
                service: target,
                condition,
            });
        }
    }

    fn healthcheck(&mut self, service: &str, at: &[Seg], value: &Value) -> Option<Healthcheck> {
        let Value::Mapping(m) = value else {
            self.expected(
                at,
                "a mapping",
                value,
                "healthcheck: {test: [\"CMD\", \"pg_isready\"]}",
            );
            return None;
        };
        if matches!(m.get("disable"), Some(Value::Bool(true))) {
            return Some(Healthcheck {
                test: vec![Text::literal("NONE")],
                interval: None,
                timeout: None,
                retries: None,
                start_period: None,
            });
        }
        let test = match m.get("test") {
            Some(Value::String(shell)) => vec![
                Text::literal("CMD-SHELL"),
                self.text(&with(at, key("test")), shell)?,
            ],
            Some(Value::Sequence(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = with(&with(at, key("test")), Seg::Index(i));
                    match scalar(item) {
                        Some(raw) => out.push(self.text(&at, &raw)?),
                        None => {
                            self.expected(&at, "a string", item, "\"CMD\"");
                            return None;
                        }
                    }
                }
                let first = out.first().and_then(Text::as_literal);
                if !matches!(first.as_deref(), Some("CMD" | "CMD-SHELL" | "NONE")) {
                    self.problem(
                        &with(at, key("test")),
                        format!(
                            "`{}` must start with `CMD`, `CMD-SHELL` or `NONE`",
                            shown(&with(at, key("test")))
                        ),
                        Some(
                            "for example `[\"CMD\", \"pg_isready\"]` or `\"pg_isready -U app\"`"
                                .into(),
                        ),
                    );
                    return None;
                }
                out
            }
            Some(other) => {
                self.expected(
                    &with(at, key("test")),
                    "a string or a list",
                    other,
                    "test: [\"CMD\", \"pg_isready\"]",
                );
                return None;
            }
            None => {
                self.skip(Some(service), at, "a health check without `test` changes only the image's own timing, which DockerResource cannot");
                return None;
            }
        };
        let mut check = Healthcheck {
            test,
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
        };
        for (k, v) in entries(m) {
            let at = with(at, key(&k));
            let seconds = |reader: &mut Self| -> Option<f64> {
                let text = scalar(v)?;
                match duration_seconds(&text) {
                    Some(s) => Some(s),
                    None => {
                        reader.problem(
                            &at,
                            format!("`{text}` is not a duration"),
                            Some("write it as Compose does, e.g. `10s`, `1m30s` or `500ms`".into()),
                        );
                        None
                    }
                }
            };
            match k.as_str() {
                "test" | "disable" => {}
                "interval" => check.interval = seconds(self),
                "timeout" => check.timeout = seconds(self),
                "start_period" => check.start_period = seconds(self),
                "retries" => match v.as_u64() {
                    Some(n) => check.retries = Some(n),
                    None => self.expected(&at, "a whole number", v, "retries: 5"),
                },
                "start_interval" => self.skip(Some(service), &at, "DockerResource checks at one `interval_seconds` from the start"),
                _ => self.problem(&at, format!("`{k}` is not a key of a health check"), Some("a health check has `test`, `interval`, `timeout`, `retries`, `start_period`, `start_interval` and `disable`".into())),
            }
        }
        Some(check)
    }

    /// `command` or `entrypoint`: a list, or a string split into words.
    fn command(&mut self, at: &[Seg], value: &Value, example: &str) -> Option<Vec<Text>> {
        match value {
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = with(at, Seg::Index(i));
                    match scalar(item) {
                        Some(raw) => out.push(self.text(&at, &raw)?),
                        None => {
                            self.expected(&at, "a string", item, "\"--verbose\"");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Value::Null => None,
            other => {
                let Some(line) = scalar(other) else {
                    self.expected(at, "a string or a list", other, example);
                    return None;
                };
                // Compose splits a string command as a POSIX shell would,
                // without running a shell.
                match split_words(&line) {
                    Ok(words) => {
                        let mut out = Vec::new();
                        for w in words {
                            out.push(self.text(at, &w)?);
                        }
                        Some(out)
                    }
                    Err(message) => {
                        self.problem(
                            at,
                            format!("`{}`: {message}", shown(at)),
                            Some("close the quote, or write the command as a list".into()),
                        );
                        None
                    }
                }
            }
        }
    }

    /// `labels`, as a mapping or a list of `key=value`; Clockwork's own
    /// keys are listed as not translated.
    fn labels(&mut self, service: &str, at: &[Seg], value: &Value, s: &mut Service) {
        let mut set = |reader: &mut Self, k: String, raw: &str, at: &[Seg]| {
            if k.starts_with(CLOCKWORK_LABELS) {
                reader.skip(Some(service), at, format!(
                    "`dev.clockwork.` labels are Clockwork's own: they say which project owns a container, and Clockwork sets them itself; give `{k}` another name"
                ));
                return;
            }
            if k.is_empty() {
                reader.skip(Some(service), at, "a label needs a key");
                return;
            }
            let Some(text) = reader.text(at, raw) else {
                return;
            };
            s.labels.set(k, text);
        };
        match value {
            Value::Mapping(m) => {
                for (k, v) in entries(m) {
                    let at = with(at, key(&k));
                    let raw = match v {
                        Value::Null => String::new(),
                        other => match scalar(other) {
                            Some(raw) => raw,
                            None => {
                                self.expected(
                                    &at,
                                    "a string, a number or nothing",
                                    other,
                                    "com.example.role: frontend",
                                );
                                continue;
                            }
                        },
                    };
                    set(self, k, &raw, &at);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = with(at, Seg::Index(i));
                    let Some(line) = scalar(item) else {
                        self.expected(
                            &at,
                            "a string `key=value`",
                            item,
                            "- com.example.role=frontend",
                        );
                        continue;
                    };
                    let (k, raw) = line.split_once('=').unwrap_or((&line, ""));
                    set(self, k.to_string(), raw, &at);
                }
            }
            Value::Null => {}
            other => self.expected(
                at,
                "a mapping or a list",
                other,
                "labels: {com.example.role: frontend}",
            ),
        }
    }

    fn restart(&mut self, service: &str, at: &[Seg], value: &Value) -> Option<String> {
        // YAML 1.1 (Compose v1's parser) reads a bare `no` as false.
        let text = match value {
            Value::Bool(false) => "no".to_string(),
            other => scalar(other)?,
        };
        match text.as_str() {
            "no" | "always" | "unless-stopped" | "on-failure" => Some(text),
            t if t.starts_with("on-failure:") => {
                self.note(Some(service), at, format!("`{t}` is `on-failure` without the retry limit, which DockerResource cannot set"));
                Some("on-failure".into())
            }
            _ => {
                self.problem(
                    at,
                    format!("`{text}` is not a restart policy"),
                    Some(
                        "use `no`, `always`, `on-failure`, `on-failure:N` or `unless-stopped`"
                            .into(),
                    ),
                );
                None
            }
        }
    }
}

/// Why `build` is not translated, with the command to build the image.
fn build_reason(build: &Value, image: Option<String>) -> String {
    let context = match build {
        Value::Mapping(m) => m
            .get("context")
            .and_then(scalar)
            .unwrap_or_else(|| ".".into()),
        other => scalar(other).unwrap_or_else(|| ".".into()),
    };
    if let Some(image) = image {
        format!(
            "Clockwork runs images: build it first (`docker build -t {image} {context}`); an image present locally is not pulled"
        )
    } else {
        format!("Clockwork runs images: build it from `{context}` first")
    }
}

/// `8000-8002:9000-9002` as one mapping per port; every result is one
/// DockerResource accepts, else why not.
fn expand_ports(raw: &str) -> Result<Vec<String>, String> {
    let (body, protocol) = match raw.rsplit_once('/') {
        Some((b, p)) => (b, format!("/{p}")),
        None => (raw, String::new()),
    };
    let (prefix, mapping) = match body.rsplit_once(':') {
        Some((rest, container)) => match rest.rsplit_once(':') {
            Some((ip, host)) => (format!("{ip}:"), (Some(host), container)),
            None => (String::new(), (Some(rest), container)),
        },
        None => (String::new(), (None, body)),
    };
    // Some(Err) for a range that is not one of ports: expanding `1-4294967295`
    // or a reversed one would take the memory or drop the entry.
    let range = |text: &str| -> Option<Result<(u32, u32), String>> {
        let (a, b) = text.split_once('-')?;
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        Some(if 1 <= a && a <= b && b <= 65535 {
            Ok((a, b))
        } else {
            Err(format!(
                "`{text}` in `{raw}` is not a range of ports: write LOW-HIGH, from 1 to 65535"
            ))
        })
    };
    let out: Vec<String> = match mapping {
        (host, container) if let Some(container_range) = range(container) => {
            let (c0, c1) = container_range?;
            let hosts = match host {
                Some(h) if !h.is_empty() => match range(h) {
                    Some(host_range) => {
                        let (h0, h1) = host_range?;
                        if h1 - h0 != c1 - c0 {
                            return Err(format!(
                                "`{raw}` maps ranges of different lengths: DockerResource publishes one port per entry"
                            ));
                        }
                        Some(h0)
                    }
                    None => {
                        return Err(format!(
                            "`{raw}` maps ranges of different lengths: DockerResource publishes one port per entry"
                        ));
                    }
                },
                _ => None,
            };
            (c0..=c1)
                .map(|c| match (hosts, host) {
                    (Some(h0), _) => format!("{prefix}{}:{c}{protocol}", h0 + (c - c0)),
                    (None, Some(_)) => format!("{prefix}:{c}{protocol}"),
                    (None, None) => format!("{c}{protocol}"),
                })
                .collect()
        }
        (Some(h), _) if range(h).is_some() => {
            return Err(format!(
                "`{raw}` publishes on any port of a range: give one host port"
            ));
        }
        _ => vec![raw.to_string()],
    };
    for port in &out {
        clockwork_schema::parse_port(port).map_err(|e| format!("{e}"))?;
    }
    Ok(out)
}

/// Compose's durations (`1m30s`, `500ms`, `2h`, `10s`) in seconds.
fn duration_seconds(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    // A bare number is seconds (older Compose files write `30`); only
    // digits and a point, so that `nan`, `inf`, `-5` or `1e3` are not one.
    if rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return rest.parse::<f64>().ok().filter(|n| sane_seconds(*n));
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    sane_seconds(total).then_some(total)
}

/// Whether a duration can be written as a number of seconds: a run of
/// digits long enough parses as infinity, and main.star cannot say `inf`.
fn sane_seconds(n: f64) -> bool {
    n.is_finite() && n <= 1e9
}

/// Splits a command line into words as a POSIX shell would (quotes and
/// backslashes), keeping `${…}` whole.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a `'` is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a `\"` is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a `\"` is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '$' if chars.peek() == Some(&'{') => {
                in_word = true;
                word.push('$');
                let mut depth = 0;
                for c in chars.by_ref() {
                    word.push(c);
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The first line (from 1) of `text` that no env file holds: one whose
/// name Clockwork would not take for a variable, or that looks like a
/// piece of a key rather than a name (long, letters and digits mixed, no
/// `_`: a line of base64 or hex).
fn not_an_env_file(text: &str) -> Option<usize> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A name Compose takes (`SPRING.PROFILE` too, which is said of at its
    // line).
    let name_like = |name: &str| {
        !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !looks_random(name)
    };
    text.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let name_ok = match line.split_once('=') {
            Some((name, _)) => name_like(name.trim()),
            None => name_like(line) && clockwork_schema::valid_env_name(line),
        };
        (!name_ok).then_some(i + 1)
    })
}

/// Whether a name looks like a piece of a key, not a variable's name:
/// twenty characters or more, without `_`, with digits among letters.
fn looks_random(name: &str) -> bool {
    name.len() >= 20
        && !name.contains('_')
        && name.chars().any(|c| c.is_ascii_digit())
        && name.chars().any(|c| c.is_ascii_alphabetic())
}

/// A path with `.` and `..` resolved without asking the file system.
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_become_one_entry_per_port() {
        assert_eq!(expand_ports("8080:80").unwrap(), ["8080:80"]);
        assert_eq!(
            expand_ports("127.0.0.1:9000-9001:8000-8001/udp").unwrap(),
            ["127.0.0.1:9000:8000/udp", "127.0.0.1:9001:8001/udp"]
        );
        assert_eq!(expand_ports("3000-3001").unwrap(), ["3000", "3001"]);
        assert!(expand_ports("9000-9005:80").is_err());
        assert!(expand_ports("80/sctp").is_err());
        // Reversed, zero or past 65535: refused, never expanded.
        for bad in [
            "81-80",
            "8081-8080:81-80",
            "1-4294967295",
            "0-2",
            "80:70000-70001",
        ] {
            let err = expand_ports(bad).expect_err(bad);
            assert!(err.contains("is not a range of ports"), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_are_seconds() {
        assert_eq!(duration_seconds("1m30s"), Some(90.0));
        assert_eq!(duration_seconds("500ms"), Some(0.5));
        assert_eq!(duration_seconds("2h"), Some(7200.0));
        assert_eq!(duration_seconds("30"), Some(30.0));
        assert_eq!(duration_seconds("ten"), None);
        assert_eq!(duration_seconds("5x"), None);
        let huge = format!("1{}s", "0".repeat(309));
        for not_one in ["nan", "inf", "-5", "1e3", "1.2.3", "", &huge, &huge[..310]] {
            assert_eq!(duration_seconds(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn commands_split_as_a_shell_would() {
        assert_eq!(
            split_words(r#"sh -c "echo \"hi\" && sleep 1" 'a b' c\ d ${X:-a b}"#).unwrap(),
            [
                "sh",
                "-c",
                "echo \"hi\" && sleep 1",
                "a b",
                "c d",
                "${X:-a b}"
            ]
        );
        assert!(split_words("echo 'oops").is_err());
    }
}
