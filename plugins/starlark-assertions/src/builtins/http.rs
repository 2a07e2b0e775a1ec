//! `http`: requests to this machine and the project's containers, and the
//! `Response` they return.

use std::fmt;
use std::time::Instant;

use allocative::Allocative;
use anyhow::{anyhow, bail};
use clockwork_sdk::HostError;
use clockwork_sdk::host::probe;
use clockwork_sdk::serde_json::{self, Value as Json};
use starlark::environment::{GlobalsBuilder, Methods, MethodsBuilder, MethodsStatic};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::UnpackFloat;
use starlark::values::none::NoneOr;
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value, starlark_value,
};

use crate::json::{from_starlark, to_starlark};

use super::common::{
    BODY_EXCERPT_CHARS, DEFAULT_MAX_BYTES, HTTP_BODY_CAP, byte_limit, bytes_of, excerpt, ms_since,
    outside_grant, string_pairs, timeout_ms, us_to_ms,
};

/// The answer to an `http.*` call: a response, or why none came.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, Allocative)]
pub struct HttpResponse {
    method: String,
    url: String,
    /// 0 when no response came.
    status: u16,
    /// Lower-case names; repeated headers joined with `, `.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    truncated: bool,
    elapsed_ms: f64,
    ttfb_ms: f64,
    /// Why no response came.
    error: Option<String>,
}

starlark_simple_value!(HttpResponse);

impl HttpResponse {
    fn from_host(method: &str, url: &str, r: probe::HttpResponse) -> Self {
        let mut headers: Vec<(String, String)> = Vec::new();
        for (name, value) in r.headers {
            let name = name.to_ascii_lowercase();
            match headers.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                None => headers.push((name, value)),
            }
        }
        HttpResponse {
            method: method.to_string(),
            url: url.to_string(),
            status: r.status,
            headers,
            body: r.body,
            truncated: r.truncated,
            elapsed_ms: us_to_ms(r.elapsed_us),
            ttfb_ms: us_to_ms(r.ttfb_us),
            error: None,
        }
    }

    fn no_response(method: &str, url: &str, error: String, elapsed_ms: f64) -> Self {
        HttpResponse {
            method: method.to_string(),
            url: url.to_string(),
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            truncated: false,
            elapsed_ms,
            ttfb_ms: elapsed_ms,
            error: Some(error),
        }
    }

    /// A response with a 2xx or 3xx status.
    fn ok(&self) -> bool {
        (200..400).contains(&self.status)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json_value(&self) -> anyhow::Result<Json> {
        if let Some(error) = &self.error {
            bail!(
                "expected a JSON body from `{} {}`, but no response came: {error}",
                self.method,
                self.url
            );
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let text = self.text();
            let shown = excerpt(&text, BODY_EXCERPT_CHARS);
            anyhow!(
                "expected a JSON body from `{} {}` (status {}), but it is not JSON ({e}){}: {}",
                self.method,
                self.url,
                self.status,
                if self.truncated {
                    " and was cut at `max_bytes`"
                } else {
                    ""
                },
                if shown.is_empty() {
                    "the body is empty".to_string()
                } else {
                    format!("it begins {shown:?}")
                }
            )
        })
    }
}

impl fmt::Display for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(
                f,
                "<response {} {}: no response: {e}>",
                self.method, self.url
            ),
            None => write!(
                f,
                "<response {} {}: {}>",
                self.method, self.url, self.status
            ),
        }
    }
}

#[starlark_value(type = "Response")]
impl<'v> StarlarkValue<'v> for HttpResponse {
    fn get_methods() -> Option<&'static Methods> {
        static METHODS: MethodsStatic = MethodsStatic::new("Response", response_methods);
        Some(METHODS.methods())
    }

    /// Like Python's `requests`: a response is true when it is `ok`.
    fn to_bool(&self) -> bool {
        self.ok()
    }
}

