//! Errors that end a command, with their exit codes.

use crate::cli::{EXIT_FAILED, EXIT_INVALID};
use crate::load::{LoadError, LoadReport, Located};
use crate::output;
use crate::plugin::{CallError, PluginProblem};
use crate::project::ProjectError;

/// Why a command ended without doing its job.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    /// The project could not be opened.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Project(#[from] ProjectError),
    /// An I/O operation of the command failed.
    #[error("cannot read {what}: {source}")]
    #[diagnostic(code(clockwork::io))]
    Io {
        /// What was being read or written.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The plugin runtime could not start; only that.
    #[error("cannot start the plugin runtime: {0}")]
    #[diagnostic(
        code(clockwork::runtime),
        help("this is a bug; please report it with the output of `clockwork --version`")
    )]
    Runtime(String),
    /// Clockwork itself went wrong (a task of its own failed).
    #[error("{0}")]
    #[diagnostic(
        code(clockwork::internal),
        help("this is a bug; please report it with the output of `clockwork --version`")
    )]
    Internal(String),
    /// The background service could not start or stop, or keep its log.
    #[error("{0}")]
    #[diagnostic(
        code(clockwork::service),
        help("its log is .clockwork/service.log; `clockwork service status` says what runs")
    )]
    Service(String),
    /// A command in a container could not be attached to.
    #[error("{0}")]
    #[diagnostic(code(clockwork::exec))]
    Exec(String),
    /// The model client could not be made.
    #[error("cannot use the model: {0}")]
    #[diagnostic(
        code(clockwork::complete::client),
        help("{}", crate::complete::HOW_TO_CONFIGURE)
    )]
    ModelClient(String),
    /// A signal could not be listened for.
    #[error("cannot listen for signals: {0}")]
    #[diagnostic(code(clockwork::signal))]
    Signal(String),
    /// The project file has problems (each located).
    #[error("{} problem(s) in the project", .0.len())]
    Invalid(Vec<Located>),
    /// The project could not be loaded for another reason.
    #[error(transparent)]
    Load(LoadError),
    /// Plugin files of the project or the user could not be used.
    #[error("{} plugin file(s) could not be used:\n{}", .0.len(), .0.iter().map(|p| format!("  {} ({}): {}", p.file, p.source, p.reason)).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(help(
        "`clockwork plugins list` shows every plugin and what is wrong with the others"
    ))]
    BrokenPlugins(Vec<PluginProblem>),
    /// A plugin failed while working on the project.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plugin(CallError),
    /// The Docker Engine refused or failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(crate::docker::EngineError),
    /// A TLS certificate could not be made (the driver's error says
    /// where its files live).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Certificate(crate::driver::DriverError),
    /// No Docker Engine answers.
    #[error("no Docker Engine answers at {endpoint}: {message}")]
    #[diagnostic(
        code(clockwork::engine::unreachable),
        help(
            "start it (`sudo systemctl start docker`, or `sudo dockerd &`), or point DOCKER_HOST at one; `clockwork plan --offline` works without it"
        )
    )]
    NoEngine {
        /// `DOCKER_HOST` or the local socket.
        endpoint: String,
        /// The cause.
        message: String,
    },
    /// The state could not be used (another apply runs, unreadable file).
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] crate::state::StateError),
    /// Changes could not be planned.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// The assertions to check could not be listed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Assert(Box<crate::assert::AssertError>),
    /// The command line asks for something impossible.
    #[error("{message}")]
    #[diagnostic(code(clockwork::usage))]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        #[help]
        help: String,
    },
    /// The stack is not in a state the command can work on (a container
    /// not running, not made yet).
    #[error("{message}")]
    #[diagnostic(code(clockwork::not_ready))]
    NotReady {
        /// What stands in the way.
        message: String,
        /// What to do about it.
        #[help]
        help: String,
    },
    /// A destructive step needs a confirmation that cannot be asked for.
    #[error("{what} Not asked, since this is not a terminal: nothing was changed")]
    #[diagnostic(
        code(clockwork::confirm),
        help("run it on a terminal to be asked, or add `--yes` to go ahead")
    )]
    NeedsYes {
        /// The question.
        what: String,
    },
    /// The user said no.
    #[error("not confirmed: nothing was changed")]
    #[diagnostic(code(clockwork::declined))]
    Declined,
    /// Completion could not fill the project's fields.
    #[error(transparent)]
    #[diagnostic(code(clockwork::complete), help("{}", completion_help(.0)))]
    Completion(Box<crate::complete::CompleteError>),
    /// The model settings cannot be used.
    #[error("{0}")]
    #[diagnostic(
        code(clockwork::complete::settings),
        help("{}", crate::complete::HOW_TO_CONFIGURE)
    )]
    ModelSettings(crate::complete::SettingsError),
    /// No plugin has the name the user asked for.
    #[error("no plugin or type named `{name}`")]
    #[diagnostic(code(clockwork::plugins::unknown))]
    UnknownPlugin {
        /// What the user asked for.
        name: String,
        /// The nearest name, as a hint.
        #[help]
        suggestion: Option<String>,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Project(_)
            | CliError::UnknownPlugin { .. }
            | CliError::Invalid(_)
            | CliError::Load(_)
            | CliError::BrokenPlugins(_)
            | CliError::Usage { .. }
            | CliError::NeedsYes { .. }
            | CliError::ModelSettings(_) => EXIT_INVALID,
            CliError::Completion(e) => match **e {
                crate::complete::CompleteError::NotLocked(_)
                | crate::complete::CompleteError::Lock(_)
                | crate::complete::CompleteError::Refused(_) => EXIT_INVALID,
                _ => EXIT_FAILED,
            },
            CliError::Assert(e) if matches!(**e, crate::assert::AssertError::Plugin(_)) => {
                EXIT_FAILED
            }
            CliError::Assert(_) => EXIT_INVALID,
            CliError::Declined => EXIT_FAILED,
            CliError::Plan(crate::plan::PlanError::Refused { .. }) => EXIT_INVALID,
            CliError::Io { .. }
            | CliError::Runtime(_)
            | CliError::Internal(_)
            | CliError::Service(_)
            | CliError::Exec(_)
            | CliError::Signal(_)
            | CliError::ModelClient(_)
            | CliError::Certificate(_)
            | CliError::Plugin(_)
            | CliError::Engine(_)
            | CliError::NoEngine { .. }
            | CliError::NotReady { .. }
            | CliError::State(_)
            | CliError::Plan(_) => EXIT_FAILED,
        }
    }
}

