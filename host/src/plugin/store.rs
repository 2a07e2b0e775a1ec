//! The data every plugin store carries: WASI with nothing granted, limits,
//! grants, and what the call produced besides its result (logs, output).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::plugin::Limits;
use crate::plugin::capability::Grants;

/// Most log records kept per call; more are counted and dropped.
const MAX_LOG_RECORDS: usize = 1_000;
/// Longest log message kept, in bytes.
const MAX_LOG_MESSAGE: usize = 4 << 10;

/// Severity of a plugin's log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Fine detail.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Progress.
    Info,
    /// Unexpected, not fatal.
    Warn,
    /// A failure.
    Error,
}

/// One record a plugin logged through the `log` import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// The message, at most 4 KiB.
    pub message: String,
    /// Key-value pairs.
    pub fields: Vec<(String, String)>,
}

/// Services shared by every store: clients the host imports use. Built
/// lazily so that loading plugins costs nothing for imports never called.
#[derive(Default)]
pub struct HostServices {
    http: OnceLock<Result<reqwest::Client, String>>,
    deployment: std::sync::RwLock<Option<Arc<Deployment>>>,
}

/// The running deployment a command checks, for the `docker`, `exec` and
/// `probe` imports: the Engine (its handle knows the project, so only the
/// project's objects are reachable) and the names the project's
/// containers answer to on its network.
pub struct Deployment {
    /// The Engine.
    pub engine: crate::docker::Engine,
    /// Container names, resource names and aliases → their addresses.
    pub hosts: std::collections::BTreeMap<String, Vec<std::net::IpAddr>>,
}

impl HostServices {
    /// Connects the imports to a deployment; until then they answer that
    /// no Engine is connected.
    pub(crate) fn attach(&self, deployment: Deployment) {
        let mut slot = self.deployment.write().unwrap_or_else(|p| p.into_inner());
        *slot = Some(Arc::new(deployment));
    }

    /// The deployment, if one is attached.
    pub(crate) fn deployment(&self) -> Option<Arc<Deployment>> {
        self.deployment
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The HTTP client for `probe.http`. Redirects are followed by the probe
    /// itself, hop by hop, so that each hop is checked against the grant.
    /// Besides the system's roots it trusts the CA the host made for the
    /// project's TLS connections (`.clockwork/tls/ca.pem`), so a check of a
    /// service with a certificate Clockwork made judges the service.
    pub(crate) fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| {
                self.http_builder()
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// How [`Self::http`]'s client is made; an `https://` request to a
    /// container by name gets a client of its own that resolves the name
    /// to the container, so the certificate is checked against the name.
    pub(crate) fn http_builder(&self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        let project_ca = self.deployment().and_then(|d| {
            d.engine
                .files
                .read(std::path::Path::new(&crate::project::tls::ca_path()))
                .ok()
        });
        if let Some(pem) = project_ca
            && let Ok(ca) = reqwest::Certificate::from_pem(&pem)
        {
            builder = builder.add_root_certificate(ca);
        }
        builder
    }
}

/// The data of one plugin store: one call, in a fresh instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) grants: Arc<Grants>,
    pub(crate) services: Arc<HostServices>,
    pub(crate) started: Instant,
    pub(crate) deadline: Instant,
    pub(crate) logs: Vec<LogRecord>,
    pub(crate) dropped_logs: usize,
    pub(crate) stdout: MemoryOutputPipe,
    pub(crate) stderr: MemoryOutputPipe,
}

impl HostState {
    /// A state for one call under `limits` and `grants`. WASI gets no
    /// preopened directories, no environment, no sockets and no name lookup:
    /// everything a plugin reaches goes through the Clockwork imports.
    pub(crate) fn new(limits: &Limits, grants: Arc<Grants>, services: Arc<HostServices>) -> Self {
        let stdout = MemoryOutputPipe::new(limits.output_bytes);
        let stderr = MemoryOutputPipe::new(limits.output_bytes);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let now = Instant::now();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(16)
                .tables(64)
                .memories(16)
                .trap_on_grow_failure(true)
                .build(),
            grants,
            services,
            started: now,
            deadline: now + limits.call_timeout,
            logs: Vec::new(),
            dropped_logs: 0,
            stdout,
            stderr,
        }
    }

    /// Makes a kept store ready for another call: a new clock and
    /// deadline, no logs, no output from the last call.
    pub(crate) fn begin_call(&mut self, limit: std::time::Duration) {
        self.started = Instant::now();
        self.deadline = self.started + limit;
        self.logs.clear();
        self.dropped_logs = 0;
    }

    pub(crate) fn record_log(
        &mut self,
        level: LogLevel,
        mut message: String,
        fields: Vec<(String, String)>,
    ) {
        if self.logs.len() >= MAX_LOG_RECORDS {
            self.dropped_logs += 1;
            return;
        }
        if message.len() > MAX_LOG_MESSAGE {
            let mut cut = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        self.logs.push(LogRecord {
            level,
            message,
            fields,
        });
    }

    /// Milliseconds left in this call's budget, at least 1.
    pub(crate) fn remaining_ms(&self) -> u64 {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
        u64::try_from(left).unwrap_or(u64::MAX).max(1)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
