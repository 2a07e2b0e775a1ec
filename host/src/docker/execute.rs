//! Executing actions on the Engine: images, networks, volumes, containers,
//! commands in containers, and waiting for readiness on Engine events and
//! protocol probes (never a fixed sleep).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HealthConfig, HostConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, InspectContainerOptions,
    ListContainersOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StopContainerOptions,
};
use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, NetworkSpec, VolumeSpec, WaitCondition, WaitSpec, spec_hash,
};
use clockwork_schema::{Protocol, parse_port};
use futures::StreamExt;
use serde_json::{Value as Json, json};
use tokio::io::AsyncWriteExt;

use crate::docker::{Engine, EngineError, labels};
use crate::model::ResourceName;
use crate::policy::Denial;
use crate::project::ProjectDir;

/// A container may be touched only by the resources in a scope: its own
/// resource for the resource's actions, the endpoints of a connection for
/// that connection's setup steps.
pub type ContainerScope<'a> = &'a [ResourceName];

/// What a command in a container produced.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    /// Exit code.
    pub code: i64,
    /// Standard output and error, interleaved.
    pub output: String,
}

fn is_missing(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn label_of<'a>(c: &'a ContainerInspectResponse, key: &str) -> Option<&'a String> {
    c.config.as_ref()?.labels.as_ref()?.get(key)
}

impl Engine {
    /// The container `name` when it is this project's and belongs to one of
    /// `scope`'s resources; `None` when it does not exist.
    async fn own_container(
        &self,
        name: &str,
        scope: ContainerScope<'_>,
    ) -> Result<Option<ContainerInspectResponse>, EngineError> {
        let Some(existing) = self.inspect_container(name).await? else {
            return Ok(None);
        };
        let labels = existing.config.as_ref().and_then(|c| c.labels.as_ref());
        let owner = self.owner(labels);
        if owner != crate::docker::Owner::Ours {
            return Err(EngineError::Foreign {
                kind: "container",
                name: name.to_string(),
                owner,
            });
        }
        match label_of(&existing, labels::RESOURCE) {
            Some(r) if scope.iter().any(|s| s == r) => Ok(Some(existing)),
            other => Err(EngineError::OtherResource {
                name: name.to_string(),
                owner: other.cloned().unwrap_or_else(|| "(none)".into()),
                resource: scope.first().map(|r| r.to_string()).unwrap_or_default(),
            }),
        }
    }

