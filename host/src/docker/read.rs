//! What assertion plugins may see and run: this project's containers,
//! networks and volumes as the Engine reports them, their logs, and a
//! command in one of its running containers. Anything that is not the
//! project's is refused before it is read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    InspectContainerOptions, InspectNetworkOptions, ListContainersOptions, LogsOptions,
};
use futures::StreamExt;
use serde_json::Value as Json;

use crate::docker::{Engine, EngineError, Owner};

/// The most bytes of logs, or of each output stream of a command, returned.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// Which kind of object to inspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A container.
    Container,
    /// A network.
    Network,
    /// A volume.
    Volume,
}

impl ObjectKind {
    fn noun(self) -> &'static str {
        match self {
            ObjectKind::Container => "container",
            ObjectKind::Network => "network",
            ObjectKind::Volume => "volume",
        }
    }
}

/// A command run for a plugin, with its streams apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Its exit code.
    pub code: i64,
    /// Standard output, up to the limit asked.
    pub stdout: String,
    /// Standard error, likewise.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// A command to run for a plugin.
#[derive(Debug, Clone)]
pub struct CommandRequest<'a> {
    /// The container.
    pub container: &'a str,
    /// Program and arguments.
    pub argv: &'a [String],
    /// Extra environment.
    pub env: &'a [(String, String)],
    /// User to run as.
    pub user: Option<&'a str>,
    /// Working directory.
    pub workdir: Option<&'a str>,
    /// Deadline.
    pub timeout: Duration,
    /// Most bytes kept of each stream.
    pub max_bytes: usize,
}

