//! `clockwork:plugin/log`: records go to the call's log, attributed by the caller.

use crate::plugin::bindings::host::clockwork::plugin::log::{Host, Level};
use crate::plugin::{HostState, LogLevel};

impl Host for HostState {
    async fn log(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.record_log(level, message, fields);
        Ok(())
    }
}
