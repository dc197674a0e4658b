//! Host name resolution that works in a static binary: glibc's
//! `getaddrinfo` needs NSS modules a static binary cannot load, so xb
//! resolves names itself. IP literals and `localhost` need no lookup;
//! other names are looked up in `/etc/hosts`, then asked of the
//! `nameserver`s in `/etc/resolv.conf` over UDP (TCP when the answer is
//! truncated), A records first, then AAAA.
//!
//! Limits: `search` domains and `ndots` from `resolv.conf` are ignored (a
//! registry host is a fully qualified name), and so are NSS sources such as
//! LDAP or mDNS. Connecting and TLS are left to ureq.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, Question, RCODE, TYPE};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long one DNS question waits for its answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// ureq's resolver for xb: no glibc NSS involved.
#[derive(Debug, Default)]
pub(crate) struct StaticResolver;

impl Resolver for StaticResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let authority = uri
            .authority()
            .ok_or_else(|| ureq::Error::BadUri(uri.to_string()))?;
        let port = authority
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") {
                80
            } else {
                443
            });
        let addresses = resolve_host(authority.host());
        let mut result = self.empty();
        for address in addresses.into_iter().take(16) {
            result.push(SocketAddr::new(address, port));
        }
        if result.is_empty() {
            tracing::debug!(host = authority.host(), "no address found");
            return Err(ureq::Error::HostNotFound);
        }
        Ok(result)
    }
}

/// The addresses of `host` (an IP literal, possibly in brackets, or a name).
pub(crate) fn resolve_host(host: &str) -> Vec<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = bare.parse::<IpAddr>() {
        return vec![address];
    }
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
    }
    let from_hosts = fs_err::read_to_string("/etc/hosts")
        .map(|text| lookup_hosts_file(&text, &name))
        .unwrap_or_default();
    if !from_hosts.is_empty() {
        return from_hosts;
    }
    let nameservers = fs_err::read_to_string("/etc/resolv.conf")
        .map(|text| nameservers(&text))
        .unwrap_or_default();
    for server in nameservers {
        let mut found = query(server, &name, TYPE::A);
        found.extend(query(server, &name, TYPE::AAAA));
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// The addresses `/etc/hosts` text gives `name`.
fn lookup_hosts_file(text: &str, name: &str) -> Vec<IpAddr> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.next()?.parse::<IpAddr>().ok()?;
            fields
                .any(|alias| alias.eq_ignore_ascii_case(name))
                .then_some(address)
        })
        .collect()
}

/// The `nameserver` addresses in `/etc/resolv.conf` text, in order.
fn nameservers(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next() == Some("nameserver"))
                .then(|| fields.next()?.split('%').next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Ask `server` for the `record` addresses of `name`; nothing on any failure.
fn query(server: IpAddr, name: &str, record: TYPE) -> Vec<IpAddr> {
    let id = query_id(name);
    let Ok(request) = build_query(id, name, record) else {
        return Vec::new();
    };
    let target = SocketAddr::new(server, 53);
    let answer = query_udp(target, &request).and_then(|answer| {
        let truncated =
            Packet::parse(&answer).is_ok_and(|packet| packet.has_flags(PacketFlag::TRUNCATION));
        if truncated {
            query_tcp(target, &request)
        } else {
            Ok(answer)
        }
    });
    match answer {
        Ok(bytes) => addresses_in(&bytes, id),
        Err(error) => {
            tracing::debug!(%server, name, %error, "dns query failed");
            Vec::new()
        }
    }
}

fn query_id(name: &str) -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let mixed = name.bytes().fold(nanos ^ std::process::id(), |hash, byte| {
        hash.rotate_left(5) ^ u32::from(byte)
    });
    #[expect(clippy::cast_possible_truncation, reason = "a query id is 16 bits")]
    let id = (mixed ^ (mixed >> 16)) as u16;
    id
}

fn build_query(id: u16, name: &str, record: TYPE) -> simple_dns::Result<Vec<u8>> {
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(Question::new(
        Name::new(name)?,
        record.into(),
        CLASS::IN.into(),
        false,
    ));
    packet.build_bytes_vec()
}

