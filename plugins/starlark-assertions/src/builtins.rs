//! The modules a check may use besides the Starlark language:
//! `http`, `tcp`, `udp`, `dns`, `exec`, `docker`, `file`, `re`, `time`,
//! `sleep` (and `json`, `struct`, `fail` from Starlark itself).
//!
//! Every builtin that reaches out goes through a host import of the
//! assertion world, so the host's grants apply: the network grant (this
//! machine's loopback addresses and the project's containers), the project
//! folder, the project's containers.
//!
//! Starlark has no `try`/`except`, so what a check is there to observe — a
//! refused connection, a timeout, a non-zero exit, a 404 — comes back as a
//! value the check can test. Only misuse raises an error: an argument of the
//! wrong type or value, a target outside the check's grant.

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use allocative::Allocative;
use anyhow::{anyhow, bail};
use clockwork_sdk::HostError;
use clockwork_sdk::host::{clock, docker, exec as host_exec, fs, probe};
use clockwork_sdk::serde_json::{self, Value as Json};
use regex::{Captures, Regex, RegexBuilder};
use starlark::environment::{GlobalsBuilder, Methods, MethodsBuilder, MethodsStatic};
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::bytes::StarlarkBytes;
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::float::UnpackFloat;
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::{NoneOr, NoneType};
use starlark::values::structs::AllocStruct;
use starlark::values::tuple::{AllocTuple, TupleRef};
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, UnpackValue, Value, ValueLike,
    starlark_value,
};

use crate::context;
use crate::json::{from_starlark, to_starlark};

/// Adds every builtin to `builder`.
pub fn register(builder: &mut GlobalsBuilder) {
    builder.namespace("http", http_module);
    builder.namespace("tcp", tcp_module);
    builder.namespace("udp", udp_module);
    builder.namespace("dns", dns_module);
    builder.namespace("docker", docker_module);
    builder.namespace("file", file_module);
    builder.namespace("re", re_module);
    builder.namespace("time", time_module);
    global_functions(builder);
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Default for `http.*(max_bytes = ...)` and `file.read(max_bytes = ...)`.
const DEFAULT_MAX_BYTES: i64 = 1 << 20;
/// The host's cap on a response body.
const HTTP_BODY_CAP: u64 = 4 << 20;
/// The host's cap on a file read.
const FILE_READ_CAP: u64 = 16 << 20;
/// The host's cap on each of a command's stdout and stderr.
const EXEC_OUTPUT_CAP: u32 = 1 << 20;
/// How many characters of a body a `json()` error shows.
const BODY_EXCERPT_CHARS: usize = 120;

/// The error for a call the host refused as outside the grant.
fn outside_grant(what: &str, host_text: &str) -> anyhow::Error {
    anyhow!("{what} is outside this check's grant: {host_text}")
}

/// `seconds` as a timeout: a positive, finite number.
fn positive_seconds(name: &str, seconds: f64) -> anyhow::Result<f64> {
    if !seconds.is_finite() || seconds <= 0.0 {
        bail!("`{name}` must be a positive number of seconds, got {seconds}");
    }
    Ok(seconds)
}

/// A host call's timeout in milliseconds: `seconds`, capped by what is
/// left of the check.
fn timeout_ms(seconds: f64) -> anyhow::Result<u32> {
    let seconds = positive_seconds("timeout", seconds)?;
    Ok(context::current()?.timeout_ms(seconds))
}

/// A port argument: 1-65535.
fn port_of(port: i32) -> anyhow::Result<u16> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow!("`port` must be a port number 1-65535, got {port}"))
}

/// A byte limit argument: at least 1, at most `cap` (larger asks are cut
/// to the cap).
fn byte_limit(name: &str, value: i64, cap: u64) -> anyhow::Result<u64> {
    if value < 1 {
        bail!("`{name}` must be a positive number of bytes, got {value}");
    }
    Ok(u64::try_from(value).unwrap_or(cap).min(cap))
}

/// Milliseconds since `start`, as a float.
fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Microseconds as float milliseconds.
fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// A dict argument of string keys and scalar values (str, int, float,
/// bool) as name-value pairs, in the dict's order.
fn string_pairs(name: &str, dict: Option<DictRef>) -> anyhow::Result<Vec<(String, String)>> {
    let Some(dict) = dict else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let Some(key) = key.unpack_str() else {
            bail!(
                "`{name}` must map strings to strings, got the key {} `{}`",
                key.get_type(),
                key.to_repr()
            );
        };
        let value = if let Some(s) = value.unpack_str() {
            s.to_string()
        } else if matches!(value.get_type(), "int" | "float" | "bool") {
            value.to_str()
        } else {
            bail!(
                "`{name}` must map strings to strings, got {} `{}` for `{key}`",
                value.get_type(),
                value.to_repr()
            );
        };
        pairs.push((key.to_string(), value));
    }
    Ok(pairs)
}

