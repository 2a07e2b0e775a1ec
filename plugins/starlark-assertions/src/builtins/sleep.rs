//! `sleep`: a wait, within the check's deadline.

use std::time::Duration;

use anyhow::bail;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::float::UnpackFloat;
use starlark::values::none::NoneType;

use crate::context;

/// Why `sleep(seconds)` may not sleep, if it may not.
pub(super) fn sleep_refusal(seconds: f64, remaining: Duration) -> Option<String> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Some(format!(
            "sleep() needs a non-negative number of seconds, got {seconds}"
        ));
    }
    if seconds > remaining.as_secs_f64() {
        return Some(format!(
            "sleep({seconds}) would pass the check's deadline: {:.3} s are left; \
             wait less, or raise the assertion's `timeout_seconds`",
            remaining.as_secs_f64()
        ));
    }
    None
}

pub(super) fn do_sleep(seconds: f64) -> anyhow::Result<()> {
    let ctx = context::current()?;
    if let Some(refusal) = sleep_refusal(seconds, ctx.remaining()) {
        bail!("{refusal}");
    }
    std::thread::sleep(Duration::from_secs_f64(seconds));
    Ok(())
}

#[starlark_module]
pub(super) fn sleep_function(builder: &mut GlobalsBuilder) {
    /// Waits `seconds` (int or float, not negative). Raises instead when
    /// the wait would pass the check's deadline, saying how much time is
    /// left. Prefer letting the assertion retry over sleeping in a loop.
    fn sleep(#[starlark(require = pos)] seconds: UnpackFloat) -> anyhow::Result<NoneType> {
        do_sleep(seconds.0)?;
        Ok(NoneType)
    }
}