fn completion_help(e: &crate::complete::CompleteError) -> String {
    use crate::complete::CompleteError as E;
    match e {
        E::NotLocked(_) => "without --locked, `clockwork plan` completes them and writes clockwork.lock; review and commit it".into(),
        E::Lock(_) => "clockwork.lock is written by clockwork; `git checkout clockwork.lock` or delete it to complete again".into(),
        E::Model { .. } => "check the server with `clockwork doctor`; CW_MODEL_TIMEOUT and CW_MODEL_RETRIES bound the wait".into(),
        E::BadAnswer { field, .. } => format!("write `{field}` in the project file, or try another model (CW_MODEL)"),
        E::Plugin(_) => "this is a problem in the plugin, not in your project; report it to its author".into(),
        E::Refused(r) if r.origin == crate::complete::trust::Origin::Lock => format!(
            "clockwork.lock is input like any file from a repository: remove `{field}` from the entry of `{declaration}` (or run `clockwork complete --refresh {declaration}`), or write `{field}` in the project file yourself",
            field = r.field,
            declaration = r.declaration
        ),
        E::Refused(r) => format!(
            "only what you write grants a host port, a bind mount or a secret of another declaration; write `{}` in the project file yourself",
            r.field
        ),
    }
}

impl From<crate::assert::AssertError> for CliError {
    fn from(e: crate::assert::AssertError) -> Self {
        CliError::Assert(Box::new(e))
    }
}

impl From<crate::docker::EngineError> for CliError {
    fn from(e: crate::docker::EngineError) -> Self {
        match e {
            crate::docker::EngineError::Unreachable { endpoint, message } => {
                CliError::NoEngine { endpoint, message }
            }
            other => CliError::Engine(other),
        }
    }
}

impl From<crate::pipeline::PipelineError> for CliError {
    fn from(e: crate::pipeline::PipelineError) -> Self {
        use crate::pipeline::PipelineError as E;
        match e {
            E::BrokenPlugins(problems) => CliError::BrokenPlugins(problems),
            E::Config(e) => CliError::Project(e),
            E::Invalid(problems) => CliError::Invalid(problems),
            E::Load(e) => CliError::Load(e),
            E::Completion(e) => CliError::Completion(e),
            E::Plugin(call) => CliError::Plugin(call),
            E::Internal(message) => CliError::Internal(message),
        }
    }
}

impl From<LoadError> for CliError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Located(problems) => CliError::Invalid(problems),
            other => CliError::Load(other),
        }
    }
}

impl CliError {
    /// Prints the error: located problems each with their snippet, then a
    /// count when there are several.
    pub fn render(self) {
        match self {
            CliError::Invalid(problems) => {
                let n = problems.len();
                let error = LoadError::Located(problems);
                LoadReport(&error).each(output::diagnostic);
                if n > 1 {
                    output::note(&format!("{n} problems in the project"));
                }
            }
            CliError::Load(error) => LoadReport(&error).each(output::diagnostic),
            other => output::error(&miette::Report::new(other)),
        }
    }
}
