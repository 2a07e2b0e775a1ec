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
    #[diagnostic(code("clockwork::io"))]
    Io {
        /// What was being read or written.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The plugin runtime could not start; only that.
    #[error("cannot start the plugin runtime: {0}")]
    #[diagnostic(
        code("clockwork::runtime"),
        help("this is a bug; please report it with the output of `clockwork --version`")
    )]
    Runtime(String),
    /// Clockwork itself went wrong (a task of its own failed).
    #[error("{0}")]
    #[diagnostic(
        code("clockwork::internal"),
        help("this is a bug; please report it with the output of `clockwork --version`")
    )]
    Internal(String),
    /// The background service could not start or stop, or keep its log.
    #[error("{0}")]
    #[diagnostic(
        code("clockwork::service"),
        help("its log is .clockwork/service.log; `clockwork service status` says what runs")
    )]
    Service(String),
    /// A command in a container could not be attached to.
    #[error("{0}")]
    #[diagnostic(code("clockwork::exec"))]
    Exec(String),
    /// The model client could not be made.
    #[error("cannot use the model: {0}")]
    #[diagnostic(
        code("clockwork::complete::client"),
        help("{}", crate::complete::HOW_TO_CONFIGURE)
    )]
    ModelClient(String),
    /// A signal could not be listened for.
    #[error("cannot listen for signals: {0}")]
    #[diagnostic(code("clockwork::signal"))]
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
        code("clockwork::engine::unreachable"),
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
    #[diagnostic(code("clockwork::usage"))]
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
    #[diagnostic(code("clockwork::not_ready"))]
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
        code("clockwork::confirm"),
        help("run it on a terminal to be asked, or add `--yes` to go ahead")
    )]
    NeedsYes {
        /// The question.
        what: String,
    },
    /// The user said no.
    #[error("not confirmed: nothing was changed")]
    #[diagnostic(code("clockwork::declined"))]
    Declined,
    /// Completion could not fill the project's fields.
    #[error(transparent)]
    #[diagnostic(code("clockwork::complete"), help("{}", completion_help(.0)))]
    Completion(Box<crate::complete::CompleteError>),
    /// The model settings cannot be used.
    #[error("{0}")]
    #[diagnostic(
        code("clockwork::complete::settings"),
        help("{}", crate::complete::HOW_TO_CONFIGURE)
    )]
    ModelSettings(crate::complete::SettingsError),
    /// No plugin has the name the user asked for.
    #[error("no plugin or type named `{name}`")]
    #[diagnostic(code("clockwork::plugins::unknown"))]
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
            E::Planning(e) => CliError::from(*e),
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

#[cfg(test)]
mod tests {
    use miette::Diagnostic;

    use super::*;
    use crate::complete::CompleteError;
    use crate::model::Location;

    fn usage() -> CliError {
        CliError::Usage {
            message: "names are given only with --refresh".into(),
            help: "`clockwork complete --refresh NAME…`".into(),
        }
    }

    fn located(message: &str) -> Located {
        Located {
            message: message.into(),
            location: Location {
                file: "main.star".into(),
                line: 3,
                column: 1,
                offset: 0,
                len: 0,
            },
            help: None,
            source: None,
            called_from: Vec::new(),
        }
    }

    #[test]
    fn what_the_user_must_fix_exits_2_and_what_failed_exits_1() {
        let invalid = [
            usage(),
            CliError::Invalid(vec![located("a problem")]),
            CliError::NeedsYes {
                what: "Delete 2 resources?".into(),
            },
            CliError::UnknownPlugin {
                name: "dockr".into(),
                suggestion: None,
            },
            CliError::Load(LoadError::NoProjectFile { dir: "/p".into() }),
            CliError::BrokenPlugins(Vec::new()),
        ];
        for e in &invalid {
            assert_eq!(e.exit_code(), EXIT_INVALID, "{e}");
        }
        let failed = [
            CliError::Declined,
            CliError::Internal("a task panicked".into()),
            CliError::Service("cannot start".into()),
            CliError::NoEngine {
                endpoint: "unix:///var/run/docker.sock".into(),
                message: "refused".into(),
            },
            CliError::NotReady {
                message: "`db` is not running".into(),
                help: "`clockwork apply`".into(),
            },
            CliError::Runtime("no engine".into()),
        ];
        for e in &failed {
            assert_eq!(e.exit_code(), EXIT_FAILED, "{e}");
        }
        assert_ne!(EXIT_INVALID, EXIT_FAILED);
    }

