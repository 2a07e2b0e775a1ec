//! Executing actions on the Engine: images, networks, volumes, containers,
//! commands in containers, and waiting for readiness on Engine events and
//! protocol probes (never a fixed sleep).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HealthConfig, HostConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, InspectContainerOptions,
    LogsOptions, RemoveContainerOptions, RemoveVolumeOptions, StopContainerOptions,
};
use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, MountSpec, NetworkSpec, VolumeSpec, WaitCondition, WaitSpec, spec_hash,
};
use clockwork_schema::{Protocol, parse_port};
use futures::StreamExt;
use serde_json::{Value as Json, json};
use tokio::io::AsyncWriteExt;

use crate::docker::{Engine, EngineError, labels};

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

impl Engine {
    fn ours(&self, labels: Option<&HashMap<String, String>>) -> bool {
        labels
            .and_then(|l| l.get(labels::PROJECT))
            .is_some_and(|p| *p == self.project)
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
        match self.docker.inspect_network(&spec.name, None).await {
            Ok(n) if self.ours(n.labels.as_ref()) => {
                return Ok(json!({"network": spec.name, "created": false}));
            }
            Ok(_) => {
                return Err(EngineError::Foreign {
                    kind: "network",
                    name: spec.name.clone(),
                    project: self.project.clone(),
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
            ipam,
            labels: Some(self.labels(None, None)),
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|e| EngineError::call("create network", &spec.name, e))?;
        Ok(json!({"network": spec.name, "created": true}))
    }

    /// Creates a volume of this project unless it exists.
    pub async fn ensure_volume(&self, spec: &VolumeSpec) -> Result<Json, EngineError> {
        let _serial = self.create_lock.lock().await;
        match self.docker.inspect_volume(&spec.name).await {
            Ok(v) if v.labels.get(labels::PROJECT) == Some(&self.project) => {
                return Ok(json!({"volume": spec.name, "created": false}));
            }
            Ok(_) => {
                return Err(EngineError::Foreign {
                    kind: "volume",
                    name: spec.name.clone(),
                    project: self.project.clone(),
                });
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

    /// A mount's source as the Engine wants it, checked against policy:
    /// relative paths stay inside the project folder; absolute paths only
    /// when the user wrote them in this resource's own `volumes`.
    fn mount_source(
        &self,
        mount: &MountSpec,
        user_paths: &[String],
    ) -> Result<String, EngineError> {
        if !mount.is_bind() {
            return Ok(mount.source.clone());
        }
        if mount.source.starts_with('~') {
            return Err(EngineError::Policy(format!(
                "bind mount `{}`: `~` is not expanded; use a path relative to the project",
                mount.source
            )));
        }
        let path = Path::new(&mount.source);
        if path.is_absolute() {
            if user_paths.iter().any(|p| p == &mount.source) {
                return Ok(mount.source.clone());
            }
            return Err(EngineError::Policy(format!(
                "bind mount of `{}` is outside the project folder and was not written by you in this resource's `volumes`",
                mount.source
            )));
        }
        let mut inside = PathBuf::new();
        for c in path.components() {
            match c {
                Component::Normal(n) => inside.push(n),
                Component::CurDir => {}
                _ => {
                    return Err(EngineError::Policy(format!(
                        "bind mount `{}` leaves the project folder",
                        mount.source
                    )));
                }
            }
        }
        Ok(self.project_dir.join(inside).display().to_string())
    }

    /// Creates and starts a container, or starts it when one with the same
    /// config hash exists. `user_paths` are the absolute bind sources the
    /// user wrote for this resource.
    pub async fn ensure_container(
        &self,
        resource: &str,
        spec: &ContainerSpec,
        user_paths: &[String],
    ) -> Result<Json, EngineError> {
        let hash = spec_hash(spec);
        if let Some(existing) = self.inspect_container(&spec.name).await? {
            let labels = existing.config.as_ref().and_then(|c| c.labels.as_ref());
            if !self.ours(labels) {
                return Err(EngineError::Foreign {
                    kind: "container",
                    name: spec.name.clone(),
                    project: self.project.clone(),
                });
            }
            let id = existing.id.clone().unwrap_or_default();
            if labels.and_then(|l| l.get(labels::CONFIG_HASH)) == Some(&hash) {
                let running = existing
                    .state
                    .as_ref()
                    .and_then(|s| s.running)
                    .unwrap_or(false);
                if !running {
                    self.docker
                        .start_container(&id, None)
                        .await
                        .map_err(|e| EngineError::call("start container", &spec.name, e))?;
                }
                return Ok(json!({"id": id, "created": false}));
            }
            // Same name, another config: this project's old container goes.
            self.remove_container(&spec.name, Duration::from_secs(10))
                .await?;
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
        let binds = spec
            .mounts
            .iter()
            .map(|m| {
                let source = self.mount_source(m, user_paths)?;
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
            labels: Some({
                let mut labels = self.labels(Some(resource), Some(&hash));
                if !spec.must_run {
                    labels.insert(labels::MUST_RUN.to_string(), "false".to_string());
                }
                labels
            }),
            exposed_ports: Some(exposed),
            healthcheck,
            host_config: Some(HostConfig {
                binds: Some(binds),
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
            .map_err(|e| EngineError::call("start container", &spec.name, e))?;
        Ok(json!({"id": created.id, "created": true}))
    }

    /// Stops (within `grace`) and removes a container of this project; a
    /// missing container is fine, a foreign one an error.
    pub async fn remove_container(&self, name: &str, grace: Duration) -> Result<Json, EngineError> {
        let Some(existing) = self.inspect_container(name).await? else {
            return Ok(json!({"removed": false}));
        };
        if !self.ours(existing.config.as_ref().and_then(|c| c.labels.as_ref())) {
            return Err(EngineError::Foreign {
                kind: "container",
                name: name.to_string(),
                project: self.project.clone(),
            });
        }
        // A process that cannot receive its stop signal would only be
        // killed after the grace period: kill it now.
        let deaf = super::stop_signal::ignores_stop_signal(&existing);
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
            Ok(()) => {}
            Err(e) if is_missing(&e) => return Ok(json!({"removed": false})),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => return Err(EngineError::call("stop container", name, e)),
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
            Ok(_) => {
                return Err(EngineError::Foreign {
                    kind: "network",
                    name: name.to_string(),
                    project: self.project.clone(),
                });
            }
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(EngineError::call("inspect network", name, e)),
        }
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(EngineError::call("remove network", name, e)),
        }
    }

    /// Removes a volume of this project (and its data); one without this
    /// project's label is refused.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        match self.docker.inspect_volume(name).await {
            Ok(v) if v.labels.get(labels::PROJECT) == Some(&self.project) => {}
            Ok(_) => {
                return Err(EngineError::Foreign {
                    kind: "volume",
                    name: name.to_string(),
                    project: self.project.clone(),
                });
            }
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(EngineError::call("inspect volume", name, e)),
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
    /// is gone, stopped, restarting, or — when `fresh` (started by this
    /// apply) — already restarted after a crash. Containers labelled
    /// `must-run=false` may stop and are never wrong.
    pub async fn trouble(&self, name: &str, fresh: bool) -> Result<Option<String>, EngineError> {
        let Some(c) = self.inspect_container(name).await? else {
            return Ok(Some(format!("container `{name}` is gone")));
        };
        let must_run = c
            .config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(labels::MUST_RUN))
            .is_none_or(|v| v != "false");
        if !must_run {
            return Ok(None);
        }
        let state = c.state.clone().unwrap_or_default();
        let code = state.exit_code.unwrap_or(0);
        let restarts = c.restart_count.unwrap_or(0);
        let what = if state.restarting == Some(true) {
            format!("container `{name}` keeps restarting (last exit code {code})")
        } else if state.running != Some(true) {
            format!("container `{name}` exited with code {code}")
        } else if fresh && restarts > 0 {
            format!(
                "container `{name}` crashed and was restarted {restarts} time{}",
                if restarts == 1 { "" } else { "s" }
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

    /// Names of the containers of `resource`.
    pub async fn containers_of(&self, resource: &str) -> Result<Vec<String>, EngineError> {
        let mut filters = self.project_filter();
        if let Some(label) = filters.get_mut("label") {
            label.push(format!("{}={resource}", labels::RESOURCE));
        }
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
            .filter_map(|c| {
                c.names?
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
            })
            .collect())
    }

    /// The last `lines` lines a container printed.
    pub async fn logs_tail(&self, name: &str, lines: usize) -> String {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(name, Some(options));
        let mut out = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&chunk.to_string());
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
    pub async fn exec(&self, spec: &ExecSpec) -> Result<ExecOutput, EngineError> {
        let Some(existing) = self.inspect_container(&spec.container).await? else {
            return Err(EngineError::call(
                "exec in",
                &spec.container,
                "no such container",
            ));
        };
        if !self.ours(existing.config.as_ref().and_then(|c| c.labels.as_ref())) {
            return Err(EngineError::Foreign {
                kind: "container",
                name: spec.container.clone(),
                project: self.project.clone(),
            });
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
        let relative = Path::new(file.trim_start_matches("./"));
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(EngineError::Policy(format!(
                "`{file}` is outside the project folder"
            )));
        }
        std::fs::read(self.project_dir.join(relative))
            .map_err(|e| EngineError::call("read", file, e))
    }

    /// Waits for a condition.
    pub async fn wait(&self, spec: &WaitSpec) -> Result<Json, EngineError> {
        let started = Instant::now();
        let deadline = Duration::from_millis(spec.timeout_ms);
        match &spec.condition {
            WaitCondition::Healthy { container } => {
                self.wait_ready(container, true, deadline).await?
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
                    let last = match self.exec(&attempt).await {
                        Ok(out) if out.code == 0 => break,
                        Ok(out) => format!("exit code {}: {}", out.code, out.output.trim()),
                        Err(e) => e.to_string(),
                    };
                    if started.elapsed() + backoff > deadline {
                        return Err(EngineError::Timeout(format!(
                            "`{}` in `{}` did not succeed within {} ms (last: {last})",
                            exec.argv.join(" "),
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

    /// Waits until a container runs and, when it has a health check, is
    /// healthy — on the Engine's event stream, not by polling on a timer.
    pub async fn wait_ready(
        &self,
        name: &str,
        healthy: bool,
        deadline: Duration,
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
        // A crash under a restart policy shows as `restarting`, or as a
        // higher restart count once it runs again: not ready, and never
        // going to be by waiting.
        let mut restarts_at_start = None;
        let mut check = |c: &ContainerInspectResponse| -> Option<Result<(), i64>> {
            let state = c.state.as_ref()?;
            let restarts = c.restart_count.unwrap_or(0);
            let first = *restarts_at_start.get_or_insert(restarts);
            if state.restarting == Some(true) {
                return Some(Err(state.exit_code.unwrap_or(-1)));
            }
            if restarts > first {
                // Running again: its exit code is gone.
                return Some(Err(-1));
            }
            if state.running != Some(true) {
                if state.status.map(|s| s.to_string()) == Some("created".into()) {
                    return None;
                }
                return Some(Err(state.exit_code.unwrap_or(-1)));
            }
            let health = state
                .health
                .as_ref()
                .and_then(|h| h.status)
                .map(|s| s.to_string());
            match health.as_deref() {
                Some("healthy") => Some(Ok(())),
                Some("starting") | Some("unhealthy") if healthy => None,
                _ => Some(Ok(())),
            }
        };
        let outcome = tokio::time::timeout(deadline, async {
            loop {
                let Some(c) = self.inspect_container(name).await? else {
                    return Err(EngineError::call(
                        "wait for",
                        name,
                        "the container disappeared",
                    ));
                };
                match check(&c) {
                    Some(Ok(())) => return Ok(()),
                    Some(Err(code)) => {
                        return Err(EngineError::Exited {
                            name: name.to_string(),
                            code,
                            logs: self.logs_tail(name, 5).await,
                        });
                    }
                    None => {}
                }
                // Any event of this container (health_status, die, start…)
                // is a reason to look again.
                match events.next().await {
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
