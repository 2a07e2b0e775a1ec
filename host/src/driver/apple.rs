//! The host's Apple `container` driver, for the `ext("apple-container", …)`
//! actions an `AppleContainerResource` plans: `run` and `delete`, carried
//! out with Apple's `container` CLI on macOS — no shell, a deadline. On any
//! other system the actions are refused at `plan`, at the declaration.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::DriverError;

/// The driver's name in `ext` actions.
const DRIVER: &str = "apple-container";

/// The program the driver runs.
const PROGRAM: &str = "container";

/// Why the `apple-container` driver refused or failed an action; a
/// source of [`DriverError::Apple`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AppleError {
    /// This machine cannot run Apple's `container`.
    #[error(
        "AppleContainerResource needs macOS with Apple's `container` tool, and {here}; a DockerResource takes the same fields (restart_policy and healthcheck too): change the type to DockerResource to run it with the Docker Engine"
    )]
    #[diagnostic(code("clockwork::apple_container::unavailable"))]
    Unavailable {
        /// What this machine is or lacks.
        here: String,
    },
    /// A label only Clockwork sets.
    #[error(
        "label `{key}`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container"
    )]
    #[diagnostic(code("clockwork::apple_container::label"))]
    ReservedLabel {
        /// The label's key.
        key: String,
    },
    /// An entrypoint without a program.
    #[error("an empty `entrypoint` cannot be given to `container run`")]
    #[diagnostic(code("clockwork::apple_container::entrypoint"))]
    EmptyEntrypoint,
    /// A bind mount's source is no path of the project.
    #[error("bind mount: {0}")]
    #[diagnostic(code("clockwork::apple_container::mount"))]
    BindMount(crate::project::PathError),
    /// `container` ran past its deadline.
    #[error("`container {command}` did not finish within 300 s")]
    #[diagnostic(code("clockwork::apple_container::timeout"))]
    Timeout {
        /// The subcommand, e.g. `run`.
        command: String,
    },
    /// `container` could not be started.
    #[error("cannot run `container`: {0}")]
    #[diagnostic(code("clockwork::apple_container::missing"))]
    NotInstalled(std::io::Error),
    /// `container` ran and failed.
    #[error("`container {command}` failed: {stderr}")]
    #[diagnostic(code("clockwork::apple_container::failed"))]
    Failed {
        /// The subcommand, e.g. `run`.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
}

/// `payload` as the payload of `op`.
fn parse_payload<T: serde::de::DeserializeOwned>(
    op: &'static str,
    payload: &str,
) -> Result<T, DriverError> {
    serde_json::from_str(payload).map_err(|e| DriverError::Payload {
        driver: DRIVER,
        op,
        message: e.to_string(),
    })
}

/// What `run` is given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The container's name.
    pub name: String,
    /// The image.
    pub image: String,
    /// Environment.
    #[serde(default)]
    pub env: Option<std::collections::BTreeMap<String, String>>,
    /// `host:container` ports.
    #[serde(default)]
    pub ports: Vec<String>,
    /// `source:target[:ro]` mounts.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// Networks to join.
    #[serde(default)]
    pub networks: Vec<String>,
    /// The command, instead of the image's.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// The entrypoint, instead of the image's.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// The user's labels; none of Clockwork's own.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// What `delete` is given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    /// The container's name.
    pub name: String,
}

/// Why this machine cannot run the actions, if it cannot: they need macOS
/// with Apple's `container` tool.
pub fn unavailable() -> Option<AppleError> {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(PROGRAM).is_file()));
    if cfg!(target_os = "macos") && on_path {
        return None;
    }
    let here = if cfg!(target_os = "macos") {
        "this Mac has no `container` command on PATH (install Apple's `container` tool)".to_string()
    } else {
        format!("this machine runs {}", std::env::consts::OS)
    };
    Some(AppleError::Unavailable { here })
}

