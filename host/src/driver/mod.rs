//! The host's drivers: the backends it runs `ext(driver, op, payload)`
//! actions with, beside the Docker Engine. A plugin names a driver in a
//! plan; only the host runs it, after the policy and the driver itself
//! checked the payload.
//!
//! Every stage reaches a driver through [`Drivers`], never by its module:
//! the policy asks [`Drivers`] to check (it implements
//! [`crate::policy::ExtensionCheck`]), resolve asks what a driver hoists out
//! of a connection's setup, the plan asks what a removal keeps, and apply
//! runs. A new backend (Swarm, an image build) is one more [`Driver`] in
//! [`Drivers::bundled`].

mod apple;
mod git;
mod tls;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value as Json;

use crate::policy::{Denial, ExtensionCheck, Scope};
use crate::project::ProjectDir;
use crate::project::tls::Request;

pub use tls::{TlsError, ensure as issue_certificate};

/// A driver's answer, on its way.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<Json, String>> + Send + 'a>>;

/// What running an action may use.
pub struct DriverContext<'a> {
    /// The project folder.
    pub files: &'a ProjectDir,
    /// The project's id, which marks what a driver made for it.
    pub project_id: &'a str,
}

/// What a driver lifts out of a connection's setup: the host does it once,
/// before either end deploys, rather than as a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hoisted {
    /// A TLS certificate for a service, signed by the project's CA.
    Certificate(Request),
}

/// One backend of `ext` actions.
pub trait Driver: Send + Sync {
    /// Its name in `ext(name, op, payload)`.
    fn name(&self) -> &'static str;

    /// Refuses what the policy would not allow, before anything runs (at
    /// `plan`, and again right before acting): a URL, a path outside the
    /// project, a mount nothing granted.
    fn check(
        &self,
        files: &ProjectDir,
        scope: &Scope,
        op: &str,
        payload: &str,
    ) -> Result<(), Denial>;

    /// Runs one checked action.
    fn run<'a>(&'a self, cx: &'a DriverContext<'a>, op: &'a str, payload: &'a str) -> Running<'a>;

    /// Whether `op` removes files the user may want kept
    /// (`destroy --keep-files` leaves such actions out).
    fn removes_files(&self, _op: &str) -> bool {
        false
    }

    /// What of a connection's setup step the host does itself, if this
    /// driver hoists it.
    fn hoist(&self, _op: &str, _payload: &str) -> Option<Hoisted> {
        None
    }
}

/// The drivers this host has.
pub struct Drivers {
    drivers: Vec<Box<dyn Driver>>,
}

impl Drivers {
    /// The drivers built into Clockwork: `git`, `apple-container` and `tls`.
    pub fn bundled() -> &'static Drivers {
        static BUNDLED: std::sync::OnceLock<Drivers> = std::sync::OnceLock::new();
        BUNDLED.get_or_init(|| Drivers {
            drivers: vec![
                Box::new(git::GitDriver),
                Box::new(apple::AppleDriver),
                Box::new(tls::TlsDriver),
            ],
        })
    }

    /// The driver called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Driver> {
        self.drivers
            .iter()
            .find(|d| d.name() == name)
            .map(|d| d.as_ref())
    }

    /// Runs `op` of `driver`; an unknown driver is an error, not a no-op.
    pub async fn run(
        &self,
        cx: &DriverContext<'_>,
        driver: &str,
        op: &str,
        payload: &str,
    ) -> Result<Json, RunError> {
        let found = self.get(driver).ok_or_else(|| RunError::NoDriver {
            driver: driver.to_string(),
            op: op.to_string(),
        })?;
        found.run(cx, op, payload).await.map_err(RunError::Failed)
    }

    /// Whether `op` of `driver` removes files `destroy --keep-files` keeps.
    pub fn removes_files(&self, driver: &str, op: &str) -> bool {
        self.get(driver).is_some_and(|d| d.removes_files(op))
    }

    /// What the host does itself of a connection's setup step, if its
    /// driver hoists it.
    pub fn hoist(&self, driver: &str, op: &str, payload: &str) -> Option<Hoisted> {
        self.get(driver)?.hoist(op, payload)
    }
}

impl ExtensionCheck for Drivers {
    fn check_extension(
        &self,
        files: &ProjectDir,
        scope: &Scope,
        driver: &str,
        op: &str,
        payload: &str,
    ) -> Result<(), Denial> {
        match self.get(driver) {
            Some(d) => d.check(files, scope, op, payload),
            // Refused when run, with the driver's name; planning it is not
            // a policy matter.
            None => Ok(()),
        }
    }
}

/// Why a driver's action failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The driver failed it.
    #[error("{0}")]
    Failed(String),
    /// No driver of that name here.
    #[error("no `{driver}` driver in this version of Clockwork (asked for `{op}`)")]
    NoDriver {
        /// The driver asked for.
        driver: String,
        /// The operation.
        op: String,
    },
}