fn missing(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// A listed container's name, without the Engine's leading `/`.
pub fn listed_name(c: &ContainerSummary) -> String {
    c.names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

/// The resource a listed container belongs to, from its label.
pub fn listed_resource(c: &ContainerSummary) -> Option<&String> {
    c.labels
        .as_ref()
        .and_then(|l| l.get(crate::docker::labels::RESOURCE))
}

pub(crate) fn push_capped(out: &mut String, text: &str, cap: usize) {
    if out.len() >= cap {
        return;
    }
    let room = cap - out.len();
    if text.len() <= room {
        out.push_str(text);
    } else {
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&text[..end]);
    }
}

impl Engine {
    fn refuse_unless_ours(
        &self,
        kind: ObjectKind,
        name: &str,
        labels: Option<&HashMap<String, String>>,
    ) -> Result<(), EngineError> {
        match self.owner(labels) {
            Owner::Ours => Ok(()),
            owner => Err(EngineError::Foreign {
                kind: kind.noun(),
                name: name.to_string(),
                owner,
            }),
        }
    }

    /// The Engine's JSON for one of this project's objects; `None` when no
    /// object has that name; an error when it is someone else's.
    pub async fn inspect_own(
        &self,
        kind: ObjectKind,
        name: &str,
    ) -> Result<Option<Json>, EngineError> {
        let call = |e| EngineError::call("inspect", name, e);
        let json = match kind {
            ObjectKind::Container => {
                match self
                    .docker
                    .inspect_container(name, None::<InspectContainerOptions>)
                    .await
                {
                    Ok(c) => {
                        let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
                        self.refuse_unless_ours(kind, name, labels)?;
                        serde_json::to_value(&c)
                    }
                    Err(e) if missing(&e) => return Ok(None),
                    Err(e) => return Err(call(e)),
                }
            }
            ObjectKind::Network => {
                match self
                    .docker
                    .inspect_network(name, None::<InspectNetworkOptions>)
                    .await
                {
                    Ok(n) => {
                        self.refuse_unless_ours(kind, name, n.labels.as_ref())?;
                        serde_json::to_value(&n)
                    }
                    Err(e) if missing(&e) => return Ok(None),
                    Err(e) => return Err(call(e)),
                }
            }
            ObjectKind::Volume => match self.docker.inspect_volume(name).await {
                Ok(v) => {
                    self.refuse_unless_ours(kind, name, Some(&v.labels))?;
                    serde_json::to_value(&v)
                }
                Err(e) if missing(&e) => return Ok(None),
                Err(e) => return Err(call(e)),
            },
        };
        json.map(Some)
            .map_err(|e| EngineError::Payload(format!("the Engine's answer for `{name}`: {e}")))
    }

    /// This project's containers, running or not, in one listing.
    pub async fn own_containers(&self) -> Result<Vec<ContainerSummary>, EngineError> {
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(self.clockwork_filter()),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers", &self.identity.name, e))?;
        Ok(listed
            .into_iter()
            .filter(|c| self.ours(c.labels.as_ref()))
            .collect())
    }

    /// Names of this project's containers, running or not.
    pub async fn own_container_names(&self) -> Result<Vec<String>, EngineError> {
        let mut names: Vec<String> = self
            .own_containers()
            .await?
            .iter()
            .map(listed_name)
            .filter(|n| !n.is_empty())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The last `tail` lines one of this project's containers printed,
    /// stdout and stderr as they came, at most [`MAX_OUTPUT_BYTES`].
    pub async fn own_logs(
        &self,
        name: &str,
        tail: u32,
        since_unix_seconds: Option<i64>,
    ) -> Result<String, EngineError> {
        if self
            .inspect_own(ObjectKind::Container, name)
            .await?
            .is_none()
        {
            return Err(EngineError::NotFound {
                kind: "container",
                name: name.to_string(),
            });
        }
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            since: since_unix_seconds
                .map(|s| i32::try_from(s).unwrap_or(i32::MAX))
                .unwrap_or(0),
            ..Default::default()
        };
        let mut stream = self.docker.logs(name, Some(options));
        let mut out = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| EngineError::call("logs of", name, e))?;
            push_capped(&mut out, &chunk.to_string(), MAX_OUTPUT_BYTES);
            if out.len() >= MAX_OUTPUT_BYTES {
                break;
            }
        }
        Ok(out)
    }

    /// Runs a command in one of this project's running containers and
    /// returns its streams apart. A non-zero exit is a result, not an error.
    pub async fn run_in_own(&self, request: &CommandRequest<'_>) -> Result<Captured, EngineError> {
        let name = request.container;
        let Some(inspected) = self.inspect_own(ObjectKind::Container, name).await? else {
            return Err(EngineError::NotFound {
                kind: "container",
                name: name.to_string(),
            });
        };
        if inspected.pointer("/State/Running") != Some(&Json::Bool(true)) {
            return Err(EngineError::NotRunning {
                name: name.to_string(),
            });
        }
        let call = |e| EngineError::call("exec in", name, e);
        let options = CreateExecOptions {
            cmd: Some(request.argv.to_vec()),
            env: Some(
                request
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            user: request.user.map(str::to_string),
            working_dir: request.workdir.map(str::to_string),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let started = Instant::now();
        let run = async {
            let exec = self.docker.create_exec(name, options).await.map_err(call)?;
            let attached = self
                .docker
                .start_exec(
                    &exec.id,
                    Some(StartExecOptions {
                        detach: false,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(call)?;
            let (mut stdout, mut stderr) = (String::new(), String::new());
            if let StartExecResults::Attached { mut output, .. } = attached {
                while let Some(chunk) = output.next().await {
                    match chunk.map_err(call)? {
                        LogOutput::StdErr { message } => push_capped(
                            &mut stderr,
                            &String::from_utf8_lossy(&message),
                            request.max_bytes,
                        ),
                        other => push_capped(&mut stdout, &other.to_string(), request.max_bytes),
                    }
                }
            }
            let inspected = self.docker.inspect_exec(&exec.id).await.map_err(call)?;
            Ok(Captured {
                code: inspected.exit_code.unwrap_or(-1),
                stdout,
                stderr,
                elapsed: started.elapsed(),
            })
        };
        tokio::time::timeout(request.timeout, run)
            .await
            .map_err(|_| {
                EngineError::Timeout(format!(
                    "`{}` in `{name}` did not finish within {} ms",
                    request.argv.join(" "),
                    request.timeout.as_millis()
                ))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_at_the_cap_on_a_character_boundary() {
        let mut out = String::new();
        push_capped(&mut out, "ab", 3);
        push_capped(&mut out, "éé", 3);
        assert_eq!(out, "ab");
        push_capped(&mut out, "c", 3);
        assert_eq!(out, "abc");
        push_capped(&mut out, "more", 3);
        assert_eq!(out, "abc");
    }
}
