//! What `clockwork import` reads a Compose file into: the services and
//! the keys it translates, normalised.

use crate::import::interp::Text;
use crate::import::ordered::Ordered;

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

impl Ordered<EnvVar> {
    /// Sets a variable under its name.
    pub fn put(&mut self, var: EnvVar) {
        self.set(var.name.clone(), var);
    }
}

/// A secret of an env file that main.star reads with `env()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretToSet {
    /// The name main.star reads it under: the variable's own, unless
    /// another env file gives that name another value.
    pub reference: String,
    /// The variable.
    pub name: String,
    /// The env file that holds its value, as the Compose file wrote it.
    pub file: String,
    /// The services that read it.
    pub services: Vec<String>,
}
