//! The bundled `SSLCertificateAssert` against a real TLS server on
//! loopback, through the host's `probe.tls-certificate`, and the bundled
//! `DiskSpaceAssert` on a temporary project.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clockwork::wit::assertion::exports::clockwork::plugin::assertions::{
    CheckInput, Outcome, Verdict,
};
use clockwork::{LoadedPlugin, PluginSource, bundled_plugins};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{runtime, test_cache};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// A temporary project folder and a bundled plugin loaded with it as the
/// `project` root.
async fn bundled(name: &str) -> (tempfile::TempDir, LoadedPlugin) {
    let project = tempfile::tempdir().expect("temp dir");
    let rt = runtime(Some(project.path().to_path_buf()), None, Some(test_cache()));
    let plugin = bundled_plugins()
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no bundled plugin `{name}`"));
    let loaded = rt
        .load(
            PluginSource::Bundled,
            None,
            format!("bundled:{name}"),
            Arc::from(plugin.wasm),
        )
        .await
        .unwrap_or_else(|e| panic!("bundled plugin `{name}` does not load: {e}"));
    (project, loaded)
}

/// Validates `config` as the host does, then runs one check with it.
async fn check(plugin: &LoadedPlugin, type_name: &str, config: Value) -> Outcome {
    let validated = match plugin.validate(type_name, "check", &config).await {
        Ok(Ok(v)) => v,
        other => panic!("{type_name} {config} does not validate: {other:?}"),
    };
    let input = CheckInput {
        type_name: type_name.into(),
        config: validated.to_string(),
        target: None,
        target_state: None,
        attempt: 1,
        remaining_ms: 4000,
    };
    match plugin.check(&input).await {
        Ok(Ok(outcome)) => outcome,
        other => panic!("{type_name} {config} did not run: {other:?}"),
    }
}

fn failed(outcome: &Outcome) -> (&str, &str) {
    assert_eq!(outcome.verdict, Verdict::Fail, "{outcome:?}");
    (
        outcome
            .expected
            .as_deref()
            .expect("a failure says what it expected"),
        outcome
            .actual
            .as_deref()
            .expect("a failure says what it found"),
    )
}

struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A CA `Test CA` and a leaf for `localhost` it signed, valid from a day
/// ago until 90 days from now.
fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");

    let now = date_time_ymd(1970, 1, 1)
        + SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.not_before = now - DAY;
    leaf.not_after = now + 90 * DAY;
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &ca).expect("leaf certificate");
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
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(pki.chain.clone(), pki.key.clone_key())
    .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
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

/// The http-assertions plugin with `ca.pem` in its project, and a server.
async fn tls_setup() -> (tempfile::TempDir, LoadedPlugin, String) {
    let (project, plugin) = bundled("http-assertions").await;
    let pki = pki();
    std::fs::write(project.path().join("ca.pem"), &pki.ca_pem).expect("write ca.pem");
    let port = serve(&pki).await;
    (project, plugin, format!("https://localhost:{port}/"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_the_project_ca_with_days_to_spare_passes() {
    let (_project, plugin, url) = tls_setup().await;
    let outcome = check(
        &plugin,
        "SSLCertificateAssert",
        json!({"url": url, "ca_file": "ca.pem", "min_days_valid": 30}),
    )
    .await;
    assert_eq!(outcome.verdict, Verdict::Pass, "{outcome:?}");
    assert!(
        outcome.message.contains("CN=Test CA"),
        "{}",
        outcome.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_expiring_before_min_days_valid_fails() {
    let (_project, plugin, url) = tls_setup().await;
    let outcome = check(
        &plugin,
        "SSLCertificateAssert",
        json!({"url": url, "ca_file": "ca.pem", "min_days_valid": 120}),
    )
    .await;
    let (expected, actual) = failed(&outcome);
    assert_eq!(expected, "valid for at least 120 days");
    assert!(
        actual.starts_with("expires in 89 days") || actual.starts_with("expires in 90 days"),
        "{actual}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_system_roots_a_private_ca_does_not_verify() {
    let (_project, plugin, url) = tls_setup().await;
    let outcome = check(&plugin, "SSLCertificateAssert", json!({"url": url})).await;
    let (expected, actual) = failed(&outcome);
    assert_eq!(expected, "a certificate that verifies for localhost");
    assert!(actual.contains("does not verify"), "{actual}");
    assert!(actual.contains("unknown issuer"), "{actual}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_issuer_fails_and_names_the_issuer() {
    let (_project, plugin, url) = tls_setup().await;
    let outcome = check(
        &plugin,
        "SSLCertificateAssert",
        json!({"url": url, "ca_file": "ca.pem", "issuer_contains": "Nope"}),
    )
    .await;
    let (expected, actual) = failed(&outcome);
    assert_eq!(expected, "an issuer containing `Nope`");
    assert_eq!(actual, "issuer `CN=Test CA`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_space_passes_with_a_tiny_minimum_and_fails_with_a_huge_one() {
    let (_project, plugin) = bundled("file-assertions").await;
    let outcome = check(
        &plugin,
        "DiskSpaceAssert",
        json!({"min_gb_free": 0.000_001}),
    )
    .await;
    assert_eq!(outcome.verdict, Verdict::Pass, "{outcome:?}");

    let outcome = check(&plugin, "DiskSpaceAssert", json!({"min_gb_free": 1e12})).await;
    let (expected, actual) = failed(&outcome);
    assert!(expected.starts_with("at least "), "{expected}");
    assert!(actual.contains("GB free"), "{actual}");
}
