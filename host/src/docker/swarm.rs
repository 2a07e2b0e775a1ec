//! The same declarations as Docker Swarm services (`[target] engine =
//! "swarm"`): a container spec becomes a service of one replica on the
//! project's overlay networks, observed through its tasks. The plugins
//! plan as they do for containers; only the host knows it is a swarm.
//!
//! What this kernel cannot do is said rather than worked around: it has no
//! IPVS here, so a service is reached by DNS round robin (`dnsrr`), and a
//! port is published on the node that runs the task (`mode=host`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ConfigSpec, ContainerSummary, ContainerSummaryStateEnum, EndpointPortConfig,
    EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum, EndpointSpec,
    EndpointSpecModeEnum, LocalNodeState, Mount, MountTmpfsOptions, MountType,
    NetworkAttachmentConfig, PortSummary, PortSummaryTypeEnum, SecretSpec, Service, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecUpdateConfig,
    ServiceSpecUpdateConfigFailureActionEnum, ServiceSpecUpdateConfigOrderEnum,
    ServiceUpdateStatusStateEnum, Task, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1,
    TaskSpecContainerSpecSecrets, TaskSpecPlacement, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{
    InspectContainerOptions, InspectServiceOptions, ListConfigsOptions, ListContainersOptions,
    ListNetworksOptions, ListNodesOptions, ListSecretsOptions, ListServicesOptions,
    ListTasksOptions, PushImageOptions, TagImageOptions, UpdateServiceOptions,
};
use clockwork_schema::actions::{ContainerSpec, spec_hash};
use clockwork_schema::{Protocol, parse_port};
use futures::StreamExt;
use serde_json::{Value as Json, json};

use crate::docker::observe::{Observation, ObservedContainer};
use crate::docker::{Engine, EngineError, Owner, labels};
use crate::project::EngineTarget;

use super::execute::is_missing;

/// How often the tasks of a service are looked at while waiting: the
/// Engine sends no event for a task's state.
const TASK_POLL: Duration = Duration::from_millis(200);

/// The label Swarm puts on a task's container: its service's name.
const SERVICE_NAME_LABEL: &str = "com.docker.swarm.service.name";

/// Refuses an Engine that is not a manager of an active swarm: a service
/// can be made only there.
pub(super) async fn check_manager(docker: &Docker, endpoint: &str) -> Result<(), EngineError> {
    let info = docker
        .info()
        .await
        .map_err(|e| EngineError::call("ask about the swarm of", endpoint, e))?;
    let swarm = info.swarm.unwrap_or_default();
    let state = swarm
        .local_node_state
        .map(|s| s.to_string())
        .unwrap_or_default();
    if swarm.local_node_state == Some(LocalNodeState::ACTIVE)
        && swarm.control_available == Some(true)
    {
        return Ok(());
    }
    Err(EngineError::NotSwarmManager {
        endpoint: endpoint.to_string(),
        state: if state.is_empty() {
            "inactive".into()
        } else {
            state
        },
    })
}

impl Engine {
    /// Whether this project runs as services of a swarm.
    pub fn is_swarm(&self) -> bool {
        self.identity.target == EngineTarget::Swarm
    }

