//! Host-side bindings generated from `wit/`.
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
            "clockwork:plugin/types": crate::plugin::bindings::host::clockwork::plugin::types,
            "clockwork:plugin/log": crate::plugin::bindings::host::clockwork::plugin::log,
            "clockwork:plugin/clock": crate::plugin::bindings::host::clockwork::plugin::clock,
            "clockwork:plugin/fs": crate::plugin::bindings::host::clockwork::plugin::fs,
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
            "clockwork:plugin/types": crate::plugin::bindings::host::clockwork::plugin::types,
            "clockwork:plugin/log": crate::plugin::bindings::host::clockwork::plugin::log,
            "clockwork:plugin/clock": crate::plugin::bindings::host::clockwork::plugin::clock,
            "clockwork:plugin/fs": crate::plugin::bindings::host::clockwork::plugin::fs,
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
            "clockwork:plugin/types": crate::plugin::bindings::host::clockwork::plugin::types,
            "clockwork:plugin/log": crate::plugin::bindings::host::clockwork::plugin::log,
            "clockwork:plugin/clock": crate::plugin::bindings::host::clockwork::plugin::clock,
            "clockwork:plugin/fs": crate::plugin::bindings::host::clockwork::plugin::fs,
            "clockwork:plugin/probe": crate::plugin::bindings::host::clockwork::plugin::probe,
            "clockwork:plugin/docker": crate::plugin::bindings::host::clockwork::plugin::docker,
            "clockwork:plugin/exec": crate::plugin::bindings::host::clockwork::plugin::exec,
        },
    });
}

pub use host::clockwork::plugin::types;
