//! A service's `ports`: short and long syntax, ranges, and which are
//! published on every address.

use serde_yaml_ng::Value;

use crate::import::interp::Text;
use crate::import::locate::Seg;

use super::model::Service;
use super::{Reader, entries, key, scalar, shown, with};

/// `8000-8002:9000-9002` as one mapping per port; every result is one
/// DockerResource accepts, else why not.
pub(super) fn expand_ports(raw: &str) -> Result<Vec<String>, String> {
    let (body, protocol) = match raw.rsplit_once('/') {
        Some((b, p)) => (b, format!("/{p}")),
        None => (raw, String::new()),
    };
    let (prefix, mapping) = match body.rsplit_once(':') {
        Some((rest, container)) => match rest.rsplit_once(':') {
            Some((ip, host)) => (format!("{ip}:"), (Some(host), container)),
            None => (String::new(), (Some(rest), container)),
        },
        None => (String::new(), (None, body)),
    };
    // Some(Err) for a range that is not one of ports: expanding `1-4294967295`
    // or a reversed one would take the memory or drop the entry.
    let range = |text: &str| -> Option<Result<(u32, u32), String>> {
        let (a, b) = text.split_once('-')?;
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        Some(if 1 <= a && a <= b && b <= 65535 {
            Ok((a, b))
        } else {
            Err(format!(
                "`{text}` in `{raw}` is not a range of ports: write LOW-HIGH, from 1 to 65535"
            ))
        })
    };
    let out: Vec<String> = match mapping {
        (host, container) if let Some(container_range) = range(container) => {
            let (c0, c1) = container_range?;
            let hosts = match host {
                Some(h) if !h.is_empty() => match range(h) {
                    Some(host_range) => {
                        let (h0, h1) = host_range?;
                        if h1 - h0 != c1 - c0 {
                            return Err(format!(
                                "`{raw}` maps ranges of different lengths: DockerResource publishes one port per entry"
                            ));
                        }
                        Some(h0)
                    }
                    None => {
                        return Err(format!(
                            "`{raw}` maps ranges of different lengths: DockerResource publishes one port per entry"
                        ));
                    }
                },
                _ => None,
            };
            (c0..=c1)
                .map(|c| match (hosts, host) {
                    (Some(h0), _) => format!("{prefix}{}:{c}{protocol}", h0 + (c - c0)),
                    (None, Some(_)) => format!("{prefix}:{c}{protocol}"),
                    (None, None) => format!("{c}{protocol}"),
                })
                .collect()
        }
        (Some(h), _) if range(h).is_some() => {
            return Err(format!(
                "`{raw}` publishes on any port of a range: give one host port"
            ));
        }
        _ => vec![raw.to_string()],
    };
    for port in &out {
        clockwork_schema::parse_port(port).map_err(|e| format!("{e}"))?;
    }
    Ok(out)
}

/// Whether a port chosen by variables starts with a loopback address
/// (`127.0.0.1:${PORT}:80`).
pub(super) fn loopback_prefix(text: &Text) -> bool {
    let Some(crate::import::interp::Part::Lit(first)) = text.0.first() else {
        return false;
    };
    let address = match first.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(a, _)| a),
        None => first.split_once(':').map(|(a, _)| a),
    };
    address
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

