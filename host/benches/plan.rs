//! Planning a large generated project: 5,000 resources and 10,000
//! connections, from `main.star` to the checked plan through the library's
//! pipeline (evaluation, every plugin `validate`, completion by rules and
//! the lock, every connection `resolve`, ordering, each plan checked).
//!
//! `cargo bench -p clockwork --bench plan`. Target (issue 3): < 1 s. The
//! same project from the command line, with completion and the rendered
//! table: `scripts/bench-plan.sh`.

use std::time::Duration;

use clockwork::{PluginRuntime, PluginSet, RuntimeOptions, discover};
use criterion::{Criterion, criterion_group, criterion_main};

/// The project `scripts/bench-project.py` writes: the one
/// `scripts/bench-plan.sh` times from the command line.
fn generate(dir: &std::path::Path, resources: usize) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench-project.py");
    let status = std::process::Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(resources.to_string())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "scripts/bench-project.py failed");
}

fn plan_large(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    generate(dir.path(), 5_000);
    let cache = tempfile::tempdir().expect("temp dir");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let runtime = PluginRuntime::new(RuntimeOptions {
        cache_root: Some(cache.path().to_path_buf()),
        project_dir: Some(dir.path().to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("runtime");
    let (files, problems) = discover(None);
    let plugins = tokio.block_on(PluginSet::load(
        &runtime,
        files,
        problems,
        &Default::default(),
    ));
    let folder = clockwork::Project::open(dir.path()).expect("project");
    // The pipeline takes the plugin set and gives it back with the project.
    let plugins = std::cell::RefCell::new(Some(plugins));
    let run = || {
        tokio.block_on(async {
            let set = plugins.borrow_mut().take().expect("the plugins");
            let options = clockwork::PipelineOptions::offline();
            let resolved = clockwork::resolved(&folder, set, options)
                .await
                .expect("resolves");
            let state = clockwork::State::empty(&folder.identity);
            let plan = clockwork::planned_offline(&folder, &resolved, &state)
                .await
                .expect("plans");
            *plugins.borrow_mut() = Some(resolved.plugins);
            plan
        })
    };
    let plan = run();
    assert_eq!(plan.entries.len(), 5_000);
    assert_eq!(plan.connections.len(), 10_000);
    let mut group = c.benchmark_group("plan");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("5000_resources_10000_connections", |b| b.iter(run));
    group.finish();
}

criterion_group!(benches, plan_large);
criterion_main!(benches);
