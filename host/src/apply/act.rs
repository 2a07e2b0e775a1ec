//! One action: parsed strictly, checked against policy, executed.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, Permissions, PermissionsExt};
use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, FileSpec, NetworkSpec, VolumeSpec, WaitSpec,
};
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError};
use crate::plugin::bindings::types::Action;
use crate::state::STATE_DIR;

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

fn parse<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid {what} payload: {e}"))
}

/// A short name for an action, for progress and the journal.
pub fn describe(action: &Action) -> String {
    match action {
        Action::EnsureImage(s) => format!(
            "ensure image {}",
            serde_json::from_str::<Json>(s)
                .ok()
                .and_then(|v| v["image"].as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Action::EnsureContainer(_) => "ensure container".into(),
        Action::RemoveContainer(n) => format!("remove container {n}"),
        Action::EnsureNetwork(s) => format!(
            "ensure network {}",
            serde_json::from_str::<Json>(s)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Action::RemoveNetwork(n) => format!("remove network {n}"),
        Action::EnsureVolume(s) => format!(
            "ensure volume {}",
            serde_json::from_str::<Json>(s)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Action::RemoveVolume(n) => format!("remove volume {n}"),
        Action::WriteFile(s) => format!(
            "write {}",
            serde_json::from_str::<Json>(s)
                .ok()
                .and_then(|v| v["path"].as_str().map(str::to_string))
                .unwrap_or_default()
        ),
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

/// Whether a container name belongs to `resource`: its own name, or one
/// starting with it and `-` for types that run several containers.
fn owns(resource: &str, container: &str) -> bool {
    container == resource
        || container
            .strip_prefix(resource)
            .is_some_and(|rest| rest.starts_with('-'))
}

/// What executing actions needs.
pub struct Actor<'a> {
    /// The Engine, when one answers.
    pub engine: Option<&'a Engine>,
    /// The project folder.
    pub dir: &'a Path,
    /// How long a container may take to stop before it is killed.
    pub grace: Duration,
}

impl Actor<'_> {
    fn engine(&self) -> Result<&Engine, String> {
        self.engine
            .ok_or_else(|| "this action needs a Docker Engine, and none answers".to_string())
    }

    /// Runs one action of `resource`; `user_paths` are the absolute bind
    /// sources the user wrote for it.
    pub async fn act(
        &self,
        resource: &str,
        user_paths: &[String],
        action: &Action,
    ) -> Result<Json, String> {
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
                let raw: Json = parse("ensure-container", spec)?;
                if let Some(key) = FORBIDDEN.iter().find(|k| raw.get(**k).is_some()) {
                    return Err(format!("refused by policy: containers may not set `{key}`"));
                }
                let spec: ContainerSpec = parse("ensure-container", spec)?;
                if !owns(resource, &spec.name) {
                    return Err(format!(
                        "refused by policy: `{resource}` may not create a container named `{}`",
                        spec.name
                    ));
                }
                self.engine()?
                    .ensure_container(resource, &spec, user_paths)
                    .await
                    .map_err(engine_error)
            }
            Action::RemoveContainer(name) => {
                if !owns(resource, name) {
                    return Err(format!(
                        "refused by policy: `{resource}` may not remove container `{name}`"
                    ));
                }
                self.engine()?
                    .remove_container(name, self.grace)
                    .await
                    .map_err(engine_error)
            }
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
                write_file(self.dir, &parse::<FileSpec>("write-file", spec)?)
            }
            Action::RemovePath(path) => remove_path(self.dir, path),
            Action::Exec(spec) => {
                let spec: ExecSpec = parse("exec", spec)?;
                let out = self.engine()?.exec(&spec).await.map_err(engine_error)?;
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
                .wait(&parse::<WaitSpec>("wait", spec)?)
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
}

/// A project-relative path, refusing anything that leaves the project or
/// touches the state folder.
fn inside(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path.trim_start_matches("./"));
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "refused by policy: `{path}` is outside the project folder"
                ));
            }
        }
    }
    if out.as_os_str().is_empty() || out.starts_with(STATE_DIR) {
        return Err(format!(
            "refused by policy: `{path}` is not a file Clockwork may write"
        ));
    }
    Ok(out)
}

