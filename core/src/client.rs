//! Who is on the other end of an HTTP request: the TCP peer, or — only when that peer is a
//! configured trusted proxy (`GAD_TRUSTED_PROXIES`) — the nearest address in
//! `X-Forwarded-For` that is not one of our proxies. A header from anyone else is ignored, so
//! a client cannot choose the address its rate limits and audit rows are kept under.

use std::net::IpAddr;

use ipnet::IpNet;

/// The client address of a request, put in its extensions by the server's first middleware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client behind `peer`, given the request's `X-Forwarded-For` header values in order.
/// The list is read from the right (the hop nearest to us): trusted proxies are skipped, the
/// first other address is the client. An unreadable entry ends the walk at the last address
/// known to be good (a proxy of ours that we cannot see past).
pub fn resolve<'a>(peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|value| value.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}"))).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(resolve(ip("203.0.113.9"), ["10.1.1.1"], &[]), ip("203.0.113.9"));
        assert_eq!(resolve(ip("203.0.113.9"), ["10.1.1.1"], &nets(&["10.0.0.0/8"])), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let trusted = nets(&["172.16.0.0/12"]);
        assert_eq!(resolve(ip("172.18.0.5"), ["198.51.100.7"], &trusted), ip("198.51.100.7"));
        // A client that sends its own header cannot hide behind it: the proxy appended the
        // real address last.
        assert_eq!(resolve(ip("172.18.0.5"), ["1.2.3.4, 198.51.100.7"], &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("172.18.0.5"), ["1.2.3.4", "198.51.100.7"], &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn chains_of_trusted_proxies_are_skipped() {
        let trusted = nets(&["10.0.0.0/8", "::1/128"]);
        assert_eq!(resolve(ip("::1"), ["198.51.100.7, 10.0.0.2"], &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("::ffff:10.0.0.3"), ["198.51.100.7"], &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn garbage_or_nothing_leaves_the_last_good_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(resolve(ip("10.0.0.2"), ["not-an-ip"], &trusted), ip("10.0.0.2"));
        assert_eq!(resolve(ip("10.0.0.2"), [], &trusted), ip("10.0.0.2"));
        assert_eq!(resolve(ip("10.0.0.2"), ["198.51.100.7, junk, 10.0.0.9"], &trusted), ip("10.0.0.9"));
    }
}
