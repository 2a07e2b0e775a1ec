//! The JSON payloads of `action` (see `wit/types.wit`): what a plugin asks
//! the host to do. Plugins build these; the host parses them strictly
//! (unknown keys are refused, so a plugin cannot smuggle in `privileged`),
//! checks them against policy and executes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A container to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    /// The container's name; also its DNS name on its networks.
    pub name: String,
    /// The image.
    pub image: String,
    /// Environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Port mappings as users write them (`"8080:80"`, `"53/udp"`).
    #[serde(default)]
    pub ports: Vec<String>,
    /// Mounts.
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Networks to join (the first is the primary one).
    #[serde(default)]
    pub networks: Vec<String>,
    /// Extra DNS names on every network.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The command, replacing the image's.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The entrypoint, replacing the image's (`[]`: none at all); `None`
    /// keeps the image's. Left out of the JSON when `None`, so that the
    /// hash of a spec that sets none is what it was before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// The user's labels on the container. The host adds its own
    /// (`dev.clockwork.*`) over them and refuses a spec that sets one of
    /// those itself. Left out of the JSON when empty, for the same reason
    /// as `entrypoint`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `no`, `always`, `on-failure` or `unless-stopped`.
    #[serde(default = "default_restart")]
    pub restart_policy: String,
    /// A health check the Engine runs.
    #[serde(default)]
    pub healthcheck: Option<HealthcheckSpec>,
    /// Whether the container must keep running (false: it may exit).
    #[serde(default = "yes")]
    pub must_run: bool,
    /// The options of the networks among `networks` that a connection
    /// declared (`NetworkConnection`'s `internal`, `subnet`, …), by name: part
    /// of the spec, so a change of them makes the container again on the
    /// network made anew.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub network_options: BTreeMap<String, NetworkSpec>,
    /// On a swarm, how many tasks run it (`None`: one). The local Engine
    /// runs one container and refuses another count. Left out of the JSON
    /// when `None`, so the hash of a spec without it is what it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// On a swarm, where its tasks may run: constraints as Docker writes
    /// them (`node.role==worker`, `node.hostname!=a`). Refused by the local
    /// Engine. Left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<String>,
}

fn default_restart() -> String {
    "unless-stopped".into()
}

fn yes() -> bool {
    true
}

/// A mount into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// A named volume of the project, or a host path (absolute, or
    /// relative to the project folder, starting with `.`).
    pub source: String,
    /// The absolute path inside the container.
    pub target: String,
    /// Whether the container may not write.
    #[serde(default)]
    pub read_only: bool,
}

impl MountSpec {
    /// Whether the source is a host path rather than a named volume.
    pub fn is_bind(&self) -> bool {
        self.source.starts_with('.') || self.source.starts_with('/') || self.source.starts_with('~')
    }

    /// Parses `"source:target"` or `"source:target:ro"`.
    pub fn parse(text: &str) -> Option<MountSpec> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, read_only) = match parts.as_slice() {
            [s, t] => (*s, *t, false),
            [s, t, "ro"] => (*s, *t, true),
            [s, t, "rw"] => (*s, *t, false),
            _ => return None,
        };
        (!source.is_empty() && target.starts_with('/')).then(|| MountSpec {
            source: source.to_string(),
            target: target.to_string(),
            read_only,
        })
    }
}

/// A health check run by the Engine inside the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckSpec {
    /// `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub test: Vec<String>,
    /// Time between checks, in milliseconds.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Time a check may take, in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Failures before unhealthy.
    #[serde(default = "default_retries")]
    pub retries: u64,
    /// Grace period after start, in milliseconds.
    #[serde(default)]
    pub start_period_ms: u64,
}

fn default_interval() -> u64 {
    1000
}

fn default_timeout() -> u64 {
    3000
}

fn default_retries() -> u64 {
    30
}

