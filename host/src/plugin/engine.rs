//! The wasmtime engine shared by every plugin, and its epoch ticker.

use std::hash::{Hash, Hasher};

use crate::plugin::Limits;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    WasmBacktraceDetails,
};

/// How often the epoch advances. A guest yields to tokio once per tick and
/// is interrupted within one tick of its deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine and the thread that advances its epoch.
///
/// The ticker holds only a weak reference (as Spin does): it runs while any
/// clone of the engine lives (every loaded plugin holds one) and stops after
/// the last is dropped.
pub struct PluginEngine {
    engine: Engine,
}

impl PluginEngine {
    /// Builds the engine with the settings that measured well on this
    /// platform (see `shared/reference/plugin-contract.md`): epoch
    /// interruption, backtraces with function names, copy-on-write memory
    /// images, a 1 MiB wasm stack.
    pub fn new() -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .wasm_backtrace_details(WasmBacktraceDetails::Enable)
            .memory_init_cow(true)
            .max_wasm_stack(1 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
        let engine = Engine::new(&config)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("clockwork-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch ticker thread: {e}"))?;
        Ok(PluginEngine { engine })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A stable key for compiled artifacts: the wasmtime version plus a
    /// SHA-256 of the engine's compatibility hash (its config and features).
    /// Artifacts compiled under another key must never be loaded.
    pub fn artifact_key(&self) -> String {
        let mut hasher = Sha256Hasher(Sha256::new());
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        let digest = hex::encode(hasher.0.finalize());
        format!("wasmtime-{}/{}", wasmtime_version(), &digest[..16])
    }
}

/// Slots for instances, memories, tables and fiber stacks, reserved once
/// (address space only) and reused by every call: a fresh instance per call
/// then costs microseconds instead of a round of `mmap`s.
///
/// The sizes bound what one call may hold at once; they are far above what
/// any bundled plugin or a Python guest uses, and a component beyond them
/// fails to instantiate with wasmtime's message naming the limit.
fn pooling() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(128)
        .total_core_instances(1024)
        .total_memories(256)
        .total_tables(1024)
        .total_stacks(128)
        .max_memories_per_module(2)
        .max_tables_per_module(4)
        .max_memories_per_component(16)
        .max_tables_per_component(64)
        .table_elements(100_000)
        .max_memory_size(Limits::MAX_MEMORY_BYTES)
        .max_unused_warm_slots(64)
        // With PAGEMAP_SCAN (Linux 6.7+) only the pages a call dirtied are
        // reset, by copy, and the rest stay mapped: no page faults and no
        // TLB shootdowns on the next call. Older kernels fall back to
        // resetting the kept region whole.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10);
    pool
}

/// The version of wasmtime compiled in.
pub fn wasmtime_version() -> &'static str {
    // Read from Cargo.lock by build.rs, so the cache layout and `--version`
    // follow the pin.
    env!("CW_WASMTIME_VERSION")
}

/// The plugin contract this host speaks, e.g. `clockwork:plugin@0.1.0`
/// (the `package` line of `wit/`, read by build.rs).
pub fn contract() -> &'static str {
    env!("CW_CONTRACT")
}

/// Feeds `Hash` output into SHA-256, so the key does not depend on the
/// standard library's unspecified `DefaultHasher`.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
