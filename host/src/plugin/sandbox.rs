//! Running one call of one plugin: a fresh store and instance per call
//! (or, for the bundled interpreter, one kept from an earlier call that
//! returned normally), limits, deadline, and turning every way a guest can
//! fail into a [`CallError`] that names the plugin and the call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{ComponentExportIndex, ComponentNamedList, InstancePre, Lift, Lower};
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::plugin::capability::Grants;
use crate::plugin::engine::EPOCH_TICK;
use crate::plugin::{
    CallError, CallFailure, HostServices, HostState, Limits, LogRecord, PluginKind,
};

/// Where a plugin's log records go.
pub type LogSink = Arc<dyn Fn(&str, &LogRecord) + Send + Sync>;

/// One loaded plugin, ready to be called.
///
/// Each call instantiates the component afresh from its `InstancePre`
/// (unless the plugin is kept warm, [`Sandbox::keep_warm`]) and looks up
/// only the export it calls: the whole interface was type-checked
/// once, at load, by the `bindgen!` pre-instance, so a call pays for one
/// function's check instead of every export's.
pub struct Sandbox {
    pub(crate) name: String,
    pub(crate) kind: PluginKind,
    /// The linked component, made at the first call when the plugin was
    /// described from the cache.
    linked: tokio::sync::OnceCell<Linked>,
    link: Option<Link>,
    pub(crate) limits: Limits,
    grants: Arc<Grants>,
    services: Arc<HostServices>,
    pub(crate) log_sink: Option<LogSink>,
    /// Instances kept between calls, for a plugin known to keep no state
    /// between them (the bundled Starlark interpreter, whose start-up is
    /// most of a call's cost); `None`: a fresh instance per call.
    warm: Option<WarmPool>,
}

/// A component linked for calls: its pre-instance and the index of each
/// function its kind exports.
pub(crate) struct Linked {
    pre: InstancePre<HostState>,
    exports: HashMap<&'static str, ComponentExportIndex>,
}

impl Linked {
    /// Links `pre`, whose component exports `interface` (the full name,
    /// e.g. `clockwork:plugin/resources@0.1.0`).
    pub(crate) fn new(
        pre: InstancePre<HostState>,
        kind: PluginKind,
        interface: &str,
    ) -> Result<Linked, String> {
        let component = pre.component();
        let (_, iface) = component
            .get_export(None, interface)
            .ok_or_else(|| format!("no export `{interface}`"))?;
        let mut exports = HashMap::new();
        for function in Sandbox::functions(kind) {
            let (_, index) = component
                .get_export(Some(&iface), function)
                .ok_or_else(|| format!("`{interface}` has no function `{function}`"))?;
            exports.insert(*function, index);
        }
        Ok(Linked { pre, exports })
    }
}

/// Compiles (or takes from the cache) and links a component that was
/// described from the cache, when it is first called.
pub(crate) type Link =
    Box<dyn Fn() -> futures::future::BoxFuture<'static, Result<Linked, String>> + Send + Sync>;

/// The instances a plugin keeps, and how many are out on calls.
struct WarmPool {
    idle: std::sync::Mutex<Vec<Warm>>,
    busy: std::sync::atomic::AtomicUsize,
    returned: tokio::sync::Notify,
}

/// How long a call waits for a busy instance to come back before it starts
/// one of its own: about what starting the interpreter costs, so waiting is
/// never much worse than not, and a run of quick checks shares a few
/// instances instead of starting one per check running at once.
const WARM_WAIT: std::time::Duration = std::time::Duration::from_millis(25);

/// A store and instance whose last call returned normally.
struct Warm {
    store: Store<HostState>,
    instance: wasmtime::component::Instance,
}

/// Most warm instances a plugin keeps (one per check running at once).
const WARM_INSTANCES: usize = 8;