/// Why a write under `path` failed when one of its folders is a symbolic
/// link (cap-std does not follow links out of the project, and says only
/// "file exists" or "permission denied").
fn through_link(root: &Dir, path: &Path, shown: &str) -> Option<String> {
    let mut prefix = PathBuf::new();
    for c in path.components() {
        prefix.push(c);
        if root
            .symlink_metadata(&prefix)
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Some(format!(
                "refused by policy: `{shown}` goes through the symbolic link `{}`; files are written inside the project folder only",
                prefix.display()
            ));
        }
    }
    None
}

/// Writes a file atomically inside the project folder, through cap-std.
fn write_file(dir: &Path, spec: &FileSpec) -> Result<Json, String> {
    let relative = inside(&spec.path)?;
    let mode = u32::from_str_radix(&spec.mode, 8)
        .map_err(|_| format!("`{}` is not an octal mode", spec.mode))?;
    let root = Dir::open_ambient_dir(dir, ambient_authority())
        .map_err(|e| format!("cannot open the project folder: {e}"))?;
    if let Some(parent) = relative.parent().filter(|p| !p.as_os_str().is_empty()) {
        root.create_dir_all(parent).map_err(|e| {
            through_link(&root, parent, &spec.path)
                .unwrap_or_else(|| format!("cannot create `{}`: {e}", parent.display()))
        })?;
    }
    let tmp = relative.with_file_name(format!(
        ".{}.clockwork-tmp",
        relative
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut file = root
        .open_with(
            &tmp,
            OpenOptions::new().write(true).create(true).truncate(true),
        )
        .map_err(|e| {
            through_link(&root, &relative, &spec.path)
                .unwrap_or_else(|| format!("cannot write `{}`: {e}", spec.path))
        })?;
    file.write_all(spec.content.as_bytes())
        .map_err(|e| format!("cannot write `{}`: {e}", spec.path))?;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of `{}`: {e}", spec.path))?;
    drop(file);
    root.rename(&tmp, &root, &relative)
        .map_err(|e| format!("cannot write `{}`: {e}", spec.path))?;
    Ok(json!({"path": spec.path, "bytes": spec.content.len()}))
}

/// Removes a file inside the project folder; a missing one is fine.
fn remove_path(dir: &Path, path: &str) -> Result<Json, String> {
    let relative = inside(path)?;
    let root = Dir::open_ambient_dir(dir, ambient_authority())
        .map_err(|e| format!("cannot open the project folder: {e}"))?;
    match root.remove_file(&relative) {
        Ok(()) => Ok(json!({"removed": true})),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({"removed": false})),
        Err(e) => Err(format!("cannot remove `{path}`: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_stay_inside_the_project_and_out_of_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let spec = FileSpec {
            path: "conf/app.json".into(),
            content: "{}".into(),
            mode: "600".into(),
        };
        write_file(dir.path(), &spec).unwrap();
        let meta = std::fs::metadata(dir.path().join("conf/app.json")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        for bad in ["../escape", "/etc/passwd", ".clockwork/state.json", ""] {
            let spec = FileSpec {
                path: bad.into(),
                content: String::new(),
                mode: "644".into(),
            };
            assert!(
                write_file(dir.path(), &spec)
                    .unwrap_err()
                    .starts_with("refused by policy"),
                "{bad}"
            );
        }
        assert_eq!(
            remove_path(dir.path(), "conf/app.json").unwrap()["removed"],
            true
        );
        assert_eq!(
            remove_path(dir.path(), "conf/app.json").unwrap()["removed"],
            false
        );
    }

    #[test]
    fn a_resource_owns_its_own_containers_only() {
        assert!(owns("db", "db"));
        assert!(owns("db", "db-replica"));
        assert!(!owns("db", "dbx"));
        assert!(!owns("db", "api"));
    }
}