/// Checked at `plan` and before acting: the payload is well formed, asks
/// only what the policy grants `scope` (its own container, host ports and
/// mounts outside the project only as the user wrote them), and this
/// machine can run it.
pub fn check(
    files: &crate::project::ProjectDir,
    scope: &crate::policy::Scope,
    op: &str,
    payload: &str,
) -> Result<(), crate::policy::Denial> {
    use crate::policy::Denial;
    command_lines(op, payload).map_err(|e| Denial::Path(e.to_string()))?;
    if op == "run" {
        let run: Run = serde_json::from_str(payload).map_err(|e| Denial::Payload {
            action: "ext",
            message: e.to_string(),
        })?;
        if run.name != scope.resource.as_str() {
            return Err(Denial::ContainerName {
                resource: scope.resource.clone(),
                name: run.name,
            });
        }
        // Each goes to `container run` as an argument of its own; one that
        // starts with `-` would be read as an option (`--volume=/:/host` in
        // place of an image), past every check here.
        let option_like = |what: &'static str, value: &str| {
            if value.starts_with('-') || value.trim().is_empty() {
                Err(Denial::Payload {
                    action: "ext",
                    message: format!(
                        "{what} `{}` is empty or starts with `-`, which `container run` would read as an option",
                        value.escape_debug()
                    ),
                })
            } else {
                Ok(())
            }
        };
        option_like("the image", &run.image)?;
        if let Some(program) = run.entrypoint.iter().flatten().next() {
            option_like("the entrypoint", program)?;
        }
        for network in &run.networks {
            option_like("the network", network)?;
            crate::policy::network_allowed(network)?;
        }
        crate::policy::ports_allowed(scope, &run.ports)?;
        crate::policy::labels_allowed(&run.labels)?;
        for volume in &run.volumes {
            let mount = apple_mount(volume).ok_or_else(|| Denial::Payload {
                action: "ext",
                message: format!("`{volume}` is not a mount"),
            })?;
            if !mount.is_bind()
                && !mount
                    .source
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            {
                return Err(Denial::Payload {
                    action: "ext",
                    message: format!("`{}` is not a volume name", mount.source),
                });
            }
            crate::policy::mount_allowed(files, scope, &mount)?;
            if mount.is_bind() && covers_project(files, &mount.source) {
                return Err(Denial::Path(format!(
                    "bind mount of `{}`: it holds the project folder, whose `.clockwork/` Apple's `container` cannot hide from the container (Docker can); mount a folder inside the project",
                    mount.source
                )));
            }
        }
    }
    match unavailable() {
        Some(why) => Err(Denial::Path(why.to_string())),
        None => Ok(()),
    }
}

/// The command lines `op` runs, in order.
pub fn command_lines(op: &str, payload: &str) -> Result<Vec<Vec<String>>, DriverError> {
    match op {
        "run" => {
            let run: Run = parse_payload("run", payload)?;
            let mut argv: Vec<String> = ["run", "--detach", "--name", &run.name]
                .map(String::from)
                .to_vec();
            for (key, value) in run.env.iter().flatten() {
                argv.extend(["--env".into(), format!("{key}={value}")]);
            }
            for port in &run.ports {
                argv.extend(["--publish".into(), port.clone()]);
            }
            for volume in &run.volumes {
                argv.extend(["--volume".into(), volume.clone()]);
            }
            for network in &run.networks {
                argv.extend(["--network".into(), network.clone()]);
            }
            for (key, value) in &run.labels {
                // A plugin is not trusted to have refused these.
                if key.starts_with(crate::model::labels::NAMESPACE) {
                    return Err(AppleError::ReservedLabel { key: key.clone() }.into());
                }
                argv.extend(["--label".into(), format!("{key}={value}")]);
            }
            // `--entrypoint` takes one program: the rest of the entrypoint
            // goes in front of the command, which is run after it anyway.
            let mut entrypoint = run.entrypoint.iter().flatten().cloned();
            if let Some(program) = entrypoint.next() {
                argv.extend(["--entrypoint".into(), program]);
            } else if run.entrypoint.is_some() {
                return Err(AppleError::EmptyEntrypoint.into());
            }
            // Everything after the image is the container's own command.
            argv.push(run.image.clone());
            argv.extend(entrypoint);
            argv.extend(run.command.iter().flatten().cloned());
            Ok(vec![argv])
        }
        "delete" => {
            let delete: Delete = parse_payload("delete", payload)?;
            Ok(vec![
                ["delete", "--force", &delete.name]
                    .map(String::from)
                    .to_vec(),
            ])
        }
        other => Err(DriverError::NoOperation {
            driver: DRIVER,
            op: other.to_string(),
        }),
    }
}

/// A volume as Apple's `container` reads it: a source holding a `/` is a
/// path (from its working folder), whatever it starts with, so it is made
/// one Clockwork reads as a path of the project (`x/../../etc` is
/// `./x/../../etc`, and refused).
fn apple_mount(volume: &str) -> Option<clockwork_schema::actions::MountSpec> {
    let mut mount = clockwork_schema::actions::MountSpec::parse(volume)?;
    if !mount.is_bind() && (mount.source.contains('/') || mount.source == "..") {
        mount.source = format!("./{}", mount.source);
    }
    Some(mount)
}

