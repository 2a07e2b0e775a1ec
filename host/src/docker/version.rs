//! Which API version to speak, asked the way the docker CLI asks: the
//! `Api-Version` header of `/_ping`. bollard's `negotiate_version` asks
//! `/version`, which has the Engine query containerd and run `runc
//! --version` before it answers — about 10 ms added to every command.

use std::path::Path;

use bollard::{API_DEFAULT_VERSION, ClientVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most of `/_ping`'s answer read: a status line and a few headers.
const MAX_ANSWER_BYTES: u64 = 16 * 1024;

/// The socket of `DOCKER_HOST` when it names one (or is unset), else
/// `None`: other transports negotiate as bollard does.
pub(super) fn unix_socket(docker_host: Option<&str>) -> Option<&str> {
    match docker_host {
        None | Some("") => Some("/var/run/docker.sock"),
        Some(host) => host.strip_prefix("unix://"),
    }
}

/// The version both sides speak: the Engine's, when older than bollard's.
pub(super) async fn over_socket(socket: &Path) -> Result<ClientVersion, String> {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
    stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let server = api_version(&String::from_utf8_lossy(&answer))?;
    Ok(if server < *API_DEFAULT_VERSION {
        server
    } else {
        *API_DEFAULT_VERSION
    })
}

/// The `Api-Version` of a `200` answer's headers.
fn api_version(answer: &str) -> Result<ClientVersion, String> {
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("`/_ping` answered `{}`", status.trim()));
    }
    let value = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("api-version"))
        .map(|(_, value)| value.trim())
        .ok_or("`/_ping` did not say its API version")?;
    match value
        .split_once('.')
        .map(|(major, minor)| (major.parse(), minor.parse()))
    {
        Some((Ok(major_version), Ok(minor_version))) => Ok(ClientVersion {
            major_version,
            minor_version,
        }),
        _ => Err(format!("`/_ping` said API version `{value}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_api_version_header_of_a_200() {
        let v = api_version(
            "HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\n\r\nOK",
        )
        .unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let lower = api_version("HTTP/1.1 200 OK\r\napi-version:1.24\r\n\r\n").unwrap();
        assert_eq!((lower.major_version, lower.minor_version), (1, 24));
    }

    #[test]
    fn an_error_or_a_missing_or_odd_header_is_refused() {
        assert!(
            api_version("HTTP/1.0 500 Internal Server Error\r\nApi-Version: 1.41\r\n\r\n").is_err()
        );
        assert!(api_version("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nOK").is_err());
        assert!(api_version("HTTP/1.0 200 OK\r\nApi-Version: one\r\n\r\n").is_err());
        assert!(api_version("").is_err());
    }

    #[test]
    fn only_a_unix_docker_host_is_asked_directly() {
        assert_eq!(unix_socket(None), Some("/var/run/docker.sock"));
        assert_eq!(unix_socket(Some("unix:///run/d.sock")), Some("/run/d.sock"));
        assert_eq!(unix_socket(Some("tcp://127.0.0.1:2375")), None);
    }
}