impl Sandbox {
    /// The exported functions of each kind's interface.
    pub(crate) fn functions(kind: PluginKind) -> &'static [&'static str] {
        match kind {
            PluginKind::Resource => &[
                "describe",
                "validate",
                "complete-rules",
                "plan",
                "settle",
                "status",
            ],
            PluginKind::Connection => &["describe", "validate", "complete-rules", "resolve"],
            PluginKind::Assertion => &["describe", "validate", "check"],
        }
    }

    /// Builds a sandbox for a linked component.
    pub(crate) fn new(
        name: String,
        kind: PluginKind,
        linked: Linked,
        limits: Limits,
        grants: Arc<Grants>,
        services: Arc<HostServices>,
    ) -> Self {
        Sandbox {
            name,
            kind,
            linked: tokio::sync::OnceCell::new_with(Some(linked)),
            link: None,
            limits,
            grants,
            services,
            log_sink: None,
            warm: None,
        }
    }

    /// Builds a sandbox whose component is compiled and linked by `link`
    /// at the first call.
    pub(crate) fn deferred(
        name: String,
        kind: PluginKind,
        link: Link,
        limits: Limits,
        grants: Arc<Grants>,
        services: Arc<HostServices>,
    ) -> Self {
        Sandbox {
            name,
            kind,
            linked: tokio::sync::OnceCell::new(),
            link: Some(link),
            limits,
            grants,
            services,
            log_sink: None,
            warm: None,
        }
    }

    /// Whether the component is compiled and linked yet.
    pub fn is_linked(&self) -> bool {
        self.linked.initialized()
    }

    /// The linked component, compiled and linked now if it was deferred;
    /// one failure is reported to every call, and the next call tries again.
    async fn linked(&self) -> Result<&Linked, String> {
        self.linked
            .get_or_try_init(|| async {
                match &self.link {
                    Some(link) => link().await,
                    None => Err("the component was never linked".to_string()),
                }
            })
            .await
    }

    /// Keeps instances between calls from now on. Only for a plugin that
    /// keeps no state from one call to the next; a call that fails
    /// discards its instance.
    pub(crate) fn keep_warm(&mut self) {
        self.warm = Some(WarmPool {
            idle: std::sync::Mutex::new(Vec::new()),
            busy: std::sync::atomic::AtomicUsize::new(0),
            returned: tokio::sync::Notify::new(),
        });
    }

    /// A kept instance: an idle one, or one that comes back soon.
    async fn take_warm(&self) -> Option<Warm> {
        use std::sync::atomic::Ordering;
        let pool = self.warm.as_ref()?;
        let pop = || pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut taken = pop();
        if taken.is_none() && pool.busy.load(Ordering::SeqCst) > 0 {
            let _ = tokio::time::timeout(WARM_WAIT, pool.returned.notified()).await;
            taken = pop();
        }
        pool.busy.fetch_add(1, Ordering::SeqCst);
        taken
    }
}

/// Counts a call as out on an instance until dropped, so that a call cut
/// off by its caller still gives its place back.
struct OutOnCall<'a>(Option<&'a WarmPool>);

impl Drop for OutOnCall<'_> {
    fn drop(&mut self) {
        if let Some(pool) = self.0 {
            pool.busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            pool.returned.notify_one();
        }
    }
}

