//! Who may call: the trunk allow-list, digest authentication and a per-source limit on new
//! INVITEs. Decisions only, no IO and no clock of its own (the caller passes `now`).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use md5::{Digest, Md5};

/// Addresses or networks (`10.0.0.0/8`, `192.0.2.7`, `::1`) allowed to send calls; empty
/// allows everyone.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    nets: Vec<(IpAddr, u8)>,
}

impl AllowList {
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in items {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item.as_str(), None),
            };
            let ip: IpAddr = addr.trim().parse().map_err(|_| format!("`{item}` is not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b.trim().parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("`{item}`: prefix length must be 0..={max}"))?,
                None => max,
            };
            nets.push((ip, bits));
        }
        Ok(Self { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.is_empty() || self.nets.iter().any(|(net, bits)| same_prefix(canonical(*net), ip, *bits))
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn same_prefix(net: IpAddr, ip: IpAddr, bits: u8) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits as u32) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits as u32) };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// A token bucket per source address: `per_second` new calls sustained, `burst` at once.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl RateLimiter {
    /// `per_second` ≤ 0 turns the limit off.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self { per_second, burst: burst.max(1) as f64, buckets: HashMap::new() }
    }

    /// Forgets sources whose bucket has refilled: they are no different from new ones.
    pub fn sweep(&mut self, now: Instant) {
        let (rate, burst) = (self.per_second, self.burst);
        self.buckets.retain(|_, (tokens, at)| *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst);
    }

    /// Sources with a bucket still refilling.
    pub fn sources(&self) -> usize {
        self.buckets.len()
    }

    /// Takes a token for a new call from `ip`; false when it is over its limit.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        if self.buckets.len() > 10_000 {
            self.sweep(now);
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What digest authentication says of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVerdict {
    Accepted { user: String },
    /// No credentials, or an old nonce: answer 401 with a fresh challenge.
    Challenge { stale: bool },
    /// Wrong user or password: 403.
    Refused,
}

/// Digest authentication (RFC 2617/3261, MD5, qop=auth) for trunks that register as users.
/// Nonces are stateless: a timestamp and a keyed hash of it, valid for `nonce_ttl_s`. What
/// was accepted is remembered for that long, so that credentials heard on the wire and sent
/// again are challenged: each use of a nonce must count up (`nc`, RFC 2617 3.2.2).
#[derive(Debug, Clone)]
pub struct DigestAuth {
    pub realm: String,
    users: HashMap<String, String>,
    secret: String,
    nonce_ttl_s: u64,
    used: Arc<Mutex<UsedNonces>>,
}

/// Per nonce and client nonce: when the nonce was issued, and the highest count accepted.
#[derive(Debug, Default)]
struct UsedNonces(HashMap<(String, String), (u64, u32)>);

impl UsedNonces {
    /// Notes a use; false if it is not newer than one accepted before (a replay).
    fn note(&mut self, nonce: &str, cnonce: &str, nc: u32, issued: u64, now: u64, ttl: u64) -> bool {
        if self.0.len() >= 4096 {
            self.0.retain(|_, (t, _)| now.saturating_sub(*t) <= ttl);
        }
        match self.0.entry((nonce.to_string(), cnonce.to_string())) {
            Entry::Occupied(e) if e.get().1 >= nc => false,
            Entry::Occupied(mut e) => {
                e.get_mut().1 = nc;
                true
            }
            Entry::Vacant(e) => {
                e.insert((issued, nc));
                true
            }
        }
    }
}

impl DigestAuth {
    pub fn new(realm: &str, users: HashMap<String, String>, secret: &str) -> Self {
        Self { realm: realm.to_owned(), users, secret: secret.to_owned(), nonce_ttl_s: 300, used: Arc::default() }
    }

    fn nonce_at(&self, unix_s: u64) -> String {
        format!("{unix_s:x}.{}", &md5_hex(&format!("{unix_s}:{}:{}", self.secret, self.realm))[..16])
    }

