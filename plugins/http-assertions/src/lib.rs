//! HTTP assertions: `HealthcheckAssert`, `HTTPStatusAssert`,
//! `ResponseTimeAssert` and `SSLCertificateAssert`.
//!
//! The first three send one `GET` through the host's `probe` interface
//! (`probe.http`, never following redirects), so they can reach this
//! machine's loopback addresses and the project's containers by name. A
//! refused connection or a timeout is a failing check, which the host
//! retries until the assertion's timeout. `SSLCertificateAssert` asks the
//! host for the server's certificate (`probe.tls-certificate`) and judges it:
//! its verdict cannot change by waiting, so it is not retried, except that a
//! server that cannot be reached yet is a transient error.

use clockwork_sdk::host::{clock, fs, probe};
use clockwork_sdk::prelude::*;

/// The `http-assertions` plugin.
pub struct HttpAssertions;

impl AssertionPlugin for HttpAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!(
            "HTTP checks: health endpoints, status codes, response times, TLS certificates"
        )
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::with_timeout(healthcheck_assert(), 5),
            AssertionType::with_timeout(http_status_assert(), 5),
            AssertionType::with_timeout(response_time_assert(), 10),
            AssertionType::with_timeout(ssl_certificate_assert(), 10).not_retryable(),
        ]
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let config = config_of(&input)?;
        match input.type_name.as_str() {
            "HealthcheckAssert" | "HTTPStatusAssert" => {
                let url = url_of(&config)?;
                let expected = status_of(&config)?;
                let answer = get(&input, url, EXCERPT_BODY_BYTES)?;
                Ok(judge_status(url, expected, answer))
            }
            "ResponseTimeAssert" => {
                let url = url_of(&config)?;
                let max_ms = config
                    .get("max_ms")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| {
                        PluginError::Failed("`max_ms` must be a non-negative integer".into())
                    })?;
                let answer = get(&input, url, TIMED_BODY_BYTES)?;
                Ok(judge_time(url, max_ms, answer))
            }
            "SSLCertificateAssert" => check_certificate(&input, &config),
            other => Err(PluginError::Failed(format!(
                "this plugin has no type `{other}`"
            ))),
        }
    }
}

/// Longest a single request may take, in milliseconds (the plugin call is
/// killed at 5 s).
const REQUEST_CAP_MS: u32 = 4_000;
/// Body bytes read for a status check: enough for an excerpt.
const EXCERPT_BODY_BYTES: u32 = 4 * 1024;
/// Body bytes read for a timing: the whole body, up to the host's cap, so
/// the time to the last byte is the real one.
const TIMED_BODY_BYTES: u32 = 4 * 1024 * 1024;
/// Most characters of a body shown in a report.
const EXCERPT_CHARS: usize = 200;

/// What one `GET` produced: a response, or no answer (refused, timed out,
/// unresolvable), with the host's text.
enum Answer {
    Response(probe::HttpResponse),
    NoAnswer(String),
}

fn url_of(config: &Value) -> Result<&str, PluginError> {
    config
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| PluginError::Failed("`url` must be a string".into()))
}

fn status_of(config: &Value) -> Result<u16, PluginError> {
    config
        .get("expected_status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| {
            PluginError::Failed("`expected_status` must be an HTTP status code, 100-999".into())
        })
}

/// Sends one `GET` without following redirects. A host error that may heal
/// (refused, timed out, no address yet) is an [`Answer::NoAnswer`]; one that
/// cannot is a [`PluginError`].
fn get(input: &CheckInput, url: &str, max_body_bytes: u32) -> Result<Answer, PluginError> {
    let request = probe::HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: Vec::new(),
        body: None,
        timeout_ms: budget_ms(input, REQUEST_CAP_MS),
        max_body_bytes,
        follow_redirects: false,
    };
    match probe::http(&request) {
        Ok(response) => Ok(Answer::Response(response)),
        Err(error) => no_answer(error).map(Answer::NoAnswer),
    }
}

/// Sorts a host error: `Ok(text)` for one that makes the check fail (and be
/// retried), `Err` for one that means it could not run.
fn no_answer(error: HostError) -> Result<String, PluginError> {
    match error {
        HostError::Failed(text) | HostError::TimedOut(text) | HostError::NotFound(text) => Ok(text),
        HostError::Denied(text) => Err(PluginError::Denied(text)),
        HostError::InvalidArgument(text) => {
            Err(PluginError::Failed(format!("the URL was refused: {text}")))
        }
        HostError::TooLarge(text) => Err(PluginError::Failed(text)),
    }
}

