//! `clockwork:plugin/probe`: HTTP, TCP, UDP and DNS probes, each target
//! checked against the plugin's network grant before anything is sent.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::{TcpStream, UdpSocket};

use crate::plugin::HostState;
use crate::plugin::bindings::host::clockwork::plugin::probe::{
    Certificate, ConnectFromRequest, ConnectFromResponse, Host, HttpRequest, HttpResponse,
};
use crate::plugin::bindings::types::HostError;
use crate::plugin::capability::NetworkGrant;

/// Largest HTTP body returned, whatever the request asks.
const MAX_BODY_BYTES: u32 = 4 << 20;
/// Most redirects followed.
const MAX_REDIRECTS: usize = 10;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl HostState {
    fn budget(&self, asked_ms: u32) -> Duration {
        Duration::from_millis(u64::from(asked_ms.max(1)).min(self.remaining_ms()))
    }

    /// The grant with the attached deployment's containers named in it,
    /// when the plugin may reach the project's containers.
    fn network(&self) -> NetworkGrant {
        let mut grant = self.grants.network.clone();
        if grant.project_containers
            && let Some(deployment) = self.services.deployment()
        {
            for (name, addresses) in &deployment.hosts {
                grant
                    .named
                    .entry(name.clone())
                    .or_insert_with(|| addresses.clone());
            }
        }
        grant
    }

    fn granted(&self, host: &str) -> Result<Vec<IpAddr>, HostError> {
        self.network().addresses(host).map_err(HostError::Denied)
    }
}

/// The URL to connect to and the `Host` header to send: a granted name that
/// stands for container addresses is replaced by its address, so the
/// connection goes exactly where the grant says.
fn target_of(
    grant: &NetworkGrant,
    url: &url::Url,
) -> Result<(url::Url, Option<String>), HostError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HostError::InvalidArgument(format!(
            "`{url}` is not an http:// or https:// URL"
        )));
    }
    let Some(host) = url.host_str() else {
        return Err(HostError::InvalidArgument(format!("`{url}` has no host")));
    };
    let addresses = grant.addresses(host).map_err(HostError::Denied)?;
    let is_literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    if is_literal || host.eq_ignore_ascii_case("localhost") {
        return Ok((url.clone(), None));
    }
    let Some(ip) = addresses.first() else {
        return Err(HostError::NotFound(format!("`{host}` has no address yet")));
    };
    let mut direct = url.clone();
    direct
        .set_ip_host(*ip)
        .map_err(|()| HostError::InvalidArgument(format!("cannot address `{url}` by IP")))?;
    let header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Ok((direct, Some(header)))
}

