//! The project folder: where `main.star` lives, its `clockwork.toml`, its
//! `plugins/`, its identity, and the one way into its files
//! ([`ProjectDir`]).

pub mod dotenv;
mod files;
mod identity;
mod reads;
pub mod tls;

pub use files::{Entry, PathError, ProjectDir, STATE_DIR};
pub use identity::{Identity, ProjectId, docker_safe_name};
pub use reads::{FileStamp, MAX_READ_BYTES, Shield, bytes, read_file_limited};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::model::PluginSource;

/// The project's optional settings file.
pub const CONFIG_FILE: &str = "clockwork.toml";

/// A project folder and its settings.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder, absolute and canonical.
    pub dir: PathBuf,
    /// `clockwork.toml`, or the defaults when there is none.
    pub config: ProjectConfig,
    /// Its name and id, stamped on every Docker object.
    pub identity: Identity,
    /// The folder's files, reached only through this.
    pub files: Arc<ProjectDir>,
}

/// `clockwork.toml`. Unknown keys are errors, so a typo never goes unnoticed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// `[project]`
    #[serde(default)]
    pub project: ProjectSection,
    /// `[limits]`
    #[serde(default)]
    pub limits: LimitsConfig,
    /// `[plugins]`
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// `[assert]`
    #[serde(default)]
    pub assert: AssertConfig,
    /// `[alerts]`
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// `[watch]`
    #[serde(default)]
    pub watch: WatchConfig,
    /// `[git]`
    #[serde(default)]
    pub git: GitConfig,
    /// `[target]`
    #[serde(default)]
    pub target: TargetConfig,
}

/// `[target]` in `clockwork.toml`: where the declarations run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `local` (the default) or `swarm`; `--target` wins.
    #[serde(default)]
    pub engine: EngineTarget,
    /// On a swarm, the registry (`host:port`) images are pushed to, so
    /// that every node pulls the same one, pinned by digest.
    pub registry: Option<String>,
}

/// Which Engine the declarations run on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineTarget {
    /// Containers on the Docker Engine `DOCKER_HOST` names.
    #[default]
    Local,
    /// Services on the Docker Swarm whose manager `DOCKER_HOST` names.
    Swarm,
}

impl EngineTarget {
    /// Its name in `clockwork.toml` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineTarget::Local => "local",
            EngineTarget::Swarm => "swarm",
        }
    }
}

/// `[git]` in `clockwork.toml`: what the host's `git` driver may do.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// Whether a `GitRepoResource` may clone a repository on this machine
    /// outside the project folder (a path or `file://` URL).
    #[serde(default)]
    pub allow_local_urls: bool,
    /// How long one `git` command may take, in seconds (300).
    pub timeout_seconds: Option<u64>,
}

/// `[alerts]` in `clockwork.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Where `clockwork watch` posts alerts (`CW_ALERT_WEBHOOK` wins).
    pub webhook: Option<String>,
}

/// `[watch]` in `clockwork.toml`: how `clockwork watch` backs off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Seconds to wait after the first heal (10); it doubles each time.
    pub backoff_initial_seconds: Option<u64>,
    /// The longest wait, in seconds (300).
    pub backoff_max_seconds: Option<u64>,
    /// Heals allowed within `budget_window_seconds` (5) before giving up.
    pub heal_budget: Option<usize>,
    /// The budget's window, in seconds (600); also how long a resource must
    /// stay healthy for its backoff to start over.
    pub budget_window_seconds: Option<u64>,
}

impl WatchConfig {
    /// The backoff policy these settings give.
    pub fn policy(&self) -> crate::model::BackoffPolicy {
        let d = crate::model::BackoffPolicy::default();
        let secs = |v: Option<u64>, default: Duration| {
            v.map(|s| Duration::from_secs(s.max(1))).unwrap_or(default)
        };
        let window = secs(self.budget_window_seconds, d.window);
        crate::model::BackoffPolicy {
            initial: secs(self.backoff_initial_seconds, d.initial),
            max: secs(self.backoff_max_seconds, d.max),
            reset_after: window,
            budget: self.heal_budget.unwrap_or(d.budget).max(1),
            window,
        }
    }
}

/// `[assert]` in `clockwork.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertConfig {
    /// Whether `clockwork assert` also runs the checks the declarations
    /// imply, as with `--implied`.
    #[serde(default)]
    pub implied: bool,
}

/// `[project]` in `clockwork.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// The project's name, instead of the folder's: lower-case letters,
    /// digits, `-` and `_`. Networks are named after it.
    pub name: Option<String>,
}

