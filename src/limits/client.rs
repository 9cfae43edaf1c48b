//! Who the client is (contract §8): the peer address, unless the peer is a trusted proxy; then
//! the rightmost address of `Forwarded` (RFC 7239 `for=`) — or, without it, of
//! `X-Forwarded-For` — that is not itself a trusted proxy. Never the leftmost (a client writes
//! what it likes there), never a header from an untrusted peer. IPv6 clients are grouped by
//! prefix (one subscriber holds a whole /64); IPv4-mapped IPv6 is IPv4. A header a trusted
//! proxy sent that cannot be read falls back to the proxy's own address, and is counted.
//!
//! The `Forwarded` parser is ours (no maintained crate fits): elements split on commas and
//! pairs on semicolons outside quoted strings, names case-insensitive, node values quoted or
//! not, IPv6 in brackets with or without a port, `unknown` and obfuscated (`_x`) identifiers.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use poem::http::HeaderMap;

/// A client, as limits count it: an IPv4 address, or an IPv6 prefix, as one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(pub u128);

/// Where the client's identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The connection's peer (no trusted proxy in between).
    Peer,
    /// A trusted proxy's `Forwarded` or `X-Forwarded-For`.
    Header,
    /// A trusted proxy sent a header that cannot be read (or named no address): its own
    /// address stands in.
    Malformed,
}

/// How to tell clients apart.
#[derive(Debug, Clone)]
pub struct Clients {
    trusted: Vec<IpNet>,
    ipv6_prefix: u8,
}

impl Clients {
    pub fn new(trusted: Vec<IpNet>, ipv6_prefix: u8) -> Clients {
        Clients { trusted, ipv6_prefix }
    }

    /// The client of a request from `peer` with `headers`.
    pub fn identify(&self, peer: IpAddr, headers: &HeaderMap) -> (ClientKey, Source) {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return (self.key(peer), Source::Peer);
        }
        let hops = match headers.get_all("forwarded").iter().next() {
            Some(_) => forwarded_hops(headers),
            None => x_forwarded_for_hops(headers),
        };
        let Some(hops) = hops else {
            return (self.key(peer), Source::Malformed);
        };
        if hops.is_empty() {
            // A trusted proxy that says nothing about who it forwards for: itself.
            return (self.key(peer), Source::Peer);
        }
        // From the right: skip our own proxies; the first hop that is not one is the client.
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            match hop {
                Hop::Address(ip) if self.is_trusted(*ip) => nearest = *ip,
                Hop::Address(ip) => return (self.key(*ip), Source::Header),
                // A proxy that does not know (or hides) the address: the nearest known hop
                // stands in, and it is counted.
                Hop::Unknown => return (self.key(nearest), Source::Malformed),
            }
        }
        // Every hop is one of ours: the farthest of them.
        (self.key(nearest), Source::Header)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// `ip` as a key: IPv4 whole, IPv6 cut to the prefix.
    fn key(&self, ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey(u128::from(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = match self.ipv6_prefix {
                    0 => 0,
                    p => u128::MAX << (128 - u32::from(p.min(128))),
                };
                // No prefix collides with an IPv4 key: IPv4-mapped addresses became IPv4 above.
                ClientKey(bits & mask)
            }
        }
    }
}

/// IPv4-mapped IPv6 as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One hop named by a forwarding header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    Address(IpAddr),
    /// `unknown`, or an obfuscated identifier (`_hidden`).
    Unknown,
}

/// The `for=` hops of every `Forwarded` field line, in order; `None` if any is malformed.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let mut hops = Vec::new();
    for value in headers.get_all("forwarded") {
        let text = value.to_str().ok()?;
        for element in split_unquoted(text, ',') {
            let mut found = None;
            for pair in split_unquoted(element, ';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (name, value) = pair.split_once('=')?;
                if name.trim().eq_ignore_ascii_case("for") {
                    if found.is_some() {
                        return None; // a parameter twice in one element
                    }
                    found = Some(node(&unquote(value.trim())?)?);
                }
            }
            if let Some(hop) = found {
                hops.push(hop);
            }
        }
    }
    Some(hops)
}

/// The hops of every `X-Forwarded-For` line, in order; `None` if any is malformed.
fn x_forwarded_for_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for part in value.to_str().ok()?.split(',') {
            let part = part.trim();
            if !part.is_empty() {
                hops.push(node(part)?);
            }
        }
    }
    Some(hops)
}

/// `text` split on `sep` where it is not inside a quoted string.
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token or a quoted string (RFC 7230 quoted-pair unescaped); `None` if unterminated.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return (!value.contains('"')).then(|| value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// A node (RFC 7239 §6): an address with an optional port, `unknown`, or `_obfuscated`.
fn node(text: &str) -> Option<Hop> {
    if text.eq_ignore_ascii_case("unknown") || text.starts_with('_') {
        return Some(Hop::Unknown);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let v6: Ipv6Addr = v6.parse().ok()?;
        if !(after.is_empty() || port(after.strip_prefix(':')?)) {
            return None;
        }
        return Some(Hop::Address(canonical(IpAddr::V6(v6))));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(Hop::Address(canonical(ip)));
    }
    let (v4, p) = text.split_once(':')?;
    (port(p)).then_some(())?;
    Some(Hop::Address(IpAddr::V4(v4.parse().ok()?)))
}

/// A port: digits, or an obfuscated port (`_x`).
fn port(text: &str) -> bool {
    text.parse::<u16>().is_ok() || (text.starts_with('_') && text.len() > 1)
}

#[cfg(test)]
mod tests;