    /// Inspects a container; `None` when it does not exist.
    pub async fn inspect_container(
        &self,
        name: &str,
    ) -> Result<Option<ContainerInspectResponse>, EngineError> {
        match self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(EngineError::call("inspect container", name, e)),
        }
    }

    /// Pulls `image` when it is not present locally.
    pub async fn ensure_image(&self, image: &str) -> Result<Json, EngineError> {
        if self.docker.inspect_image(image).await.is_ok() {
            return Ok(json!({"image": image, "pulled": false}));
        }
        let options = CreateImageOptions {
            from_image: Some(image.to_string()),
            ..Default::default()
        };
        let mut pull = self.docker.create_image(Some(options), None, None);
        while let Some(step) = pull.next().await {
            step.map_err(|e| {
                EngineError::call(
                    "pull image",
                    image,
                    format!("{e}; the image is not present locally and could not be pulled"),
                )
            })?;
        }
        Ok(json!({"image": image, "pulled": true}))
    }

    /// Creates a network of this project unless it exists.
    pub async fn ensure_network(&self, spec: &NetworkSpec) -> Result<Json, EngineError> {
        let _serial = self.create_lock.lock().await;
        let mut replaced = Vec::new();
        match self.docker.inspect_network(&spec.name, None).await {
            Ok(n) if self.ours(n.labels.as_ref()) => {
                replaced = if spec.declared {
                    network_differences(&n, spec)
                } else {
                    Vec::new()
                };
                if replaced.is_empty() {
                    return Ok(json!({"network": spec.name, "created": false}));
                }
                // Made with other options than declared: made again. Only
                // this project's containers may be on it (they are made
                // again too: the options are part of their spec).
                self.clear_network(&n).await?;
            }
            Ok(n) => {
                return Err(EngineError::Foreign {
                    kind: "network",
                    name: spec.name.clone(),
                    owner: self.owner(n.labels.as_ref()),
                });
            }
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(EngineError::call("inspect network", &spec.name, e)),
        }
        let ipam = spec.subnet.as_ref().map(|subnet| bollard::models::Ipam {
            config: Some(vec![bollard::models::IpamConfig {
                subnet: Some(subnet.clone()),
                gateway: spec.gateway.clone(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some(spec.driver.clone()),
            internal: Some(spec.internal),
            enable_ipv6: Some(spec.enable_ipv6),
            ipam,
            labels: Some(self.labels(None, None)),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|e| EngineError::call("create network", &spec.name, e))?;
        // What the Engine made is checked, not assumed: a driver may ignore
        // an option it does not know.
        let made = self
            .docker
            .inspect_network(&spec.name, None)
            .await
            .map_err(|e| EngineError::call("inspect network", &spec.name, e))?;
        let differs = if spec.declared {
            network_differences(&made, spec)
        } else {
            Vec::new()
        };
        if !differs.is_empty() {
            let _ = self.docker.remove_network(&spec.name).await;
            return Err(EngineError::Payload(format!(
                "the Engine made the network `{}` other than declared ({}); it was removed again",
                spec.name,
                differs.join(", ")
            )));
        }
        if replaced.is_empty() {
            Ok(json!({"network": spec.name, "created": true}))
        } else {
            Ok(json!({
                "network": spec.name,
                "created": true,
                "kept": format!("the network `{}` was made again as declared ({})", spec.name, replaced.join(", ")),
            }))
        }
    }

    /// Detaches this project's containers from network `n` and removes it;
    /// a container of anyone else on it refuses the removal.
    async fn clear_network(&self, n: &bollard::models::NetworkInspect) -> Result<(), EngineError> {
        let name = n.name.clone().unwrap_or_default();
        for (id, _) in n.containers.clone().unwrap_or_default() {
            let c = self
                .docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await
                .map_err(|e| EngineError::call("inspect container", &id, e))?;
            let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
            if !self.ours(labels) {
                return Err(EngineError::Foreign {
                    kind: "container on the network",
                    name: c.name.unwrap_or(id).trim_start_matches('/').to_string(),
                    owner: self.owner(labels),
                });
            }
            self.docker
                .disconnect_network(
                    &name,
                    bollard::models::NetworkDisconnectRequest {
                        container: id.clone(),
                        force: Some(true),
                    },
                )
                .await
                .map_err(|e| EngineError::call("disconnect network", &name, e))?;
        }
        self.docker
            .remove_network(&name)
            .await
            .map_err(|e| EngineError::call("remove network", &name, e))
    }

    /// Creates a volume of this project unless it exists.
    pub async fn ensure_volume(&self, spec: &VolumeSpec) -> Result<Json, EngineError> {
        let _serial = self.create_lock.lock().await;
        match self.docker.inspect_volume(&spec.name).await {
            Ok(v) if self.ours(Some(&v.labels)) => {
                return Ok(json!({"volume": spec.name, "created": false}));
            }
            Ok(v) => {
                return Err(EngineError::Foreign {
                    kind: "volume",
                    name: spec.name.clone(),
                    owner: self.owner(Some(&v.labels)),
                });
            }
            Err(e) if is_missing(&e) && spec.existing => {
                return Err(EngineError::Payload(format!(
                    "the volume `{}` does not exist, and it is declared with `create_volume = False`: let an apply make it (`create_volume = True`), or give the name of one this project made",
                    spec.name
                )));
            }
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(EngineError::call("inspect volume", &spec.name, e)),
        }
        let request = VolumeCreateRequest {
            name: Some(spec.name.clone()),
            driver: Some(spec.driver.clone()),
            labels: Some(self.labels(None, None)),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| EngineError::call("create volume", &spec.name, e))?;
        Ok(json!({"volume": spec.name, "created": true}))
    }

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
    async fn started_at(&self, id: &str) -> (Option<String>, crate::docker::Tunables) {
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
    fn start_error(
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

    async fn stop_own(
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

    /// Removes a network of this project; one without its label is refused.
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        match self.docker.inspect_network(name, None).await {
            Ok(n) if self.ours(n.labels.as_ref()) => {}
            Ok(n) => {
                return Err(EngineError::Foreign {
                    kind: "network",
                    name: name.to_string(),
                    owner: self.owner(n.labels.as_ref()),
                });
            }
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(EngineError::call("inspect network", name, e)),
        }
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) if e.to_string().contains("has active endpoints") => {
                // The Engine can keep counting endpoints of containers that
                // are gone after many were removed at once (moby#42119);
                // only a restart of dockerd clears the count.
                let attached = self
                    .docker
                    .inspect_network(name, None)
                    .await
                    .ok()
                    .and_then(|n| n.containers)
                    .map(|c| c.len())
                    .unwrap_or(0);
                Err(EngineError::NetworkInUse {
                    name: name.to_string(),
                    attached,
                })
            }
            Err(e) => Err(EngineError::call("remove network", name, e)),
        }
    }

    /// Removes a volume of this project (and its data); one without this
    /// project's label is refused.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        match self.docker.inspect_volume(name).await {
            Ok(v) if self.ours(Some(&v.labels)) => {}
            Ok(v) => {
                return Err(EngineError::Foreign {
                    kind: "volume",
                    name: name.to_string(),
                    owner: self.owner(Some(&v.labels)),
                });
            }
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(EngineError::call("inspect volume", name, e)),
        }
        // A container of anyone else that mounts it keeps it: its data is
        // theirs too now.
        let users = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(HashMap::from([(
                    "volume".to_string(),
                    vec![name.to_string()],
                )])),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers", name, e))?;
        let strangers: Vec<String> = users
            .iter()
            .filter(|c| !self.ours(c.labels.as_ref()))
            .filter_map(|c| {
                c.names
                    .as_ref()?
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
            })
            .collect();
        if !strangers.is_empty() {
            return Err(EngineError::Payload(format!(
                "kept the volume `{name}`: {} of another project or made by hand mounts it ({})",
                if strangers.len() == 1 {
                    "a container"
                } else {
                    "containers"
                },
                strangers
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        match self
            .docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: true }))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(EngineError::call("remove volume", name, e)),
        }
    }

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
        let mut stream = self.docker.logs(name, Some(options));
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
        if self.own_container(&spec.container, scope).await?.is_none() {
            return Err(EngineError::call(
                "exec in",
                &spec.container,
                "no such container",
            ));
        }
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
                .create_exec(&spec.container, options)
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

    fn read_project_file(&self, file: &str) -> Result<Vec<u8>, EngineError> {
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

    /// Waits for a condition; commands run only in containers of `scope`.
    pub async fn wait(
        &self,
        spec: &WaitSpec,
        scope: ContainerScope<'_>,
    ) -> Result<Json, EngineError> {
        let started = Instant::now();
        let deadline = Duration::from_millis(spec.timeout_ms);
        match &spec.condition {
            WaitCondition::Healthy { container } => {
                self.wait_ready(container, true, deadline, Readiness::default())
                    .await?
            }
            WaitCondition::Tcp { host, port } => {
                let mut backoff = Duration::from_millis(50);
                loop {
                    let attempt = tokio::time::timeout(
                        Duration::from_secs(1),
                        tokio::net::TcpStream::connect((host.as_str(), *port)),
                    )
                    .await;
                    if matches!(attempt, Ok(Ok(_))) {
                        break;
                    }
                    if started.elapsed() + backoff > deadline {
                        return Err(EngineError::Timeout(format!(
                            "{host}:{port} did not accept a connection within {} ms",
                            spec.timeout_ms
                        )));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
            }
            WaitCondition::Http { url, status } => {
                let wanted = status.unwrap_or(200);
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(2))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| EngineError::call("wait for", url, e))?;
                let mut backoff = Duration::from_millis(50);
                loop {
                    let last = match client.get(url.as_str()).send().await {
                        Ok(r) if r.status().as_u16() == wanted => break,
                        Ok(r) => format!("status {}", r.status().as_u16()),
                        Err(e) => e.to_string(),
                    };
                    if started.elapsed() + backoff > deadline {
                        return Err(EngineError::Timeout(format!(
                            "`{url}` did not answer {wanted} within {} ms (last: {last})",
                            spec.timeout_ms
                        )));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
            }
            WaitCondition::LogLine { container, pattern } => {
                if self.own_container(container, scope).await?.is_none() {
                    return Err(EngineError::call(
                        "wait for",
                        container,
                        "no such container",
                    ));
                }
                // Following the log stream: every line is seen once, as it
                // comes, from the container's start.
                let options = LogsOptions {
                    stdout: true,
                    stderr: true,
                    follow: true,
                    ..Default::default()
                };
                let mut stream = self.docker.logs(container, Some(options));
                let found = tokio::time::timeout(deadline, async {
                    let mut pending = String::new();
                    while let Some(chunk) = stream.next().await {
                        let chunk =
                            chunk.map_err(|e| EngineError::call("read logs of", container, e))?;
                        pending.push_str(&chunk.to_string());
                        if pending.lines().any(|l| l.contains(pattern.as_str())) {
                            return Ok(true);
                        }
                        if let Some(last) = pending.rfind('\n') {
                            pending.drain(..=last);
                        }
                        // A line that never ends: only its last bytes can
                        // still begin the pattern.
                        if pending.len() > LOG_LINE_BYTES {
                            let mut keep = pending.len().saturating_sub(pattern.len());
                            while !pending.is_char_boundary(keep) {
                                keep -= 1;
                            }
                            pending.drain(..keep);
                        }
                    }
                    Ok::<bool, EngineError>(false)
                })
                .await;
                match found {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => {
                        return Err(EngineError::Timeout(format!(
                            "`{container}` stopped before printing a line with `{pattern}`"
                        )));
                    }
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(EngineError::Timeout(format!(
                            "`{container}` printed no line with `{pattern}` within {} ms",
                            spec.timeout_ms
                        )));
                    }
                }
            }
            WaitCondition::Exec(exec) => {
                // A readiness probe: run it until it succeeds, backing off
                // from 50 ms to 200 ms between attempts (each attempt is an
                // exec of ~0.1 s itself, so the Engine is never flooded and
                // readiness is seen within ~0.3 s).
                let mut backoff = Duration::from_millis(50);
                loop {
                    let remaining = deadline.saturating_sub(started.elapsed());
                    let attempt = ExecSpec {
                        timeout_ms: remaining.as_millis().min(u128::from(exec.timeout_ms)) as u64,
                        ..exec.clone()
                    };
                    let last = match self.exec(&attempt, scope).await {
                        Ok(out) if out.code == 0 => break,
                        Ok(out) => format!("exit code {}: {}", out.code, out.output.trim()),
                        Err(
                            e @ (EngineError::Foreign { .. } | EngineError::OtherResource { .. }),
                        ) => {
                            return Err(e);
                        }
                        Err(e) => e.to_string(),
                    };
                    if started.elapsed() + backoff > deadline {
                        return Err(EngineError::Timeout(format!(
                            "{} in `{}` did not succeed within {} ms; the last try said: {last}",
                            exec.label
                                .clone()
                                .unwrap_or_else(|| format!("`{}`", exec.argv.join(" "))),
                            exec.container,
                            spec.timeout_ms
                        )));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(200));
                }
            }
        }
        Ok(json!({"waited_ms": started.elapsed().as_millis() as u64}))
    }

    /// Waits until a container runs and, when `healthy`, is healthy — on
    /// the Engine's event stream, not by polling on a timer. A crash (the
    /// Engine restarting it, or a restart count above `readiness.baseline`)
    /// fails at once. A container that restarted recently must also stay up
    /// for [`STABLE_AFTER`] since its last start (the time after which the
    /// Engine itself counts a restarted container as recovered), so a crash
    /// loop seen between two restarts is not taken for a working service.
    pub async fn wait_ready(
        &self,
        name: &str,
        healthy: bool,
        deadline: Duration,
        readiness: Readiness,
    ) -> Result<(), EngineError> {
        let filters = HashMap::from([
            ("container".to_string(), vec![name.to_string()]),
            ("type".to_string(), vec!["container".to_string()]),
        ]);
        // Subscribe before looking, so no transition is missed in between.
        let mut events = self.docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        let mut baseline = readiness.baseline;
        let outcome = tokio::time::timeout(deadline, async {
            loop {
                let Some(c) = self.inspect_container(name).await? else {
                    return Err(EngineError::call(
                        "wait for",
                        name,
                        "the container disappeared",
                    ));
                };
                // How long to wait for the next event, and what it means
                // when none comes in that time.
                let (patience, silence) = match seen(&c, healthy, &mut baseline) {
                    Seen::Ready => return Ok(()),
                    Seen::NotYet => (None, None),
                    Seen::Settling(remaining) => (Some(remaining), Some(Ok(()))),
                    Seen::Exited(code) => {
                        return Err(EngineError::Exited {
                            name: name.to_string(),
                            code,
                            logs: self.logs_tail(name, 5).await,
                        });
                    }
                    // Restarted after a crash whose exit code is gone: the
                    // next one says it, if it comes soon.
                    Seen::Restarted => (Some(STABLE_AFTER), Some(Err(-1))),
                };
                // Any event of this container (health_status, die, start…)
                // is a reason to look again.
                let event = match patience {
                    Some(remaining) => {
                        tokio::select! {
                            event = events.next() => event,
                            () = tokio::time::sleep(remaining) => match silence {
                                Some(Ok(())) => continue,
                                _ => {
                                    return Err(EngineError::Exited {
                                        name: name.to_string(),
                                        code: -1,
                                        logs: self.logs_tail(name, 5).await,
                                    });
                                }
                            },
                        }
                    }
                    None => events.next().await,
                };
                match event {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(EngineError::call("watch events of", name, e)),
                    None => {
                        return Err(EngineError::call(
                            "watch events of",
                            name,
                            "the event stream ended",
                        ));
                    }
                }
            }
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                let health = self
                    .inspect_container(name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|c| c.state)
                    .and_then(|s| s.health)
                    .and_then(|h| h.status)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "not running".into());
                Err(EngineError::Timeout(format!(
                    "`{name}` was not ready within {} s (health: {health}); its last output:\n{}",
                    deadline.as_secs(),
                    self.logs_tail(name, 10).await
                )))
            }
        }
    }
}

/// How long a restarted container has to stay up before it counts as
/// recovered: the Engine resets its own restart back-off after a container
/// ran for 10 s, for the same reason.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);

/// The most of one unfinished line of a container's output kept while
/// waiting for a pattern in it.
const LOG_LINE_BYTES: usize = 64 << 10;

/// What a readiness wait knows of the container beforehand.
#[derive(Debug, Clone, Copy, Default)]
pub struct Readiness {
    /// Its restart count when this apply last started it (`None`: the
    /// count when the wait begins).
    pub baseline: Option<i64>,
}

/// What one look at a container says about its readiness.
enum Seen {
    /// Up (and healthy when asked).
    Ready,
    /// Not yet: created, or its health check still starting.
    NotYet,
    /// Up, but restarted recently: ready once it lasted this much longer.
    Settling(Duration),
    /// It exited (or is being restarted) with this code.
    Exited(i64),
    /// It runs again after a crash since `baseline`.
    Restarted,
}

fn seen(c: &ContainerInspectResponse, healthy: bool, baseline: &mut Option<i64>) -> Seen {
    // A container allowed to exit is ready however it is.
    if label_of(c, labels::MUST_RUN).is_some_and(|v| v == "false") {
        return Seen::Ready;
    }
    let Some(state) = c.state.as_ref() else {
        return Seen::NotYet;
    };
    let restarts = c.restart_count.unwrap_or(0);
    let first = *baseline.get_or_insert(restarts);
    if state.restarting == Some(true) {
        return Seen::Exited(state.exit_code.unwrap_or(-1));
    }
    if state.running != Some(true) {
        if state.status.map(|s| s.to_string()) == Some("created".into()) {
            return Seen::NotYet;
        }
        return Seen::Exited(state.exit_code.unwrap_or(-1));
    }
    if restarts > first {
        return Seen::Restarted;
    }
    let health = state
        .health
        .as_ref()
        .and_then(|h| h.status)
        .map(|s| s.to_string());
    if healthy && matches!(health.as_deref(), Some("starting") | Some("unhealthy")) {
        return Seen::NotYet;
    }
    // Up: but a recent restart has to last before it counts.
    let recent = (restarts > 0)
        .then(|| state.started_at.as_deref().and_then(up_for))
        .flatten()
        .filter(|up| *up < STABLE_AFTER);
    match recent {
        Some(up) => Seen::Settling(STABLE_AFTER - up),
        None => Seen::Ready,
    }
}

/// How long ago an Engine timestamp (RFC 3339, UTC) was.
fn up_for(timestamp: &str) -> Option<Duration> {
    let started = rfc3339_seconds(timestamp)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(Duration::from_secs_f64((now - started).max(0.0)))
}

/// Seconds since the Unix epoch of `2024-05-01T12:00:00.123456789Z`.
pub fn rfc3339_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.strip_suffix('Z')?;
    let mut t = time.splitn(3, ':');
    let (hour, minute) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let second: f64 = t.next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3_600 + minute * 60) as f64 + second)
}