/// A network of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Its name.
    pub name: String,
    /// The driver, `bridge` by default.
    #[serde(default = "bridge")]
    pub driver: String,
    /// Whether it has no route outside.
    #[serde(default)]
    pub internal: bool,
    /// A subnet in CIDR form.
    #[serde(default)]
    pub subnet: Option<String>,
    /// The gateway, inside the subnet.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Whether its containers get IPv6 addresses too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_ipv6: bool,
    /// Whether these options were declared (by a connection): the Engine's
    /// network must then have exactly them, and one of the project made
    /// with others is made again. Otherwise any network of the project of
    /// this name will do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
}

impl NetworkSpec {
    /// The network `name` as the project has it: with the options a
    /// connection declared (the host passes them in a plan input's
    /// `project.networks`), or else Docker's defaults, undeclared.
    pub fn of_project(project: &serde_json::Value, name: &str) -> NetworkSpec {
        project["networks"]
            .get(name)
            .and_then(|n| serde_json::from_value(n.clone()).ok())
            .unwrap_or_else(|| NetworkSpec::named(name))
    }

    /// The options declared for those of `names` that have some, by name:
    /// a [`ContainerSpec`]'s `network_options`.
    pub fn declared_of(
        project: &serde_json::Value,
        names: &[String],
    ) -> BTreeMap<String, NetworkSpec> {
        names
            .iter()
            .map(|n| NetworkSpec::of_project(project, n))
            .filter(|n| n.declared)
            .map(|n| (n.name.clone(), n))
            .collect()
    }

    /// A network of `name` with Docker's defaults, options undeclared.
    pub fn named(name: &str) -> NetworkSpec {
        NetworkSpec {
            name: name.to_string(),
            driver: bridge(),
            internal: false,
            subnet: None,
            gateway: None,
            enable_ipv6: false,
            declared: false,
        }
    }
}

fn bridge() -> String {
    "bridge".into()
}

/// A named volume of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    /// Its name.
    pub name: String,
    /// The driver, `local` by default.
    #[serde(default = "local")]
    pub driver: String,
    /// Whether it must exist already (made by an earlier apply of this
    /// project): it is then never created, and a missing one stops the
    /// apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
}

impl VolumeSpec {
    /// The volume `name` as the project has it: as a connection declared
    /// it (the host passes those in a plan input's `project.volumes`), or
    /// else a `local` one made when missing.
    pub fn of_project(project: &serde_json::Value, name: &str) -> VolumeSpec {
        project["volumes"]
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_else(|| VolumeSpec {
                name: name.to_string(),
                driver: local(),
                existing: false,
            })
    }
}

fn local() -> String {
    "local".into()
}

/// A file written inside the project folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Project-relative path.
    pub path: String,
    /// UTF-8 content.
    pub content: String,
    /// Octal permission bits, e.g. `"644"`.
    #[serde(default = "file_mode")]
    pub mode: String,
}

fn file_mode() -> String {
    "644".into()
}

/// A command run inside a container of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// The container.
    pub container: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A project file piped to the command's stdin.
    #[serde(default)]
    pub stdin_file: Option<String>,
    /// Deadline in milliseconds.
    #[serde(default = "exec_timeout")]
    pub timeout_ms: u64,
    /// What to call the command in messages in place of its argv, e.g.
    /// `migration migrations/002_orders.sql` (a script's text is no name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn exec_timeout() -> u64 {
    60_000
}

/// What a wait waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WaitCondition {
    /// A TCP port on this machine accepts connections: `127.0.0.1` (or
    /// `localhost`, `::1`) and a published port; the host refuses any other
    /// address.
    Tcp {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// The container's health check reports healthy.
    Healthy {
        /// The container.
        container: String,
    },
    /// A command in a container exits 0 (e.g. `pg_isready`).
    Exec(ExecSpec),
    /// A `GET` of a loopback URL answers with `status` (200 when left out).
    Http {
        /// The URL, on `127.0.0.1`, `localhost` or `[::1]`.
        url: String,
        /// The status to wait for.
        #[serde(default)]
        status: Option<u16>,
    },
    /// A container's output has a line containing `pattern`.
    LogLine {
        /// The container.
        container: String,
        /// Text the line contains.
        pattern: String,
    },
}

