//! `clockwork:plugin/docker` and `clockwork:plugin/exec`: observation of, and
//! commands in, this project's labelled Docker objects.
//!
//! The grant is checked first. The Engine connection itself belongs to the
//! command that runs plugins against a deployment (`clockwork assert`
//! attaches it); a command without one (`plugins list`) answers that no
//! Engine is connected. The Engine handle knows the project, so an object
//! that is not the project's is refused (`denied`), never read.

use std::sync::Arc;
use std::time::Duration;

use crate::docker::{CommandRequest, EngineError, MAX_OUTPUT_BYTES, ObjectKind};
use crate::plugin::bindings::host::clockwork::plugin::docker::Host as DockerHost;
use crate::plugin::bindings::host::clockwork::plugin::exec::{
    ExecOutput, ExecRequest, Host as ExecHost,
};
use crate::plugin::bindings::types::HostError;
use crate::plugin::{Deployment, HostState};

/// A host error for what the Engine answered.
fn host_error(e: EngineError) -> HostError {
    match e {
        EngineError::Foreign { .. } | EngineError::OtherResource { .. } => {
            HostError::Denied(e.to_string())
        }
        EngineError::Timeout(message) => HostError::TimedOut(message),
        EngineError::NotFound { .. } => HostError::NotFound(e.to_string()),
        other => HostError::Failed(other.to_string()),
    }
}

impl HostState {
    fn deployment_for(&self, granted: bool, what: &str) -> Result<Arc<Deployment>, HostError> {
        if !granted {
            return Err(HostError::Denied(format!(
                "{what} is not granted to this plugin"
            )));
        }
        self.services.deployment().ok_or_else(|| {
            HostError::Failed("no Docker Engine is connected in this command".into())
        })
    }

    /// The deployment to observe and the time this call has left; taken
    /// before awaiting, since the store itself cannot cross threads.
    fn observation(&self) -> Result<(Arc<Deployment>, Duration), HostError> {
        let deployment = self.deployment_for(self.grants.docker_observe, "Docker observation")?;
        Ok((
            deployment,
            Duration::from_millis(self.remaining_ms().max(1)),
        ))
    }
}

async fn inspect(
    access: Result<(Arc<Deployment>, Duration), HostError>,
    kind: ObjectKind,
    name: String,
) -> Result<Option<String>, HostError> {
    let (deployment, budget) = access?;
    let inspected = tokio::time::timeout(budget, deployment.engine.inspect_own(kind, &name))
        .await
        .map_err(|_| HostError::TimedOut(format!("inspecting `{name}` took too long")))?;
    inspected
        .map(|json| json.map(|j| j.to_string()))
        .map_err(host_error)
}

async fn logs(
    access: Result<(Arc<Deployment>, Duration), HostError>,
    name: String,
    tail: u32,
    since_unix_seconds: Option<i64>,
) -> Result<String, HostError> {
    let (deployment, budget) = access?;
    tokio::time::timeout(
        budget,
        deployment.engine.own_logs(&name, tail, since_unix_seconds),
    )
    .await
    .map_err(|_| HostError::TimedOut(format!("reading the logs of `{name}` took too long")))?
    .map_err(host_error)
}

impl DockerHost for HostState {
    async fn inspect_container(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Option<String>, HostError>> {
        Ok(inspect(self.observation(), ObjectKind::Container, name).await)
    }

    async fn inspect_network(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Option<String>, HostError>> {
        Ok(inspect(self.observation(), ObjectKind::Network, name).await)
    }

    async fn inspect_volume(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Option<String>, HostError>> {
        Ok(inspect(self.observation(), ObjectKind::Volume, name).await)
    }

    async fn container_logs(
        &mut self,
        name: String,
        tail: u32,
    ) -> wasmtime::Result<Result<String, HostError>> {
        Ok(logs(self.observation(), name, tail, None).await)
    }

    async fn container_logs_since(
        &mut self,
        name: String,
        since_unix_ms: u64,
        tail: u32,
    ) -> wasmtime::Result<Result<String, HostError>> {
        // Rounded up: the Engine counts whole seconds, and a line from
        // before `since` must not count.
        let since = i64::try_from(since_unix_ms.div_ceil(1000)).unwrap_or(i64::MAX);
        Ok(logs(self.observation(), name, tail, Some(since)).await)
    }

    async fn list_containers(&mut self) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        let (deployment, _) = match self.observation() {
            Ok(access) => access,
            Err(e) => return Ok(Err(e)),
        };
        Ok(deployment
            .engine
            .own_container_names()
            .await
            .map_err(host_error))
    }
}

impl ExecHost for HostState {
    async fn run(
        &mut self,
        request: ExecRequest,
    ) -> wasmtime::Result<Result<ExecOutput, HostError>> {
        let what = format!("exec in container `{}`", request.container);
        let deployment = match self.deployment_for(self.grants.docker_exec, &what) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        if request.argv.is_empty() {
            return Ok(Err(HostError::InvalidArgument(
                "`argv` is empty: name the program to run".into(),
            )));
        }
        let asked = Duration::from_millis(u64::from(request.timeout_ms.max(1)));
        let timeout = asked.min(Duration::from_millis(self.remaining_ms().max(1)));
        let max_bytes = usize::try_from(request.max_output_bytes)
            .unwrap_or(MAX_OUTPUT_BYTES)
            .min(MAX_OUTPUT_BYTES);
        let command = CommandRequest {
            container: &request.container,
            argv: &request.argv,
            env: &request.env,
            user: request.user.as_deref(),
            workdir: request.workdir.as_deref(),
            timeout,
            max_bytes,
        };
        Ok(deployment
            .engine
            .run_in_own(&command)
            .await
            .map(|out| ExecOutput {
                exit_code: i32::try_from(out.code).unwrap_or(-1),
                stdout: out.stdout,
                stderr: out.stderr,
                elapsed_us: u64::try_from(out.elapsed.as_micros()).unwrap_or(u64::MAX),
            })
            .map_err(host_error))
    }
}
