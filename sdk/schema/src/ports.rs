//! Port mappings as users write them (`"8080:80"`, `"127.0.0.1:53:53/udp"`,
//! `"6379"`), parsed once for the host and the plugins.

use std::fmt;

/// A published or exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    /// The host address to bind, if given (`127.0.0.1` in `127.0.0.1:80:80`).
    pub host_ip: Option<std::net::IpAddr>,
    /// The host port, if the port is published.
    pub host_port: Option<u16>,
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: Protocol,
}

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP, the default.
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// Why a port string is not a mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a port mapping: {reason}; expected \"container\", \"host:container\" or \"ip:host:container\", optionally with \"/tcp\" or \"/udp\" (e.g. \"8080:80\")"
)]
pub struct PortError {
    /// The text.
    pub text: String,
    /// What was wrong.
    pub reason: String,
}

/// Parses one port mapping.
pub fn parse_port(text: &str) -> Result<PortMapping, PortError> {
    let error = |reason: &str| PortError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let (body, protocol) = match text.rsplit_once('/') {
        Some((body, "tcp")) => (body, Protocol::Tcp),
        Some((body, "udp")) => (body, Protocol::Udp),
        Some((_, other)) => return Err(error(&format!("unknown protocol `{other}`"))),
        None => (text, Protocol::Tcp),
    };
    let port = |p: &str, what: &str| -> Result<u16, PortError> {
        // Digits only: `+80` is no port (u32's parser would take it).
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error(&format!("{what} port `{p}` is not a number")));
        }
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
            Ok(n) => Err(error(&format!("{what} port {n} is out of range 1-65535"))),
            Err(_) => Err(error(&format!("{what} port `{p}` is not a number"))),
        }
    };
    // An IPv6 host address is bracketed: "[::1]:8080:80".
    let (host_ip, rest) = if let Some(stripped) = body.strip_prefix('[') {
        let (ip, rest) = stripped
            .split_once("]:")
            .ok_or_else(|| error("unclosed `[`"))?;
        (
            Some(
                ip.parse()
                    .map_err(|_| error(&format!("`{ip}` is not an IP address")))?,
            ),
            rest,
        )
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        if parts.len() == 3 {
            let ip = parts[0]
                .parse()
                .map_err(|_| error(&format!("`{}` is not an IP address", parts[0])))?;
            (Some(ip), &body[parts[0].len() + 1..])
        } else {
            (None, body)
        }
    };
    let parts: Vec<&str> = rest.split(':').collect();
    match parts.as_slice() {
        [container] if host_ip.is_none() => Ok(PortMapping {
            host_ip,
            host_port: None,
            container_port: port(container, "container")?,
            protocol,
        }),
        [host, container] => Ok(PortMapping {
            host_ip,
            host_port: if host.is_empty() {
                None
            } else {
                Some(port(host, "host")?)
            },
            container_port: port(container, "container")?,
            protocol,
        }),
        _ => Err(error("too many `:`")),
    }
}

/// The container port of the first entry of a `ports` list, if any parses.
pub fn first_container_port(ports: &serde_json::Value) -> Option<u16> {
    ports
        .as_array()?
        .first()?
        .as_str()
        .and_then(|p| parse_port(p).ok())
        .map(|m| m.container_port)
}

/// The environment-variable prefix for a declaration name: upper case,
/// `-` and `.` as `_` (`postgres-db` → `POSTGRES_DB`).
pub fn env_prefix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let m = parse_port("8080:80").unwrap();
        assert_eq!(
            (m.host_port, m.container_port, m.protocol),
            (Some(8080), 80, Protocol::Tcp)
        );
        assert_eq!(parse_port("6379").unwrap().host_port, None);
        let udp = parse_port("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(udp.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            (udp.host_port, udp.container_port, udp.protocol),
            (Some(5353), 53, Protocol::Udp)
        );
        assert_eq!(parse_port("[::1]:8080:80").unwrap().container_port, 80);
        assert_eq!(parse_port("127.0.0.1::80").unwrap().host_port, None);
    }

    #[test]
    fn rejects_bad_ports_with_the_reason() {
        assert_eq!(
            parse_port("80:http").unwrap_err().reason,
            "container port `http` is not a number"
        );
        assert_eq!(
            parse_port("70000").unwrap_err().reason,
            "container port 70000 is out of range 1-65535"
        );
        assert_eq!(
            parse_port("80/sctp").unwrap_err().reason,
            "unknown protocol `sctp`"
        );
        assert_eq!(parse_port("1:2:3:4").unwrap_err().reason, "too many `:`");
        // As the Python SDK reads them: digits only.
        assert_eq!(
            parse_port("+80").unwrap_err().reason,
            "container port `+80` is not a number"
        );
        assert_eq!(
            parse_port("+8080:80").unwrap_err().reason,
            "host port `+8080` is not a number"
        );
        assert_eq!(
            parse_port("host:80:80").unwrap_err().reason,
            "`host` is not an IP address"
        );
    }

    #[test]
    fn env_prefixes() {
        assert_eq!(env_prefix("postgres-db"), "POSTGRES_DB");
        assert_eq!(env_prefix("api.v2"), "API_V2");
        assert_eq!(
            first_container_port(&serde_json::json!(["5433:5432"])),
            Some(5432)
        );
        assert_eq!(first_container_port(&serde_json::json!([])), None);
    }
}
