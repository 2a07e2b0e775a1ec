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
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: filters.clone(),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers", &self.identity.name, e))?;
        let mut observation = Observation::default();
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
                owner => self.note_stranger(&mut observation, "container", name, &labels, owner),
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
                });
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

    fn note_stranger(
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
