//! `clockwork apply` and `clockwork destroy`: parse, call [`crate::apply`],
//! render.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use crate::apply::{self, Caller, Confirmation, Hooks, Keep, Options, RunError, Target};
use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation, project};
use crate::docker::Engine;
use crate::output;
use crate::plan::Plan;
use crate::project::ProjectId;

/// `clockwork apply` options.
pub struct ApplyArgs {
    /// Resources worked on at once.
    pub parallelism: usize,
    /// JSON events instead of text.
    pub json: bool,
    /// Delete without asking.
    pub yes: bool,
    /// Project ids to take over.
    pub adopt: Vec<String>,
    /// Complete only from clockwork.lock.
    pub locked: bool,
}

/// `clockwork destroy` options.
pub struct DestroyArgs {
    /// Keep volumes.
    pub keep_volumes: bool,
    /// Keep written files.
    pub keep_files: bool,
    /// JSON events instead of text.
    pub json: bool,
    /// Destroy without asking.
    pub yes: bool,
    /// Project ids to take over.
    pub adopt: Vec<String>,
    /// Dependents stop before what they depend on.
    pub in_order: bool,
    /// Resources taken down at once.
    pub parallelism: usize,
}

/// The ids named with `--adopt`, checked.
fn adopt_ids(adopt: &[String]) -> Result<Vec<ProjectId>, CliError> {
    adopt
        .iter()
        .map(|text| {
            ProjectId::parse(text).ok_or_else(|| CliError::Usage {
                message: format!("`--adopt {text}`: a project id is 12 hex digits"),
                help: "the id is shown in the note about objects of another folder, and in their `dev.clockwork.project-id` label".into(),
            })
        })
        .collect()
}

/// The terminal side of a run: notes on stderr, the plan on stdout, and a
/// question on the terminal (or `--yes`).
pub(super) struct Terminal {
    pub(super) json: bool,
    pub(super) yes: bool,
}

impl Hooks for Terminal {
    fn note(&self, text: &str) {
        output::note(text);
    }

    fn planned(&self, plan: &Plan) {
        if !self.json {
            output::emit(&crate::render::render_changes(plan));
        }
    }

    fn waits_for_an_answer(&self) -> bool {
        !self.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn confirm(&self, question: &str) -> Confirmation {
        if self.yes {
            return Confirmation::Yes;
        }
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Confirmation::CannotAsk;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        drop(err);
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            Confirmation::Yes
        } else {
            Confirmation::No
        }
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Invalid(problems) => CliError::Invalid(problems),
            RunError::Plan(e) => CliError::Plan(e),
            RunError::Engine(e) => e.into(),
            RunError::State(e) => CliError::State(e),
            RunError::Certificate(e) => CliError::Certificate(e),
            RunError::Declined => CliError::Declined,
            RunError::NeedsConfirmation { question } => CliError::NeedsYes { what: question },
        }
    }
}

