//! REGISTER (RFC 3261 §10): agents' softphones tell the gateway where they are, with digest
//! authentication against each user's HA1. What a REGISTER asks, read without IO; who may
//! register and where they are is the application's (`Registrar`).

use std::fmt;
use std::sync::Arc;

/// The application's side of registration.
pub trait Registrar: Send + Sync {
    /// The realm users' HA1s were made for.
    fn realm(&self) -> String;
    /// The user's digest HA1, MD5(user:realm:password), if they may register.
    fn ha1(&self, user: &str) -> Option<String>;
    /// `user` is reachable at `contact` (a SIP URI) for `expires` seconds, or no longer (0).
    /// Answers the seconds granted.
    fn bind(&self, user: &str, contact: &str, expires: u32) -> u32;
    /// Where `user` is now, and for how many more seconds.
    fn binding(&self, user: &str) -> Option<(String, u32)>;
}

/// A registrar as the server's config holds it.
#[derive(Clone)]
pub struct RegistrarRef(pub Arc<dyn Registrar>);

impl fmt::Debug for RegistrarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registrar(realm {})", self.0.realm())
    }
}

/// A registration lasts this long unless the phone asks for less (RFC 3261 suggests 3600).
pub const DEFAULT_EXPIRES: u32 = 3600;
/// Longer asked for is cut to this.
pub const MAX_EXPIRES: u32 = 3600;
/// Shorter asked for (but not 0) gets 423 Interval Too Brief with this Min-Expires.
pub const MIN_EXPIRES: u32 = 60;

/// What a REGISTER asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterAsk {
    /// No Contact: where am I registered?
    Query,
    /// Reach me at `contact` for `expires` seconds (0: not there any more).
    Bind { contact: String, expires: u32 },
    /// `Contact: *` with `Expires: 0`: forget every binding.
    UnbindAll,
}

/// Why a REGISTER cannot be served: the status and a reason for the Warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRefusal {
    pub code: u16,
    pub why: String,
}

fn refuse(code: u16, why: impl Into<String>) -> RegisterRefusal {
    RegisterRefusal { code, why: why.into() }
}

/// Reads a REGISTER's Contact header values and its Expires header. The first contact is the
/// one kept (one device per agent).
pub fn read_register(contacts: &[String], expires_header: Option<&str>) -> Result<RegisterAsk, RegisterRefusal> {
    let header_expires = match expires_header.map(str::trim) {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| refuse(400, format!("Expires {v:?} is not a number of seconds")))?),
    };
    let Some(first) = contacts.iter().flat_map(|c| split_contacts(c)).next() else { return Ok(RegisterAsk::Query) };
    if first.trim() == "*" {
        return if header_expires == Some(0) { Ok(RegisterAsk::UnbindAll) } else { Err(refuse(400, "Contact: * needs Expires: 0")) };
    }
    let (uri, params) = match (first.find('<'), first.find('>')) {
        (Some(a), Some(b)) if a < b => (first[a + 1..b].trim().to_string(), &first[b + 1..]),
        _ => {
            let mut parts = first.splitn(2, ';');
            (parts.next().unwrap_or("").trim().to_string(), parts.next().unwrap_or(""))
        }
    };
    if !(uri.starts_with("sip:") || uri.starts_with("sips:")) || uri.len() < 5 {
        return Err(refuse(400, format!("Contact {uri:?} is not a SIP URI")));
    }
    let param_expires = params.split(';').filter_map(|p| p.trim().strip_prefix("expires=")).next();
    let expires = match param_expires {
        Some(v) => v.trim().parse::<u32>().map_err(|_| refuse(400, format!("expires={v:?} is not a number of seconds")))?,
        None => header_expires.unwrap_or(DEFAULT_EXPIRES),
    };
    if expires != 0 && expires < MIN_EXPIRES {
        return Err(refuse(423, format!("registrations last at least {MIN_EXPIRES} s")));
    }
    Ok(RegisterAsk::Bind { contact: uri, expires: expires.min(MAX_EXPIRES) })
}

/// The contacts of one header value, split at commas outside `<...>` and quotes.
fn split_contacts(v: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth, mut quoted) = (Vec::new(), 0, 0i32, false);
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&v[start..]);
    out.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(contacts: &[&str], expires: Option<&str>) -> Result<RegisterAsk, RegisterRefusal> {
        read_register(&contacts.iter().map(|s| s.to_string()).collect::<Vec<_>>(), expires)
    }

    #[test]
    fn contacts_and_their_expiry_are_read_as_rfc_3261_says() {
        assert_eq!(ask(&[], None), Ok(RegisterAsk::Query));
        assert_eq!(ask(&["<sip:ann@10.0.0.5:5062;transport=udp>;expires=600"], Some("3600")), Ok(RegisterAsk::Bind { contact: "sip:ann@10.0.0.5:5062;transport=udp".into(), expires: 600 }));
        assert_eq!(ask(&["\"Ann, desk\" <sip:ann@10.0.0.5>"], None), Ok(RegisterAsk::Bind { contact: "sip:ann@10.0.0.5".into(), expires: DEFAULT_EXPIRES }));
        assert_eq!(ask(&["sip:ann@10.0.0.5"], Some("86400")), Ok(RegisterAsk::Bind { contact: "sip:ann@10.0.0.5".into(), expires: MAX_EXPIRES }));
        assert_eq!(ask(&["<sip:ann@10.0.0.5>;expires=0"], None), Ok(RegisterAsk::Bind { contact: "sip:ann@10.0.0.5".into(), expires: 0 }));
        assert_eq!(ask(&["*"], Some("0")), Ok(RegisterAsk::UnbindAll));
        assert_eq!(ask(&["<sip:a@x>, <sip:b@y>"], None), Ok(RegisterAsk::Bind { contact: "sip:a@x".into(), expires: DEFAULT_EXPIRES }));
    }

    #[test]
    fn malformed_registers_are_refused_with_the_reason() {
        assert_eq!(ask(&["*"], Some("60")).unwrap_err().code, 400);
        assert_eq!(ask(&["<http://x>"], None).unwrap_err().code, 400);
        assert_eq!(ask(&["<sip:a@x>"], Some("soon")).unwrap_err().code, 400);
        assert_eq!(ask(&["<sip:a@x>;expires=-1"], None).unwrap_err().code, 400);
        assert_eq!(ask(&["<sip:a@x>;expires=5"], None).unwrap_err().code, 423);
    }
}
