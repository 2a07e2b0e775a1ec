//! The command line: parse, run one subcommand, map the outcome to an exit
//! code (0 success, 1 the operation failed, 2 the project or the command
//! line is invalid).

mod apply;
mod args;
mod assert;
mod complete;
mod completions;
mod error;
mod exec;
mod import;
pub(crate) mod init;
mod lifecycle;
mod logs;
mod plan;
mod plugins;
mod project;
mod service;
mod status;
mod watch;

pub use args::{Args, Command};
pub use error::CliError;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::output;
use crate::plugin::{ComponentCache, PluginRuntime, RuntimeOptions};
use crate::project::Project;

pub use crate::model::exit::{EXIT_FAILED, EXIT_INVALID, EXIT_OK};

/// Parses the process arguments, runs, and returns the exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&miette::Report::msg(format!(
                "cannot start the async runtime: {e}"
            )));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.exit_code();
            e.render();
            ExitCode::from(code)
        }
    }
}

/// Runs one invocation.
pub async fn run(args: Args) -> Result<u8, CliError> {
    let invocation = Invocation::new(&args)?;
    not_on_swarm_yet(&invocation, &args.command)?;
    match args.command {
        Command::Plugins(command) => plugins::run(&invocation, command).await,
        Command::Plan {
            json,
            show_secrets,
            offline,
            locked,
        } => plan::run_plan(&invocation, json, show_secrets, offline, locked).await,
        Command::Complete {
            refresh,
            names,
            json,
            check,
        } => run_complete(invocation, refresh, names, json, check).await,
        Command::Doctor { json } => complete::run_doctor(&invocation, json).await,
        Command::Watch {
            json,
            apply_changes,
        } => watch::run_watch(&invocation, json, apply_changes).await,
        Command::Service(command) => run_service(&invocation, command).await,
        Command::Status { names, json } => status::run(&invocation, &names, json).await,
        command @ (Command::Logs { .. } | Command::Exec { .. }) => {
            run_in_containers(&invocation, command).await
        }
        Command::Shell { name, user } => exec::run_shell(&invocation, name, user).await,
        Command::Import { file, output } => import::run(&invocation, &file, output.as_deref()),
        Command::Completions { shell, names } => completions::run(&invocation, shell, names).await,
        Command::Stop { names } => {
            lifecycle::run(&invocation, lifecycle::Intent::Stop, &names).await
        }
        Command::Start { names } => {
            lifecycle::run(&invocation, lifecycle::Intent::Start, &names).await
        }
        Command::Restart { names } => {
            lifecycle::run(&invocation, lifecycle::Intent::Restart, &names).await
        }
        Command::Init { template } => init::run(&invocation, template),
        Command::Graph { format } => plan::run_graph(&invocation, format).await,
        command @ (Command::Assert { .. } | Command::Apply { .. } | Command::Destroy { .. }) => {
            run_deploy(&invocation, command).await
        }
    }
}

/// The commands that do not know a swarm yet refuse one, rather than
/// look at containers where services run: `plan`, `apply`, `status`,
/// `logs`, `exec`, `shell` and `destroy` (and what needs no Engine) do.
fn not_on_swarm_yet(invocation: &Invocation, command: &Command) -> Result<(), CliError> {
    if invocation.project.identity.target != crate::project::EngineTarget::Swarm {
        return Ok(());
    }
    let name = match command {
        Command::Watch { .. } => "watch",
        Command::Service(_) => "service",
        Command::Stop { .. } => "stop",
        Command::Start { .. } => "start",
        Command::Restart { .. } => "restart",
        Command::Assert { .. } => "assert",
        _ => return Ok(()),
    };
    Err(CliError::Usage {
        message: format!("`clockwork {name}` does not work on a swarm yet"),
        help: "on a swarm, `plan`, `apply`, `status`, `logs`, `exec` (in a task on the manager) and `destroy` work".into(),
    })
}

/// `clockwork complete`: `--check` is the doctor; names go only with
/// `--refresh`.
async fn run_complete(
    mut invocation: Invocation,
    refresh: bool,
    names: Vec<String>,
    json: bool,
    check: bool,
) -> Result<u8, CliError> {
    if check {
        return complete::run_doctor(&invocation, json).await;
    }
    if refresh {
        invocation.refresh = Some(names.into_iter().collect());
    } else if !names.is_empty() {
        return Err(CliError::Usage {
            message: "names are given to `complete` only with --refresh".into(),
            help: "`clockwork complete --refresh NAME…` asks again for those declarations".into(),
        });
    }
    complete::run_complete(&invocation, json).await
}

/// `clockwork service …`.
async fn run_service(
    invocation: &Invocation,
    command: args::ServiceCommand,
) -> Result<u8, CliError> {
    use args::ServiceCommand as S;
    let (action, json) = match command {
        S::Start => (service::Action::Start, false),
        S::Stop => (service::Action::Stop, false),
        S::Status { json } => (service::Action::Status, json),
        S::Logs => (service::Action::Logs, false),
    };
    service::run(invocation, action, json).await
}

