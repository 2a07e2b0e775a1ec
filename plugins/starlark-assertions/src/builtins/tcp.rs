//! `tcp`: whether a port accepts connections.

use std::time::Instant;

use clockwork_sdk::host::probe;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::float::UnpackFloat;
use starlark::values::none::NoneOr;
use starlark::values::structs::AllocStruct;
use starlark::values::{Heap, Value};

use super::common::{ms_since, port_of, probe_outcome, timeout_ms, us_to_ms};

#[starlark_module]
pub(super) fn tcp_module(builder: &mut GlobalsBuilder) {
    /// Opens a TCP connection to `host:port` and closes it at once (no
    /// data is sent). Returns `struct(ok, error, elapsed_ms)`: `ok` is
    /// `True` when it connected; `error` is `None`, or why it did not
    /// (refused, timed out, not resolvable); `elapsed_ms` is the time to
    /// connect (or to give up), a float. `timeout`: seconds. Raises for a
    /// host outside the check's network grant.
    ///
    /// ```python
    /// c = tcp.connect("localhost", 5432)
    /// ```
    fn connect<'v>(
        #[starlark(require = pos)] host: &str,
        #[starlark(require = pos)] port: i32,
        #[starlark(require = named, default = UnpackFloat(2.0))] timeout: UnpackFloat,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let port = port_of(port)?;
        let ms = timeout_ms(timeout.0)?;
        let start = Instant::now();
        let (ok, error, elapsed_ms) = match probe::tcp_connect(host, port, ms) {
            Ok(us) => (true, None, us_to_ms(us)),
            Err(e) => {
                let what = format!("tcp.connect to `{host}:{port}`");
                (false, Some(probe_outcome(&what, e)?), ms_since(start))
            }
        };
        Ok(heap.alloc(AllocStruct([
            ("ok", heap.alloc(ok)),
            ("error", heap.alloc(NoneOr::from_option(error))),
            ("elapsed_ms", heap.alloc(elapsed_ms)),
        ])))
    }
}
