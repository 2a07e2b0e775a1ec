//! One action: parsed strictly, checked against policy, executed.
//!
//! [`check`] is the policy, and it is the same whether `plan` asks (to
//! report a problem at the declaration before anything happens) or the
//! executor does (right before acting, in case the world moved).

use std::sync::Mutex;
use std::time::Duration;

use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, FileSpec, MountSpec, NetworkSpec, VolumeSpec, WaitCondition, WaitSpec,
};
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError};
use crate::plugin::bindings::types::Action;
use crate::project::{Entry, ProjectDir};
use crate::state::{FileRecord, State, sha256_hex};

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

fn parse<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid {what} payload: {e}"))
}

/// A short name for an action, for progress and the journal.
pub fn describe(action: &Action) -> String {
    let field = |s: &str, key: &str| {
        serde_json::from_str::<Json>(s)
            .ok()
            .and_then(|v| v[key].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    match action {
        Action::EnsureImage(s) => format!("ensure image {}", field(s, "image")),
        Action::EnsureContainer(_) => "ensure container".into(),
        Action::RemoveContainer(n) => format!("remove container {n}"),
        Action::EnsureNetwork(s) => format!("ensure network {}", field(s, "name")),
        Action::RemoveNetwork(n) => format!("remove network {n}"),
        Action::EnsureVolume(s) => format!("ensure volume {}", field(s, "name")),
        Action::RemoveVolume(n) => format!("remove volume {n}"),
        Action::WriteFile(s) => format!("write {}", field(s, "path")),
        Action::RemovePath(p) => format!("remove {p}"),
        Action::Exec(_) => "exec".into(),
        Action::Wait(_) => "wait".into(),
        Action::CallPlugin(_) => "call plugin".into(),
        Action::Ext((driver, op, _)) => format!("{driver} {op}"),
    }
}

/// An action as JSON: `{"action": "ensure-container", ...its payload}`,
/// for `plan --json` and the journal.
pub fn action_json(action: &Action) -> Json {
    let payload = |kind: &str, text: &str| {
        let mut v = json!({"action": kind});
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(fields)) => v
                .as_object_mut()
                .into_iter()
                .for_each(|o| o.extend(fields.clone())),
            Ok(other) => v["payload"] = other,
            Err(_) => v["payload"] = Json::String(text.to_string()),
        }
        v
    };
    match action {
        Action::EnsureImage(s) => payload("ensure-image", s),
        Action::EnsureContainer(s) => payload("ensure-container", s),
        Action::RemoveContainer(n) => json!({"action": "remove-container", "name": n}),
        Action::EnsureNetwork(s) => payload("ensure-network", s),
        Action::RemoveNetwork(n) => json!({"action": "remove-network", "name": n}),
        Action::EnsureVolume(s) => payload("ensure-volume", s),
        Action::RemoveVolume(n) => json!({"action": "remove-volume", "name": n}),
        Action::WriteFile(s) => payload("write-file", s),
        Action::RemovePath(p) => json!({"action": "remove-path", "path": p}),
        Action::Exec(s) => payload("exec", s),
        Action::Wait(s) => payload("wait", s),
        Action::CallPlugin(s) => payload("call-plugin", s),
        Action::Ext((driver, op, s)) => {
            let mut v = payload("ext", s);
            v["driver"] = Json::String(driver.clone());
            v["op"] = Json::String(op.clone());
            v
        }
    }
}

/// Who acts, and what they may touch.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The resource whose job this is.
    pub resource: String,
    /// Resources whose containers its commands may run in: itself, plus
    /// both ends of a connection for that connection's setup steps.
    pub containers: Vec<String>,
    /// Absolute bind sources the user wrote in this resource's `volumes`.
    pub user_paths: Vec<String>,
    /// Whether the user declared `overwrite=True`: files it did not write
    /// may be replaced.
    pub overwrite: bool,
}

impl Scope {
    /// The scope of a resource's own actions.
    pub fn of(resource: &str) -> Scope {
        Scope {
            resource: resource.to_string(),
            containers: vec![resource.to_string()],
            user_paths: Vec::new(),
            overwrite: false,
        }
    }
}

