//! `dns`: names resolved.

use clockwork_sdk::host::probe;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::list::AllocList;
use starlark::values::{Heap, Value};

use super::common::probe_outcome;

#[starlark_module]
pub(super) fn dns_module(builder: &mut GlobalsBuilder) {
    /// Resolves a host name to its IP addresses, as a list of str
    /// (`["172.18.0.3"]`); this project's container names resolve to their
    /// addresses on the project network. Returns `[]` when the name does not
    /// resolve (or the lookup fails). Raises for a name outside the check's
    /// network grant.
    fn resolve<'v>(
        #[starlark(require = pos)] name: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let addresses = match probe::resolve(name) {
            Ok(addresses) => addresses,
            Err(e) => {
                probe_outcome(&format!("dns.resolve of `{name}`"), e)?;
                Vec::new()
            }
        };
        Ok(heap.alloc(AllocList(addresses)))
    }
}
