//! `clockwork exec NAME [--] CMD…` and `clockwork shell NAME`: a command in
//! one of the project's running containers, found by its resource's name,
//! with a terminal when this is one (raw mode, the window's size, resized
//! with it), stdin passed through otherwise. The exit code is the command's.
//!
//! What the command prints is passed through byte for byte and not masked:
//! this is the user's own channel into the container, and what is piped
//! through it (`clockwork exec -T db pg_dump app > dump.sql`) must arrive
//! as it left. Clockwork's own messages about it are masked as everywhere.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::cli::{CliError, Invocation, project};
use crate::docker::{Engine, EngineError, listed_name, listed_resource};
use crate::model::Declared;
use crate::model::PluginKind;
use crate::output;
use crate::state::State;

/// What `clockwork exec` was asked.
pub struct ExecArgs {
    /// A resource, or one of the project's containers by name.
    pub name: String,
    /// Program and arguments.
    pub command: Vec<String>,
    /// `--user`.
    pub user: Option<String>,
    /// `--workdir`.
    pub workdir: Option<String>,
    /// `--env NAME=VALUE`.
    pub env: Vec<String>,
    /// A terminal when stdin and stdout are one (`-T`: never).
    pub tty: bool,
}

/// Runs a shell's detection in the container: bash where it has one.
const SHELL: [&str; 3] = [
    "sh",
    "-c",
    "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh",
];

/// `clockwork shell NAME`.
pub async fn run_shell(
    invocation: &Invocation,
    name: String,
    user: Option<String>,
) -> Result<u8, CliError> {
    run(
        invocation,
        ExecArgs {
            name,
            command: SHELL.iter().map(|s| s.to_string()).collect(),
            user,
            workdir: None,
            env: Vec::new(),
            tty: true,
        },
    )
    .await
}

