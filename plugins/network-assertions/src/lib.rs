//! Network assertions: `PortAccessibleAssert`, `DNSResolveAssert`,
//! `NoOpenPortsAssert` and `ServiceConnectivityAssert`.
//!
//! The first three probe through the host's `probe` interface (TCP, UDP and
//! DNS to this machine's loopback addresses and the project's containers);
//! `ServiceConnectivityAssert` runs its probe inside a container through
//! `exec`. This crate only describes the types for now; `check` comes later.

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
         is among them. The project's container names resolve to their addresses on the project's networks.",
    )
    .field(
        Field::new("hostname", "string", "The name to resolve, e.g. `api` or `example.com`.")
            .required()
            .example(json!("api"))
            .example(json!("example.com")),
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
        "Checks that no TCP port is open on a host except the allowed ones. \
         Tries every TCP port from 1 to 65535 on `host` and fails when one outside `except_ports` accepts a \
         connection, listing the unexpected ports. On `localhost` this sees everything listening on this machine, \
         not only the project's containers, so list every service you expect (SSH's `22`, say).",
    )
    .field(
        Field::new("except_ports", "list<int>", "The ports that may be open, e.g. `[8080, 8443, 22]`.")
            .default(json!([]))
            .example(json!([8080, 8443, 22])),
    )
    .field(host("api"))
}

fn service_connectivity_assert() -> TypeDef {
    TypeDef::new(
        "ServiceConnectivityAssert",
        "Checks that one service can reach another over the network. \
         The probe runs inside `from_service`'s container and connects to `to_service` by its `name` on `port`, \
         so it proves together that the two share a network, that the name resolves there and that the port \
         listens. For `http` and `https` it also sends a `GET /` and accepts any status. The probe uses the \
         container's own tools (`nc`, `wget`, `curl` or `bash`), so the image must have one of them.",
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
            "enum<tcp|http|https>",
            "What to try: `tcp` only opens a connection; `http` and `https` also send a request.",
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
        assert_eq!(
            closed.field("host").and_then(|f| f.default_value()),
            Some(json!("localhost"))
        );

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
        assert!(reach.field("port").is_some_and(|f| f.default.is_none()));
    }
}
