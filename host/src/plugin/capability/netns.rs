//! `probe.connect-from`: reaching a service as one of the project's
//! containers does, from inside its network namespace and with its DNS,
//! without any tool in its image.
//!
//! Why a namespace and not a helper container: a helper container needs an
//! image the user may not have, and it is an Engine write for a command
//! that changes nothing; `exec` needs tools busybox-free images lack. The
//! host instead moves one fresh thread into the container's network
//! namespace (`setns(2)` on `/proc/<pid>/ns/net`), resolves the name with
//! the nameservers and hosts file the container itself uses, connects,
//! speaks one exchange, and lets the thread end (it is never reused). This
//! needs the Engine on this machine and the privilege to enter a namespace
//! (root or `CAP_SYS_ADMIN`); elsewhere the call fails saying so.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::docker::{EngineError, ObjectKind};
use crate::plugin::Deployment;
use crate::plugin::bindings::host::clockwork::plugin::probe::{
    ConnectFromRequest, ConnectFromResponse, Exchange,
};
use crate::plugin::bindings::types::HostError;

/// Connects from `request.container`'s network to `request.host`.
pub(super) async fn connect_from(
    deployment: &Deployment,
    request: ConnectFromRequest,
    budget: Duration,
) -> Result<ConnectFromResponse, HostError> {
    if let Some(remote) = remote_engine() {
        return Err(HostError::Failed(format!(
            "probing from container `{}` enters its network namespace, which needs the Engine on this machine; DOCKER_HOST is `{remote}`",
            request.container
        )));
    }
    let inspected = deployment
        .engine
        .inspect_own(ObjectKind::Container, &request.container)
        .await
        .map_err(|e| match e {
            EngineError::Foreign { .. } => HostError::Denied(e.to_string()),
            other => HostError::Failed(other.to_string()),
        })?
        .ok_or_else(|| {
            HostError::NotFound(format!("no container named `{}`", request.container))
        })?;
    let allowed: Vec<IpAddr> = deployment.hosts.values().flatten().copied().collect();
    let pid = running_pid(&inspected).ok_or_else(|| {
        HostError::Failed(format!(
            "container `{}` is not running, so it has no network to probe from",
            request.container
        ))
    })?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    // A thread of its own: after setns it belongs to the container's
    // network, and no other work may ever run on it.
    std::thread::Builder::new()
        .name(format!("netns-{pid}"))
        .spawn(move || {
            let _ = reply.send(probe_in_namespace(pid, &request, &allowed, budget));
        })
        .map_err(|e| HostError::Failed(format!("cannot start the probe thread: {e}")))?;
    match tokio::time::timeout(budget + Duration::from_millis(100), answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(HostError::Failed(
            "the probe thread ended without an answer".into(),
        )),
        Err(_) => Err(HostError::TimedOut(format!(
            "no answer within {} ms",
            budget.as_millis()
        ))),
    }
}

/// `DOCKER_HOST` when it points at another machine.
fn remote_engine() -> Option<String> {
    let host = std::env::var("DOCKER_HOST").ok()?;
    (!host.is_empty() && !host.starts_with("unix://")).then_some(host)
}

fn running_pid(inspected: &Json) -> Option<u32> {
    if inspected.pointer("/State/Running") != Some(&Json::Bool(true)) {
        return None;
    }
    inspected
        .pointer("/State/Pid")
        .and_then(Json::as_u64)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0)
}

/// The most of a container's `/etc/hosts` or `/etc/resolv.conf` read.
const CONTAINER_FILE_BYTES: u64 = 1 << 20;

