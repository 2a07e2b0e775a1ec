//! `clockwork service start | stop | status | logs`: `clockwork watch` as a
//! background process of the project — one per project, its pid in
//! `.clockwork/service.pid`, its output in `.clockwork/service.log` — that
//! outlives the terminal (it runs in its own process group and ignores
//! SIGHUP) and ends cleanly on `service stop` (SIGTERM), or by itself when
//! the project is destroyed; it does not start on a destroyed project.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation};
use crate::output;
use crate::project::{ProjectDir, STATE_DIR};

const PID_FILE: &str = ".clockwork/service.pid";
const LOG_FILE: &str = ".clockwork/service.log";

/// What `clockwork service` was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start the background watch.
    Start,
    /// Stop it.
    Stop,
    /// Say whether it runs and how each resource stands.
    Status,
    /// Print its output.
    Logs,
}

/// The pid of the running service, if one runs: the pid file names a live
/// `clockwork … watch` process (a stale file, or a pid reused by another
/// program, is not a service).
fn running(files: &ProjectDir) -> Option<u32> {
    let text = String::from_utf8(files.read(Path::new(PID_FILE)).ok()?).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let is_watch = cmdline.split(|b| *b == 0).any(|a| a == b"watch");
    let same_program = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .zip(std::env::current_exe().ok())
        .is_some_and(|(theirs, ours)| theirs == ours);
    (is_watch && same_program).then_some(pid)
}

/// `clockwork service ACTION`.
pub async fn run(invocation: &Invocation, action: Action, json_out: bool) -> Result<u8, CliError> {
    let files = &invocation.project.files;
    match action {
        Action::Start => start(invocation, files),
        Action::Stop => stop(files).await,
        Action::Status => status(files, json_out),
        Action::Logs => {
            let text = files
                .read(Path::new(LOG_FILE))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            output::emit(&output::masked(&text));
            Ok(EXIT_OK)
        }
    }
}

fn start(invocation: &Invocation, files: &ProjectDir) -> Result<u8, CliError> {
    if let Some(pid) = running(files) {
        output::emit(&format!(
            "the service of this project already runs (pid {pid}); `clockwork service stop` ends it\n"
        ));
        return Ok(EXIT_FAILED);
    }
    // Refused here, as `watch` would refuse it, rather than in the log.
    let state = crate::state::State::load(files, &invocation.project.identity)?;
    state.may_heal(state.generation)?;
    let exe = std::env::current_exe().map_err(|e| CliError::Io {
        what: "the clockwork executable".into(),
        source: e,
    })?;
    let log_error = |e: crate::project::PathError| CliError::Service(format!("{LOG_FILE}: {e}"));
    files
        .create_dir_all(Path::new(STATE_DIR), true)
        .map_err(log_error)?;
    let log = files
        .open_rw(Path::new(LOG_FILE), 0o600)
        .map_err(log_error)?;
    use std::io::Seek;
    let mut log_end = log;
    let _ = log_end.seek(std::io::SeekFrom::End(0));
    let err = log_end.try_clone().map_err(|e| CliError::Io {
        what: LOG_FILE.into(),
        source: e,
    })?;
    let mut command = Command::new(exe);
    command
        .arg("-C")
        .arg(&invocation.project.dir)
        .arg("watch")
        .stdin(Stdio::null())
        .stdout(log_end)
        .stderr(err);
    if invocation.verbosity > 0 {
        command.arg(format!("-{}", "v".repeat(invocation.verbosity as usize)));
    }
    // Its own session, without a controlling terminal: a Ctrl-C or a
    // closed terminal here does not reach it (a process group alone would
    // still share the terminal's session).
    // SAFETY: `setsid` is a single async-signal-safe system call, with no
    // allocation or lock, as `pre_exec` requires between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            rustix::process::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let child = command.spawn().map_err(|e| CliError::Io {
        what: "a background `clockwork watch`".into(),
        source: e,
    })?;
    files
        .write_atomic(
            Path::new(PID_FILE),
            format!("{}\n", child.id()).as_bytes(),
            0o600,
        )
        .map_err(log_error)?;
    // It is up once it wrote its first status (or gone if it failed).
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = child.id();
    loop {
        if status_of(files).is_some_and(|s| s["pid"] == pid) {
            output::emit(&format!(
                "started the service (pid {pid}); `clockwork service status` shows how it stands, `clockwork service logs` what it said\n"
            ));
            return Ok(EXIT_OK);
        }
        if running(files).is_none() || Instant::now() > deadline {
            let _ = files.remove_file(Path::new(PID_FILE));
            let said = files
                .read(Path::new(LOG_FILE))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let last: Vec<&str> = said.lines().rev().take(5).collect();
            return Err(CliError::Service(format!(
                "the service did not start: {}",
                last.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn stop(files: &ProjectDir) -> Result<u8, CliError> {
    let Some(pid) = running(files) else {
        output::emit("the service of this project is not running\n");
        let _ = files.remove_file(Path::new(PID_FILE));
        return Ok(EXIT_OK);
    };
    let target = rustix::process::Pid::from_raw(pid as i32);
    if let Some(target) = target {
        let _ = rustix::process::kill_process(target, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(files).is_some() {
        if Instant::now() > deadline {
            return Err(CliError::Service(format!(
                "the service (pid {pid}) did not end within 30 s of SIGTERM"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = files.remove_file(Path::new(PID_FILE));
    output::emit(&format!("stopped the service (pid {pid})\n"));
    Ok(EXIT_OK)
}

fn status_of(files: &ProjectDir) -> Option<Value> {
    let bytes = files.read(Path::new(crate::watch::STATUS_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn status(files: &ProjectDir, json_out: bool) -> Result<u8, CliError> {
    let pid = running(files);
    let seen = status_of(files).filter(|s| pid.is_some_and(|p| s["pid"] == p));
    if json_out {
        output::emit_json(&json!({"running": pid.is_some(), "pid": pid, "status": seen}));
    } else {
        match pid {
            None => output::emit(
                "the service of this project is not running (`clockwork service start`)\n",
            ),
            Some(pid) => {
                let mut out = format!("the service runs (pid {pid})\n");
                let now = crate::model::time::now_ms();
                let ago = |ms: &Value| {
                    ms.as_u64()
                        .map(|t| {
                            if t > now {
                                format!("in {} s", (t - now) / 1000)
                            } else {
                                format!("{} s ago", (now - t) / 1000)
                            }
                        })
                        .unwrap_or_else(|| "-".into())
                };
                let mut table = output::Table::new(&[
                    "RESOURCE",
                    "STANDING",
                    "HEALS",
                    "LAST CHECK",
                    "NEXT CHECK",
                    "EXPIRES",
                ]);
                if let Some(resources) = seen.as_ref().and_then(|s| s["resources"].as_object()) {
                    for (name, r) in resources {
                        table.row(vec![
                            name.clone(),
                            r["standing"].as_str().unwrap_or("").to_string(),
                            r["heals"].to_string(),
                            ago(&r["last_check_ms"]),
                            ago(&r["next_check_ms"]),
                            r["expires_at"].as_str().unwrap_or("-").to_string(),
                        ]);
                    }
                }
                out.push_str(&table.render());
                output::emit(&out);
            }
        }
    }
    Ok(if pid.is_some() { EXIT_OK } else { EXIT_FAILED })
}
