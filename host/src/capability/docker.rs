//! `clockwork:plugin/docker` and `clockwork:plugin/exec`: observation of, and
//! commands in, this project's labelled Docker objects.
//!
//! The grant is checked first. The Engine connection itself belongs to the
//! command that runs plugins against a deployment (`assert`, `apply`); a
//! command without one (`plugins list`) answers that no engine is connected.

use crate::plugin::HostState;
use crate::plugin::bindings::host::clockwork::plugin::docker::Host as DockerHost;
use crate::plugin::bindings::host::clockwork::plugin::exec::{
    ExecOutput, ExecRequest, Host as ExecHost,
};
use crate::plugin::bindings::types::HostError;

impl HostState {
    fn docker_observation(&self) -> Result<(), HostError> {
        if !self.grants.docker_observe {
            return Err(HostError::Denied(
                "Docker observation is not granted to this plugin".into(),
            ));
        }
        Err(HostError::Failed(
            "no Docker Engine is connected in this command".into(),
        ))
    }
}

impl DockerHost for HostState {
    async fn inspect_container(
        &mut self,
        _name: String,
    ) -> wasmtime::Result<Result<Option<String>, HostError>> {
        Ok(self.docker_observation().map(|()| None))
    }

    async fn inspect_network(
        &mut self,
        _name: String,
    ) -> wasmtime::Result<Result<Option<String>, HostError>> {
        Ok(self.docker_observation().map(|()| None))
    }

    async fn inspect_volume(
        &mut self,
        _name: String,
    ) -> wasmtime::Result<Result<Option<String>, HostError>> {
        Ok(self.docker_observation().map(|()| None))
    }

    async fn container_logs(
        &mut self,
        _name: String,
        _tail: u32,
    ) -> wasmtime::Result<Result<String, HostError>> {
        Ok(self.docker_observation().map(|()| String::new()))
    }

    async fn list_containers(&mut self) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        Ok(self.docker_observation().map(|()| Vec::new()))
    }
}

impl ExecHost for HostState {
    async fn run(
        &mut self,
        request: ExecRequest,
    ) -> wasmtime::Result<Result<ExecOutput, HostError>> {
        if !self.grants.docker_exec {
            return Ok(Err(HostError::Denied(format!(
                "exec in container `{}` is not granted to this plugin",
                request.container
            ))));
        }
        Ok(Err(HostError::Failed(
            "no Docker Engine is connected in this command".into(),
        )))
    }
}
