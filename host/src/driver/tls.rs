//! Certificates for connections that ask for TLS (`ServiceMeshConnection`
//! with `tls_enabled`): one CA per project and one certificate per service,
//! made by the host — never by a plugin — in `.clockwork/tls/`, keys with
//! mode 0600. A connection asks with an `ext("tls", "issue", …)` setup
//! step, which the host runs before either end deploys (it is not run as
//! a step), and mounts what it needs read-only: the service's certificate
//! and key in the service, the CA in its client.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};

use crate::project::ProjectDir;

use super::DriverError;
use crate::project::tls::{Request, TLS_DIR, ca_path, service_paths, valid_name};

/// How long a service certificate is valid; it is made again within
/// [`RENEW_BEFORE`] of its end.
const VALID_FOR: Duration = Duration::from_secs(365 * 24 * 60 * 60);
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// How long the project's CA is valid.
const CA_VALID_FOR: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Why a certificate could not be made; a source of
/// [`DriverError::Tls`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TlsError {
    /// The request names a service or host that cannot be one.
    #[error(
        "a TLS certificate was asked for `{0}`, which is not a service name (letters, digits, `-`, `_`, `.`)"
    )]
    #[diagnostic(
        code("clockwork::tls"),
        help(
            "the files live in .clockwork/tls; removing that folder makes a new CA and new certificates at the next apply"
        )
    )]
    Name(String),
    /// rcgen refused.
    #[error("cannot make the TLS certificate for `{service}`: {message}")]
    #[diagnostic(
        code("clockwork::tls"),
        help(
            "the files live in .clockwork/tls; removing that folder makes a new CA and new certificates at the next apply"
        )
    )]
    Generate {
        /// The service.
        service: String,
        /// What went wrong.
        message: String,
    },
    /// The files could not be read or written.
    #[error("cannot keep the TLS files of `{service}` in .clockwork/tls: {source}")]
    #[diagnostic(
        code("clockwork::tls"),
        help(
            "the files live in .clockwork/tls; removing that folder makes a new CA and new certificates at the next apply"
        )
    )]
    Files {
        /// The service.
        service: String,
        /// The cause.
        source: crate::project::PathError,
    },
    /// An `issue` run as a step: the host issues before either end of the
    /// connection deploys, so a plan that gets here is wrong.
    #[error(
        "a TLS certificate is made by the host before either end of its connection deploys, never as a step"
    )]
    #[diagnostic(code("clockwork::tls::step"))]
    AsStep,
}

/// The `tls` driver: `issue` makes a service's certificate. Hoisted out of
/// a connection's setup (see [`super::Hoisted`]), so it runs before
/// either end deploys.
pub(super) struct TlsDriver;

/// The one operation.
const ISSUE: &str = "issue";

/// The driver's name in `ext` actions.
const DRIVER: &str = "tls";

fn request(op: &str, payload: &str) -> Result<Request, DriverError> {
    if op != ISSUE {
        return Err(DriverError::NoOperation {
            driver: DRIVER,
            op: op.to_string(),
        });
    }
    let request: Request = serde_json::from_str(payload).map_err(|e| DriverError::Payload {
        driver: DRIVER,
        op: ISSUE,
        message: e.to_string(),
    })?;
    if let Some(bad) = std::iter::once(&request.service)
        .chain(&request.hosts)
        .find(|n| !valid_name(n))
    {
        return Err(TlsError::Name(bad.clone()).into());
    }
    Ok(request)
}

impl super::Driver for TlsDriver {
    fn name(&self) -> &'static str {
        DRIVER
    }

    fn check(
        &self,
        _files: &ProjectDir,
        _scope: &crate::policy::Scope,
        op: &str,
        payload: &str,
    ) -> Result<(), crate::policy::Denial> {
        request(op, payload)
            .map(|_| ())
            .map_err(|e| crate::policy::Denial::Path(e.to_string()))
    }

    /// Never reached: a valid request is hoisted, an invalid one refused
    /// at the check.
    fn run<'a>(
        &'a self,
        _cx: &'a super::DriverContext<'a>,
        op: &'a str,
        payload: &'a str,
    ) -> super::Running<'a> {
        Box::pin(async move {
            request(op, payload)?;
            Err(TlsError::AsStep.into())
        })
    }

    fn hoist(&self, op: &str, payload: &str) -> Option<super::Hoisted> {
        request(op, payload).ok().map(super::Hoisted::Certificate)
    }
}

/// What is recorded beside a service certificate, to tell whether it still
/// fits.
#[derive(Debug, Serialize, Deserialize)]
struct Issued {
    hosts: Vec<String>,
    not_after: u64,
}

