//! Loading components: compile (through the cache), recognise the kind,
//! check imports against the kind's grants, link, and `describe`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use crate::plugin::bindings::{assertion, connection, resource};
use crate::plugin::cache::{CacheOutcome, CachedDescription, ComponentCache};
use crate::plugin::capability::{self, Grants};
use crate::plugin::error::WrongWorld;
use crate::plugin::loaded::{PluginOrigin, PluginSource};
use crate::plugin::sandbox::{Link, Linked, LogSink, Sandbox};
use crate::plugin::{
    HostServices, HostState, Limits, LoadError, LoadedPlugin, PluginDescription, PluginEngine,
    PluginKind, WasmBytes,
};

/// How the runtime is set up.
#[derive(Clone, Default)]
pub struct RuntimeOptions {
    /// Root of the compiled-component cache; `None` disables it.
    pub cache_root: Option<PathBuf>,
    /// The project folder, granted read-only to plugins as root `project`.
    pub project_dir: Option<PathBuf>,
    /// Limits for every plugin instead of the size-based defaults (tests,
    /// benchmarks).
    pub limits: Option<Limits>,
    /// Where plugins' log records go.
    pub log_sink: Option<LogSink>,
    /// Take a plugin's description from the cache when it holds one for
    /// the same bytes, and compile the component only when it is first
    /// called: a command then pays only for the plugins it calls (`status`
    /// calls none). Off, every component is compiled (or deserialized) and
    /// described at load, and a broken one is reported there.
    pub defer_compile: bool,
}

/// The plugin runtime: one engine, one linker per kind, the cache.
pub struct PluginRuntime {
    engine: PluginEngine,
    linkers: Arc<HashMap<PluginKind, Linker<HostState>>>,
    cache: Option<ComponentCache>,
    services: Arc<HostServices>,
    options: RuntimeOptions,
}

/// A component compiled and recognised, not yet described.
struct Compiled {
    component: Component,
    kind: PluginKind,
    cache: CacheOutcome,
    /// The exported plugin interface's full name, with its version.
    interface: String,
    /// The Clockwork host interfaces it imports.
    imports: Vec<String>,
}

impl PluginRuntime {
    /// Creates the engine and links each kind's world.
    pub fn new(options: RuntimeOptions) -> wasmtime::Result<Self> {
        let engine = PluginEngine::new()?;
        let mut linkers = HashMap::new();
        for kind in PluginKind::ALL {
            let mut linker = Linker::new(engine.engine());
            capability::link(&mut linker, kind)?;
            linkers.insert(kind, linker);
        }
        let cache = options
            .cache_root
            .as_deref()
            .map(|root| ComponentCache::new(root, &engine));
        Ok(PluginRuntime {
            engine,
            linkers: Arc::new(linkers),
            cache,
            services: Arc::new(HostServices::default()),
            options,
        })
    }

    /// The services the host imports share (the attached deployment).
    pub(crate) fn services(&self) -> Arc<HostServices> {
        Arc::clone(&self.services)
    }

    /// The engine.
    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// The cache in use, if any.
    pub fn cache(&self) -> Option<&ComponentCache> {
        self.cache.as_ref()
    }

    /// Loads a component: compiles it (or takes it from the cache), checks
    /// its world and imports, links it, and calls `describe`.
    pub async fn load(
        &self,
        source: PluginSource,
        path: Option<PathBuf>,
        label: String,
        wasm: impl Into<WasmBytes>,
    ) -> Result<LoadedPlugin, LoadError> {
        self.load_with_digest(source, path, label, wasm.into(), None)
            .await
    }

    /// [`load`](Self::load), with the component's SHA-256 (hex) when the
    /// caller knows it already (a bundled plugin's, computed at build).
    pub async fn load_with_digest(
        &self,
        source: PluginSource,
        path: Option<PathBuf>,
        label: String,
        wasm: WasmBytes,
        digest: Option<String>,
    ) -> Result<LoadedPlugin, LoadError> {
        let digest = digest.unwrap_or_else(|| hex::encode(Sha256::digest(&wasm)));
        let origin = PluginOrigin {
            source,
            path,
            label,
            digest,
            size: wasm.len(),
        };
        if self.options.defer_compile
            && let Some(cache) = &self.cache
            && let Some(cached) = cache.description(&origin.digest)
            && let Ok(description) = cached.description.clone().check(cached.kind)
        {
            return Ok(self.deferred(origin, wasm, cached, description));
        }
        let compiled = self.compile(wasm.clone(), origin.digest.clone()).await?;
        let (kind, interface) = (compiled.kind, compiled.interface.clone());
        let (plugin, described) = self.instantiate_pre(origin, compiled).await?;
        if let Some(cache) = &self.cache {
            cache.store_description(
                &plugin.origin.digest,
                &CachedDescription {
                    host: CachedDescription::host(),
                    kind,
                    interface,
                    imports: plugin.imports.clone(),
                    description: described,
                },
            );
        }
        Ok(plugin)
    }