/// `[limits]` in `clockwork.toml`: bounds on evaluating the project file
/// and on waiting for containers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Seconds evaluating the project file may take.
    pub evaluation_seconds: Option<f64>,
    /// MiB of memory evaluating the project file may use.
    pub evaluation_memory_mib: Option<u64>,
    /// Seconds a container is given to stop after its stop signal, when it
    /// is replaced or destroyed, before it is killed (`docker stop -t`).
    pub stop_grace_seconds: Option<u64>,
    /// Seconds a started container may take to become ready.
    pub ready_seconds: Option<u64>,
}

/// How long containers are waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerLimits {
    /// Between the stop signal and the kill.
    pub stop_grace: Duration,
    /// From start to ready.
    pub ready: Duration,
}

impl ContainerLimits {
    /// The defaults: Docker's own stop grace, and two minutes to be ready.
    pub const DEFAULT: ContainerLimits = ContainerLimits {
        stop_grace: Duration::from_secs(10),
        ready: Duration::from_secs(120),
    };
}

/// The bounds on evaluating a project file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvaluationLimits {
    /// How long it may take.
    pub deadline: Duration,
    /// How many bytes it may hold at once.
    pub memory_bytes: u64,
}

impl EvaluationLimits {
    /// The defaults: a 5,000-resource project takes ~0.1 s and ~50 MiB.
    pub const DEFAULT: EvaluationLimits = EvaluationLimits {
        deadline: Duration::from_secs(30),
        memory_bytes: 1 << 30,
    };
}

impl LimitsConfig {
    /// The container waits, defaults filled in.
    pub fn containers(&self) -> ContainerLimits {
        ContainerLimits {
            stop_grace: self
                .stop_grace_seconds
                .map(Duration::from_secs)
                .unwrap_or(ContainerLimits::DEFAULT.stop_grace),
            ready: self
                .ready_seconds
                .map(Duration::from_secs)
                .unwrap_or(ContainerLimits::DEFAULT.ready),
        }
    }

    /// The limits, defaults filled in.
    pub fn evaluation(&self) -> EvaluationLimits {
        EvaluationLimits {
            deadline: self
                .evaluation_seconds
                .map(Duration::from_secs_f64)
                .unwrap_or(EvaluationLimits::DEFAULT.deadline),
            memory_bytes: self
                .evaluation_memory_mib
                .map(|m| m.saturating_mul(1 << 20))
                .unwrap_or(EvaluationLimits::DEFAULT.memory_bytes),
        }
    }
}

/// `[plugins]` in `clockwork.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// `[plugins.prefer]`: which source wins when two plugins share a name
    /// or a type, keyed by plugin or type name, e.g. `DockerResource = "project"`.
    #[serde(default)]
    pub prefer: BTreeMap<String, PluginSource>,
}

/// Why a project could not be opened.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProjectError {
    /// The folder does not exist or is not a directory.
    #[error("project folder `{}` does not exist or is not a directory", path.display())]
    #[diagnostic(
        code("clockwork::project::missing"),
        help("pass an existing folder to `-C`")
    )]
    Missing {
        /// The folder.
        path: PathBuf,
    },
    /// The folder cannot be read.
    #[error("cannot read the project folder `{}`: {source}", path.display())]
    #[diagnostic(
        code("clockwork::project::unreadable"),
        help("check the folder's permissions (`ls -ld`), or run Clockwork as its owner")
    )]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `clockwork.toml` cannot be read or parsed.
    #[error("{}: {message}", path.display())]
    #[diagnostic(code("clockwork::project::config"))]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line and column.
        message: String,
        /// How to fix it.
        #[help]
        help: Option<String>,
    },
}

