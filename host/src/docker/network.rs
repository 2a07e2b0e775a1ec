//! Networks and volumes of this project on the Engine: made, checked
//! against their spec, and removed only when nothing of anyone else uses
//! them.

use std::collections::HashMap;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, RemoveVolumeOptions,
};
use clockwork_schema::actions::{NetworkSpec, VolumeSpec};
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError};

use super::execute::is_missing;

impl Engine {
    /// Creates a network of this project unless it exists.
    pub async fn ensure_network(&self, spec: &NetworkSpec) -> Result<Json, EngineError> {
        let on_target = self.on_target(spec);
        let spec = &on_target;
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
            // A swarm's network spans its nodes; attachable, so that a
            // command run beside a service (a check) may join it.
            attachable: self.is_swarm().then_some(true),
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
        let made = self.inspect_made_network(&spec.name).await?;
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

    /// The network just made, as the Engine reports it. A swarm makes its
    /// networks through the cluster, and reports one without its driver
    /// for a moment: asked again (every 100 ms, at most 10 s) until it
    /// says which.
    async fn inspect_made_network(
        &self,
        name: &str,
    ) -> Result<bollard::models::NetworkInspect, EngineError> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let made = self
                .docker
                .inspect_network(name, None)
                .await
                .map_err(|e| EngineError::call("inspect network", name, e))?;
            let reported = made.driver.as_deref().is_some_and(|d| !d.is_empty());
            if reported || !self.is_swarm() || std::time::Instant::now() > until {
                return Ok(made);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// `spec` as the target makes it: on a swarm, a bridge network is an
    /// overlay network over the nodes.
    fn on_target(&self, spec: &NetworkSpec) -> NetworkSpec {
        let mut spec = spec.clone();
        if self.is_swarm() && spec.driver == "bridge" {
            spec.driver = "overlay".into();
        }
        spec
    }

    /// Detaches this project's containers from network `n` and removes it;
    /// a container of anyone else on it refuses the removal.
    pub(super) async fn clear_network(
        &self,
        n: &bollard::models::NetworkInspect,
    ) -> Result<(), EngineError> {
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
}

/// How network `n`, as the Engine has it, differs from `spec`'s declared
/// options, e.g. `internal false, declared true`. A subnet or gateway left
/// out is Docker's to pick and not compared.
pub(super) fn network_differences(
    n: &bollard::models::NetworkInspect,
    spec: &NetworkSpec,
) -> Vec<String> {
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