/// Makes sure `request`'s certificate exists, fits its names and is not
/// about to run out; returns whether it was made now.
pub fn ensure(files: &ProjectDir, project: &str, request: &Request) -> Result<bool, TlsError> {
    let service = request.service.clone();
    if !valid_name(&service) {
        return Err(TlsError::Name(service));
    }
    if let Some(bad) = request.hosts.iter().find(|h| !valid_name(h)) {
        return Err(TlsError::Name(bad.clone()));
    }
    let fail = |message: String| TlsError::Generate {
        service: service.clone(),
        message,
    };
    let io = |source| TlsError::Files {
        service: service.clone(),
        source,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (cert, key) = service_paths(&service);
    let record = PathBuf::from(format!("{TLS_DIR}/{service}/issued.json"));
    let fits = files
        .read(&record)
        .ok()
        .and_then(|b| serde_json::from_slice::<Issued>(&b).ok())
        .is_some_and(|i| i.hosts == request.hosts && i.not_after > (now + RENEW_BEFORE).as_secs())
        && files.read(Path::new(&cert)).is_ok()
        && files.read(Path::new(&key)).is_ok();
    if fits {
        return Ok(false);
    }
    let (ca_params, ca_key) = ca(files, project, now).map_err(|e| match e {
        CaError::Files(source) => io(source),
        CaError::Generate(m) => fail(m),
    })?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params =
        CertificateParams::new(request.hosts.clone()).map_err(|e| fail(e.to_string()))?;
    params
        .distinguished_name
        .push(DnType::CommonName, service.as_str());
    params.not_before =
        rcgen::date_time_ymd(1970, 1, 1) + now.saturating_sub(Duration::from_secs(60));
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + now + VALID_FOR;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(|e| fail(e.to_string()))?;
    let leaf = params
        .signed_by(&leaf_key, &issuer)
        .map_err(|e| fail(e.to_string()))?;
    files
        .write_atomic(Path::new(&key), leaf_key.serialize_pem().as_bytes(), 0o600)
        .map_err(io)?;
    files
        .write_atomic(Path::new(&cert), leaf.pem().as_bytes(), 0o644)
        .map_err(io)?;
    let issued = Issued {
        hosts: request.hosts.clone(),
        not_after: (now + VALID_FOR).as_secs(),
    };
    files
        .write_atomic(
            &record,
            serde_json::to_string(&issued)
                .unwrap_or_default()
                .as_bytes(),
            0o600,
        )
        .map_err(io)?;
    Ok(true)
}

enum CaError {
    Files(crate::project::PathError),
    Generate(String),
}

/// The project's CA: its parameters and key, made (and written) when it
/// does not exist. Signing needs only its name and key, which are the
/// same every time, so the written certificate stays the issuer.
fn ca(
    files: &ProjectDir,
    project: &str,
    now: Duration,
) -> Result<(CertificateParams, KeyPair), CaError> {
    let generate = |e: rcgen::Error| CaError::Generate(e.to_string());
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(
        DnType::CommonName,
        format!("Clockwork local CA of {project}"),
    );
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key_path = PathBuf::from(format!("{TLS_DIR}/ca-key.pem"));
    let cert_path = PathBuf::from(ca_path());
    if let (Ok(key), Ok(_)) = (files.read(&key_path), files.read(&cert_path))
        && let Ok(key) = KeyPair::from_pem(&String::from_utf8_lossy(&key))
    {
        return Ok((params, key));
    }
    let key = KeyPair::generate().map_err(generate)?;
    params.not_before =
        rcgen::date_time_ymd(1970, 1, 1) + now.saturating_sub(Duration::from_secs(60));
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + now + CA_VALID_FOR;
    let cert = params.self_signed(&key).map_err(generate)?;
    files
        .write_atomic(&key_path, key.serialize_pem().as_bytes(), 0o600)
        .map_err(CaError::Files)?;
    files
        .write_atomic(&cert_path, cert.pem().as_bytes(), 0o644)
        .map_err(CaError::Files)?;
    Ok((params, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_made_once_and_again_when_its_names_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = ProjectDir::open(dir.path()).expect("project dir");
        let request = Request {
            service: "api".into(),
            hosts: vec!["api".into()],
        };
        assert!(ensure(&files, "shop", &request).expect("made"));
        assert!(!ensure(&files, "shop", &request).expect("kept"));
        let key = dir.path().join(".clockwork/tls/api/key.pem");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&key).expect("key").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let ca_before = std::fs::read(dir.path().join(".clockwork/tls/ca.pem")).expect("ca");
        let wider = Request {
            hosts: vec!["api".into(), "api.internal".into()],
            ..request
        };
        assert!(ensure(&files, "shop", &wider).expect("made again"));
        let ca_after = std::fs::read(dir.path().join(".clockwork/tls/ca.pem")).expect("ca");
        assert_eq!(ca_before, ca_after, "one CA per project");
        let bad = Request {
            service: "../x".into(),
            hosts: vec![],
        };
        assert!(matches!(
            ensure(&files, "shop", &bad),
            Err(TlsError::Name(_))
        ));
    }
}