/// A docker-safe network name.
fn valid_network(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn network_allowed(name: &str) -> Result<(), String> {
    if RESERVED_NETWORKS.contains(&name) {
        return Err(format!(
            "`{name}` is one of Docker's own networks, not the project's; containers join project networks only (`host` would share this machine's network)"
        ));
    }
    if !valid_network(name) {
        return Err(format!(
            "`{name}` is not a valid network name: use letters, digits, `_`, `.` and `-`, at most 63, starting with a letter or digit"
        ));
    }
    Ok(())
}

fn relative(path: &str) -> Result<std::path::PathBuf, String> {
    ProjectDir::relative(path).map_err(|e| e.to_string())
}

/// The policy for one action of `scope`, without acting: what a plugin may
/// ask the host to do. Checked at `plan` and again right before acting.
pub fn check(files: &ProjectDir, scope: &Scope, action: &Action) -> Result<(), String> {
    match action {
        Action::EnsureContainer(spec) => {
            let raw: Json = parse("ensure-container", spec)?;
            if let Some(key) = FORBIDDEN.iter().find(|k| raw.get(**k).is_some()) {
                return Err(format!("containers may not set `{key}`"));
            }
            let spec: ContainerSpec = parse("ensure-container", spec)?;
            if spec.name != scope.resource {
                return Err(format!(
                    "`{}` may not create a container named `{}`: a resource's container has its name",
                    scope.resource, spec.name
                ));
            }
            if spec.image.trim().is_empty() {
                return Err("the container has no image".into());
            }
            for network in &spec.networks {
                network_allowed(network)?;
            }
            for (key, value) in &spec.env {
                if key.contains(['\0', '=']) || key.is_empty() {
                    return Err(format!(
                        "`{}` is not a valid environment variable name",
                        key.replace('\0', "\\0")
                    ));
                }
                if value.contains('\0') {
                    return Err(format!(
                        "environment variable `{key}` contains a NUL byte, which environment variables cannot hold"
                    ));
                }
            }
            if spec.command.iter().flatten().any(|a| a.contains('\0')) {
                return Err("`command` contains a NUL byte, which arguments cannot hold".into());
            }
            for mount in &spec.mounts {
                mount_allowed(files, scope, mount)?;
            }
            Ok(())
        }
        Action::RemoveContainer(name) if *name != scope.resource => Err(format!(
            "`{}` may not remove container `{name}`: it is not its own",
            scope.resource
        )),
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
            files.check_write(&rel).map_err(|e| e.to_string())?;
            u32::from_str_radix(&spec.mode, 8)
                .map(|_| ())
                .map_err(|_| format!("`{}` is not an octal mode", spec.mode))
        }
        Action::RemovePath(path) => {
            let rel = relative(path)?;
            files.check_write(&rel).map_err(|e| e.to_string())
        }
        Action::Exec(spec) => exec_allowed(files, scope, &parse::<ExecSpec>("exec", spec)?),
        Action::Wait(spec) => match parse::<WaitSpec>("wait", spec)?.condition {
            WaitCondition::Exec(exec) => exec_allowed(files, scope, &exec),
            WaitCondition::Healthy { container } => container_allowed(scope, &container),
            // Probes from this machine go to this machine's ports only.
            WaitCondition::Tcp { host, .. } => match host.as_str() {
                "127.0.0.1" | "localhost" | "::1" => Ok(()),
                other => Err(format!(
                    "a wait may probe this machine's published ports only (`127.0.0.1`), not `{other}`"
                )),
            },
        },
        _ => Ok(()),
    }
}