impl Sandbox {
    /// Calls the exported `function` with `params` in a fresh instance,
    /// under this plugin's limits.
    pub async fn call<Params, Results>(
        &self,
        function: &'static str,
        target: Option<&str>,
        params: Params,
    ) -> Result<Results, CallError>
    where
        Params: ComponentNamedList + Lower + Send + Sync,
        Results: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        self.call_within(function, target, params, None).await
    }

    /// Like [`call`](Self::call), interrupted after `within` when that is
    /// sooner than the plugin's call timeout (an assertion's attempt).
    pub async fn call_within<Params, Results>(
        &self,
        function: &'static str,
        target: Option<&str>,
        params: Params,
        within: Option<std::time::Duration>,
    ) -> Result<Results, CallError>
    where
        Params: ComponentNamedList + Lower + Send + Sync,
        Results: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let limit = within
            .map(|w| w.min(self.limits.call_timeout))
            .unwrap_or(self.limits.call_timeout);
        let error = |failure| CallError {
            plugin: self.name.clone(),
            call: function,
            target: target.map(str::to_string),
            failure,
        };
        let linked = self
            .linked()
            .await
            .map_err(|reason| error(CallFailure::Instantiate(reason)))?;
        let Some(index) = linked.exports.get(function) else {
            return Err(error(CallFailure::InvalidResult(format!(
                "{} plugins export no function `{function}`",
                self.kind
            ))));
        };
        let warm = self.take_warm().await;
        let out_on_call = OutOnCall(self.warm.as_ref());
        let (mut store, kept) = match warm {
            Some(Warm {
                mut store,
                instance,
            }) => {
                store.data_mut().begin_call(limit);
                (store, Some(instance))
            }
            None => {
                let mut state = HostState::new(
                    &self.limits,
                    Arc::clone(&self.grants),
                    Arc::clone(&self.services),
                );
                state.deadline = state.started + limit;
                let mut store = Store::new(linked.pre.engine(), state);
                store.limiter(|s| &mut s.limits);
                store.epoch_deadline_callback(|ctx| {
                    if Instant::now() >= ctx.data().deadline {
                        Ok(UpdateDeadline::Interrupt)
                    } else {
                        Ok(UpdateDeadline::Yield(1))
                    }
                });
                (store, None)
            }
        };
        // Yield to tokio at every tick so a busy guest never blocks the
        // runtime, and interrupt it at the first tick past its deadline.
        store.set_epoch_deadline(1);
        // The epoch interrupt is the deadline; this outer timeout only
        // catches a host import that does not return.
        let budget = limit + 5 * EPOCH_TICK;
        let pre = &linked.pre;
        let mut used = None;
        let outcome = tokio::time::timeout(budget, async {
            let instance = match kept {
                Some(instance) => instance,
                None => pre
                    .instantiate_async(&mut store)
                    .await
                    .map_err(Stage::Instantiate)?,
            };
            used = Some(instance);
            let func = instance
                .get_typed_func::<Params, Results>(&mut store, index)
                .map_err(Stage::Call)?;
            func.call_async(&mut store, params)
                .await
                .map_err(Stage::Call)
        })
        .await;
        let result = match outcome {
            Err(_elapsed) => Err(error(CallFailure::Timeout {
                limit_ms: limit.as_millis(),
            })),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(stage)) => Err(error(self.classify(stage, store.data(), limit))),
        };
        if let Some(sink) = &self.log_sink {
            for record in &store.data().logs {
                sink(&self.name, record);
            }
        }
        // An instance that answered is kept; one that trapped, timed out or
        // was cut off is poisoned and dropped.
        // A call that wrote to stdout or stderr leaves that output in the
        // store's pipes, which the next call would inherit: not kept.
        let quiet =
            store.data().stdout.contents().is_empty() && store.data().stderr.contents().is_empty();
        if let (Some(pool), Ok(_), Some(instance), true) = (&self.warm, &result, used, quiet) {
            let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < WARM_INSTANCES {
                idle.push(Warm { store, instance });
            }
        }
        drop(out_on_call);
        result
    }

    fn classify(&self, stage: Stage, state: &HostState, limit: std::time::Duration) -> CallFailure {
        let (e, instantiating) = match stage {
            Stage::Instantiate(e) => (e, true),
            Stage::Call(e) => (e, false),
        };
        let full = format!("{e:?}");
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => {
                return CallFailure::Timeout {
                    limit_ms: limit.as_millis(),
                };
            }
            Some(Trap::StackOverflow) => return CallFailure::StackOverflow,
            _ => {}
        }
        if full.contains("forcing trap when growing memory") {
            return CallFailure::OutOfMemory {
                limit_mib: self.limits.memory_bytes >> 20,
            };
        }
        for (stream, pipe) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
            if pipe.contents().len() >= self.limits.output_bytes {
                return CallFailure::OutputLimit {
                    stream,
                    limit_kib: self.limits.output_bytes >> 10,
                };
            }
        }
        let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
        let panic = panic_message(&stderr);
        if instantiating && e.downcast_ref::<Trap>().is_none() {
            return CallFailure::Instantiate(format!("{e:#}"));
        }
        let message = panic.unwrap_or_else(|| {
            let cause = e.root_cause().to_string();
            match innermost_frame(&e) {
                Some(function) => format!("{cause} in `{function}`"),
                None => cause,
            }
        });
        CallFailure::Trap {
            message,
            stderr: tail(&stderr, 20),
        }
    }
}

/// Where in a call an error arose.
enum Stage {
    Instantiate(wasmtime::Error),
    Call(wasmtime::Error),
}

/// The guest function that was running when it trapped, demangled.
fn innermost_frame(e: &wasmtime::Error) -> Option<String> {
    let backtrace = e.downcast_ref::<wasmtime::WasmBacktrace>()?;
    let frame = backtrace.frames().first()?;
    let name = frame.func_name()?;
    // `{:#}` leaves out the hash suffix (`::h0123…`).
    Some(format!("{:#}", rustc_demangle::demangle(name)))
}

/// The `panicked at …` message a Rust guest prints before trapping, or the
/// last non-empty stderr line of another guest.
fn panic_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let location = lines[i]
            .split("panicked at")
            .nth(1)
            .unwrap_or("")
            .trim()
            .trim_end_matches(':');
        let message: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("note:"))
            .copied()
            .collect();
        let message = message.join(" ");
        return Some(if message.is_empty() {
            format!("panicked at {location}")
        } else {
            format!("panicked at {location}: {message}")
        });
    }
    lines
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_a_rust_panic_message() {
        let stderr = "\nthread '<unnamed>' panicked at plugins/x/src/lib.rs:12:9:\nboom: bad input\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at plugins/x/src/lib.rs:12:9: boom: bad input")
        );
        assert_eq!(
            panic_message("Traceback...\nValueError: nope\n").as_deref(),
            Some("ValueError: nope")
        );
        assert_eq!(panic_message(""), None);
    }
}
