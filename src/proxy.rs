//! `--proxy-headers`: behind a reverse proxy, the client's address and scheme come from
//! `X-Forwarded-For` / `X-Forwarded-Proto` (and the host from `X-Forwarded-Host`), but only when
//! the connection comes from a trusted proxy (`--forwarded-allow-ips`); from anyone else those
//! headers are ignored, so a client cannot spoof its address.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

use crate::peer::Peer;

/// One entry of `forwarded_allow_ips`: an address, a network (CIDR), or `*` (everyone).
#[derive(Debug, Clone, PartialEq)]
pub enum Trusted {
    Any,
    Net(IpAddr, u8),
}

pub fn parse_trusted(list: &str) -> Result<Vec<Trusted>, String> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "*" {
            out.push(Trusted::Any);
            continue;
        }
        let (addr, bits) = match item.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (item, None),
        };
        let ip: IpAddr =
            addr.parse().map_err(|_| format!("forwarded_allow_ips: {item:?} is not an IP address or network"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("forwarded_allow_ips: bad prefix in {item:?}"))?,
            None => max,
        };
        out.push(Trusted::Net(ip, bits));
    }
    Ok(out)
}

fn contains(net: &Trusted, ip: IpAddr) -> bool {
    match (net, ip) {
        (Trusted::Any, _) => true,
        (Trusted::Net(IpAddr::V4(n), bits), IpAddr::V4(a)) => {
            let mask = if *bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(*n) & mask == u32::from(a) & mask
        }
        (Trusted::Net(IpAddr::V6(n), bits), IpAddr::V6(a)) => {
            let mask = if *bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(*n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

pub fn is_trusted(trusted: &[Trusted], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    trusted.iter().any(|t| contains(t, ip))
}

/// What a trusted proxy says about the original request.
pub struct Forwarded {
    pub client: Option<Peer>,
    pub scheme: Option<&'static str>,
    pub host: Option<http::HeaderValue>,
}

fn last_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let joined: Vec<String> =
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
    (!joined.is_empty()).then(|| joined.join(","))
}

/// The forwarded facts, when `peer` is trusted; None otherwise.
pub fn forwarded(trusted: &[Trusted], peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<Forwarded> {
    let peer = peer?;
    if !is_trusted(trusted, peer.ip()) {
        return None;
    }
    // X-Forwarded-For: the nearest hop that is not a trusted proxy itself (from the right); a hop
    // that is not an address is not trusted, so nothing left of it can be believed (uvicorn's rule).
    let client = last_value(headers, "x-forwarded-for").and_then(|chain| {
        let hops: Vec<Peer> = chain.split(',').map(parse_hop).collect();
        let trusted_hop = |hop: &&Peer| matches!(hop, Peer::Addr(a) if is_trusted(trusted, a.ip()));
        let chosen = hops.iter().rev().find(|hop| !trusted_hop(hop)).or(hops.first())?;
        (chosen != &Peer::Named(String::new(), 0)).then(|| chosen.clone())
    });
    let scheme = last_value(headers, "x-forwarded-proto").and_then(|p| {
        match p.rsplit(',').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "https" => Some("https"),
            "http" => Some("http"),
            "wss" => Some("wss"),
            "ws" => Some("ws"),
            _ => None,
        }
    });
    // Only a host[:port] may replace the Host header: no path, query, userinfo or bad port.
    let host = headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.rsplit(',').next().unwrap_or("").trim())
        .filter(|v| is_host(v))
        .and_then(|v| http::HeaderValue::from_str(v).ok());
    Some(Forwarded { client, scheme, host })
}

/// Is `value` a `host[:port]` as a Host header must be (RFC 9110 §7.2): a name, an IPv4 address
/// or a bracketed IPv6 one, then an optional port (digits that fit 16 bits; empty is allowed),
/// and nothing else: no userinfo, path or query. Names are letters, digits and `-._~`, what real
/// hosts use (stricter than the RFC's reg-name, which also allows `%` escapes and sub-delimiters).
/// Checked per request: no allocation.
pub fn is_host(value: &str) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else { return false };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => ("[]", Some(port)),
            None if after.is_empty() => ("[]", None),
            None => return false,
        }
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    let name_ok =
        host == "[]" || (!host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
    let port_ok = port.is_none_or(|p| {
        p.is_empty() || (p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
    });
    name_ok && port_ok
}

/// One X-Forwarded-For hop: `ip`, `ip:port` or `[ipv6]:port`; anything else is kept as a name.
fn parse_hop(hop: &str) -> Peer {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Peer::Addr(SocketAddr::new(ip, 0));
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Peer::Addr(addr);
    }
    Peer::Named(hop.to_string(), 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_as_servers_meet_them() {
        for good in [
            "example.com",
            "Example.COM.",
            "xn--bcher-kva.example",
            "127.0.0.1",
            "127.0.0.1:8000",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::1]:443",
            "localhost:",
            "a_b-c~d",
        ] {
            assert!(super::is_host(good), "{good:?} must be accepted");
        }
        for bad in [
            "",
            ":80",
            "[::1]x",
            "[::1]x:80",
            "[foo]",
            "[::1",
            "evil.com/x",
            "user@evil.com",
            "evil.com:abc",
            "evil.com:99999",
            "evil.com:1:2",
            "evil com",
            "%2e%2e",
            "evil.com?x=1",
            "evil.com#f",
            "a\\b",
        ] {
            assert!(!super::is_host(bad), "{bad:?} must be refused");
        }
    }

    use super::*;

    #[test]
    fn trust_list_and_matching() {
        let t = parse_trusted("127.0.0.1, 10.0.0.0/8, ::1").unwrap();
        assert!(is_trusted(&t, "127.0.0.1".parse().unwrap()));
        assert!(is_trusted(&t, "10.1.2.3".parse().unwrap()));
        assert!(is_trusted(&t, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_trusted(&t, "192.168.0.1".parse().unwrap()));
        assert!(parse_trusted("nonsense").is_err());
        assert!(is_trusted(&parse_trusted("*").unwrap(), "8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let t = parse_trusted("127.0.0.1,10.0.0.2").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.2".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        let f = forwarded(&t, Some("127.0.0.1:5000".parse().unwrap()), &h).unwrap();
        assert_eq!(f.client, Some(Peer::Addr("198.51.100.7:0".parse().unwrap())));
        assert_eq!(f.scheme, Some("https"));
        assert!(forwarded(&t, Some("192.0.2.1:5000".parse().unwrap()), &h).is_none());
    }

    #[test]
    fn hops_with_ports_or_names_stop_the_search() {
        let t = parse_trusted("127.0.0.1").unwrap();
        let peer = Some("127.0.0.1:5000".parse().unwrap());
        let client_for = |chain: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", chain.parse().unwrap());
            forwarded(&t, peer, &h).unwrap().client
        };
        assert_eq!(client_for("6.6.6.6, 203.0.113.5:4711"), Some(Peer::Addr("203.0.113.5:4711".parse().unwrap())));
        assert_eq!(client_for("6.6.6.6, [2001:db8::1]:80"), Some(Peer::Addr("[2001:db8::1]:80".parse().unwrap())));
        assert_eq!(client_for("6.6.6.6, unknown"), Some(Peer::Named("unknown".into(), 0)));
        assert_eq!(client_for("6.6.6.6, 127.0.0.1"), Some(Peer::Addr("6.6.6.6:0".parse().unwrap())));
        assert_eq!(client_for("127.0.0.1"), Some(Peer::Addr("127.0.0.1:0".parse().unwrap())));
        assert_eq!(client_for(""), None);
    }
}
