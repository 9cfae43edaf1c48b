//! Client identification against forged, chained, quoted and broken headers.

use std::net::IpAddr;

use poem::http::{HeaderMap, HeaderValue};

use super::*;

fn clients(trusted: &[&str]) -> Clients {
    Clients::new(trusted.iter().map(|t| t.parse().unwrap()).collect(), 64)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The client `c` finds for a request from `peer` with `pairs`, as an address (IPv6 keys
/// printed as their prefix address).
fn who(c: &Clients, peer: &str, pairs: &[(&'static str, &str)]) -> (IpAddr, Source) {
    let (key, source) = c.identify(ip(peer), &headers(pairs));
    let addr = std::net::Ipv6Addr::from(key.0);
    (addr.to_ipv4_mapped().map_or(IpAddr::V6(addr), IpAddr::V4), source)
}

const PROXY: &str = "10.0.0.5";

#[test]
fn headers_from_an_untrusted_peer_are_ignored() {
    let c = clients(&[]);
    let forged = [("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")];
    assert_eq!(who(&c, "203.0.113.9", &forged), (ip("203.0.113.9"), Source::Peer));
    let c = clients(&["10.0.0.0/8"]);
    assert_eq!(who(&c, "203.0.113.9", &forged), (ip("203.0.113.9"), Source::Peer));
}

#[test]
fn the_rightmost_untrusted_hop_is_the_client_never_the_leftmost() {
    let c = clients(&["10.0.0.0/8"]);
    // The client forged a leftmost value; our proxy appended the address it saw.
    let xff = [("x-forwarded-for", "6.6.6.6, 198.51.100.7")];
    assert_eq!(who(&c, PROXY, &xff), (ip("198.51.100.7"), Source::Header));
    // A chain of our own proxies is skipped.
    let chain = [("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1, 10.2.2.2")];
    assert_eq!(who(&c, PROXY, &chain), (ip("198.51.100.7"), Source::Header));
    // Several field lines are one list, in order.
    let lines = [
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-for", "198.51.100.7, 10.2.2.2"),
    ];
    assert_eq!(who(&c, PROXY, &lines), (ip("198.51.100.7"), Source::Header));
    // Only our proxies: the farthest of them.
    assert_eq!(
        who(&c, PROXY, &[("x-forwarded-for", "10.9.9.9")]),
        (ip("10.9.9.9"), Source::Header)
    );
    // A trusted proxy that forwards nothing: itself.
    assert_eq!(who(&c, PROXY, &[]), (ip(PROXY), Source::Peer));
}

#[test]
fn forwarded_wins_and_is_read_as_rfc_7239_writes_it() {
    let c = clients(&["10.0.0.0/8", "fd00::/8"]);
    let both = [
        ("x-forwarded-for", "6.6.6.6"),
        ("forwarded", "for=6.6.6.6, for=198.51.100.7;proto=https;by=10.0.0.5"),
    ];
    assert_eq!(who(&c, PROXY, &both), (ip("198.51.100.7"), Source::Header));
    // Quoted IPv6 with a port, names in any case, a quoted comma that is no separator.
    let v6 = [(
        "forwarded",
        r#"for="[2001:db8:cafe::17]:4711";host="a,b", For="[fd00::1]""#,
    )];
    assert_eq!(who(&c, PROXY, &v6), (ip("2001:db8:cafe::"), Source::Header));
    // IPv4 with a port (quoted, as the RFC wants), and an obfuscated port.
    let v4 = [("forwarded", r#"for="192.0.2.60:8080""#)];
    assert_eq!(who(&c, PROXY, &v4), (ip("192.0.2.60"), Source::Header));
    let obf = [("forwarded", r#"for="192.0.2.61:_abc""#)];
    assert_eq!(who(&c, PROXY, &obf), (ip("192.0.2.61"), Source::Header));
    // Elements without for= say nothing.
    let none = [("forwarded", "proto=https, for=192.0.2.62")];
    assert_eq!(who(&c, PROXY, &none), (ip("192.0.2.62"), Source::Header));
}

#[test]
fn unknown_and_obfuscated_hops_fall_back_to_the_nearest_known_one() {
    let c = clients(&["10.0.0.0/8"]);
    for value in ["for=unknown", "for=_hidden", "for=\"_gazonk\", for=10.3.3.3"] {
        let (addr, source) = who(&c, PROXY, &[("forwarded", value)]);
        assert_eq!(source, Source::Malformed, "{value}");
        assert!(addr == ip(PROXY) || addr == ip("10.3.3.3"), "{value}: {addr}");
    }
}

#[test]
fn garbage_from_a_trusted_proxy_falls_back_to_the_proxy_and_is_never_an_error() {
    let c = clients(&["10.0.0.0/8"]);
    for value in [
        "for=",
        "for=\"unterminated",
        "for=999.1.1.1",
        "for=[2001:db8::1",
        "for=[not-v6]:80",
        "for=1.2.3.4:99999",
        "for=1.2.3.4;for=5.6.7.8",
        "garbage",
        "for=\"[2001:db8::1]:80\"x",
    ] {
        assert_eq!(
            who(&c, PROXY, &[("forwarded", value)]),
            (ip(PROXY), Source::Malformed),
            "{value}"
        );
    }
    for value in ["1.2.3.4.5", "nonsense, 1.2.3.4", "::g"] {
        assert_eq!(
            who(&c, PROXY, &[("x-forwarded-for", value)]),
            (ip(PROXY), Source::Malformed),
            "{value}"
        );
    }
    let mut map = HeaderMap::new();
    map.insert("forwarded", HeaderValue::from_bytes(b"for=\xff").unwrap());
    let proxy = c.identify(ip(PROXY), &HeaderMap::new()).0;
    assert_eq!(c.identify(ip(PROXY), &map), (proxy, Source::Malformed));
}

#[test]
fn ipv6_is_grouped_by_prefix_and_ipv4_mapped_is_ipv4() {
    let c = clients(&[]);
    let a = c.identify(ip("2001:db8:1:2:aaaa::1"), &HeaderMap::new()).0;
    let b = c.identify(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), &HeaderMap::new()).0;
    let other = c.identify(ip("2001:db8:1:3::1"), &HeaderMap::new()).0;
    assert_eq!(a, b, "one /64, one client");
    assert_ne!(a, other);
    let v4 = c.identify(ip("192.0.2.1"), &HeaderMap::new()).0;
    let mapped = c.identify(ip("::ffff:192.0.2.1"), &HeaderMap::new()).0;
    assert_eq!(v4, mapped);
    let wide = Clients::new(Vec::new(), 48);
    assert_eq!(
        wide.identify(ip("2001:db8:1:2::1"), &HeaderMap::new()).0,
        wide.identify(ip("2001:db8:1:ffff::1"), &HeaderMap::new()).0
    );
    let exact = Clients::new(Vec::new(), 128);
    assert_ne!(
        exact.identify(ip("2001:db8::1"), &HeaderMap::new()).0,
        exact.identify(ip("2001:db8::2"), &HeaderMap::new()).0
    );
    // A trusted proxy reached over IPv4-mapped IPv6 is still trusted.
    let c = clients(&["10.0.0.0/8"]);
    assert_eq!(
        who(&c, "::ffff:10.0.0.5", &[("x-forwarded-for", "198.51.100.7")]),
        (ip("198.51.100.7"), Source::Header)
    );
}
