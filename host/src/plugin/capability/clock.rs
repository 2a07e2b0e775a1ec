//! `clockwork:plugin/clock`: wall-clock time and time since the call began.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::plugin::HostState;
use crate::plugin::bindings::host::clockwork::plugin::clock::Host;

impl Host for HostState {
    async fn now_unix_ms(&mut self) -> wasmtime::Result<u64> {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }

    async fn elapsed_us(&mut self) -> wasmtime::Result<u64> {
        Ok(u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX))
    }
}
