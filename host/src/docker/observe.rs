//! Reading this project's objects from the Engine, by label, and noticing
//! objects that carry this project's name but belong to another folder.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
};
use futures::StreamExt;
use serde::Serialize;

use crate::docker::{Engine, EngineError, Owner, labels};

/// One of this project's containers, as a resource plugin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedContainer {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Whether its process runs (also between two restarts of a crash loop).
    pub running: bool,
    /// Whether the Engine is restarting it after it exited.
    pub restarting: bool,
    /// How many times the Engine restarted it after it exited.
    pub restart_count: i64,
    /// Its process's last exit code (0 while it has never exited).
    pub exit_code: i64,
    /// When its process last started (RFC 3339), if it ever did.
    pub started_at: Option<String>,
    /// `healthy`, `unhealthy`, `starting`, or none without a health check.
    pub health: Option<String>,
    /// The config hash it was created with.
    pub config_hash: Option<String>,
    /// The type of the declaration it was created for.
    #[serde(skip)]
    pub type_name: Option<String>,
    /// Its image.
    pub image: String,
    /// Its addresses on the networks it is attached to, and the names
    /// (network aliases) other containers reach it by there.
    #[serde(skip)]
    pub addresses: Vec<std::net::IpAddr>,
    /// Network aliases it has beside its name.
    #[serde(skip)]
    pub aliases: Vec<String>,
    /// The networks it is configured on (also while stopped).
    #[serde(skip)]
    pub networks: Vec<String>,
    /// The settings `docker update` changes in place, as the Engine
    /// reports them now.
    #[serde(skip)]
    pub tunables: Tunables,
    /// Those of them that differ from what the Engine reported when the
    /// host made the container: changed outside Clockwork, which its
    /// config hash (a label, fixed at creation) cannot show. Filled by
    /// [`Observation::against`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_outside: Vec<ChangedOutside>,
}

#[cfg(test)]
impl ObservedContainer {
    /// A running busybox container named `name`, with nothing else set;
    /// a test sets the rest with struct update syntax.
    pub(crate) fn fixture(name: &str) -> Self {
        ObservedContainer {
            name: name.into(),
            id: format!("id-{name}"),
            running: true,
            restarting: false,
            restart_count: 0,
            exit_code: 0,
            started_at: None,
            health: None,
            config_hash: None,
            type_name: None,
            image: "busybox".into(),
            addresses: Vec::new(),
            aliases: Vec::new(),
            networks: Vec::new(),
            tunables: Default::default(),
            changed_outside: Vec::new(),
        }
    }
}

/// The settings of a container that `docker update` changes without
/// recreating it (restart policy, memory and CPU limits, …), each shown as
/// the Engine reports it.
pub type Tunables = BTreeMap<String, String>;

/// One setting changed outside Clockwork.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedOutside {
    /// The setting, e.g. `memory`.
    pub setting: String,
    /// What the Engine reported when the host made the container.
    pub applied: String,
    /// What it reports now.
    pub now: String,
}

/// The settings that differ between what the Engine reported when the host
/// made a container (`applied`) and what it reports `now`.
pub fn changed_outside(applied: &Tunables, now: &Tunables) -> Vec<ChangedOutside> {
    applied
        .iter()
        .filter_map(|(setting, applied)| {
            let now = now.get(setting)?;
            (now != applied).then(|| ChangedOutside {
                setting: setting.clone(),
                applied: applied.clone(),
                now: now.clone(),
            })
        })
        .collect()
}

/// The [`Tunables`] of an inspected container. The values are the
/// Engine's own, so comparing two readings never depends on how it fills
/// in defaults.
pub fn tunables_of(detail: &bollard::models::ContainerInspectResponse) -> Tunables {
    let Some(h) = detail.host_config.as_ref() else {
        return Tunables::new();
    };
    let number = |v: Option<i64>| v.unwrap_or(0).to_string();
    let text = |v: Option<&String>| v.cloned().unwrap_or_default();
    let restart = h.restart_policy.as_ref().map(|r| {
        let name = r
            .name
            .map(|n| n.to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "no".to_string());
        match r.maximum_retry_count {
            Some(n) if n > 0 => format!("{name}:{n}"),
            _ => name,
        }
    });
    Tunables::from([
        (
            "restart policy".to_string(),
            restart.unwrap_or_else(|| "no".to_string()),
        ),
        ("memory".to_string(), number(h.memory)),
        ("memory swap".to_string(), number(h.memory_swap)),
        (
            "memory reservation".to_string(),
            number(h.memory_reservation),
        ),
        ("cpus".to_string(), number(h.nano_cpus)),
        ("cpu shares".to_string(), number(h.cpu_shares)),
        ("cpu period".to_string(), number(h.cpu_period)),
        ("cpu quota".to_string(), number(h.cpu_quota)),
        ("cpuset cpus".to_string(), text(h.cpuset_cpus.as_ref())),
        ("cpuset mems".to_string(), text(h.cpuset_mems.as_ref())),
        ("pids limit".to_string(), number(h.pids_limit)),
        (
            "blkio weight".to_string(),
            h.blkio_weight.unwrap_or(0).to_string(),
        ),
    ])
}

