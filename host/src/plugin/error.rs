//! Errors of the plugin runtime: loading a component, and calling one.

use std::fmt;

/// Why a plugin call produced no result. A `plugin-error` the plugin
/// returned is not a `CallError`: the call worked and its answer is an error.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("plugin `{plugin}` {failure} in `{call}`{}", target.as_ref().map(|t| format!(" for `{t}`")).unwrap_or_default())]
#[diagnostic(
    code("clockwork::plugin::call"),
    help(
        "the plugin failed, not your project; `-v` shows what it logged, and its author can reproduce it with the same project"
    )
)]
pub struct CallError {
    /// The plugin's name (or file name while it is being loaded).
    pub plugin: String,
    /// The exported function, e.g. `describe`, `check`.
    pub call: &'static str,
    /// The declaration the call was about, if any.
    pub target: Option<String>,
    /// What went wrong.
    pub failure: CallFailure,
}

/// What went wrong in a plugin call.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    /// The call ran past its deadline and was interrupted.
    #[error("ran past its {limit_ms} ms deadline and was stopped")]
    Timeout {
        /// The deadline.
        limit_ms: u128,
    },
    /// The guest tried to grow its memory beyond the cap.
    #[error("ran out of memory (limit {limit_mib} MiB)")]
    OutOfMemory {
        /// The cap.
        limit_mib: usize,
    },
    /// The guest wrote more to stdout or stderr than is captured.
    #[error("wrote more than {limit_kib} KiB to {stream} and was stopped")]
    OutputLimit {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The cap.
        limit_kib: usize,
    },
    /// The guest exhausted its stack (deep or unbounded recursion).
    #[error("overflowed its stack")]
    StackOverflow,
    /// The guest trapped: a panic, an `unreachable`, a bad memory access.
    #[error("trapped: {message}")]
    Trap {
        /// The panic message when the guest printed one, else the trap.
        message: String,
        /// The last lines the guest wrote to stderr.
        stderr: String,
    },
    /// The component could not be instantiated (a start function failed).
    #[error("could not be instantiated: {0}")]
    Instantiate(String),
    /// The result breaks the contract (too large, not JSON, …).
    #[error("returned an invalid result: {0}")]
    InvalidResult(String),
}

impl CallFailure {
    /// A short name for the failure class, for JSON output and tests.
    pub fn class(&self) -> &'static str {
        match self {
            CallFailure::Timeout { .. } => "timeout",
            CallFailure::OutOfMemory { .. } => "out-of-memory",
            CallFailure::OutputLimit { .. } => "output-limit",
            CallFailure::StackOverflow => "stack-overflow",
            CallFailure::Trap { .. } => "trap",
            CallFailure::Instantiate(_) => "instantiate",
            CallFailure::InvalidResult(_) => "invalid-result",
        }
    }
}

/// Why a plugin file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is not WebAssembly at all.
    #[error("not a WebAssembly component: the file does not start with the `\\0asm` magic")]
    NotWasm,
    /// The file is a core module, not a component.
    #[error(
        "a core WebAssembly module, not a component; build plugins with `cargo build --target wasm32-wasip2` (or wrap a module with `wasm-tools component new`)"
    )]
    CoreModule,
    /// The component does not compile.
    #[error("the component does not compile: {0}")]
    Compile(String),
    /// The component exports no plugin interface, or several.
    #[error("{0}")]
    WrongWorld(WrongWorld),
    /// The component imports an interface its kind is not granted.
    #[error(
        "imports `{import}`, which {kind} plugins are not granted (they may import: {allowed})"
    )]
    NotGranted {
        /// The import.
        import: String,
        /// The plugin kind.
        kind: super::PluginKind,
        /// The allowed `clockwork:plugin` interfaces.
        allowed: String,
    },
    /// The component imports something the host does not provide.
    #[error(
        "imports `{0}`, which the host does not provide (plugins may import WASI 0.2 and `clockwork:plugin@0.2` interfaces)"
    )]
    UnknownImport(String),
    /// The component was built against another version of the contract.
    #[error(
        "built against `{found}`, but this Clockwork speaks `{speaks}`: rebuild the plugin with a matching clockwork-sdk (the README says what changed)"
    )]
    Contract {
        /// The contract it was built against.
        found: String,
        /// The one this host speaks.
        speaks: String,
    },
    /// Linking against the host failed (e.g. an incompatible interface version).
    #[error("cannot be linked against this host: {0}")]
    Link(String),
    /// `describe` failed.
    #[error("{0}")]
    Describe(#[from] CallError),
    /// `describe` returned a description that breaks the rules.
    #[error("invalid `describe` result: {}", .0.join("; "))]
    InvalidDescription(Vec<String>),
}

/// What a component exports, when it is not exactly one plugin interface.
#[derive(Debug)]
pub struct WrongWorld {
    /// The component's exports.
    pub exports: Vec<String>,
}

impl fmt::Display for WrongWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found = if self.exports.is_empty() {
            "nothing".to_string()
        } else {
            format!("`{}`", self.exports.join("`, `"))
        };
        write!(
            f,
            "not a Clockwork plugin: it exports {found}, but a plugin exports exactly one of `clockwork:plugin/resources`, `clockwork:plugin/connections` or `clockwork:plugin/assertions` (build it against the `resource`, `connection` or `assertion` world of `clockwork:plugin@0.2`)"
        )
    }
}
