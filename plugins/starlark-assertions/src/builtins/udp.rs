//! `udp`: a datagram sent, and the answer if one comes.

use std::time::Instant;

use clockwork_sdk::host::probe;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::float::UnpackFloat;
use starlark::values::none::NoneOr;
use starlark::values::structs::AllocStruct;
use starlark::values::{Heap, Value};

use super::common::{bytes_of, ms_since, port_of, probe_outcome, timeout_ms};

#[starlark_module]
pub(super) fn udp_module(builder: &mut GlobalsBuilder) {
    /// Sends one UDP datagram (`payload`, str or bytes) to `host:port` and
    /// waits for any reply. Returns `struct(ok, error, reply_bytes,
    /// elapsed_ms)`: `ok` is `True` when a reply came; `reply_bytes` is its
    /// length (`None` when none came); `error` is `None` or why no reply
    /// came. UDP has no handshake: a timeout may mean a closed port or a
    /// silent service. Raises for a host outside the check's network grant.
    fn exchange<'v>(
        #[starlark(require = pos)] host: &str,
        #[starlark(require = pos)] port: i32,
        #[starlark(require = named)] payload: Option<Value<'v>>,
        #[starlark(require = named, default = UnpackFloat(2.0))] timeout: UnpackFloat,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let port = port_of(port)?;
        let payload = match payload {
            Some(p) => bytes_of("payload", p)?,
            None => Vec::new(),
        };
        let ms = timeout_ms(timeout.0)?;
        let start = Instant::now();
        let (reply, error) = match probe::udp_exchange(host, port, &payload, ms) {
            Ok(n) => (Some(n), None),
            Err(e) => {
                let what = format!("udp.exchange with `{host}:{port}`");
                (None, Some(probe_outcome(&what, e)?))
            }
        };
        Ok(heap.alloc(AllocStruct([
            ("ok", heap.alloc(reply.is_some())),
            ("error", heap.alloc(NoneOr::from_option(error))),
            ("reply_bytes", heap.alloc(NoneOr::from_option(reply))),
            ("elapsed_ms", heap.alloc(ms_since(start))),
        ])))
    }
}
