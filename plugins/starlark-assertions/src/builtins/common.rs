//! What the modules share: limits, argument checks, conversions, and how
//! a host error is told apart from an outcome a check observes.

use std::time::Instant;

use anyhow::{anyhow, bail};
use clockwork_sdk::HostError;
use starlark::values::bytes::StarlarkBytes;
use starlark::values::dict::DictRef;
use starlark::values::{Value, ValueLike};

use crate::context;

/// Default for `http.*(max_bytes = ...)` and `file.read(max_bytes = ...)`.
pub(super) const DEFAULT_MAX_BYTES: i64 = 1 << 20;
/// The host's cap on a response body.
pub(super) const HTTP_BODY_CAP: u64 = 4 << 20;
/// The host's cap on a file read.
pub(super) const FILE_READ_CAP: u64 = 16 << 20;
/// The host's cap on each of a command's stdout and stderr.
pub(super) const EXEC_OUTPUT_CAP: u32 = 1 << 20;
/// How many characters of a body a `json()` error shows.
pub(super) const BODY_EXCERPT_CHARS: usize = 120;

/// The error for a call the host refused as outside the grant.
pub(super) fn outside_grant(what: &str, host_text: &str) -> anyhow::Error {
    anyhow!("{what} is outside this check's grant: {host_text}")
}

/// `seconds` as a timeout: a positive, finite number.
pub(super) fn positive_seconds(name: &str, seconds: f64) -> anyhow::Result<f64> {
    if !seconds.is_finite() || seconds <= 0.0 {
        bail!("`{name}` must be a positive number of seconds, got {seconds}");
    }
    Ok(seconds)
}

/// A host call's timeout in milliseconds: `seconds`, capped by what is
/// left of the check.
pub(super) fn timeout_ms(seconds: f64) -> anyhow::Result<u32> {
    let seconds = positive_seconds("timeout", seconds)?;
    Ok(context::current()?.timeout_ms(seconds))
}

/// A port argument: 1-65535.
pub(super) fn port_of(port: i32) -> anyhow::Result<u16> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow!("`port` must be a port number 1-65535, got {port}"))
}

/// A byte limit argument: at least 1, at most `cap` (larger asks are cut
/// to the cap).
pub(super) fn byte_limit(name: &str, value: i64, cap: u64) -> anyhow::Result<u64> {
    if value < 1 {
        bail!("`{name}` must be a positive number of bytes, got {value}");
    }
    Ok(u64::try_from(value).unwrap_or(cap).min(cap))
}

/// Milliseconds since `start`, as a float.
pub(super) fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Microseconds as float milliseconds.
pub(super) fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// A dict argument of string keys and scalar values (str, int, float,
/// bool) as name-value pairs, in the dict's order.
pub(super) fn string_pairs(
    name: &str,
    dict: Option<DictRef>,
) -> anyhow::Result<Vec<(String, String)>> {
    let Some(dict) = dict else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let Some(key) = key.unpack_str() else {
            bail!(
                "`{name}` must map strings to strings, got the key {} `{}`",
                key.get_type(),
                key.to_repr()
            );
        };
        let value = if let Some(s) = value.unpack_str() {
            s.to_string()
        } else if matches!(value.get_type(), "int" | "float" | "bool") {
            value.to_str()
        } else {
            bail!(
                "`{name}` must map strings to strings, got {} `{}` for `{key}`",
                value.get_type(),
                value.to_repr()
            );
        };
        pairs.push((key.to_string(), value));
    }
    Ok(pairs)
}

/// A `str` or `bytes` argument as bytes.
pub(super) fn bytes_of(name: &str, value: Value) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = value.unpack_str() {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(b) = value.downcast_ref::<StarlarkBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    bail!(
        "`{name}` must be a str or bytes, got {} `{}`",
        value.get_type(),
        value.to_repr()
    )
}

/// The first `chars` characters of `text`, with `…` when cut.
pub(super) fn excerpt(text: &str, chars: usize) -> String {
    let mut it = text.chars();
    let shown: String = it.by_ref().take(chars).collect();
    if it.next().is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Sorts a probe's host error: `Ok(text)` for an outcome the check is there
/// to observe, `Err` for misuse.
pub(super) fn probe_outcome(what: &str, e: HostError) -> anyhow::Result<String> {
    match e {
        HostError::Denied(text) => Err(outside_grant(what, &text)),
        HostError::InvalidArgument(text) => Err(anyhow!("{what} was refused: {text}")),
        e => Ok(crate::host_error_text(&e)),
    }
}