/// A `str` or `bytes` argument as bytes.
fn bytes_of(name: &str, value: Value) -> anyhow::Result<Vec<u8>> {
    if let Some(s) = value.unpack_str() {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(b) = value.downcast_ref::<StarlarkBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    bail!(
        "`{name}` must be a str or bytes, got {} `{}`",
        value.get_type(),
        value.to_repr()
    )
}

/// The first `chars` characters of `text`, with `…` when cut.
fn excerpt(text: &str, chars: usize) -> String {
    let mut it = text.chars();
    let shown: String = it.by_ref().take(chars).collect();
    if it.next().is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

// ---------------------------------------------------------------------------
// http
// ---------------------------------------------------------------------------

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
fn response_methods(builder: &mut MethodsBuilder) {
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
struct HttpCall<'v> {
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
fn method_of(method: &str) -> anyhow::Result<String> {
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
        bail!("`method` must be an HTTP method such as \"GET\" or \"POST\", got {method:?}");
    }
    Ok(method.to_ascii_uppercase())
}

/// A URL argument: absolute, `http://` or `https://`.
fn url_of(url: &str) -> anyhow::Result<&str> {
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
fn http_module(builder: &mut GlobalsBuilder) {
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

// ---------------------------------------------------------------------------
// tcp, udp, dns
// ---------------------------------------------------------------------------

/// Sorts a probe's host error: `Ok(text)` for an outcome the check is there
/// to observe, `Err` for misuse.
fn probe_outcome(what: &str, e: HostError) -> anyhow::Result<String> {
    match e {
        HostError::Denied(text) => Err(outside_grant(what, &text)),
        HostError::InvalidArgument(text) => Err(anyhow!("{what} was refused: {text}")),
        e => Ok(crate::host_error_text(&e)),
    }
}

#[starlark_module]
fn tcp_module(builder: &mut GlobalsBuilder) {
    /// Opens a TCP connection to `host:port` and closes it at once (no
    /// data is sent). Returns `struct(ok, error, elapsed_ms)`: `ok` is
    /// `True` when it connected; `error` is `None`, or why it did not
    /// (refused, timed out, not resolvable); `elapsed_ms` is the time to
    /// connect (or to give up), a float. `timeout`: seconds. Raises for a
    /// host outside the check's network grant.
    ///
    /// ```python
    /// c = tcp.connect("localhost", 5432)
    /// ```
    fn connect<'v>(
        #[starlark(require = pos)] host: &str,
        #[starlark(require = pos)] port: i32,
        #[starlark(require = named, default = UnpackFloat(2.0))] timeout: UnpackFloat,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let port = port_of(port)?;
        let ms = timeout_ms(timeout.0)?;
        let start = Instant::now();
        let (ok, error, elapsed_ms) = match probe::tcp_connect(host, port, ms) {
            Ok(us) => (true, None, us_to_ms(us)),
            Err(e) => {
                let what = format!("tcp.connect to `{host}:{port}`");
                (false, Some(probe_outcome(&what, e)?), ms_since(start))
            }
        };
        Ok(heap.alloc(AllocStruct([
            ("ok", heap.alloc(ok)),
            ("error", heap.alloc(NoneOr::from_option(error))),
            ("elapsed_ms", heap.alloc(elapsed_ms)),
        ])))
    }
}

#[starlark_module]
fn udp_module(builder: &mut GlobalsBuilder) {
    /// Sends one UDP datagram (`payload`, str or bytes) to `host:port` and
    /// waits for any reply. Returns `struct(ok, error, reply_bytes,
    /// elapsed_ms)`: `ok` is `True` when a reply came; `reply_bytes` is its
    /// length (`None` when none came); `error` is `None` or why no reply
    /// came. UDP has no handshake: a timeout may mean a closed port or a
    /// silent service. Raises for a host outside the check's network grant.
    fn exchange<'v>(
        #[starlark(require = pos)] host: &str,
        #[starlark(require = pos)] port: i32,
        #[starlark(require = named)] payload: Option<Value<'v>>,
        #[starlark(require = named, default = UnpackFloat(2.0))] timeout: UnpackFloat,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let port = port_of(port)?;
        let payload = match payload {
            Some(p) => bytes_of("payload", p)?,
            None => Vec::new(),
        };
        let ms = timeout_ms(timeout.0)?;
        let start = Instant::now();
        let (reply, error) = match probe::udp_exchange(host, port, &payload, ms) {
            Ok(n) => (Some(n), None),
            Err(e) => {
                let what = format!("udp.exchange with `{host}:{port}`");
                (None, Some(probe_outcome(&what, e)?))
            }
        };
        Ok(heap.alloc(AllocStruct([
            ("ok", heap.alloc(reply.is_some())),
            ("error", heap.alloc(NoneOr::from_option(error))),
            ("reply_bytes", heap.alloc(NoneOr::from_option(reply))),
            ("elapsed_ms", heap.alloc(ms_since(start))),
        ])))
    }
}

#[starlark_module]
fn dns_module(builder: &mut GlobalsBuilder) {
    /// Resolves a host name to its IP addresses, as a list of str
    /// (`["172.18.0.3"]`); this project's container names resolve to their
    /// addresses on the project network. Returns `[]` when the name does not
    /// resolve (or the lookup fails). Raises for a name outside the check's
    /// network grant.
    fn resolve<'v>(
        #[starlark(require = pos)] name: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let addresses = match probe::resolve(name) {
            Ok(addresses) => addresses,
            Err(e) => {
                probe_outcome(&format!("dns.resolve of `{name}`"), e)?;
                Vec::new()
            }
        };
        Ok(heap.alloc(AllocList(addresses)))
    }
}

// ---------------------------------------------------------------------------
// exec, sleep
// ---------------------------------------------------------------------------

/// An `argv` argument: a non-empty list (or tuple) of strings.
fn argv_of(argv: Value) -> anyhow::Result<Vec<String>> {
    if argv.unpack_str().is_some() {
        bail!(
            "`argv` must be a list of strings such as [\"sh\", \"-c\", \"...\"], got the string {}",
            argv.to_repr()
        );
    }
    let items: Vec<Value> = if let Some(list) = ListRef::from_value(argv) {
        list.iter().collect()
    } else if let Some(tuple) = TupleRef::from_value(argv) {
        tuple.iter().collect()
    } else {
        bail!(
            "`argv` must be a list of strings, got {} `{}`",
            argv.get_type(),
            argv.to_repr()
        )
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.unpack_str() {
            Some(s) => out.push(s.to_string()),
            None => bail!(
                "`argv` must be a list of strings, got {} `{}` in it",
                item.get_type(),
                item.to_repr()
            ),
        }
    }
    if out.is_empty() {
        bail!("`argv` must name a program to run, got an empty list");
    }
    Ok(out)
}

/// The struct `exec` returns.
fn exec_struct<'v>(
    heap: Heap<'v>,
    exit_code: Option<i32>,
    stdout: &str,
    stderr: &str,
    elapsed_ms: f64,
    error: Option<String>,
) -> Value<'v> {
    heap.alloc(AllocStruct([
        ("exit_code", heap.alloc(NoneOr::from_option(exit_code))),
        ("stdout", heap.alloc(stdout)),
        ("stderr", heap.alloc(stderr)),
        ("ok", heap.alloc(exit_code == Some(0))),
        ("elapsed_ms", heap.alloc(elapsed_ms)),
        ("error", heap.alloc(NoneOr::from_option(error))),
    ]))
}