fn probe_in_namespace(
    pid: u32,
    request: &ConnectFromRequest,
    allowed: &[IpAddr],
    budget: Duration,
) -> Result<ConnectFromResponse, HostError> {
    let started = Instant::now();
    // The container's own resolver configuration, read through its root
    // before leaving the host's namespace (the mount namespace stays ours).
    // The container owns these files: a FIFO or an endless device there
    // must not hold or fill the host.
    let container_file = |file: &str| {
        crate::project::read_file_limited(
            std::path::Path::new(&format!("/proc/{pid}/root/etc/{file}")),
            CONTAINER_FILE_BYTES,
        )
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
    };
    let resolv = container_file("resolv.conf");
    let hosts_file = container_file("hosts");
    let namespace = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| {
        HostError::Failed(format!(
            "cannot open the network namespace of container `{}`: {e}",
            request.container
        ))
    })?;
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&namespace),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .map_err(|e| {
        HostError::Failed(format!(
            "cannot enter the network namespace of container `{}` ({e}); this needs root or CAP_SYS_ADMIN",
            request.container
        ))
    })?;
    let left = |started: Instant| budget.saturating_sub(started.elapsed());
    let address = match request.host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match from_hosts_file(&hosts_file, &request.host) {
            Some(ip) => ip,
            None => {
                let servers = nameservers(&resolv);
                if servers.is_empty() {
                    return Err(HostError::NotFound(format!(
                        "container `{}` has no nameserver to resolve `{}`",
                        request.container, request.host
                    )));
                }
                resolve_a(&servers, &request.host, left(started))?.ok_or_else(|| {
                    HostError::NotFound(format!(
                        "`{}` does not resolve inside container `{}`",
                        request.host, request.container
                    ))
                })?
            }
        },
    };
    // The grant, inside the container as outside: its own loopback and the
    // project's containers, whatever a name resolved to there.
    if !permitted(address, allowed) {
        return Err(HostError::Denied(format!(
            "`{}` is {address} inside container `{}`, which is not a container of this project",
            request.host, request.container
        )));
    }
    let target = SocketAddr::new(address, request.port);
    let connecting = Instant::now();
    let mut stream =
        TcpStream::connect_timeout(&target, left(started).max(Duration::from_millis(1))).map_err(
            |e| {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    HostError::TimedOut(format!(
                        "no TCP connection to {}:{} ({target}) from `{}` in time",
                        request.host, request.port, request.container
                    ))
                } else {
                    HostError::Failed(format!(
                        "cannot connect to {}:{} ({target}) from `{}`: {e}",
                        request.host, request.port, request.container
                    ))
                }
            },
        )?;
    let connect_us = u64::try_from(connecting.elapsed().as_micros()).unwrap_or(u64::MAX);
    let remaining = left(started).max(Duration::from_millis(1));
    let _ = stream.set_read_timeout(Some(remaining));
    let _ = stream.set_write_timeout(Some(remaining));
    let answer = exchange(&mut stream, request).map_err(|why| {
        HostError::Failed(format!(
            "{}:{} accepted a connection from `{}` but {why}",
            request.host, request.port, request.container
        ))
    })?;
    Ok(ConnectFromResponse {
        address: address.to_string(),
        connect_us,
        answer,
    })
}

/// Whether a probe from inside a container may go to `address`: that
/// container's own loopback, or one of the project's containers.
fn permitted(address: IpAddr, allowed: &[IpAddr]) -> bool {
    address.is_loopback() || allowed.contains(&address)
}

/// Speaks `request.exchange` and returns what proves a server of that kind.
fn exchange(stream: &mut TcpStream, request: &ConnectFromRequest) -> Result<String, String> {
    let mut buffer = [0u8; 512];
    let mut read_some = |stream: &mut TcpStream| -> Result<Vec<u8>, String> {
        let n = stream
            .read(&mut buffer)
            .map_err(|e| format!("sent no answer ({e})"))?;
        if n == 0 {
            return Err("closed the connection without an answer".into());
        }
        Ok(buffer[..n].to_vec())
    };
    match request.exchange {
        Exchange::Tcp => Ok(String::new()),
        Exchange::Http => {
            let path = if request.path.starts_with('/') {
                request.path.clone()
            } else {
                format!("/{}", request.path)
            };
            let ask = format!(
                "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: clockwork-assert\r\nConnection: close\r\n\r\n",
                request.host, request.port
            );
            stream
                .write_all(ask.as_bytes())
                .map_err(|e| format!("took no request ({e})"))?;
            let answer = read_some(stream)?;
            let text = String::from_utf8_lossy(&answer);
            let line = text.lines().next().unwrap_or_default().to_string();
            if line.starts_with("HTTP/") {
                Ok(line)
            } else {
                Err(format!(
                    "did not answer HTTP (it said `{}`)",
                    excerpt(&line)
                ))
            }
        }
        Exchange::Postgresql => {
            // SSLRequest: length 8, code 80877103. Every PostgreSQL server
            // answers `S` or `N` before any authentication.
            stream
                .write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
                .map_err(|e| format!("took no request ({e})"))?;
            let answer = read_some(stream)?;
            match answer.first() {
                Some(b'S') => Ok("PostgreSQL (SSL available)".into()),
                Some(b'N') => Ok("PostgreSQL".into()),
                _ => Err("did not answer as PostgreSQL".into()),
            }
        }
        Exchange::Redis => {
            stream
                .write_all(b"PING\r\n")
                .map_err(|e| format!("took no request ({e})"))?;
            let answer = read_some(stream)?;
            let text = String::from_utf8_lossy(&answer);
            let line = text.lines().next().unwrap_or_default().to_string();
            if line.starts_with("+PONG") || line.starts_with("-NOAUTH") || line.starts_with("-ERR")
            {
                Ok(line)
            } else {
                Err(format!(
                    "did not answer as Redis (it said `{}`)",
                    excerpt(&line)
                ))
            }
        }
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The address `/etc/hosts` gives `name`.
fn from_hosts_file(hosts: &str, name: &str) -> Option<IpAddr> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let ip: IpAddr = fields.next()?.parse().ok()?;
        fields
            .any(|n| n.eq_ignore_ascii_case(name))
            .then_some(ip)
            .filter(IpAddr::is_ipv4)
    })
}

/// The IPv4 nameservers of a `resolv.conf`.
fn nameservers(resolv: &str) -> Vec<Ipv4Addr> {
    resolv
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse().ok())
        .collect()
}

/// A DNS query for the A records of `name`.
fn a_query(id: u16, name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 18);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        out.push(u8::try_from(label.len()).ok()?);
        out.extend_from_slice(label.as_bytes());
    }
    out.extend_from_slice(&[0, 0, 1, 0, 1]);
    Some(out)
}

