//! `probe.tls-certificate`: the certificate chain a TLS server presents,
//! and whether it verifies.
//!
//! The handshake uses rustls (ring provider) with a verifier that accepts any
//! chain but records it together with what rustls' own WebPKI verifier says
//! about it, against webpki-roots or the CA certificates given. A certificate
//! that does not verify is therefore a result, not a failed handshake. The
//! leaf is described with `x509-parser`.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use x509_parser::extensions::GeneralName;

use crate::plugin::bindings::host::clockwork::plugin::probe::Certificate;
use crate::plugin::bindings::types::HostError;

/// Connects to `host` (at one of `addresses`) on `port`, shakes hands for
/// `server_name`, and describes the chain.
pub(super) async fn certificate(
    host: &str,
    addresses: &[IpAddr],
    port: u16,
    server_name: &str,
    ca_pem: Option<&str>,
    budget: Duration,
) -> Result<Certificate, HostError> {
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| {
        HostError::InvalidArgument(format!("`{server_name}` is not a server name: {e}"))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (roots, against) = roots(ca_pem)?;
    let verifier = Recorder::new(roots, provider.clone())?;
    let seen = verifier.seen.clone();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HostError::Failed(format!("cannot configure TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let started = Instant::now();
    let stream = connect(host, addresses, port, budget, started).await?;
    let remaining = budget.saturating_sub(started.elapsed());
    match tokio::time::timeout(remaining, connector.connect(name, stream)).await {
        Ok(Ok(_tls)) => {}
        Ok(Err(e)) => {
            return Err(HostError::Failed(format!(
                "TLS handshake with {host}:{port} failed: {e}"
            )));
        }
        Err(_) => {
            return Err(HostError::TimedOut(format!(
                "no TLS handshake with {host}:{port} within {} ms",
                budget.as_millis()
            )));
        }
    }

    let Some(Seen { chain, verdict }) = seen.lock().unwrap_or_else(PoisonError::into_inner).take()
    else {
        return Err(HostError::Failed(format!(
            "{host}:{port} completed the handshake without presenting a certificate"
        )));
    };
    describe(&chain, verdict.err().map(|e| why(&e, against)))
}

/// Opens a TCP connection to the first address of `addresses` that answers.
async fn connect(
    host: &str,
    addresses: &[IpAddr],
    port: u16,
    budget: Duration,
    started: Instant,
) -> Result<TcpStream, HostError> {
    if addresses.is_empty() {
        return Err(HostError::NotFound(format!("`{host}` has no address")));
    }
    let mut last_error = String::new();
    for ip in addresses {
        let remaining = budget.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, TcpStream::connect(SocketAddr::new(*ip, port))).await
        {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last_error = format!("{ip}:{port}: {e}"),
            Err(_) => {
                return Err(HostError::TimedOut(format!(
                    "no TCP connection to {host}:{port} within {} ms",
                    budget.as_millis()
                )));
            }
        }
    }
    Err(HostError::Failed(format!(
        "cannot connect to {host}:{port}: {last_error}"
    )))
}

/// Which roots a chain is verified against, for the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Against {
    System,
    Given,
}

/// The trust anchors: the certificates of `ca_pem`, else webpki-roots.
fn roots(ca_pem: Option<&str>) -> Result<(RootCertStore, Against), HostError> {
    let Some(pem) = ca_pem else {
        let store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        return Ok((store, Against::System));
    };
    let mut store = RootCertStore::empty();
    for (i, der) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let der = der.map_err(|e| {
            HostError::InvalidArgument(format!("ca-pem: certificate {} is not PEM: {e}", i + 1))
        })?;
        store.add(der).map_err(|e| {
            HostError::InvalidArgument(format!(
                "ca-pem: certificate {} is not a usable CA certificate: {e}",
                i + 1
            ))
        })?;
    }
    if store.is_empty() {
        return Err(HostError::InvalidArgument(
            "ca-pem holds no `BEGIN CERTIFICATE` block".into(),
        ));
    }
    Ok((store, Against::Given))
}

/// What the server presented and what WebPKI said about it.
#[derive(Debug)]
struct Seen {
    chain: Vec<CertificateDer<'static>>,
    verdict: Result<(), rustls::Error>,
}

/// A verifier that accepts every chain, recording it and the verdict of
/// the real one.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Option<Seen>>>,
}

