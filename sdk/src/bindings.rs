//! Bindings generated from `wit/` (the one copy of the contract, at the
//! repository root).
//!
//! The shared interfaces (`types` and every host import) are generated once,
//! in [`host`], and the three plugin worlds reuse them, so a `Diagnostic` or a
//! `PluginError` is the same Rust type whichever kind of plugin you write.
//! Each world's export macro is public; the macros in this crate's root
//! (`export_resource_plugin!` and friends) call them for you.

/// Every host interface: `types`, `log`, `clock`, `fs`, `probe`, `docker`, `exec`.
///
/// A plugin only links what it calls; the host rejects a component that
/// imports an interface its kind is not granted.
#[allow(missing_docs, reason = "generated code")]
pub mod host {
    wit_bindgen::generate!({
        path: "../wit",
        world: "host",
        generate_all,
    });
}

/// The `resource` world: exports `resources`.
#[allow(missing_docs, reason = "generated code")]
pub mod resource {
    wit_bindgen::generate!({
        path: "../wit",
        world: "%resource",
        with: {
            "clockwork:plugin/types@0.2.0": crate::bindings::host::clockwork::plugin::types,
            "clockwork:plugin/log@0.2.0": crate::bindings::host::clockwork::plugin::log,
            "clockwork:plugin/clock@0.2.0": crate::bindings::host::clockwork::plugin::clock,
            "clockwork:plugin/fs@0.2.0": crate::bindings::host::clockwork::plugin::fs,
        },
        pub_export_macro: true,
        export_macro_name: "export_resource_world",
        default_bindings_module: "clockwork_sdk::bindings::resource",
    });
}

/// The `connection` world: exports `connections`.
#[allow(missing_docs, reason = "generated code")]
pub mod connection {
    wit_bindgen::generate!({
        path: "../wit",
        world: "connection",
        with: {
            "clockwork:plugin/types@0.2.0": crate::bindings::host::clockwork::plugin::types,
            "clockwork:plugin/log@0.2.0": crate::bindings::host::clockwork::plugin::log,
            "clockwork:plugin/clock@0.2.0": crate::bindings::host::clockwork::plugin::clock,
            "clockwork:plugin/fs@0.2.0": crate::bindings::host::clockwork::plugin::fs,
        },
        pub_export_macro: true,
        export_macro_name: "export_connection_world",
        default_bindings_module: "clockwork_sdk::bindings::connection",
    });
}

/// The `assertion` world: exports `assertions`.
#[allow(missing_docs, reason = "generated code")]
pub mod assertion {
    wit_bindgen::generate!({
        path: "../wit",
        world: "assertion",
        with: {
            "clockwork:plugin/types@0.2.0": crate::bindings::host::clockwork::plugin::types,
            "clockwork:plugin/log@0.2.0": crate::bindings::host::clockwork::plugin::log,
            "clockwork:plugin/clock@0.2.0": crate::bindings::host::clockwork::plugin::clock,
            "clockwork:plugin/fs@0.2.0": crate::bindings::host::clockwork::plugin::fs,
            "clockwork:plugin/probe@0.2.0": crate::bindings::host::clockwork::plugin::probe,
            "clockwork:plugin/docker@0.2.0": crate::bindings::host::clockwork::plugin::docker,
            "clockwork:plugin/exec@0.2.0": crate::bindings::host::clockwork::plugin::exec,
        },
        pub_export_macro: true,
        export_macro_name: "export_assertion_world",
        default_bindings_module: "clockwork_sdk::bindings::assertion",
    });
}

impl host::clockwork::plugin::types::HostError {
    /// The error as one line for a message, e.g. ``denied: `/etc` is
    /// absolute``.
    pub fn message(&self) -> String {
        use host::clockwork::plugin::types::HostError as E;
        match self {
            E::Denied(m) => format!("denied: {m}"),
            E::NotFound(m) => format!("not found: {m}"),
            E::TimedOut(m) => format!("timed out: {m}"),
            E::InvalidArgument(m) => format!("invalid argument: {m}"),
            E::TooLarge(m) => format!("too large: {m}"),
            E::Failed(m) => m.clone(),
        }
    }
}

impl host::clockwork::plugin::types::PluginError {
    /// The error as one line for a message.
    pub fn message(&self) -> String {
        use host::clockwork::plugin::types::PluginError as E;
        match self {
            E::InvalidConfig(d) => d
                .iter()
                .map(|d| match &d.path {
                    Some(p) => format!("{p}: {}", d.summary),
                    None => d.summary.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            E::Denied(m) => format!("denied: {m}"),
            E::Transient(m) | E::Failed(m) => m.clone(),
        }
    }
}