impl Host for HostState {
    async fn tls_certificate(
        &mut self,
        host: String,
        port: u16,
        server_name: Option<String>,
        ca_pem: Option<String>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Certificate, HostError>> {
        let addresses = match self.granted(&host) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let budget = self.budget(timeout_ms);
        let server_name = server_name.unwrap_or_else(|| host.clone());
        Ok(crate::plugin::capability::tls::certificate(
            &host,
            &addresses,
            port,
            &server_name,
            ca_pem.as_deref(),
            budget,
        )
        .await)
    }

    async fn connect_from(
        &mut self,
        request: ConnectFromRequest,
    ) -> wasmtime::Result<Result<ConnectFromResponse, HostError>> {
        let budget = self.budget(request.timeout_ms);
        if !self.grants.network.project_containers {
            return Ok(Err(HostError::Denied(
                "probing from a container is not granted to this plugin".into(),
            )));
        }
        let deployment = match self.services.deployment() {
            Some(d) => d,
            None => {
                return Ok(Err(HostError::Failed(
                    "no Docker Engine is connected in this command".into(),
                )));
            }
        };
        Ok(crate::plugin::capability::netns::connect_from(&deployment, request, budget).await)
    }

    async fn http(
        &mut self,
        request: HttpRequest,
    ) -> wasmtime::Result<Result<HttpResponse, HostError>> {
        let budget = self.budget(request.timeout_ms);
        let grant = self.network();
        let client = match self.services.http() {
            Ok(client) => client.clone(),
            Err(e) => return Ok(Err(HostError::Failed(e))),
        };
        let services = self.services.clone();
        Ok(
            match tokio::time::timeout(budget, http_exchange(&client, &services, &grant, request))
                .await
            {
                Ok(result) => result,
                Err(_) => Err(HostError::TimedOut(format!(
                    "no complete response within {} ms",
                    budget.as_millis()
                ))),
            },
        )
    }

    async fn tcp_connect(
        &mut self,
        host: String,
        port: u16,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<u64, HostError>> {
        let addresses = match self.granted(&host) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let budget = self.budget(timeout_ms);
        let started = Instant::now();
        let mut last_error = String::from("no address");
        for ip in addresses {
            let remaining = budget.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, TcpStream::connect(SocketAddr::new(ip, port)))
                .await
            {
                Ok(Ok(stream)) => {
                    let connected = micros(started.elapsed());
                    return Ok(match closed_at_once(&stream).await {
                        None => Ok(connected),
                        Some(how) => Err(HostError::Failed(format!(
                            "{host}:{port} accepted the connection and {how} at once: nothing listens behind it (Docker's proxy accepts on a published port whose container does not listen)"
                        ))),
                    });
                }
                Ok(Err(e)) => last_error = format!("{ip}:{port}: {e}"),
                Err(_) => {
                    return Ok(Err(HostError::TimedOut(format!(
                        "no TCP connection to {host}:{port} within {} ms",
                        budget.as_millis()
                    ))));
                }
            }
        }
        Ok(Err(HostError::Failed(format!(
            "cannot connect to {host}:{port}: {last_error}"
        ))))
    }

    async fn udp_exchange(
        &mut self,
        host: String,
        port: u16,
        payload: Vec<u8>,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<u32, HostError>> {
        let ip = match self.granted(&host).map(|a| a.into_iter().next()) {
            Ok(Some(ip)) => ip,
            Ok(None) => return Ok(Err(HostError::NotFound(format!("`{host}` has no address")))),
            Err(e) => return Ok(Err(e)),
        };
        let budget = self.budget(timeout_ms);
        let exchange = async {
            let local: SocketAddr = if ip.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (IpAddr::from([0u16; 8]), 0).into()
            };
            let socket = UdpSocket::bind(local).await?;
            socket.connect(SocketAddr::new(ip, port)).await?;
            socket.send(&payload).await?;
            let mut reply = vec![0u8; 64 << 10];
            socket.recv(&mut reply).await
        };
        Ok(match tokio::time::timeout(budget, exchange).await {
            Ok(Ok(n)) => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
            Ok(Err(e)) => Err(HostError::Failed(format!(
                "UDP exchange with {host}:{port}: {e}"
            ))),
            Err(_) => Err(HostError::TimedOut(format!(
                "no UDP reply from {host}:{port} within {} ms",
                budget.as_millis()
            ))),
        })
    }

    /// A project container's name (or `localhost`) answers with its
    /// addresses on the project network. Other names are not looked up:
    /// a query for a name a plugin makes up would carry what it likes off
    /// the machine to whatever DNS server answers.
    async fn resolve(&mut self, host: String) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        Ok(self
            .network()
            .addresses(&host)
            .map(|addrs| addrs.iter().map(ToString::to_string).collect())
            .map_err(|_| {
                HostError::NotFound(format!(
                    "`{host}` is not a container of this project (only those, and `localhost`, are resolved)"
                ))
            }))
    }
}