    /// The service `spec` asks for, on behalf of `owner`, with its config
    /// `hash` among the labels of the service and of its containers.
    pub(super) fn service_spec(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
        hash: &str,
        as_files: &[Delivered],
        as_configs: &[Delivered],
    ) -> Result<ServiceSpec, EngineError> {
        let labels = self.container_labels(owner, spec, hash);
        let mut mounts = Vec::new();
        for m in &spec.mounts {
            // A file of the project goes to every node as a config.
            if as_configs.iter().any(|c| c.key == m.target) {
                continue;
            }
            let source = crate::policy::mount_source(&self.files, m, &owner.grants)?;
            let bind = m.is_bind();
            if bind {
                let resolved = std::fs::canonicalize(&source)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| source.clone());
                if let Some(over) =
                    super::create::state_folder_hidden(self.files.root(), &resolved, &m.target)
                {
                    mounts.push(Mount {
                        target: Some(over),
                        typ: Some(MountType::TMPFS),
                        read_only: Some(true),
                        tmpfs_options: Some(MountTmpfsOptions {
                            size_bytes: Some(4096),
                            mode: Some(0o500),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
            mounts.push(Mount {
                target: Some(m.target.clone()),
                source: Some(source),
                typ: Some(if bind {
                    MountType::BIND
                } else {
                    MountType::VOLUME
                }),
                read_only: Some(m.read_only),
                ..Default::default()
            });
        }
        let networks = spec
            .networks
            .iter()
            .map(|n| NetworkAttachmentConfig {
                target: Some(n.clone()),
                aliases: super::create::endpoint(spec, n).aliases,
                ..Default::default()
            })
            .collect();
        let condition = match spec.restart_policy.as_str() {
            "no" => TaskSpecRestartPolicyConditionEnum::NONE,
            "on-failure" => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
            _ if !spec.must_run => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
            _ => TaskSpecRestartPolicyConditionEnum::ANY,
        };
        Ok(ServiceSpec {
            name: Some(spec.name.clone()),
            labels: Some(labels.clone()),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(self.image_for_nodes(&spec.image)),
                    labels: Some(labels),
                    // A container's `Entrypoint` is a service's `Command`,
                    // its `Cmd` the service's `Args`.
                    command: spec.entrypoint.clone(),
                    args: spec.command.clone(),
                    hostname: Some(spec.name.clone()),
                    // A secret the image reads from a file is a Docker
                    // secret, named in `VAR_FILE`: the service spec, which
                    // every manager keeps and `docker service inspect`
                    // shows, never holds it.
                    env: Some(
                        spec.env
                            .iter()
                            .map(|(k, v)| match as_files.iter().find(|f| f.key == *k) {
                                Some(f) => format!("{k}_FILE=/run/secrets/{}", f.name),
                                None => format!("{k}={v}"),
                            })
                            .collect(),
                    ),
                    configs: (!as_configs.is_empty()).then(|| {
                        as_configs
                            .iter()
                            .map(|c| TaskSpecContainerSpecConfigs {
                                file: Some(TaskSpecContainerSpecFile1 {
                                    name: Some(c.key.clone()),
                                    uid: Some("0".into()),
                                    gid: Some("0".into()),
                                    mode: Some(0o444),
                                }),
                                config_id: Some(c.id.clone()),
                                config_name: Some(c.name.clone()),
                                ..Default::default()
                            })
                            .collect()
                    }),
                    secrets: (!as_files.is_empty()).then(|| {
                        as_files
                            .iter()
                            .map(|f| TaskSpecContainerSpecSecrets {
                                file: Some(TaskSpecContainerSpecFile {
                                    name: Some(f.name.clone()),
                                    uid: Some("0".into()),
                                    gid: Some("0".into()),
                                    mode: Some(0o400),
                                }),
                                secret_id: Some(f.id.clone()),
                                secret_name: Some(f.name.clone()),
                            })
                            .collect()
                    }),
                    mounts: Some(mounts),
                    health_check: super::create::healthcheck(spec),
                    ..Default::default()
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(condition),
                    delay: Some(1_000_000_000),
                    ..Default::default()
                }),
                networks: Some(networks),
                placement: (!spec.placement.is_empty()).then(|| TaskSpecPlacement {
                    constraints: Some(spec.placement.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            mode: Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated {
                    replicas: Some(i64::from(spec.replicas.unwrap_or(1))),
                }),
                ..Default::default()
            }),
            endpoint_spec: Some(EndpointSpec {
                mode: Some(EndpointSpecModeEnum::DNSRR),
                ports: Some(published(&spec.ports)?),
            }),
            // A changed declaration is a rolling update, rolled back when
            // its new task fails. Stop first: a task publishing a port on
            // its node cannot start while the old one holds it.
            update_config: Some(ServiceSpecUpdateConfig {
                parallelism: Some(1),
                failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
                monitor: Some(3_000_000_000),
                order: Some(ServiceSpecUpdateConfigOrderEnum::STOP_FIRST),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// The Docker secrets of `spec`'s secret variables its image reads from
    /// a file (`POSTGRES_PASSWORD_FILE`), made when missing. Each is named
    /// after the service, the variable and a digest of the value: secrets
    /// never change, so a new value is a new secret, and the old one goes
    /// once nothing uses it.
    async fn secrets_as_files(
        &self,
        resource: &str,
        spec: &ContainerSpec,
    ) -> Result<Vec<Delivered>, EngineError> {
        let mut out = Vec::new();
        for (variable, value) in &spec.env {
            if !reads_from_file(&spec.image, variable) || !crate::secret::is_secret_name(variable) {
                continue;
            }
            let digest = spec_hash(&(&spec.name, variable, value));
            let name = object_name(&spec.name, &variable.to_ascii_lowercase(), &digest);
            let id = self
                .ensure_object(Held::Secret, resource, &name, value.as_bytes())
                .await?;
            out.push(Delivered {
                key: variable.clone(),
                name,
                id,
            });
        }
        Ok(out)
    }

    /// The Docker configs of `spec`'s mounts of project files: a bind
    /// mount reaches only the node that has the path, a config every node.
    /// Read through the project folder (no link, nothing it shields), at
    /// most the 500 KiB a config holds; named after the service, the file
    /// and a digest of its content, so a changed file is a new config.
    async fn files_as_configs(
        &self,
        resource: &str,
        spec: &ContainerSpec,
    ) -> Result<Vec<Delivered>, EngineError> {
        let mut out = Vec::new();
        for m in spec.mounts.iter().filter(|m| m.is_bind()) {
            let Ok(relative) = crate::project::ProjectDir::relative(&m.source) else {
                continue;
            };
            let is_file = self
                .files
                .host_path(&relative)
                .ok()
                .and_then(|p| std::fs::symlink_metadata(p).ok())
                .is_some_and(|meta| meta.is_file());
            if !is_file {
                continue;
            }
            let content = self
                .files
                .read_shielded(&relative, crate::project::Shield::Secrets, MAX_CONFIG_BYTES)
                .map_err(|e| {
                    EngineError::Policy(crate::policy::Denial::Path(format!(
                        "`{}`, mounted at `{}`, as a config of the swarm: {e}",
                        m.source, m.target
                    )))
                })?;
            let digest = spec_hash(&(&spec.name, &m.target, &content));
            let file_name = relative
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default()
                .replace(
                    |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.',
                    "-",
                );
            let name = object_name(&spec.name, &file_name, &digest);
            let id = self
                .ensure_object(Held::Config, resource, &name, &content)
                .await?;
            out.push(Delivered {
                key: m.target.clone(),
                name,
                id,
            });
        }
        Ok(out)
    }

    /// `resource`'s secret or config `name`, made with `data` unless this
    /// project has it already (its name holds a digest of `data`); its id.
    async fn ensure_object(
        &self,
        held: Held,
        resource: &str,
        name: &str,
        data: &[u8],
    ) -> Result<String, EngineError> {
        use base64::Engine as _;
        let existing = match held {
            Held::Secret => self
                .docker
                .inspect_secret(name)
                .await
                .ok()
                .and_then(|s| Some((s.id?, s.spec?.labels))),
            Held::Config => self
                .docker
                .inspect_config(name)
                .await
                .ok()
                .and_then(|c| Some((c.id?, c.spec?.labels))),
        };
        if let Some((id, labels)) = existing
            && self.ours(labels.as_ref())
        {
            return Ok(id);
        }
        let mut labels = self.labels(Some(resource), None);
        labels.insert(labels::TYPE.to_string(), held.word().to_string());
        let data = Some(base64::engine::general_purpose::STANDARD.encode(data));
        let made = match held {
            Held::Secret => {
                self.docker
                    .create_secret(SecretSpec {
                        name: Some(name.to_string()),
                        labels: Some(labels),
                        data,
                        ..Default::default()
                    })
                    .await
            }
            Held::Config => {
                self.docker
                    .create_config(ConfigSpec {
                        name: Some(name.to_string()),
                        labels: Some(labels),
                        data,
                        ..Default::default()
                    })
                    .await
            }
        };
        // The Engine's message never holds the data.
        let call = match held {
            Held::Secret => "create secret",
            Held::Config => "create config",
        };
        made.map(|r| r.id)
            .map_err(|e| EngineError::call(call, name, e))
    }

    /// Removes `resource`'s secrets or configs other than `kept`; one a
    /// task still uses (an update rolling) stays, and goes at a later
    /// apply.
    async fn clear_unused(&self, held: Held, resource: &str, kept: &[Delivered]) {
        let filters = Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{}={resource}", labels::RESOURCE)],
        )]));
        // Each one's id and labels.
        type Listed = Vec<(Option<String>, Option<HashMap<String, String>>)>;
        let listed: Listed = match held {
            Held::Secret => self
                .docker
                .list_secrets(Some(ListSecretsOptions { filters }))
                .await
                .map(|all| {
                    all.into_iter()
                        .map(|s| (s.id, s.spec.and_then(|s| s.labels)))
                        .collect()
                }),
            Held::Config => self
                .docker
                .list_configs(Some(ListConfigsOptions { filters }))
                .await
                .map(|all| {
                    all.into_iter()
                        .map(|c| (c.id, c.spec.and_then(|s| s.labels)))
                        .collect()
                }),
        }
        .unwrap_or_default();
        for (id, labels) in listed {
            let Some(id) = id else { continue };
            if !self.ours(labels.as_ref()) || kept.iter().any(|k| k.id == id) {
                continue;
            }
            let _ = match held {
                Held::Secret => self.docker.delete_secret(&id).await,
                Held::Config => self.docker.delete_config(&id).await,
            };
        }
    }

    /// `image` as the nodes get it: from the project's registry, pinned by
    /// the digest pushed there, when it was; else by its name, which each
    /// node must have or pull.
    fn image_for_nodes(&self, image: &str) -> String {
        self.pinned
            .lock()
            .ok()
            .and_then(|p| p.get(image).cloned())
            .unwrap_or_else(|| image.to_string())
    }

    /// Tags `image` for `registry`, pushes it, and remembers it by the
    /// digest the registry holds: every node then runs that very image.
    pub(super) async fn push_to_registry(
        &self,
        image: &str,
        registry: &str,
    ) -> Result<String, EngineError> {
        let without_digest = image.split('@').next().unwrap_or(image);
        let (repository, tag) = match without_digest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, tag),
            _ => (without_digest, "latest"),
        };
        let target = format!("{registry}/{repository}");
        self.docker
            .tag_image(
                image,
                Some(TagImageOptions {
                    repo: Some(target.clone()),
                    tag: Some(tag.to_string()),
                }),
            )
            .await
            .map_err(|e| EngineError::call("tag image", image, e))?;
        let mut push = self.docker.push_image(
            &target,
            Some(PushImageOptions {
                tag: Some(tag.to_string()),
                ..Default::default()
            }),
            None,
        );
        while let Some(step) = push.next().await {
            let step = step.map_err(|e| EngineError::call("push image", &target, e))?;
            if let Some(error) = step.error_detail.and_then(|d| d.message) {
                return Err(EngineError::call(
                    "push image",
                    &target,
                    format!(
                        "{error}; is the registry at {registry} running, and do the nodes trust it (`--insecure-registry`)?"
                    ),
                ));
            }
        }
        let pushed = self
            .docker
            .inspect_image(&format!("{target}:{tag}"))
            .await
            .map_err(|e| EngineError::call("inspect image", &target, e))?;
        let pinned = pushed
            .repo_digests
            .unwrap_or_default()
            .into_iter()
            .find(|d| d.starts_with(&format!("{target}@")))
            .ok_or_else(|| {
                EngineError::call("push image", &target, "the registry gave no digest")
            })?;
        if let Ok(mut map) = self.pinned.lock() {
            map.insert(image.to_string(), pinned.clone());
        }
        Ok(pinned)
    }

    /// Makes `spec`'s service, or changes the one of that name to it, or
    /// keeps it when it has this config already.
    pub(super) async fn ensure_service(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
    ) -> Result<Json, EngineError> {
        crate::policy::ports_allowed(owner, &spec.ports)?;
        let hash = spec_hash(spec);
        let as_files = self.secrets_as_files(owner.resource.as_str(), spec).await?;
        let as_configs = self.files_as_configs(owner.resource.as_str(), spec).await?;
        let wanted = self.service_spec(owner, spec, &hash, &as_files, &as_configs)?;
        let mut done = self
            .ensure_service_as(owner, spec, &hash, wanted, &as_files, &as_configs)
            .await?;
        if let Some(note) = self.volume_note(spec).await {
            done["kept"] = json!(note);
        }
        Ok(done)
    }

    /// A note when `spec` keeps data in a named volume on a swarm of more
    /// than one node without being pinned to one: a volume is local to the
    /// node that runs the task, and a task moved elsewhere finds it empty.
    async fn volume_note(&self, spec: &ContainerSpec) -> Option<String> {
        let volumes: Vec<&str> = spec
            .mounts
            .iter()
            .filter(|m| !m.is_bind())
            .map(|m| m.source.as_str())
            .collect();
        let pinned = spec.placement.iter().any(|c| {
            let c = c.replace(' ', "");
            c.starts_with("node.hostname==") || c.starts_with("node.id==")
        });
        if volumes.is_empty() || pinned {
            return None;
        }
        let nodes = self.docker.info().await.ok()?.swarm?.nodes?;
        (nodes > 1).then(|| {
            format!(
                "volume{} {} of `{}` live{} on the node that runs each task: a task moved to another node (or a second replica) starts with other data; pin it with `placement = [\"node.hostname==…\"]` if the data matters",
                if volumes.len() == 1 { "" } else { "s" },
                volumes.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
                spec.name,
                if volumes.len() == 1 { "s" } else { "" },
            )
        })
    }

    /// Makes `wanted` (for `spec`), or updates the service of its name to
    /// it, or keeps it.
    async fn ensure_service_as(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
        hash: &str,
        wanted: ServiceSpec,
        as_files: &[Delivered],
        as_configs: &[Delivered],
    ) -> Result<Json, EngineError> {
        match self
            .own_service(&spec.name, owner.resource.as_str())
            .await?
        {
            Some(existing) if label(&existing, labels::CONFIG_HASH) == Some(hash) => Ok(
                json!({"id": existing.id, "created": false, "started": false, "restart_count": 0}),
            ),
            Some(existing) => {
                let version = existing
                    .version
                    .as_ref()
                    .and_then(|v| v.index)
                    .and_then(|i| i32::try_from(i).ok())
                    .unwrap_or_default();
                self.docker
                    .update_service(
                        &spec.name,
                        wanted,
                        UpdateServiceOptions {
                            version,
                            ..Default::default()
                        },
                        None,
                    )
                    .await
                    .map_err(|e| EngineError::call("update service", &spec.name, e))?;
                if let Ok(mut updated) = self.updated.lock() {
                    updated.insert(spec.name.clone());
                }
                self.clear_unused(Held::Secret, owner.resource.as_str(), as_files)
                    .await;
                self.clear_unused(Held::Config, owner.resource.as_str(), as_configs)
                    .await;
                Ok(
                    json!({"id": existing.id, "created": false, "started": true, "restart_count": 0}),
                )
            }
            None => {
                let made = self
                    .docker
                    .create_service(wanted, None)
                    .await
                    .map_err(|e| EngineError::call("create service", &spec.name, e))?;
                Ok(json!({"id": made.id, "created": true, "started": true, "restart_count": 0}))
            }
        }
    }

    /// Removes `resource`'s service `name` and waits (within `grace` and a
    /// minute more) until its tasks are gone, so its networks can go too.
    pub(super) async fn remove_service(
        &self,
        resource: &str,
        name: &str,
        grace: Duration,
    ) -> Result<Json, EngineError> {
        if self.own_service(name, resource).await?.is_none() {
            return Ok(json!({"removed": false}));
        }
        match self.docker.delete_service(name).await {
            Ok(()) => {}
            Err(e) if is_missing(&e) => return Ok(json!({"removed": false})),
            Err(e) => return Err(EngineError::call("remove service", name, e)),
        }
        let deadline = Instant::now() + grace + Duration::from_secs(60);
        loop {
            let left = self.task_containers(name).await?;
            if left.is_empty() || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(TASK_POLL).await;
        }
        self.clear_unused(Held::Secret, resource, &[]).await;
        self.clear_unused(Held::Config, resource, &[]).await;
        Ok(json!({"removed": true}))
    }

    /// The service `name` when it is this project's and `resource`'s;
    /// `None` when there is none.
    async fn own_service(
        &self,
        name: &str,
        resource: &str,
    ) -> Result<Option<Service>, EngineError> {
        let service = match self
            .docker
            .inspect_service(name, None::<InspectServiceOptions>)
            .await
        {
            Ok(s) => s,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(EngineError::call("inspect service", name, e)),
        };
        let service_labels = service.spec.as_ref().and_then(|s| s.labels.as_ref());
        let owner = self.owner(service_labels);
        if owner != Owner::Ours {
            return Err(EngineError::Foreign {
                kind: "service",
                name: name.to_string(),
                owner,
            });
        }
        match label(&service, labels::RESOURCE) {
            Some(r) if r == resource => Ok(Some(service)),
            other => Err(EngineError::OtherResource {
                name: name.to_string(),
                owner: other.unwrap_or("(none)").to_string(),
                resource: resource.to_string(),
            }),
        }
    }

    /// The service `name` stands for: itself, or — for the container of a
    /// task, which a command or a log of the service reached — its
    /// service.
    async fn service_of(&self, name: &str) -> String {
        if let Ok(c) = self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
            && self.ours(c.config.as_ref().and_then(|c| c.labels.as_ref()))
            && let Some(service) = super::execute::label_of(&c, SERVICE_NAME_LABEL)
        {
            return service.clone();
        }
        name.to_string()
    }

    /// The tasks of service `name` that should run.
    async fn running_tasks(&self, name: &str) -> Result<Vec<Task>, EngineError> {
        let filters = HashMap::from([
            ("service".to_string(), vec![name.to_string()]),
            ("desired-state".to_string(), vec!["running".to_string()]),
        ]);
        self.docker
            .list_tasks(Some(ListTasksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| EngineError::call("list tasks of", name, e))
    }

    /// Waits until the tasks of service `name`'s current config run, as
    /// many as its replicas — with a
    /// health check, Swarm says a task runs only once it is healthy; during
    /// a rolling update the old task still runs, and does not count. An
    /// update Swarm rolled back is an error, with its message; a task that
    /// failed is said if the wait ends, since Swarm starts another.
    pub(super) async fn wait_service_ready(
        &self,
        name: &str,
        deadline: Duration,
    ) -> Result<(), EngineError> {
        let name = &self.service_of(name).await;
        let until = Instant::now() + deadline;
        let mut last = String::from("no task yet");
        loop {
            let service = self
                .docker
                .inspect_service(name, None::<InspectServiceOptions>)
                .await
                .map_err(|e| EngineError::call("inspect service", name, e))?;
            let updated_now = self.updated.lock().is_ok_and(|u| u.contains(name));
            if updated_now
                && let Some(update) = &service.update_status
                && let Some(state) = update.state
                && matches!(
                    state,
                    ServiceUpdateStatusStateEnum::ROLLBACK_STARTED
                        | ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED
                        | ServiceUpdateStatusStateEnum::ROLLBACK_PAUSED
                        | ServiceUpdateStatusStateEnum::PAUSED
                )
            {
                return Err(EngineError::call(
                    "update service",
                    name,
                    format!(
                        "the update failed and Swarm {state}: {}",
                        update.message.as_deref().unwrap_or("no message")
                    ),
                ));
            }
            let current = label(&service, labels::CONFIG_HASH);
            let wanted = service
                .spec
                .as_ref()
                .and_then(|s| s.mode.as_ref())
                .and_then(|m| m.replicated.as_ref())
                .and_then(|r| r.replicas)
                .unwrap_or(1)
                .max(1);
            let mut running = 0;
            for task in self.running_tasks(name).await? {
                let of_current = task
                    .spec
                    .as_ref()
                    .and_then(|s| s.container_spec.as_ref())
                    .and_then(|c| c.labels.as_ref())
                    .and_then(|l| l.get(labels::CONFIG_HASH))
                    .map(String::as_str)
                    == current;
                let status = task.status.unwrap_or_default();
                if !of_current {
                    continue;
                }
                if status.state == Some(TaskState::RUNNING) {
                    running += 1;
                } else {
                    last = task_said(&status.state, &status.message, &status.err);
                }
            }
            // An update of this run is done when Swarm says so: only then
            // has its new task outlived the update's monitor, and a task
            // that runs a moment and fails is not taken for ready.
            let update_done = !updated_now
                || service
                    .update_status
                    .as_ref()
                    .and_then(|u| u.state)
                    .is_none_or(|s| s == ServiceUpdateStatusStateEnum::COMPLETED);
            if running >= wanted && update_done {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(EngineError::call(
                    "wait for",
                    name,
                    format!(
                        "{running} of its {wanted} tasks ran within {} s (last: {last})",
                        deadline.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(TASK_POLL).await;
        }
    }

    /// What is wrong with service `name`, if no task of it runs.
    pub(super) async fn service_trouble(&self, name: &str) -> Result<Option<String>, EngineError> {
        let name = &self.service_of(name).await;
        let tasks = self.running_tasks(name).await?;
        if tasks
            .iter()
            .any(|t| t.status.as_ref().and_then(|s| s.state.as_ref()) == Some(&TaskState::RUNNING))
        {
            return Ok(None);
        }
        Ok(Some(match tasks.first().and_then(|t| t.status.as_ref()) {
            Some(s) => format!(
                "service `{name}`: {}",
                task_said(&s.state, &s.message, &s.err)
            ),
            None => format!("service `{name}` has no task"),
        }))
    }

    /// The containers on this node of service `name`'s tasks.
    pub(super) async fn task_containers(&self, name: &str) -> Result<Vec<String>, EngineError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{SERVICE_NAME_LABEL}={name}")],
        )]);
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list containers of service", name, e))?;
        Ok(listed
            .into_iter()
            .filter(|c| self.ours(c.labels.as_ref()))
            .filter_map(|c| c.id)
            .collect())
    }

    /// The running container of service `name` on this node, if any: what
    /// a command, a log or an inspect of the service reaches.
    pub(super) async fn task_container(&self, name: &str) -> Result<Option<String>, EngineError> {
        for task in self.running_tasks(name).await? {
            let status = task.status.unwrap_or_default();
            if status.state != Some(TaskState::RUNNING) {
                continue;
            }
            let Some(id) = status.container_status.and_then(|c| c.container_id) else {
                continue;
            };
            if self.task_containers(name).await?.contains(&id) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// This project's services, as the containers a resource plugin sees.
    pub(super) async fn observe_services(
        &self,
        observation: &mut Observation,
    ) -> Result<(), EngineError> {
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(self.clockwork_filter()),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list services", &self.identity.name, e))?;
        // A service's spec names its networks by id once made.
        let network_names: HashMap<String, String> = self
            .docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(|e| EngineError::call("list networks", &self.identity.name, e))?
            .into_iter()
            .filter_map(|n| Some((n.id?, n.name?)))
            .collect();
        for service in services {
            let spec = service.spec.clone().unwrap_or_default();
            let name = spec.name.clone().unwrap_or_default();
            match self.owner(spec.labels.as_ref()) {
                Owner::Ours => {}
                owner => {
                    let labels = spec.labels.clone().unwrap_or_default();
                    self.note_stranger(observation, "service", name, &labels, owner);
                    continue;
                }
            }
            let Some(resource) = label(&service, labels::RESOURCE).map(str::to_string) else {
                continue;
            };
            let tasks = self.running_tasks(&name).await?;
            let running = tasks.iter().find(|t| {
                t.status.as_ref().and_then(|s| s.state.as_ref()) == Some(&TaskState::RUNNING)
            });
            let container = spec
                .task_template
                .as_ref()
                .and_then(|t| t.container_spec.as_ref());
            // What it is on: a network it uses is never taken for unused.
            let networks: Vec<String> = spec
                .task_template
                .as_ref()
                .and_then(|t| t.networks.clone())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|n| n.target)
                .map(|target| network_names.get(&target).cloned().unwrap_or(target))
                .collect();
            observation
                .containers
                .entry(resource)
                .or_default()
                .push(ObservedContainer {
                    name: name.clone(),
                    id: service.id.clone().unwrap_or_default(),
                    running: running.is_some(),
                    restarting: running.is_none() && !tasks.is_empty(),
                    restart_count: 0,
                    exit_code: tasks
                        .iter()
                        .filter_map(|t| t.status.as_ref()?.container_status.as_ref()?.exit_code)
                        .next()
                        .unwrap_or(0),
                    started_at: None,
                    health: None,
                    config_hash: label(&service, labels::CONFIG_HASH).map(str::to_string),
                    type_name: label(&service, labels::TYPE).map(str::to_string),
                    image: container.and_then(|c| c.image.clone()).unwrap_or_default(),
                    addresses: Vec::new(),
                    aliases: Vec::new(),
                    networks,
                    tunables: Default::default(),
                    changed_outside: Vec::new(),
                });
        }
        Ok(())
    }
}

impl Engine {
    /// Each task of this project's services that should run, as a line of
    /// `docker ps` would show a container: named `SERVICE.SLOT`, its state,
    /// and in its status words the node that runs it — what `status`
    /// shows of a swarm, whichever node a task is on.
    pub async fn task_summaries(&self) -> Result<Vec<ContainerSummary>, EngineError> {
        let nodes: HashMap<String, String> = self
            .docker
            .list_nodes(None::<ListNodesOptions>)
            .await
            .map_err(|e| EngineError::call("list nodes of", &self.identity.name, e))?
            .into_iter()
            .filter_map(|n| Some((n.id?, n.description?.hostname?)))
            .collect();
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(self.clockwork_filter()),
                ..Default::default()
            }))
            .await
            .map_err(|e| EngineError::call("list services", &self.identity.name, e))?;
        let mut out = Vec::new();
        for service in services {
            let spec = service.spec.clone().unwrap_or_default();
            if !self.ours(spec.labels.as_ref()) {
                continue;
            }
            let name = spec.name.clone().unwrap_or_default();
            let mut tasks = self.running_tasks(&name).await?;
            tasks.sort_by_key(|t| t.slot);
            for task in tasks {
                let status = task.status.clone().unwrap_or_default();
                let node = task
                    .node_id
                    .as_ref()
                    .and_then(|id| nodes.get(id))
                    .map_or("no node yet", String::as_str);
                let state = match status.state {
                    Some(TaskState::RUNNING) => ContainerSummaryStateEnum::RUNNING,
                    Some(
                        TaskState::FAILED
                        | TaskState::REJECTED
                        | TaskState::SHUTDOWN
                        | TaskState::COMPLETE
                        | TaskState::ORPHANED,
                    ) => ContainerSummaryStateEnum::EXITED,
                    _ => ContainerSummaryStateEnum::CREATED,
                };
                let ports = status
                    .port_status
                    .as_ref()
                    .and_then(|p| p.ports.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| {
                        Some(PortSummary {
                            private_port: u16::try_from(p.target_port?).ok()?,
                            public_port: p.published_port.and_then(|n| u16::try_from(n).ok()),
                            typ: Some(match p.protocol {
                                Some(EndpointPortConfigProtocolEnum::UDP) => {
                                    PortSummaryTypeEnum::UDP
                                }
                                _ => PortSummaryTypeEnum::TCP,
                            }),
                            ..Default::default()
                        })
                    })
                    .collect();
                let labels = task
                    .spec
                    .as_ref()
                    .and_then(|s| s.container_spec.as_ref())
                    .and_then(|c| c.labels.clone())
                    .or_else(|| spec.labels.clone());
                out.push(ContainerSummary {
                    id: task.id.clone(),
                    names: Some(vec![format!("/{name}.{}", task.slot.unwrap_or(1))]),
                    state: Some(state),
                    status: Some(format!(
                        "{} on {node}",
                        task_said(&status.state, &status.message, &status.err)
                    )),
                    labels,
                    ports: Some(ports),
                    ..Default::default()
                });
            }
        }
        Ok(out)
    }
}

/// The most a Docker config holds.
const MAX_CONFIG_BYTES: u64 = 500 * 1024;

/// What a service is given through the swarm rather than its spec.
#[derive(Debug, Clone, Copy)]
enum Held {
    /// A Docker secret: a password its image reads from a file.
    Secret,
    /// A Docker config: a file of the project.
    Config,
}

impl Held {
    fn word(self) -> &'static str {
        match self {
            Held::Secret => "secret",
            Held::Config => "config",
        }
    }
}

