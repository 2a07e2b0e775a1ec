//! Commands in this project's containers, their logs, and what is
//! wrong with one that will not run.

use std::collections::HashMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::LogsOptions;
use clockwork_schema::actions::ExecSpec;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::docker::{Engine, EngineError, labels};
use crate::policy::Denial;
use crate::project::ProjectDir;

use super::execute::{ContainerScope, ExecOutput, label_of};

impl Engine {
    /// What is wrong with a container that has to run, if anything: it
    /// is gone, stopped, restarting, or restarted more often than
    /// `baseline` (its restart count when this apply last started it; `None`
    /// for a container this apply did not touch). Containers labelled
    /// `must-run=false` may stop and are never wrong.
    pub async fn trouble(
        &self,
        name: &str,
        baseline: Option<i64>,
    ) -> Result<Option<String>, EngineError> {
        if self.is_swarm() {
            return self.service_trouble(name).await;
        }
        let Some(c) = self.inspect_container(name).await? else {
            return Ok(Some(format!("container `{name}` is gone")));
        };
        if label_of(&c, labels::MUST_RUN).is_some_and(|v| v == "false") {
            return Ok(None);
        }
        let state = c.state.clone().unwrap_or_default();
        let code = state.exit_code.unwrap_or(0);
        let restarts = c.restart_count.unwrap_or(0);
        let what = if state.restarting == Some(true) {
            format!("container `{name}` keeps restarting (last exit code {code})")
        } else if state.running != Some(true) {
            format!("container `{name}` exited with code {code}")
        } else if let Some(baseline) = baseline.filter(|b| restarts > *b) {
            let n = restarts - baseline;
            format!(
                "container `{name}` crashed and was restarted {n} time{}",
                if n == 1 { "" } else { "s" }
            )
        } else {
            return Ok(None);
        };
        let logs = self.logs_tail(name, 5).await;
        Ok(Some(if logs.is_empty() {
            what
        } else {
            format!("{what}; its last output:\n{logs}")
        }))
    }

    /// Names of this project's containers of `resource`.
    pub async fn containers_of(&self, resource: &str) -> Result<Vec<String>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{}={resource}", labels::RESOURCE)],
        )]);
        let listed = self
            .docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers of", resource, e))?;
        Ok(listed
            .into_iter()
            .filter(|c| self.ours(c.labels.as_ref()))
            .filter_map(|c| {
                c.names?
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
            })
            .collect())
    }

    /// The last `lines` lines a container printed.
    pub async fn logs_tail(&self, name: &str, lines: usize) -> String {
        const LOG_TAIL_BYTES: usize = 64 << 10;
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        // On a swarm, `name` is a service: its task's container is read.
        let id = match self.inspect_container(name).await {
            Ok(Some(c)) => c.id.unwrap_or_else(|| name.to_string()),
            _ => name.to_string(),
        };
        let mut stream = self.docker.logs(&id, Some(options));
        let mut out = String::new();
        // The container's output: a line without end must not fill memory.
        while let Some(Ok(chunk)) = stream.next().await {
            super::read::push_capped(&mut out, &chunk.to_string(), LOG_TAIL_BYTES);
            if out.len() >= LOG_TAIL_BYTES {
                break;
            }
        }
        // Indented, so the container's lines stand apart from ours.
        out.trim_end()
            .lines()
            .map(|l| format!("      │ {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Runs a command in a running container of this project, feeding it a
    /// project file on stdin when asked.
    pub async fn exec(
        &self,
        spec: &ExecSpec,
        scope: ContainerScope<'_>,
    ) -> Result<ExecOutput, EngineError> {
        // By id: on a swarm, the container of the service's task.
        let Some(container) = self
            .own_container(&spec.container, scope)
            .await?
            .and_then(|c| c.id)
        else {
            return Err(EngineError::call(
                "exec in",
                &spec.container,
                "no such container",
            ));
        };
        let stdin = match &spec.stdin_file {
            Some(file) => Some(self.read_project_file(file)?),
            None => None,
        };
        let options = CreateExecOptions {
            cmd: Some(spec.argv.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            attach_stdin: Some(stdin.is_some()),
            ..Default::default()
        };
        let run = async {
            let exec = self
                .docker
                .create_exec(&container, options)
                .await
                .map_err(|e| EngineError::call("exec in", &spec.container, e))?;
            let started = self
                .docker
                .start_exec(
                    &exec.id,
                    Some(StartExecOptions {
                        detach: false,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(|e| EngineError::call("exec in", &spec.container, e))?;
            let mut output = String::new();
            if let StartExecResults::Attached {
                output: mut stream,
                mut input,
            } = started
            {
                if let Some(content) = &stdin {
                    input
                        .write_all(content)
                        .await
                        .map_err(|e| EngineError::call("exec in", &spec.container, e))?;
                    input
                        .shutdown()
                        .await
                        .map_err(|e| EngineError::call("exec in", &spec.container, e))?;
                }
                drop(input);
                while let Some(chunk) = stream.next().await {
                    let chunk =
                        chunk.map_err(|e| EngineError::call("exec in", &spec.container, e))?;
                    if output.len() < (1 << 20) {
                        output.push_str(&chunk.to_string());
                    }
                }
            }
            let inspected = self
                .docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| EngineError::call("exec in", &spec.container, e))?;
            Ok(ExecOutput {
                code: inspected.exit_code.unwrap_or(-1),
                output,
            })
        };
        let deadline = Duration::from_millis(spec.timeout_ms);
        tokio::time::timeout(deadline, run).await.map_err(|_| {
            EngineError::Timeout(format!(
                "`{}` in `{}` did not finish within {} ms",
                spec.argv.join(" "),
                spec.container,
                spec.timeout_ms
            ))
        })?
    }

    pub(super) fn read_project_file(&self, file: &str) -> Result<Vec<u8>, EngineError> {
        let denied =
            |e: crate::project::PathError| EngineError::Policy(Denial::Path(e.to_string()));
        let relative = ProjectDir::relative(file).map_err(denied)?;
        self.files
            .read_shielded(
                &relative,
                crate::project::Shield::Secrets,
                crate::project::MAX_READ_BYTES,
            )
            .map_err(denied)
    }
}