/// Whether a bind of `source` holds the project folder: `.` or a path that
/// leads to it, or a path above it (links resolved).
fn covers_project(files: &crate::project::ProjectDir, source: &str) -> bool {
    let resolved = if source.starts_with('/') {
        std::fs::canonicalize(source).unwrap_or_else(|_| source.into())
    } else {
        match crate::project::ProjectDir::relative(source) {
            Err(crate::project::PathError::Empty) => return true,
            Ok(rel) => match files.host_path(&rel) {
                Ok(path) => path,
                Err(_) => return true,
            },
            Err(_) => return true,
        }
    };
    files.root().starts_with(resolved)
}

/// `payload` with each bind mount's source made the absolute path the
/// policy checked: `container` would take `./site` from its own working
/// folder, which is not the project's (`clockwork -C`).
fn with_resolved_mounts(
    files: &crate::project::ProjectDir,
    op: &str,
    payload: &str,
) -> Result<String, DriverError> {
    if op != "run" {
        return Ok(payload.to_string());
    }
    let mut run: Json = parse_payload("run", payload)?;
    if let Some(volumes) = run.get_mut("volumes").and_then(Json::as_array_mut) {
        for volume in volumes {
            let Some(mount) = volume.as_str().and_then(apple_mount) else {
                continue;
            };
            if !mount.is_bind() || mount.source.starts_with('/') {
                continue;
            }
            let relative = crate::project::ProjectDir::relative(&mount.source)
                .map_err(AppleError::BindMount)?;
            let absolute = files.host_path(&relative).map_err(AppleError::BindMount)?;
            *volume = Json::String(format!(
                "{}:{}{}",
                absolute.display(),
                mount.target,
                if mount.read_only { ":ro" } else { "" }
            ));
        }
    }
    Ok(run.to_string())
}

/// The `apple-container` driver.
pub(super) struct AppleDriver;

impl super::Driver for AppleDriver {
    fn name(&self) -> &'static str {
        DRIVER
    }

    fn check(
        &self,
        files: &crate::project::ProjectDir,
        scope: &crate::policy::Scope,
        op: &str,
        payload: &str,
    ) -> Result<(), crate::policy::Denial> {
        check(files, scope, op, payload)
    }

    fn run<'a>(
        &'a self,
        cx: &'a super::DriverContext<'a>,
        op: &'a str,
        payload: &'a str,
    ) -> super::Running<'a> {
        Box::pin(run(cx.files, op, payload))
    }
}

