//! Plugin runtime figures: compile time per bundled plugin without the
//! cache, time to make every bundled plugin ready from the cache, and the
//! cost of one call in a fresh instance.
//!
//! `cargo bench -p clockwork --bench plugin_runtime`. Targets (issue 2):
//! all bundled plugins ready from cache < 50 ms; < 20 µs per call after the first.

use std::sync::Arc;
use std::time::Duration;

use clockwork::wit::resource::exports::clockwork::plugin::resources::{
    CompletionInput, ResourceDescription,
};
use clockwork::wit::types::ResourceRef;
use clockwork::{
    PluginRuntime, PluginSet, PluginSource, RuntimeOptions, bundled_plugins, discover,
};
use criterion::{Criterion, criterion_group, criterion_main};
use wasmtime::component::Component;

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn runtime(cache: &std::path::Path) -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions {
        cache_root: Some(cache.to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("runtime")
}

/// As the CLI loads: descriptions from the cache, compiled at first call.
fn deferring_runtime(cache: &std::path::Path) -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions {
        cache_root: Some(cache.to_path_buf()),
        defer_compile: true,
        ..RuntimeOptions::default()
    })
    .expect("runtime")
}

fn compile_uncached(c: &mut Criterion) {
    let rt = PluginRuntime::new(RuntimeOptions::default()).expect("runtime");
    let engine = rt.engine().engine();
    let mut group = c.benchmark_group("compile_uncached");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for plugin in bundled_plugins() {
        group.bench_function(plugin.name, |b| {
            b.iter(|| Component::new(engine, plugin.wasm).expect("compiles"))
        });
    }
    group.finish();
}

fn ready_from_cache(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    let tokio = tokio();
    // Warm the cache once, as the first run of `clockwork` does.
    {
        let rt = runtime(cache.path());
        let (files, problems) = discover(None);
        let set = tokio.block_on(PluginSet::load(&rt, files, problems, &Default::default()));
        assert!(set.problems.is_empty(), "{:?}", set.problems);
    }
    let mut group = c.benchmark_group("bundled_ready_from_cache");
    group.sample_size(20);
    group.bench_function(format!("all_{}_plugins", bundled_plugins().len()), |b| {
        b.iter(|| {
            let rt = runtime(cache.path());
            let (files, problems) = discover(None);
            let set = tokio.block_on(PluginSet::load(&rt, files, problems, &Default::default()));
            assert_eq!(set.plugins.len(), bundled_plugins().len());
            set
        })
    });
    group.bench_function(
        format!("all_{}_plugins_described_deferred", bundled_plugins().len()),
        |b| {
            b.iter(|| {
                let rt = deferring_runtime(cache.path());
                let (files, problems) = discover(None);
                let set =
                    tokio.block_on(PluginSet::load(&rt, files, problems, &Default::default()));
                assert!(set.plugins.iter().all(|p| !p.sandbox.is_linked()));
                set
            })
        },
    );
    group.finish();
}

fn call_overhead(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temp dir");
    let tokio = tokio();
    let rt = runtime(cache.path());
    let blank = bundled_plugins()
        .iter()
        .find(|p| p.name == "blank-resource")
        .expect("blank-resource is bundled");
    let plugin = tokio
        .block_on(rt.load(
            PluginSource::Bundled,
            None,
            "bundled:blank-resource".into(),
            Arc::from(blank.wasm),
        ))
        .expect("loads");
    let config = serde_json::json!({"name": "web"});
    // The first call pays for lazy initialisation; measure the ones after.
    tokio
        .block_on(plugin.validate("BlankResource", "web", &config))
        .expect("call")
        .expect("valid");
    let mut group = c.benchmark_group("call_fresh_instance");
    let input = CompletionInput {
        target: ResourceRef {
            type_name: "BlankResource".into(),
            name: "web".into(),
        },
        config: "{}".into(),
        missing: Vec::new(),
        neighbours: "[]".into(),
    };
    group.bench_function("complete_rules_trivial", |b| {
        b.iter(|| {
            tokio
                .block_on(plugin.complete_rules(&input))
                .expect("call")
                .expect("no suggestions")
        })
    });
    group.bench_function("validate_blank_resource", |b| {
        b.iter(|| {
            tokio
                .block_on(plugin.validate("BlankResource", "web", &config))
                .expect("call")
                .expect("valid")
        })
    });
    group.bench_function("describe_blank_resource", |b| {
        b.iter(|| {
            let (d,): (ResourceDescription,) = tokio
                .block_on(plugin.sandbox.call("describe", None, ()))
                .expect("call");
            d
        })
    });
    group.finish();
}

criterion_group!(benches, ready_from_cache, call_overhead, compile_uncached);
criterion_main!(benches);