/// Why `sleep(seconds)` may not sleep, if it may not.
fn sleep_refusal(seconds: f64, remaining: Duration) -> Option<String> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Some(format!(
            "sleep() needs a non-negative number of seconds, got {seconds}"
        ));
    }
    if seconds > remaining.as_secs_f64() {
        return Some(format!(
            "sleep({seconds}) would pass the check's deadline: {:.3} s are left; \
             wait less, or raise the assertion's `timeout_seconds`",
            remaining.as_secs_f64()
        ));
    }
    None
}

fn do_sleep(seconds: f64) -> anyhow::Result<()> {
    let ctx = context::current()?;
    if let Some(refusal) = sleep_refusal(seconds, ctx.remaining()) {
        bail!("{refusal}");
    }
    std::thread::sleep(Duration::from_secs_f64(seconds));
    Ok(())
}

#[starlark_module]
fn global_functions(builder: &mut GlobalsBuilder) {
    /// Runs a command in a running container of this project and waits for
    /// it. `container`: a container name or a resource (its container); the
    /// check must be granted it (its own resource's container, the resources
    /// it joins, those in the assertion's `allow = [...]`), else this raises.
    /// `argv`: the program and its arguments, a non-empty list of str; no
    /// shell is involved unless argv names one (`["sh", "-c", "..."]`).
    /// `env`: dict of extra environment variables. `user`, `workdir`: str,
    /// the container's defaults when `None`. `timeout`: seconds.
    ///
    /// Returns `struct(exit_code, stdout, stderr, ok, elapsed_ms, error)`:
    /// `ok` is `exit_code == 0`; stdout and stderr are str (at most 1 MiB
    /// each). A non-zero exit is a value, not an error. When the command did
    /// not finish (timed out, the container is not running) `exit_code` is
    /// `None`, `ok` is `False` and `error` says why; `error` is `None`
    /// otherwise.
    ///
    /// ```python
    /// r = exec(resource, ["pg_isready", "-h", "localhost"])
    /// ```
    fn exec<'v>(
        #[starlark(require = pos)] container: Value<'v>,
        #[starlark(require = pos)] argv: Value<'v>,
        #[starlark(require = named)] env: Option<DictRef<'v>>,
        #[starlark(require = named, default = NoneOr::None)] user: NoneOr<String>,
        #[starlark(require = named, default = NoneOr::None)] workdir: NoneOr<String>,
        #[starlark(require = named, default = UnpackFloat(10.0))] timeout: UnpackFloat,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let name = context::container_of(container)?;
        let argv = argv_of(argv)?;
        let env = string_pairs("env", env)?;
        context::current()?.may_exec(&name)?;
        let request = host_exec::ExecRequest {
            container: name.clone(),
            argv,
            env,
            user: user.into_option(),
            workdir: workdir.into_option(),
            timeout_ms: timeout_ms(timeout.0)?,
            max_output_bytes: EXEC_OUTPUT_CAP,
        };
        let start = Instant::now();
        match host_exec::run(&request) {
            Ok(out) => Ok(exec_struct(
                heap,
                Some(out.exit_code),
                &out.stdout,
                &out.stderr,
                us_to_ms(out.elapsed_us),
                None,
            )),
            Err(HostError::Denied(text)) => {
                Err(outside_grant(&format!("exec into `{name}`"), &text))
            }
            Err(HostError::InvalidArgument(text)) => {
                Err(anyhow!("exec into `{name}` was refused: {text}"))
            }
            Err(e) => Ok(exec_struct(
                heap,
                None,
                "",
                "",
                ms_since(start),
                Some(crate::host_error_text(&e)),
            )),
        }
    }

    /// Waits `seconds` (int or float, not negative). Raises instead when
    /// the wait would pass the check's deadline, saying how much time is
    /// left. Prefer letting the assertion retry over sleeping in a loop.
    fn sleep(#[starlark(require = pos)] seconds: UnpackFloat) -> anyhow::Result<NoneType> {
        do_sleep(seconds.0)?;
        Ok(NoneType)
    }
}

// ---------------------------------------------------------------------------
// docker
// ---------------------------------------------------------------------------

/// The error for a failed `docker.*` call.
fn docker_error(what: &str, e: HostError) -> anyhow::Error {
    match e {
        HostError::Denied(text) => outside_grant(what, &text),
        HostError::NotFound(text) => anyhow!("{what}: no such container ({text})"),
        e => anyhow!("{what} failed: {}", crate::host_error_text(&e)),
    }
}

#[starlark_module]
fn docker_module(builder: &mut GlobalsBuilder) {
    /// What the Docker Engine reports about a container of this project
    /// (`container`: a name or a resource): its inspect JSON as dicts and
    /// lists (`d["State"]["Running"]`), or `None` when no such container
    /// exists. Raises for a container of another project.
    fn inspect<'v>(
        #[starlark(require = pos)] container: Value<'v>,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let name = context::container_of(container)?;
        let what = format!("docker.inspect of `{name}`");
        match docker::inspect_container(&name) {
            Ok(Some(text)) => {
                let json: Json = serde_json::from_str(&text)
                    .map_err(|e| anyhow!("{what}: the Engine's answer is not JSON: {e}"))?;
                Ok(to_starlark(&json, heap))
            }
            Ok(None) | Err(HostError::NotFound(_)) => Ok(Value::new_none()),
            Err(e) => Err(docker_error(&what, e)),
        }
    }

    /// The last `tail` lines of a container's combined stdout and stderr,
    /// as one str (at most 1 MiB). `since`: only lines logged at or after
    /// this time, in Unix seconds (int or float, e.g. `time.now() - 60`).
    /// Raises when the container does not exist (test that with
    /// `docker.inspect(c) != None`) or belongs to another project.
    fn logs<'v>(
        #[starlark(require = pos)] container: Value<'v>,
        #[starlark(require = named, default = 100)] tail: i64,
        #[starlark(require = named, default = NoneOr::None)] since: NoneOr<UnpackFloat>,
    ) -> anyhow::Result<String> {
        let name = context::container_of(container)?;
        let tail = u32::try_from(tail)
            .map_err(|_| anyhow!("`tail` must be a number of lines, 0 or more, got {tail}"))?;
        let what = format!("docker.logs of `{name}`");
        let result = match since.into_option() {
            None => docker::container_logs(&name, tail),
            Some(UnpackFloat(s)) => {
                if !s.is_finite() || s < 0.0 {
                    bail!(
                        "`since` must be a time in Unix seconds, such as time.now() - 60, got {s}"
                    );
                }
                docker::container_logs_since(&name, (s * 1000.0).ceil() as u64, tail)
            }
        };
        result.map_err(|e| docker_error(&what, e))
    }

    /// The names of this project's containers, as a list of str.
    fn containers<'v>(heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        let names = docker::list_containers().map_err(|e| docker_error("docker.containers", e))?;
        Ok(heap.alloc(AllocList(names)))
    }
}

