//! `clockwork watch`.

use std::sync::Arc;

use crate::apply::{Options, RemovalOrder};
use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::watch::report::{Alerts, Reporter};
use crate::watch::{WatchError, Watcher};

/// `clockwork watch [--json]`: runs until Ctrl-C.
pub async fn run_watch(invocation: &Invocation, json: bool) -> Result<u8, CliError> {
    let resolved = project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    let folder = &invocation.project;
    let webhook = std::env::var("CW_ALERT_WEBHOOK")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| folder.config.alerts.webhook.clone());
    let limits = folder.config.limits.containers();
    let options = move || Options {
        parallelism: 8,
        grace: limits.stop_grace,
        ready_timeout: limits.ready,
        // Each heal is one line of the watch log, not a progress display.
        progress: Arc::new(|_| {}),
        cancel: crate::apply::Cancel::default(),
        removal_order: RemovalOrder::DependentsFirst,
    };
    let watcher = Watcher {
        project: folder,
        plugins: &resolved.plugins,
        graph: &resolved.graph,
        sources: &resolved.sources,
        reporter: Arc::new(Reporter::new(folder.files.clone(), json)),
        alerts: Alerts::new(webhook),
        policy: folder.config.watch.policy(),
        options: &options,
    };
    match crate::watch::watch(watcher).await {
        Ok(()) => Ok(EXIT_OK),
        Err(WatchError::NothingToWatch) => Err(CliError::Usage {
            message: "no resource has `reconcile = True`: nothing to watch".into(),
            help: "add `reconcile = True` to the resources `clockwork watch` should keep as declared (`clockwork plugins inspect DockerResource` shows the reconciliation fields)".into(),
        }),
        Err(WatchError::Engine(e)) => Err(e.into()),
        Err(WatchError::State(e)) => Err(CliError::State(e)),
        Err(WatchError::Signal(e)) => Err(CliError::Runtime(e)),
    }
}
