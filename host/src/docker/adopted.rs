//! The objects of other folders' projects a run acts on as adopted: every
//! command that may act on them names them first, with the id they carry.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};

use crate::docker::{Engine, EngineError, labels};

impl Engine {
    /// One line naming, by id, the objects of the ids this run adopted
    /// (containers, networks, volumes); `None` when it adopted none, or
    /// none of them has any object.
    pub async fn adopted_note(&self) -> Result<Option<String>, EngineError> {
        let mut lines = Vec::new();
        for id in self.identity.adopted() {
            let filters = Some(HashMap::from([(
                "label".to_string(),
                vec![format!("{}={id}", labels::PROJECT_ID)],
            )]));
            let what = |e| EngineError::call("list objects of adopted project", id.as_str(), e);
            let mut objects: Vec<String> = Vec::new();
            for c in self
                .docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: filters.clone(),
                    ..Default::default()
                }))
                .await
                .map_err(what)?
            {
                objects.push(format!("container `{}`", crate::docker::listed_name(&c)));
            }
            for n in self
                .docker
                .list_networks(Some(ListNetworksOptions {
                    filters: filters.clone(),
                }))
                .await
                .map_err(what)?
            {
                objects.push(format!("network `{}`", n.name.unwrap_or_default()));
            }
            for v in self
                .docker
                .list_volumes(Some(ListVolumesOptions { filters }))
                .await
                .map_err(what)?
                .volumes
                .unwrap_or_default()
            {
                objects.push(format!("volume `{}`", v.name));
            }
            if !objects.is_empty() {
                lines.push(format!(
                    "note: acting on objects of project id {id} as adopted (`--adopt {id}`): {}",
                    objects.join(", ")
                ));
            }
        }
        Ok((!lines.is_empty()).then(|| lines.join("\n")))
    }
}
