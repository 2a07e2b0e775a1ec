//! Loading components: compile (through the cache), recognise the kind,
//! check imports against the kind's grants, link, and `describe`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use crate::capability::{self, Grants};
use crate::plugin::bindings::{assertion, connection, resource};
use crate::plugin::cache::{CacheOutcome, ComponentCache};
use crate::plugin::error::WrongWorld;
use crate::plugin::loaded::{PluginOrigin, PluginSource};
use crate::plugin::sandbox::{LogSink, Sandbox};
use crate::plugin::{
    HostServices, HostState, Limits, LoadError, LoadedPlugin, PluginDescription, PluginEngine,
    PluginKind,
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
}

/// The plugin runtime: one engine, one linker per kind, the cache.
pub struct PluginRuntime {
    engine: PluginEngine,
    linkers: HashMap<PluginKind, Linker<HostState>>,
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
            linkers,
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
        wasm: Arc<[u8]>,
    ) -> Result<LoadedPlugin, LoadError> {
        let digest = hex::encode(Sha256::digest(&wasm));
        let origin = PluginOrigin {
            source,
            path,
            label,
            digest,
            size: wasm.len(),
        };
        let compiled = self
            .compile(Arc::clone(&wasm), origin.digest.clone())
            .await?;
        self.instantiate_pre(origin, compiled).await
    }

    async fn compile(&self, wasm: Arc<[u8]>, digest: String) -> Result<Compiled, LoadError> {
        check_magic(&wasm)?;
        let engine = self.engine.engine().clone();
        let cache = self.cache.clone();
        let (component, outcome) = tokio::task::spawn_blocking(move || match cache {
            Some(cache) => cache
                .load_or_compile(&engine, &wasm, &digest)
                .map_err(|e| LoadError::Compile(e.to_string())),
            None => Component::new(&engine, &*wasm)
                .map(|c| (c, CacheOutcome::Compiled))
                .map_err(|e| LoadError::Compile(format!("{e:#}"))),
        })
        .await
        .map_err(|e| LoadError::Compile(format!("compilation thread failed: {e}")))??;
        let (kind, interface, imports) = self.recognise(&component)?;
        Ok(Compiled {
            component,
            kind,
            cache: outcome,
            interface,
            imports,
        })
    }

    /// The component's kind, its exported interface and the Clockwork
    /// interfaces it imports (a component imports only what it calls).
    fn recognise(
        &self,
        component: &Component,
    ) -> Result<(PluginKind, String, Vec<String>), LoadError> {
        let engine = self.engine.engine();
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
        let names = std::iter::once(interface.clone())
            .chain(ty.imports(engine).map(|(n, _)| n.to_string()));
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

    async fn instantiate_pre(
        &self,
        origin: PluginOrigin,
        compiled: Compiled,
    ) -> Result<LoadedPlugin, LoadError> {
        let Compiled {
            component,
            kind,
            cache,
            interface,
            imports,
        } = compiled;
        let linker = self
            .linkers
            .get(&kind)
            .ok_or_else(|| LoadError::Link(format!("no linker for {kind} plugins")))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        // The bindgen pre-instance type-checks every export of the world
        // once, here; calls then look up only the function they need.
        let typecheck = match kind {
            PluginKind::Resource => resource::ResourcePre::new(pre.clone()).map(drop),
            PluginKind::Connection => connection::ConnectionPre::new(pre.clone()).map(drop),
            PluginKind::Assertion => assertion::AssertionPre::new(pre.clone()).map(drop),
        };
        typecheck.map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let limits = self
            .options
            .limits
            .unwrap_or_else(|| Limits::for_component(origin.size));
        let grants = Arc::new(Grants::for_kind(kind, self.options.project_dir.clone()));
        let mut sandbox = Sandbox::new(
            origin.label.clone(),
            kind,
            pre,
            &interface,
            limits,
            grants,
            Arc::clone(&self.services),
        )
        .map_err(LoadError::Link)?;
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
        let description = description
            .check(kind)
            .map_err(LoadError::InvalidDescription)?;
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
        Ok(LoadedPlugin {
            origin,
            description,
            sandbox,
            cache,
            imports,
        })
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