/// An object that carries this project's name but not its id: another
/// folder's project of the same name (or one made before projects had ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stranger {
    /// `container`, `network` or `volume`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Who owns it.
    pub owner: Owner,
}

/// Everything of this project the Engine has.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Containers by the resource they belong to.
    pub containers: BTreeMap<String, Vec<ObservedContainer>>,
    /// The project's networks.
    pub networks: Vec<String>,
    /// The project's volumes.
    pub volumes: Vec<String>,
    /// Objects of the same project name from other folders; never touched.
    pub strangers: Vec<Stranger>,
}

impl Observation {
    /// The names the project's containers are reached by from the project
    /// network (container name, resource name, network aliases) and their
    /// addresses: the named hosts an assertion's probes may reach.
    pub fn hosts(&self) -> BTreeMap<String, Vec<std::net::IpAddr>> {
        let mut hosts: BTreeMap<String, Vec<std::net::IpAddr>> = BTreeMap::new();
        for (resource, containers) in &self.containers {
            for c in containers.iter().filter(|c| !c.addresses.is_empty()) {
                let names = std::iter::once(&c.name)
                    .chain(std::iter::once(resource))
                    .chain(c.aliases.iter());
                for name in names {
                    let entry = hosts.entry(name.clone()).or_default();
                    entry.extend(c.addresses.iter().copied());
                    entry.sort();
                    entry.dedup();
                }
            }
        }
        hosts
    }

    /// What a resource plugin sees of one declaration.
    pub fn for_resource(&self, name: &str) -> Option<serde_json::Value> {
        let containers = self.containers.get(name)?;
        Some(serde_json::json!({"containers": containers}))
    }

    /// This observation with each container's [`ChangedOutside`] settings
    /// filled in from what `state` recorded when the host made it.
    pub fn against(&self, state: &crate::state::State) -> Observation {
        let mut out = self.clone();
        for (resource, containers) in &mut out.containers {
            let Some(recorded) = state.resources.get(resource.as_str()) else {
                continue;
            };
            for c in containers.iter_mut() {
                let Some(made) = recorded.containers.iter().find(|e| e.name == c.name) else {
                    continue;
                };
                c.changed_outside = changed_outside(&made.tunables, &c.tunables);
            }
        }
        out
    }

    /// A note about objects of the same name in other folders, if any.
    pub fn strangers_note(&self) -> Option<String> {
        if self.strangers.is_empty() {
            return None;
        }
        let mut by_owner: BTreeMap<String, (Vec<String>, Option<String>)> = BTreeMap::new();
        for s in &self.strangers {
            let id = match &s.owner {
                Owner::Project { id, .. } => id.clone(),
                _ => None,
            };
            let entry = by_owner.entry(s.owner.to_string()).or_default();
            entry.0.push(format!("{} `{}`", s.kind, s.name));
            entry.1 = id;
        }
        let mut lines = Vec::new();
        for (owner, (objects, id)) in by_owner {
            let mut line = format!(
                "note: {} carry this project's name but are {owner}; Clockwork leaves them alone",
                objects.join(", ")
            );
            if let Some(id) = id {
                line.push_str(&format!(
                    "\n  if this project moved from that folder, take them over deliberately with `--adopt {id}`"
                ));
            }
            lines.push(line);
        }
        Some(lines.join("\n"))
    }
}

fn health_of(state: Option<&bollard::models::ContainerState>) -> Option<String> {
    state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .map(|s| s.to_string())
        .filter(|s| matches!(s.as_str(), "healthy" | "unhealthy" | "starting"))
}

