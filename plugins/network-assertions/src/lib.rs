//! Network assertions: `PortAccessibleAssert`, `DNSResolveAssert`,
//! `NoOpenPortsAssert` and `ServiceConnectivityAssert`.
//!
//! - `PortAccessibleAssert` opens a TCP connection (or sends an empty UDP
//!   datagram) through the host's `probe` interface, to this machine's
//!   loopback addresses or the project's containers.
//! - `DNSResolveAssert` resolves a name through `probe.resolve`; the
//!   project's container names resolve to their project-network addresses.
//! - `NoOpenPortsAssert` compares a container's published ports (from
//!   `docker.inspect-container`) and the sockets listening inside it (read
//!   from `/proc/net/{tcp,tcp6,udp,udp6}` with `exec`) with `except_ports`.
//! - `ServiceConnectivityAssert` asks the host to connect from the source
//!   container's network namespace, with its DNS (`probe.connect-from`),
//!   and, for `http`, `postgresql` and `redis`, to speak one exchange that
//!   any such server answers without a login.
//!
//! Every check makes one attempt; the host retries failing ones until the
//! assertion's timeout.

mod checks;
pub mod procnet;

use clockwork_sdk::prelude::*;

/// The `network-assertions` plugin.
pub struct NetworkAssertions;

impl AssertionPlugin for NetworkAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!(
            "network checks: open ports, DNS names, closed ports, reachability between services"
        )
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::with_timeout(port_accessible_assert(), 5),
            AssertionType::with_timeout(dns_resolve_assert(), 10),
            AssertionType::new(no_open_ports_assert()),
            AssertionType::new(service_connectivity_assert()),
        ]
    }

    /// The schema's checks, then port ranges and `expected_ip`.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::assertion::validate_with::<Self>(type_name, config, checks::problems)
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        checks::check(input)
    }
}

fn host(example: &str) -> Field {
    Field::new(
        "host",
        "string",
        "The host to probe: a name or an IP address. \
         `localhost` tests what this machine sees, through the ports containers publish; a container's `name` \
         tests the container directly, on its container ports. Hosts outside this machine and the project are \
         refused unless the project's network grant allows them.",
    )
    .default(json!("localhost"))
    .example(json!(example))
}

fn port_accessible_assert() -> TypeDef {
    TypeDef::new(
        "PortAccessibleAssert",
        "Checks that a port accepts connections. \
         For `tcp`, passes when a TCP connection to `host:port` opens (nothing is sent). For `udp`, sends an empty \
         datagram and passes when any reply comes back; UDP has no handshake, so a service that never answers \
         empty datagrams looks closed.",
    )
    .field(
        Field::new(
            "port",
            "int",
            "The port number, 1 to 65535: the published port for `localhost`, the container port for a container \
             name.",
        )
        .required()
        .example(json!(8080))
        .example(json!(5432)),
    )
    .field(host("postgres-db"))
    .field(
        Field::new("protocol", "enum<tcp|udp>", "The transport to probe: `tcp` or `udp`.")
            .default(json!("tcp"))
            .example(json!("udp")),
    )
}

fn dns_resolve_assert() -> TypeDef {
    TypeDef::new(
        "DNSResolveAssert",
        "Checks that a host name resolves, optionally to a given address. \
         Passes when `hostname` resolves to at least one address and, if `expected_ip` is given, when that address \
         is among them. The project's container names (and `localhost`) resolve to their addresses on the \
         project's networks; other names are not looked up, since the query would leave the machine for an outside \
         DNS server, and a check sends nothing outside the project.",
    )
    .field(
        Field::new("hostname", "string", "The name to resolve: a container of this project, e.g. `api`.")
            .required()
            .example(json!("api")),
    )
    .field(
        Field::new(
            "expected_ip",
            "string",
            "An IPv4 or IPv6 address that must be among the results, e.g. `127.0.0.1`. \
             Left out, any address passes.",
        )
        .example(json!("127.0.0.1")),
    )
}

fn no_open_ports_assert() -> TypeDef {
    TypeDef::new(
        "NoOpenPortsAssert",
        "Checks that a container has no open port except the allowed ones. \
         Looks at the container's published ports (the ports of this machine Docker forwards to it) and at the \
         TCP and UDP sockets listening inside it, and fails when a port outside `except_ports` is either, listing \
         each with how it is open (`5432/tcp (listening)`, `8080/tcp (published)`). A published port counts by \
         its port on this machine. The listening sockets are read from `/proc/net` with `cat` inside the \
         container; sockets bound to a loopback address only (Docker's own DNS server on `127.0.0.11`, say) \
         cannot be reached from outside and do not count. In an image without `cat`, only the published ports \
         are checked and the result says so.",
    )
    .field(
        Field::new(
            "except_ports",
            "list<int>",
            "The ports that may be open, TCP or UDP, e.g. `[80, 443]`.",
        )
        .default(json!([]))
        .example(json!([80, 443]))
        .example(json!([5432])),
    )
    .field(
        Field::new(
            "container_name",
            "string",
            "The container to check, by name. \
             Left out: the container of the declaration whose `assertions=[...]` holds this assertion. Only this \
             project's containers can be checked.",
        )
        .example(json!("api")),
    )
}