fn query_udp(target: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let local: SocketAddr = if target.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.set_read_timeout(Some(QUERY_TIMEOUT))?;
    socket.connect(target)?;
    let mut buffer = vec![0u8; 4096];
    for _ in 0..2 {
        socket.send(request)?;
        match socket.recv(&mut buffer) {
            Ok(count) => {
                buffer.truncate(count);
                return Ok(buffer);
            }
            Err(error) if is_timeout(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Err(std::io::ErrorKind::TimedOut.into())
}

fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn query_tcp(target: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&target, QUERY_TIMEOUT)?;
    stream.set_read_timeout(Some(QUERY_TIMEOUT))?;
    let length = u16::try_from(request.len())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    stream.write_all(&length.to_be_bytes())?;
    stream.write_all(request)?;
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut answer)?;
    Ok(answer)
}

/// The A and AAAA addresses in a DNS answer to query `id`.
fn addresses_in(answer: &[u8], id: u16) -> Vec<IpAddr> {
    let Ok(packet) = Packet::parse(answer) else {
        return Vec::new();
    };
    if packet.id() != id || packet.rcode() != RCODE::NoError {
        return Vec::new();
    }
    packet
        .answers
        .iter()
        .filter_map(|record| match &record.rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            RData::AAAA(aaaa) => Some(IpAddr::V6(Ipv6Addr::from(aaaa.address))),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_host_takes_literals_and_localhost_without_lookup() {
        assert_eq!(resolve_host("10.1.2.3"), vec![IpAddr::from([10, 1, 2, 3])]);
        assert_eq!(resolve_host("[::1]"), vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]);
        assert_eq!(
            resolve_host("LOCALHOST"),
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST)
            ]
        );
    }

    #[test]
    fn hosts_file_lookup_matches_any_alias_and_skips_comments() {
        let text = "127.0.0.1 localhost\n# 10.0.0.9 registry.test\n\
                    10.0.0.7  mirror.test  Registry.Test # comment\n::1 ip6-localhost\n";
        assert_eq!(
            lookup_hosts_file(text, "registry.test"),
            vec![IpAddr::from([10, 0, 0, 7])]
        );
        assert!(lookup_hosts_file(text, "other.test").is_empty());
    }

    #[test]
    fn nameservers_are_read_in_order() {
        let text = "search example.org\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\n\
                    options ndots:5\nnameserver bogus\n";
        assert_eq!(
            nameservers(text),
            vec![
                IpAddr::from([10, 0, 0, 2]),
                "fe80::1".parse::<IpAddr>().unwrap()
            ]
        );
    }

    #[test]
    fn dns_answer_is_read_and_checked_against_the_query_id() {
        use simple_dns::ResourceRecord;
        use simple_dns::rdata::A;
        let mut reply = Packet::new_reply(7);
        reply.answers.push(ResourceRecord::new(
            Name::new_unchecked("registry.test"),
            CLASS::IN,
            60,
            RData::A(A {
                address: u32::from(Ipv4Addr::new(192, 0, 2, 1)),
            }),
        ));
        let bytes = reply.build_bytes_vec().unwrap();
        assert_eq!(addresses_in(&bytes, 7), vec![IpAddr::from([192, 0, 2, 1])]);
        assert!(
            addresses_in(&bytes, 8).is_empty(),
            "a reply to another query"
        );
    }

    #[test]
    fn dns_query_against_a_local_udp_server() {
        // A one-shot DNS server on loopback answering 192.0.2.5.
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = server.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let mut buffer = [0u8; 512];
            let (count, peer) = server.recv_from(&mut buffer).unwrap();
            let question = Packet::parse(&buffer[..count]).unwrap();
            let mut reply = Packet::new_reply(question.id());
            reply.answers.push(simple_dns::ResourceRecord::new(
                Name::new_unchecked("registry.test"),
                CLASS::IN,
                60,
                RData::A(simple_dns::rdata::A {
                    address: u32::from(Ipv4Addr::new(192, 0, 2, 5)),
                }),
            ));
            server
                .send_to(&reply.build_bytes_vec().unwrap(), peer)
                .unwrap();
        });
        let request = build_query(42, "registry.test", TYPE::A).unwrap();
        let answer = query_udp(address, &request).unwrap();
        thread.join().unwrap();
        assert_eq!(
            addresses_in(&answer, 42),
            vec![IpAddr::from([192, 0, 2, 5])]
        );
    }
}
