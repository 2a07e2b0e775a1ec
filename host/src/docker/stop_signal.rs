//! Whether a container's main process can receive its stop signal at all.
//!
//! A container's PID 1 is the init of its PID namespace, and the kernel
//! delivers a signal to such a process only when it has installed a handler
//! for it (SIGKILL aside). A shell or `sleep` as PID 1 never sees SIGTERM,
//! so `docker stop` waits the whole grace period and kills it anyway.
//! When the Engine runs on this machine and `/proc` shows the container's
//! PID 1 has no handler for its stop signal, Clockwork kills it at once
//! instead of waiting out a grace period that cannot help.

use bollard::models::ContainerInspectResponse;

/// The number of a signal written as `SIGTERM`, `TERM` or `15`.
fn signal_number(text: &str) -> Option<u32> {
    let name = text.trim().trim_start_matches("SIG");
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    Some(match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "USR1" => 10,
        "USR2" => 12,
        "TERM" => 15,
        "WINCH" => 28,
        "PWR" => 30,
        _ => return None,
    })
}

/// Whether `status` (the text of `/proc/<pid>/status`) shows a handler for
/// `signal`.
fn catches(status: &str, signal: u32) -> Option<bool> {
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())?;
    Some((1..=64).contains(&signal) && mask & (1 << (signal - 1)) != 0)
}

/// True only when it is certain that the container's PID 1 cannot receive
/// its stop signal: the process is visible here, belongs to this container
/// (its cgroup names the container id) and has no handler. Any doubt —
/// a remote Engine, an unreadable `/proc`, an unknown signal — says false,
/// and the container gets its grace period.
pub fn ignores_stop_signal(container: &ContainerInspectResponse) -> bool {
    let (Some(id), Some(pid)) = (
        container.id.as_deref(),
        container.state.as_ref().and_then(|s| s.pid),
    ) else {
        return false;
    };
    if pid <= 0 || id.len() < 12 {
        return false;
    }
    let signal = container
        .config
        .as_ref()
        .and_then(|c| c.stop_signal.as_deref())
        .filter(|s| !s.is_empty())
        .map_or(Some(15), signal_number);
    let Some(signal) = signal else {
        return false;
    };
    let proc = std::path::Path::new("/proc").join(pid.to_string());
    let ours = std::fs::read_to_string(proc.join("cgroup")).is_ok_and(|c| c.contains(id));
    if !ours {
        return false;
    }
    std::fs::read_to_string(proc.join("status"))
        .ok()
        .and_then(|status| catches(&status, signal))
        .is_some_and(|caught| !caught)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_signal_names_and_handler_masks() {
        assert_eq!(signal_number("SIGTERM"), Some(15));
        assert_eq!(signal_number("QUIT"), Some(3));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("SIGRTMIN+3"), None);
        // sh as PID 1: SIGINT and SIGCHLD handled, SIGTERM not.
        let sh = "Name:\tsh\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000010002\n";
        assert_eq!(catches(sh, 15), Some(false));
        assert_eq!(catches(sh, 2), Some(true));
        // With `trap … TERM`.
        let trapped = "SigCgt:\t0000000000014002\n";
        assert_eq!(catches(trapped, 15), Some(true));
        assert_eq!(catches("Name:\tx\n", 15), None);
    }
}