// ---------------------------------------------------------------------------
// file
// ---------------------------------------------------------------------------

/// The only root checks read from.
const ROOT: &str = "project";

/// The error for a failed `file.*` call.
fn file_error(what: &str, path: &str, e: HostError) -> anyhow::Error {
    match e {
        HostError::Denied(text) => anyhow!(
            "{what} of `{path}` is outside this check's grant: checks read only files inside the \
             project folder, by paths relative to it ({text})"
        ),
        e => anyhow!("{what} of `{path}` failed: {}", crate::host_error_text(&e)),
    }
}

#[starlark_module]
fn file_module(builder: &mut GlobalsBuilder) {
    /// The content of a file in the project folder (`path` relative to
    /// it, e.g. `"config/app.yaml"`), as a str (UTF-8, invalid bytes
    /// replaced). `max_bytes`: the largest file to read (at most 16 MiB).
    /// Raises when the file is missing (test that with `file.exists`), is
    /// larger than `max_bytes`, or lies outside the project folder.
    fn read(
        #[starlark(require = pos)] path: &str,
        #[starlark(require = named, default = DEFAULT_MAX_BYTES)] max_bytes: i64,
    ) -> anyhow::Result<String> {
        let max = byte_limit("max_bytes", max_bytes, FILE_READ_CAP)?;
        match fs::read(ROOT, path, max) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(HostError::NotFound(_)) => bail!(
                "file.read: no file `{path}` in the project folder; use file.exists(path) to test for one"
            ),
            Err(HostError::TooLarge(text)) => {
                bail!("file.read of `{path}`: the file is larger than max_bytes = {max} ({text})")
            }
            Err(e) => Err(file_error("file.read", path, e)),
        }
    }

    /// Whether `path` (relative to the project folder) exists, file or
    /// directory. Raises for a path outside the project folder.
    fn exists(#[starlark(require = pos)] path: &str) -> anyhow::Result<bool> {
        match fs::stat(ROOT, path) {
            Ok(stat) => Ok(stat.is_some()),
            Err(HostError::NotFound(_)) => Ok(false),
            Err(e) => Err(file_error("file.exists", path, e)),
        }
    }

    /// Describes `path` (relative to the project folder):
    /// `struct(size, mode, is_dir, modified)` — size in bytes (0 for a
    /// directory), Unix permission bits as an int (`0o644`), whether it is a
    /// directory, last modification in Unix seconds (float) — or `None` when
    /// it does not exist.
    fn stat<'v>(
        #[starlark(require = pos)] path: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        match fs::stat(ROOT, path) {
            Ok(Some(s)) => Ok(heap.alloc(AllocStruct([
                ("size", heap.alloc(s.size)),
                ("mode", heap.alloc(s.mode)),
                ("is_dir", heap.alloc(s.is_dir)),
                ("modified", heap.alloc(s.modified_unix_ms as f64 / 1000.0)),
            ]))),
            Ok(None) | Err(HostError::NotFound(_)) => Ok(Value::new_none()),
            Err(e) => Err(file_error("file.stat", path, e)),
        }
    }

    /// The entry names of a directory of the project folder (`path`
    /// relative to it, the folder itself by default), sorted. Raises when
    /// it does not exist.
    fn list<'v>(
        #[starlark(require = pos, default = ".")] path: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        match fs::list_dir(ROOT, path) {
            Ok(names) => Ok(heap.alloc(AllocList(names))),
            Err(HostError::NotFound(_)) => bail!(
                "file.list: no directory `{path}` in the project folder; use file.exists(path) to test for one"
            ),
            Err(e) => Err(file_error("file.list", path, e)),
        }
    }
}

// ---------------------------------------------------------------------------
// re
// ---------------------------------------------------------------------------

/// How a pattern is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// Anywhere (`re.search`, `findall`, `sub`, `split`).
    None,
    /// At the start of the text (`re.match`).
    Start,
    /// The whole text (`re.fullmatch`).
    Full,
}

/// Compiled patterns kept per instance.
const REGEX_CACHE_SIZE: usize = 64;

/// Forgets the compiled patterns: each check starts with none, so one
/// check's patterns neither count against the next one's memory nor
/// outlive it in a kept instance.
pub fn forget_patterns() {
    REGEX_CACHE.with(|cache| cache.borrow_mut().clear());
}

thread_local! {
    /// Recently used patterns, least recently used first.
    static REGEX_CACHE: RefCell<Vec<(Anchor, String, Regex)>> = const { RefCell::new(Vec::new()) };
}

/// regex's message without its picture of the pattern: the `error:` line.
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_string())
}

fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(10 << 20).build()
}

/// Compiles `pattern` anchored as asked, checking it first as written so
/// errors are about what the user wrote.
fn compile(pattern: &str, anchor: Anchor) -> anyhow::Result<Regex> {
    let invalid = |e: regex::Error| {
        anyhow!(
            "invalid regular expression {pattern:?}: {} (the syntax is Rust's `regex`: no look-around or backreferences)",
            regex_message(&e)
        )
    };
    let plain = build_regex(pattern).map_err(invalid)?;
    let (prefix, suffix) = match anchor {
        Anchor::None => return Ok(plain),
        Anchor::Start => (r"\A(?:", ")"),
        Anchor::Full => (r"\A(?:", r")\z"),
    };
    // A pattern ending in an `(?x)` comment would comment out the closing
    // parenthesis; a newline ends the comment (and is ignored in x mode).
    build_regex(&format!("{prefix}{pattern}{suffix}"))
        .or_else(|_| build_regex(&format!("{prefix}{pattern}\n{suffix}")))
        .map_err(invalid)
}

