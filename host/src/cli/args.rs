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

/// Formats of `clockwork graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
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

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }
}
