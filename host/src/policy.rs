//! What a plugin may ask the host to do. [`check`] is the policy, and it is
//! the same whether `plan` asks (to report a problem at the declaration
//! before anything happens) or the executor does (right before acting, in
//! case the world moved).

use std::path::Path;

use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, FileSpec, MountSpec, NetworkSpec, VolumeSpec, WaitCondition, WaitSpec,
};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::model::{Grants, ResourceName, TypeName};
use crate::project::{Entry, ProjectDir};
use crate::state::{State, sha256_hex};
use crate::wit::types::Action;

/// Keys no container spec may carry; refused with a policy message before
/// the strict parse would call them merely unknown.
const FORBIDDEN: [&str; 7] = [
    "privileged",
    "cap_add",
    "network_mode",
    "pid_mode",
    "ipc_mode",
    "userns_mode",
    "devices",
];

/// Docker's own networks: joining `host` would share this machine's
/// network namespace, `none` and `bridge` are not the project's.
const RESERVED_NETWORKS: [&str; 4] = ["host", "none", "bridge", "default"];

/// Why the policy refuses an action: what was asked, as data, with the
/// fix for whoever can make it ([`Denial::fix`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The action's payload does not parse.
    #[error("invalid {action} payload: {message}")]
    Payload {
        /// The action, e.g. `ensure-container`.
        action: &'static str,
        /// What the parser said.
        message: String,
    },
    /// A container spec sets what gives a container this machine.
    #[error("containers may not set `{key}`")]
    ForbiddenSetting {
        /// The setting, e.g. `privileged`.
        key: &'static str,
    },
    /// A resource's container is named after it.
    #[error(
        "`{resource}` may not create a container named `{name}`: a resource's container has its name"
    )]
    ContainerName {
        /// The resource.
        resource: ResourceName,
        /// The name asked for.
        name: String,
    },
    /// A container spec without an image.
    #[error("the container has no image")]
    NoImage,
    /// One of Docker's own networks.
    #[error(
        "`{name}` is one of Docker's own networks, not the project's; containers join project networks only (`host` would share this machine's network)"
    )]
    ReservedNetwork {
        /// The network.
        name: String,
    },
    /// A name Docker would refuse.
    #[error(
        "`{name}` is not a valid network name: use letters, digits, `_`, `.` and `-`, at most 63, starting with a letter or digit"
    )]
    NetworkName {
        /// The network.
        name: String,
    },
    /// An environment variable name no process can hold.
    #[error("`{name}` is not a valid environment variable name")]
    EnvName {
        /// The name, NUL bytes shown as `\0`.
        name: String,
    },
    /// An environment value with a NUL byte.
    #[error(
        "environment variable `{key}` contains a NUL byte, which environment variables cannot hold"
    )]
    NulInEnv {
        /// The variable.
        key: String,
    },
    /// A command argument with a NUL byte.
    #[error("`command` contains a NUL byte, which arguments cannot hold")]
    NulInCommand,
    /// An entrypoint argument with a NUL byte.
    #[error("`entrypoint` contains a NUL byte, which arguments cannot hold")]
    NulInEntrypoint,
    /// A label in Clockwork's own namespace, which decides ownership.
    #[error(
        "label `{key}`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container"
    )]
    ReservedLabel {
        /// The key, NUL bytes shown as `\0`.
        key: String,
    },
    /// A label key that is empty or holds a NUL byte, or a value with one.
    #[error("label `{key}` is empty or contains a NUL byte, which labels cannot hold")]
    LabelText {
        /// The key, NUL bytes shown as `\0`.
        key: String,
    },
    /// A mount target that is not an absolute path below `/`.
    #[error("mount target `{target}` must be an absolute path inside the container other than `/`")]
    MountTarget {
        /// The target.
        target: String,
    },
    /// A bind mount of a path outside the project the user did not write.
    #[error(
        "bind mount of `{path}` is outside the project folder and was not written by you in this resource's `volumes`"
    )]
    MountOutside {
        /// The mount's source.
        path: String,
    },
    /// `.env`, or the project folder that holds it, mounted without the
    /// user's word.
    #[error(
        "bind mount of `{path}` gives the container the project's `.env`, and was not written by you in this resource's `volumes`"
    )]
    SecretsMount {
        /// The mount's source.
        path: String,
    },
    /// A port on this machine the user did not write.
    #[error(
        "publishing `{port}` on this machine was not written by you in this resource's `ports`"
    )]
    HostPort {
        /// The port mapping.
        port: String,
    },
    /// A port mapping that does not parse.
    #[error("{0}")]
    BadPort(String),
    /// Another resource's container.
    #[error("`{resource}` may not remove container `{name}`: it is not its own")]
    NotOwnContainer {
        /// The resource.
        resource: ResourceName,
        /// The container.
        name: String,
    },
    /// A path the project folder refuses (outside it, through a link, …).
    #[error("{0}")]
    Path(String),
    /// A file mode that is not octal.
    #[error("`{mode}` is not an octal mode")]
    Mode {
        /// The mode given.
        mode: String,
    },
    /// A command in a container outside the scope.
    #[error(
        "`{resource}` may not run commands in container `{container}`, which is not one of {allowed}"
    )]
    ForeignContainer {
        /// The resource.
        resource: ResourceName,
        /// The container.
        container: String,
        /// The containers it may use, quoted.
        allowed: String,
    },
    /// A wait URL that does not parse.
    #[error("`{url}` is not a URL a wait can fetch: {message}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A wait on another machine.
    #[error("a wait may reach this machine's published ports only, not `{target}`")]
    NotLoopback {
        /// The URL or host.
        target: String,
    },
    /// A folder where a file is to be written.
    #[error("`{path}` is a folder")]
    Folder {
        /// The path.
        path: String,
    },
    /// A symbolic link where a file is to be written.
    #[error("`{path}` is a symbolic link; Clockwork does not write through links")]
    Link {
        /// The path.
        path: String,
    },
    /// A socket, device or pipe where a file is to be written.
    #[error("`{path}` is {what}")]
    Special {
        /// The path.
        path: String,
        /// What it is.
        what: String,
    },
    /// A file another resource wrote.
    #[error("`{path}` was written by `{owner}`, not by `{resource}`")]
    WrittenByOther {
        /// The path.
        path: String,
        /// The resource that wrote it.
        owner: ResourceName,
        /// The resource asking.
        resource: ResourceName,
    },
    /// A file Clockwork wrote that was changed since.
    #[error(
        "`{path}` was changed by hand since Clockwork wrote it; Clockwork does not overwrite your changes"
    )]
    ChangedByHand {
        /// The path.
        path: String,
    },
    /// What Clockwork wrote, in another file than the one it wrote.
    #[error(
        "`{path}` holds what Clockwork wrote, but is another file than the one it wrote (the folder was copied, or the file restored or checked out, or the state came from elsewhere); Clockwork does not overwrite it"
    )]
    OtherFile {
        /// The path.
        path: String,
    },
    /// A file Clockwork did not write.
    #[error(
        "`{path}` already exists and was not written by Clockwork; Clockwork does not overwrite it"
    )]
    NotClockworks {
        /// The path.
        path: String,
    },
}