impl Recorder {
    fn new(roots: RootCertStore, provider: Arc<CryptoProvider>) -> Result<Self, HostError> {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| HostError::InvalidArgument(format!("cannot use these roots: {e}")))?;
        Ok(Self {
            inner,
            seen: Arc::default(),
        })
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(Seen { chain, verdict });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// One line saying why a chain does not verify.
fn why(error: &rustls::Error, against: Against) -> String {
    let roots = match against {
        Against::System => "the system's roots",
        Against::Given => "the given CA certificates",
    };
    match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::Expired => "certificate expired".into(),
            CertificateError::ExpiredContext { not_after, .. } => format!(
                "certificate expired on {}",
                utc(i64::try_from(not_after.as_secs()).unwrap_or(i64::MAX))
            ),
            CertificateError::NotValidYet => "certificate is not valid yet".into(),
            CertificateError::NotValidYetContext { not_before, .. } => format!(
                "certificate is not valid before {}",
                utc(i64::try_from(not_before.as_secs()).unwrap_or(i64::MAX))
            ),
            CertificateError::UnknownIssuer => {
                format!("unknown issuer: the chain does not lead to one of {roots}")
            }
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// `secs` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The WIT record for `chain` (leaf first).
fn describe(
    chain: &[CertificateDer<'_>],
    verify_error: Option<String>,
) -> Result<Certificate, HostError> {
    let Some(leaf) = chain.first() else {
        return Err(HostError::Failed("the server sent an empty chain".into()));
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf).map_err(|e| {
        HostError::Failed(format!("the server's certificate cannot be parsed: {e}"))
    })?;
    let dns_names = match parsed.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(name) => Some((*name).to_string()),
                _ => None,
            })
            .collect(),
        Ok(None) | Err(_) => Vec::new(),
    };
    let validity = parsed.validity();
    Ok(Certificate {
        subject: parsed.subject().to_string(),
        issuer: parsed.issuer().to_string(),
        dns_names,
        not_before_unix_ms: validity.not_before.timestamp().saturating_mul(1000),
        not_after_unix_ms: validity.not_after.timestamp().saturating_mul(1000),
        chain_length: u32::try_from(chain.len()).unwrap_or(u32::MAX),
        verify_error,
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
    };
    use rustls::pki_types::PrivateKeyDer;
    use tokio::net::TcpListener;

    use super::*;

    const LOCALHOST: [IpAddr; 1] = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    const BUDGET: Duration = Duration::from_secs(5);

    struct Pki {
        ca_pem: String,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    }

    /// A CA `Test CA` and a leaf for `localhost` it signed, valid between
    /// the given years (1 January, midnight UTC).
    fn pki(from: i32, until: i32) -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "Test CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let mut leaf =
            CertificateParams::new(vec!["localhost".to_string(), "api.localhost".to_string()])
                .unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "api.localhost");
        leaf.not_before = date_time_ymd(from, 1, 1);
        leaf.not_after = date_time_ymd(until, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &ca).unwrap();
        Pki {
            ca_pem: ca.pem(),
            chain: vec![cert.der().clone(), ca.der().clone()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }

    /// A TLS server on 127.0.0.1 presenting `pki`'s chain to every client.
    async fn serve(pki: &Pki) -> u16 {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut [0u8; 16]).await;
                    }
                });
            }
        });
        port
    }

    fn ms(year: i32) -> i64 {
        date_time_ymd(year, 1, 1).unix_timestamp() * 1000
    }

    #[tokio::test]
    async fn a_certificate_from_the_given_ca_verifies() {
        let pki = pki(2020, 2090);
        let port = serve(&pki).await;
        let cert = certificate(
            "localhost",
            &LOCALHOST,
            port,
            "localhost",
            Some(&pki.ca_pem),
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(cert.verify_error, None);
        assert_eq!(cert.subject, "CN=api.localhost");
        assert_eq!(cert.issuer, "CN=Test CA");
        assert_eq!(cert.dns_names, ["localhost", "api.localhost"]);
        assert_eq!(cert.not_before_unix_ms, ms(2020));
        assert_eq!(cert.not_after_unix_ms, ms(2090));
        assert_eq!(cert.chain_length, 2);
    }

    #[tokio::test]
    async fn against_the_system_roots_the_issuer_is_unknown() {
        let pki = pki(2020, 2090);
        let port = serve(&pki).await;
        let cert = certificate("localhost", &LOCALHOST, port, "localhost", None, BUDGET)
            .await
            .unwrap();
        assert_eq!(
            cert.verify_error.as_deref(),
            Some("unknown issuer: the chain does not lead to one of the system's roots")
        );
        assert_eq!(cert.subject, "CN=api.localhost");
    }

    #[tokio::test]
    async fn an_expired_certificate_is_a_result() {
        let pki = pki(2020, 2021);
        let port = serve(&pki).await;
        let cert = certificate(
            "localhost",
            &LOCALHOST,
            port,
            "localhost",
            Some(&pki.ca_pem),
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(
            cert.verify_error.as_deref(),
            Some("certificate expired on 2021-01-01 00:00:00 UTC")
        );
        assert_eq!(cert.not_after_unix_ms, ms(2021));
    }

    #[tokio::test]
    async fn another_name_does_not_verify() {
        let pki = pki(2020, 2090);
        let port = serve(&pki).await;
        let cert = certificate(
            "localhost",
            &LOCALHOST,
            port,
            "example.test",
            Some(&pki.ca_pem),
            BUDGET,
        )
        .await
        .unwrap();
        let why = cert.verify_error.unwrap();
        assert!(
            why.contains("not valid for name \"example.test\"") && why.contains("localhost"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn a_closed_port_fails() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = certificate("localhost", &LOCALHOST, port, "localhost", None, BUDGET)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Failed(m) if m.starts_with(&format!("cannot connect to localhost:{port}: 127.0.0.1:{port}"))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_server_that_does_not_speak_tls_fails() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ =
                tokio::io::AsyncWriteExt::write_all(&mut stream, b"HTTP/1.1 400 Bad\r\n\r\n").await;
        });
        let err = certificate("localhost", &LOCALHOST, port, "localhost", None, BUDGET)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Failed(m) if m.starts_with("TLS handshake with localhost:")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = certificate(
            "localhost",
            &LOCALHOST,
            port,
            "localhost",
            None,
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
        drop(listener);
        assert!(
            matches!(&err, HostError::TimedOut(m) if m.contains("within 200 ms")),
            "{err:?}"
        );
    }

    #[test]
    fn bad_ca_pem_is_an_invalid_argument() {
        assert!(matches!(
            roots(Some("not a certificate")),
            Err(HostError::InvalidArgument(m)) if m.contains("no `BEGIN CERTIFICATE`")
        ));
    }

    #[test]
    fn dates_are_written_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_860_800 + 3661), "2026-12-10 01:01:01 UTC");
        assert_eq!(utc(1_709_251_199), "2024-02-29 23:59:59 UTC");
    }
}