impl Project {
    /// Opens the project in `dir`, reading `clockwork.toml` when present.
    pub fn open(dir: &Path) -> Result<Project, ProjectError> {
        let dir = std::fs::canonicalize(dir)
            .ok()
            .filter(|d| d.is_dir())
            .ok_or_else(|| ProjectError::Missing {
                path: dir.to_path_buf(),
            })?;
        if let Err(source) = std::fs::read_dir(&dir) {
            return Err(ProjectError::Unreadable { path: dir, source });
        }
        let files = ProjectDir::open(&dir).map_err(|e| ProjectError::Unreadable {
            path: dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let path = dir.join(CONFIG_FILE);
        let config_error = |message: String, help: Option<String>| ProjectError::Config {
            path: path.clone(),
            message,
            help,
        };
        let config: ProjectConfig = match files.read(Path::new(CONFIG_FILE)) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|e| config_error(format!("not UTF-8 text ({e})"), None))?;
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                toml::from_str(text).map_err(|e| config_error(located(text, &e), None))?
            }
            Err(e) if e.is_not_found() => ProjectConfig::default(),
            Err(e) => return Err(config_error(e.to_string(), None)),
        };
        let name = match &config.project.name {
            Some(name) if identity::valid_name(name) => name.clone(),
            Some(name) => {
                return Err(config_error(
                    format!("[project] name `{name}` is not a valid project name"),
                    Some(format!(
                        "use lower-case letters, digits, `-` and `_`, at most 48, e.g. `{}`",
                        docker_safe_name(name)
                    )),
                ));
            }
            None => docker_safe_name(
                &dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };
        if let Some(seconds) = config.limits.evaluation_seconds
            && !(seconds.is_finite() && seconds > 0.0)
        {
            return Err(config_error(
                format!("[limits] evaluation_seconds must be a positive number, got {seconds}"),
                None,
            ));
        }
        if config.limits.ready_seconds == Some(0) {
            return Err(config_error(
                "[limits] ready_seconds must be at least 1".into(),
                Some("leave it out for the default of 120 seconds".into()),
            ));
        }
        if config.limits.evaluation_memory_mib == Some(0) {
            return Err(config_error(
                "[limits] evaluation_memory_mib must be at least 1".into(),
                None,
            ));
        }
        if let Some(registry) = &config.target.registry
            && !valid_registry(registry)
        {
            return Err(config_error(
                format!("[target] registry `{registry}` is not a registry's `host:port`"),
                Some("write the address the swarm's nodes reach it at, without a scheme, e.g. `10.0.0.2:5000`".into()),
            ));
        }
        let mut identity = Identity::new(&name, &dir);
        identity.target = config.target.engine;
        identity.registry = config.target.registry.clone();
        Ok(Project {
            identity,
            dir,
            config,
            files: Arc::new(files),
        })
    }
}

/// Whether `text` is a `host:port` (a name or an IPv4 address, and a port).
fn valid_registry(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// A TOML error as `line L, column C: message`.
fn located(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_preferences_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[plugins.prefer]\nDockerResource = \"project\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let project = Project::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            project.config.plugins.prefer.get("DockerResource"),
            Some(&PluginSource::Project)
        );

        std::fs::write(dir.path().join(CONFIG_FILE), "[plugins]\nprefered = {}\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = Project::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("line 2, column 1: unknown field `prefered`"),
            "{err}"
        );
    }

    #[test]
    fn the_target_engine_is_local_unless_the_settings_say_swarm() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let project = Project::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(project.identity.target, EngineTarget::Local);
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[target]\nengine = \"swarm\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let project = Project::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(project.identity.target, EngineTarget::Swarm);
        std::fs::write(dir.path().join(CONFIG_FILE), "[target]\nengine = \"k8s\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = Project::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("unknown variant `k8s`, expected `local` or `swarm`"),
            "{err}"
        );
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[target]\nengine = \"swarm\"\nregistry = \"10.0.0.2:5000\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let project = Project::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(project.identity.registry.as_deref(), Some("10.0.0.2:5000"));
        for wrong in ["http://10.0.0.2:5000", "10.0.0.2", "reg:0", ":5000"] {
            std::fs::write(
                dir.path().join(CONFIG_FILE),
                format!("[target]\nregistry = \"{wrong}\"\n"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let err = Project::open(dir.path()).unwrap_err().to_string();
            assert!(
                err.contains("is not a registry's `host:port`"),
                "{wrong}: {err}"
            );
        }
    }

    #[test]
    fn the_name_comes_from_the_settings_or_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("My Shop");
        std::fs::create_dir(&dir).unwrap();
        let project = Project::open(&dir).unwrap();
        assert_eq!(project.identity.name, "my-shop");
        std::fs::write(dir.join(CONFIG_FILE), "[project]\nname = \"shop-b\"\n").unwrap();
        assert_eq!(Project::open(&dir).unwrap().identity.name, "shop-b");
        std::fs::write(dir.join(CONFIG_FILE), "[project]\nname = \"Shop B\"\n").unwrap();
        let err = Project::open(&dir).unwrap_err();
        assert!(
            err.to_string().contains("not a valid project name"),
            "{err}"
        );
    }
}
