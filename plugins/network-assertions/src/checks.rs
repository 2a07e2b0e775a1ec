//! The checks. Each host call is made by `check`; what it answered is judged
//! by pure `judge_*` functions, which the tests call natively.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use clockwork_sdk::error_at;
use clockwork_sdk::host::{clock, docker, exec, probe};
use clockwork_sdk::prelude::*;
use clockwork_sdk::serde_json;

use crate::procnet::{self, Proto, Socket};

/// The command that prints a container's socket tables.
const PROC_NET: [&str; 5] = [
    "cat",
    "/proc/net/tcp",
    "/proc/net/tcp6",
    "/proc/net/udp",
    "/proc/net/udp6",
];

/// Runs one check of `input`.
pub(crate) fn check(input: CheckInput) -> Result<Outcome, PluginError> {
    let config = config_of(&input)?;
    match input.type_name.as_str() {
        "PortAccessibleAssert" => port_accessible(&input, &config),
        "DNSResolveAssert" => dns_resolve(&config),
        "NoOpenPortsAssert" => no_open_ports(&input, &config),
        "ServiceConnectivityAssert" => service_connectivity(&input, &config),
        other => Err(PluginError::Failed(format!(
            "this plugin has no type `{other}`"
        ))),
    }
}

/// What `validate` adds to the schema: port ranges and a parsable
/// `expected_ip`. The field names are unique to their types, so one
/// function serves them all.
pub(crate) fn problems(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(port) = config.get("port").filter(|p| !p.is_null())
        && port_of(port).is_none()
    {
        problems.push(error_at(
            Some("/port"),
            format!("port `{port}` is out of range 1-65535"),
        ));
    }
    if let Some(ports) = config.get("except_ports").and_then(Value::as_array) {
        for (i, port) in ports.iter().enumerate() {
            if port_of(port).is_none() {
                problems.push(error_at(
                    Some(&format!("/except_ports/{i}")),
                    format!("port `{port}` is out of range 1-65535"),
                ));
            }
        }
    }
    if let Some(ip) = config.get("expected_ip").and_then(Value::as_str)
        && ip.parse::<IpAddr>().is_err()
    {
        problems.push(error_at(
            Some("/expected_ip"),
            format!("`{ip}` is not an IPv4 or IPv6 address, e.g. `127.0.0.1`"),
        ));
    }
    if config.get("hostname").and_then(Value::as_str) == Some("") {
        problems.push(error_at(Some("/hostname"), "`hostname` is empty"));
    }
    problems
}

fn port_of(value: &Value) -> Option<u16> {
    value
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
}

/// The text of a host error, without its kind.
fn text(error: &HostError) -> &str {
    match error {
        HostError::Denied(t)
        | HostError::NotFound(t)
        | HostError::TimedOut(t)
        | HostError::InvalidArgument(t)
        | HostError::TooLarge(t)
        | HostError::Failed(t) => t,
    }
}

fn kind(error: &HostError) -> &'static str {
    match error {
        HostError::Denied(_) => "denied",
        HostError::NotFound(_) => "not-found",
        HostError::TimedOut(_) => "timed-out",
        HostError::InvalidArgument(_) => "invalid-argument",
        HostError::TooLarge(_) => "too-large",
        HostError::Failed(_) => "failed",
    }
}

/// `host:port`, with an IPv6 literal in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `412 µs`, `3.1 ms`, `1203 ms`.
fn duration(micros: u64) -> String {
    match micros {
        0..1_000 => format!("{micros} µs"),
        1_000..10_000 => format!("{:.1} ms", micros as f64 / 1000.0),
        _ => format!("{} ms", micros / 1000),
    }
}

// PortAccessibleAssert ----------------------------------------------------