/// `pattern` compiled, from the cache when it was used recently.
fn cached_regex(pattern: &str, anchor: Anchor) -> anyhow::Result<Regex> {
    let hit = REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let at = cache
            .iter()
            .position(|(a, p, _)| *a == anchor && p == pattern)?;
        let entry = cache.remove(at);
        let regex = entry.2.clone();
        cache.push(entry);
        Some(regex)
    });
    if let Some(regex) = hit {
        return Ok(regex);
    }
    let regex = compile(pattern, anchor)?;
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= REGEX_CACHE_SIZE {
            cache.remove(0);
        }
        cache.push((anchor, pattern.to_string(), regex.clone()));
    });
    Ok(regex)
}

/// The character index of byte offset `byte` in `text` (Starlark indexes
/// strings by character).
fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// One group of a match: character offsets and the text.
#[derive(Debug, Clone)]
struct Group {
    start: usize,
    end: usize,
    text: String,
}

/// A successful `re.search`, `re.match` or `re.fullmatch`.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, Allocative)]
pub struct RegexMatch {
    /// Group 0 (the whole match) first; `None` for a group that did not
    /// take part.
    #[allocative(skip)]
    groups: Vec<Option<Group>>,
    /// Each group's name, if it has one.
    #[allocative(skip)]
    names: Vec<Option<String>>,
}

starlark_simple_value!(RegexMatch);

impl RegexMatch {
    fn new(regex: &Regex, caps: &Captures, text: &str) -> Self {
        let groups = (0..caps.len())
            .map(|i| {
                caps.get(i).map(|m| Group {
                    start: char_index(text, m.start()),
                    end: char_index(text, m.end()),
                    text: m.as_str().to_string(),
                })
            })
            .collect();
        let names = regex
            .capture_names()
            .map(|n| n.map(str::to_string))
            .collect();
        RegexMatch { groups, names }
    }

    /// The index of group `n` (an int or a group name).
    fn index(&self, n: Option<Value>) -> anyhow::Result<usize> {
        let Some(n) = n else { return Ok(0) };
        if let Some(name) = n.unpack_str() {
            return self
                .names
                .iter()
                .position(|g| g.as_deref() == Some(name))
                .ok_or_else(|| anyhow!("no group named {name:?} in the pattern"));
        }
        let Ok(Some(i)) = i64::unpack_value(n) else {
            bail!(
                "a group is an int or a group name, got {} `{}`",
                n.get_type(),
                n.to_repr()
            );
        };
        usize::try_from(i)
            .ok()
            .filter(|i| *i < self.groups.len())
            .ok_or_else(|| {
                anyhow!(
                    "no group {i}: the pattern has {} group(s)",
                    self.groups.len() - 1
                )
            })
    }

    fn group(&self, n: Option<Value>) -> anyhow::Result<Option<&Group>> {
        Ok(self.groups[self.index(n)?].as_ref())
    }
}

impl fmt::Display for RegexMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.groups.first().and_then(Option::as_ref) {
            Some(g) => write!(
                f,
                "<re.Match span=({}, {}), match={:?}>",
                g.start, g.end, g.text
            ),
            None => write!(f, "<re.Match>"),
        }
    }
}

#[starlark_value(type = "Match")]
impl<'v> StarlarkValue<'v> for RegexMatch {
    fn get_methods() -> Option<&'static Methods> {
        static METHODS: MethodsStatic = MethodsStatic::new("Match", match_methods);
        Some(METHODS.methods())
    }
}

#[starlark_module]
fn match_methods(builder: &mut MethodsBuilder) {
    /// The text group `n` matched (an int, or a name from `(?P<name>...)`);
    /// `0`, the default, is the whole match. `None` when the group did not
    /// take part in the match.
    fn group<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
    ) -> anyhow::Result<NoneOr<String>> {
        Ok(NoneOr::from_option(this.group(n)?.map(|g| g.text.clone())))
    }

    /// The texts of all groups but 0, as a tuple; `None` for a group that
    /// did not take part.
    fn groups<'v>(this: &RegexMatch, heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        let items: Vec<Value> = this.groups[1..]
            .iter()
            .map(|g| match g {
                Some(g) => heap.alloc(g.text.as_str()),
                None => Value::new_none(),
            })
            .collect();
        Ok(heap.alloc(AllocTuple(items)))
    }

    /// The named groups as a dict of name to text (`None` for a group that
    /// did not take part).
    fn groupdict<'v>(this: &RegexMatch, heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        let entries: Vec<(&str, Value)> = this
            .names
            .iter()
            .zip(&this.groups)
            .filter_map(|(name, g)| {
                let name = name.as_deref()?;
                Some((
                    name,
                    match g {
                        Some(g) => heap.alloc(g.text.as_str()),
                        None => Value::new_none(),
                    },
                ))
            })
            .collect();
        Ok(heap.alloc(AllocDict(entries)))
    }

    /// Where group `n` (default 0) starts in the text, as a character
    /// index; `-1` when the group did not take part.
    fn start<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
    ) -> anyhow::Result<i64> {
        Ok(this.group(n)?.map_or(-1, |g| g.start as i64))
    }

    /// Where group `n` (default 0) ends (exclusive), as a character index;
    /// `-1` when the group did not take part.
    fn end<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
    ) -> anyhow::Result<i64> {
        Ok(this.group(n)?.map_or(-1, |g| g.end as i64))
    }

    /// `(start(n), end(n))` as a tuple; `(-1, -1)` when the group did not
    /// take part.
    fn span<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let (s, e) = this
            .group(n)?
            .map_or((-1, -1), |g| (g.start as i64, g.end as i64));
        Ok(heap.alloc((s, e)))
    }
}

/// `re.search`, `re.match`, `re.fullmatch`.
fn find(pattern: &str, text: &str, anchor: Anchor) -> anyhow::Result<Option<RegexMatch>> {
    let regex = cached_regex(pattern, anchor)?;
    Ok(regex
        .captures(text)
        .map(|caps| RegexMatch::new(&regex, &caps, text)))
}