/// At most [`EXCERPT_CHARS`] characters of `body`, decoded lossily, and
/// whether anything was cut.
fn excerpt(body: &[u8], truncated: bool) -> (String, bool) {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.chars();
    let shown: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    let cut = truncated || chars.next().is_some();
    (shown, cut)
}

fn ms(micros: u64) -> u64 {
    micros.div_ceil(1000)
}

fn with_timings(outcome: Outcome, response: &probe::HttpResponse) -> Outcome {
    outcome
        .with_timing("first_byte", response.ttfb_us)
        .with_timing("total", response.elapsed_us)
}

/// The outcome of `HealthcheckAssert` and `HTTPStatusAssert`.
fn judge_status(url: &str, expected: u16, answer: Answer) -> Outcome {
    let response = match answer {
        Answer::Response(response) => response,
        Answer::NoAnswer(text) => {
            return Outcome::fail(
                format!("GET {url}: no answer"),
                format!("status {expected}"),
                format!("no answer: {text}"),
            )
            .with_details(json!({ "url": url, "error": text }));
        }
    };
    let status = response.status;
    let (body, cut) = excerpt(&response.body, response.truncated);
    let details = json!({
        "url": url,
        "status": status,
        "body_excerpt": body,
        "body_excerpt_cut": cut,
        "location": response.headers.iter().find(|(k, _)| k == "location").map(|(_, v)| v),
    });
    let outcome = if status == expected {
        Outcome::pass(format!(
            "GET {url} returned {status} in {} ms",
            ms(response.elapsed_us)
        ))
    } else {
        let ellipsis = if cut { "…" } else { "" };
        Outcome::fail(
            format!("GET {url}: expected {expected}, got {status}"),
            format!("status {expected}"),
            format!("status {status}, body {body:?}{ellipsis}"),
        )
    };
    with_timings(outcome.with_details(details), &response)
}

/// The outcome of `ResponseTimeAssert`: passes when the last body byte
/// arrived at most `max_ms` after the request was sent.
fn judge_time(url: &str, max_ms: u64, answer: Answer) -> Outcome {
    let response = match answer {
        Answer::Response(response) => response,
        Answer::NoAnswer(text) => {
            return Outcome::fail(
                format!("GET {url}: no answer"),
                format!("<= {max_ms} ms"),
                format!("no answer: {text}"),
            )
            .with_details(json!({ "url": url, "error": text }));
        }
    };
    let total_ms = ms(response.elapsed_us);
    let first_byte_ms = ms(response.ttfb_us);
    let details = json!({
        "url": url,
        "status": response.status,
        "total_us": response.elapsed_us,
        "first_byte_us": response.ttfb_us,
        "body_bytes": response.body.len(),
        "body_truncated": response.truncated,
    });
    let outcome = if response.elapsed_us <= max_ms.saturating_mul(1000) {
        Outcome::pass(format!(
            "GET {url} took {total_ms} ms (limit {max_ms} ms, status {})",
            response.status
        ))
    } else {
        Outcome::fail(
            format!("GET {url} took {total_ms} ms"),
            format!("<= {max_ms} ms"),
            format!("{total_ms} ms (first byte {first_byte_ms} ms)"),
        )
    };
    with_timings(outcome.with_details(details), &response)
}

/// Largest `ca_file` read, in bytes.
const MAX_CA_FILE_BYTES: u64 = 1 << 20;
const MS_PER_DAY: i64 = 86_400_000;

/// The host and port of an `https://` URL (443 when none is given); an IPv6
/// literal loses its brackets.
fn https_target(url: &str) -> Result<(String, u16), PluginError> {
    let refused = || {
        PluginError::Failed(format!(
            "`url` must be an https:// URL with a host, not `{url}`"
        ))
    };
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
        .ok_or_else(refused)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(refused)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(refused());
    }
    let port = match port {
        None | Some("") => 443,
        Some(p) => p.parse::<u16>().map_err(|_| refused())?,
    };
    Ok((host.to_string(), port))
}

/// What `SSLCertificateAssert` requires of a certificate.
struct CertificateRule<'a> {
    /// The name it must be valid for.
    server_name: &'a str,
    min_days_valid: u64,
    issuer_contains: Option<&'a str>,
}

