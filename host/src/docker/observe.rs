//! Reading this project's objects from the Engine, by label.

use std::collections::BTreeMap;

use bollard::models::ContainerSummaryStateEnum;
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use serde::Serialize;

use crate::docker::{Engine, EngineError, labels};

/// One of this project's containers.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedContainer {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Whether it runs.
    pub running: bool,
    /// `healthy`, `unhealthy`, `starting`, or none without a health check.
    pub health: Option<String>,
    /// The config hash it was created with.
    pub config_hash: Option<String>,
    /// Its image.
    pub image: String,
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
}

impl Observation {
    /// What a resource plugin sees of one declaration.
    pub fn for_resource(&self, name: &str) -> Option<serde_json::Value> {
        let containers = self.containers.get(name)?;
        Some(serde_json::json!({"containers": containers}))
    }
}

impl Engine {
    /// Lists this project's containers, networks and volumes.
    pub async fn observe(&self) -> Result<Observation, EngineError> {
        let filters = Some(self.project_filter());
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: filters.clone(),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers", &self.project, e))?;
        let mut observation = Observation::default();
        for c in containers {
            let labels = c.labels.clone().unwrap_or_default();
            let Some(resource) = labels.get(labels::RESOURCE).cloned() else {
                continue;
            };
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            // Older engines (API < 1.44) leave the summary's health out.
            let health = c
                .health
                .as_ref()
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .filter(|s| matches!(s.as_str(), "healthy" | "unhealthy" | "starting"));
            observation
                .containers
                .entry(resource)
                .or_default()
                .push(ObservedContainer {
                    name,
                    id: c.id.unwrap_or_default(),
                    running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
                    health,
                    config_hash: labels.get(labels::CONFIG_HASH).cloned(),
                    image: c.image.unwrap_or_default(),
                });
        }
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: filters.clone(),
            }))
            .await
            .map_err(|e| EngineError::call("list networks", &self.project, e))?;
        observation.networks = networks.into_iter().filter_map(|n| n.name).collect();
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions { filters }))
            .await
            .map_err(|e| EngineError::call("list volumes", &self.project, e))?;
        observation.volumes = volumes
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        Ok(observation)
    }
}