/// `clockwork logs` and `clockwork exec`: reading from and running in the
/// project's containers.
async fn run_in_containers(invocation: &Invocation, command: Command) -> Result<u8, CliError> {
    match command {
        Command::Logs {
            names,
            follow,
            since,
            tail,
            timestamps,
            no_color,
            json,
        } => {
            logs::run(
                invocation,
                logs::LogsArgs {
                    names,
                    follow,
                    since,
                    tail,
                    timestamps,
                    color: !no_color,
                    json,
                },
            )
            .await
        }
        Command::Exec {
            name,
            command,
            user,
            workdir,
            env,
            no_tty,
        } => {
            exec::run(
                invocation,
                exec::ExecArgs {
                    name,
                    command,
                    user,
                    workdir,
                    env,
                    tty: !no_tty,
                },
            )
            .await
        }
        _ => unreachable!("`run` sends only `logs` and `exec` here"),
    }
}

/// `clockwork assert`, `apply` and `destroy`: checking, bringing up and
/// taking down the deployed project.
async fn run_deploy(invocation: &Invocation, command: Command) -> Result<u8, CliError> {
    match command {
        Command::Assert {
            names,
            parallelism,
            format,
            output,
            retry_timeout,
            sleep,
            show_secrets,
            implied,
        } => {
            assert::run_assert(
                invocation,
                assert::AssertArgs {
                    names,
                    parallelism,
                    format,
                    outputs: output,
                    retry_timeout,
                    sleep,
                    show_secrets,
                    implied,
                },
            )
            .await
        }
        Command::Apply {
            parallelism,
            json,
            yes,
            adopt,
            locked,
        } => {
            apply::run_apply(
                invocation,
                apply::ApplyArgs {
                    parallelism,
                    json,
                    yes,
                    adopt,
                    locked,
                },
            )
            .await
        }
        Command::Destroy {
            keep_volumes,
            keep_files,
            json,
            yes,
            adopt,
            in_order,
            parallelism,
        } => {
            apply::run_destroy(
                invocation,
                apply::DestroyArgs {
                    keep_volumes,
                    keep_files,
                    json,
                    yes,
                    adopt,
                    in_order,
                    parallelism,
                },
            )
            .await
        }
        _ => unreachable!("`run` sends only `assert`, `apply` and `destroy` here"),
    }
}

/// The validated global options every command needs.
pub struct Invocation {
    /// The project folder (`-C`, else the current directory).
    pub project: Project,
    /// The cache root, unless `--no-plugin-cache`.
    pub cache_root: Option<PathBuf>,
    /// `-v` count.
    pub verbosity: u8,
    /// `--model`, `--base-url`.
    pub model_flags: crate::complete::ModelFlags,
    /// `complete --refresh [NAME…]`: `Some(empty)` refreshes every declaration.
    pub refresh: Option<std::collections::BTreeSet<String>>,
}

impl Invocation {
    fn new(args: &Args) -> Result<Self, CliError> {
        let dir = match &args.directory {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().map_err(|e| CliError::Io {
                what: "the current directory".into(),
                source: e,
            })?,
        };
        output::set_verbosity(args.verbose);
        let mut project = Project::open(&dir)?;
        match args.target.as_deref() {
            Some("swarm") => project.identity.target = crate::project::EngineTarget::Swarm,
            Some("local") => project.identity.target = crate::project::EngineTarget::Local,
            _ => {}
        }
        let cache_root = if args.no_plugin_cache {
            None
        } else {
            ComponentCache::default_root()
        };
        Ok(Invocation {
            project,
            cache_root,
            verbosity: args.verbose,
            model_flags: crate::complete::ModelFlags {
                model: args.model.clone(),
                base_url: args.base_url.clone(),
            },
            refresh: None,
        })
    }

    /// A client of the configured model, or `None` when none is.
    pub fn chat_client(&self) -> Result<Option<crate::complete::chat::ChatClient>, CliError> {
        let dotenv =
            crate::load::dotenv(&self.project.files).map_err(|e| CliError::Invalid(vec![*e]))?;
        let Some(settings) = crate::complete::model_settings(&self.model_flags, &dotenv)
            .map_err(CliError::ModelSettings)?
        else {
            return Ok(None);
        };
        crate::complete::chat::ChatClient::new(settings)
            .map(Some)
            .map_err(|e| CliError::ModelClient(e.to_string()))
    }

    /// The plugin runtime for this invocation.
    pub fn plugin_runtime(&self) -> Result<PluginRuntime, CliError> {
        let verbosity = self.verbosity;
        PluginRuntime::new(RuntimeOptions {
            cache_root: self.cache_root.clone(),
            project_dir: Some(self.project.dir.clone()),
            limits: None,
            log_sink: Some(Arc::new(move |plugin, record| {
                crate::render::plugin_log(verbosity, plugin, record)
            })),
            defer_compile: true,
        })
        .map_err(|e| CliError::Runtime(format!("{e:#}")))
    }
}