    /// A plugin described from the cache, whose component is compiled (or
    /// deserialized), checked and linked as at load when first called.
    fn deferred(
        &self,
        origin: PluginOrigin,
        wasm: WasmBytes,
        cached: CachedDescription,
        description: PluginDescription,
    ) -> LoadedPlugin {
        let kind = cached.kind;
        let interface = cached.interface.clone();
        let engine = self.engine.engine().clone();
        let linkers = Arc::clone(&self.linkers);
        let cache = self.cache.clone();
        let digest = origin.digest.clone();
        let link: Link = Box::new(move || {
            let (engine, linkers, cache) = (engine.clone(), Arc::clone(&linkers), cache.clone());
            let (wasm, digest, interface) = (wasm.clone(), digest.clone(), interface.clone());
            Box::pin(async move {
                let compiled = compile(&engine, cache, wasm, digest)
                    .await
                    .map_err(|e| e.to_string())?;
                if compiled.kind != kind || compiled.interface != interface {
                    return Err(format!(
                        "the component exports `{}`, not `{interface}` as described",
                        compiled.interface
                    ));
                }
                link(&linkers, &compiled).map_err(|e| e.to_string())
            })
        });
        let sandbox = Sandbox::deferred(
            origin.label.clone(),
            kind,
            link,
            self.limits_for(&origin),
            Arc::new(Grants::for_kind(kind, self.options.project_dir.clone())),
            Arc::clone(&self.services),
        );
        self.finish(
            origin,
            sandbox,
            description,
            CacheOutcome::Described,
            cached.imports,
        )
    }

    fn limits_for(&self, origin: &PluginOrigin) -> Limits {
        self.options
            .limits
            .unwrap_or_else(|| Limits::for_component(origin.size))
    }

    async fn compile(&self, wasm: WasmBytes, digest: String) -> Result<Compiled, LoadError> {
        compile(self.engine.engine(), self.cache.clone(), wasm, digest).await
    }
}

/// Compiles a component (or takes it from the cache) and recognises it.
async fn compile(
    engine: &wasmtime::Engine,
    cache: Option<ComponentCache>,
    wasm: WasmBytes,
    digest: String,
) -> Result<Compiled, LoadError> {
    check_magic(&wasm)?;
    let compiling = engine.clone();
    let (component, outcome) = tokio::task::spawn_blocking(move || match cache {
        Some(cache) => cache
            .load_or_compile(&compiling, &wasm, &digest)
            .map_err(|e| LoadError::Compile(e.to_string())),
        None => Component::new(&compiling, &*wasm)
            .map(|c| (c, CacheOutcome::Compiled))
            .map_err(|e| LoadError::Compile(format!("{e:#}"))),
    })
    .await
    .map_err(|e| LoadError::Compile(format!("compilation thread failed: {e}")))??;
    let (kind, interface, imports) = recognise(engine, &component)?;
    Ok(Compiled {
        component,
        kind,
        cache: outcome,
        interface,
        imports,
    })
}

/// Links a compiled component with its kind's host functions and
/// type-checks every export of its world.
fn link(
    linkers: &HashMap<PluginKind, Linker<HostState>>,
    compiled: &Compiled,
) -> Result<Linked, LoadError> {
    let kind = compiled.kind;
    let linker = linkers
        .get(&kind)
        .ok_or_else(|| LoadError::Link(format!("no linker for {kind} plugins")))?;
    let pre = linker
        .instantiate_pre(&compiled.component)
        .map_err(|e| LoadError::Link(format!("{e:#}")))?;
    // The bindgen pre-instance type-checks every export of the world
    // once, here; calls then look up only the function they need.
    let typecheck = match kind {
        PluginKind::Resource => resource::ResourcePre::new(pre.clone()).map(drop),
        PluginKind::Connection => connection::ConnectionPre::new(pre.clone()).map(drop),
        PluginKind::Assertion => assertion::AssertionPre::new(pre.clone()).map(drop),
    };
    typecheck.map_err(|e| LoadError::Link(format!("{e:#}")))?;
    Linked::new(pre, kind, &compiled.interface).map_err(LoadError::Link)
}