/// A secret or a config of the project, as a service refers to it.
#[derive(Debug, Clone)]
pub(super) struct Delivered {
    /// What it stands for: a secret's variable (`POSTGRES_PASSWORD`), a
    /// config's path in the container.
    key: String,
    /// Its name, also a secret's file's in `/run/secrets`.
    name: String,
    /// Its id.
    id: String,
}

/// The name of a secret or config of `service`'s `what` with content
/// `digest`: at most the 64 characters Docker takes, the digest kept.
fn object_name(service: &str, what: &str, digest: &str) -> String {
    let stem: String = format!("{service}-{what}").chars().take(51).collect();
    format!("{stem}-{}", &digest[..12])
}

/// Whether `image` reads `variable` from the file `variable_FILE` names:
/// the official images of PostgreSQL, MySQL, MariaDB and MongoDB do, for
/// their passwords.
fn reads_from_file(image: &str, variable: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or(image);
    let repository = match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    };
    let last = repository.rsplit('/').next().unwrap_or(repository);
    let read: &[&str] = match last {
        "postgres" => &["POSTGRES_PASSWORD"],
        "mysql" => &["MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD"],
        "mariadb" => &[
            "MARIADB_ROOT_PASSWORD",
            "MARIADB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "MYSQL_PASSWORD",
        ],
        "mongo" => &["MONGO_INITDB_ROOT_PASSWORD"],
        _ => &[],
    };
    read.contains(&variable)
}

