//! Containers of this project on the Engine: created from a spec (the
//! policy checked again where ports are bound), started, stopped with
//! their grace, removed.

use std::time::Duration;

use bollard::models::{ContainerInspectResponse, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StopContainerOptions,
};
use clockwork_schema::actions::{ContainerSpec, spec_hash};
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError, labels};
use crate::model::ResourceName;

use super::create::endpoint;
use super::execute::{is_missing, label_of};

impl Engine {
    /// Creates and starts a container, or starts it when one with the same
    /// config hash exists (never one that the Engine is restarting).
    /// `owner.grants` holds the bind mounts outside the project and the host
    /// ports the user wrote for this resource; nothing else is granted. A container that cannot start is removed again, so a
    /// failure leaves nothing behind.
    pub async fn ensure_container(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
        grace: Duration,
    ) -> Result<Json, EngineError> {
        if self.is_swarm() {
            return self.ensure_service(owner, spec).await;
        }
        // Checked at plan and before this action; checked here again, where
        // the ports are bound, so no caller can skip it.
        crate::policy::ports_allowed(owner, &spec.ports)?;
        let hash = spec_hash(spec);
        if let Some(kept) = self.keep_existing(owner, spec, &hash, grace).await? {
            return Ok(kept);
        }
        let body = self.create_body(owner, spec, &hash)?;
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| EngineError::call("create container", &spec.name, e))?;
        if let Err(e) = self.connect_and_start(&created.id, spec).await {
            // A container that never ran is of no use to anyone: it goes.
            let _ = self
                .docker
                .remove_container(
                    &created.id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: false,
                        link: false,
                    }),
                )
                .await;
            return Err(e);
        }
        let (started_at, tunables) = self.started_at(&created.id).await;
        Ok(json!({
            "id": created.id,
            "created": true,
            "started": true,
            "restart_count": 0,
            "started_at": started_at,
            "tunables": tunables,
        }))
    }

    /// The resource's container of that name, when it has this config
    /// hash: started if it is not running (nor restarting), and what was
    /// found returned. One with another config is removed (`None`).
    async fn keep_existing(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
        hash: &str,
        grace: Duration,
    ) -> Result<Option<Json>, EngineError> {
        let resource = owner.resource.as_str();
        let scope = [ResourceName::from(resource)];
        let Some(existing) = self.own_container(&spec.name, &scope).await? else {
            return Ok(None);
        };
        let id = existing.id.clone().unwrap_or_default();
        if label_of(&existing, labels::CONFIG_HASH).map(String::as_str) != Some(hash) {
            // Same name, another config: this resource's old container goes.
            self.remove_container(resource, &spec.name, grace).await?;
            return Ok(None);
        }
        let state = existing.state.clone().unwrap_or_default();
        let restarts = existing.restart_count.unwrap_or(0);
        if state.running != Some(true) && state.restarting != Some(true) {
            self.docker
                .start_container(&id, None)
                .await
                .map_err(|e| self.start_error(&spec.name, spec, e))?;
            let (started_at, tunables) = self.started_at(&id).await;
            return Ok(Some(
                json!({"id": id, "created": false, "started": true, "restart_count": restarts, "started_at": started_at, "tunables": tunables}),
            ));
        }
        Ok(Some(json!({
            "id": id,
            "created": false,
            "started": false,
            "restart_count": restarts,
            "started_at": state.started_at,
            "tunables": crate::docker::tunables_of(&existing),
        })))
    }

    /// Connects a created container to its networks after the first (the
    /// first it was created on), then starts it.
    async fn connect_and_start(&self, id: &str, spec: &ContainerSpec) -> Result<(), EngineError> {
        for network in spec.networks.iter().skip(1) {
            let request = NetworkConnectRequest {
                container: id.to_string(),
                endpoint_config: Some(endpoint(spec, network)),
            };
            self.docker
                .connect_network(network, request)
                .await
                .map_err(|e| EngineError::call("connect network", network, e))?;
        }
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| self.start_error(&spec.name, spec, e))
    }

    /// When a container's process last started, if it did, and its
    /// settings as the Engine made them: the baseline against which a
    /// later `docker update` is seen.
    pub(super) async fn started_at(&self, id: &str) -> (Option<String>, crate::docker::Tunables) {
        let detail = self.inspect_container(id).await.ok().flatten();
        let tunables = detail
            .as_ref()
            .map(crate::docker::tunables_of)
            .unwrap_or_default();
        (
            detail.and_then(|c| c.state).and_then(|s| s.started_at),
            tunables,
        )
    }

    /// A start failure, said plainly when a published port is taken.
    pub(super) fn start_error(
        &self,
        name: &str,
        spec: &ContainerSpec,
        e: bollard::errors::Error,
    ) -> EngineError {
        let error = EngineError::call("start container", name, e);
        let text = error.to_string();
        if text.contains("port is already allocated") || text.contains("address already in use") {
            let ports = spec
                .ports
                .iter()
                .filter(|p| p.contains(':'))
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            return EngineError::PortInUse {
                name: name.to_string(),
                ports,
                message: text,
            };
        }
        error
    }

    /// Stops (within `grace`) a container of `resource`; returns whether it
    /// existed. A foreign one is an error.
    pub async fn stop_container(
        &self,
        resource: &str,
        name: &str,
        grace: Duration,
    ) -> Result<bool, EngineError> {
        let scope = [ResourceName::from(resource)];
        let Some(existing) = self.own_container(name, &scope).await? else {
            return Ok(false);
        };
        self.stop_own(&existing, name, grace).await
    }

    /// Starts a stopped container of `resource`; returns whether it existed.
    pub async fn start_container(&self, resource: &str, name: &str) -> Result<bool, EngineError> {
        let scope = [ResourceName::from(resource)];
        if self.own_container(name, &scope).await?.is_none() {
            return Ok(false);
        }
        match self.docker.start_container(name, None).await {
            Ok(()) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            // 304: already running.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(true),
            Err(e) => Err(EngineError::call("start container", name, e)),
        }
    }

    pub(super) async fn stop_own(
        &self,
        existing: &ContainerInspectResponse,
        name: &str,
        grace: Duration,
    ) -> Result<bool, EngineError> {
        // A process that cannot receive its stop signal would only be
        // killed after the grace period: kill it now.
        let deaf = super::stop_signal::ignores_stop_signal(existing);
        let grace = if deaf { Duration::ZERO } else { grace };
        let t = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        match self
            .docker
            .stop_container(
                name,
                Some(StopContainerOptions {
                    t: Some(t),
                    signal: None,
                }),
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(true),
            Err(e) => Err(EngineError::call("stop container", name, e)),
        }
    }

    /// Stops (within `grace`) and removes a container of this project; a
    /// missing container is fine, a foreign one an error.
    pub async fn remove_container(
        &self,
        resource: &str,
        name: &str,
        grace: Duration,
    ) -> Result<Json, EngineError> {
        if self.is_swarm() {
            return self.remove_service(resource, name, grace).await;
        }
        let scope = [ResourceName::from(resource)];
        let Some(existing) = self.own_container(name, &scope).await? else {
            return Ok(json!({"removed": false}));
        };
        let deaf = super::stop_signal::ignores_stop_signal(&existing);
        if !self.stop_own(&existing, name, grace).await? {
            return Ok(json!({"removed": false}));
        }
        match self
            .docker
            .remove_container(
                name,
                Some(RemoveContainerOptions {
                    force: true,
                    v: false,
                    link: false,
                }),
            )
            .await
        {
            Ok(()) => Ok(json!({"removed": true, "stop_signal_ignored": deaf})),
            Err(e) if is_missing(&e) => Ok(json!({"removed": false})),
            Err(e) => Err(EngineError::call("remove container", name, e)),
        }
    }
}
