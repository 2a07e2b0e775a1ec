//! The host imports plugins may use, one file per WIT interface, and the
//! grants that scope them.
//!
//! Each capability has Spin's three phases: it is linked once per world
//! ([`link`]; a world without the interface has nothing to call), granted per
//! plugin ([`Grants`], deny by default), and checked per call in its `Host`
//! implementation.

mod clock;
mod docker;
mod fs;
mod grant;
mod log;
mod netns;
mod probe;
mod tls;

pub use grant::{Grants, NetworkGrant};

use wasmtime::component::{HasSelf, Linker};

use crate::plugin::bindings::host::clockwork::plugin as iface;
use crate::plugin::{HostState, PluginKind};

impl iface::types::Host for HostState {}

/// Adds WASI p2 (with nothing granted) and the interfaces of `kind`'s world
/// to `linker`.
pub fn link(linker: &mut Linker<HostState>, kind: PluginKind) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    iface::types::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    iface::log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    iface::clock::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    iface::fs::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    if kind == PluginKind::Assertion {
        iface::probe::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
        iface::docker::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
        iface::exec::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    }
    Ok(())
}