    /// The WWW-Authenticate header value for a 401.
    pub fn challenge(&self, unix_s: u64, stale: bool) -> String {
        let mut v = format!("Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"", self.realm, self.nonce_at(unix_s));
        if stale {
            v.push_str(", stale=true");
        }
        v
    }

    /// Checks an Authorization header value (None: the request had none) against the
    /// configured users' passwords.
    pub fn verify(&self, method: &str, authorization: Option<&str>, unix_s: u64) -> AuthVerdict {
        self.verify_ha1(method, authorization, unix_s, |user| self.users.get(user).map(|pw| ha1(user, &self.realm, pw)))
    }

    /// Checks an Authorization header value against `ha1_of(user)`: the user's
    /// MD5(user:realm:password), as a registrar stores it instead of the password.
    pub fn verify_ha1(&self, method: &str, authorization: Option<&str>, unix_s: u64, ha1_of: impl Fn(&str) -> Option<String>) -> AuthVerdict {
        let Some(header) = authorization else { return AuthVerdict::Challenge { stale: false } };
        let p = DigestParams::parse(header);
        let (Some(user), Some(nonce), Some(uri), Some(response)) = (p.get("username"), p.get("nonce"), p.get("uri"), p.get("response")) else {
            return AuthVerdict::Refused;
        };
        if p.get("realm") != Some(self.realm.as_str()) {
            return AuthVerdict::Refused;
        }
        let issued = nonce.split('.').next().and_then(|t| u64::from_str_radix(t, 16).ok());
        let issued = match issued {
            Some(t) if self.nonce_at(t) == nonce => {
                if unix_s.saturating_sub(t) > self.nonce_ttl_s {
                    return AuthVerdict::Challenge { stale: true };
                }
                t
            }
            _ => return AuthVerdict::Challenge { stale: true },
        };
        // The user is looked up last: an unknown user and a wrong password read the same.
        let Some(ha1) = ha1_of(user) else { return AuthVerdict::Refused };
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let expected = match (p.get("qop"), p.get("nc"), p.get("cnonce")) {
            (Some(q), Some(nc), Some(cnonce)) if q.eq_ignore_ascii_case("auth") => md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
            (None, _, _) => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
            _ => return AuthVerdict::Refused,
        };
        if !constant_time_eq(expected.as_bytes(), response.to_ascii_lowercase().as_bytes()) {
            return AuthVerdict::Refused;
        }
        // Right, but heard before: a fresh nonce for whoever sent it (the real client answers
        // it at once; someone replaying what they overheard cannot).
        let (cnonce, nc) = match p.get("nc") {
            Some(nc) => (p.get("cnonce").unwrap_or(""), u32::from_str_radix(nc, 16).unwrap_or(0)),
            // Without qop there is no count: a nonce's response is good once.
            None => ("", 1),
        };
        let fresh = self.used.lock().unwrap_or_else(|p| p.into_inner()).note(nonce, cnonce, nc, issued, unix_s, self.nonce_ttl_s);
        if !fresh {
            return AuthVerdict::Challenge { stale: true };
        }
        AuthVerdict::Accepted { user: user.to_owned() }
    }
}

/// The `key=value` pairs of a `Digest ...` header value.
struct DigestParams<'a>(Vec<(&'a str, &'a str)>);

impl<'a> DigestParams<'a> {
    fn parse(header: &'a str) -> Self {
        let rest = header.trim();
        let rest = rest.strip_prefix("Digest").or_else(|| rest.strip_prefix("digest")).unwrap_or(rest);
        let mut out = Vec::new();
        let mut s = rest;
        loop {
            s = s.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let Some(eq) = s.find('=') else { break };
            let key = s[..eq].trim();
            s = &s[eq + 1..];
            let value;
            if let Some(q) = s.strip_prefix('"') {
                let Some(end) = q.find('"') else { break };
                value = &q[..end];
                s = &q[end + 1..];
            } else {
                let end = s.find(',').unwrap_or(s.len());
                value = s[..end].trim();
                s = &s[end..];
            }
            out.push((key, value));
        }
        Self(out)
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v)
    }
}

/// Equal bytes, compared in time that does not tell where they differ (secrets, digests,
/// tokens); the gateway's HTTP side uses it too.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A user's digest HA1: MD5(user:realm:password), stored instead of the password.
pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{user}:{realm}:{password}"))
}