/// The component's kind, its exported interface and the Clockwork
/// interfaces it imports (a component imports only what it calls).
fn recognise(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Result<(PluginKind, String, Vec<String>), LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let kinds: Vec<(PluginKind, &String)> = exports
        .iter()
        .filter_map(|e| PluginKind::from_export(e).map(|k| (k, e)))
        .collect();
    let [(kind, interface)] = kinds[..] else {
        return Err(LoadError::WrongWorld(WrongWorld { exports }));
    };
    let interface = interface.clone();
    // A component of another contract version would fail to link with
    // "no exported instance named …"; say what it is instead.
    let speaks = crate::plugin::contract();
    let contract_of = |name: &str| {
        name.strip_prefix("clockwork:plugin/")
            .and_then(|rest| rest.split_once('@'))
            .map(|(_, version)| version.to_string())
    };
    let ours = speaks.rsplit_once('@').map(|(_, v)| v).unwrap_or(speaks);
    let compatible = |version: &str| {
        // 0.x versions are compatible within a minor version.
        let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
        minor(version) == minor(ours)
    };
    let names =
        std::iter::once(interface.clone()).chain(ty.imports(engine).map(|(n, _)| n.to_string()));
    for name in names {
        if let Some(version) = contract_of(&name)
            && !compatible(&version)
        {
            return Err(LoadError::Contract {
                found: format!("clockwork:plugin@{version}"),
                speaks: speaks.to_string(),
            });
        }
    }
    let mut imports = Vec::new();
    for (import, _) in ty.imports(engine) {
        if import.starts_with("wasi:") {
            continue;
        }
        let Some(rest) = import.strip_prefix("clockwork:plugin/") else {
            return Err(LoadError::UnknownImport(import.to_string()));
        };
        let imported = rest.split('@').next().unwrap_or(rest);
        if !kind.granted_imports().contains(&imported) {
            return Err(LoadError::NotGranted {
                import: import.to_string(),
                kind,
                allowed: kind.granted_imports().join(", "),
            });
        }
        if imported != "types" {
            imports.push(imported.to_string());
        }
    }
    imports.sort();
    imports.dedup();
    Ok((kind, interface, imports))
}

impl PluginRuntime {
    async fn instantiate_pre(
        &self,
        origin: PluginOrigin,
        compiled: Compiled,
    ) -> Result<(LoadedPlugin, PluginDescription), LoadError> {
        let linked = link(&self.linkers, &compiled)?;
        let Compiled {
            kind,
            cache,
            imports,
            ..
        } = compiled;
        let sandbox = Sandbox::new(
            origin.label.clone(),
            kind,
            linked,
            self.limits_for(&origin),
            Arc::new(Grants::for_kind(kind, self.options.project_dir.clone())),
            Arc::clone(&self.services),
        );
        let description: PluginDescription = match kind {
            PluginKind::Resource => {
                let (d,): (resource::exports::clockwork::plugin::resources::ResourceDescription,) =
                    sandbox.call("describe", None, ()).await?;
                d.into()
            }
            PluginKind::Connection => {
                let (d,): (
                    connection::exports::clockwork::plugin::connections::ConnectionDescription,
                ) = sandbox.call("describe", None, ()).await?;
                d.into()
            }
            PluginKind::Assertion => {
                let (d,): (
                    assertion::exports::clockwork::plugin::assertions::AssertionDescription,
                ) = sandbox.call("describe", None, ()).await?;
                d.into()
            }
        };
        // What the plugin said, before the host's fields are added: what
        // the cache keeps, to be checked again when read.
        let described = description.clone();
        let description = description
            .check(kind)
            .map_err(LoadError::InvalidDescription)?;
        Ok((
            self.finish(origin, sandbox, description, cache, imports),
            described,
        ))
    }

    /// What every loaded plugin gets, linked now or at its first call.
    fn finish(
        &self,
        origin: PluginOrigin,
        mut sandbox: Sandbox,
        description: PluginDescription,
        cache: CacheOutcome,
        imports: Vec<String>,
    ) -> LoadedPlugin {
        sandbox.name = description.meta.name.clone();
        // The bundled Starlark interpreter keeps nothing from one check to
        // the next (each runs in its own module and heap) and costs more to
        // start than to run a check: its instances are kept warm.
        if origin.source == PluginSource::Bundled
            && sandbox.name == crate::plugin::INTERPRETER_PLUGIN
        {
            sandbox.keep_warm();
            // Its checks are bounded inside it (256 MiB each); the sandbox
            // holds the interpreter besides, whatever the component's size.
            if self.options.limits.is_none() {
                sandbox.limits = Limits::for_component(usize::MAX);
            }
        }
        if let Some(sink) = &self.options.log_sink {
            sandbox.log_sink = Some(Arc::clone(sink));
        }
        LoadedPlugin {
            origin,
            description,
            sandbox,
            cache,
            imports,
        }
    }
}

/// Distinguishes "not wasm" and "a core module" from a component before
/// handing the bytes to the compiler, whose messages for these are obscure.
fn check_magic(wasm: &[u8]) -> Result<(), LoadError> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    // Bytes 4..8: version and layer; layer 1 is a component, 0 a core module.
    if wasm[6..8] == [0, 0] {
        return Err(LoadError::CoreModule);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_text_and_core_modules_from_components() {
        assert!(matches!(
            check_magic(b"hello world, not wasm"),
            Err(LoadError::NotWasm)
        ));
        assert!(matches!(
            check_magic(b"\0asm\x01\0\0\0"),
            Err(LoadError::CoreModule)
        ));
        assert!(check_magic(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