/// The first A record of a DNS answer to query `id`; `Ok(None)` for an
/// answer without one (NXDOMAIN, no data).
fn first_a(id: u16, answer: &[u8]) -> Result<Option<Ipv4Addr>, String> {
    let field = |at: usize| -> Result<u16, String> {
        answer
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a truncated DNS answer".to_string())
    };
    if field(0)? != id {
        return Err("a DNS answer to another query".into());
    }
    if field(2)? & 0x000f != 0 {
        return Ok(None);
    }
    let (questions, answers) = (field(4)?, field(6)?);
    let mut at = 12;
    let skip_name = |mut at: usize| -> Result<usize, String> {
        loop {
            let len = *answer.get(at).ok_or("a truncated DNS name")?;
            if len & 0xc0 == 0xc0 {
                return Ok(at + 2);
            }
            if len == 0 {
                return Ok(at + 1);
            }
            at += 1 + usize::from(len);
        }
    };
    for _ in 0..questions {
        at = skip_name(at)? + 4;
    }
    for _ in 0..answers {
        at = skip_name(at)?;
        let (kind, class, length) = (field(at)?, field(at + 2)?, field(at + 8)?);
        let data = at + 10;
        if kind == 1 && class == 1 && length == 4 {
            let b = answer.get(data..data + 4).ok_or("a truncated DNS record")?;
            return Ok(Some(Ipv4Addr::new(b[0], b[1], b[2], b[3])));
        }
        at = data + usize::from(length);
    }
    Ok(None)
}

fn resolve_a(
    servers: &[Ipv4Addr],
    name: &str,
    budget: Duration,
) -> Result<Option<IpAddr>, HostError> {
    // An id nobody can guess, and answers only from the server asked: a
    // process in the container must not be able to redirect the probe.
    let id = {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        (hasher.finish() & 0xffff) as u16
    };
    let query = a_query(id, name)
        .ok_or_else(|| HostError::InvalidArgument(format!("`{name}` is not a host name")))?;
    let started = Instant::now();
    let mut last = String::new();
    for server in servers {
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
            .map_err(|e| HostError::Failed(format!("no UDP socket for DNS: {e}")))?;
        let _ = socket.set_read_timeout(Some(left));
        if let Err(e) = socket.connect((*server, 53)) {
            last = format!("{server}: {e}");
            continue;
        }
        if let Err(e) = socket.send(&query) {
            last = format!("{server}: {e}");
            continue;
        }
        let mut buffer = [0u8; 1500];
        match socket.recv(&mut buffer) {
            Ok(n) => match first_a(id, &buffer[..n]) {
                Ok(found) => return Ok(found.map(IpAddr::V4)),
                Err(why) => last = format!("{server}: {why}"),
            },
            Err(e) => last = format!("{server}: {e}"),
        }
    }
    Err(HostError::TimedOut(format!(
        "no nameserver answered for `{name}` ({last})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dns_answer_yields_its_first_a_record() {
        let query = a_query(7, "db").unwrap_or_default();
        assert_eq!(&query[12..], &[2, b'd', b'b', 0, 0, 1, 0, 1]);
        // The query echoed back as an answer with one A record, its name a
        // pointer to the question.
        let mut answer = query.clone();
        answer[2] = 0x81;
        answer[3] = 0x80;
        answer[7] = 1;
        answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 172, 18, 0, 3]);
        assert_eq!(first_a(7, &answer), Ok(Some(Ipv4Addr::new(172, 18, 0, 3))));
        assert!(first_a(8, &answer).is_err(), "another query's answer");
        answer[3] = 0x83; // NXDOMAIN
        assert_eq!(first_a(7, &answer), Ok(None));
        assert!(a_query(1, "bad..name").is_none());
    }

    #[test]
    fn a_probe_from_a_container_reaches_only_the_projects_containers() {
        let project = [IpAddr::from([172, 18, 0, 3]), IpAddr::from([172, 18, 0, 4])];
        assert!(permitted(IpAddr::from([172, 18, 0, 4]), &project));
        assert!(permitted(IpAddr::from([127, 0, 0, 1]), &project));
        // Another project's container on a shared network, the metadata
        // address, the host's LAN.
        for outside in [[172, 18, 0, 9], [169, 254, 169, 254], [192, 168, 1, 10]] {
            assert!(!permitted(IpAddr::from(outside), &project), "{outside:?}");
        }
    }

    #[test]
    fn the_containers_resolver_files_are_read_as_it_reads_them() {
        let resolv = "search example\nnameserver 127.0.0.11\noptions ndots:0\n";
        assert_eq!(nameservers(resolv), [Ipv4Addr::new(127, 0, 0, 11)]);
        let hosts = "127.0.0.1 localhost\n172.18.0.4 web web.alias # me\n";
        assert_eq!(
            from_hosts_file(hosts, "WEB"),
            Some(IpAddr::from([172, 18, 0, 4]))
        );
        assert_eq!(from_hosts_file(hosts, "db"), None);
    }
}