/// `clockwork exec`.
pub async fn run(invocation: &Invocation, args: ExecArgs) -> Result<u8, CliError> {
    check_env(&args.env)?;
    let resolved = project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    let folder = &invocation.project;
    let state = State::load(&folder.files, &folder.identity)?;
    let identity = crate::state::adoption::identity(&folder.identity);
    let engine = Engine::connect(&identity, folder.files.clone()).await?;
    if let Some(note) = engine.adopted_note().await? {
        crate::output::note(&note);
    }
    let (container, id) =
        container_of(&engine, &resolved.graph.project, &state, &args.name).await?;

    let tty = args.tty && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // A terminal's keys go to the command only with a terminal; a pipe's
    // bytes always.
    let stdin = tty || !std::io::stdin().is_terminal();
    let call =
        |e: bollard::errors::Error| CliError::Engine(EngineError::call("exec in", &container, e));
    let exec = engine
        .docker
        // By id: the name may be another container's by now, if this one
        // was made again since it was listed.
        .create_exec(
            &id,
            CreateExecOptions {
                cmd: Some(args.command.clone()),
                env: Some(args.env.clone()),
                user: args.user.clone(),
                working_dir: args.workdir.clone(),
                attach_stdin: Some(stdin),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                tty: Some(tty),
                ..Default::default()
            },
        )
        .await
        .map_err(call)?;
    let _raw = if tty { RawMode::enter() } else { None };
    let started = engine
        .docker
        .start_exec(
            &exec.id,
            Some(StartExecOptions {
                detach: false,
                tty,
                ..Default::default()
            }),
        )
        .await
        .map_err(call)?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(CliError::Exec(format!(
            "the Engine ran the command in `{container}` detached"
        )));
    };
    if tty {
        resize(&engine, &exec.id).await;
        follow_window(&engine, &exec.id);
    }
    if stdin {
        pass_stdin(input);
    } else {
        drop(input);
    }
    pass_output(output).await.map_err(call)?;
    drop(_raw);
    let inspected = engine.docker.inspect_exec(&exec.id).await.map_err(call)?;
    let code = inspected.exit_code.unwrap_or(1);
    if matches!(code, 126 | 127) {
        output::note(&format!(
            "`{}` could not be run in `{container}` (exit {code}): is it installed in the image?",
            args.command.first().map(String::as_str).unwrap_or_default()
        ));
    }
    Ok(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

/// Each `--env` is NAME=VALUE.
fn check_env(env: &[String]) -> Result<(), CliError> {
    for pair in env {
        if !pair.contains('=') || pair.starts_with('=') {
            return Err(CliError::Usage {
                message: format!("`--env {pair}` is not NAME=VALUE"),
                help: "e.g. `--env LOG_LEVEL=debug`".into(),
            });
        }
    }
    Ok(())
}

/// Resizes the exec's terminal with this one's window, from now on.
fn follow_window(engine: &Engine, exec: &str) {
    let docker = engine.docker.clone();
    let id = exec.to_string();
    if let Ok(mut changes) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
    {
        tokio::spawn(async move {
            while changes.recv().await.is_some() {
                if let Some((height, width)) = window() {
                    let _ = docker
                        .resize_exec(&id, ResizeExecOptions { height, width })
                        .await;
                }
            }
        });
    }
}

/// Passes this process's stdin to the command's, until either ends.
fn pass_stdin(mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>) {
    // A plain thread: one blocked on a terminal's read must not hold
    // the runtime's shutdown.
    let (bytes, mut received) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut source = std::io::stdin().lock();
        let mut buffer = [0u8; 8192];
        loop {
            match source.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if bytes.blocking_send(buffer[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(chunk) = received.recv().await {
            if input.write_all(&chunk).await.is_err() {
                return;
            }
            let _ = input.flush().await;
        }
        // End of stdin: the command's stdin ends too.
        let _ = input.shutdown().await;
    });
}

/// Passes what the command prints to stdout and stderr, byte for byte,
/// until it ends or this process's output is closed.
async fn pass_output(
    mut output: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
) -> Result<(), bollard::errors::Error> {
    while let Some(chunk) = output.next().await {
        let written = match chunk? {
            LogOutput::StdErr { message } => {
                let mut err = std::io::stderr().lock();
                err.write_all(&message).and_then(|()| err.flush())
            }
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                let mut out = std::io::stdout().lock();
                out.write_all(&message).and_then(|()| out.flush())
            }
            LogOutput::StdIn { .. } => Ok(()),
        };
        if written.is_err() {
            break;
        }
    }
    Ok(())
}

/// The running container `name` means: the one container of that
/// resource, or that container itself; its name and id.
async fn container_of(
    engine: &Engine,
    project: &Declared,
    state: &State,
    name: &str,
) -> Result<(String, String), CliError> {
    if let Some(d) = project
        .of_kind(PluginKind::Resource)
        .find(|d| d.name.as_str() == name && !d.children.is_empty())
    {
        let children: Vec<String> = d
            .children
            .iter()
            .map(|c| format!("`{}`", project.get(*c).name))
            .collect();
        return Err(CliError::Usage {
            message: format!("`{name}` is a composite: it has no container of its own"),
            help: format!("name one of its children: {}", children.join(", ")),
        });
    }
    // Each of the project's containers: name → (resource, state, id).
    let mut ours: HashMap<String, (String, String, String)> = HashMap::new();
    for c in engine.own_containers().await? {
        let resource = listed_resource(&c).cloned().unwrap_or_default();
        let container = listed_name(&c);
        let running = c.state.as_ref().map(|s| s.to_string()).unwrap_or_default();
        let id = c.id.clone().unwrap_or_else(|| container.clone());
        ours.insert(container, (resource, running, id));
    }
    let mut of_resource: Vec<(&String, &String)> = ours
        .iter()
        .filter(|(_, (resource, _, _))| resource == name)
        .map(|(container, (_, running, _))| (container, running))
        .collect();
    of_resource.sort();
    let candidates: Vec<(&String, &String)> = if of_resource.is_empty() {
        ours.get_key_value(name)
            .map(|(container, (_, running, _))| vec![(container, running)])
            .unwrap_or_default()
    } else {
        of_resource
    };
    let running: Vec<&String> = candidates
        .iter()
        .filter(|(_, s)| s.as_str() == "running")
        .map(|(c, _)| *c)
        .collect();
    match (running.as_slice(), candidates.first()) {
        ([one], _) => {
            let id = ours
                .get(*one)
                .map_or_else(|| (*one).clone(), |(_, _, id)| id.clone());
            Ok(((*one).clone(), id))
        }
        ([], Some((container, stands))) => Err(CliError::NotReady {
            message: format!("`{container}` is not running ({stands})"),
            help: format!("`clockwork start {name}` or `clockwork apply` starts it"),
        }),
        ([], None) => {
            let declared = project
                .of_kind(PluginKind::Resource)
                .any(|d| d.name.as_str() == name)
                || state.resources.contains_key(name);
            if declared {
                Err(CliError::NotReady {
                    message: format!("`{name}` has no container"),
                    help: "`clockwork apply` makes it".into(),
                })
            } else {
                let known: Vec<String> = project
                    .of_kind(PluginKind::Resource)
                    .map(|d| d.name.to_string())
                    .chain(ours.keys().cloned())
                    .collect();
                Err(CliError::Usage {
                    message: format!("no resource or container of the project is named `{name}`"),
                    help: match crate::suggest::nearest(name, known.iter().map(String::as_str)) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => "`clockwork status` lists the project's containers".into(),
                    },
                })
            }
        }
        (many, _) => Err(CliError::Usage {
            message: format!("`{name}` has {} running containers", many.len()),
            help: format!(
                "name one: {}",
                many.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// The terminal's rows and columns.
fn window() -> Option<(u16, u16)> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

/// Gives the exec's terminal the window's size. The Engine refuses until
/// the process has started, so it is asked again a few times, as the
/// Docker CLI does.
async fn resize(engine: &Engine, exec: &str) {
    let Some((height, width)) = window() else {
        return;
    };
    for attempt in 1..=10u64 {
        match engine
            .docker
            .resize_exec(exec, ResizeExecOptions { height, width })
            .await
        {
            Ok(()) => return,
            // The command has ended already.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return,
            Err(e) => {
                output::detail(&format!("resize attempt {attempt}: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
            }
        }
    }
}

/// The terminal in raw mode (keys go to the container as typed, Ctrl-C
/// included) until dropped, when it is put back as it was.
struct RawMode {
    saved: rustix::termios::Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_env_pair_needs_a_name_and_an_equals_sign() {
        assert!(check_env(&["A=1".into(), "B=".into(), "C=x=y".into()]).is_ok());
        for bad in ["A", "=1", ""] {
            let refused = check_env(&["OK=1".into(), bad.into()]);
            assert!(
                matches!(&refused, Err(CliError::Usage { message, .. }) if message.contains(&format!("`--env {bad}`"))),
                "{bad:?}"
            );
        }
    }
}