/// How network `n`, as the Engine has it, differs from `spec`'s declared
/// options, e.g. `internal false, declared true`. A subnet or gateway left
/// out is Docker's to pick and not compared.
fn network_differences(n: &bollard::models::NetworkInspect, spec: &NetworkSpec) -> Vec<String> {
    let mut out = Vec::new();
    let driver = n.driver.clone().unwrap_or_default();
    if driver != spec.driver {
        out.push(format!("driver `{driver}`, declared `{}`", spec.driver));
    }
    let internal = n.internal.unwrap_or(false);
    if internal != spec.internal {
        out.push(format!("internal {internal}, declared {}", spec.internal));
    }
    let ipv6 = n.enable_ipv6.unwrap_or(false);
    if ipv6 != spec.enable_ipv6 {
        out.push(format!("enable_ipv6 {ipv6}, declared {}", spec.enable_ipv6));
    }
    let ranges: Vec<(Option<String>, Option<String>)> = n
        .ipam
        .as_ref()
        .and_then(|i| i.config.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.subnet, c.gateway))
        .collect();
    if let Some(subnet) = &spec.subnet {
        match ranges.iter().find(|(s, _)| s.as_ref() == Some(subnet)) {
            None => out.push(format!("subnet not `{subnet}`")),
            Some((_, gateway)) => {
                if let Some(declared) = &spec.gateway
                    && gateway.as_ref() != Some(declared)
                {
                    out.push(format!(
                        "gateway {}, declared `{declared}`",
                        gateway.as_deref().unwrap_or("(none)")
                    ));
                }
            }
        }
    }
    out
}

/// Where, in a container, an empty read-only tmpfs must cover the project's
/// state folder: a bind of `source` (resolved) at `target` that holds the
/// project root, as `.:/app` does, would give the container `.clockwork/`,
/// which is never given to one.
fn state_folder_hidden(root: &Path, source: &str, target: &str) -> Option<String> {
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
    fn engine_timestamps_are_read() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0.0));
        let t = rfc3339_seconds("2024-03-01T12:30:15.5Z").unwrap();
        assert!((t - 1_709_296_215.5).abs() < 1e-6, "{t}");
        assert_eq!(rfc3339_seconds("yesterday"), None);
    }

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