/// A wait, with its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitSpec {
    /// The condition.
    #[serde(flatten)]
    pub condition: WaitCondition,
    /// Deadline in milliseconds.
    #[serde(default = "wait_timeout")]
    pub timeout_ms: u64,
}

fn wait_timeout() -> u64 {
    60_000
}

/// The SHA-256 of a spec's canonical JSON, hex: the config hash stamped on
/// the object, compared on the next plan.
pub fn spec_hash<T: Serialize>(spec: &T) -> String {
    let json = serde_json::to_string(spec).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        let privileged = r#"{"name": "x", "image": "busybox", "privileged": true}"#;
        let err = serde_json::from_str::<ContainerSpec>(privileged)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `privileged`"), "{err}");
    }

    #[test]
    fn mounts_parse_and_hashes_are_stable() {
        assert_eq!(
            MountSpec::parse("./conf:/etc/conf:ro"),
            Some(MountSpec {
                source: "./conf".into(),
                target: "/etc/conf".into(),
                read_only: true
            })
        );
        assert!(MountSpec::parse("data").is_none());
        assert!(MountSpec::parse("pgdata:/var/lib/postgresql/data").is_some_and(|m| !m.is_bind()));
        let spec: ContainerSpec =
            serde_json::from_str(r#"{"name": "x", "image": "busybox"}"#).unwrap();
        assert_eq!(spec_hash(&spec), spec_hash(&spec.clone()));
        let mut other = spec.clone();
        other.env.insert("A".into(), "1".into());
        assert_ne!(spec_hash(&spec), spec_hash(&other));
    }

    /// The config hash is stamped on every container: a spec that uses no
    /// field added since must hash as it did before (values computed
    /// before `entrypoint` and `labels` existed), or an upgrade would
    /// replace every container.
    #[test]
    fn the_hash_of_a_spec_without_newer_fields_is_unchanged() {
        let minimal: ContainerSpec =
            serde_json::from_str(r#"{"name": "x", "image": "busybox"}"#).unwrap();
        let full: ContainerSpec = serde_json::from_value(serde_json::json!({
            "name": "postgres-db",
            "image": "postgres:15-alpine",
            "env": {"POSTGRES_PASSWORD": "secret123", "POSTGRES_USER": "admin"},
            "ports": ["5432:5432"],
            "mounts": [{"source": "pgdata", "target": "/var/lib/postgresql/data"}],
            "networks": ["shop_default", "backend"],
            "aliases": ["db"],
            "command": ["postgres", "-c", "log_statement=all"],
            "restart_policy": "on-failure",
            "healthcheck": {"test": ["CMD", "pg_isready"], "interval_ms": 5000},
            "must_run": true,
            "network_options": {"backend": {"name": "backend", "internal": true, "declared": true}},
        }))
        .unwrap();
        assert_eq!(
            spec_hash(&minimal),
            "579cc06b55b4684372ff19c1032b174c0bdc248eddb40e6b1ad0ba11e583d175"
        );
        assert_eq!(
            spec_hash(&full),
            "cbaab75ec95a88ef49339702aba6146ed3c73ba5657c455b5a1fd32a514004d8"
        );
        // Set, they are part of it.
        let mut labelled = full.clone();
        labelled
            .labels
            .insert("com.example.tier".into(), "db".into());
        assert_ne!(spec_hash(&labelled), spec_hash(&full));
        let mut entry = full.clone();
        entry.entrypoint = Some(Vec::new());
        assert_ne!(spec_hash(&entry), spec_hash(&full));
    }

    #[test]
    fn waits_read_as_written() {
        let wait: WaitSpec =
            serde_json::from_str(r#"{"healthy": {"container": "db"}, "timeout_ms": 5000}"#)
                .unwrap();
        assert_eq!(
            wait.condition,
            WaitCondition::Healthy {
                container: "db".into()
            }
        );
        let exec: WaitSpec = serde_json::from_str(
            r#"{"exec": {"container": "db", "argv": ["pg_isready"]}, "timeout_ms": 30000}"#,
        )
        .unwrap();
        assert!(
            matches!(exec.condition, WaitCondition::Exec(ExecSpec { ref container, .. }) if container == "db")
        );
    }
}
