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

/// A driver's answer, on its way.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<Json, DriverError>> + Send + 'a>>;

/// Makes sure the certificate `request` asks for exists in
/// `.clockwork/tls`, fits its names and is not about to run out; returns
/// whether it was made now.
pub fn issue_certificate(
    files: &ProjectDir,
    project: &str,
    request: &Request,
) -> Result<bool, DriverError> {
    Ok(tls::ensure(files, project, request)?)
}

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
    ) -> Result<Json, DriverError> {
        let found = self.get(driver).ok_or_else(|| DriverError::NoDriver {
            driver: driver.to_string(),
            op: op.to_string(),
        })?;
        found.run(cx, op, payload).await
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

/// Why a driver refused or failed an action, or a certificate could not be
/// made: the driver stage's one error type. What each driver says is its
/// own error, the source of a variant.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DriverError {
    /// No driver of that name here.
    #[error("no `{driver}` driver in this version of Clockwork (asked for `{op}`)")]
    #[diagnostic(code("clockwork::driver::unknown"), help("{PLUGIN_ASKED}"))]
    NoDriver {
        /// The driver asked for.
        driver: String,
        /// The operation.
        op: String,
    },
    /// The driver has no operation of that name.
    #[error("the {driver} driver has no `{op}`")]
    #[diagnostic(code("clockwork::driver::unknown_op"), help("{PLUGIN_ASKED}"))]
    NoOperation {
        /// The driver.
        driver: &'static str,
        /// The operation asked for.
        op: String,
    },
    /// The payload is not what the operation takes.
    #[error("invalid {driver} {op} payload: {message}")]
    #[diagnostic(code("clockwork::driver::payload"), help("{PLUGIN_ASKED}"))]
    Payload {
        /// The driver.
        driver: &'static str,
        /// The operation.
        op: &'static str,
        /// What the parser said.
        message: String,
    },
    /// The `git` driver refused or failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Git(#[from] git::GitError),
    /// The `apple-container` driver refused or failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Apple(#[from] apple::AppleError),
    /// A TLS certificate could not be made.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The help of what only a plugin can have asked for.
const PLUGIN_ASKED: &str =
    "the plugin asked for it, not your declaration: report it to the plugin's author";

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: &dyn miette::Diagnostic) -> Option<String> {
        e.code().map(|c| c.to_string())
    }

    /// A driver's error reads as it did when it was a string, and carries
    /// a code (and, for a certificate, where its files live).
    #[test]
    fn driver_errors_keep_their_words_and_carry_a_code() {
        let tmp = tempfile::tempdir().expect("tmp");
        let files = ProjectDir::open(tmp.path()).expect("open");
        let cx = DriverContext {
            files: &files,
            project_id: "test",
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let run = |driver: &str, op: &str, payload: &str| {
            rt.block_on(Drivers::bundled().run(&cx, driver, op, payload))
                .expect_err("refused")
        };
        for (driver, op, payload, message, expected_code) in [
            (
                "svn",
                "sync",
                "{}",
                "no `svn` driver in this version of Clockwork (asked for `sync`)",
                "clockwork::driver::unknown",
            ),
            (
                "git",
                "fetch",
                "{}",
                "the git driver has no `fetch`",
                "clockwork::driver::unknown_op",
            ),
            (
                "git",
                "sync",
                "{}",
                "invalid git sync payload: missing field `repo_url` at line 1 column 2",
                "clockwork::driver::payload",
            ),
            (
                "git",
                "sync",
                r#"{"repo_url": "-u", "dest": "x"}"#,
                "the repository URL `-u` starts with `-`, which git would read as an option",
                "clockwork::git::option_url",
            ),
            (
                "git",
                "remove",
                r#"{"dest": ".clockwork/x"}"#,
                "`dest` `.clockwork/x` is inside Clockwork's state folder `.clockwork/`; clone somewhere else",
                "clockwork::git::dest",
            ),
            (
                "tls",
                "issue",
                r#"{"service": "api", "hosts": ["api"]}"#,
                "a TLS certificate is made by the host before either end of its connection deploys, never as a step",
                "clockwork::tls::step",
            ),
        ] {
            let e = run(driver, op, payload);
            assert_eq!(e.to_string(), message);
            assert_eq!(code(&e).as_deref(), Some(expected_code), "{message}");
        }
        let bad = Request {
            service: "../x".into(),
            hosts: vec![],
        };
        let e = issue_certificate(&files, "shop", &bad).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "a TLS certificate was asked for `../x`, which is not a service name (letters, digits, `-`, `_`, `.`)"
        );
        assert_eq!(code(&e).as_deref(), Some("clockwork::tls"));
        let help = miette::Diagnostic::help(&e).map(|h| h.to_string());
        assert!(help.is_some_and(|h| h.contains(".clockwork/tls")));
    }

    /// The policy sees what a driver refuses in the driver's words.
    #[test]
    fn a_drivers_check_refuses_in_its_words() {
        let tmp = tempfile::tempdir().expect("tmp");
        let files = ProjectDir::open(tmp.path()).expect("open");
        let scope = Scope::of("repo", "GitRepoResource");
        let refused = Drivers::bundled()
            .check_extension(&files, &scope, "tls", "renew", "{}")
            .expect_err("refused");
        assert_eq!(
            refused,
            Denial::Path("the tls driver has no `renew`".into())
        );
    }
}
