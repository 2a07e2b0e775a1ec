//! The Docker Engine, through bollard: observing this project's labelled
//! objects and executing the actions plugins plan. Only objects whose
//! project id is this project's are ever changed, a container only for the
//! resource it belongs to; names already taken by anything else are refused.

mod adopted;
mod container;
mod create;
mod error;
mod exec;
mod execute;
mod network;
mod wait;
pub use crate::model::labels;
pub(crate) mod observe;
mod ops;
mod probe;
mod read;
mod stop_signal;
mod swarm;
mod version;

pub use error::EngineError;
pub use execute::{ContainerScope, ExecOutput};
pub use observe::{ChangedOutside, Observation, Tunables, changed_outside, tunables_of};
#[cfg(test)]
pub use ops::EngineCall;
pub use ops::{ContainerEngine, Deaths};
pub use read::{CommandRequest, MAX_OUTPUT_BYTES, ObjectKind, listed_name, listed_resource};
pub use wait::{Readiness, rfc3339_seconds};

use std::collections::HashMap;
use std::sync::Arc;

use bollard::Docker;

use crate::project::{Identity, ProjectDir};

/// A connection to the Engine, for one project.
#[derive(Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    /// The project's name and id, stamped on every object.
    pub identity: Identity,
    /// The project folder, for bind mounts and stdin files.
    pub files: Arc<ProjectDir>,
    /// Serialises creating networks and volumes: the Engine accepts two
    /// networks with one name, so check-then-create must not interleave.
    pub(crate) create_lock: Arc<tokio::sync::Mutex<()>>,
    /// On a swarm with a registry: each image as pushed there, pinned by
    /// digest (`10.0.0.2:5000/busybox@sha256:…`), what its services run.
    pub(crate) pinned: Arc<std::sync::Mutex<HashMap<String, String>>>,
    /// On a swarm: the services this run asked to update, whose rollback
    /// is this run's failure (an earlier run's rollback is not).
    pub(crate) updated: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

/// Whose an object is, from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This project's (or one it adopted).
    Ours,
    /// Another Clockwork project's.
    Project {
        /// Its name.
        name: Option<String>,
        /// Its folder, when the object says.
        dir: Option<String>,
        /// Its id, when the object has one.
        id: Option<String>,
    },
    /// Not made by Clockwork.
    Foreign,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Ours => f.write_str("this project's"),
            Owner::Foreign => f.write_str("not Clockwork's"),
            Owner::Project { name, dir, id } => {
                write!(f, "another Clockwork project's")?;
                if let Some(name) = name {
                    write!(f, " (`{name}`")?;
                    match dir {
                        Some(dir) => write!(f, " in {dir}")?,
                        None => write!(f, ", made before projects had ids")?,
                    }
                    if let Some(id) = id {
                        write!(f, ", id {id}")?;
                    }
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl Engine {
    /// Connects (`DOCKER_HOST`, else the local socket), negotiates the API
    /// version and checks that the engine answers.
    pub async fn connect(
        identity: &Identity,
        files: Arc<ProjectDir>,
    ) -> Result<Engine, EngineError> {
        let host = std::env::var("DOCKER_HOST").ok();
        let endpoint = host
            .clone()
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        let unreachable = |e: &dyn std::fmt::Display| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            message: e.to_string(),
        };
        let answer_within = std::time::Duration::from_secs(5);
        let docker = match version::unix_socket(host.as_deref()) {
            Some(socket) => {
                let spoken = tokio::time::timeout(
                    answer_within,
                    version::over_socket(std::path::Path::new(socket)),
                )
                .await
                .map_err(|_| unreachable(&"no answer within 5 s"))?
                .map_err(|e| unreachable(&e))?;
                Docker::connect_with_unix(socket, 120, &spoken).map_err(|e| unreachable(&e))?
            }
            None => {
                let docker = Docker::connect_with_defaults().map_err(|e| unreachable(&e))?;
                tokio::time::timeout(answer_within, docker.negotiate_version())
                    .await
                    .map_err(|_| unreachable(&"no answer within 5 s"))?
                    .map_err(|e| unreachable(&e))?
            }
        };
        // Asking the version was a round trip: the Engine answers.
        if identity.target == crate::project::EngineTarget::Swarm {
            swarm::check_manager(&docker, &endpoint).await?;
        }
        Ok(Engine {
            docker,
            identity: identity.clone(),
            files,
            create_lock: Default::default(),
            pinned: Default::default(),
            updated: Default::default(),
        })
    }

    /// The labels stamped on an object of `resource` (if any) with `hash`.
    pub(crate) fn labels(
        &self,
        resource: Option<&str>,
        hash: Option<&str>,
    ) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (labels::PROJECT.to_string(), self.identity.name.clone()),
            (labels::PROJECT_ID.to_string(), self.identity.id.to_string()),
            (
                labels::PROJECT_DIR.to_string(),
                self.identity.dir.display().to_string(),
            ),
        ]);
        if let Some(r) = resource {
            labels.insert(labels::RESOURCE.to_string(), r.to_string());
        }
        if let Some(h) = hash {
            labels.insert(labels::CONFIG_HASH.to_string(), h.to_string());
        }
        labels
    }

    /// Whose an object with these labels is.
    pub fn owner(&self, labels: Option<&HashMap<String, String>>) -> Owner {
        let Some(labels) = labels else {
            return Owner::Foreign;
        };
        if self
            .identity
            .owns(labels.get(labels::PROJECT_ID).map(String::as_str))
        {
            return Owner::Ours;
        }
        match labels.get(labels::PROJECT) {
            None => Owner::Foreign,
            Some(name) => Owner::Project {
                name: Some(name.clone()),
                dir: labels.get(labels::PROJECT_DIR).cloned(),
                id: labels.get(labels::PROJECT_ID).cloned(),
            },
        }
    }

    pub(crate) fn ours(&self, labels: Option<&HashMap<String, String>>) -> bool {
        self.owner(labels) == Owner::Ours
    }

    /// The label filter selecting every Clockwork object (ownership is
    /// decided on the labels themselves, since a list filter cannot say
    /// "this id or an adopted one").
    pub(crate) fn clockwork_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_string(), vec![labels::PROJECT.to_string()])])
    }
}
