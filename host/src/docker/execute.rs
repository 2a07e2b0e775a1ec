//! Executing actions on the Engine: what every kind of object shares
//! (finding this project's own, inspecting) and images. Containers are in
//! `container.rs`, networks and volumes in `network.rs`, commands and logs
//! in `exec.rs`, waiting for readiness in `wait.rs`.

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{CreateImageOptions, InspectContainerOptions};
use futures::StreamExt;
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError, labels};
use crate::model::ResourceName;

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

pub(super) fn is_missing(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

pub(super) fn label_of<'a>(c: &'a ContainerInspectResponse, key: &str) -> Option<&'a String> {
    c.config.as_ref()?.labels.as_ref()?.get(key)
}

impl Engine {
    /// The Engine's events for this project's containers: those whose
    /// action is one of `events` (all when empty), from `since` (seconds
    /// since the epoch; the Engine replays what happened since) when given.
    pub fn project_events(
        &self,
        events: &[&str],
        since: Option<u64>,
    ) -> impl futures::Stream<Item = Result<bollard::models::EventMessage, EngineError>> + Send + use<>
    {
        let mut filters = std::collections::HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "label".to_string(),
                vec![format!(
                    "{}={}",
                    labels::PROJECT_ID,
                    self.identity.id.as_str()
                )],
            ),
        ]);
        if !events.is_empty() {
            filters.insert(
                "event".to_string(),
                events.iter().map(|e| e.to_string()).collect(),
            );
        }
        self.docker
            .events(Some(bollard::query_parameters::EventsOptions {
                since: since.map(|s| s.to_string()),
                filters: Some(filters),
                ..Default::default()
            }))
            .map(|event| event.map_err(EngineError::Events))
    }

    /// The container `name` when it is this project's and belongs to one of
    /// `scope`'s resources; `None` when it does not exist.
    pub(super) async fn own_container(
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
            // On a swarm, a declaration's container is its service's task:
            // the one running on this node is what a command or a log of
            // it reaches.
            Err(e) if is_missing(&e) && self.is_swarm() => match self.task_container(name).await? {
                Some(id) => Box::pin(self.inspect_container(&id)).await,
                None => Ok(None),
            },
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(EngineError::call("inspect container", name, e)),
        }
    }

    /// Pulls `image` when it is not present locally; on a swarm with a
    /// registry, then pushes it there for the other nodes.
    pub async fn ensure_image(&self, image: &str) -> Result<Json, EngineError> {
        let mut done = self.present_image(image).await?;
        if self.is_swarm()
            && let Some(registry) = self.identity.registry.clone()
        {
            done["pinned"] = json!(self.push_to_registry(image, &registry).await?);
        }
        Ok(done)
    }

    /// Pulls `image` when it is not present locally.
    async fn present_image(&self, image: &str) -> Result<Json, EngineError> {
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
}