    #[test]
    fn a_plugin_refusing_a_declaration_is_the_projects_problem_other_plan_failures_are_not() {
        let refused = CliError::Plan(crate::plan::PlanError::Refused {
            decl: None,
            resource: "db".into(),
            type_name: "Box".into(),
            message: "no image".into(),
        });
        assert_eq!(refused.exit_code(), EXIT_INVALID);
        let unknown = CliError::Plan(crate::plan::PlanError::UnknownType {
            resource: "db".into(),
            type_name: "Gone".into(),
        });
        assert_eq!(unknown.exit_code(), EXIT_FAILED);
    }

    #[test]
    fn a_lock_that_does_not_cover_the_project_is_the_users_to_fix() {
        let not_locked = CliError::Completion(Box::new(CompleteError::NotLocked(vec![
            "`db` (Box)".into(),
        ])));
        assert_eq!(not_locked.exit_code(), EXIT_INVALID);
        let help = not_locked.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("without --locked"), "{help}");

        let bad_answer = CliError::Completion(Box::new(CompleteError::BadAnswer {
            declaration: "db".into(),
            type_name: "Box".into(),
            field: "image".into(),
            problem: "not a string".into(),
            answered: "3".into(),
        }));
        assert_eq!(bad_answer.exit_code(), EXIT_FAILED);
        let help = bad_answer.help().map(|h| h.to_string()).unwrap_or_default();
        assert_eq!(
            help,
            "write `image` in the project file, or try another model (CW_MODEL)"
        );
    }

    #[test]
    fn a_value_refused_from_the_lock_says_how_to_remove_it() {
        let refusal = |origin| {
            CliError::Completion(Box::new(CompleteError::Refused(Box::new(
                crate::complete::Refusal {
                    declaration: "web".into(),
                    type_name: "Box".into(),
                    location: located("").location,
                    field: "ports".into(),
                    origin,
                    problem: "publishes a host port".into(),
                },
            ))))
        };
        let from_lock = refusal(crate::complete::trust::Origin::Lock);
        assert_eq!(from_lock.exit_code(), EXIT_INVALID);
        let help = from_lock.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(
            help.contains("remove `ports` from the entry of `web`")
                && help.contains("clockwork complete --refresh web"),
            "{help}"
        );
        let from_rules = refusal(crate::complete::trust::Origin::Rules("p".into()));
        let help = from_rules.help().map(|h| h.to_string()).unwrap_or_default();
        assert_eq!(
            help,
            "only what you write grants a host port, a bind mount or a secret of another declaration; write `ports` in the project file yourself"
        );
    }

    #[test]
    fn located_load_problems_become_the_projects_problems_and_others_stay_load_errors() {
        let problems = CliError::from(LoadError::Located(vec![located("a"), located("b")]));
        assert!(matches!(&problems, CliError::Invalid(p) if p.len() == 2));
        assert_eq!(problems.to_string(), "2 problem(s) in the project");
        let missing = CliError::from(LoadError::NoProjectFile { dir: "/p".into() });
        assert!(matches!(missing, CliError::Load(_)));
        assert_eq!(
            missing.to_string(),
            "no project file in `/p`: expected `main.star` (or `main.py`)"
        );
    }

    #[test]
    fn an_engine_that_does_not_answer_says_where_it_was_looked_for_and_how_to_start_it() {
        let e = CliError::from(crate::docker::EngineError::Unreachable {
            endpoint: "unix:///var/run/docker.sock".into(),
            message: "connection refused".into(),
        });
        assert!(matches!(e, CliError::NoEngine { .. }));
        assert_eq!(
            e.to_string(),
            "no Docker Engine answers at unix:///var/run/docker.sock: connection refused"
        );
        let help = e.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("plan --offline"), "{help}");
        assert_eq!(e.exit_code(), EXIT_FAILED);
    }

    #[test]
    fn a_usage_error_carries_its_fix_as_help() {
        let e = usage();
        assert_eq!(e.to_string(), "names are given only with --refresh");
        assert_eq!(
            e.help().map(|h| h.to_string()).as_deref(),
            Some("`clockwork complete --refresh NAME…`")
        );
        assert_eq!(
            e.code().map(|c| c.to_string()).as_deref(),
            Some("clockwork::usage")
        );
    }
}
