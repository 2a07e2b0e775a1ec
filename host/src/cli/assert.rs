//! `clockwork assert`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::assert::{self, Check, Checked, Selection, Tally};
use crate::cli::args::AssertFormat;
use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation, project};
use crate::docker::Engine;
use crate::output;
use crate::plugin::{Deployment, PluginSet};
use crate::state::State;

/// What `clockwork assert` was asked.
pub struct AssertArgs {
    /// Declarations to check; empty for all.
    pub names: Vec<String>,
    /// Checks at once.
    pub parallelism: usize,
    /// The stdout report.
    pub format: AssertFormat,
    /// Reports written to files.
    pub outputs: Vec<(AssertFormat, PathBuf)>,
    /// Run again until everything passes, this long.
    pub retry_timeout: Option<Duration>,
    /// The pause between runs.
    pub sleep: Duration,
    /// Do not mask secrets.
    pub show_secrets: bool,
    /// Also check what the declarations imply.
    pub implied: bool,
}

/// Checks every selected assertion against the running deployment.
pub async fn run_assert(invocation: &Invocation, args: AssertArgs) -> Result<u8, CliError> {
    let started = Instant::now();
    if args.parallelism == 0 {
        return Err(CliError::Usage {
            message: "`--parallelism 0` would run no check".into(),
            help: "give at least 1 (the default is 8)".into(),
        });
    }
    let timings = output::Timings::since(started);
    let lap = |what: &str| timings.lap(what);
    let project::Resolved { graph, plugins, .. } =
        project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    let files = &invocation.project.files;
    let identity = crate::state::adoption::identity(&invocation.project.identity);
    let state = State::load(files, &identity)?;
    let selection = Selection {
        names: args.names.clone(),
        implied: args.implied || invocation.project.config.assert.implied,
    };
    let checks = assert::checks(&graph, &plugins, &state, &selection).await?;
    if args.show_secrets {
        output::show_secrets();
    }
    if checks.is_empty() {
        output::note(
            "no assertions to check: add `assertions=[...]` to a declaration (`clockwork plugins list` shows the types)",
        );
        return Ok(EXIT_OK);
    }
    let engine = match Engine::connect(&identity, files.clone()).await {
        Ok(engine) => Some(engine),
        Err(e) => {
            output::note(&format!(
                "{e}; checks that need the Engine will report that they could not run"
            ));
            None
        }
    };
    let rounds = Rounds {
        checks: &checks,
        plugins: &plugins,
        state: &state,
        engine: engine.as_ref(),
        options: assert::Options {
            parallelism: args.parallelism,
            ..Default::default()
        },
        masker: output::process_masker(),
        streaming: args.format == AssertFormat::Text,
        // Under --retry-timeout no check runs past the whole run's deadline.
        deadline: args.retry_timeout.map(|limit| started + limit),
        sleep: args.sleep,
    };
    let results = rounds.run(&timings).await?;
    lap("checks");
    if let Some(slowest) = results.iter().max_by_key(|r| r.elapsed) {
        timings.note(&format!(
            "slowest check {} ({}) took {} ms",
            slowest.check.name,
            slowest.check.type_name,
            slowest.elapsed.as_millis()
        ));
    }
    let elapsed = started.elapsed();
    let tally = Tally::of(&results);
    match args.format {
        AssertFormat::Text => output::emit(&crate::render::render_tally(&tally, elapsed)),
        format => output::emit(&report(format, &results, elapsed, &rounds.masker)),
    }
    let file_masker = output::file_masker();
    for (format, path) in &args.outputs {
        write_report(path, &report(*format, &results, elapsed, &file_masker))?;
    }
    Ok(if tally.all_ok() { EXIT_OK } else { EXIT_FAILED })
}