impl Reader<'_, '_> {
    pub(super) fn ports(&mut self, service: &str, at: &[Seg], value: &Value, s: &mut Service) {
        let Value::Sequence(items) = value else {
            self.expected(at, "a list", value, "ports: [\"8080:80\"]");
            return;
        };
        // Published on every address: said once, at `ports`.
        let mut open: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = with(at, Seg::Index(i));
            let raw = match item {
                Value::Mapping(m) => {
                    let field = |k: &str| m.get(k).and_then(scalar);
                    let Some(target) = field("target") else {
                        self.problem(
                            &at,
                            format!("`{}` needs `target`, the container's port", shown(&at)),
                            Some("for example `{target: 80, published: \"8080\"}`".into()),
                        );
                        continue;
                    };
                    for (k, _) in entries(m) {
                        if !matches!(
                            k.as_str(),
                            "target"
                                | "published"
                                | "host_ip"
                                | "protocol"
                                | "mode"
                                | "name"
                                | "app_protocol"
                        ) {
                            self.problem(&with(&at, key(&k)), format!("`{k}` is not a key of a port"), Some("a port has `target`, `published`, `host_ip`, `protocol`, `mode`, `name` and `app_protocol`".into()));
                        }
                    }
                    if field("mode").is_some_and(|m| m != "ingress" && m != "host") {
                        self.skip(
                            Some(service),
                            &with(&at, key("mode")),
                            "Docker Engine's modes are `host` and `ingress`",
                        );
                    }
                    let mut text = String::new();
                    if let Some(ip) = field("host_ip") {
                        text.push_str(&ip);
                        text.push(':');
                    }
                    if let Some(published) = field("published") {
                        text.push_str(&published);
                        text.push(':');
                    } else if !text.is_empty() {
                        text.push(':');
                    }
                    text.push_str(&target);
                    if let Some(protocol) = field("protocol").filter(|p| p != "tcp") {
                        text.push('/');
                        text.push_str(&protocol);
                    }
                    text
                }
                other => match scalar(other) {
                    Some(text) => text,
                    None => {
                        self.expected(&at, "a string or a mapping", other, "\"8080:80\"");
                        continue;
                    }
                },
            };
            let Some(text) = self.text(&at, &raw) else {
                continue;
            };
            if text.has_vars() {
                if !loopback_prefix(&text) {
                    open.push(raw.clone());
                }
                s.ports.push(text);
                continue;
            }
            match expand_ports(&raw) {
                Ok(all) => {
                    let local = all.first().is_some_and(|p| {
                        clockwork_schema::parse_port(p)
                            .is_ok_and(|m| m.host_ip.is_some_and(|ip| ip.is_loopback()))
                    });
                    if !local {
                        open.push(raw.clone());
                    }
                    s.ports.extend(all.into_iter().map(Text::literal));
                }
                Err(reason) => self.skip(Some(service), &at, reason),
            }
        }
        self.review_ports(service, at, &open);
    }

    /// Ports published on every address of this machine.
    pub(super) fn review_ports(&mut self, service: &str, at: &[Seg], open: &[String]) {
        let listed: Vec<String> = open.iter().map(|p| format!("`{p}`")).collect();
        let (listed, verb) = match listed.as_slice() {
            [] => return,
            [one] => (one.clone(), "is"),
            [rest @ .., last] => (format!("{} and {last}", rest.join(", ")), "are"),
        };
        self.review(Some(service), at, format!(
            "{listed} {verb} published on every network address of this machine, so other machines can reach {} (as under Compose); give the host address `127.0.0.1` to keep a port to this machine, e.g. `127.0.0.1:8080:80`",
            if open.len() == 1 { "it" } else { "them" }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_become_one_entry_per_port() {
        assert_eq!(expand_ports("8080:80").unwrap(), ["8080:80"]);
        assert_eq!(
            expand_ports("127.0.0.1:9000-9001:8000-8001/udp").unwrap(),
            ["127.0.0.1:9000:8000/udp", "127.0.0.1:9001:8001/udp"]
        );
        assert_eq!(expand_ports("3000-3001").unwrap(), ["3000", "3001"]);
        assert!(expand_ports("9000-9005:80").is_err());
        assert!(expand_ports("80/sctp").is_err());
        // Reversed, zero or past 65535: refused, never expanded.
        for bad in [
            "81-80",
            "8081-8080:81-80",
            "1-4294967295",
            "0-2",
            "80:70000-70001",
        ] {
            let err = expand_ports(bad).expect_err(bad);
            assert!(err.contains("is not a range of ports"), "{bad}: {err}");
        }
    }
}