impl miette::Diagnostic for Denial {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("clockwork::policy::{}", self.kind())))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.fix()))
    }
}

impl Denial {
    /// A stable name for the kind of refusal, for codes and JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Denial::Payload { .. } => "payload",
            Denial::ForbiddenSetting { .. } => "forbidden_setting",
            Denial::ContainerName { .. } => "container_name",
            Denial::NoImage => "no_image",
            Denial::ReservedNetwork { .. } => "reserved_network",
            Denial::NetworkName { .. } => "network_name",
            Denial::EnvName { .. } => "env_name",
            Denial::NulInEnv { .. } => "nul_in_env",
            Denial::NulInCommand => "nul_in_command",
            Denial::NulInEntrypoint => "nul_in_entrypoint",
            Denial::ReservedLabel { .. } => "reserved_label",
            Denial::LabelText { .. } => "label_text",
            Denial::MountTarget { .. } => "mount_target",
            Denial::MountOutside { .. } => "mount_outside",
            Denial::HostPort { .. } => "host_port",
            Denial::SecretsMount { .. } => "secrets_mount",
            Denial::BadPort(_) => "bad_port",
            Denial::NotOwnContainer { .. } => "not_own_container",
            Denial::Path(_) => "path",
            Denial::Mode { .. } => "mode",
            Denial::ForeignContainer { .. } => "foreign_container",
            Denial::BadUrl { .. } => "bad_url",
            Denial::NotLoopback { .. } => "not_loopback",
            Denial::Folder { .. } => "folder",
            Denial::Link { .. } => "link",
            Denial::Special { .. } => "special",
            Denial::WrittenByOther { .. } => "written_by_other",
            Denial::ChangedByHand { .. } => "changed_by_hand",
            Denial::NotClockworks { .. } => "not_clockworks",
            Denial::OtherFile { .. } => "other_file",
        }
    }

    /// What to do about it, for whoever can: the user, or the author of
    /// the plugin that asked.
    pub fn fix(&self) -> String {
        const PLUGIN: &str =
            "the plugin asked for it, not your declaration: report it to the plugin's author";
        match self {
            Denial::Payload { .. }
            | Denial::ContainerName { .. }
            | Denial::NotOwnContainer { .. }
            | Denial::ForeignContainer { .. }
            | Denial::Mode { .. } => PLUGIN.into(),
            Denial::ForbiddenSetting { key } => format!(
                "Clockwork does not run containers with `{key}`: they would reach this machine beyond the project; leave it out"
            ),
            Denial::NoImage => "set `image`, e.g. `image=\"nginx:alpine\"`".into(),
            Denial::ReservedNetwork { .. } => {
                "leave `networks` out to join the project's network, or name one of the project's networks".into()
            }
            Denial::NetworkName { .. } => "rename the network".into(),
            Denial::EnvName { .. } | Denial::NulInEnv { .. } => {
                "change the variable in `env_vars` (or the connection that sets it)".into()
            }
            Denial::NulInCommand => "remove the NUL byte from `command`".into(),
            Denial::NulInEntrypoint => "remove the NUL byte from `entrypoint`".into(),
            Denial::ReservedLabel { .. } => {
                "choose a key of your own in `labels`, e.g. `com.example.role`".into()
            }
            Denial::LabelText { .. } => {
                "give every key in `labels` a name, without NUL bytes in keys or values".into()
            }
            Denial::MountTarget { .. } => {
                "write the target as an absolute path in the container, e.g. `./data:/data`".into()
            }
            Denial::MountOutside { path } => format!(
                "write `{path}:…` in this resource's own `volumes`, or use a path inside the project folder; a model, clockwork.lock, a connection or a plugin cannot grant it"
            ),
            Denial::HostPort { port } => format!(
                "write `\"{port}\"` in this resource's own `ports` if you mean it; a model, clockwork.lock, a connection or a plugin cannot publish a port (a plugin's field for ports must be of type `list<port>` for yours to count)"
            ),
            Denial::SecretsMount { path } => format!(
                "write `{path}:…` in this resource's own `volumes` if you mean to give it `.env`; a model, clockwork.lock, a connection or a plugin cannot"
            ),
            Denial::BadPort(_) => {
                "write each of `ports` as \"host:container\", \"ip:host:container\" or \"container\", e.g. \"8080:80\"".into()
            }
            Denial::Path(_) => "use a relative path inside the project folder".into(),
            Denial::BadUrl { .. } | Denial::NotLoopback { .. } => {
                "wait on a port the container publishes, at `http://127.0.0.1:<port>`".into()
            }
            Denial::Folder { .. } | Denial::Special { .. } | Denial::Link { .. } => {
                "choose another path, or remove what is there".into()
            }
            Denial::WrittenByOther { .. } => {
                "give each resource a file of its own".into()
            }
            Denial::ChangedByHand { .. } => {
                "copy your changes into the declaration, delete the file, or set `overwrite=True`".into()
            }
            Denial::NotClockworks { .. } => {
                "choose another path, delete the file, or set `overwrite=True`".into()
            }
            Denial::OtherFile { .. } => {
                "delete the file and Clockwork writes it again, or set `overwrite=True`".into()
            }
        }
    }
}