/// The ports a service publishes, each on the node that runs its task:
/// there is no routing mesh without IPVS.
fn published(ports: &[String]) -> Result<Vec<EndpointPortConfig>, EngineError> {
    ports
        .iter()
        .map(|port| {
            let m = parse_port(port).map_err(|e| EngineError::Payload(e.to_string()))?;
            if m.host_ip.is_some() {
                return Err(EngineError::Payload(format!(
                    "`{port}`: a swarm publishes a port on every address of the node that runs the task; leave out the address"
                )));
            }
            Ok(EndpointPortConfig {
                protocol: Some(if m.protocol == Protocol::Udp {
                    EndpointPortConfigProtocolEnum::UDP
                } else {
                    EndpointPortConfigProtocolEnum::TCP
                }),
                target_port: Some(i64::from(m.container_port)),
                published_port: m.host_port.map(i64::from),
                publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                ..Default::default()
            })
        })
        .collect()
}

/// A label of a service's own.
fn label<'a>(service: &'a Service, key: &str) -> Option<&'a str> {
    service
        .spec
        .as_ref()?
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// A task's state in words, with the Engine's message and error.
fn task_said(state: &Option<TaskState>, message: &Option<String>, err: &Option<String>) -> String {
    let state = state.map(|s| s.to_string()).unwrap_or_default();
    match (message.as_deref(), err.as_deref()) {
        (_, Some(err)) if !err.is_empty() => format!("{state}: {err}"),
        (Some(message), _) if !message.is_empty() => format!("{state}: {message}"),
        _ => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_database_images_read_their_passwords_from_files() {
        assert!(reads_from_file("postgres:15-alpine", "POSTGRES_PASSWORD"));
        assert!(reads_from_file(
            "docker.io/library/postgres@sha256:ab",
            "POSTGRES_PASSWORD"
        ));
        assert!(reads_from_file(
            "10.0.0.2:5000/mariadb:11",
            "MARIADB_PASSWORD"
        ));
        assert!(!reads_from_file("postgres:15", "POSTGRES_DB"));
        assert!(!reads_from_file("myapp:1", "POSTGRES_PASSWORD"));
    }

    #[test]
    fn ports_are_published_on_the_node_of_the_task() {
        let ports = published(&["8080:80".into(), "53/udp".into()]).expect("ports");
        assert_eq!(ports[0].target_port, Some(80));
        assert_eq!(ports[0].published_port, Some(8080));
        assert_eq!(
            ports[0].publish_mode,
            Some(EndpointPortConfigPublishModeEnum::HOST)
        );
        assert_eq!(ports[1].protocol, Some(EndpointPortConfigProtocolEnum::UDP));
        assert_eq!(ports[1].published_port, None);
        let refused = published(&["127.0.0.1:5432:5432".into()]).unwrap_err();
        assert!(
            refused.to_string().contains("leave out the address"),
            "{refused}"
        );
    }
}
