//! What the user's own words in one declaration let its actions do beyond
//! what the policy allows anyone: a bind mount of a path outside the
//! project, a port published on this machine.
//!
//! Trust comes from provenance, not from text. A [`Grants`] is built only
//! from the fields the user wrote in that declaration, read by their
//! schema types (`mount`, `port`), while the project file is collected;
//! nothing later in the pipeline — a rule, a model answer, `clockwork.lock`,
//! a connection, the state file or a plugin — can add to it. A string that
//! merely mentions `/etc` in `command` grants nothing.

use clockwork_schema::actions::MountSpec;
use clockwork_schema::{PortMapping, ValueType, parse_port};
use serde_json::{Map, Value as Json};

/// The privileges one declaration's own fields grant; see the module
/// documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Bind mounts of host paths (absolute, or in the project), as the user
    /// wrote them.
    binds: Vec<MountSpec>,
    /// Ports to publish on this machine, as the user wrote them.
    ports: Vec<PortMapping>,
}

impl Grants {
    /// Nothing beyond the policy's floor.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// The grants of a declaration's user-written `fields`, each read by
    /// its field's type (`type_of`). Only the loader calls this, with the
    /// fields as evaluated from the project file.
    pub(crate) fn of_user_fields(
        fields: &Map<String, Json>,
        type_of: impl Fn(&str) -> Option<ValueType>,
    ) -> Grants {
        let mut grants = Grants::none();
        for (name, value) in fields {
            if let Some(ty) = type_of(name) {
                grants.collect(&ty, value);
            }
        }
        grants
    }

    fn collect(&mut self, ty: &ValueType, value: &Json) {
        match (ty, value) {
            (ValueType::List(inner), Json::Array(items)) => {
                items.iter().for_each(|item| self.collect(inner, item));
            }
            (ValueType::Map(inner), Json::Object(entries)) => {
                entries.values().for_each(|item| self.collect(inner, item));
            }
            (ValueType::Mount, value) => {
                let mount = match ty.normalize(value) {
                    Json::Object(o) => serde_json::from_value::<MountSpec>(Json::Object(o)).ok(),
                    _ => None,
                };
                if let Some(mount) = mount.filter(MountSpec::is_bind) {
                    self.binds.push(mount);
                }
            }
            (ValueType::Port, Json::String(text)) => {
                if let Ok(port) = parse_port(text) {
                    self.ports.push(port);
                }
            }
            _ => {}
        }
    }

    /// Whether the user wrote this bind mount: the same source and target,
    /// and writable only if they wrote it so.
    pub fn allows_bind(&self, mount: &MountSpec) -> bool {
        self.binds.iter().any(|b| {
            b.source == mount.source
                && b.target == mount.target
                && (!b.read_only || mount.read_only)
        })
    }

    /// Whether the user wrote this port mapping: the same address, host
    /// port, container port and protocol.
    pub fn allows_port(&self, port: &PortMapping) -> bool {
        self.ports.contains(port)
    }

    /// The paths the user's bind mounts name, for messages.
    pub fn bind_sources(&self) -> impl Iterator<Item = &str> {
        self.binds.iter().map(|b| b.source.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn types(name: &str) -> Option<ValueType> {
        ValueType::parse(match name {
            "volumes" => "list<mount>",
            "ports" => "list<port>",
            "data" => "mount",
            _ => "list<string>",
        })
        .ok()
    }

    fn mount(source: &str, target: &str, read_only: bool) -> MountSpec {
        MountSpec {
            source: source.into(),
            target: target.into(),
            read_only,
        }
    }

    /// Only a value in a field of the right type grants: `/etc` in a
    /// `command` or an `env_vars` value grants nothing.
    #[test]
    fn a_path_or_port_merely_mentioned_grants_nothing() {
        let fields = json!({
            "command": ["sh", "-c", "cat /etc/passwd /var/run/docker.sock:/x 2375:2375"],
            "env_vars": ["/etc:/etc", "0.0.0.0:18777:80"],
        });
        let grants = Grants::of_user_fields(fields.as_object().unwrap(), types);
        assert_eq!(grants, Grants::none());
        assert!(!grants.allows_bind(&mount("/etc", "/etc", false)));
        assert!(!grants.allows_port(&parse_port("2375:2375").unwrap()));
    }

    #[test]
    fn a_written_mount_or_port_grants_exactly_itself() {
        let fields = json!({
            "volumes": ["/srv/data:/data:ro", "./local:/local", {"source": "/opt/x", "target": "/x"}],
            "ports": ["127.0.0.1:8080:80", "53/udp"],
            "data": "/var/log:/logs",
        });
        let grants = Grants::of_user_fields(fields.as_object().unwrap(), types);
        assert!(grants.allows_bind(&mount("/srv/data", "/data", true)));
        // Not writable, not elsewhere in the container.
        assert!(!grants.allows_bind(&mount("/srv/data", "/data", false)));
        assert!(!grants.allows_bind(&mount("/srv/data", "/other", true)));
        assert!(grants.allows_bind(&mount("/opt/x", "/x", false)));
        assert!(grants.allows_bind(&mount("/var/log", "/logs", true)));
        // A path in the project is granted as written too (what holds the
        // project's secrets needs it).
        assert!(grants.allows_bind(&mount("./local", "/local", false)));
        assert_eq!(
            grants.bind_sources().collect::<Vec<_>>(),
            ["/var/log", "/srv/data", "./local", "/opt/x"]
        );
        assert!(grants.allows_port(&parse_port("127.0.0.1:8080:80").unwrap()));
        assert!(grants.allows_port(&parse_port("53/udp").unwrap()));
        // Another address, protocol or port is another grant.
        assert!(!grants.allows_port(&parse_port("8080:80").unwrap()));
        assert!(!grants.allows_port(&parse_port("0.0.0.0:8080:80").unwrap()));
        assert!(!grants.allows_port(&parse_port("53").unwrap()));
    }
}
