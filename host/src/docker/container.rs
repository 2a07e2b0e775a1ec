//! Containers of this project on the Engine: created from a spec (the
//! policy checked again where ports are bound), started, stopped with
//! their grace, removed.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HealthConfig, HostConfig,
    NetworkConnectRequest, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, StopContainerOptions,
};
use clockwork_schema::actions::{ContainerSpec, spec_hash};
use clockwork_schema::{Protocol, parse_port};
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError, labels};
use crate::model::ResourceName;

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
        let resource = owner.resource.as_str();
        let grants = &owner.grants;
        // Checked at plan and before this action; checked here again, where
        // the ports are bound, so no caller can skip it.
        crate::policy::ports_allowed(owner, &spec.ports)?;
        let hash = spec_hash(spec);
        let scope = [ResourceName::from(resource)];
        if let Some(existing) = self.own_container(&spec.name, &scope).await? {
            let id = existing.id.clone().unwrap_or_default();
            if label_of(&existing, labels::CONFIG_HASH) == Some(&hash) {
                let state = existing.state.clone().unwrap_or_default();
                let restarts = existing.restart_count.unwrap_or(0);
                if state.running != Some(true) && state.restarting != Some(true) {
                    self.docker
                        .start_container(&id, None)
                        .await
                        .map_err(|e| self.start_error(&spec.name, spec, e))?;
                    let (started_at, tunables) = self.started_at(&id).await;
                    return Ok(
                        json!({"id": id, "created": false, "started": true, "restart_count": restarts, "started_at": started_at, "tunables": tunables}),
                    );
                }
                return Ok(json!({
                    "id": id,
                    "created": false,
                    "started": false,
                    "restart_count": restarts,
                    "started_at": state.started_at,
                    "tunables": crate::docker::tunables_of(&existing),
                }));
            }
            // Same name, another config: this resource's old container goes.
            self.remove_container(resource, &spec.name, grace).await?;
        }
        let mut exposed = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for port in &spec.ports {
            let m = parse_port(port).map_err(|e| EngineError::Payload(e.to_string()))?;
            let key = format!(
                "{}/{}",
                m.container_port,
                if m.protocol == Protocol::Udp {
                    "udp"
                } else {
                    "tcp"
                }
            );
            exposed.push(key.clone());
            bindings
                .entry(key)
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: m.host_ip.map(|ip| ip.to_string()),
                    host_port: Some(m.host_port.map(|p| p.to_string()).unwrap_or_default()),
                });
        }
        let mut hidden = HashMap::new();
        let binds = spec
            .mounts
            .iter()
            .map(|m| {
                let source = crate::policy::mount_source(&self.files, m, grants)?;
                // Compared as the Engine will resolve it: a path through a
                // link or `..` to the project is the project.
                let resolved = std::fs::canonicalize(&source)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| source.clone());
                if m.is_bind()
                    && let Some(over) = state_folder_hidden(self.files.root(), &resolved, &m.target)
                {
                    hidden.insert(over, "ro,size=4k,mode=0500".to_string());
                }
                Ok(format!(
                    "{source}:{}{}",
                    m.target,
                    if m.read_only { ":ro" } else { "" }
                ))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let restart = match spec.restart_policy.as_str() {
            "always" => RestartPolicyNameEnum::ALWAYS,
            "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
            "no" => RestartPolicyNameEnum::NO,
            _ => RestartPolicyNameEnum::UNLESS_STOPPED,
        };
        let ns = |ms: u64| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let healthcheck = spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: Some(ns(h.interval_ms)),
            timeout: Some(ns(h.timeout_ms)),
            retries: Some(i64::try_from(h.retries).unwrap_or(i64::MAX)),
            start_period: Some(ns(h.start_period_ms)),
            ..Default::default()
        });
        let mut aliases = vec![spec.name.clone()];
        aliases.extend(spec.aliases.iter().cloned());
        let endpoint = |network: &str| EndpointSettings {
            aliases: Some(aliases.clone()),
            network_id: Some(network.to_string()),
            ..Default::default()
        };
        let primary = spec.networks.first().cloned();
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            cmd: spec.command.clone(),
            entrypoint: spec.entrypoint.clone(),
            labels: Some({
                // The user's first, then Clockwork's over them. Policy has
                // refused a spec with a `dev.clockwork.` key already; one
                // is still never passed on, whatever got this far.
                let mut labels: HashMap<String, String> = spec
                    .labels
                    .iter()
                    .filter(|(k, _)| !k.starts_with(labels::NAMESPACE))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                labels.extend(self.labels(Some(resource), Some(&hash)));
                labels.insert(labels::TYPE.to_string(), owner.type_name.to_string());
                if !spec.must_run {
                    labels.insert(labels::MUST_RUN.to_string(), "false".to_string());
                }
                if let Some(at) = owner.expires_at {
                    labels.insert(labels::EXPIRES_AT.to_string(), at.to_string());
                }
                labels
            }),
            exposed_ports: Some(exposed),
            healthcheck,
            host_config: Some(HostConfig {
                binds: Some(binds),
                tmpfs: (!hidden.is_empty()).then_some(hidden),
                port_bindings: Some(bindings),
                restart_policy: Some(RestartPolicy {
                    name: Some(restart),
                    maximum_retry_count: None,
                }),
                network_mode: primary.clone(),
                ..Default::default()
            }),
            networking_config: primary.as_ref().map(|n| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(n.clone(), endpoint(n))])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| EngineError::call("create container", &spec.name, e))?;
        let started = async {
            for network in spec.networks.iter().skip(1) {
                let request = NetworkConnectRequest {
                    container: created.id.clone(),
                    endpoint_config: Some(endpoint(network)),
                };
                self.docker
                    .connect_network(network, request)
                    .await
                    .map_err(|e| EngineError::call("connect network", network, e))?;
            }
            self.docker
                .start_container(&created.id, None)
                .await
                .map_err(|e| self.start_error(&spec.name, spec, e))
        }
        .await;
        if let Err(e) = started {
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

/// Where, in a container, an empty read-only tmpfs must cover the project's
/// state folder: a bind of `source` (resolved) at `target` that holds the
/// project root, as `.:/app` does, would give the container `.clockwork/`,
/// which is never given to one.
pub(super) fn state_folder_hidden(root: &Path, source: &str, target: &str) -> Option<String> {
    let state = root.join(crate::project::STATE_DIR);
    let inside = state.strip_prefix(Path::new(source)).ok()?;
    Some(format!(
        "{}/{}",
        target.trim_end_matches('/'),
        inside.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bind_that_holds_the_state_folder_has_it_covered() {
        let root = Path::new("/work/shop");
        assert_eq!(
            state_folder_hidden(root, "/work/shop", "/app/").as_deref(),
            Some("/app/.clockwork")
        );
        assert_eq!(
            state_folder_hidden(root, "/work", "/w").as_deref(),
            Some("/w/shop/.clockwork")
        );
        assert_eq!(state_folder_hidden(root, "/work/shop/data", "/data"), None);
        assert_eq!(state_folder_hidden(root, "/work/shopping", "/x"), None);
    }
}
