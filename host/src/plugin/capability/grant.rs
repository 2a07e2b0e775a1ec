//! What a plugin may reach through the host imports.
//!
//! Grants start from nothing, like `WasiCtxBuilder`: a plugin kind's world
//! decides which interfaces exist at all (the linker has nothing else), and
//! these grants decide, call by call, which roots, hosts and containers
//! those interfaces reach.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::model::PluginKind;

/// The grants of one plugin.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// Named read-only file roots, e.g. `project` → the project folder.
    pub fs_roots: BTreeMap<String, PathBuf>,
    /// Hosts the `probe` interface may contact.
    pub network: NetworkGrant,
    /// Whether `docker` observation is allowed (assertion plugins).
    pub docker_observe: bool,
    /// Whether `exec` in the project's containers is allowed.
    pub docker_exec: bool,
}

impl Grants {
    /// The grants every plugin of `kind` gets in a project at `project_dir`
    /// (none when running outside a project).
    pub fn for_kind(kind: PluginKind, project_dir: Option<PathBuf>) -> Self {
        let mut fs_roots = BTreeMap::new();
        if let Some(dir) = project_dir {
            fs_roots.insert(PROJECT_ROOT.to_string(), dir);
        }
        let assertion = kind == PluginKind::Assertion;
        Grants {
            fs_roots,
            network: if assertion {
                NetworkGrant {
                    project_containers: true,
                    ..NetworkGrant::loopback()
                }
            } else {
                NetworkGrant::none()
            },
            docker_observe: assertion,
            docker_exec: assertion,
        }
    }
}

/// The name of the root holding `main.star`.
pub const PROJECT_ROOT: &str = "project";

/// Hosts a plugin's probes may reach.
#[derive(Debug, Clone, Default)]
pub struct NetworkGrant {
    /// Whether loopback (`localhost`, `127.0.0.0/8`, `::1`) is allowed.
    pub loopback: bool,
    /// Named hosts and the addresses they stand for.
    pub named: BTreeMap<String, Vec<IpAddr>>,
    /// Whether the project's containers are reachable by name and address,
    /// once a command attaches the running deployment.
    pub project_containers: bool,
}

impl NetworkGrant {
    /// Nothing at all.
    pub fn none() -> Self {
        NetworkGrant::default()
    }

    /// Loopback only.
    pub fn loopback() -> Self {
        NetworkGrant {
            loopback: true,
            named: BTreeMap::new(),
            project_containers: false,
        }
    }

    /// The addresses `host` may be reached at, or why it may not.
    ///
    /// Names are never looked up in public DNS: a name is either
    /// `localhost` or one of the grant's named hosts, so a probe cannot be
    /// pointed at an arbitrary address by a name that resolves there.
    pub fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let allowed = (self.loopback && ip.is_loopback())
                || self.named.values().any(|addrs| addrs.contains(&ip));
            return if allowed {
                Ok(vec![ip])
            } else {
                Err(format!(
                    "`{host}` is outside this plugin's network grant (loopback and this project's containers)"
                ))
            };
        }
        if self.loopback && bare.eq_ignore_ascii_case("localhost") {
            return Ok(vec![IpAddr::from([127, 0, 0, 1])]);
        }
        if let Some(addrs) = self.named.get(bare) {
            return Ok(addrs.clone());
        }
        Err(format!(
            "`{host}` is outside this plugin's network grant (loopback and this project's containers)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_grant_allows_only_loopback() {
        let grant = NetworkGrant::loopback();
        assert!(grant.addresses("127.0.0.1").is_ok());
        assert!(grant.addresses("[::1]").is_ok());
        assert!(grant.addresses("localhost").is_ok());
        assert!(grant.addresses("10.0.0.1").is_err());
        assert!(grant.addresses("example.com").is_err());
        assert!(NetworkGrant::none().addresses("127.0.0.1").is_err());
    }

    #[test]
    fn named_hosts_map_to_their_addresses_only() {
        let mut grant = NetworkGrant::none();
        grant
            .named
            .insert("postgres-db".into(), vec![IpAddr::from([172, 18, 0, 2])]);
        assert_eq!(
            grant.addresses("postgres-db"),
            Ok(vec![IpAddr::from([172, 18, 0, 2])])
        );
        assert!(grant.addresses("172.18.0.2").is_ok());
        assert!(grant.addresses("172.18.0.3").is_err());
    }

    #[test]
    fn assertion_plugins_get_probes_and_observation_resources_do_not() {
        let assertion = Grants::for_kind(PluginKind::Assertion, None);
        assert!(assertion.network.loopback && assertion.docker_observe);
        let resource = Grants::for_kind(PluginKind::Resource, Some("/p".into()));
        assert!(!resource.network.loopback && !resource.docker_observe && !resource.docker_exec);
        assert_eq!(
            resource.fs_roots.get(PROJECT_ROOT),
            Some(&PathBuf::from("/p"))
        );
    }
}