#[starlark_module]
pub(super) fn response_methods(builder: &mut MethodsBuilder) {
    /// The HTTP status code, e.g. `200`; `0` when no response came (see
    /// `error`).
    #[starlark(attribute)]
    fn status(this: &HttpResponse) -> anyhow::Result<i32> {
        Ok(i32::from(this.status))
    }

    /// The same as `status`.
    #[starlark(attribute)]
    fn status_code(this: &HttpResponse) -> anyhow::Result<i32> {
        Ok(i32::from(this.status))
    }

    /// `True` when a response came with a status of 200-399. The response
    /// itself is truthy exactly when `ok` is.
    #[starlark(attribute)]
    fn ok(this: &HttpResponse) -> anyhow::Result<bool> {
        Ok(this.ok())
    }

    /// The response headers as a dict, names lower-case
    /// (`r.headers["content-type"]`); a repeated header's values are joined
    /// with `", "`. Empty when no response came.
    #[starlark(attribute)]
    fn headers<'v>(this: &HttpResponse, heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        Ok(heap.alloc(AllocDict(
            this.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        )))
    }

    /// The body as a str (decoded as UTF-8, invalid bytes replaced), at
    /// most `max_bytes` of it. Empty when no response came.
    #[starlark(attribute)]
    fn body(this: &HttpResponse) -> anyhow::Result<String> {
        Ok(this.text())
    }

    /// The same as `body`.
    #[starlark(attribute)]
    fn text(this: &HttpResponse) -> anyhow::Result<String> {
        Ok(this.text())
    }

    /// Milliseconds from sending the request to the last body byte (to
    /// giving up, when no response came), as a float.
    #[starlark(attribute)]
    fn elapsed_ms(this: &HttpResponse) -> anyhow::Result<f64> {
        Ok(this.elapsed_ms)
    }

    /// Milliseconds from sending the request to the first response byte.
    #[starlark(attribute)]
    fn ttfb_ms(this: &HttpResponse) -> anyhow::Result<f64> {
        Ok(this.ttfb_ms)
    }

    /// `None` when a response came (whatever its status); otherwise why
    /// none came: the connection was refused, it timed out, the host name
    /// does not resolve.
    #[starlark(attribute)]
    fn error(this: &HttpResponse) -> anyhow::Result<NoneOr<String>> {
        Ok(NoneOr::from_option(this.error.clone()))
    }

    /// `True` when the body was cut at `max_bytes`.
    #[starlark(attribute)]
    fn truncated(this: &HttpResponse) -> anyhow::Result<bool> {
        Ok(this.truncated)
    }

    /// The URL asked for.
    #[starlark(attribute)]
    fn url(this: &HttpResponse) -> anyhow::Result<String> {
        Ok(this.url.clone())
    }

    /// The body parsed as JSON: objects become dicts, arrays lists. Raises
    /// an error naming the URL and showing the start of the body when the
    /// body is not JSON, or when no response came.
    fn json<'v>(this: &HttpResponse, heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        Ok(to_starlark(&this.json_value()?, heap))
    }
}

/// What `http.*` was asked to send.
pub(super) struct HttpCall<'v> {
    method: String,
    url: String,
    body: NoneOr<Value<'v>>,
    json: NoneOr<Value<'v>>,
    headers: Option<DictRef<'v>>,
    timeout: f64,
    follow_redirects: bool,
    max_bytes: i64,
}

/// A method argument: an HTTP token, upper-cased.
pub(super) fn method_of(method: &str) -> anyhow::Result<String> {
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
        bail!("`method` must be an HTTP method such as \"GET\" or \"POST\", got {method:?}");
    }
    Ok(method.to_ascii_uppercase())
}

/// A URL argument: absolute, `http://` or `https://`.
pub(super) fn url_of(url: &str) -> anyhow::Result<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        bail!("expected an absolute http:// or https:// URL, got {url:?}");
    }
    Ok(url)
}

impl HttpCall<'_> {
    /// The host request this call asks for (arguments checked).
    fn request(&self) -> anyhow::Result<probe::HttpRequest> {
        let method = method_of(&self.method)?;
        let url = url_of(&self.url)?.to_string();
        let mut headers = string_pairs("headers", self.headers.clone())?;
        let body = match (self.body.into_option(), self.json.into_option()) {
            (Some(_), Some(_)) => bail!("give either `body` or `json`, not both"),
            (Some(body), None) => Some(bytes_of("body", body)?),
            (None, Some(value)) => {
                let json = from_starlark(value)
                    .map_err(|e| anyhow!("`json` must be plain data to encode as JSON: {e}"))?;
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                Some(serde_json::to_vec(&json)?)
            }
            (None, None) => None,
        };
        let max_body_bytes = byte_limit("max_bytes", self.max_bytes, HTTP_BODY_CAP)?;
        Ok(probe::HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms: timeout_ms(self.timeout)?,
            max_body_bytes: u32::try_from(max_body_bytes).unwrap_or(u32::MAX),
            follow_redirects: self.follow_redirects,
        })
    }

    fn send(self) -> anyhow::Result<HttpResponse> {
        let request = self.request()?;
        let start = Instant::now();
        match probe::http(&request) {
            Ok(r) => Ok(HttpResponse::from_host(&request.method, &request.url, r)),
            Err(e) => {
                let what = format!("http request `{} {}`", request.method, request.url);
                match e {
                    HostError::Denied(text) => Err(outside_grant(&what, &text)),
                    HostError::InvalidArgument(text) => {
                        Err(anyhow!("{what} was refused as malformed: {text}"))
                    }
                    HostError::TooLarge(text) => Err(anyhow!("{what}: {text}")),
                    e
                    @ (HostError::Failed(_) | HostError::TimedOut(_) | HostError::NotFound(_)) => {
                        Ok(HttpResponse::no_response(
                            &request.method,
                            &request.url,
                            crate::host_error_text(&e),
                            ms_since(start),
                        ))
                    }
                }
            }
        }
    }
}