impl Engine {
    /// Lists this project's containers, networks and volumes.
    pub async fn observe(&self) -> Result<Observation, EngineError> {
        let filters = Some(self.clockwork_filter());
        let mut observation = Observation::default();
        if self.is_swarm() {
            self.observe_services(&mut observation).await?;
        } else {
            self.observe_containers(&mut observation).await?;
        }
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: filters.clone(),
            }))
            .await
            .map_err(|e| EngineError::call("list networks", &self.identity.name, e))?;
        for n in networks {
            let Some(name) = n.name else { continue };
            match self.owner(n.labels.as_ref()) {
                Owner::Ours => observation.networks.push(name),
                owner => {
                    let labels = n.labels.unwrap_or_default();
                    self.note_stranger(&mut observation, "network", name, &labels, owner)
                }
            }
        }
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions { filters }))
            .await
            .map_err(|e| EngineError::call("list volumes", &self.identity.name, e))?;
        for v in volumes.volumes.unwrap_or_default() {
            match self.owner(Some(&v.labels)) {
                Owner::Ours => observation.volumes.push(v.name),
                owner => self.note_stranger(&mut observation, "volume", v.name, &v.labels, owner),
            }
        }
        observation.networks.sort();
        observation.volumes.sort();
        Ok(observation)
    }

    /// This project's containers, by resource.
    async fn observe_containers(&self, observation: &mut Observation) -> Result<(), EngineError> {
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(self.clockwork_filter()),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers", &self.identity.name, e))?;
        let mut ours = Vec::new();
        for c in listed {
            let labels = c.labels.clone().unwrap_or_default();
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            match self.owner(Some(&labels)) {
                Owner::Ours => {
                    if let Some(resource) = labels.get(labels::RESOURCE).cloned() {
                        ours.push((resource, name, c));
                    }
                }
                owner => self.note_stranger(observation, "container", name, &labels, owner),
            }
        }
        // Restart counts, exit codes and start times are only in an
        // inspect; a crash loop seen between two restarts looks "running".
        let inspected: Vec<_> =
            futures::stream::iter(ours.into_iter().map(|(resource, name, c)| async move {
                let detail = self
                    .docker
                    .inspect_container(&name, None::<InspectContainerOptions>)
                    .await
                    .ok();
                (resource, name, c, detail)
            }))
            .buffered(16)
            .collect()
            .await;
        for (resource, name, c, detail) in inspected {
            let labels = c.labels.clone().unwrap_or_default();
            let state = detail.as_ref().and_then(|d| d.state.as_ref());
            let started_at = state
                .and_then(|s| s.started_at.clone())
                .filter(|t| !t.starts_with("0001-"));
            observation
                .containers
                .entry(resource)
                .or_default()
                .push(ObservedContainer {
                    name,
                    id: c.id.clone().unwrap_or_default(),
                    running: state.and_then(|s| s.running).unwrap_or(false),
                    restarting: state.and_then(|s| s.restarting).unwrap_or(false),
                    restart_count: detail.as_ref().and_then(|d| d.restart_count).unwrap_or(0),
                    exit_code: state.and_then(|s| s.exit_code).unwrap_or(0),
                    started_at,
                    health: health_of(state),
                    config_hash: labels.get(labels::CONFIG_HASH).cloned(),
                    type_name: labels.get(labels::TYPE).cloned(),
                    image: c.image.clone().unwrap_or_default(),
                    addresses: addresses_of(detail.as_ref()),
                    aliases: aliases_of(detail.as_ref()),
                    tunables: detail.as_ref().map(tunables_of).unwrap_or_default(),
                    networks: detail
                        .as_ref()
                        .and_then(|d| d.network_settings.as_ref())
                        .and_then(|n| n.networks.as_ref())
                        .map(|n| n.keys().cloned().collect())
                        .unwrap_or_default(),
                    changed_outside: Vec::new(),
                });
        }
        Ok(())
    }

    pub(super) fn note_stranger(
        &self,
        observation: &mut Observation,
        kind: &'static str,
        name: String,
        labels: &HashMap<String, String>,
        owner: Owner,
    ) {
        if labels.get(labels::PROJECT) == Some(&self.identity.name) {
            observation.strangers.push(Stranger { kind, name, owner });
        }
    }
}

fn networks_of(
    detail: Option<&bollard::models::ContainerInspectResponse>,
) -> impl Iterator<Item = &bollard::models::EndpointSettings> {
    detail
        .and_then(|d| d.network_settings.as_ref())
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flat_map(|n| n.values())
}

fn addresses_of(
    detail: Option<&bollard::models::ContainerInspectResponse>,
) -> Vec<std::net::IpAddr> {
    let mut out: Vec<std::net::IpAddr> = networks_of(detail)
        .flat_map(|e| [e.ip_address.as_deref(), e.global_ipv6_address.as_deref()])
        .flatten()
        .filter_map(|a| a.parse().ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn aliases_of(detail: Option<&bollard::models::ContainerInspectResponse>) -> Vec<String> {
    let mut out: Vec<String> = networks_of(detail)
        .flat_map(|e| e.aliases.iter().flatten().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}
