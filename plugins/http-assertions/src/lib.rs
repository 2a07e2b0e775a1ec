//! HTTP assertions: `HealthcheckAssert`, `HTTPStatusAssert`,
//! `ResponseTimeAssert` and `SSLCertificateAssert`.
//!
//! All four send requests through the host's `probe` interface, so they can
//! reach this machine's loopback addresses and the project's containers by
//! name. This crate only describes the types for now; `check` comes later.

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
         certificate, so a failure is reported at once; a server that cannot be reached yet is retried.",
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
            ("SSLCertificateAssert", &["url", "min_days_valid"]),
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
}
