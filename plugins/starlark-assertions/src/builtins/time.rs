//! `time`: the clock.

use std::sync::OnceLock;
use std::time::Instant;

use clockwork_sdk::host::clock;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::float::UnpackFloat;
use starlark::values::none::NoneType;

use super::sleep::do_sleep;

/// The reference point of `time.monotonic()`.
pub(super) fn monotonic_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

#[starlark_module]
pub(super) fn time_module(builder: &mut GlobalsBuilder) {
    /// The wall-clock time in seconds since the Unix epoch (UTC), as a
    /// float. It may jump when the system clock is set: measure durations
    /// with `time.monotonic()`.
    fn now() -> anyhow::Result<f64> {
        Ok(clock::now_unix_ms() as f64 / 1000.0)
    }

    /// Seconds from an arbitrary fixed point, as a float, never going
    /// back: subtract two readings to measure a duration.
    fn monotonic() -> anyhow::Result<f64> {
        Ok(monotonic_origin().elapsed().as_secs_f64())
    }

    /// The same as the global `sleep(seconds)`.
    fn sleep(#[starlark(require = pos)] seconds: UnpackFloat) -> anyhow::Result<NoneType> {
        do_sleep(seconds.0)?;
        Ok(NoneType)
    }
}
