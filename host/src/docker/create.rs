//! What the Engine is asked to create for a [`ContainerSpec`]: its ports,
//! its binds (with the project's state folder hidden from them), its
//! restart policy, health check, labels and networks.

use std::collections::HashMap;
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use clockwork_schema::actions::ContainerSpec;
use clockwork_schema::{Protocol, parse_port};

use crate::docker::{Engine, EngineError, labels};

/// The ports a container publishes, as the Engine takes them.
type PortBindings = HashMap<String, Option<Vec<PortBinding>>>;

impl Engine {
    /// The body of the create call for `spec`, on behalf of `owner`, with
    /// its config `hash` among the labels.
    pub(super) fn create_body(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
        hash: &str,
    ) -> Result<ContainerCreateBody, EngineError> {
        let (exposed, bindings) = port_bindings(&spec.ports)?;
        let (binds, hidden) = self.binds(owner, spec)?;
        let primary = spec.networks.first().cloned();
        Ok(ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            cmd: spec.command.clone(),
            entrypoint: spec.entrypoint.clone(),
            labels: Some(self.container_labels(owner, spec, hash)),
            exposed_ports: Some(exposed),
            healthcheck: healthcheck(spec),
            host_config: Some(HostConfig {
                binds: Some(binds),
                tmpfs: (!hidden.is_empty()).then_some(hidden),
                port_bindings: Some(bindings),
                restart_policy: Some(RestartPolicy {
                    name: Some(restart_policy(&spec.restart_policy)),
                    maximum_retry_count: None,
                }),
                network_mode: primary.clone(),
                ..Default::default()
            }),
            networking_config: primary.as_ref().map(|n| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(n.clone(), endpoint(spec, n))])),
            }),
            ..Default::default()
        })
    }

    /// The binds of `spec`'s mounts (each source checked against the
    /// policy and `owner`'s grants), and the tmpfs mounts that hide the
    /// project's state folder from the binds that would show it.
    fn binds(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
    ) -> Result<(Vec<String>, HashMap<String, String>), EngineError> {
        let mut hidden = HashMap::new();
        let binds = spec
            .mounts
            .iter()
            .map(|m| {
                let source = crate::policy::mount_source(&self.files, m, &owner.grants)?;
                // Compared as the Engine will resolve it: a path through a
                // link or `..` to the project is the project.
                let resolved = std::fs::canonicalize(&source)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| source.clone());
                if m.is_bind()
                    && let Some(over) = state_folder_hidden(self.files.root(), &resolved, &m.target)
                {
                    hidden.insert(over, "ro,size=4k,mode=0500".to_string());
                }
                Ok(format!(
                    "{source}:{}{}",
                    m.target,
                    if m.read_only { ":ro" } else { "" }
                ))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok((binds, hidden))
    }

    /// The container's labels: the user's first, then Clockwork's over them.
    pub(super) fn container_labels(
        &self,
        owner: &crate::policy::Scope,
        spec: &ContainerSpec,
        hash: &str,
    ) -> HashMap<String, String> {
        // Policy has refused a spec with a `dev.clockwork.` key already;
        // one is still never passed on, whatever got this far.
        let mut labels: HashMap<String, String> = spec
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with(labels::NAMESPACE))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.extend(self.labels(Some(owner.resource.as_str()), Some(hash)));
        labels.insert(labels::TYPE.to_string(), owner.type_name.to_string());
        if !spec.must_run {
            labels.insert(labels::MUST_RUN.to_string(), "false".to_string());
        }
        if let Some(at) = owner.expires_at {
            labels.insert(labels::EXPIRES_AT.to_string(), at.to_string());
        }
        labels
    }
}

/// The container ports exposed (`80/tcp`) and what each is bound to on
/// the host.
fn port_bindings(ports: &[String]) -> Result<(Vec<String>, PortBindings), EngineError> {
    let mut exposed = Vec::new();
    let mut bindings: PortBindings = HashMap::new();
    for port in ports {
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
    Ok((exposed, bindings))
}

/// The Engine's name for a restart policy; `unless-stopped` unless told.
fn restart_policy(policy: &str) -> RestartPolicyNameEnum {
    match policy {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        "no" => RestartPolicyNameEnum::NO,
        _ => RestartPolicyNameEnum::UNLESS_STOPPED,
    }
}

/// The spec's health check, its durations in nanoseconds.
pub(super) fn healthcheck(spec: &ContainerSpec) -> Option<HealthConfig> {
    let ns = |ms: u64| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
    spec.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(ns(h.interval_ms)),
        timeout: Some(ns(h.timeout_ms)),
        retries: Some(i64::try_from(h.retries).unwrap_or(i64::MAX)),
        start_period: Some(ns(h.start_period_ms)),
        ..Default::default()
    })
}

/// The container on `network`, known there by its name and its aliases.
pub(super) fn endpoint(spec: &ContainerSpec, network: &str) -> EndpointSettings {
    let mut aliases = vec![spec.name.clone()];
    aliases.extend(spec.aliases.iter().cloned());
    EndpointSettings {
        aliases: Some(aliases),
        network_id: Some(network.to_string()),
        ..Default::default()
    }
}

/// Where, in a container, an empty read-only tmpfs must cover the project's
/// state folder: a bind of `source` (resolved) at `target` that holds the
/// project root, as `.:/app` does, would give the container `.clockwork/`,
/// which is never given to one.
pub(super) fn state_folder_hidden(root: &Path, source: &str, target: &str) -> Option<String> {
    let state = root.join(crate::project::STATE_DIR);
    let inside = state.strip_prefix(Path::new(source)).ok()?;
    Some(format!(
        "{}/{}",
        target.trim_end_matches('/'),
        inside.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bind_that_holds_the_state_folder_has_it_covered() {
        let root = Path::new("/work/shop");
        assert_eq!(
            state_folder_hidden(root, "/work/shop", "/app/").as_deref(),
            Some("/app/.clockwork")
        );
        assert_eq!(
            state_folder_hidden(root, "/work", "/w").as_deref(),
            Some("/w/shop/.clockwork")
        );
        assert_eq!(state_folder_hidden(root, "/work/shop/data", "/data"), None);
        assert_eq!(state_folder_hidden(root, "/work/shopping", "/x"), None);
    }

    #[test]
    fn each_port_is_exposed_and_bound_where_it_says() {
        let ports = [
            "8080:80".to_string(),
            "127.0.0.1:5353:53/udp".to_string(),
            "9000".to_string(),
        ];
        let (exposed, bindings) = port_bindings(&ports).expect("ports");
        assert_eq!(exposed, ["80/tcp", "53/udp", "9000/tcp"]);
        let bound = |key: &str| {
            let b = &bindings[key].as_ref().expect("bound")[0];
            (b.host_ip.clone(), b.host_port.clone())
        };
        assert_eq!(bound("80/tcp"), (None, Some("8080".into())));
        assert_eq!(
            bound("53/udp"),
            (Some("127.0.0.1".into()), Some("5353".into()))
        );
        // Published on a port the Engine picks.
        assert_eq!(bound("9000/tcp"), (None, Some(String::new())));
        assert!(port_bindings(&["not a port".to_string()]).is_err());
    }
}