pub(crate) fn parse<T: DeserializeOwned>(action: &'static str, text: &str) -> Result<T, Denial> {
    serde_json::from_str(text).map_err(|e| Denial::Payload {
        action,
        message: e.to_string(),
    })
}

/// Who acts, and what they may touch.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The resource whose job this is.
    pub resource: ResourceName,
    /// Its type, stamped on its containers so that a lost state can still
    /// be destroyed by the right plugin.
    pub type_name: TypeName,
    /// Resources whose containers its commands may run in: itself, plus
    /// both ends of a connection for that connection's setup steps.
    pub containers: Vec<ResourceName>,
    /// What the user's own fields of this declaration grant: the bind
    /// mounts outside the project and the host ports they wrote.
    pub grants: Grants,
    /// The services whose TLS key a connection puts into this resource's
    /// containers (the connections to it that issue a certificate).
    pub tls_keys: Vec<String>,
    /// Whether the user declared `overwrite=True`: files it did not write
    /// may be replaced.
    pub overwrite: bool,
    /// When its `max_duration` runs out (seconds since the epoch): stamped
    /// on the containers it creates.
    pub expires_at: Option<u64>,
}

impl Scope {
    /// The scope of a resource's own actions.
    pub fn of(resource: &str, type_name: &str) -> Scope {
        Scope {
            resource: resource.into(),
            type_name: type_name.into(),
            containers: vec![resource.into()],
            grants: Grants::none(),
            tls_keys: Vec::new(),
            overwrite: false,
            expires_at: None,
        }
    }
}

/// Who checks the payload of an `ext(driver, op, payload)` action: the
/// host's drivers ([`crate::driver::Drivers`]), each for its own.
pub trait ExtensionCheck {
    /// Refuses what `driver` would not be allowed to do with `payload`.
    fn check_extension(
        &self,
        files: &ProjectDir,
        scope: &Scope,
        driver: &str,
        op: &str,
        payload: &str,
    ) -> Result<(), Denial>;
}