fn check_certificate(input: &CheckInput, config: &Value) -> Result<Outcome, PluginError> {
    let url = url_of(config)?;
    let (host, port) = https_target(url)?;
    let min_days_valid = match config.get("min_days_valid") {
        None | Some(Value::Null) => 30,
        Some(v) => v.as_u64().ok_or_else(|| {
            PluginError::Failed("`min_days_valid` must be a non-negative integer".into())
        })?,
    };
    let optional = |key: &str| match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(PluginError::Failed(format!("`{key}` must be a string"))),
    };
    let server_name = optional("server_name")?;
    let issuer_contains = optional("issuer_contains")?;
    let ca_pem = optional("ca_file")?.map(read_ca_file).transpose()?;

    let started = clock::elapsed_us();
    let certificate = probe::tls_certificate(
        &host,
        port,
        server_name,
        ca_pem.as_deref(),
        budget_ms(input, REQUEST_CAP_MS),
    );
    let handshake_us = clock::elapsed_us().saturating_sub(started);
    let certificate = match certificate {
        Ok(c) => c,
        // The type is not retried, but a server that is not up yet may be.
        Err(HostError::Failed(t) | HostError::TimedOut(t) | HostError::NotFound(t)) => {
            return Err(PluginError::Transient(t));
        }
        Err(HostError::Denied(t)) => return Err(PluginError::Denied(t)),
        Err(HostError::InvalidArgument(t) | HostError::TooLarge(t)) => {
            return Err(PluginError::Failed(t));
        }
    };
    let rule = CertificateRule {
        server_name: server_name.unwrap_or(&host),
        min_days_valid,
        issuer_contains,
    };
    let now_ms = i64::try_from(clock::now_unix_ms()).unwrap_or(i64::MAX);
    Ok(judge_certificate(url, &rule, &certificate, now_ms).with_timing("handshake", handshake_us))
}

/// The text of the PEM file `path` (relative to the project).
fn read_ca_file(path: &str) -> Result<String, PluginError> {
    let bytes = fs::read("project", path, MAX_CA_FILE_BYTES).map_err(|e| match e {
        HostError::Denied(t) => PluginError::Denied(t),
        HostError::NotFound(_) => {
            PluginError::Failed(format!("`ca_file` `{path}` does not exist in the project"))
        }
        HostError::TooLarge(_) => PluginError::Failed(format!(
            "`ca_file` `{path}` is larger than {MAX_CA_FILE_BYTES} bytes"
        )),
        HostError::TimedOut(t) | HostError::InvalidArgument(t) | HostError::Failed(t) => {
            PluginError::Failed(format!("cannot read `ca_file` `{path}`: {t}"))
        }
    })?;
    String::from_utf8(bytes)
        .map_err(|_| PluginError::Failed(format!("`ca_file` `{path}` is not PEM text")))
}

