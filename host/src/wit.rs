//! Host-side bindings generated from `wit/`: the contract's types (an
//! [`types::Action`], a plan, an error) that every floor above speaks, and
//! the host traits the plugin runtime implements.
//!
//! The shared interfaces (`types` and the host imports) are generated once,
//! from the `host` world, and the three plugin worlds reuse them through
//! `with`, so one `Host` implementation per interface serves every kind.
//! Every import is async (it may do I/O) and trappable (a host fault or a
//! limit traps the guest; anything a plugin can handle is a `host-error`).

#![allow(missing_docs, clippy::all, reason = "generated code")]

/// Every host interface.
pub mod host {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "host",
        imports: { default: async | trappable },
    });
}

/// The `resource` world.
pub mod resource {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "%resource",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "clockwork:plugin/types": crate::wit::host::clockwork::plugin::types,
            "clockwork:plugin/log": crate::wit::host::clockwork::plugin::log,
            "clockwork:plugin/clock": crate::wit::host::clockwork::plugin::clock,
            "clockwork:plugin/fs": crate::wit::host::clockwork::plugin::fs,
        },
    });
}

/// The `connection` world.
pub mod connection {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connection",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "clockwork:plugin/types": crate::wit::host::clockwork::plugin::types,
            "clockwork:plugin/log": crate::wit::host::clockwork::plugin::log,
            "clockwork:plugin/clock": crate::wit::host::clockwork::plugin::clock,
            "clockwork:plugin/fs": crate::wit::host::clockwork::plugin::fs,
        },
    });
}

/// The `assertion` world.
pub mod assertion {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "assertion",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "clockwork:plugin/types": crate::wit::host::clockwork::plugin::types,
            "clockwork:plugin/log": crate::wit::host::clockwork::plugin::log,
            "clockwork:plugin/clock": crate::wit::host::clockwork::plugin::clock,
            "clockwork:plugin/fs": crate::wit::host::clockwork::plugin::fs,
            "clockwork:plugin/probe": crate::wit::host::clockwork::plugin::probe,
            "clockwork:plugin/docker": crate::wit::host::clockwork::plugin::docker,
            "clockwork:plugin/exec": crate::wit::host::clockwork::plugin::exec,
        },
    });
}

pub use host::clockwork::plugin::types;

impl types::PluginError {
    /// The error as one line for a message (never Rust's debug form).
    pub fn message(&self) -> String {
        match self {
            types::PluginError::InvalidConfig(d) => d
                .iter()
                .map(|d| match &d.path {
                    Some(p) => format!(
                        "`{}`: {}",
                        crate::model::FieldPath::from_pointer(p).indexed(),
                        d.summary
                    ),
                    None => d.summary.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            types::PluginError::Denied(m) => format!("denied: {m}"),
            types::PluginError::Transient(m) | types::PluginError::Failed(m) => m.clone(),
        }
    }
}

impl types::HostError {
    /// The error as one line for a message (never Rust's debug form).
    pub fn message(&self) -> String {
        match self {
            types::HostError::Denied(m) => format!("denied: {m}"),
            types::HostError::NotFound(m) => format!("not found: {m}"),
            types::HostError::TimedOut(m) => format!("timed out: {m}"),
            types::HostError::InvalidArgument(m) => format!("invalid argument: {m}"),
            types::HostError::TooLarge(m) => format!("too large: {m}"),
            types::HostError::Failed(m) => m.clone(),
        }
    }
}