/// Options of a run; the first Ctrl-C stops it starting anything new (what
/// is in progress finishes and is recorded), a second one ends the process.
pub(super) fn options(
    parallelism: usize,
    json: bool,
    limits: crate::project::ContainerLimits,
) -> Options {
    let cancel = crate::apply::Cancel::default();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
            output::note(
                "stopping: what is in progress finishes and is recorded, nothing new starts (Ctrl-C again to stop at once)",
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    Options {
        parallelism,
        grace: limits.stop_grace,
        ready_timeout: limits.ready,
        progress: crate::render::progress(json),
        cancel,
        removal_order: apply::RemovalOrder::DependentsFirst,
    }
}

/// `clockwork apply`.
pub async fn run_apply(invocation: &Invocation, args: ApplyArgs) -> Result<u8, CliError> {
    let started = Instant::now();
    let adopt = adopt_ids(&args.adopt)?;
    let mode = if args.locked {
        crate::complete::Mode::Locked
    } else {
        crate::complete::Mode::Complete
    };
    let resolved = project::resolved(invocation, mode).await?;
    let (graph, sources, plugins) = (&resolved.graph, &resolved.sources, &resolved.plugins);
    let folder = &invocation.project;
    let engine = Engine::connect(&folder.identity, folder.files.clone()).await?;
    let hooks = Terminal {
        json: args.json,
        yes: args.yes,
    };
    let target = Target {
        project: folder,
        plugins,
        engine,
        adopt: &adopt,
        options: options(
            args.parallelism,
            args.json,
            folder.config.limits.containers(),
        ),
        hooks: &hooks,
        only: None,
        caller: Caller::User,
    };
    let report = match apply::run(target, graph, sources).await {
        Ok(report) => report,
        Err(e) => {
            return Err(project::explain_unfilled(
                e.into(),
                &resolved.graph.project,
                &resolved.completion,
            ));
        }
    };
    if !args.json {
        output::emit(&crate::render::render_report(
            &report,
            "Apply",
            started.elapsed().as_secs_f64(),
        ));
    }
    Ok(if report.failed() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// `clockwork destroy`.
pub async fn run_destroy(invocation: &Invocation, args: DestroyArgs) -> Result<u8, CliError> {
    let started = Instant::now();
    let adopt = adopt_ids(&args.adopt)?;
    let folder = &invocation.project;
    let plugins = project::plugins(invocation).await?;
    // The project's secrets, so that nothing printed quotes them; a broken
    // project can still be destroyed.
    let _ = project::resolved(invocation, crate::complete::Mode::ReadOnly).await;
    let engine = Engine::connect(&folder.identity, folder.files.clone()).await?;
    let hooks = Terminal {
        json: args.json,
        yes: args.yes,
    };
    let target = Target {
        project: folder,
        plugins: &plugins,
        engine,
        adopt: &adopt,
        options: Options {
            removal_order: if args.in_order {
                apply::RemovalOrder::DependentsFirst
            } else {
                apply::RemovalOrder::AllAtOnce
            },
            ..options(
                args.parallelism.max(1),
                args.json,
                folder.config.limits.containers(),
            )
        },
        hooks: &hooks,
        only: None,
        caller: Caller::User,
    };
    let keep = Keep {
        volumes: args.keep_volumes,
        files: args.keep_files,
    };
    let report = apply::destroy(target, keep).await?;
    for l in &report.leftovers {
        output::note(l);
    }
    if !args.json {
        let seconds = started.elapsed().as_secs_f64();
        output::emit(
            &if report.results.is_empty() && report.leftovers.is_empty() {
                format!("Nothing to destroy: nothing of this project is deployed ({seconds:.2} s)")
            } else {
                crate::render::render_report(&report, "Destroy", seconds)
            },
        );
    }
    Ok(if report.failed() {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopt_takes_project_ids_of_twelve_hex_digits_and_names_the_one_that_is_not() {
        let ids = adopt_ids(&["0123456789ab".into(), "ba9876543210".into()]).expect("ids");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].as_str(), "0123456789ab");
        for bad in ["0123456789", "0123456789abc", "0123456789ag", "shop"] {
            let Err(CliError::Usage { message, .. }) =
                adopt_ids(&["0123456789ab".into(), bad.into()])
            else {
                panic!("`{bad}` refused");
            };
            assert_eq!(
                message,
                format!("`--adopt {bad}`: a project id is 12 hex digits")
            );
        }
        assert!(adopt_ids(&[]).expect("none").is_empty());
    }

    #[test]
    fn a_question_nobody_could_answer_exits_2_and_says_nothing_was_changed() {
        let e = CliError::from(RunError::NeedsConfirmation {
            question: "Delete 2 resources?".into(),
        });
        assert_eq!(e.exit_code(), crate::cli::EXIT_INVALID);
        assert_eq!(
            e.to_string(),
            "Delete 2 resources? Not asked, since this is not a terminal: nothing was changed"
        );
        let declined = CliError::from(RunError::Declined);
        assert_eq!(declined.exit_code(), EXIT_FAILED);
        assert_eq!(declined.to_string(), "not confirmed: nothing was changed");
    }

    #[test]
    fn a_plan_with_problems_is_the_projects_problems() {
        let e = CliError::from(RunError::Invalid(Vec::new()));
        assert!(matches!(e, CliError::Invalid(_)));
        assert_eq!(e.exit_code(), crate::cli::EXIT_INVALID);
    }

    #[test]
    fn yes_answers_every_question_without_a_terminal() {
        let terminal = Terminal {
            json: true,
            yes: true,
        };
        assert_eq!(terminal.confirm("Delete 2 resources?"), Confirmation::Yes);
    }
}