fn port_accessible(input: &CheckInput, config: &Value) -> Result<Outcome, PluginError> {
    let host = config["host"].as_str().unwrap_or("localhost");
    let port = port_of(&config["port"]).ok_or_else(|| {
        PluginError::Failed(format!("port `{}` is out of range 1-65535", config["port"]))
    })?;
    let budget = budget_ms(input, 3_000);
    match config["protocol"].as_str().unwrap_or("tcp") {
        "tcp" => judge_tcp(host, port, probe::tcp_connect(host, port, budget)),
        "udp" => {
            let start = clock::elapsed_us();
            let reply = probe::udp_exchange(host, port, &[], budget);
            let micros = clock::elapsed_us().saturating_sub(start);
            judge_udp(host, port, budget, reply, micros)
        }
        other => Err(PluginError::Failed(format!(
            "protocol `{other}` is not one of `tcp`, `udp`"
        ))),
    }
}

/// The name a `resource` field refers to (`{"$ref": "db"}`), or a plain
/// string.
fn referenced(value: &Value) -> Option<String> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .or_else(|| value.as_str())
        .map(str::to_string)
}

/// The container port a container listens on first: the lowest of its
/// published or exposed ports.
fn first_port(inspected: &Value) -> Option<u16> {
    let keys = |pointer: &str| -> Vec<u16> {
        inspected
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|ports| {
                ports
                    .keys()
                    .filter(|k| k.ends_with("/tcp"))
                    .filter_map(|k| k.trim_end_matches("/tcp").parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ports = keys("/HostConfig/PortBindings");
    if ports.is_empty() {
        ports = keys("/Config/ExposedPorts");
    }
    ports.into_iter().min()
}

fn service_connectivity(input: &CheckInput, config: &Value) -> Result<Outcome, PluginError> {
    let from = match config.get("from_service").and_then(referenced) {
        Some(name) => name,
        None => target_container(input, &json!({})).ok_or_else(|| {
            PluginError::Failed(
                "`from_service` is left out and the assertion is attached to nothing: name the container to start from"
                    .into(),
            )
        })?,
    };
    let to = config
        .get("to_service")
        .and_then(referenced)
        .ok_or_else(|| PluginError::Failed("`to_service` is required".into()))?;
    let port = match config.get("port").and_then(port_of) {
        Some(port) => port,
        None => {
            let inspected = match docker::inspect_container(&to) {
                Ok(Some(json)) => serde_json::from_str::<Value>(&json).unwrap_or(Value::Null),
                Ok(None) => {
                    return Ok(Outcome::fail(
                        format!("`{from}` cannot reach `{to}`: it does not exist"),
                        format!("a running container `{to}`"),
                        format!("no container named `{to}`"),
                    ));
                }
                Err(HostError::Denied(why)) => return Err(PluginError::Denied(why)),
                Err(e) => return Err(PluginError::Transient(text(&e).to_string())),
            };
            first_port(&inspected).ok_or_else(|| {
                PluginError::Failed(format!(
                    "`{to}` publishes and exposes no TCP port: give `port`"
                ))
            })?
        }
    };
    let protocol = config["protocol"].as_str().unwrap_or("tcp");
    let exchange = match protocol {
        "http" => probe::Exchange::Http,
        "postgresql" => probe::Exchange::Postgresql,
        "redis" => probe::Exchange::Redis,
        // TLS is not spoken from inside a namespace: `https` proves the
        // connection, as `tcp` does.
        _ => probe::Exchange::Tcp,
    };
    let request = probe::ConnectFromRequest {
        container: from.clone(),
        host: to.clone(),
        port,
        exchange,
        path: "/".into(),
        timeout_ms: budget_ms(input, 3_000),
    };
    judge_connect_from(&from, &to, port, protocol, probe::connect_from(&request))
}

/// The verdict on a `probe.connect-from`.
pub(crate) fn judge_connect_from(
    from: &str,
    to: &str,
    port: u16,
    protocol: &str,
    answer: Result<probe::ConnectFromResponse, HostError>,
) -> Result<Outcome, PluginError> {
    let expected = format!("`{from}` reaching `{to}:{port}` over {protocol}");
    match answer {
        Ok(found) => {
            let said = if found.answer.is_empty() {
                String::new()
            } else {
                format!(", which answered `{}`", found.answer)
            };
            Ok(Outcome::pass(format!(
                "`{from}` reached `{to}:{port}` ({}) in {}{said}",
                found.address,
                duration(found.connect_us)
            ))
            .with_timing("connect", found.connect_us)
            .with_details(json!({
                "from": from, "to": to, "port": port, "protocol": protocol,
                "address": found.address, "answer": found.answer,
            })))
        }
        Err(HostError::Denied(why)) => Err(PluginError::Denied(why)),
        Err(HostError::InvalidArgument(why)) => Err(PluginError::Failed(why)),
        Err(error) => Ok(Outcome::fail(
            format!("`{from}` cannot reach `{to}:{port}`"),
            expected,
            text(&error),
        )
        .with_details(json!({
            "from": from, "to": to, "port": port, "protocol": protocol, "error": kind(&error),
        }))),
    }
}

/// The verdict on a `probe.tcp-connect`.
pub(crate) fn judge_tcp(
    host: &str,
    port: u16,
    answer: Result<u64, HostError>,
) -> Result<Outcome, PluginError> {
    let target = host_port(host, port);
    match answer {
        Ok(micros) => Ok(Outcome::pass(format!(
            "{target} accepted a TCP connection in {}",
            duration(micros)
        ))
        .with_timing("connect", micros)),
        Err(HostError::Denied(why)) => Err(PluginError::Denied(why)),
        Err(HostError::InvalidArgument(why)) => {
            Err(PluginError::Failed(format!("cannot probe {target}: {why}")))
        }
        Err(error) => Ok(Outcome::fail(
            format!("{target} does not accept TCP connections"),
            format!("{target} accepting TCP connections"),
            text(&error),
        )
        .with_details(
            json!({ "host": host, "port": port, "protocol": "tcp", "error": kind(&error) }),
        )),
    }
}

/// The verdict on a `probe.udp-exchange` of an empty datagram.
pub(crate) fn judge_udp(
    host: &str,
    port: u16,
    budget_ms: u32,
    answer: Result<u32, HostError>,
    micros: u64,
) -> Result<Outcome, PluginError> {
    let target = host_port(host, port);
    let expected = format!("{target} answering UDP datagrams");
    match answer {
        Ok(bytes) => Ok(Outcome::pass(format!(
            "{target} answered an empty UDP datagram with {bytes} bytes in {}",
            duration(micros)
        ))
        .with_timing("exchange", micros)),
        Err(HostError::Denied(why)) => Err(PluginError::Denied(why)),
        Err(HostError::InvalidArgument(why)) => Err(PluginError::Failed(format!(
            "cannot probe {target}: {why}"
        ))),
        Err(HostError::TimedOut(_)) => Ok(Outcome::fail(
            format!("{target} sent no UDP reply within {budget_ms} ms"),
            expected,
            format!("no reply within {budget_ms} ms"),
        )
        .with_details(json!({
            "host": host,
            "port": port,
            "protocol": "udp",
            "error": "timed-out",
            "note": "UDP has no handshake: a closed port and a service that does not answer an empty datagram look the same",
        }))),
        Err(error) => Ok(Outcome::fail(
            format!("{target} does not answer UDP datagrams"),
            expected,
            text(&error),
        )
        .with_details(json!({ "host": host, "port": port, "protocol": "udp", "error": kind(&error) }))),
    }
}

// DNSResolveAssert --------------------------------------------------------

fn dns_resolve(config: &Value) -> Result<Outcome, PluginError> {
    let hostname = config["hostname"]
        .as_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| PluginError::Failed("`hostname` is missing or empty".into()))?;
    let expected = config["expected_ip"].as_str();
    if let Some(ip) = expected
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(PluginError::Failed(format!(
            "`{ip}` is not an IPv4 or IPv6 address"
        )));
    }
    judge_resolve(hostname, expected, probe::resolve(hostname))
}

fn same_ip(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// The verdict on a `probe.resolve`.
pub(crate) fn judge_resolve(
    hostname: &str,
    expected_ip: Option<&str>,
    answer: Result<Vec<String>, HostError>,
) -> Result<Outcome, PluginError> {
    let expected = format!(
        "`{hostname}` resolving to {}",
        expected_ip.unwrap_or("an address")
    );
    let not_resolving = |error: Option<&HostError>| {
        let mut details = json!({ "hostname": hostname, "addresses": [] });
        if let Some(error) = error {
            details["error"] = json!(text(error));
        }
        Outcome::fail(
            format!("{hostname} does not resolve"),
            expected.clone(),
            "does not resolve",
        )
        .with_details(details)
    };
    let addresses = match answer {
        Ok(addresses) => addresses,
        Err(HostError::Denied(why)) => return Err(PluginError::Denied(why)),
        Err(HostError::InvalidArgument(why)) => {
            return Err(PluginError::Failed(format!(
                "cannot resolve `{hostname}`: {why}"
            )));
        }
        Err(error @ HostError::NotFound(_)) => return Ok(not_resolving(Some(&error))),
        Err(error) => {
            return Ok(Outcome::fail(
                format!("looking up {hostname} failed"),
                expected,
                format!("lookup failed: {}", text(&error)),
            )
            .with_details(json!({ "hostname": hostname, "error": kind(&error) })));
        }
    };
    if addresses.is_empty() {
        return Ok(not_resolving(None));
    }
    let list = addresses.join(", ");
    let details =
        json!({ "hostname": hostname, "addresses": addresses, "expected_ip": expected_ip });
    Ok(match expected_ip {
        Some(ip) if !addresses.iter().any(|a| same_ip(a, ip)) => Outcome::fail(
            format!("{hostname} resolves to {list}, not {ip}"),
            expected,
            list,
        )
        .with_details(details),
        _ => Outcome::pass(format!("{hostname} resolves to {list}")).with_details(details),
    })
}

// NoOpenPortsAssert -------------------------------------------------------

/// What reading a container's socket tables gave.
#[derive(Debug)]
pub(crate) enum Listening {
    /// The sockets, and a note when some table was missing.
    Read(Vec<Socket>, Option<String>),
    /// Why they could not be read.
    Unread(String),
}

fn no_open_ports(input: &CheckInput, config: &Value) -> Result<Outcome, PluginError> {
    let Some(container) = target_container(input, config) else {
        return Err(PluginError::Failed(
            "NoOpenPortsAssert needs a container: set `container_name`, or list the assertion in a declaration's `assertions=[...]`".into(),
        ));
    };
    let except: Vec<u16> = config["except_ports"]
        .as_array()
        .map(|ports| ports.iter().filter_map(port_of).collect())
        .unwrap_or_default();
    let inspect = match docker::inspect_container(&container) {
        Ok(Some(json)) => serde_json::from_str::<Value>(&json).map_err(|e| {
            PluginError::Failed(format!(
                "the host's inspect of container `{container}` is not JSON: {e}"
            ))
        })?,
        Ok(None) => return Ok(missing_container(&container)),
        Err(HostError::Denied(why)) => return Err(PluginError::Denied(why)),
        Err(HostError::TimedOut(why)) => {
            return Err(PluginError::Transient(format!(
                "inspecting container `{container}` timed out: {why}"
            )));
        }
        Err(error) => {
            return Err(PluginError::Failed(format!(
                "cannot inspect container `{container}`: {}",
                text(&error)
            )));
        }
    };
    if inspect["State"]["Running"].as_bool() != Some(true) {
        let status = inspect["State"]["Status"].as_str().unwrap_or("not running");
        return Err(PluginError::Transient(format!(
            "container `{container}` is {status}: its ports can be checked once it runs"
        )));
    }
    let published = published_ports(&inspect);
    let request = exec::ExecRequest {
        container: container.clone(),
        argv: PROC_NET.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        user: None,
        workdir: None,
        timeout_ms: budget_ms(input, 3_000),
        max_output_bytes: 1 << 20,
    };
    let listening = match exec::run(&request) {
        Ok(output) => read_listening(output.exit_code, &output.stdout, &output.stderr),
        Err(HostError::Denied(why)) => return Err(PluginError::Denied(why)),
        Err(error) => Listening::Unread(format!(
            "`cat /proc/net/...` could not run in the container: {}",
            text(&error)
        )),
    };
    Ok(judge_open_ports(
        &container, &except, &published, &listening,
    ))
}

/// A FAIL for a container that does not exist.
fn missing_container(name: &str) -> Outcome {
    Outcome::fail(
        format!("container `{name}` does not exist"),
        format!("a running container `{name}`"),
        format!("no container named `{name}`"),
    )
}

/// The ports of this machine forwarded to the container, from the inspect's
/// `NetworkSettings.Ports` (`{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort":
/// "8080"}]}`; `null` for an exposed port that is not published). Sorted,
/// without the duplicates of IPv4 and IPv6 bindings.
pub(crate) fn published_ports(inspect: &Value) -> Vec<(u16, Proto)> {
    let mut ports = BTreeSet::new();
    if let Some(map) = inspect["NetworkSettings"]["Ports"].as_object() {
        for (key, bindings) in map {
            let proto = match key.rsplit_once('/').map(|(_, p)| p) {
                Some("udp") => Proto::Udp,
                Some("tcp") | None => Proto::Tcp,
                Some(_) => continue,
            };
            for binding in bindings.as_array().into_iter().flatten() {
                if let Some(port) = binding["HostPort"]
                    .as_str()
                    .and_then(|p| p.parse::<u16>().ok())
                    .filter(|p| *p != 0)
                {
                    ports.insert((port, proto));
                }
            }
        }
    }
    ports.into_iter().collect()
}

/// Judges what `cat /proc/net/{tcp,tcp6,udp,udp6}` gave. `cat` exits 1
/// when a table is missing (no IPv6), having printed the others.
pub(crate) fn read_listening(exit_code: i32, stdout: &str, stderr: &str) -> Listening {
    let excerpt = excerpt(stderr.trim(), 200);
    if exit_code == 126 || exit_code == 127 {
        return Listening::Unread(format!(
            "`cat` cannot run in the container (exit {exit_code}): {excerpt}"
        ));
    }
    if !stdout.contains("local_address") {
        return Listening::Unread(format!(
            "`cat /proc/net/...` printed no socket table (exit {exit_code}): {excerpt}"
        ));
    }
    let note = (exit_code != 0).then(|| format!("some socket tables were not read: {excerpt}"));
    Listening::Read(procnet::parse_tables(stdout), note)
}

/// The verdict on a container's published ports and listening sockets.
pub(crate) fn judge_open_ports(
    container: &str,
    except: &[u16],
    published: &[(u16, Proto)],
    listening: &Listening,
) -> Outcome {
    // (port, proto) -> how it is open.
    let mut open: BTreeMap<(u16, Proto), Vec<&str>> = BTreeMap::new();
    let mut listening_list = Vec::new();
    let mut loopback = Vec::new();
    let note = match listening {
        Listening::Read(sockets, missing) => {
            for socket in sockets.iter().filter(|s| s.is_listening()) {
                if socket.is_loopback_only() {
                    loopback.push(socket.to_string());
                    continue;
                }
                listening_list.push(socket.to_string());
                let how = open.entry((socket.port, socket.proto)).or_default();
                if !how.contains(&"listening") {
                    how.push("listening");
                }
            }
            missing.clone()
        }
        Listening::Unread(why) => Some(format!(
            "listening sockets could not be read, only published ports were checked: {why}"
        )),
    };
    for (port, proto) in published {
        open.entry((*port, *proto)).or_default().push("published");
    }
    let unexpected: Vec<String> = open
        .iter()
        .filter(|((port, _), _)| !except.contains(port))
        .map(|((port, proto), how)| format!("{port}/{proto} ({})", how.join(", ")))
        .collect();
    let allowed = format!(
        "[{}]",
        except
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let details = json!({
        "container": container,
        "except_ports": except,
        "published": published.iter().map(|(p, proto)| format!("{p}/{proto}")).collect::<Vec<_>>(),
        "listening": matches!(listening, Listening::Read(..)).then_some(&listening_list),
        "ignored_loopback": loopback,
        "listening_read": matches!(listening, Listening::Read(..)),
        "note": note,
    });
    let outside = if except.is_empty() {
        String::new()
    } else {
        format!(" outside {allowed}")
    };
    if unexpected.is_empty() {
        let message = match listening {
            Listening::Read(..) => format!("container `{container}` has no open ports{outside}"),
            Listening::Unread(_) => format!(
                "container `{container}` publishes no ports{outside}; its listening sockets could not be read"
            ),
        };
        return Outcome::pass(message).with_details(details);
    }
    let count = unexpected.len();
    let plural = if count == 1 { "" } else { "s" };
    let (expected, actual) = if except.is_empty() {
        (
            "no open ports".to_string(),
            format!("open: {}", unexpected.join(", ")),
        )
    } else {
        (
            format!("only ports {allowed} open"),
            format!("also open: {}", unexpected.join(", ")),
        )
    };
    Outcome::fail(
        format!("container `{container}` has {count} open port{plural}{outside}"),
        expected,
        actual,
    )
    .with_details(details)
}

/// At most `max` characters of `text`, with `…` when cut.
fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(outcome: &Outcome) -> Value {
        serde_json::from_str(&outcome.details).unwrap()
    }

    #[test]
    fn tcp_connect_passes_with_its_timing() {
        let outcome = judge_tcp("localhost", 8080, Ok(412)).unwrap();
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "localhost:8080 accepted a TCP connection in 412 µs"
        );
        assert_eq!(outcome.timings, vec![("connect".to_string(), 412)]);
    }

    #[test]
    fn refused_tcp_is_a_failure_with_the_hosts_text() {
        let outcome = judge_tcp(
            "::1",
            5432,
            Err(HostError::Failed("connection refused".into())),
        )
        .unwrap();
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("[::1]:5432 accepting TCP connections")
        );
        assert_eq!(outcome.actual.as_deref(), Some("connection refused"));
        let timed_out = judge_tcp(
            "db",
            1,
            Err(HostError::TimedOut("no answer in 3000 ms".into())),
        )
        .unwrap();
        assert_eq!(timed_out.verdict, Verdict::Fail);
        assert_eq!(timed_out.actual.as_deref(), Some("no answer in 3000 ms"));
    }

    #[test]
    fn denied_and_malformed_are_errors() {
        assert!(matches!(
            judge_tcp("example.com", 80, Err(HostError::Denied("grant".into()))),
            Err(PluginError::Denied(t)) if t == "grant"
        ));
        assert!(matches!(
            judge_udp(
                "x y",
                53,
                100,
                Err(HostError::InvalidArgument("bad host".into())),
                0
            ),
            Err(PluginError::Failed(_))
        ));
        assert!(matches!(
            judge_resolve("x", None, Err(HostError::Denied("grant".into()))),
            Err(PluginError::Denied(_))
        ));
    }

    #[test]
    fn udp_timeout_says_udp_cannot_tell() {
        let outcome = judge_udp(
            "localhost",
            53,
            3000,
            Err(HostError::TimedOut("timed out".into())),
            3_000_000,
        )
        .unwrap();
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("localhost:53 answering UDP datagrams")
        );
        assert_eq!(outcome.actual.as_deref(), Some("no reply within 3000 ms"));
        assert!(
            details(&outcome)["note"]
                .as_str()
                .unwrap()
                .contains("closed port")
        );
        let pass = judge_udp("localhost", 53, 3000, Ok(12), 2_500).unwrap();
        assert_eq!(pass.verdict, Verdict::Pass);
        assert!(
            pass.message.contains("12 bytes in 2.5 ms"),
            "{}",
            pass.message
        );
    }

    #[test]
    fn resolve_passes_and_checks_the_expected_ip() {
        let answer = || Ok(vec!["172.18.0.3".to_string(), "::1".to_string()]);
        let any = judge_resolve("api", None, answer()).unwrap();
        assert_eq!(any.verdict, Verdict::Pass);
        assert_eq!(any.message, "api resolves to 172.18.0.3, ::1");
        let listed = judge_resolve("api", Some("0:0:0:0:0:0:0:1"), answer()).unwrap();
        assert_eq!(
            listed.verdict,
            Verdict::Pass,
            "IPv6 forms are compared as addresses"
        );
        let other = judge_resolve("api", Some("10.0.0.1"), answer()).unwrap();
        assert_eq!(other.verdict, Verdict::Fail);
        assert_eq!(
            other.message,
            "api resolves to 172.18.0.3, ::1, not 10.0.0.1"
        );
        assert_eq!(
            other.expected.as_deref(),
            Some("`api` resolving to 10.0.0.1")
        );
        assert_eq!(other.actual.as_deref(), Some("172.18.0.3, ::1"));
    }

    #[test]
    fn a_name_that_does_not_resolve_fails() {
        let outcome =
            judge_resolve("nope", None, Err(HostError::NotFound("NXDOMAIN".into()))).unwrap();
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("`nope` resolving to an address")
        );
        assert_eq!(outcome.actual.as_deref(), Some("does not resolve"));
        assert_eq!(details(&outcome)["error"], "NXDOMAIN");
        let empty = judge_resolve("nope", Some("127.0.0.1"), Ok(vec![])).unwrap();
        assert_eq!(empty.verdict, Verdict::Fail);
        assert_eq!(empty.actual.as_deref(), Some("does not resolve"));
    }

    const TABLES: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 41235 1
   1: 0B00007F:A3C1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 39811 1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  301: 0B00007F:8F3D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 39810 2 0000000000000000 0