async fn http_exchange(
    client: &reqwest::Client,
    services: &crate::plugin::HostServices,
    grant: &NetworkGrant,
    request: HttpRequest,
) -> Result<HttpResponse, HostError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
        HostError::InvalidArgument(format!("`{}` is not an HTTP method", request.method))
    })?;
    let mut url = url::Url::parse(&request.url)
        .map_err(|e| HostError::InvalidArgument(format!("`{}`: {e}", request.url)))?;
    let limit = request.max_body_bytes.min(MAX_BODY_BYTES) as usize;
    let started = Instant::now();
    let mut hops = 0;
    loop {
        let (target, host_header) = target_of(grant, &url)?;
        // TLS checks the certificate against the name asked for, not the
        // address it resolved to: such a request keeps its URL and gets a
        // client that resolves the name to that address.
        let named_tls = match (url.scheme(), &host_header, target.host()) {
            ("https", Some(_), Some(url::Host::Ipv4(ip))) => Some(IpAddr::V4(ip)),
            ("https", Some(_), Some(url::Host::Ipv6(ip))) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        let own_client;
        let (client, target, host_header) = match (named_tls, url.host_str()) {
            (Some(ip), Some(name)) => {
                let port = url.port_or_known_default().unwrap_or(443);
                own_client = services
                    .http_builder()
                    .resolve(name, std::net::SocketAddr::new(ip, port))
                    .build()
                    .map_err(|e| HostError::Failed(format!("cannot build the HTTP client: {e}")))?;
                (&own_client, url.clone(), None)
            }
            _ => (client, target, host_header),
        };
        let mut builder = client.request(method.clone(), target);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(host) = host_header {
            builder = builder.header(reqwest::header::HOST, host);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| HostError::Failed(describe_reqwest(&url, &e)))?;
        let ttfb = started.elapsed();
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok());
        if let Some(location) = location
            && request.follow_redirects
            && status.is_redirection()
            && hops < MAX_REDIRECTS
        {
            url = url
                .join(location)
                .map_err(|e| HostError::Failed(format!("bad redirect `{location}`: {e}")))?;
            hops += 1;
            continue;
        }
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HostError::Failed(describe_reqwest(&url, &e)))?
        {
            let room = limit - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(HttpResponse {
            status: status.as_u16(),
            headers,
            body,
            truncated,
            elapsed_us: micros(started.elapsed()),
            ttfb_us: micros(ttfb),
        });
    }
}

/// What went wrong, in a line: what failed, where, and the innermost cause
/// (`cannot connect to localhost:8080: Connection refused (os error 111)`),
/// not reqwest's whole chain of wrappers.
fn describe_reqwest(url: &url::Url, e: &reqwest::Error) -> String {
    let place = match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => url.to_string(),
    };
    let what = if e.is_connect() {
        format!("cannot connect to {place}")
    } else if e.is_timeout() {
        format!("no answer from {place} in time")
    } else {
        format!("request to {url} failed")
    };
    let mut root: &dyn std::error::Error = e;
    while let Some(cause) = root.source() {
        root = cause;
    }
    format!("{what}: {root}")
}

/// How long a new connection is watched for being closed by its peer.
const CLOSE_GRACE: Duration = Duration::from_millis(50);

/// Whether the peer of a fresh connection closed (`closed it`) or reset it
/// within [`CLOSE_GRACE`] without sending anything: what Docker's proxy
/// does when the container behind a published port does not listen, so a
/// bare connect cannot tell. A server that waits for its client, or greets
/// it, is listening.
async fn closed_at_once(stream: &TcpStream) -> Option<&'static str> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(CLOSE_GRACE, stream.peek(&mut byte)).await {
        Ok(Ok(0)) => Some("closed it"),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => Some("reset it"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection its peer closes at once is told from one it keeps or
    /// greets on: Docker's proxy for a container that does not listen.
    #[tokio::test]
    async fn a_peer_that_closes_at_once_is_told_apart() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let server = tokio::spawn(async move {
            // First: closed at once. Second: kept open, silent. Third: greets.
            let (first, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
            drop(first);
            let (second, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
            let (mut third, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
            third
                .write_all(b"+OK ready\r\n")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop((second, third));
        });
        let connect = || async {
            TcpStream::connect(address)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let closed = connect().await;
        // Wait for the close itself, then look: the grace is for a close
        // still on its way, not for a slow machine.
        let mut byte = [0u8; 1];
        let _ = closed.peek(&mut byte).await;
        assert_eq!(closed_at_once(&closed).await, Some("closed it"));
        assert_eq!(closed_at_once(&connect().await).await, None);
        assert_eq!(closed_at_once(&connect().await).await, None);
        server.abort();
    }

    #[test]
    fn container_names_are_addressed_by_ip_with_the_original_host_header() {
        let mut grant = NetworkGrant::loopback();
        grant
            .named
            .insert("api".into(), vec![IpAddr::from([172, 18, 0, 5])]);
        let url = url::Url::parse("http://api:8000/health").unwrap_or_else(|e| panic!("{e}"));
        let (target, header) = target_of(&grant, &url).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(target.as_str(), "http://172.18.0.5:8000/health");
        assert_eq!(header.as_deref(), Some("api:8000"));
        let outside = url::Url::parse("http://example.com/").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            target_of(&grant, &outside),
            Err(HostError::Denied(_))
        ));
        let ftp = url::Url::parse("ftp://127.0.0.1/").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            target_of(&grant, &ftp),
            Err(HostError::InvalidArgument(_))
        ));
    }
}