/// Running the checks, again under `--retry-timeout` until they pass or
/// its time runs out.
struct Rounds<'a> {
    checks: &'a [Check],
    plugins: &'a PluginSet,
    state: &'a State,
    engine: Option<&'a Engine>,
    options: assert::Options,
    masker: output::Masker,
    /// Whether results are printed as they come (text).
    streaming: bool,
    deadline: Option<Instant>,
    /// The pause between rounds.
    sleep: Duration,
}

impl Rounds<'_> {
    /// The results of the last round run.
    async fn run(&self, timings: &output::Timings) -> Result<Vec<Checked>, CliError> {
        let mut round = 0u32;
        loop {
            round += 1;
            self.observe(round == 1).await?;
            if round == 1 {
                timings.lap("engine observed");
            }
            let left = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            let last_round = left.is_none_or(|left| left <= self.sleep);
            let this_round: Vec<_> = self
                .checks
                .iter()
                .cloned()
                .map(|mut c| {
                    if let Some(left) = left {
                        c.timeout = c.timeout.min(left);
                    }
                    c
                })
                .collect();
            // Under --retry-timeout only the final round is printed line by
            // line; earlier ones are summarised, as goss does.
            let show = self.streaming && last_round;
            let mut print = |r: &Checked| {
                if show {
                    output::emit(&crate::render::render_checked(r, &self.masker));
                }
            };
            let results = assert::run(
                this_round,
                self.plugins,
                self.state,
                self.options,
                &mut print,
            )
            .await;
            let tally = Tally::of(&results);
            let out_of_time = self
                .deadline
                .is_none_or(|d| Instant::now() + self.sleep >= d);
            if tally.all_ok() || last_round || out_of_time {
                if self.streaming && !show {
                    for r in &results {
                        output::emit(&crate::render::render_checked(r, &self.masker));
                    }
                }
                return Ok(results);
            }
            output::note(&format!(
                "round {round}: {} of {} not passing yet; again in {} ms",
                tally.failed + tally.errors,
                results.len(),
                self.sleep.as_millis()
            ));
            tokio::time::sleep(self.sleep).await;
        }
    }

    /// Each round sees the deployment as it is now: a container
    /// recreated while waiting has a new address. The first says what
    /// of others' it sees.
    async fn observe(&self, first: bool) -> Result<(), CliError> {
        let Some(engine) = self.engine else {
            return Ok(());
        };
        let observation = engine.observe().await?;
        if first && let Some(note) = observation.strangers_note() {
            output::note(&note);
        }
        if first && let Some(note) = engine.adopted_note().await? {
            output::note(&note);
        }
        self.plugins.attach(Deployment {
            hosts: observation.hosts(),
            engine: engine.clone(),
        });
        Ok(())
    }
}

fn report(
    format: AssertFormat,
    results: &[Checked],
    elapsed: Duration,
    masker: &output::Masker,
) -> String {
    match format {
        AssertFormat::Text => {
            let mut text: Vec<String> = results
                .iter()
                .map(|r| crate::render::render_checked(r, masker))
                .collect();
            text.push(crate::render::render_tally(&Tally::of(results), elapsed));
            text.join("\n")
        }
        AssertFormat::Documentation => {
            crate::render::render_documentation(results, elapsed, masker)
        }
        AssertFormat::Json => {
            serde_json::to_string_pretty(&crate::render::assert_json(results, elapsed, masker))
                .unwrap_or_default()
        }
        AssertFormat::Junit => crate::render::render_junit(results, elapsed, masker),
        AssertFormat::Tap => crate::render::render_tap(results, masker),
    }
}

/// Writes a report where the user asked, whole or not at all: to a
/// temporary file beside it, then renamed over it.
fn write_report(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        what: format!("the report {}", path.display()),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| CliError::Usage {
            message: format!("`{}` names no file", path.display()),
            help: "give a file name, e.g. `--output junit=report.xml`".into(),
        })?
        .to_string_lossy()
        .into_owned();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        if !text.ends_with('\n') {
            std::io::Write::write_all(&mut file, b"\n")?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(e));
    }
    Ok(())
}