/// A docker-safe network name.
fn valid_network(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub(crate) fn network_allowed(name: &str) -> Result<(), Denial> {
    if RESERVED_NETWORKS.contains(&name) {
        return Err(Denial::ReservedNetwork { name: name.into() });
    }
    if !valid_network(name) {
        return Err(Denial::NetworkName { name: name.into() });
    }
    Ok(())
}

pub(crate) fn relative(path: &str) -> Result<std::path::PathBuf, Denial> {
    ProjectDir::relative(path).map_err(|e| Denial::Path(e.to_string()))
}

/// The policy for one action of `scope`, without acting: what a plugin may
/// ask the host to do. Checked at `plan` and again right before acting.
/// An `ext(driver, …)` action is checked by its driver, through
/// `extensions`: the policy names no driver.
pub fn check(
    files: &ProjectDir,
    scope: &Scope,
    action: &Action,
    extensions: &dyn ExtensionCheck,
) -> Result<(), Denial> {
    match action {
        Action::EnsureContainer(spec) => {
            let raw: Json = parse("ensure-container", spec)?;
            if let Some(key) = FORBIDDEN.iter().find(|k| raw.get(**k).is_some()) {
                return Err(Denial::ForbiddenSetting { key });
            }
            let spec: ContainerSpec = parse("ensure-container", spec)?;
            if scope.resource != spec.name {
                return Err(Denial::ContainerName {
                    resource: scope.resource.clone(),
                    name: spec.name,
                });
            }
            if spec.image.trim().is_empty() {
                return Err(Denial::NoImage);
            }
            for network in &spec.networks {
                network_allowed(network)?;
            }
            for (key, value) in &spec.env {
                if key.contains(|c: char| c == '=' || c.is_control()) || key.is_empty() {
                    return Err(Denial::EnvName {
                        name: key.escape_debug().to_string(),
                    });
                }
                if value.contains('\0') {
                    return Err(Denial::NulInEnv { key: key.clone() });
                }
            }
            if spec.command.iter().flatten().any(|a| a.contains('\0')) {
                return Err(Denial::NulInCommand);
            }
            if spec.entrypoint.iter().flatten().any(|a| a.contains('\0')) {
                return Err(Denial::NulInEntrypoint);
            }
            labels_allowed(&spec.labels)?;
            for mount in &spec.mounts {
                mount_allowed(files, scope, mount)?;
            }
            ports_allowed(scope, &spec.ports)
        }
        Action::RemoveContainer(name) if scope.resource != *name => Err(Denial::NotOwnContainer {
            resource: scope.resource.clone(),
            name: name.clone(),
        }),
        Action::EnsureNetwork(spec) => {
            network_allowed(&parse::<NetworkSpec>("ensure-network", spec)?.name)
        }
        Action::RemoveNetwork(name) => network_allowed(name),
        Action::EnsureVolume(spec) => {
            parse::<VolumeSpec>("ensure-volume", spec)?;
            Ok(())
        }
        Action::WriteFile(spec) => {
            let spec: FileSpec = parse("write-file", spec)?;
            let rel = relative(&spec.path)?;
            files
                .check_write(&rel)
                .map_err(|e| Denial::Path(e.to_string()))?;
            u32::from_str_radix(&spec.mode, 8)
                .map(|_| ())
                .map_err(|_| Denial::Mode { mode: spec.mode })
        }
        Action::RemovePath(path) => {
            let rel = relative(path)?;
            files
                .check_write(&rel)
                .map_err(|e| Denial::Path(e.to_string()))
        }
        Action::Exec(spec) => exec_allowed(files, scope, &parse::<ExecSpec>("exec", spec)?),
        Action::Wait(spec) => match parse::<WaitSpec>("wait", spec)?.condition {
            WaitCondition::Exec(exec) => exec_allowed(files, scope, &exec),
            WaitCondition::Healthy { container } => container_allowed(scope, &container),
            WaitCondition::LogLine { container, .. } => container_allowed(scope, &container),
            WaitCondition::Http { url, .. } => {
                let parsed = url::Url::parse(&url).map_err(|e| Denial::BadUrl {
                    url: url.clone(),
                    message: e.to_string(),
                })?;
                let host = parsed.host_str().unwrap_or_default();
                if !matches!(parsed.scheme(), "http" | "https")
                    || !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
                {
                    return Err(Denial::NotLoopback { target: url });
                }
                Ok(())
            }
            // Probes from this machine go to this machine's ports only.
            WaitCondition::Tcp { host, .. } => match host.as_str() {
                "127.0.0.1" | "localhost" | "::1" => Ok(()),
                other => Err(Denial::NotLoopback {
                    target: other.to_string(),
                }),
            },
        },
        Action::Ext((driver, op, payload)) => {
            extensions.check_extension(files, scope, driver, op, payload)
        }
        _ => Ok(()),
    }
}

/// Every port a container spec publishes on this machine, each one the
/// user wrote in the declaration's own `ports` (by [`Grants`]).
pub(crate) fn ports_allowed(scope: &Scope, ports: &[String]) -> Result<(), Denial> {
    for text in ports {
        let port =
            clockwork_schema::parse_port(text).map_err(|e| Denial::BadPort(e.to_string()))?;
        if !scope.grants.allows_port(&port) {
            return Err(Denial::HostPort {
                port: text.escape_debug().to_string(),
            });
        }
    }
    Ok(())
}

/// A plugin's labels for a container: none of Clockwork's own, whatever
/// the plugin's `validate` said (the plugin is not trusted to have
/// refused them), and text Docker can hold.
pub(crate) fn labels_allowed(
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<(), Denial> {
    for (key, value) in labels {
        let shown = || key.replace('\0', "\\0");
        if key.starts_with(crate::model::labels::NAMESPACE) {
            return Err(Denial::ReservedLabel { key: shown() });
        }
        if key.is_empty() || key.contains('\0') || value.contains('\0') {
            return Err(Denial::LabelText { key: shown() });
        }
    }
    Ok(())
}

fn container_allowed(scope: &Scope, container: &str) -> Result<(), Denial> {
    if scope.containers.iter().any(|c| c == container) {
        Ok(())
    } else {
        Err(Denial::ForeignContainer {
            resource: scope.resource.clone(),
            container: container.to_string(),
            allowed: scope
                .containers
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

fn exec_allowed(files: &ProjectDir, scope: &Scope, exec: &ExecSpec) -> Result<(), Denial> {
    container_allowed(scope, &exec.container)?;
    if let Some(file) = &exec.stdin_file {
        let rel = relative(file)?;
        if rel.starts_with(crate::project::STATE_DIR) {
            return Err(Denial::Path(format!(
                "`{file}` is inside Clockwork's state folder `.clockwork/`, which is never given to a container"
            )));
        }
        // By what it is, not its name: a link to `.env` or a key is refused.
        files
            .open_shielded(&rel, crate::project::Shield::Secrets)
            .map_err(|e| Denial::Path(e.to_string()))?;
    }
    Ok(())
}

pub(crate) fn mount_allowed(
    files: &ProjectDir,
    scope: &Scope,
    mount: &MountSpec,
) -> Result<(), Denial> {
    if !mount.target.starts_with('/') || mount.target == "/" {
        return Err(Denial::MountTarget {
            target: mount.target.clone(),
        });
    }
    // The state folder holds what only the host may read; of it, a
    // container gets only the certificates made for a TLS connection, read
    // only, and a service's key only where its connection puts it.
    if mount.is_bind()
        && let Ok(rel) = relative(&mount.source)
    {
        let tls = match crate::project::tls::mountable(&rel) {
            _ if !rel.starts_with(crate::project::STATE_DIR) || !mount.read_only => false,
            Some(crate::project::tls::Mountable::Certificate) => true,
            Some(crate::project::tls::Mountable::Key(service)) => {
                if !scope.tls_keys.contains(&service) {
                    return Err(Denial::Path(format!(
                        "bind mount of `{}`: the private key of `{service}` is mounted only into the resource its TLS connection secures",
                        mount.source
                    )));
                }
                true
            }
            None => false,
        };
        if rel.starts_with(crate::project::STATE_DIR) && !tls {
            return Err(Denial::Path(format!(
                "bind mount of `{}`: Clockwork's state folder `.clockwork/` is never mounted into a container",
                mount.source
            )));
        }
        // By what it is, not its name: a link into the state folder, or a
        // hard link to a file in it, is the state folder.
        if !tls {
            files
                .check_shielded(&rel, crate::project::Shield::StateFolder)
                .map_err(|e| Denial::Path(format!("bind mount: {e}")))?;
            no_state_links(files, mount)?;
        }
    }
    // An absolute path the user wrote may still lead into the state folder
    // (through a link, `..`, or spelled out): never mounted either.
    if mount.is_bind() && mount.source.starts_with('/') {
        let resolved = std::fs::canonicalize(&mount.source)
            .unwrap_or_else(|_| std::path::PathBuf::from(&mount.source));
        if resolved.starts_with(files.root().join(crate::project::STATE_DIR)) {
            return Err(Denial::Path(format!(
                "bind mount of `{}`: it is Clockwork's state folder `.clockwork/`, which is never mounted into a container",
                mount.source
            )));
        }
    }
    // `.`: the project folder itself, whose state folder is covered.
    let project_folder = mount.is_bind()
        && !mount.source.trim().is_empty()
        && matches!(
            ProjectDir::relative(&mount.source),
            Err(crate::project::PathError::Empty)
        );
    if project_folder {
        no_state_links(files, mount)?;
    }
    // `.env`, or the folder holding it, gives a container the project's
    // secrets: only when the user wrote that very mount.
    if mount.is_bind() && !mount.source.starts_with('/') && !scope.grants.allows_bind(mount) {
        let holds_env = project_folder
            || relative(&mount.source)
                .ok()
                .is_some_and(|rel| files.holds_env(&rel).unwrap_or(true))
            // A hard link to `.env` could be anywhere in a folder.
            || (files.env_linked_elsewhere() && is_folder(files, &mount.source));
        if holds_env {
            return Err(Denial::SecretsMount {
                path: mount.source.clone(),
            });
        }
    }
    mount_source(files, mount, &scope.grants).map(|_| ())
}

/// A mount's source as the Engine wants it, checked against policy:
/// relative paths stay inside the project folder (links that leave it
/// are refused, links inside it resolved); absolute paths only when the
/// user wrote that very mount in this resource's own fields (`grants`).
pub fn mount_source(
    files: &ProjectDir,
    mount: &MountSpec,
    grants: &crate::model::Grants,
) -> Result<String, Denial> {
    if !mount.is_bind() {
        return Ok(mount.source.clone());
    }
    if Path::new(&mount.source).is_absolute() {
        if grants.allows_bind(mount) {
            return Ok(mount.source.clone());
        }
        return Err(Denial::MountOutside {
            path: mount.source.clone(),
        });
    }
    let bind = |e: crate::project::PathError| Denial::Path(format!("bind mount: {e}"));
    let relative = match ProjectDir::relative(&mount.source) {
        // `.`, the project folder itself (Compose's `.:/app`): its state
        // folder is hidden from the container (see `state_folder_hidden`).
        Err(crate::project::PathError::Empty) if !mount.source.trim().is_empty() => {
            return Ok(files.root().display().to_string());
        }
        relative => relative.map_err(bind)?,
    };
    let resolved = files.host_path(&relative).map_err(bind)?;
    Ok(resolved.display().to_string())
}

/// A folder of the project given to a container could hold a hard link to
/// a state file; while one has such a link, no project folder is mounted.
/// (A file given is checked by what it is.)
fn no_state_links(files: &ProjectDir, mount: &MountSpec) -> Result<(), Denial> {
    if !is_folder(files, &mount.source) {
        return Ok(());
    }
    match files.state_file_linked_elsewhere() {
        Ok(None) => Ok(()),
        Ok(Some(linked)) => Err(Denial::Path(format!(
            "bind mount of `{}`: `{}` has a hard link elsewhere, which a container given a folder of the project could read; remove that link",
            mount.source,
            linked.display()
        ))),
        Err(e) => Err(Denial::Path(format!("bind mount: {e}"))),
    }
}

/// Whether a bind's project-relative `source` is a folder (`.` included).
fn is_folder(files: &ProjectDir, source: &str) -> bool {
    let rel = ProjectDir::relative(source).unwrap_or_default();
    let rel = if rel.as_os_str().is_empty() {
        std::path::PathBuf::from(".")
    } else {
        rel
    };
    files.metadata(&rel).is_ok_and(|m| m.is_dir())
}

/// Whether `scope` may write `rel` now: a file Clockwork wrote for this
/// resource and nobody changed since, a new file, or — when the user said
/// `overwrite=True` — any file that is not the project's own.
pub fn check_file_ownership(
    files: &ProjectDir,
    state: &State,
    scope: &Scope,
    path: &str,
) -> Result<(), Denial> {
    let rel = relative(path)?;
    let key = rel.display().to_string();
    let unreadable = |e: crate::project::PathError| Denial::Path(e.to_string());
    let current = match files.entry(&rel).map_err(unreadable)? {
        Entry::Missing => return Ok(()),
        Entry::File(_) => sha256_hex(&files.read(&rel).map_err(unreadable)?),
        Entry::Dir => return Err(Denial::Folder { path: key }),
        Entry::Link { .. } => return Err(Denial::Link { path: key }),
        Entry::Special(what) => {
            return Err(Denial::Special {
                path: key,
                what: what.to_string(),
            });
        }
    };
    let stamp = files.stamp(&rel).map_err(unreadable)?;
    let written = state
        .files
        .get(&key)
        .map(|r| (r, r.judge(&current, stamp, state.is_of(files))));
    match written {
        Some((r, _)) if r.resource != scope.resource => Err(Denial::WrittenByOther {
            path: key,
            owner: r.resource.clone(),
            resource: scope.resource.clone(),
        }),
        Some((_, crate::state::Written::ByClockwork)) => Ok(()),
        _ if scope.overwrite => Ok(()),
        // What Clockwork wrote, in another file: a copy, a restore — or a
        // record from a handed-over state describing a file it ships.
        Some((_, crate::state::Written::OtherFile)) => Err(Denial::OtherFile { path: key }),
        Some((_, crate::state::Written::Changed)) => Err(Denial::ChangedByHand { path: key }),
        None => Err(Denial::NotClockworks { path: key }),
    }
}

/// The host-port bindings of a container spec, `ip:port/proto`, for
/// finding two resources that publish the same one.
pub fn host_ports(spec: &ContainerSpec) -> Vec<(String, String)> {
    spec.ports
        .iter()
        .filter_map(|p| {
            let m = clockwork_schema::parse_port(p).ok()?;
            let port = m.host_port?;
            let proto = if m.protocol == clockwork_schema::Protocol::Udp {
                "udp"
            } else {
                "tcp"
            };
            let ip = m
                .host_ip
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "0.0.0.0".into());
            Some((format!("{ip}:{port}/{proto}"), p.clone()))
        })
        .collect()
}

/// Whether two bindings clash: the same port and protocol, and the same
/// address or one of them on every address.
pub fn ports_clash(a: &str, b: &str) -> bool {
    let split = |s: &str| {
        let (ip, rest) = s.rsplit_once(':').unwrap_or(("0.0.0.0", s));
        (ip.to_string(), rest.to_string())
    };
    let (ip_a, port_a) = split(a);
    let (ip_b, port_b) = split(b);
    port_a == port_b && (ip_a == ip_b || ip_a == "0.0.0.0" || ip_b == "0.0.0.0")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy as the host runs it: with its drivers.
    fn check(files: &ProjectDir, scope: &Scope, action: &Action) -> Result<(), Denial> {
        super::check(files, scope, action, crate::driver::Drivers::bundled())
    }
    use clockwork_schema::ValueType;
    use serde_json::json;

    fn project() -> (tempfile::TempDir, ProjectDir) {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        (tmp, ProjectDir::open(&root).unwrap())
    }

    fn write(path: &str, content: &str) -> Action {
        Action::WriteFile(json!({"path": path, "content": content, "mode": "600"}).to_string())
    }

    #[test]
    fn a_resource_touches_its_own_container_only() {
        let (_tmp, files) = project();
        let scope = Scope::of("db", "DockerResource");
        let container = |name: &str| {
            Action::EnsureContainer(
                json!({"name": name, "image": "postgres:15-alpine"}).to_string(),
            )
        };
        assert!(check(&files, &scope, &container("db")).is_ok());
        assert!(check(&files, &scope, &container("db-replica")).is_err());
        assert!(
            check(
                &files,
                &scope,
                &Action::RemoveContainer("db-replica".into())
            )
            .is_err()
        );
        assert!(check(&files, &scope, &Action::RemoveContainer("db".into())).is_ok());
        let host = Action::EnsureContainer(
            json!({"name": "db", "image": "x", "networks": ["host"]}).to_string(),
        );
        assert_eq!(
            check(&files, &scope, &host),
            Err(Denial::ReservedNetwork {
                name: "host".into()
            })
        );
        let nul = Action::EnsureContainer(
            json!({"name": "db", "image": "x", "env": {"A": "a\u{0}b"}}).to_string(),
        );
        assert_eq!(
            check(&files, &scope, &nul),
            Err(Denial::NulInEnv { key: "A".into() })
        );
        // Every denial says what to do about it.
        let privileged = Action::EnsureContainer(
            json!({"name": "db", "image": "x", "privileged": true}).to_string(),
        );
        let denial = check(&files, &scope, &privileged).unwrap_err();
        assert_eq!(denial, Denial::ForbiddenSetting { key: "privileged" });
        assert!(denial.fix().contains("leave it out"), "{}", denial.fix());
        let code = miette::Diagnostic::code(&denial).map(|c| c.to_string());
        assert_eq!(
            code.as_deref(),
            Some("clockwork::policy::forbidden_setting")
        );
    }

    /// A plugin is not trusted to have refused a user's `dev.clockwork.`
    /// label: the host refuses it too, so no spec can forge ownership.
    #[test]
    fn a_spec_cannot_set_clockworks_own_labels() {
        let (_tmp, files) = project();
        let scope = Scope::of("web", "DockerResource");
        let labelled = |labels: Json| {
            Action::EnsureContainer(
                json!({"name": "web", "image": "nginx:alpine", "labels": labels}).to_string(),
            )
        };
        assert_eq!(
            check(
                &files,
                &scope,
                &labelled(json!({"com.example.role": "web"}))
            ),
            Ok(())
        );
        for key in [
            "dev.clockwork.project-id",
            "dev.clockwork.project",
            "dev.clockwork.resource",
            "dev.clockwork.must-run",
        ] {
            let denial = check(&files, &scope, &labelled(json!({ key: "x" }))).unwrap_err();
            assert_eq!(denial, Denial::ReservedLabel { key: key.into() });
            assert_eq!(denial.kind(), "reserved_label");
        }
        assert_eq!(
            check(&files, &scope, &labelled(json!({"": "x"}))),
            Err(Denial::LabelText { key: String::new() })
        );
        assert_eq!(
            check(&files, &scope, &labelled(json!({"a": "b\u{0}"}))),
            Err(Denial::LabelText { key: "a".into() })
        );
        let entry = Action::EnsureContainer(
            json!({"name": "web", "image": "x", "entrypoint": ["sh\u{0}"]}).to_string(),
        );
        assert_eq!(check(&files, &scope, &entry), Err(Denial::NulInEntrypoint));
    }

    /// `.env`, the project folder that holds it, and a service's TLS key
    /// reach a container only where the user (or the key's connection)
    /// put them.
    #[test]
    fn the_projects_secrets_are_mounted_only_where_granted() {
        let (tmp, files) = project();
        std::fs::write(tmp.path().join(".env"), "A=1\n").unwrap();
        std::os::unix::fs::symlink(".env", tmp.path().join("env-link")).unwrap();
        std::fs::create_dir_all(tmp.path().join(".clockwork/tls/api")).unwrap();
        std::fs::write(tmp.path().join(".clockwork/tls/api/key.pem"), "KEY").unwrap();
        std::fs::write(tmp.path().join(".clockwork/tls/api/cert.pem"), "CERT").unwrap();
        let container = |source: &str| {
            Action::EnsureContainer(
                json!({"name": "web", "image": "x", "mounts": [{"source": source, "target": "/m", "read_only": true}]})
                    .to_string(),
            )
        };
        let scope = Scope::of("web", "DockerResource");
        // A folder a linked `.env` points into holds it too.
        std::fs::create_dir(tmp.path().join("secrets")).unwrap();
        std::fs::write(tmp.path().join("secrets/dev.env"), "B=2\n").unwrap();
        std::fs::remove_file(tmp.path().join(".env")).unwrap();
        std::os::unix::fs::symlink("secrets/dev.env", tmp.path().join(".env")).unwrap();
        for source in [
            "./.env",
            "./env-link",
            ".",
            "./",
            "./secrets",
            "./sub/../secrets",
        ] {
            assert_eq!(
                check(&files, &scope, &container(source)),
                Err(Denial::SecretsMount {
                    path: source.into()
                }),
                "{source}"
            );
        }
        let mut granted = Scope::of("web", "DockerResource");
        granted.grants = Grants::of_user_fields(
            json!({"volumes": ["./.env:/m:ro", ".:/m:ro"]})
                .as_object()
                .unwrap(),
            |_| ValueType::parse("list<mount>").ok(),
        );
        assert_eq!(check(&files, &granted, &container("./.env")), Ok(()));
        assert_eq!(check(&files, &granted, &container(".")), Ok(()));
        // While `.env` has a hard link, no folder of the project is given.
        std::fs::create_dir(tmp.path().join("config")).unwrap();
        assert!(check(&files, &scope, &container("./config")).is_ok());
        std::fs::hard_link(
            tmp.path().join("secrets/dev.env"),
            tmp.path().join("config/app.env"),
        )
        .unwrap();
        assert_eq!(
            check(&files, &scope, &container("./config")),
            Err(Denial::SecretsMount {
                path: "./config".into()
            })
        );
        // The certificate is public; the key only where its connection goes.
        let key = container("./.clockwork/tls/api/key.pem");
        assert!(check(&files, &scope, &container("./.clockwork/tls/api/cert.pem")).is_ok());
        assert!(check(&files, &scope, &key).is_err());
        let mut secured = Scope::of("web", "DockerResource");
        secured.tls_keys = vec!["api".into()];
        assert_eq!(check(&files, &secured, &key), Ok(()));
    }

    #[test]
    fn files_stay_inside_the_project_and_out_of_its_own_files() {
        let (_tmp, files) = project();
        let scope = Scope::of("notes", "FileResource");
        assert!(check(&files, &scope, &write("conf/app.json", "{}")).is_ok());
        for bad in [
            "../escape",
            "/etc/passwd",
            ".clockwork/state.json",
            "",
            "main.star",
            "clockwork.toml",
            ".env",
            "plugins/x.wasm",
            "~/x",
        ] {
            assert!(check(&files, &scope, &write(bad, "")).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_ports_clash_on_the_same_port_and_address() {
        assert!(ports_clash("0.0.0.0:8080/tcp", "127.0.0.1:8080/tcp"));
        assert!(!ports_clash("127.0.0.1:8080/tcp", "127.0.0.2:8080/tcp"));
        assert!(!ports_clash("0.0.0.0:8080/tcp", "0.0.0.0:8080/udp"));
        let spec: ContainerSpec = serde_json::from_value(
            json!({"name": "web", "image": "x", "ports": ["8080:80", "80", "127.0.0.1:53:53/udp"]}),
        )
        .unwrap();
        let ports: Vec<String> = host_ports(&spec).into_iter().map(|p| p.0).collect();
        assert_eq!(ports, ["0.0.0.0:8080/tcp", "127.0.0.1:53/udp"]);
    }
}