/// One item of `re.findall`'s result.
#[derive(Debug, PartialEq)]
enum Found<'t> {
    Whole(&'t str),
    Groups(Vec<&'t str>),
}

/// `re.findall`, like Python: with no group the whole matches, with one
/// group that group's texts, with several tuples of them ("" for a group
/// that did not take part).
fn findall<'t>(regex: &Regex, text: &'t str) -> Vec<Found<'t>> {
    let groups = regex.captures_len() - 1;
    regex
        .captures_iter(text)
        .map(|caps| {
            let at = |i: usize| caps.get(i).map_or("", |m| m.as_str());
            match groups {
                0 => Found::Whole(at(0)),
                1 => Found::Whole(at(1)),
                n => Found::Groups((1..=n).map(at).collect()),
            }
        })
        .collect()
}

/// A piece of a `re.sub` replacement.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// Parses a Python replacement template: `\1`…`\99`, `\g<1>`, `\g<name>`,
/// the escapes `\n \t \r \f \v \a \b \\`; other backslashes stay as they
/// are, except before an ASCII letter, which is an error (as in Python).
fn parse_template(repl: &str, regex: &Regex) -> anyhow::Result<Vec<Piece>> {
    let groups = regex.captures_len();
    let check = |i: usize| -> anyhow::Result<usize> {
        if i < groups {
            Ok(i)
        } else {
            bail!(
                "invalid group reference {i} in the replacement {repl:?}: the pattern has {} group(s)",
                groups - 1
            )
        }
    };
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            bail!("the replacement {repl:?} ends with a lone backslash");
        };
        let group = match next {
            '1'..='9' => {
                let mut n = next.to_digit(10).unwrap_or(0) as usize;
                if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                Some(check(n)?)
            }
            'g' => {
                if chars.next() != Some('<') {
                    bail!("expected \\g<name> or \\g<number> in the replacement {repl:?}");
                }
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('>') => break,
                        Some(ch) => name.push(ch),
                        None => bail!("unterminated \\g<{name} in the replacement {repl:?}"),
                    }
                }
                let index = match name.parse::<usize>() {
                    Ok(i) => check(i)?,
                    Err(_) => regex
                        .capture_names()
                        .position(|n| n == Some(name.as_str()))
                        .ok_or_else(|| {
                            anyhow!("unknown group name {name:?} in the replacement {repl:?}")
                        })?,
                };
                Some(index)
            }
            '0' => {
                text.push('\0');
                None
            }
            'n' => {
                text.push('\n');
                None
            }
            't' => {
                text.push('\t');
                None
            }
            'r' => {
                text.push('\r');
                None
            }
            'f' => {
                text.push('\x0c');
                None
            }
            'v' => {
                text.push('\x0b');
                None
            }
            'a' => {
                text.push('\x07');
                None
            }
            'b' => {
                text.push('\x08');
                None
            }
            '\\' => {
                text.push('\\');
                None
            }
            l if l.is_ascii_alphabetic() => {
                bail!("bad escape \\{l} in the replacement {repl:?}")
            }
            other => {
                text.push('\\');
                text.push(other);
                None
            }
        };
        if let Some(g) = group {
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Group(g));
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

fn expand(pieces: &[Piece], caps: &Captures, out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Group(g) => out.push_str(caps.get(*g).map_or("", |m| m.as_str())),
        }
    }
}

/// `re.sub` with a template; `count` 0 replaces every match.
fn sub_template(regex: &Regex, repl: &str, text: &str, count: usize) -> anyhow::Result<String> {
    let pieces = parse_template(repl, regex)?;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, caps) in regex.captures_iter(text).enumerate() {
        if count != 0 && i >= count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        expand(&pieces, &caps, &mut out);
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// `re.split`, like Python: the texts between matches, with the texts of
/// the pattern's groups between them (`None` for a group that did not take
/// part); `maxsplit` 0 splits at every match.
fn split<'t>(regex: &Regex, text: &'t str, maxsplit: usize) -> Vec<Option<&'t str>> {
    let mut out = Vec::new();
    let mut last = 0;
    for (i, caps) in regex.captures_iter(text).enumerate() {
        if maxsplit != 0 && i >= maxsplit {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push(Some(&text[last..m.start()]));
        out.extend((1..caps.len()).map(|g| caps.get(g).map(|m| m.as_str())));
        last = m.end();
    }
    out.push(Some(&text[last..]));
    out
}

/// A `count` or `maxsplit` argument: 0 or more.
fn non_negative(name: &str, n: i64) -> anyhow::Result<usize> {
    usize::try_from(n).map_err(|_| anyhow!("`{name}` must be 0 or more, got {n}"))
}

