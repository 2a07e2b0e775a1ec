//! The Docker Engine, through bollard: observing this project's labelled
//! objects and executing the actions plugins plan. Only objects labelled
//! with this project are ever changed; names already taken by anything
//! else are refused.

mod error;
mod execute;
pub mod labels;
mod observe;
mod stop_signal;

pub use error::EngineError;
pub use execute::ExecOutput;
pub use observe::{Observation, ObservedContainer};

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::Docker;

/// A connection to the Engine, for one project.
#[derive(Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    /// The project name, stamped on every object.
    pub project: String,
    /// The project folder, for bind mounts and stdin files.
    pub project_dir: PathBuf,
    /// Serialises creating networks and volumes: the Engine accepts two
    /// networks with one name, so check-then-create must not interleave.
    pub(crate) create_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Engine {
    /// Connects (`DOCKER_HOST`, else the local socket), negotiates the API
    /// version and checks that the engine answers.
    pub async fn connect(project: &str, project_dir: PathBuf) -> Result<Engine, EngineError> {
        let endpoint =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let unreachable = |e: &dyn std::fmt::Display| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            message: e.to_string(),
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(&e))?;
        let docker = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            docker.negotiate_version(),
        )
        .await
        .map_err(|_| unreachable(&"no answer within 5 s"))?
        .map_err(|e| unreachable(&e))?;
        docker.ping().await.map_err(|e| unreachable(&e))?;
        Ok(Engine {
            docker,
            project: project.to_string(),
            project_dir,
            create_lock: Default::default(),
        })
    }

    /// The labels stamped on an object of `resource` (if any) with `hash`.
    pub(crate) fn labels(
        &self,
        resource: Option<&str>,
        hash: Option<&str>,
    ) -> HashMap<String, String> {
        let mut labels = HashMap::from([(labels::PROJECT.to_string(), self.project.clone())]);
        if let Some(r) = resource {
            labels.insert(labels::RESOURCE.to_string(), r.to_string());
        }
        if let Some(h) = hash {
            labels.insert(labels::CONFIG_HASH.to_string(), h.to_string());
        }
        labels
    }

    /// The label filter selecting this project's objects.
    pub(crate) fn project_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_string(),
            vec![format!("{}={}", labels::PROJECT, self.project)],
        )])
    }
}

/// A Docker-safe project name: lower-case letters, digits, `-`, `_`.
pub fn project_name(folder: &str) -> String {
    let name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = name.trim_matches('-');
    if trimmed.is_empty() {
        "project".into()
    } else {
        trimmed.to_string()
    }
}
