//! The address a request comes from, for the guessing limits.
//!
//! Behind a reverse proxy every request arrives from the proxy, so the client's address is
//! read from `X-Forwarded-For` — but only when the connection comes from a proxy the operator
//! listed in `trusted_proxies`: anyone else could write any address there and escape the
//! per-address limit. The header is read from the right, skipping trusted proxies, so a client
//! cannot hide behind an address it prepended itself.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address or a network (`10.0.0.0/8`, `::1/128`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an address or a network like 10.0.0.0/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let base: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { base, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let mask = |bits: u32, width: u32| {
            if bits == 0 {
                0u128
            } else {
                (!0u128 << (width - bits))
                    & if width == 128 {
                        !0
                    } else {
                        (1u128 << width) - 1
                    }
            }
        };
        match (self.base, ip) {
            (IpAddr::V4(b), IpAddr::V4(a)) => {
                let m = mask(u32::from(self.prefix), 32);
                (u128::from(u32::from(b)) & m) == (u128::from(u32::from(a)) & m)
            }
            (IpAddr::V6(b), IpAddr::V6(a)) => {
                let m = mask(u32::from(self.prefix), 128);
                (u128::from(b) & m) == (u128::from(a) & m)
            }
            _ => false,
        }
    }
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[Network]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer = peer?;
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(*ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn networks() {
        let n = Network::parse("10.0.0.0/8").expect("net");
        assert!(n.contains("10.200.3.4".parse().expect("ip")));
        assert!(!n.contains("11.0.0.1".parse().expect("ip")));
        assert!(!n.contains("::1".parse().expect("ip")));
        let one = Network::parse("192.0.2.7").expect("address");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        assert!(
            Network::parse("::/0")
                .expect("all")
                .contains("2001:db8::1".parse().expect("ip"))
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", ""] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let trusted = [Network::parse("10.0.0.0/8").expect("net")];
        let h = headers("198.51.100.9, 203.0.113.5");
        assert_eq!(
            client_ip(Some(proxy), &h, &trusted),
            Some("203.0.113.5".parse().expect("ip")),
            "the right-most untrusted entry: what the proxy saw"
        );
        let stranger: IpAddr = "198.51.100.1".parse().expect("ip");
        assert_eq!(
            client_ip(Some(stranger), &h, &trusted),
            Some(stranger),
            "a client cannot choose its own address"
        );
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &trusted),
            Some(proxy)
        );
        let chain = headers("203.0.113.5, 10.0.0.9");
        assert_eq!(
            client_ip(Some(proxy), &chain, &trusted),
            Some("203.0.113.5".parse().expect("ip")),
            "trusted hops are skipped"
        );
    }
}
