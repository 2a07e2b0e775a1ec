//! `clockwork plugins list | inspect | cache`.

use crate::cli::args::{CacheCommand, PluginsCommand};
use crate::cli::{CliError, EXIT_INVALID, EXIT_OK, Invocation};
use crate::output;
use crate::plugin::{ComponentCache, LoadedPlugin, PluginSet, discover};
use crate::suggest;

/// Runs a `plugins` subcommand.
pub async fn run(invocation: &Invocation, command: PluginsCommand) -> Result<u8, CliError> {
    match command {
        PluginsCommand::List { json } => {
            let set = load_all(invocation).await?;
            if json {
                output::emit_json(&crate::render::plugins_list_json(&set));
            } else {
                output::emit(&crate::render::render_plugins_list(&set));
            }
            // A broken or clashing plugin file makes the project invalid,
            // even though the others are listed.
            Ok(if set.problems.is_empty() {
                EXIT_OK
            } else {
                EXIT_INVALID
            })
        }
        PluginsCommand::Inspect { name, json } => {
            let set = load_all(invocation).await?;
            let plugin = find(&set, &name)?;
            if json {
                output::emit_json(&crate::render::plugin_json(plugin));
            } else {
                output::emit(&crate::render::render_inspect(plugin));
            }
            Ok(EXIT_OK)
        }
        PluginsCommand::Cache(CacheCommand::Path) => {
            let root = invocation
                .cache_root
                .clone()
                .or_else(ComponentCache::default_root);
            output::emit(
                &root
                    .map(|r| r.display().to_string())
                    .unwrap_or_else(|| "(no cache folder: HOME is not set)".into()),
            );
            Ok(EXIT_OK)
        }
        PluginsCommand::Cache(CacheCommand::Clear) => {
            if let Some(root) = invocation
                .cache_root
                .clone()
                .or_else(ComponentCache::default_root)
            {
                ComponentCache::clear(&root).map_err(|e| CliError::Io {
                    what: root.display().to_string(),
                    source: e,
                })?;
                output::note(&format!("cleared {}", root.display()));
            }
            Ok(EXIT_OK)
        }
    }
}

async fn load_all(invocation: &Invocation) -> Result<PluginSet, CliError> {
    let runtime = invocation.plugin_runtime()?;
    let (files, problems) = discover(Some(&invocation.project.files));
    Ok(PluginSet::load(
        &runtime,
        files,
        problems,
        &invocation.project.config.plugins.prefer,
    )
    .await)
}

/// Finds a plugin by its name or by one of its type names.
fn find<'a>(set: &'a PluginSet, name: &str) -> Result<&'a LoadedPlugin, CliError> {
    if let Some(p) = set
        .plugins
        .iter()
        .find(|p| p.name() == name || p.type_names().contains(&name))
    {
        return Ok(p);
    }
    let candidates = set
        .plugins
        .iter()
        .flat_map(|p| std::iter::once(p.name()).chain(p.type_names()));
    let suggestion = suggest::nearest(name, candidates)
        .map(|s| format!("did you mean `{s}`? (`clockwork plugins list` shows them all)"));
    Err(CliError::UnknownPlugin {
        name: name.to_string(),
        suggestion: suggestion
            .or_else(|| Some("`clockwork plugins list` shows every plugin and type".into())),
    })
}
