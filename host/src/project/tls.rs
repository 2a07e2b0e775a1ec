//! Where the certificates of TLS connections live in the state folder,
//! and what of them a container may get mounted. Making them is the `tls`
//! driver's ([`crate::driver`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Where the certificates live, inside the project's state folder.
pub const TLS_DIR: &str = ".clockwork/tls";

/// What a connection asks for: a certificate for `service`, valid for the
/// names `hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The service; its folder under [`TLS_DIR`].
    pub service: String,
    /// The DNS names the certificate is for.
    pub hosts: Vec<String>,
}

/// The CA certificate's path, relative to the project.
pub fn ca_path() -> String {
    format!("{TLS_DIR}/ca.pem")
}

/// The certificate and key paths of `service`, relative to the project.
pub fn service_paths(service: &str) -> (String, String) {
    (
        format!("{TLS_DIR}/{service}/cert.pem"),
        format!("{TLS_DIR}/{service}/key.pem"),
    )
}

/// What of the state folder a container may get mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mountable {
    /// The CA certificate or a service's certificate: public.
    Certificate,
    /// A service's private key: only for the resource its connection
    /// secures.
    Key(String),
}

/// Whether a container may get `rel` (inside the state folder) mounted,
/// and as what: only the CA certificate and a service's certificate and
/// key.
pub fn mountable(rel: &Path) -> Option<Mountable> {
    let inside = rel.strip_prefix(TLS_DIR).ok()?;
    let parts: Vec<&str> = inside.iter().filter_map(|p| p.to_str()).collect();
    match parts.as_slice() {
        ["ca.pem"] => Some(Mountable::Certificate),
        [service, "cert.pem"] if valid_name(service) => Some(Mountable::Certificate),
        [service, "key.pem"] if valid_name(service) => Some(Mountable::Key(service.to_string())),
        _ => None,
    }
}

/// A service or host name a certificate may be made for.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_certificates_are_mountable() {
        assert_eq!(
            mountable(Path::new(".clockwork/tls/ca.pem")),
            Some(Mountable::Certificate)
        );
        assert_eq!(
            mountable(Path::new(".clockwork/tls/api/cert.pem")),
            Some(Mountable::Certificate)
        );
        assert_eq!(
            mountable(Path::new(".clockwork/tls/api/key.pem")),
            Some(Mountable::Key("api".into()))
        );
        assert!(mountable(Path::new(".clockwork/tls/ca-key.pem")).is_none());
        assert!(mountable(Path::new(".clockwork/state.json")).is_none());
        assert!(mountable(Path::new(".clockwork/tls/api/issued.json")).is_none());
        assert!(mountable(Path::new(".clockwork/tls/../state.json")).is_none());
    }
}