#[starlark_module]
fn re_module(builder: &mut GlobalsBuilder) {
    /// The first match of `pattern` anywhere in `text`, as a `Match`, or
    /// `None`. A `Match` is truthy and has `group(n = 0)` (`n` an int or a
    /// group name), `groups()`, `groupdict()`, `start(n = 0)`, `end(n = 0)`,
    /// `span(n = 0)`; offsets are character indices into `text`.
    ///
    /// Patterns use the syntax of Rust's `regex` crate, close to Python's:
    /// `(?P<name>...)` or `(?<name>...)` groups, inline flags such as `(?i)`,
    /// `(?m)`, `(?s)`, `(?x)`; there is no look-around and no backreference.
    /// Write patterns as raw strings: `r"\d+"`. An invalid pattern raises an
    /// error naming it.
    ///
    /// ```python
    /// m = re.search(r"version (\d+)\.(\d+)", text)
    /// if m and int(m.group(1)) >= 2: ...
    /// ```
    fn search<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
    ) -> anyhow::Result<NoneOr<RegexMatch>> {
        Ok(NoneOr::from_option(find(pattern, text, Anchor::None)?))
    }

    /// Like `re.search`, but the match must start at the beginning of
    /// `text`. Returns a `Match` or `None`.
    fn r#match<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
    ) -> anyhow::Result<NoneOr<RegexMatch>> {
        Ok(NoneOr::from_option(find(pattern, text, Anchor::Start)?))
    }

    /// Like `re.search`, but the match must cover all of `text`. Returns a
    /// `Match` or `None`.
    fn fullmatch<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
    ) -> anyhow::Result<NoneOr<RegexMatch>> {
        Ok(NoneOr::from_option(find(pattern, text, Anchor::Full)?))
    }

    /// Every non-overlapping match of `pattern` in `text`, as a list, like
    /// Python: of the matched texts when the pattern has no group, of group
    /// 1's texts when it has one, of tuples of the groups' texts when it has
    /// several (`""` for a group that did not take part).
    fn findall<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let regex = cached_regex(pattern, Anchor::None)?;
        let items: Vec<Value> = findall(&regex, text)
            .into_iter()
            .map(|found| match found {
                Found::Whole(s) => heap.alloc(s),
                Found::Groups(g) => heap.alloc(AllocTuple(g)),
            })
            .collect();
        Ok(heap.alloc(AllocList(items)))
    }

    /// `text` with the matches of `pattern` replaced, the first `count`
    /// of them (all when `count` is 0). `repl` is a str, in which `\1` and
    /// `\g<1>` or `\g<name>` stand for a group's text (write it as a raw
    /// string, `r"\1"`; `\\` is a backslash; `$` is literal), or a function
    /// taking the `Match` and returning the str to put in its place.
    ///
    /// ```python
    /// re.sub(r"(\w+)@(\w+)", r"\2 at \1", text)
    /// ```
    fn sub<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] repl: Value<'v>,
        #[starlark(require = pos)] text: &str,
        #[starlark(default = 0)] count: i64,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<String> {
        let count = non_negative("count", count)?;
        let regex = cached_regex(pattern, Anchor::None)?;
        if let Some(repl) = repl.unpack_str() {
            return sub_template(&regex, repl, text, count);
        }
        // Anything else is called with the Match (a function, a lambda, a
        // partial); plain data is refused here with a clear message.
        if matches!(
            repl.get_type(),
            "int" | "float" | "bool" | "NoneType" | "list" | "dict" | "tuple" | "struct"
        ) {
            bail!(
                "`repl` must be a str or a function of the Match, got {} `{}`",
                repl.get_type(),
                repl.to_repr()
            );
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (i, caps) in regex.captures_iter(text).enumerate() {
            if count != 0 && i >= count {
                break;
            }
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&text[last..m.start()]);
            let value = eval.heap().alloc(RegexMatch::new(&regex, &caps, text));
            let put = eval
                .eval_function(repl, &[value], &[])
                .map_err(|e| anyhow!("the `repl` function of re.sub failed: {e}"))?;
            match put.unpack_str() {
                Some(s) => out.push_str(s),
                None => bail!(
                    "the `repl` function of re.sub must return a str, got {} `{}`",
                    put.get_type(),
                    put.to_repr()
                ),
            }
            last = m.end();
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    /// `text` split at the matches of `pattern`, as a list of str, at most
    /// `maxsplit` times (every match when 0). As in Python, the texts of the
    /// pattern's groups are included between the parts (`None` for a group
    /// that did not take part).
    ///
    /// ```python
    /// re.split(r"\s*,\s*", "a, b ,c")  # ["a", "b", "c"]
    /// ```
    fn split<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        #[starlark(default = 0)] maxsplit: i64,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let maxsplit = non_negative("maxsplit", maxsplit)?;
        let regex = cached_regex(pattern, Anchor::None)?;
        let items: Vec<Value> = split(&regex, text, maxsplit)
            .into_iter()
            .map(|s| match s {
                Some(s) => heap.alloc(s),
                None => Value::new_none(),
            })
            .collect();
        Ok(heap.alloc(AllocList(items)))
    }

    /// `text` with every character that has a meaning in a pattern
    /// escaped, to match it literally: `re.search(re.escape(name), text)`.
    fn escape(#[starlark(require = pos)] text: &str) -> anyhow::Result<String> {
        Ok(regex::escape(text))
    }
}

// ---------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------

/// The reference point of `time.monotonic()`.
fn monotonic_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

#[starlark_module]
fn time_module(builder: &mut GlobalsBuilder) {
    /// The wall-clock time in seconds since the Unix epoch (UTC), as a
    /// float. It may jump when the system clock is set: measure durations
    /// with `time.monotonic()`.
    fn now() -> anyhow::Result<f64> {
        Ok(clock::now_unix_ms() as f64 / 1000.0)
    }

    /// Seconds from an arbitrary fixed point, as a float, never going
    /// back: subtract two readings to measure a duration.
    fn monotonic() -> anyhow::Result<f64> {
        Ok(monotonic_origin().elapsed().as_secs_f64())
    }

    /// The same as the global `sleep(seconds)`.
    fn sleep(#[starlark(require = pos)] seconds: UnpackFloat) -> anyhow::Result<NoneType> {
        do_sleep(seconds.0)?;
        Ok(NoneType)
    }
}

