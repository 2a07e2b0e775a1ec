//! An assertion that uses a host import: `TcpOpenAssert(host=, port=)`.
//!
//! Plugins have no sockets of their own. The `probe` import asks the host
//! to connect, and the host checks the target against the plugin's grant
//! (loopback and the project's containers) before anything is sent. An
//! error from the host means the check could not run, which is not the same
//! as a failing check: return it as a `PluginError`.

use clockwork_sdk::host::probe;
use clockwork_sdk::prelude::*;
use clockwork_sdk::serde_json;

struct TcpOpen;

impl AssertionPlugin for TcpOpen {
    fn meta() -> PluginMeta {
        PluginMeta {
            name: "tcp-open".into(),
            version: "0.1.0".into(),
            summary: "checks that a TCP port accepts connections".into(),
            homepage: None,
        }
    }

    fn types() -> Vec<AssertionType> {
        vec![AssertionType::with_timeout(
            TypeDef::new(
                "TcpOpenAssert",
                "Passes when `host:port` accepts a TCP connection.",
            )
            .field(
                Field::new("port", "int", "The TCP port.")
                    .required()
                    .example(json!(5432)),
            )
            .field(
                Field::new(
                    "host",
                    "string",
                    "The host; loopback or a container of the project.",
                )
                .default(json!("localhost")),
            ),
            10,
        )]
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let config: Value =
            serde_json::from_str(&input.config).map_err(|e| PluginError::Failed(e.to_string()))?;
        let host = config["host"].as_str().unwrap_or("localhost");
        let Some(port) = config["port"].as_u64().and_then(|p| u16::try_from(p).ok()) else {
            return Err(PluginError::Failed("`port` must be 1-65535".into()));
        };
        let budget = input.remaining_ms.min(2_000);
        match probe::tcp_connect(host, port, budget) {
            Ok(micros) => Ok(Outcome::pass(format!(
                "{host}:{port} accepted a connection in {micros} µs"
            ))),
            Err(HostError::Denied(why)) => Err(PluginError::Denied(why)),
            Err(other) => Ok(Outcome::fail(
                format!("{host}:{port} refused"),
                "a TCP connection",
                format!("{other:?}"),
            )),
        }
    }
}

export_assertion_plugin!(TcpOpen);