fn container_allowed(scope: &Scope, container: &str) -> Result<(), String> {
    if scope.containers.iter().any(|c| c == container) {
        Ok(())
    } else {
        Err(format!(
            "`{}` may not run commands in container `{container}`, which is not one of {}",
            scope.resource,
            scope
                .containers
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

fn exec_allowed(files: &ProjectDir, scope: &Scope, exec: &ExecSpec) -> Result<(), String> {
    container_allowed(scope, &exec.container)?;
    if let Some(file) = &exec.stdin_file {
        let rel = relative(file)?;
        files.read(&rel).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn mount_allowed(files: &ProjectDir, scope: &Scope, mount: &MountSpec) -> Result<(), String> {
    if !mount.target.starts_with('/') || mount.target == "/" {
        return Err(format!(
            "mount target `{}` must be an absolute path inside the container other than `/`",
            mount.target
        ));
    }
    Engine::mount_source(files, mount, &scope.user_paths)
        .map(|_| ())
        .map_err(|e| match e {
            EngineError::Policy(m) => m,
            other => other.to_string(),
        })
}

/// Whether `scope` may write `rel` now: a file Clockwork wrote for this
/// resource and nobody changed since, a new file, or — when the user said
/// `overwrite=True` — any file that is not the project's own.
pub fn check_file_ownership(
    files: &ProjectDir,
    state: &State,
    scope: &Scope,
    path: &str,
) -> Result<(), String> {
    let rel = relative(path)?;
    let key = rel.display().to_string();
    let current = match files.entry(&rel).map_err(|e| e.to_string())? {
        Entry::Missing => return Ok(()),
        Entry::File(_) => sha256_hex(&files.read(&rel).map_err(|e| e.to_string())?),
        Entry::Dir => return Err(format!("`{key}` is a folder")),
        Entry::Link { .. } => {
            return Err(format!(
                "`{key}` is a symbolic link; Clockwork does not write through links"
            ));
        }
        Entry::Special(what) => return Err(format!("`{key}` is {what}")),
    };
    match state.files.get(&key) {
        Some(r) if r.resource != scope.resource => Err(format!(
            "`{key}` was written by `{}`, not by `{}`",
            r.resource, scope.resource
        )),
        Some(r) if r.sha256 == current => Ok(()),
        _ if scope.overwrite => Ok(()),
        Some(_) => Err(format!(
            "`{key}` was changed by hand since Clockwork wrote it; Clockwork does not overwrite your changes: copy them into the declaration, delete the file, or set `overwrite=True`"
        )),
        None => Err(format!(
            "`{key}` already exists and was not written by Clockwork; Clockwork does not overwrite it: choose another path, delete the file, or set `overwrite=True`"
        )),
    }
}

/// What executing actions needs.
pub struct Actor<'a> {
    /// The Engine, when one answers.
    pub engine: Option<&'a Engine>,
    /// The project folder.
    pub files: &'a ProjectDir,
    /// The state, for the record of written files.
    pub state: &'a Mutex<State>,
    /// How long a container may take to stop before it is killed.
    pub grace: Duration,
}

impl Actor<'_> {
    fn engine(&self) -> Result<&Engine, String> {
        self.engine
            .ok_or_else(|| "this action needs a Docker Engine, and none answers".to_string())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one action of `scope`, after checking it against policy.
    pub async fn act(&self, scope: &Scope, action: &Action) -> Result<Json, String> {
        check(self.files, scope, action).map_err(|e| format!("refused by policy: {e}"))?;
        let engine_error = |e: EngineError| e.to_string();
        match action {
            Action::EnsureImage(spec) => {
                let v: Json = parse("ensure-image", spec)?;
                let image = v["image"].as_str().ok_or("ensure-image needs `image`")?;
                self.engine()?
                    .ensure_image(image)
                    .await
                    .map_err(engine_error)
            }
            Action::EnsureNetwork(spec) => self
                .engine()?
                .ensure_network(&parse::<NetworkSpec>("ensure-network", spec)?)
                .await
                .map_err(engine_error),
            Action::EnsureVolume(spec) => self
                .engine()?
                .ensure_volume(&parse::<VolumeSpec>("ensure-volume", spec)?)
                .await
                .map_err(engine_error),
            Action::EnsureContainer(spec) => {
                let spec: ContainerSpec = parse("ensure-container", spec)?;
                self.engine()?
                    .ensure_container(&scope.resource, &spec, &scope.user_paths, self.grace)
                    .await
                    .map_err(engine_error)
            }
            Action::RemoveContainer(name) => self
                .engine()?
                .remove_container(&scope.resource, name, self.grace)
                .await
                .map_err(engine_error),
            Action::RemoveNetwork(name) => self
                .engine()?
                .remove_network(name)
                .await
                .map_err(engine_error)
                .map(|()| json!({})),
            Action::RemoveVolume(name) => self
                .engine()?
                .remove_volume(name)
                .await
                .map_err(engine_error)
                .map(|()| json!({})),
            Action::WriteFile(spec) => {
                self.write_file(scope, &parse::<FileSpec>("write-file", spec)?)
            }
            Action::RemovePath(path) => self.remove_path(scope, path),
            Action::Exec(spec) => {
                let spec: ExecSpec = parse("exec", spec)?;
                let out = self
                    .engine()?
                    .exec(&spec, &scope.containers)
                    .await
                    .map_err(engine_error)?;
                if out.code == 0 {
                    Ok(json!({"exit_code": 0}))
                } else {
                    Err(format!(
                        "`{}` in `{}` exited with code {}: {}",
                        spec.argv.join(" "),
                        spec.container,
                        out.code,
                        out.output.trim()
                    ))
                }
            }
            Action::Wait(spec) => self
                .engine()?
                .wait(&parse::<WaitSpec>("wait", spec)?, &scope.containers)
                .await
                .map_err(engine_error),
            Action::CallPlugin(_) => Err(
                "`call-plugin` actions are not supported by this version of Clockwork yet".into(),
            ),
            Action::Ext((driver, op, _)) => Err(format!(
                "no `{driver}` driver in this version of Clockwork (asked for `{op}`)"
            )),
        }
    }

    /// Writes a file atomically inside the project folder, if it is this
    /// resource's to write, and records it with its content hash.
    fn write_file(&self, scope: &Scope, spec: &FileSpec) -> Result<Json, String> {
        let rel = relative(&spec.path)?;
        let key = rel.display().to_string();
        let mode = u32::from_str_radix(&spec.mode, 8)
            .map_err(|_| format!("`{}` is not an octal mode", spec.mode))?;
        let mut state = self.state();
        check_file_ownership(self.files, &state, scope, &spec.path)?;
        self.files
            .write_atomic(&rel, spec.content.as_bytes(), mode)
            .map_err(|e| format!("cannot write `{key}`: {e}"))?;
        state.files.insert(
            key.clone(),
            FileRecord {
                resource: scope.resource.clone(),
                sha256: sha256_hex(spec.content.as_bytes()),
            },
        );
        Ok(json!({"path": key, "bytes": spec.content.len()}))
    }

    /// Removes a file this resource wrote, unless it was changed since:
    /// then it is kept, and the result says why.
    fn remove_path(&self, scope: &Scope, path: &str) -> Result<Json, String> {
        let rel = relative(path)?;
        let key = rel.display().to_string();
        let mut state = self.state();
        let record = state.files.get(&key).cloned();
        let kept = |why: &str| {
            Ok(json!({"removed": false, "kept": format!("`{key}` {why}; it was left in place")}))
        };
        let Some(record) = record.filter(|r| r.resource == scope.resource) else {
            return kept("was not written by Clockwork for this resource");
        };
        let current = match self.files.entry(&rel).map_err(|e| e.to_string())? {
            Entry::Missing => {
                state.files.remove(&key);
                return Ok(json!({"removed": false}));
            }
            Entry::File(_) => sha256_hex(&self.files.read(&rel).map_err(|e| e.to_string())?),
            _ => return kept("is no longer a regular file"),
        };
        state.files.remove(&key);
        if current != record.sha256 {
            return kept("was changed by hand since Clockwork wrote it");
        }
        self.files
            .remove_file(&rel)
            .map_err(|e| format!("cannot remove `{key}`: {e}"))?;
        Ok(json!({"removed": true}))
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
        let scope = Scope::of("db");
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
        assert!(
            check(&files, &scope, &host)
                .unwrap_err()
                .contains("Docker's own networks")
        );
        let nul = Action::EnsureContainer(
            json!({"name": "db", "image": "x", "env": {"A": "a\u{0}b"}}).to_string(),
        );
        assert!(check(&files, &scope, &nul).unwrap_err().contains("NUL"));
    }

    #[test]
    fn files_stay_inside_the_project_and_out_of_its_own_files() {
        let (_tmp, files) = project();
        let scope = Scope::of("notes");
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
    fn only_files_clockwork_wrote_are_overwritten_or_removed() {
        let (tmp, files) = project();
        let state = Mutex::new(State {
            version: crate::state::VERSION,
            project: "p".into(),
            project_id: None,
            adopted: Vec::new(),
            resources: Default::default(),
            setup: Default::default(),
            files: Default::default(),
            unknown: Default::default(),
        });
        let actor = Actor {
            engine: None,
            files: &files,
            state: &state,
            grace: Duration::ZERO,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let act = |scope: &Scope, action: Action| rt.block_on(actor.act(scope, &action));
        let notes = Scope::of("notes");
        let other = Scope::of("other");

        std::fs::write(tmp.path().join("mine.txt"), "the user's").unwrap();
        let refused = act(&notes, write("mine.txt", "x")).unwrap_err();
        assert!(
            refused.contains("was not written by Clockwork"),
            "{refused}"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("mine.txt")).unwrap(),
            "the user's"
        );
        let kept = act(&notes, Action::RemovePath("mine.txt".into())).unwrap();
        assert_eq!(kept["removed"], false);
        assert!(tmp.path().join("mine.txt").exists());

        act(&notes, write("out/a.txt", "one")).unwrap();
        act(&notes, write("out/a.txt", "two")).unwrap();
        assert!(
            act(&other, write("out/a.txt", "three"))
                .unwrap_err()
                .contains("was written by `notes`")
        );
        std::fs::write(tmp.path().join("out/a.txt"), "edited").unwrap();
        assert!(
            act(&notes, write("out/a.txt", "four"))
                .unwrap_err()
                .contains("changed by hand")
        );
        let kept = act(&notes, Action::RemovePath("out/a.txt".into())).unwrap();
        assert_eq!(kept["removed"], false, "{kept}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("out/a.txt")).unwrap(),
            "edited"
        );

        let forced = Scope {
            overwrite: true,
            ..Scope::of("notes")
        };
        act(&forced, write("mine.txt", "replaced")).unwrap();
        assert_eq!(
            act(&notes, Action::RemovePath("mine.txt".into())).unwrap()["removed"],
            true
        );
        assert!(!tmp.path().join("mine.txt").exists());
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