// ---------------------------------------------------------------------------
// Tests (pure parts only: host imports cannot run natively)
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use starlark::environment::{Globals, LibraryExtension, Module};
    use starlark::syntax::{AstModule, Dialect};

    fn re(pattern: &str) -> Regex {
        compile(pattern, Anchor::None).expect("a valid pattern")
    }

    /// Evaluates `code` with the builtins and returns `repr` of its last
    /// expression, or the error's text.
    fn eval(code: &str) -> Result<String, String> {
        let globals: Globals = GlobalsBuilder::extended_by(&[LibraryExtension::StructType])
            .with(register)
            .build();
        let ast = AstModule::parse("test.star", code.to_string(), &Dialect::Extended)
            .map_err(|e| e.to_string())?;
        Module::with_temp_heap(|module| {
            let mut evaluator = Evaluator::new(&module);
            evaluator
                .eval_module(ast, &globals)
                .map(|v| v.to_repr())
                .map_err(|e| e.to_string())
        })
    }

    #[test]
    fn search_match_and_fullmatch_anchor_differently() {
        assert_eq!(
            eval(r#"re.search(r"\d+", "ab 12 cd").group()"#).as_deref(),
            Ok("\"12\"")
        );
        assert_eq!(eval(r#"re.match(r"\d+", "ab 12")"#).as_deref(), Ok("None"));
        assert_eq!(
            eval(r#"re.match(r"ab", "ab 12").span()"#).as_deref(),
            Ok("(0, 2)")
        );
        assert_eq!(
            eval(r#"re.fullmatch(r"a|ab", "ab").group(0)"#).as_deref(),
            Ok("\"ab\"")
        );
        assert_eq!(eval(r#"re.fullmatch(r"ab", "abc")"#).as_deref(), Ok("None"));
        assert_eq!(
            eval("re.fullmatch(r\"(?x) a b # a comment\", \"ab\") != None").as_deref(),
            Ok("True")
        );
        assert_eq!(eval(r#"bool(re.search("a", "a"))"#).as_deref(), Ok("True"));
    }

    #[test]
    fn match_groups_and_offsets() {
        let code = r#"
m = re.search(r"(?P<k>\w+)=(\d+)?(x)?", "é: key=12")
(m.group(), m.group(1), m.group("k"), m.group(2), m.groups(), m.start(), m.end(1), m.start(3), m.span(2), m.groupdict())
"#;
        assert_eq!(
            eval(code).as_deref(),
            Ok(
                r#"("key=12", "key", "key", "12", ("key", "12", None), 3, 6, -1, (7, 9), {"k": "key"})"#
            )
        );
        assert!(eval(r#"re.search("(a)", "a").group(2)"#).is_err_and(|e| e.contains("no group 2")));
        assert!(
            eval(r#"re.search("(a)", "a").group("x")"#)
                .is_err_and(|e| e.contains("no group named"))
        );
    }

    #[test]
    fn findall_follows_python() {
        let r = re(r"\d+");
        assert_eq!(
            findall(&r, "1 22 x"),
            vec![Found::Whole("1"), Found::Whole("22")]
        );
        let r = re(r"(\w)=(\d)?");
        assert_eq!(
            findall(&r, "a=1 b="),
            vec![Found::Groups(vec!["a", "1"]), Found::Groups(vec!["b", ""])]
        );
        assert_eq!(
            eval(r#"re.findall(r"(\w)=\d", "a=1 b=2")"#).as_deref(),
            Ok(r#"["a", "b"]"#)
        );
        assert_eq!(
            eval(r#"re.findall(r"(\w)=(\d)", "a=1")"#).as_deref(),
            Ok(r#"[("a", "1")]"#)
        );
    }

    #[test]
    fn sub_expands_python_templates() {
        let r = re(r"(?P<user>\w+)@(\w+)");
        assert_eq!(
            sub_template(&r, r"\2 at \g<user> $1", "me@host, you@there", 0).ok(),
            Some("host at me $1, there at you $1".to_string())
        );
        assert_eq!(
            sub_template(&r, r"[\g<0>]", "me@host you@there", 1).ok(),
            Some("[me@host] you@there".to_string())
        );
        assert!(parse_template(r"\3", &r).is_err());
        assert!(parse_template(r"\q", &r).is_err());
        assert!(parse_template(r"\g<nope>", &r).is_err());
        assert_eq!(
            parse_template(r"a\nb\.", &r).ok(),
            Some(vec![Piece::Text("a\nb\\.".into())])
        );
        assert_eq!(
            eval(r#"re.sub(r"\d", lambda m: "<" + m.group() + ">", "a1b22", count = 2)"#)
                .as_deref(),
            Ok(r#""a<1>b<2>2""#)
        );
        assert!(eval(r#"re.sub("a", 1, "a")"#).is_err_and(|e| e.contains("`repl` must be")));
    }

    #[test]
    fn split_includes_groups() {
        let r = re(r"\s*,\s*");
        assert_eq!(
            split(&r, "a, b ,c", 0),
            vec![Some("a"), Some("b"), Some("c")]
        );
        assert_eq!(split(&r, "a, b ,c", 1), vec![Some("a"), Some("b ,c")]);
        let r = re(r"(-)|(\+)");
        assert_eq!(
            split(&r, "1-2+3", 0),
            vec![
                Some("1"),
                Some("-"),
                None,
                Some("2"),
                None,
                Some("+"),
                Some("3")
            ]
        );
    }

    #[test]
    fn invalid_patterns_name_the_pattern() {
        let e = eval(r#"re.search("(abc", "x")"#).expect_err("an invalid pattern");
        assert!(e.contains("invalid regular expression \"(abc\""), "{e}");
        assert!(e.contains("unclosed group"), "{e}");
    }

    #[test]
    fn the_cache_is_bounded() {
        for i in 0..(REGEX_CACHE_SIZE + 10) {
            cached_regex(&format!("a{{{i}}}"), Anchor::None).expect("valid");
        }
        REGEX_CACHE.with(|c| assert_eq!(c.borrow().len(), REGEX_CACHE_SIZE));
        assert!(cached_regex("a{3}", Anchor::Full).is_ok());
    }

    #[test]
    fn arguments_are_checked() {
        assert!(port_of(0).is_err());
        assert!(port_of(65536).is_err());
        assert_eq!(port_of(8080).ok(), Some(8080));
        assert!(positive_seconds("timeout", 0.0).is_err());
        assert!(positive_seconds("timeout", f64::NAN).is_err());
        assert!(byte_limit("max_bytes", 0, 10).is_err());
        assert_eq!(byte_limit("max_bytes", 1 << 40, 10).ok(), Some(10));
        assert!(method_of("GET /").is_err());
        assert_eq!(method_of("patch").ok().as_deref(), Some("PATCH"));
        assert!(url_of("localhost:8080").is_err());
        assert!(url_of("HTTP://localhost").is_ok());
        assert!(sleep_refusal(-1.0, Duration::from_secs(5)).is_some());
        let refusal = sleep_refusal(10.0, Duration::from_secs(2)).unwrap_or_default();
        assert!(
            refusal.contains("deadline") && refusal.contains("2.000 s"),
            "{refusal}"
        );
        assert!(sleep_refusal(1.0, Duration::from_secs(2)).is_none());
    }

    #[test]
    fn argv_must_be_a_non_empty_list_of_strings() {
        assert!(eval(r#"exec("c", "ls -l")"#).is_err_and(|e| e.contains("list of strings")));
        assert!(eval(r#"exec("c", [])"#).is_err_and(|e| e.contains("empty list")));
        assert!(eval(r#"exec("c", ["ls", 1])"#).is_err_and(|e| e.contains("`argv`")));
    }

    #[test]
    fn builtins_that_reach_out_refuse_outside_a_check() {
        let e = eval(r#"http.get("http://localhost")"#).expect_err("no check");
        assert!(e.contains("while a check runs"), "{e}");
        let e = eval(r#"exec("c", ["ls"])"#).expect_err("no check");
        assert!(e.contains("while a check runs"), "{e}");
        let e = eval("sleep(1)").expect_err("no check");
        assert!(e.contains("while a check runs"), "{e}");
    }
}
