//! Parsing `/proc/net/{tcp,tcp6,udp,udp6}`: the sockets of a container's
//! network namespace, as `cat` prints them one file after the other.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// `TCP_LISTEN` in the `st` column.
const TCP_LISTEN: u8 = 0x0A;
/// `TCP_CLOSE`, which the kernel shows for an unconnected bound UDP socket.
const UDP_UNCONNECTED: u8 = 0x07;

/// One line of a `/proc/net` socket table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// Which table it came from.
    pub proto: Proto,
    /// The local address.
    pub local: IpAddr,
    /// The local port.
    pub port: u16,
    /// The remote port (0 when unconnected).
    pub remote_port: u16,
    /// The `st` column.
    pub state: u8,
}

impl Socket {
    /// Whether it waits for peers: a listening TCP socket, or an unconnected
    /// bound UDP socket.
    pub fn is_listening(&self) -> bool {
        match self.proto {
            Proto::Tcp => self.state == TCP_LISTEN,
            Proto::Udp => self.state == UDP_UNCONNECTED && self.remote_port == 0 && self.port != 0,
        }
    }

    /// Whether it is bound to a loopback address only, so nothing outside
    /// the container can reach it (Docker's embedded DNS server listens on
    /// `127.0.0.11` in every container of a user-defined network).
    pub fn is_loopback_only(&self) -> bool {
        match self.local {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
        }
    }
}

impl fmt::Display for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.local {
            IpAddr::V4(a) => write!(f, "{a}:{}/{}", self.port, self.proto),
            IpAddr::V6(a) => write!(f, "[{a}]:{}/{}", self.port, self.proto),
        }
    }
}

/// Parses the concatenation of any of the four tables. Each table starts
/// with a header line (`sl local_address ...`); the UDP tables' header ends
/// with `ref pointer drops`, which is how a line's protocol is told. Lines
/// that do not parse are skipped.
pub fn parse_tables(text: &str) -> Vec<Socket> {
    let mut proto = Proto::Tcp;
    let mut sockets = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("sl ") || trimmed == "sl" {
            proto = if trimmed.contains("drops") {
                Proto::Udp
            } else {
                Proto::Tcp
            };
            continue;
        }
        if let Some(socket) = parse_line(line, proto) {
            sockets.push(socket);
        }
    }
    sockets
}

/// Parses one data line, e.g.
/// `   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999 0 1234 1`.
pub fn parse_line(line: &str, proto: Proto) -> Option<Socket> {
    let mut columns = line.split_whitespace();
    let slot = columns.next()?;
    if !slot.ends_with(':') {
        return None;
    }
    let (local, port) = parse_endpoint(columns.next()?)?;
    let (_, remote_port) = parse_endpoint(columns.next()?)?;
    let state = u8::from_str_radix(columns.next()?, 16).ok()?;
    Some(Socket {
        proto,
        local,
        port,
        remote_port,
        state,
    })
}

/// `0100007F:1538` → `127.0.0.1`, `5432`. The address is printed as the
/// kernel's 32-bit words in host order (little-endian on x86 and arm64),
/// the port in network order.
fn parse_endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_le_bytes);
    let address = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(address)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(address.get(i * 8..i * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((address, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 41235 1 0000000000000000 100 0 0 10 0
   1: 0B00007F:A3C1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 39811 1 0000000000000000 100 0 0 10 0
   2: 030012AC:1538 020012AC:D2F0 01 00000000:00000000 00:00000000 00000000   999        0 41990 1 0000000000000000 20 4 30 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 100 0 0 10 0
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  301: 0B00007F:8F3D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 39810 2 0000000000000000 0
  302: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 39812 2 0000000000000000 0
  303: 030012AC:9C40 0B00007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 39813 2 0000000000000000 0
";

    #[test]
    fn parses_one_tcp_line() {
        let socket = parse_line(
            "   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 41235 1",
            Proto::Tcp,
        )
        .unwrap();
        assert_eq!(socket.local, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(socket.port, 5432);
        assert_eq!(socket.state, 0x0A);
        assert!(socket.is_listening());
        assert!(!socket.is_loopback_only());
        assert_eq!(socket.to_string(), "0.0.0.0:5432/tcp");
    }

    #[test]
    fn decodes_little_endian_addresses() {
        let s = parse_line("1: 0B00007F:A3C1 00000000:0000 0A", Proto::Tcp).unwrap();
        assert_eq!(s.to_string(), "127.0.0.11:41921/tcp");
        assert!(s.is_loopback_only());
        let s = parse_line("2: 030012AC:1538 020012AC:D2F0 01", Proto::Tcp).unwrap();
        assert_eq!(s.local.to_string(), "172.18.0.3");
        assert_eq!(s.remote_port, 0xD2F0);
        assert!(
            !s.is_listening(),
            "an established connection is not listening"
        );
    }

    #[test]
    fn decodes_ipv6() {
        let sockets = parse_tables(TCP6);
        assert_eq!(sockets.len(), 2);
        assert_eq!(sockets[0].to_string(), "[::]:8080/tcp");
        assert_eq!(sockets[1].local, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(sockets[1].is_loopback_only());
        let mapped = parse_line(
            "0: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A",
            Proto::Tcp,
        )
        .unwrap();
        assert!(mapped.is_loopback_only(), "{}", mapped.local);
    }

    #[test]
    fn tells_tables_apart_by_their_headers() {
        let all = format!("{TCP}{TCP6}{UDP}");
        let sockets = parse_tables(&all);
        assert_eq!(sockets.len(), 8);
        let listening: Vec<String> = sockets
            .iter()
            .filter(|s| s.is_listening() && !s.is_loopback_only())
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            listening,
            ["0.0.0.0:5432/tcp", "[::]:8080/tcp", "0.0.0.0:5353/udp"]
        );
        let udp: Vec<&Socket> = sockets.iter().filter(|s| s.proto == Proto::Udp).collect();
        assert_eq!(udp.len(), 3);
        assert!(
            !udp[2].is_listening(),
            "a connected UDP socket is not bound for peers"
        );
    }

    #[test]
    fn skips_garbage() {
        assert_eq!(
            parse_line("cat: /proc/net/tcp6: No such file", Proto::Tcp),
            None
        );
        assert_eq!(
            parse_line("0: 0000:1538 00000000:0000 0A", Proto::Tcp),
            None
        );
        assert_eq!(
            parse_line("0: 00000000:XYZ 00000000:0000 0A", Proto::Tcp),
            None
        );
        assert_eq!(parse_tables(""), vec![]);
    }
}