fn md5_hex(s: &str) -> String {
    hex_lower(&Md5::digest(s.as_bytes()))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The digest `response` a client computes (for the built-in caller and the tests).
pub fn digest_response(user: &str, password: &str, realm: &str, method: &str, uri: &str, nonce: &str, nc: &str, cnonce: &str) -> String {
    let ha1 = ha1(user, realm, password);
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allow_list_matches_addresses_and_networks() {
        let a = AllowList::parse(&["10.1.0.0/16".into(), "192.0.2.7".into(), "::1".into()]).unwrap();
        assert!(a.allows("10.1.200.3".parse().unwrap()));
        assert!(!a.allows("10.2.0.1".parse().unwrap()));
        assert!(a.allows("192.0.2.7".parse().unwrap()));
        assert!(!a.allows("192.0.2.8".parse().unwrap()));
        assert!(a.allows("::1".parse().unwrap()));
        assert!(a.allows("::ffff:10.1.0.9".parse().unwrap()));
        assert!(AllowList::default().allows("203.0.113.1".parse().unwrap()));
        assert!(AllowList::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(AllowList::parse(&["example.com".into()]).is_err());
    }

    #[test]
    fn rate_limit_allows_a_burst_then_the_sustained_rate_per_source() {
        let mut r = RateLimiter::new(2.0, 5);
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!((0..8).filter(|_| r.allow(a, t0)).count(), 5);
        assert!(r.allow(b, t0), "another source has its own bucket");
        assert!(!r.allow(a, t0 + Duration::from_millis(100)));
        assert!(r.allow(a, t0 + Duration::from_millis(600)));
        assert!(RateLimiter::new(0.0, 1).allow(a, t0));
    }

    #[test]
    fn secrets_are_compared_whole() {
        let same = constant_time_eq;
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[test]
    fn digest_accepts_the_right_password_and_challenges_stale_nonces() {
        let auth = DigestAuth::new("voicegate", HashMap::from([("trunk".to_string(), "s3cret".to_string())]), "k");
        let now = 1_000_000;
        assert_eq!(auth.verify("INVITE", None, now), AuthVerdict::Challenge { stale: false });
        let ch = auth.challenge(now, false);
        let nonce = ch.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let uri = "sip:bot@127.0.0.1:5060";
        let header = |pw: &str, user: &str| {
            let r = digest_response(user, pw, "voicegate", "INVITE", uri, &nonce, "00000001", "abc");
            format!("Digest username=\"{user}\", realm=\"voicegate\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{r}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\"")
        };
        assert_eq!(auth.verify("INVITE", Some(&header("s3cret", "trunk")), now + 5), AuthVerdict::Accepted { user: "trunk".into() });
        // The same credentials again (heard on the wire and replayed): challenged afresh.
        assert_eq!(auth.verify("INVITE", Some(&header("s3cret", "trunk")), now + 6), AuthVerdict::Challenge { stale: true });
        assert_eq!(auth.clone().verify("INVITE", Some(&header("s3cret", "trunk")), now + 6), AuthVerdict::Challenge { stale: true }, "clones share what was used");
        // The nonce again with the next count is the client's own next request.
        let next = |nc: &str| {
            let r = digest_response("trunk", "s3cret", "voicegate", "INVITE", uri, &nonce, nc, "abc");
            format!("Digest username=\"trunk\", realm=\"voicegate\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{r}\", algorithm=MD5, qop=auth, nc={nc}, cnonce=\"abc\"")
        };
        assert_eq!(auth.verify("INVITE", Some(&next("00000002")), now + 7), AuthVerdict::Accepted { user: "trunk".into() });
        assert_eq!(auth.verify("INVITE", Some(&next("00000002")), now + 8), AuthVerdict::Challenge { stale: true });
        // Without qop a response is good once.
        let plain = {
            let ha1 = ha1("trunk", "voicegate", "s3cret");
            let r = md5_hex(&format!("{ha1}:{nonce}:{}", md5_hex(&format!("INVITE:{uri}"))));
            format!("Digest username=\"trunk\", realm=\"voicegate\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{r}\", algorithm=MD5")
        };
        assert_eq!(auth.verify("INVITE", Some(&plain), now + 9), AuthVerdict::Accepted { user: "trunk".into() });
        assert_eq!(auth.verify("INVITE", Some(&plain), now + 9), AuthVerdict::Challenge { stale: true });
        assert_eq!(auth.verify("INVITE", Some(&header("wrong", "trunk")), now + 5), AuthVerdict::Refused);
        assert_eq!(auth.verify("INVITE", Some(&header("s3cret", "nobody")), now + 5), AuthVerdict::Refused);
        assert_eq!(auth.verify("INVITE", Some(&header("s3cret", "trunk")), now + 301), AuthVerdict::Challenge { stale: true });
        let forged = header("s3cret", "trunk").replace(&nonce, "1.0000000000000000");
        assert!(matches!(auth.verify("INVITE", Some(&forged), now), AuthVerdict::Challenge { stale: true }));
        assert_eq!(auth.verify("INVITE", Some("Digest garbage"), now), AuthVerdict::Refused);
        assert_eq!(auth.verify("INVITE", Some("Digest username=\"unterminated"), now), AuthVerdict::Refused);
    }
}
