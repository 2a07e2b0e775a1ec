//! What the user typed, checked by clap and nothing more.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

/// Declare and run local multi-container infrastructure.
#[derive(Debug, Parser)]
#[command(name = "clockwork", version, long_version = concat!(env!("CARGO_PKG_VERSION"), " (plugin contract ", env!("CW_CONTRACT"), ", wasmtime ", env!("CW_WASMTIME_VERSION"), ")"), about, max_term_width = 100)]
pub struct Args {
    /// Run as if clockwork was started in DIR (like `git -C`).
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// Compile plugins without reading or writing the on-disk cache.
    #[arg(long, global = true, env = "CW_NO_PLUGIN_CACHE")]
    pub no_plugin_cache: bool,

    /// Show plugins' log records: -v for info, -vv for debug.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// The model completion asks (an OpenAI-compatible server's model name);
    /// overrides CW_MODEL.
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,

    /// The OpenAI-compatible server completion asks, e.g.
    /// http://127.0.0.1:8080/v1; overrides CW_BASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,

    /// Where the declarations run: `local` (containers of the Engine
    /// DOCKER_HOST names) or `swarm` (services of the swarm whose manager
    /// it names); overrides `[target] engine` in clockwork.toml.
    #[arg(long, global = true, value_name = "ENGINE", env = "CW_TARGET", value_parser = ["local", "swarm"])]
    pub target: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `apply` would do: every resource in deploy order, with its resolved fields.
    Plan {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print passwords and other secrets instead of `***`.
        #[arg(long)]
        show_secrets: bool,
        /// Do not ask the Docker Engine: show what a first apply would do.
        #[arg(long)]
        offline: bool,
        /// Complete nothing that clockwork.lock does not hold (for CI):
        /// a declaration that would need completing is an error.
        #[arg(long)]
        locked: bool,
    },
    /// Bring the declared stack up on the Docker Engine, in dependency order.
    Apply {
        /// Resources worked on at once.
        #[arg(long, default_value_t = 8, env = "CW_PARALLELISM")]
        parallelism: usize,
        /// Print one JSON object per event instead of text.
        #[arg(long)]
        json: bool,
        /// Do not ask before deleting more resources than the apply creates.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Take over the objects of another folder's project by its id (shown
        /// when objects of the same project name exist), e.g. after moving the folder.
        #[arg(long, value_name = "PROJECT_ID")]
        adopt: Vec<String>,
        /// Complete nothing that clockwork.lock does not hold (for CI):
        /// a declaration that would need completing is an error.
        #[arg(long)]
        locked: bool,
    },
    /// Fill the fields the declarations leave out (rules, then the
    /// configured model), record them in clockwork.lock, and show them.
    ///
    /// `plan` and `apply` do the same on the way; this shows every completed
    /// field with its source and asks again where told to.
    Complete {
        /// Ask again for these declarations (every one when none is named),
        /// even where clockwork.lock holds their completion.
        #[arg(long)]
        refresh: bool,
        /// With --refresh: the declarations to complete again.
        names: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Check the configured model instead: as `clockwork doctor`.
        #[arg(long)]
        check: bool,
    },
    /// Check what clockwork needs: the Docker Engine and, when one is
    /// configured, the model (its server, whether it enforces the response
    /// schema, its latency).
    Doctor {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Take the stack down: containers, and the networks and volumes the project created.
    Destroy {
        /// Keep the project's volumes (and their data).
        #[arg(long)]
        keep_volumes: bool,
        /// Keep the files the project wrote.
        #[arg(long)]
        keep_files: bool,
        /// Print one JSON object per event instead of text.
        #[arg(long)]
        json: bool,
        /// Do not ask before destroying.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Also destroy the objects of another folder's project by its id.
        #[arg(long, value_name = "PROJECT_ID")]
        adopt: Vec<String>,
        /// Stop each container only after everything that depends on it has
        /// stopped, one layer at a time (slower: every layer waits for its stops).
        #[arg(long)]
        in_order: bool,
        /// Resources taken down at once.
        #[arg(long, default_value_t = 64)]
        parallelism: usize,
    },
    /// Check the running stack: every assertion the declarations hold and
    /// those their connections add. Changes nothing.
    ///
    /// Exit code 0 when every check passed, 1 when one failed or could not be
    /// checked, 2 when the project or the command line is invalid.
    Assert {
        /// Check only these declarations (resources, connections or
        /// assertions), with their children.
        names: Vec<String>,
        /// Checks run at once.
        #[arg(long, default_value_t = 8)]
        parallelism: usize,
        /// The report on stdout.
        #[arg(long, value_enum, default_value_t = AssertFormat::Text)]
        format: AssertFormat,
        /// Also write a report to a file, as FORMAT=FILE (repeatable), e.g.
        /// `--output junit=report.xml --output json=report.json`.
        #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_report_target)]
        output: Vec<(AssertFormat, std::path::PathBuf)>,
        /// Run everything again until all checks pass or this much time has
        /// passed, e.g. `30s`, `2m` (each check also retries itself within its
        /// own `timeout_seconds`).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        retry_timeout: Option<std::time::Duration>,
        /// The pause between two runs under `--retry-timeout`.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
        sleep: std::time::Duration,
        /// Print passwords and other secrets instead of `***`.
        #[arg(long)]
        show_secrets: bool,
        /// Also check what the declarations imply, without any assertion
        /// written: containers run (healthy, not crashed since apply),
        /// published ports answer, written files are unchanged, connected
        /// services reach each other, database URLs log in. The default with
        /// `[assert] implied = true` in clockwork.toml.
        #[arg(long)]
        implied: bool,
    },
    /// Keep the resources declared with `reconcile = True` as declared:
    /// drift is seen from the Engine's events and by listing, and healed,
    /// alerted or recorded as each resource's `on_drift` says. Runs until
    /// Ctrl-C; writes `.clockwork/watch.log`.
    Watch {
        /// Print one JSON object per event instead of a line.
        #[arg(long)]
        json: bool,
        /// When a file of the project changes, apply the new plan (without
        /// it, the plan is shown and the watch keeps what was applied).
        #[arg(long)]
        apply_changes: bool,
    },
    /// `clockwork watch` in the background: one per project, surviving the
    /// terminal.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// How each resource stands: its containers, their state and uptime,
    /// published ports, and when it was last applied.
    #[command(alias = "ps")]
    Status {
        /// Only these resources (a composite: its children).
        names: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop resources' containers and keep them stopped: `apply` and
    /// `watch` leave them as they are until `clockwork start`.
    Stop {
        /// The resources (a composite: its children); every deployed one
        /// when none is named.
        names: Vec<String>,
    },
    /// Start resources stopped with `clockwork stop` again.
    Start {
        /// The resources (a composite: its children); every deployed one
        /// when none is named.
        names: Vec<String>,
    },
    /// Restart resources' containers (stop, then start), journaled; one
    /// stopped with `clockwork stop` is left to `clockwork start`.
    Restart {
        /// The resources (a composite: its children); every deployed one
        /// when none is named.
        names: Vec<String>,
    },
    /// The logs of the project's containers, interleaved by time, each line
    /// after its resource's name; secrets masked.
    Logs {
        /// The resources (a composite: its children); every deployed one
        /// when none is named.
        names: Vec<String>,
        /// Keep printing what they print, also from containers made again
        /// (by `apply`, `watch` or `restart`), until Ctrl-C.
        #[arg(short, long)]
        follow: bool,
        /// Only lines since then: a duration back from now (`10m`, `1h`) or
        /// a time (`2026-12-01T10:00:00Z`).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only the last N lines of each container (before following).
        #[arg(short = 'n', long, value_name = "N")]
        tail: Option<u32>,
        /// Show each line's time.
        #[arg(short, long)]
        timestamps: bool,
        /// Do not colour the names (the default when stdout is not a
        /// terminal or NO_COLOR is set).
        #[arg(long)]
        no_color: bool,
        /// Print one JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a command in a resource's running container (with a terminal
    /// when this is one); exits with the command's exit code.
    Exec {
        /// The resource, or one of its containers by name.
        name: String,
        /// The program and its arguments (after `--` when they start with `-`).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
        /// Run as this user (`name`, `uid` or `uid:gid`).
        #[arg(short, long)]
        user: Option<String>,
        /// Run in this directory of the container.
        #[arg(short, long, value_name = "DIR")]
        workdir: Option<String>,
        /// Set a variable for the command (repeatable).
        #[arg(short, long, value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// No terminal even when this is one (for piping).
        #[arg(short = 'T', long)]
        no_tty: bool,
    },
    /// Open the container's shell (bash when it has one, else sh).
    Shell {
        /// The resource, or one of its containers by name.
        name: String,
        /// Run as this user (`name`, `uid` or `uid:gid`).
        #[arg(short, long)]
        user: Option<String>,
    },
    /// Translate a Compose file into a `main.star`: what cannot be
    /// translated is listed as comments and on stderr.
    Import {
        /// The Compose file, and the files outside its folder it may read.
        #[command(flatten)]
        file: ComposeFile,
        /// Write here instead of stdout (`-` for stdout); an existing file
        /// is not written over.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a completion script for a shell, e.g.
    /// `clockwork completions bash > ~/.local/share/bash-completion/completions/clockwork`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Option<Shell>,
        /// Print the project's declaration names instead, one per line (what
        /// the scripts ask when completing `logs`, `exec`, `status` …).
        #[arg(long, hide = true, conflicts_with = "shell")]
        names: bool,
    },
    /// Write a commented `main.star` for a folder that has none, and a
    /// `.gitignore` line for `.clockwork/`.
    Init {
        /// What to start from.
        #[arg(value_enum, default_value_t = crate::cli::init::Template::Web)]
        template: crate::cli::init::Template,
    },
    /// Print the dependency graph.
    Graph {
        /// The output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// List, inspect and manage plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
}

/// Shells `clockwork completions` writes for.
/// The Compose file `clockwork import` reads, and the env files outside
/// its folder the user allows it to read. A Compose file is untrusted
/// input: the files it may read beyond its own folder are named here, by
/// the user, one by one.
#[derive(Debug, Clone, clap::Args)]
pub struct ComposeFile {
    /// The Compose file.
    #[arg(value_name = "FILE", default_value = "docker-compose.yml")]
    pub path: PathBuf,
    /// Let an `env_file` of the Compose file read this file outside its
    /// folder (repeatable; the file itself, wherever a path leads to it).
    #[arg(long = "allow-env-file", value_name = "FILE")]
    pub allow_env_file: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// Bash (with the bash-completion package).
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// Report formats of `clockwork assert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AssertFormat {
    /// One line per check, failures with what was expected and seen.
    Text,
    /// Grouped by declaration, every check's message.
    Documentation,
    /// One JSON document with every check's verdict and evidence.
    Json,
    /// JUnit XML, one test suite per declaration.
    Junit,
    /// TAP version 13.
    Tap,
}

/// `junit=report.xml` → (junit, report.xml).
fn parse_report_target(text: &str) -> Result<(AssertFormat, std::path::PathBuf), String> {
    use clap::ValueEnum;
    let Some((format, file)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not FORMAT=FILE, e.g. `junit=report.xml`"
        ));
    };
    let format = AssertFormat::from_str(format, true).map_err(|_| {
        format!("`{format}` is not a report format: text, documentation, json, junit or tap")
    })?;
    if file.is_empty() {
        return Err(format!("`{text}` names no file"));
    }
    Ok((format, std::path::PathBuf::from(file)))
}

/// `500ms`, `30s`, `2m`, `1h`, or a number of seconds: a wait or an
/// interval, so at most a week.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let seconds = duration_seconds(text, false)?;
    if seconds > 7.0 * 86_400.0 {
        return Err(format!("`{text}` is too long: at most a week (`168h`)"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// How long ago, for `--since`: a duration as [`parse_duration`] takes,
/// or in days (`30d`), with no upper bound but the epoch.
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    duration_seconds(text, true).map(std::time::Duration::from_secs_f64)
}

fn duration_seconds(text: &str, days: bool) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration, e.g. `30s`, `2m` or `500ms`"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" if days => value * 86_400.0,
        _ => {
            let units = if days {
                "ms, s, m, h or d"
            } else {
                "ms, s, m or h"
            };
            return Err(format!("`{unit}` in `{text}` is not a unit: use {units}"));
        }
    };
    // Past the epoch's age is no time at all.
    if !seconds.is_finite() || seconds > 1e11 {
        return Err(format!("`{text}` is too long"));
    }
    Ok(seconds)
}

/// Formats of `clockwork graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

/// `clockwork service …`
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Start `clockwork watch` in the background (its pid in
    /// `.clockwork/service.pid`, its output in `.clockwork/service.log`).
    Start,
    /// End it (SIGTERM) and wait until it has.
    Stop,
    /// Whether it runs, and how each watched resource stands: exit 1 when it
    /// does not run.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print what it said.
    Logs,
}

/// `clockwork plugins …`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List every plugin (bundled, the user's, the project's) and any that could not be loaded.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin's types and their fields.
    Inspect {
        /// A plugin name (`docker-resource`) or one of its type names (`DockerResource`).
        name: String,
        /// Print JSON (with each type's JSON Schema) instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Manage the cache of compiled plugins.
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// `clockwork plugins cache …`
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the cache folder.
    Path,
    /// Delete every compiled plugin; they are compiled again when next used.
    Clear,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::time::Duration;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn durations_and_report_targets_parse_or_say_why_not() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(
            parse_duration("5 parsecs")
                .unwrap_err()
                .contains("not a unit")
        );
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert_eq!(
            parse_report_target("junit=out/r.xml"),
            Ok((AssertFormat::Junit, "out/r.xml".into()))
        );
        assert!(
            parse_report_target("xml=r.xml")
                .unwrap_err()
                .contains("not a report format")
        );
        assert!(
            parse_report_target("junit")
                .unwrap_err()
                .contains("FORMAT=FILE")
        );
    }
}