";

    #[test]
    fn published_ports_are_host_ports_without_duplicates() {
        let inspect = json!({"NetworkSettings": {"Ports": {
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
            "443/tcp": null,
        }}});
        assert_eq!(
            published_ports(&inspect),
            vec![(5353, Proto::Udp), (8080, Proto::Tcp)]
        );
        assert_eq!(
            published_ports(&json!({"NetworkSettings": {"Ports": null}})),
            vec![]
        );
    }

    #[test]
    fn open_ports_outside_the_allowed_fail_with_how_they_are_open() {
        let listening = read_listening(0, TABLES, "");
        let outcome = judge_open_ports("db", &[22], &[(8080, Proto::Tcp)], &listening);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.message,
            "container `db` has 2 open ports outside [22]"
        );
        assert_eq!(outcome.expected.as_deref(), Some("only ports [22] open"));
        assert_eq!(
            outcome.actual.as_deref(),
            Some("also open: 5432/tcp (listening), 8080/tcp (published)")
        );
        let details = details(&outcome);
        assert_eq!(
            details["listening"],
            json!(["0.0.0.0:5432/tcp", "[::]:5432/tcp"])
        );
        assert_eq!(
            details["ignored_loopback"],
            json!(["127.0.0.11:41921/tcp", "127.0.0.11:36669/udp"])
        );
    }

    #[test]
    fn allowed_ports_pass() {
        let listening = read_listening(0, TABLES, "");
        let outcome = judge_open_ports("db", &[5432, 8080], &[(8080, Proto::Tcp)], &listening);
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "container `db` has no open ports outside [5432, 8080]"
        );
        let both = judge_open_ports("db", &[], &[(5432, Proto::Tcp)], &listening);
        assert_eq!(both.expected.as_deref(), Some("no open ports"));
        assert_eq!(
            both.actual.as_deref(),
            Some("open: 5432/tcp (listening, published)")
        );
    }

    #[test]
    fn without_cat_only_published_ports_count() {
        let listening =
            read_listening(127, "", "exec: \"cat\": executable file not found in $PATH");
        assert!(matches!(listening, Listening::Unread(_)));
        let pass = judge_open_ports("web", &[80], &[(80, Proto::Tcp)], &listening);
        assert_eq!(pass.verdict, Verdict::Pass);
        assert!(pass.message.contains("listening sockets could not be read"));
        let fail = judge_open_ports("web", &[], &[(80, Proto::Tcp)], &listening);
        assert_eq!(fail.verdict, Verdict::Fail);
        assert_eq!(fail.actual.as_deref(), Some("open: 80/tcp (published)"));
        let details = details(&fail);
        assert_eq!(details["listening_read"], false);
        assert!(
            details["note"]
                .as_str()
                .unwrap()
                .contains("could not be read")
        );
        assert!(details["listening"].is_null());
    }

    #[test]
    fn a_missing_table_is_noted_not_fatal() {
        match read_listening(1, TABLES, "cat: /proc/net/tcp6: No such file or directory") {
            Listening::Read(sockets, Some(note)) => {
                assert!(!sockets.is_empty());
                assert!(note.contains("tcp6"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_listening(1, "", "cat: ..."),
            Listening::Unread(_)
        ));
    }

    #[test]
    fn validate_checks_ports_and_ips() {
        assert!(
            problems(&json!({"port": 80, "except_ports": [22], "expected_ip": "::1"})).is_empty()
        );
        let found =
            problems(&json!({"port": 70000, "except_ports": [22, 0], "expected_ip": "localhost"}));
        let paths: Vec<_> = found.iter().map(|d| d.path.clone().unwrap()).collect();
        assert_eq!(paths, ["/port", "/except_ports/1", "/expected_ip"]);
        assert_eq!(found[0].summary, "port `70000` is out of range 1-65535");
    }

    #[test]
    fn connectivity_is_judged_from_what_the_source_container_saw() {
        let reached = judge_connect_from(
            "api",
            "db",
            5432,
            "postgresql",
            Ok(probe::ConnectFromResponse {
                address: "172.18.0.3".into(),
                connect_us: 800,
                answer: "PostgreSQL".into(),
            }),
        )
        .unwrap();
        assert_eq!(reached.verdict, Verdict::Pass);
        assert!(
            reached.message.contains("answered `PostgreSQL`"),
            "{}",
            reached.message
        );
        let refused = judge_connect_from(
            "api",
            "db",
            5432,
            "tcp",
            Err(HostError::Failed(
                "cannot connect to db:5432 (172.18.0.3:5432) from `api`: refused".into(),
            )),
        )
        .unwrap();
        assert_eq!(refused.verdict, Verdict::Fail);
        assert_eq!(
            refused.expected.as_deref(),
            Some("`api` reaching `db:5432` over tcp")
        );
        assert!(
            refused
                .actual
                .as_deref()
                .is_some_and(|a| a.contains("refused"))
        );
        assert!(matches!(
            judge_connect_from(
                "api",
                "x",
                1,
                "tcp",
                Err(HostError::Denied("not ours".into()))
            ),
            Err(PluginError::Denied(_))
        ));
    }

    #[test]
    fn the_default_port_is_the_lowest_published_else_exposed() {
        let inspected = json!({
            "HostConfig": {"PortBindings": {"8080/tcp": [], "443/tcp": [], "53/udp": []}},
            "Config": {"ExposedPorts": {"22/tcp": {}}}
        });
        assert_eq!(first_port(&inspected), Some(443));
        assert_eq!(
            first_port(&json!({"Config": {"ExposedPorts": {"6379/tcp": {}}}})),
            Some(6379)
        );
        assert_eq!(first_port(&json!({})), None);
    }
}