/// `ms` since the epoch as `YYYY-MM-DD` (UTC).
fn date(ms: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = ms.div_euclid(MS_PER_DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The outcome of `SSLCertificateAssert` for `certificate` at `now_ms`:
/// it must verify, stay valid `min_days_valid` more whole days, and have
/// the issuer asked for.
fn judge_certificate(
    url: &str,
    rule: &CertificateRule<'_>,
    certificate: &probe::Certificate,
    now_ms: i64,
) -> Outcome {
    let name = rule.server_name;
    let not_after = date(certificate.not_after_unix_ms);
    let days_left = (certificate.not_after_unix_ms - now_ms).div_euclid(MS_PER_DAY);
    let details = json!({
        "url": url,
        "server_name": name,
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "dns_names": certificate.dns_names,
        "not_before": date(certificate.not_before_unix_ms),
        "not_after": not_after,
        "not_before_unix_ms": certificate.not_before_unix_ms,
        "not_after_unix_ms": certificate.not_after_unix_ms,
        "days_left": days_left,
        "chain_length": certificate.chain_length,
        "verify_error": certificate.verify_error,
    });
    let min_days = rule.min_days_valid;
    let outcome = if let Some(why) = &certificate.verify_error {
        Outcome::fail(
            format!("{url}: the certificate for {name} does not verify"),
            format!("a certificate that verifies for {name}"),
            format!("does not verify: {why}"),
        )
    } else if days_left < i64::try_from(min_days).unwrap_or(i64::MAX) {
        let actual = if days_left < 0 {
            format!("expired {} days ago ({not_after})", -days_left)
        } else {
            format!("expires in {days_left} days ({not_after})")
        };
        Outcome::fail(
            format!("{url}: the certificate for {name} expires on {not_after}"),
            format!("valid for at least {min_days} days"),
            actual,
        )
    } else if let Some(wanted) = rule.issuer_contains.filter(|w| {
        !certificate
            .issuer
            .to_lowercase()
            .contains(&w.to_lowercase())
    }) {
        Outcome::fail(
            format!("{url}: the certificate for {name} has another issuer"),
            format!("an issuer containing `{wanted}`"),
            format!("issuer `{}`", certificate.issuer),
        )
    } else {
        Outcome::pass(format!(
            "{url}: the certificate for {name} verifies and is valid until {not_after} ({days_left} days), \
             issuer {}",
            certificate.issuer
        ))
    };
    outcome.with_details(details)
}

/// The `url` field every type here has, with a type-specific first sentence.
fn url(summary: &str) -> Field {
    Field::new(
        "url",
        "string",
        &format!(
            "{summary} \
             An absolute `http://` or `https://` URL. Use `localhost` and the published port to test what this \
             machine sees (`http://localhost:8080/health`), or a container's `name` and its container port to test \
             what other containers see (`http://api:8000/health`)."
        ),
    )
    .required()
}

fn healthcheck_assert() -> TypeDef {
    TypeDef::new(
        "HealthcheckAssert",
        "Checks that a health endpoint answers with the expected status, 200 by default. \
         Sends one `GET` to `url` without following redirects, and passes when the status equals \
         `expected_status`. `clockwork assert` retries a failing check until `timeout_seconds` have passed, so a \
         service that is still starting gets a few seconds. A `ServiceMeshConnection` adds one of these for its \
         service.",
    )
    .field(url("The health endpoint to request, e.g. `http://localhost:8080/health`.").example(json!(
        "http://localhost:8080/health"
    )))
    .field(
        Field::new("expected_status", "int", "The HTTP status code that counts as healthy, e.g. `200` or `204`.")
            .default(json!(200))
            .example(json!(204)),
    )
}

fn http_status_assert() -> TypeDef {
    TypeDef::new(
        "HTTPStatusAssert",
        "Checks that a URL answers with a given HTTP status code. \
         Sends one `GET` to `url` without following redirects, and passes when the status equals \
         `expected_status`. Unlike `HealthcheckAssert`, the status must be given, so it also fits answers such as \
         `301` for a redirect, `401` for a protected page or `404` for a page that must not exist.",
    )
    .field(url("The URL to request, e.g. `http://localhost:8080/admin`.").example(json!("http://localhost:8080/admin")))
    .field(
        Field::new(
            "expected_status",
            "int",
            "The HTTP status code the response must have, e.g. `200`, `301` or `401`.",
        )
        .required()
        .example(json!(200))
        .example(json!(401)),
    )
}

fn response_time_assert() -> TypeDef {
    TypeDef::new(
        "ResponseTimeAssert",
        "Checks that a URL answers within a time limit. \
         Sends one `GET` to `url` without following redirects and measures the time until the whole response has \
         arrived; passes when it is at most `max_ms`. Any status counts as an answer: pair it with \
         `HTTPStatusAssert` to also check the status.",
    )
    .field(url("The URL to time, e.g. `http://localhost:8080/`.").example(json!("http://localhost:8080/")))
    .field(
        Field::new(
            "max_ms",
            "int",
            "The longest acceptable response time, in milliseconds, from sending the request to the last byte \
             of the body.",
        )
        .required()
        .example(json!(200)),
    )
}

fn ssl_certificate_assert() -> TypeDef {
    TypeDef::new(
        "SSLCertificateAssert",
        "Checks that a server's TLS certificate is valid and does not expire soon. \
         Connects to `url`, which must be `https://`, and passes when the certificate chain is valid for the \
         URL's host and stays valid for at least `min_days_valid` more days. Waiting does not change a \
         certificate, so a failure is reported at once; a server that cannot be reached yet is retried. \
         The chain is verified against the system's roots, or the CA certificates of `ca_file` for a private \
         CA; `issuer_contains` also pins the issuer.",
    )
    .field(url("The `https://` URL whose certificate to check, e.g. `https://localhost:8443/`.").example(json!(
        "https://localhost:8443/"
    )))
    .field(
        Field::new(
            "min_days_valid",
            "int",
            "How many days the certificate must stay valid from now. \
             `30` warns a month ahead of expiry; `0` only checks that it is valid today.",
        )
        .default(json!(30))
        .example(json!(14)),
    )
    .field(
        Field::new(
            "server_name",
            "string",
            "The name the certificate must be valid for, sent as SNI. Defaults to the URL's host; set it when \
             connecting by address or through `localhost` to a server whose certificate names its public host.",
        )
        .example(json!("api.example.test")),
    )
    .field(
        Field::new(
            "ca_file",
            "string",
            "A PEM file of CA certificates, relative to the project folder, to verify the chain against instead \
             of the system's roots; for a private or development CA.",
        )
        .example(json!("certs/dev-ca.pem")),
    )
    .field(
        Field::new(
            "issuer_contains",
            "string",
            "Text the certificate's issuer (e.g. `CN=R11, O=Let's Encrypt, C=US`) must contain, compared \
             without regard to case.",
        )
        .example(json!("Let's Encrypt")),
    )
}

export_assertion_plugin!(HttpAssertions);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::TypeSchema;

    use super::*;

    fn schema(name: &str) -> TypeSchema {
        <HttpAssertions as AssertionPlugin>::types()
            .into_iter()
            .find(|t| t.def.name() == name)
            .map(|t| t.def.schema().clone())
            .unwrap_or_else(|| panic!("no type `{name}`"))
    }

    #[test]
    fn schemas_have_no_problems() {
        let types = <HttpAssertions as AssertionPlugin>::types();
        let names: Vec<&str> = types.iter().map(|t| t.def.name()).collect();
        assert_eq!(
            names,
            [
                "HealthcheckAssert",
                "HTTPStatusAssert",
                "ResponseTimeAssert",
                "SSLCertificateAssert"
            ]
        );
        for t in &types {
            assert_eq!(t.def.schema().problems(), vec![], "{}", t.def.name());
            assert!(t.def.schema().field("description").is_some());
            assert!(t.def.schema().field("timeout_seconds").is_some());
        }
    }

    #[test]
    fn fields_match_the_contract() {
        let expected: [(&str, &[&str]); 4] = [
            ("HealthcheckAssert", &["url", "expected_status"]),
            ("HTTPStatusAssert", &["url", "expected_status"]),
            ("ResponseTimeAssert", &["url", "max_ms"]),
            (
                "SSLCertificateAssert",
                &[
                    "url",
                    "min_days_valid",
                    "server_name",
                    "ca_file",
                    "issuer_contains",
                ],
            ),
        ];
        for (type_name, fields) in expected {
            let schema = schema(type_name);
            for field in fields {
                assert!(schema.field(field).is_some(), "{type_name} lacks `{field}`");
            }
            assert!(
                schema.field("url").is_some_and(|f| f.required),
                "{type_name}: `url` is required"
            );
        }
        let health = schema("HealthcheckAssert");
        assert_eq!(
            health
                .field("expected_status")
                .and_then(|f| f.default_value()),
            Some(json!(200))
        );
        assert_eq!(
            health
                .field("timeout_seconds")
                .and_then(|f| f.default_value()),
            Some(json!(5))
        );
        assert!(
            schema("HTTPStatusAssert")
                .field("expected_status")
                .is_some_and(|f| f.required)
        );
        assert!(
            schema("ResponseTimeAssert")
                .field("max_ms")
                .is_some_and(|f| f.required)
        );
        let ssl = schema("SSLCertificateAssert");
        assert_eq!(
            ssl.field("min_days_valid").and_then(|f| f.default_value()),
            Some(json!(30))
        );
    }

    fn response(status: u16, body: &[u8], elapsed_us: u64, ttfb_us: u64) -> Answer {
        Answer::Response(probe::HttpResponse {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.to_vec(),
            truncated: false,
            elapsed_us,
            ttfb_us,
        })
    }

    fn details(outcome: &Outcome) -> Value {
        clockwork_sdk::serde_json::from_str(&outcome.details).unwrap()
    }

    const URL: &str = "http://localhost:8000/health";

    #[test]
    fn matching_status_passes_with_timings() {
        let outcome = judge_status(URL, 200, response(200, b"ok", 12_345, 10_000));
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "GET http://localhost:8000/health returned 200 in 13 ms"
        );
        assert_eq!(
            outcome.timings,
            vec![
                ("first_byte".to_string(), 10_000),
                ("total".to_string(), 12_345)
            ]
        );
        assert_eq!(details(&outcome)["body_excerpt"], json!("ok"));
    }

    #[test]
    fn other_status_fails_with_body_excerpt() {
        let outcome = judge_status(
            URL,
            200,
            response(503, b"Service Unavailable\n", 1_000, 900),
        );
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.message,
            "GET http://localhost:8000/health: expected 200, got 503"
        );
        assert_eq!(outcome.expected.as_deref(), Some("status 200"));
        assert_eq!(
            outcome.actual.as_deref(),
            Some("status 503, body \"Service Unavailable\\n\"")
        );
        assert_eq!(details(&outcome)["status"], json!(503));
    }

    #[test]
    fn long_or_binary_bodies_are_cut_to_200_chars() {
        let long = "é".repeat(300);
        let (shown, cut) = excerpt(long.as_bytes(), false);
        assert_eq!(shown.chars().count(), 200);
        assert!(cut);
        let (shown, cut) = excerpt(&[b'a', 0xff, b'b'], false);
        assert_eq!(shown, "a\u{fffd}b");
        assert!(!cut);
        let (_, cut) = excerpt(b"short", true);
        assert!(cut, "a body the host truncated counts as cut");
        let outcome = judge_status(URL, 204, response(500, long.as_bytes(), 1, 1));
        assert!(
            outcome
                .actual
                .as_deref()
                .is_some_and(|a| a.ends_with("\"…"))
        );
    }

    #[test]
    fn no_answer_is_a_failure_not_an_error() {
        let outcome = judge_status(URL, 200, Answer::NoAnswer("connection refused".into()));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(outcome.expected.as_deref(), Some("status 200"));
        assert_eq!(
            outcome.actual.as_deref(),
            Some("no answer: connection refused")
        );
        assert!(matches!(no_answer(HostError::Failed("refused".into())), Ok(t) if t == "refused"));
        assert!(matches!(no_answer(HostError::TimedOut("slow".into())), Ok(t) if t == "slow"));
        assert!(
            matches!(no_answer(HostError::Denied("grant".into())), Err(PluginError::Denied(t)) if t == "grant")
        );
        assert!(matches!(
            no_answer(HostError::InvalidArgument("bad".into())),
            Err(PluginError::Failed(_))
        ));
    }

    #[test]
    fn response_time_within_the_limit_passes() {
        let outcome = judge_time(URL, 200, response(200, b"", 200_000, 150_000));
        assert_eq!(outcome.verdict, Verdict::Pass, "{}", outcome.message);
        assert_eq!(outcome.timings[1], ("total".to_string(), 200_000));
    }

    #[test]
    fn slow_response_fails_with_both_times() {
        let outcome = judge_time(URL, 200, response(200, b"", 412_000, 409_000));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.message,
            "GET http://localhost:8000/health took 412 ms"
        );
        assert_eq!(outcome.expected.as_deref(), Some("<= 200 ms"));
        assert_eq!(
            outcome.actual.as_deref(),
            Some("412 ms (first byte 409 ms)")
        );
        assert_eq!(details(&outcome)["first_byte_us"], json!(409_000));
        let refused = judge_time(URL, 200, Answer::NoAnswer("refused".into()));
        assert_eq!(refused.verdict, Verdict::Fail);
        assert_eq!(refused.actual.as_deref(), Some("no answer: refused"));
    }

    fn cert(not_after_unix_ms: i64, verify_error: Option<&str>) -> probe::Certificate {
        probe::Certificate {
            subject: "CN=api.localhost".into(),
            issuer: "CN=Test CA, O=Example".into(),
            dns_names: vec!["localhost".into()],
            not_before_unix_ms: 1_767_225_600_000, // 2026-01-01
            not_after_unix_ms,
            chain_length: 2,
            verify_error: verify_error.map(str::to_string),
        }
    }

    const TLS_URL: &str = "https://localhost:8443/";
    /// 2026-12-01 12:00 UTC.
    const NOW: i64 = 1_796_126_400_000;
    /// 2026-12-13 00:00 UTC: 11.5 days after NOW.
    const DEC_13: i64 = 1_797_120_000_000;

    fn rule(min_days_valid: u64, issuer_contains: Option<&str>) -> CertificateRule<'_> {
        CertificateRule {
            server_name: "localhost",
            min_days_valid,
            issuer_contains,
        }
    }

    #[test]
    fn a_verified_certificate_with_time_left_passes() {
        let outcome = judge_certificate(
            TLS_URL,
            &rule(10, Some("test ca")),
            &cert(DEC_13, None),
            NOW,
        );
        assert_eq!(outcome.verdict, Verdict::Pass, "{}", outcome.message);
        assert_eq!(
            outcome.message,
            "https://localhost:8443/: the certificate for localhost verifies and is valid until 2026-12-13 \
             (11 days), issuer CN=Test CA, O=Example"
        );
        let details = details(&outcome);
        assert_eq!(details["days_left"], json!(11));
        assert_eq!(details["not_before"], json!("2026-01-01"));
        assert_eq!(details["dns_names"], json!(["localhost"]));
    }

    #[test]
    fn a_certificate_expiring_soon_fails() {
        let outcome = judge_certificate(
            TLS_URL,
            &rule(30, None),
            &cert(DEC_13 + MS_PER_DAY / 2, None),
            NOW,
        );
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.message,
            "https://localhost:8443/: the certificate for localhost expires on 2026-12-13"
        );
        assert_eq!(
            outcome.expected.as_deref(),
            Some("valid for at least 30 days")
        );
        assert_eq!(
            outcome.actual.as_deref(),
            Some("expires in 12 days (2026-12-13)")
        );
        // `0` only asks for validity today.
        let today = judge_certificate(TLS_URL, &rule(0, None), &cert(NOW + 1, None), NOW);
        assert_eq!(today.verdict, Verdict::Pass);
        let gone = judge_certificate(
            TLS_URL,
            &rule(0, None),
            &cert(NOW - 3 * MS_PER_DAY, None),
            NOW,
        );
        assert_eq!(
            gone.actual.as_deref(),
            Some("expired 3 days ago (2026-11-28)")
        );
    }

    #[test]
    fn a_certificate_that_does_not_verify_fails_with_why() {
        let outcome = judge_certificate(
            TLS_URL,
            &rule(0, None),
            &cert(
                DEC_13,
                Some("unknown issuer: the chain does not lead to one of the system's roots"),
            ),
            NOW,
        );
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("a certificate that verifies for localhost")
        );
        assert_eq!(
            outcome.actual.as_deref(),
            Some(
                "does not verify: unknown issuer: the chain does not lead to one of the system's roots"
            )
        );
        assert_eq!(
            details(&outcome)["verify_error"],
            json!("unknown issuer: the chain does not lead to one of the system's roots")
        );
    }

    #[test]
    fn another_issuer_fails() {
        let outcome = judge_certificate(
            TLS_URL,
            &rule(0, Some("Let's Encrypt")),
            &cert(DEC_13, None),
            NOW,
        );
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.expected.as_deref(),
            Some("an issuer containing `Let's Encrypt`")
        );
        assert_eq!(
            outcome.actual.as_deref(),
            Some("issuer `CN=Test CA, O=Example`")
        );
    }

    #[test]
    fn https_urls_give_host_and_port() {
        let target = |u: &str| https_target(u).ok();
        assert_eq!(
            target("https://localhost:8443/x"),
            Some(("localhost".into(), 8443))
        );
        assert_eq!(
            target("HTTPS://api.example.test"),
            Some(("api.example.test".into(), 443))
        );
        assert_eq!(target("https://u:p@web:9443?q"), Some(("web".into(), 9443)));
        assert_eq!(target("https://[::1]:8443/"), Some(("::1".into(), 8443)));
        assert_eq!(target("https://[::1]/"), Some(("::1".into(), 443)));
        assert_eq!(target("http://localhost/"), None);
        assert_eq!(target("https:///path"), None);
        assert_eq!(target("https://host:99999/"), None);
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(DEC_13 - 1), "2026-12-12");
        assert_eq!(date(1_709_251_199_000), "2024-02-29");
    }

    #[test]
    fn config_readers_refuse_what_the_schema_should_have() {
        assert!(status_of(&json!({"expected_status": 200})).is_ok_and(|s| s == 200));
        assert!(status_of(&json!({"expected_status": 70000})).is_err());
        assert!(status_of(&json!({})).is_err());
        assert!(url_of(&json!({"url": 3})).is_err());
    }
}