#[starlark_module]
pub(super) fn http_module(builder: &mut GlobalsBuilder) {
    /// Sends a `GET` request to `url` (`http://` or `https://`; loopback
    /// addresses and this project's containers by name) and returns a
    /// `Response`, whatever its status:
    ///
    /// - `status` / `status_code`: int, `0` when no response came
    /// - `ok`: `True` for a status of 200-399 (the response is truthy when ok)
    /// - `headers`: dict, lower-case names
    /// - `body` / `text`: str (UTF-8, invalid bytes replaced)
    /// - `json()`: the body parsed as JSON (raises when it is not JSON)
    /// - `elapsed_ms`, `ttfb_ms`: float
    /// - `error`: `None`, or why no response came (refused, timed out, not
    ///   resolvable); a failed connection is a value, never an error
    /// - `truncated`: whether the body was cut at `max_bytes`
    /// - `url`: the URL asked for
    ///
    /// `headers`: dict of request headers. `timeout`: seconds (int or float),
    /// at most what is left of the check. `follow_redirects`: follow up to 10
    /// redirects. `max_bytes`: the most body bytes to keep (at most 4 MiB).
    /// Raises for a URL outside the check's network grant.
    ///
    /// ```python
    /// r = http.get("http://localhost:8080/health", timeout = 2)
    /// if not r.ok:
    ///     fail("health answered %d %s" % (r.status, r.error or r.body))
    /// ```
    fn get<'v>(
        #[starlark(require = pos)] url: &str,
        #[starlark(require = named)] headers: Option<DictRef<'v>>,
        #[starlark(require = named, default = UnpackFloat(5.0))] timeout: UnpackFloat,
        #[starlark(require = named, default = true)] follow_redirects: bool,
        #[starlark(require = named, default = DEFAULT_MAX_BYTES)] max_bytes: i64,
    ) -> anyhow::Result<HttpResponse> {
        HttpCall {
            method: "GET".into(),
            url: url.to_string(),
            body: NoneOr::None,
            json: NoneOr::None,
            headers,
            timeout: timeout.0,
            follow_redirects,
            max_bytes,
        }
        .send()
    }

    /// Sends a `POST` request and returns a `Response` (see `http.get`).
    ///
    /// `body`: str or bytes to send. `json`: a value (dicts, lists, str,
    /// numbers, bools, None) to send encoded as JSON, with
    /// `content-type: application/json` unless `headers` sets one; give
    /// `body` or `json`, not both. `headers`, `timeout`, `follow_redirects`,
    /// `max_bytes` as for `http.get`.
    ///
    /// ```python
    /// r = http.post("http://localhost:8080/items", json = {"name": "x"})
    /// ```
    fn post<'v>(
        #[starlark(require = pos)] url: &str,
        #[starlark(require = named, default = NoneOr::None)] body: NoneOr<Value<'v>>,
        #[starlark(require = named, default = NoneOr::None)] json: NoneOr<Value<'v>>,
        #[starlark(require = named)] headers: Option<DictRef<'v>>,
        #[starlark(require = named, default = UnpackFloat(5.0))] timeout: UnpackFloat,
        #[starlark(require = named, default = true)] follow_redirects: bool,
        #[starlark(require = named, default = DEFAULT_MAX_BYTES)] max_bytes: i64,
    ) -> anyhow::Result<HttpResponse> {
        HttpCall {
            method: "POST".into(),
            url: url.to_string(),
            body,
            json,
            headers,
            timeout: timeout.0,
            follow_redirects,
            max_bytes,
        }
        .send()
    }

    /// Sends a request with any method (`"HEAD"`, `"PUT"`, `"DELETE"`, …;
    /// case does not matter) and returns a `Response` (see `http.get`).
    /// `body`, `json`, `headers`, `timeout`, `follow_redirects`, `max_bytes`
    /// as for `http.post`.
    ///
    /// ```python
    /// r = http.request("HEAD", "http://localhost:8080/")
    /// ```
    #[allow(
        clippy::too_many_arguments,
        reason = "`http.request` takes the method, the URL and six options"
    )]
    fn request<'v>(
        #[starlark(require = pos)] method: &str,
        #[starlark(require = pos)] url: &str,
        #[starlark(require = named, default = NoneOr::None)] body: NoneOr<Value<'v>>,
        #[starlark(require = named, default = NoneOr::None)] json: NoneOr<Value<'v>>,
        #[starlark(require = named)] headers: Option<DictRef<'v>>,
        #[starlark(require = named, default = UnpackFloat(5.0))] timeout: UnpackFloat,
        #[starlark(require = named, default = true)] follow_redirects: bool,
        #[starlark(require = named, default = DEFAULT_MAX_BYTES)] max_bytes: i64,
    ) -> anyhow::Result<HttpResponse> {
        HttpCall {
            method: method.to_string(),
            url: url.to_string(),
            body,
            json,
            headers,
            timeout: timeout.0,
            follow_redirects,
            max_bytes,
        }
        .send()
    }
}
