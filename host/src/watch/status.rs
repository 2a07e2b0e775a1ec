//! `.clockwork/watch-status.json`: what the watch is doing, for
//! `clockwork status`.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::model::ResourceName;

use super::{Tracked, Watcher};

/// Where `clockwork service status` reads what the watch last saw.
pub const STATUS_FILE: &str = ".clockwork/watch-status.json";

/// Writes each watched resource's standing, for `clockwork service status`.
pub(super) fn write_status(
    w: &Watcher<'_>,
    tracked: &BTreeMap<ResourceName, Tracked>,
    wake: Instant,
) {
    let now_ms = crate::model::time::now_ms();
    let at = |i: Instant| {
        let now = Instant::now();
        if i > now {
            now_ms + i.duration_since(now).as_millis() as u64
        } else {
            now_ms.saturating_sub(now.duration_since(i).as_millis() as u64)
        }
    };
    let resources: serde_json::Map<String, serde_json::Value> = tracked
        .iter()
        .map(|(name, t)| {
            let standing = if t.backoff.given_up() {
                "given up on".to_string()
            } else if t.held {
                "left alone (stopped with `clockwork stop`, or expired)".to_string()
            } else {
                match &t.incident {
                    Some(seen) => format!("drifted: {seen}"),
                    None => "as declared".to_string(),
                }
            };
            (
                name.to_string(),
                serde_json::json!({
                    "standing": standing,
                    "heals": t.heals,
                    "expires_at": t.expires_at.map(crate::model::time::rfc3339),
                    "last_check_ms": at(t.last_check),
                    "next_check_ms": at(wake),
                }),
            )
        })
        .collect();
    let status = serde_json::json!({
        "pid": std::process::id(),
        "updated_ms": now_ms,
        "resources": resources,
    });
    let _ = w.project.files.write_atomic(
        std::path::Path::new(STATUS_FILE),
        status.to_string().as_bytes(),
        0o600,
    );
}