fn service_connectivity_assert() -> TypeDef {
    TypeDef::new(
        "ServiceConnectivityAssert",
        "Checks that one service can reach another over the network. \
         The host checks it from `from_service`'s container network namespace, connecting to `to_service` by its \
         `name` on `port`, so it proves together that the two share a network, that the name resolves there and \
         that the port listens; nothing needs to be installed in either image. For `http` and `https` it also \
         sends a `GET /` and accepts any status; for `postgresql` and `redis` it also checks that the server \
         answers in that protocol, without logging in.",
    )
    .field(
        Field::new(
            "from_service",
            "resource",
            "The container the connection starts from. Left out: the declaration whose `assertions=[...]` holds \
             this assertion.",
        ),
    )
    .field(
        Field::new("to_service", "resource", "The container that must be reachable.")
            .required(),
    )
    .field(
        Field::new(
            "protocol",
            "enum<tcp|http|https|postgresql|redis>",
            "What to try: `tcp` only opens a connection; `http` and `https` also send a request; `postgresql` and \
             `redis` also check that the server speaks that protocol.",
        )
        .default(json!("tcp"))
        .example(json!("http")),
    )
    .field(
        Field::new(
            "port",
            "int",
            "The port on `to_service`, 1 to 65535. \
             Left out: the container side of `to_service`'s first `ports` entry (`\"5433:5432\"` → `5432`).",
        )
        .example(json!(5432)),
    )
}

export_assertion_plugin!(NetworkAssertions);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::{TypeSchema, ValueType};

    use super::*;

    fn schema(name: &str) -> TypeSchema {
        <NetworkAssertions as AssertionPlugin>::types()
            .into_iter()
            .find(|t| t.def.name() == name)
            .map(|t| t.def.schema().clone())
            .unwrap_or_else(|| panic!("no type `{name}`"))
    }

    #[test]
    fn schemas_have_no_problems() {
        let types = <NetworkAssertions as AssertionPlugin>::types();
        let names: Vec<&str> = types.iter().map(|t| t.def.name()).collect();
        assert_eq!(
            names,
            [
                "PortAccessibleAssert",
                "DNSResolveAssert",
                "NoOpenPortsAssert",
                "ServiceConnectivityAssert"
            ]
        );
        for t in &types {
            assert_eq!(t.def.schema().problems(), vec![], "{}", t.def.name());
            assert!(t.def.schema().field("description").is_some());
            assert!(t.def.schema().field("timeout_seconds").is_some());
        }
    }

    #[test]
    fn fields_match_the_contract() {
        let port = schema("PortAccessibleAssert");
        assert!(
            port.field("port")
                .is_some_and(|f| f.required && f.value_type == "int")
        );
        assert_eq!(
            port.field("host").and_then(|f| f.default_value()),
            Some(json!("localhost"))
        );
        assert_eq!(
            port.field("protocol").map(|f| f.value_type.as_str()),
            Some("enum<tcp|udp>")
        );
        assert_eq!(
            port.field("protocol").and_then(|f| f.default_value()),
            Some(json!("tcp"))
        );

        let dns = schema("DNSResolveAssert");
        assert!(dns.field("hostname").is_some_and(|f| f.required));
        assert!(dns.field("expected_ip").is_some_and(|f| !f.required));

        let closed = schema("NoOpenPortsAssert");
        assert_eq!(
            closed.field("except_ports").and_then(|f| f.default_value()),
            Some(json!([]))
        );
        assert!(
            closed.field("host").is_none(),
            "the ports are a container's"
        );
        assert!(closed.field("container_name").is_some_and(|f| !f.required));

        let reach = schema("ServiceConnectivityAssert");
        for name in ["from_service", "to_service"] {
            let ty = reach.field(name).and_then(|f| f.parsed_type());
            assert_eq!(
                ty,
                Some(ValueType::Resource(Vec::new())),
                "`{name}` is a resource reference"
            );
        }
        assert_eq!(
            reach.field("protocol").and_then(|f| f.default_value()),
            Some(json!("tcp"))
        );
        assert_eq!(
            reach.field("protocol").map(|f| f.value_type.as_str()),
            Some("enum<tcp|http|https|postgresql|redis>")
        );
        assert!(reach.field("port").is_some_and(|f| f.default.is_none()));
    }
}