/// Runs `op`'s command lines with the `container` CLI.
pub async fn run(
    files: &crate::project::ProjectDir,
    op: &str,
    payload: &str,
) -> Result<Json, DriverError> {
    if let Some(why) = unavailable() {
        return Err(why.into());
    }
    let payload = with_resolved_mounts(files, op, payload)?;
    for argv in command_lines(op, &payload)? {
        let mut command = tokio::process::Command::new(PROGRAM);
        command
            .args(&argv)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(300), command.output())
            .await
            .map_err(|_| AppleError::Timeout {
                command: argv[0].clone(),
            })?
            .map_err(AppleError::NotInstalled)?;
        // `delete` of a container that is not there is done.
        let gone = op == "delete" && String::from_utf8_lossy(&out.stderr).contains("not found");
        if !out.status.success() && !gone {
            return Err(AppleError::Failed {
                command: argv[0].clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }
            .into());
        }
    }
    Ok(json!({"done": op}))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `container run` would read as an option, and a mount of the
    /// project folder (whose state folder it cannot hide), are refused.
    #[test]
    fn option_like_values_and_the_project_folder_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = std::fs::canonicalize(tmp.path()).expect("root");
        let files = crate::project::ProjectDir::open(&root).expect("open");
        let scope = crate::policy::Scope::of("web", "AppleContainerResource");
        std::os::unix::fs::symlink(".", root.join("lnk")).expect("link");
        let run = |extra: Json| {
            let mut payload = json!({"name": "web", "image": "alpine"});
            for (k, v) in extra.as_object().into_iter().flatten() {
                payload[k] = v.clone();
            }
            check(&files, &scope, "run", &payload.to_string())
        };
        for hostile in [
            json!({"image": "--volume=/:/host"}),
            json!({"image": "-p"}),
            json!({"entrypoint": ["--publish=0.0.0.0:2375:2375"]}),
            json!({"networks": ["--volume=/:/x"]}),
            json!({"networks": ["host"]}),
            json!({"volumes": [".:/app"]}),
            json!({"volumes": [format!("{}:/app", root.parent().expect("parent").display())]}),
            json!({"volumes": ["x/../../../../etc:/host"]}),
            json!({"volumes": ["./lnk:/app"]}),
            json!({"labels": {"": "dev.clockwork.project=someone"}}),
            json!({"labels": {"dev.clockwork.project": "someone"}}),
        ] {
            let refused = run(hostile.clone()).expect_err("refused");
            assert!(
                !matches!(refused, crate::policy::Denial::Path(ref why) if why.contains("macOS")),
                "{hostile}: refused only for the machine: {refused}"
            );
        }
    }

    /// A relative bind is the project's folder, whatever folder
    /// `clockwork` runs in.
    #[test]
    fn relative_binds_are_the_projects() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = std::fs::canonicalize(tmp.path()).expect("root");
        let files = crate::project::ProjectDir::open(&root).expect("open");
        let payload = json!({
            "name": "web", "image": "nginx:alpine",
            "volumes": ["./site:/usr/share/nginx/html:ro", "data:/data", "/srv/x:/x"],
        })
        .to_string();
        let resolved: Json =
            serde_json::from_str(&with_resolved_mounts(&files, "run", &payload).expect("run"))
                .expect("json");
        assert_eq!(
            resolved["volumes"],
            json!([
                format!("{}/site:/usr/share/nginx/html:ro", root.display()),
                "data:/data",
                "/srv/x:/x"
            ])
        );
        let out = json!({"name": "web", "image": "x", "volumes": ["../up:/up"]}).to_string();
        assert!(with_resolved_mounts(&files, "run", &out).is_err());
    }

    #[test]
    fn run_and_delete_become_container_command_lines() {
        let payload = json!({
            "name": "web", "image": "nginx:alpine", "env": {"MODE": "prod"},
            "ports": ["8080:80"], "volumes": ["./site:/usr/share/nginx/html:ro"],
            "networks": ["backend"], "command": ["nginx", "-g", "daemon off;"],
        })
        .to_string();
        assert_eq!(
            command_lines("run", &payload).expect("run"),
            [[
                "run",
                "--detach",
                "--name",
                "web",
                "--env",
                "MODE=prod",
                "--publish",
                "8080:80",
                "--volume",
                "./site:/usr/share/nginx/html:ro",
                "--network",
                "backend",
                "nginx:alpine",
                "nginx",
                "-g",
                "daemon off;",
            ]
            .map(String::from)
            .to_vec()]
        );
        assert_eq!(
            command_lines("delete", &json!({"name": "web"}).to_string()).expect("delete"),
            [["delete", "--force", "web"].map(String::from).to_vec()]
        );
        assert!(command_lines("run", "{\"name\": \"x\", \"privileged\": true}").is_err());
    }

    #[test]
    fn entrypoint_and_labels_become_flags() {
        let payload = json!({
            "name": "web", "image": "busybox:latest",
            "entrypoint": ["sh", "-c"], "command": ["echo hi"],
            "labels": {"com.example.role": "web", "com.example.tier": "front"},
        })
        .to_string();
        assert_eq!(
            command_lines("run", &payload).expect("run"),
            [[
                "run",
                "--detach",
                "--name",
                "web",
                "--label",
                "com.example.role=web",
                "--label",
                "com.example.tier=front",
                "--entrypoint",
                "sh",
                "busybox:latest",
                "-c",
                "echo hi",
            ]
            .map(String::from)
            .to_vec()]
        );
        let forged =
            json!({"name": "web", "image": "x", "labels": {"dev.clockwork.project-id": "1"}});
        let why = command_lines("run", &forged.to_string())
            .unwrap_err()
            .to_string();
        assert!(why.contains("Clockwork's own"), "{why}");
        let empty = json!({"name": "web", "image": "x", "entrypoint": []});
        assert!(command_lines("run", &empty.to_string()).is_err());
    }

    #[test]
    #[cfg(not(target_os = "macos"))]
    fn off_macos_it_says_what_is_needed_and_what_to_use() {
        let why = unavailable().expect("not available here").to_string();
        assert!(
            why.contains("needs macOS") && why.contains("DockerResource"),
            "{why}"
        );
    }
}
