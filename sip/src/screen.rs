//! The screen in front of the SIP stack: every request that reaches the stack is one it parses
//! the way RFC 3261 means, and every request that must not reach it gets the answer RFC 3261
//! and RFC 4475 ask for, instead of the stack's silent drop or its liberal reading.
//!
//! rsipstack 0.7.14 drops what it cannot parse without a word (unknown methods, LF-only line
//! ends, a missing From tag), reads some malformed messages liberally (the last of two
//! Content-Lengths, a Content-Length longer than the datagram, `SIP/7.0`, a CSeq naming another
//! method) and never answers 505, 416, 420 or 501. [`screen_datagram`] runs on each raw UDP
//! datagram first: it passes the message on (normalised where RFC 3261 lets a receiver repair
//! it), answers it statelessly, or drops it when nobody can be answered. [`screen_request`] is
//! the subset that still applies once a stream transport has parsed a request.
//!
//! No IO here: bytes in, a verdict out.

use std::borrow::Cow;

use rsipstack::sip::prelude::HeadersExt;

/// Our warn-agent in `Warning: 399 voicegate "..."` (RFC 3261 §20.43).
pub const WARN_AGENT: &str = "voicegate";

/// The methods the server serves (RFC 3261 §20.5 Allow).
pub const ALLOW: &[&str] = &["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE"];
/// The same with a registrar for agents' softphones.
pub const ALLOW_REGISTER: &[&str] = &["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "REGISTER"];

/// The option tags the server supports (RFC 3261 §20.37): session timers (RFC 4028).
pub const SUPPORTED: &[&str] = &["timer"];

/// rsipstack's buffer for one UDP datagram (`MAX_UDP_BUF_SIZE`): longer ones it would cut.
pub const STACK_DATAGRAM: usize = 8192;

/// The methods rsipstack parses. RFC 3261 §7.1 method names are case-sensitive; rsipstack
/// matches them ignoring case, so `invite` is screened here as the unknown method it is.
const STACK_METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Request-URI schemes we route (a trunk may send `tel:`); others get 416.
const URI_SCHEMES: &[&str] = &["sip", "sips", "tel"];

/// The prefix of the From tag given to RFC 2543 requests that carry none (RFC 3261 §12.2.2
/// asks UASs to accept them; rsipstack needs a tag to key the transaction). The UDP socket
/// takes it out again on the way back, so the peer never sees it.
pub const SYNTHETIC_TAG: &str = "vg2543x";

/// What the screen knows of the server: what it allows, supports and accepts.
#[derive(Debug, Clone)]
pub struct Policy {
    pub allow: &'static [&'static str],
    pub supported: &'static [&'static str],
    pub accept: &'static str,
    /// The longest datagram the stack takes whole; longer ones get 513.
    pub max_datagram: usize,
}

impl Policy {
    /// The server's policy.
    pub const fn standard() -> Self {
        Self {
            allow: ALLOW,
            supported: SUPPORTED,
            accept: "application/sdp",
            max_datagram: STACK_DATAGRAM,
        }
    }

    /// The standard policy of a server that also takes REGISTER.
    pub const fn registrar() -> Self {
        let mut p = Self::standard();
        p.allow = ALLOW_REGISTER;
        p
    }

    pub fn allow_header(&self) -> String {
        self.allow.join(", ")
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::standard()
    }
}

/// What to do with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Hand these bytes to the stack: the datagram, or a repaired copy (CRLF line ends, a
    /// Content-Length where UDP let it be missing, the octets after the body cut off, an RFC
    /// 2543 From tag).
    Pass(Cow<'a, [u8]>),
    /// Send this response to the datagram's source and forget the request.
    Reply { code: u16, bytes: Vec<u8> },
    /// Nobody can or may be answered: a request without a usable Via, an ACK, a bad response.
    Drop(&'static str),
}

/// A final answer the screen gives instead of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: u16,
    pub reason: &'static str,
    /// Warning, Allow, Unsupported, ... (name, value).
    pub headers: Vec<(&'static str, String)>,
}

impl Rejection {
    /// 400 naming the fault in a Warning.
    pub fn bad(fault: &str) -> Self {
        Self {
            code: 400,
            reason: "Bad Request",
            headers: vec![("Warning", warning(fault))],
        }
    }

    fn version(version: &str) -> Self {
        let why = format!("SIP version {} not supported, only SIP/2.0", clip(version));
        Self {
            code: 505,
            reason: "Version Not Supported",
            headers: vec![("Warning", warning(&why))],
        }
    }

    fn scheme(scheme: &str) -> Self {
        let why = format!("Request-URI scheme {} not supported", clip(scheme));
        Self {
            code: 416,
            reason: "Unsupported URI Scheme",
            headers: vec![("Warning", warning(&why))],
        }
    }

    fn method(policy: &Policy) -> Self {
        Self {
            code: 501,
            reason: "Not Implemented",
            headers: vec![("Allow", policy.allow_header())],
        }
    }

    fn extension(unsupported: &[&str]) -> Self {
        Self {
            code: 420,
            reason: "Bad Extension",
            headers: vec![("Unsupported", unsupported.join(", "))],
        }
    }

    fn too_large(policy: &Policy) -> Self {
        let why = format!("message longer than {} octets", policy.max_datagram);
        Self {
            code: 513,
            reason: "Message Too Large",
            headers: vec![("Warning", warning(&why))],
        }
    }
}

/// A `Warning` value: `399 voicegate "text"`, the text made safe for a quoted string.
pub fn warning(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' {
                '\''
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    format!("399 {WARN_AGENT} \"{safe}\"")
}

/// Peer text quoted back in a Warning: short, printable ASCII.
fn clip(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if s.chars().count() > 32 {
        out.push_str("...");
    }
    out
}

/// Screens one UDP datagram.
pub fn screen_datagram<'a>(datagram: &'a [u8], policy: &Policy) -> Verdict<'a> {
    // Keepalives (RFC 5626 CRLFCRLF) and stray whitespace: the stack answers or skips them.
    if datagram.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass(Cow::Borrowed(datagram));
    }
    let (lead, head_bytes, body_start) = split_head(datagram);
    let body = body_start.map(|s| &datagram[s..]).unwrap_or(&[]);
    let normalized = crlf_line_ends(head_bytes);
    let (text, utf8) = match std::str::from_utf8(&normalized) {
        Ok(s) => (Cow::Borrowed(s), true),
        Err(_) => (
            Cow::Owned(String::from_utf8_lossy(&normalized).into_owned()),
            false,
        ),
    };
    let head = Head::parse(&text);
    if head.start.starts_with("SIP/") {
        if let Some(why) = screen_response(&head, utf8, body_start.is_some()) {
            return Verdict::Drop(why);
        }
        if lead == 0 && matches!(normalized, Cow::Borrowed(_)) {
            return Verdict::Pass(Cow::Borrowed(datagram));
        }
        let mut bytes = head.to_bytes();
        bytes.extend_from_slice(body);
        return Verdict::Pass(Cow::Owned(bytes));
    }
    let is_ack = head.start.split(' ').next() == Some("ACK");
    // Whom to answer: the top Via names the client; without one nothing may be sent back.
    let Some(via) = head.first("via") else {
        return Verdict::Drop("request without Via");
    };
    if split_list(&via.value)
        .first()
        .and_then(|v| via_sent_by(v))
        .is_none()
    {
        return Verdict::Drop("request with an unusable top Via");
    }
    let fixes = match check_request(&head, utf8, body, body_start.is_some(), policy) {
        Ok(f) => f,
        Err(_) if is_ack => return Verdict::Drop("malformed ACK"),
        Err(r) => return reply(&head, &r),
    };
    let cl = fixes.content_length;
    let unchanged = lead == 0 && matches!(normalized, Cow::Borrowed(_)) && fixes.is_empty();
    let bytes: Cow<'a, [u8]> = match body_start {
        Some(start) if unchanged => Cow::Borrowed(&datagram[..start + cl]),
        _ => Cow::Owned(rebuild(&head, &fixes, &body[..cl])),
    };
    if bytes.len() > policy.max_datagram {
        if is_ack {
            return Verdict::Drop("ACK longer than the stack's buffer");
        }
        return reply(&head, &Rejection::too_large(policy));
    }
    Verdict::Pass(bytes)
}

/// Stray responses are the stack's to drop; those it would choke on (a status code that is
/// no number from 100 to 699, a CSeq beyond 32 bits, RFC 4475 3.1.2.5 and 3.1.2.19) are
/// dropped here, without the stack's warning per message. `Some(why)`: drop it.
fn screen_response(head: &Head<'_>, utf8: bool, ended: bool) -> Option<&'static str> {
    if !utf8 || !ended || head.bad_line.is_some() {
        return Some("malformed response");
    }
    let mut parts = head.start.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let code_ok = code.len() == 3 && code.parse::<u16>().is_ok_and(|c| (100..=699).contains(&c));
    if version != "SIP/2.0" || !code_ok {
        return Some("response with a bad status line");
    }
    let cseq_ok = head
        .first("cseq")
        .and_then(|c| {
            c.value
                .split_whitespace()
                .next()
                .map(|n| n.parse::<u32>().is_ok())
        })
        .unwrap_or(false);
    if !cseq_ok {
        return Some("response with a bad CSeq");
    }
    None
}

fn reply<'a>(head: &Head<'_>, r: &Rejection) -> Verdict<'a> {
    Verdict::Reply {
        code: r.code,
        bytes: response_bytes(head, r),
    }
}

/// The repairs a request needs before the stack reads it.
#[derive(Debug, Default)]
struct Fixes {
    /// The body's length: the Content-Length, or the rest of the datagram when none was sent.
    content_length: usize,
    insert_content_length: bool,
    cut_after_body: bool,
    /// An RFC 2543 INVITE without Contact: its From URI is the remote target (RFC 2543 §6.13).
    insert_contact: Option<String>,
    /// Fields written anew (index in the head, the whole field): From and To without LWS in
    /// their parameters, a From tag for an RFC 2543 request.
    rewrites: Vec<(usize, String)>,
    /// `sip/2.0` written as `SIP/2.0`.
    version: bool,
}

impl Fixes {
    fn is_empty(&self) -> bool {
        !self.insert_content_length
            && self.rewrites.is_empty()
            && !self.version
            && self.insert_contact.is_none()
    }
}

/// Every rule of [`screen_datagram`] for a request, in the order RFC 3261 §8.2 answers them.
fn check_request(
    head: &Head<'_>,
    utf8: bool,
    body: &[u8],
    ended: bool,
    policy: &Policy,
) -> Result<Fixes, Rejection> {
    let mut fixes = Fixes::default();
    if !utf8 {
        return Err(Rejection::bad("header section is not UTF-8"));
    }
    if !ended {
        return Err(Rejection::bad("no empty line after the header section"));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §25.1): one SP each.
    let parts: Vec<&str> = head.start.split(' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.contains('\t')) {
        return Err(Rejection::bad("malformed Request-Line"));
    }
    let (method, uri, version) = (parts[0], parts[1], parts[2]);
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        let looks_like_version = version.len() > 4
            && version[..4].eq_ignore_ascii_case("SIP/")
            && version[4..]
                .split('.')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        return Err(if looks_like_version {
            Rejection::version(version)
        } else {
            Rejection::bad("malformed SIP-Version")
        });
    }
    fixes.version = version != "SIP/2.0";
    if !is_token(method) {
        return Err(Rejection::bad("method is not a token"));
    }
    if uri.starts_with('<') {
        return Err(Rejection::bad("Request-URI in angle brackets"));
    }
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or("");
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(Rejection::bad("Request-URI without a scheme"));
    }
    if !URI_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(Rejection::scheme(scheme));
    }
    if !STACK_METHODS.contains(&method) {
        return Err(Rejection::method(policy));
    }
    // `?headers` are for URIs that make requests, never the Request-URI (RFC 3261 §19.1.5);
    // a `?` in the user part is allowed, so look after the host's `@`.
    let host_part = uri.rsplit_once('@').map(|(_, h)| h).unwrap_or(uri);
    if host_part.contains('?') {
        return Err(Rejection::bad("header parameters in the Request-URI"));
    }
    if let Some(line) = head.bad_line {
        let _ = line;
        return Err(Rejection::bad("malformed header line"));
    }
    for (name, shown) in [
        ("call-id", "Call-ID"),
        ("cseq", "CSeq"),
        ("from", "From"),
        ("to", "To"),
    ] {
        match head.count(name) {
            0 => return Err(Rejection::bad(&format!("missing {shown}"))),
            1 => {}
            _ => return Err(Rejection::bad(&format!("duplicate {shown}"))),
        }
    }
    for (name, shown) in [
        ("max-forwards", "Max-Forwards"),
        ("content-length", "Content-Length"),
        ("content-type", "Content-Type"),
    ] {
        if head.count(name) > 1 {
            return Err(Rejection::bad(&format!("duplicate {shown}")));
        }
    }
    match head.first("content-length") {
        Some(f) => {
            let v = f.value.trim();
            if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Rejection::bad("Content-Length is not a number"));
            }
            let n: usize = v
                .parse()
                .map_err(|_| Rejection::bad("Content-Length is not a number"))?;
            if n > body.len() {
                return Err(Rejection::bad("Content-Length larger than the datagram"));
            }
            fixes.content_length = n;
            fixes.cut_after_body = n < body.len();
        }
        None => {
            // Over UDP the body is the rest of the datagram (RFC 3261 §18.3).
            fixes.content_length = body.len();
            fixes.insert_content_length = true;
        }
    }
    let cseq = head.first("cseq").map(|f| f.value.as_ref()).unwrap_or("");
    check_cseq(cseq, method)?;
    if let Some(mf) = head.first("max-forwards") {
        let v = mf.value.trim();
        if v.is_empty() || v.len() > 9 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::bad("Max-Forwards is not a number"));
        }
    }
    if head
        .first("call-id")
        .is_some_and(|f| f.value.trim().is_empty() || f.value.trim().contains(char::is_whitespace))
    {
        return Err(Rejection::bad("malformed Call-ID"));
    }
    for via in head.all("via") {
        for v in split_list(&via.value) {
            check_via(v).map_err(|why| Rejection::bad(&format!("Via: {why}")))?;
        }
    }
    for (name, shown) in [("from", "From"), ("to", "To")] {
        let Some((index, field)) = head.fields.iter().enumerate().find(|(_, f)| f.is(name)) else {
            continue;
        };
        let parsed = NameAddr::parse(&field.value)
            .map_err(|why| Rejection::bad(&format!("{shown}: {why}")))?;
        let mut value = parsed.canonical();
        if name == "from" && !parsed.has_param("tag") {
            let call_id = head.first("call-id").map(|f| f.value.trim()).unwrap_or("");
            value.push_str(&format!(";tag={}", synthetic_tag(call_id, &value)));
        }
        if value != field.value {
            fixes
                .rewrites
                .push((index, format!("{}: {value}", field.name)));
        }
        // A dialog needs the caller's Contact (RFC 3261 §8.1.1.8); RFC 2543 let it out.
        if name == "from" && method == "INVITE" && head.count("contact") == 0 {
            let top = head
                .first("via")
                .map(|f| {
                    split_list(&f.value)
                        .first()
                        .map(|v| v.replace([' ', '\t'], ""))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            // RFC 3261 clients mark their branch with the magic cookie (§8.1.1.7).
            let rfc2543 = !top.contains(";branch=z9hG4bK");
            if !rfc2543 {
                return Err(Rejection::bad("missing Contact"));
            }
            fixes.insert_contact = Some(format!("<{}>", parsed.uri));
        }
    }
    for contact in head.all("contact") {
        if contact.value.trim() == "*" {
            continue;
        }
        for v in split_list(&contact.value) {
            NameAddr::parse(v).map_err(|why| Rejection::bad(&format!("Contact: {why}")))?;
        }
    }
    if method != "ACK" && method != "CANCEL" {
        let unsupported =
            unsupported_options(head.all("require").map(|f| f.value.as_ref()), policy);
        if !unsupported.is_empty() {
            return Err(Rejection::extension(&unsupported));
        }
    }
    Ok(fixes)
}

/// CSeq = 1*DIGIT LWS Method, below 2**31 (RFC 3261 §8.1.1.5), naming the request's method.
fn check_cseq(value: &str, method: &str) -> Result<(), Rejection> {
    let mut parts = value.split_whitespace();
    let (Some(number), Some(cseq_method), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Rejection::bad("malformed CSeq"));
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::bad("malformed CSeq"));
    }
    if number.trim_start_matches('0').len() > 10
        || number.parse::<u64>().map_or(true, |n| n >= 1 << 31)
    {
        return Err(Rejection::bad("CSeq number out of range"));
    }
    if cseq_method != method {
        return Err(Rejection::bad(
            "CSeq method differs from the request method",
        ));
    }
    Ok(())
}

/// The option tags of `Require` values that the policy does not support, in order, once each.
fn unsupported_options<'v>(values: impl Iterator<Item = &'v str>, policy: &Policy) -> Vec<&'v str> {
    let mut out: Vec<&str> = Vec::new();
    for tag in values
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !policy.supported.iter().any(|s| s.eq_ignore_ascii_case(tag))
            && !out.iter().any(|o| o.eq_ignore_ascii_case(tag))
        {
            out.push(tag);
        }
    }
    out
}

/// The same From tag for every request of one RFC 2543 dialog (its Call-ID and From do not
/// change), so retransmissions, the ACK and a BYE all find their transaction and dialog.
fn synthetic_tag(call_id: &str, from: &str) -> String {
    format!(
        "{SYNTHETIC_TAG}{:016x}",
        fnv1a(&[call_id.as_bytes(), b"\n", from.as_bytes()])
    )
}

/// Takes the tags [`screen_datagram`] gave RFC 2543 requests out of a message we send, so the
/// peer sees its own From (and To) back as it wrote them.
pub fn strip_synthetic_tags(msg: &[u8]) -> Cow<'_, [u8]> {
    let needle = format!(";tag={SYNTHETIC_TAG}");
    let needle = needle.as_bytes();
    let head_end = find(msg, b"\r\n\r\n").unwrap_or(msg.len());
    if find(&msg[..head_end], needle).is_none() {
        return Cow::Borrowed(msg);
    }
    let mut out = Vec::with_capacity(msg.len());
    let mut i = 0;
    while i < head_end {
        let rest = &msg[i..head_end];
        if rest.starts_with(needle) {
            let hex = &rest[needle.len()..];
            if hex.len() >= 16 && hex[..16].iter().all(u8::is_ascii_hexdigit) {
                i += needle.len() + 16;
                continue;
            }
        }
        out.push(msg[i]);
        i += 1;
    }
    out.extend_from_slice(&msg[head_end..]);
    Cow::Owned(out)
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The stateless response to a screened request: status line, the request's Via (all of
/// them, in order), From, To (with a tag unless it had one), Call-ID and CSeq copied as they
/// came (RFC 3261 §8.2.6.2), the rejection's headers, and no body.
fn response_bytes(head: &Head<'_>, r: &Rejection) -> Vec<u8> {
    let mut out = format!("SIP/2.0 {} {}\r\n", r.code, r.reason);
    for via in head.all("via") {
        out.push_str(via.raw);
        out.push_str("\r\n");
    }
    if let Some(from) = head.first("from") {
        out.push_str(from.raw);
        out.push_str("\r\n");
    }
    if let Some(to) = head.first("to") {
        out.push_str(to.raw.trim_end());
        // Our tag, the same for a retransmission of the same request.
        if r.code > 100 && NameAddr::parse(&to.value).is_ok_and(|t| !t.has_param("tag")) {
            out.push_str(&format!(
                ";tag=vg{:016x}",
                fnv1a(&[head.start.as_bytes(), to.raw.as_bytes()])
            ));
        }
        out.push_str("\r\n");
    }
    for name in ["call-id", "cseq"] {
        if let Some(f) = head.first(name) {
            out.push_str(f.raw);
            out.push_str("\r\n");
        }
    }
    for (name, value) in &r.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(concat!(
        "Server: voicegate/",
        env!("CARGO_PKG_VERSION"),
        "\r\n"
    ));
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

/// The request again, with its repairs: CRLF line ends, From and To rewritten, the
/// Content-Length, the body cut to it.
fn rebuild(head: &Head<'_>, fixes: &Fixes, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.text.len() + body.len() + 64);
    if fixes.version {
        let (line, _) = head.start.rsplit_once(' ').unwrap_or((head.start, ""));
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b" SIP/2.0");
    } else {
        out.extend_from_slice(head.start.as_bytes());
    }
    for (i, f) in head.fields.iter().enumerate() {
        out.extend_from_slice(b"\r\n");
        match fixes.rewrites.iter().find(|(at, _)| *at == i) {
            Some((_, field)) => out.extend_from_slice(field.as_bytes()),
            None => out.extend_from_slice(f.raw.trim_end().as_bytes()),
        }
    }
    if let Some(contact) = &fixes.insert_contact {
        out.extend_from_slice(format!("\r\nContact: {contact}").as_bytes());
    }
    if fixes.insert_content_length {
        out.extend_from_slice(format!("\r\nContent-Length: {}", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Splits a datagram at the empty line after its headers: (CR/LF octets skipped before the
/// start line, the header section, where the body starts if an empty line ends the headers).
fn split_head(d: &[u8]) -> (usize, &[u8], Option<usize>) {
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let lead = d
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let mut line_start = lead;
    while let Some(off) = d[line_start..].iter().position(|b| *b == b'\n') {
        let lf = line_start + off;
        let line = &d[line_start..lf];
        if line.is_empty() || line == b"\r" {
            return (lead, &d[lead..line_start], Some(lf + 1));
        }
        line_start = lf + 1;
    }
    (lead, &d[lead..], None)
}

/// The header section with every bare LF made CRLF (RFC 3261 §7 asks for CRLF; some
/// implementations send LF alone, and the stack only finds CRLF CRLF).
fn crlf_line_ends(head: &[u8]) -> Cow<'_, [u8]> {
    let bare = head
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'\n' && (i == 0 || head[i - 1] != b'\r'));
    if !bare {
        return Cow::Borrowed(head);
    }
    let mut out = Vec::with_capacity(head.len() + 32);
    for (i, b) in head.iter().enumerate() {
        if *b == b'\n' && (i == 0 || head[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    Cow::Owned(out)
}

/// A header section as lines: the start line and each field with its continuation lines.
struct Head<'h> {
    text: &'h str,
    start: &'h str,
    fields: Vec<Field<'h>>,
    /// The first line that is neither a field nor a continuation.
    bad_line: Option<&'h str>,
}

struct Field<'h> {
    name: &'h str,
    /// The whole field as sent, continuation lines included, without the final CRLF.
    raw: &'h str,
    /// The value with continuation lines joined (RFC 3261 §7.3.1), trimmed.
    value: Cow<'h, str>,
}

impl<'h> Field<'h> {
    fn is(&self, canonical: &str) -> bool {
        long_name(self.name).eq_ignore_ascii_case(canonical)
    }
}

impl<'h> Head<'h> {
    fn parse(text: &'h str) -> Self {
        let text = text.trim_end_matches(['\r', '\n']);
        let mut lines = LineSpans::new(text);
        let (_, start) = lines.next().unwrap_or((0, ""));
        let mut head = Head {
            text,
            start,
            fields: Vec::new(),
            bad_line: None,
        };
        // (start offset of the field, end offset so far)
        let mut open: Option<(usize, usize, usize)> = None; // (field start, colon, end)
        let mut spans = Vec::new();
        for (at, line) in lines {
            if line.starts_with([' ', '\t']) {
                match open.as_mut() {
                    Some(o) => o.2 = at + line.len(),
                    None => {
                        head.bad_line.get_or_insert(line);
                    }
                }
                continue;
            }
            if let Some(o) = open.take() {
                spans.push(o);
            }
            match line.find(':') {
                Some(colon) if is_token(line[..colon].trim_end_matches([' ', '\t'])) => {
                    open = Some((at, at + colon, at + line.len()))
                }
                _ => {
                    head.bad_line.get_or_insert(line);
                }
            }
        }
        if let Some(o) = open.take() {
            spans.push(o);
        }
        for (start, colon, end) in spans {
            let after = &text[colon + 1..end];
            let value = if after.contains("\r\n") {
                Cow::Owned(after.replace("\r\n", " ").trim().to_owned())
            } else {
                Cow::Borrowed(after.trim())
            };
            head.fields.push(Field {
                name: text[start..colon].trim_end(),
                raw: &text[start..end],
                value,
            });
        }
        head
    }

    fn all<'s>(&'s self, canonical: &'s str) -> impl Iterator<Item = &'s Field<'h>> + 's {
        self.fields.iter().filter(move |f| f.is(canonical))
    }

    fn first(&self, canonical: &str) -> Option<&Field<'h>> {
        self.fields.iter().find(|f| f.is(canonical))
    }

    fn count(&self, canonical: &str) -> usize {
        self.all(canonical).count()
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.as_bytes().to_vec();
        out.extend_from_slice(b"\r\n\r\n");
        out
    }
}

/// Lines of a CRLF text with their byte offsets.
struct LineSpans<'t> {
    text: &'t str,
    at: usize,
    done: bool,
}

impl<'t> LineSpans<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            at: 0,
            done: text.is_empty(),
        }
    }
}

impl<'t> Iterator for LineSpans<'t> {
    type Item = (usize, &'t str);
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.text[self.at..];
        let at = self.at;
        match rest.find("\r\n") {
            Some(end) => {
                self.at += end + 2;
                Some((at, &rest[..end]))
            }
            None => {
                self.done = true;
                Some((at, rest))
            }
        }
    }
}

/// The long form of a compact header name (RFC 3261 §7.3.3, RFC 4028 `x`).
fn long_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "call-id",
        b'm' => "contact",
        b'e' => "content-encoding",
        b'l' => "content-length",
        b'c' => "content-type",
        b'f' => "from",
        b's' => "subject",
        b'k' => "supported",
        b't' => "to",
        b'v' => "via",
        b'x' => "session-expires",
        _ => name,
    }
}

/// RFC 3261 token characters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

fn skip_lws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// The values of a comma-separated header, commas inside quotes and `<...>` kept.
fn split_list(value: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut angle, mut escaped) =
        (Vec::new(), 0, false, false, false);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out
}

/// The sent-by of one Via value (`SIP / 2.0 / UDP host:port;params`), if it has a usable one.
fn via_sent_by(value: &str) -> Option<&str> {
    let mut slashes = value.splitn(3, '/');
    let (name, version, rest) = (
        slashes.next()?.trim(),
        slashes.next()?.trim(),
        skip_lws(slashes.next()?),
    );
    if !is_token(name) || !is_token(version) {
        return None;
    }
    let transport_end = rest.find([' ', '\t'])?;
    if !is_token(&rest[..transport_end]) {
        return None;
    }
    let rest = skip_lws(&rest[transport_end..]);
    let sent_by = rest.split(';').next()?.trim();
    let ok = !sent_by.is_empty()
        && sent_by
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    ok.then_some(sent_by)
}

/// One Via value: a sent-by, then `;name[=value]` parameters, none empty.
fn check_via(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("empty value");
    }
    let sent_by = via_sent_by(value).ok_or("malformed sent-by")?;
    let after = value
        .find(sent_by)
        .map(|i| &value[i + sent_by.len()..])
        .unwrap_or("");
    let rest = params(after)?;
    if !rest.trim().is_empty() {
        return Err("junk after the parameters");
    }
    Ok(())
}

/// `*( SWS ";" SWS name [ SWS "=" SWS value ] )`: returns what follows the parameters.
fn params(mut s: &str) -> Result<&str, &'static str> {
    loop {
        let t = skip_lws(s);
        let Some(after) = t.strip_prefix(';') else {
            return Ok(t);
        };
        let after = skip_lws(after);
        let name_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)))
            .unwrap_or(after.len());
        if name_end == 0 {
            return Err("empty parameter");
        }
        let mut rest = skip_lws(&after[name_end..]);
        if let Some(v) = rest.strip_prefix('=') {
            let v = skip_lws(v);
            let len = if v.starts_with('"') {
                quoted_len(v).ok_or("unbalanced quote in a parameter")?
            } else {
                v.find([';', ',', ' ', '\t']).unwrap_or(v.len())
            };
            if len == 0 {
                return Err("empty parameter value");
            }
            rest = &v[len..];
        }
        s = rest;
    }
}

/// The length of the quoted string `s` starts with, closing quote included.
fn quoted_len(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// One From, To or Contact value: `[display-name] <URI> *params` or `addr-spec *params`.
struct NameAddr<'v> {
    /// The display name and URI, as sent.
    address: &'v str,
    /// The URI alone.
    uri: &'v str,
    /// The parameters after the URI, as sent.
    params: &'v str,
}

impl<'v> NameAddr<'v> {
    fn parse(value: &'v str) -> Result<Self, &'static str> {
        let s = value.trim();
        if s.is_empty() {
            return Err("empty value");
        }
        let (uri, after_uri) = if s.starts_with('"') {
            let end = quoted_len(s).ok_or("unbalanced quote in the display name")?;
            let rest = skip_lws(&s[end..]);
            if !rest.starts_with('<') {
                return Err("display name without <URI>");
            }
            angle(rest)?
        } else if let Some(lt) = s.find('<').filter(|lt| !s[..*lt].contains(':')) {
            // An unquoted display name is a series of tokens (RFC 3261 §25.1).
            if !s[..lt].split_whitespace().all(is_token) {
                return Err("display name with characters that need quotes");
            }
            angle(&s[lt..])?
        } else {
            // addr-spec: its parameters are the header's; `?`, `,` or LWS need <> (RFC 3261 §20).
            let end = s.find(';').unwrap_or(s.len());
            let uri = s[..end].trim_end();
            if uri.contains([' ', '\t']) {
                return Err("whitespace in the URI");
            }
            if uri.contains(['?', ',']) {
                return Err("URI with ? or , outside <>");
            }
            if !is_uri(uri) {
                return Err("malformed URI");
            }
            (uri, &s[end..])
        };
        let rest = params(after_uri)?;
        if !rest.trim().is_empty() {
            return Err("junk after the URI");
        }
        let address = s[..s.len() - after_uri.len()].trim_end();
        Ok(Self {
            address,
            uri,
            params: after_uri,
        })
    }

    /// The parameters as `(name, value)`, LWS around `;` and `=` dropped.
    fn param_list(&self) -> Vec<(&'v str, Option<&'v str>)> {
        let mut out = Vec::new();
        let mut s = self.params;
        loop {
            let t = skip_lws(s);
            let Some(after) = t.strip_prefix(';') else {
                return out;
            };
            let after = skip_lws(after);
            let name_end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)))
                .unwrap_or(after.len());
            let mut rest = skip_lws(&after[name_end..]);
            let mut value = None;
            if let Some(v) = rest.strip_prefix('=') {
                let v = skip_lws(v);
                let len = if v.starts_with('"') {
                    quoted_len(v).unwrap_or(v.len())
                } else {
                    v.find([';', ',', ' ', '\t']).unwrap_or(v.len())
                };
                value = Some(&v[..len]);
                rest = &v[len..];
            }
            out.push((&after[..name_end], value));
            s = rest;
        }
    }

    fn has_param(&self, name: &str) -> bool {
        self.param_list()
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The value without LWS inside its parameters (rsipstack reads `;tag=x`, not `; tag = x`).
    fn canonical(&self) -> String {
        let mut out = self.address.to_string();
        for (name, value) in self.param_list() {
            out.push(';');
            out.push_str(name);
            if let Some(v) = value {
                out.push('=');
                out.push_str(v);
            }
        }
        out
    }
}

/// `<URI>` at the start of `s`: checks the URI and returns it and what follows `>`.
fn angle(s: &str) -> Result<(&str, &str), &'static str> {
    let close = s.find('>').ok_or("< without >")?;
    let uri = &s[1..close];
    if uri.is_empty() || uri.contains([' ', '\t']) {
        return Err("whitespace inside <URI>");
    }
    if !is_uri(uri) {
        return Err("malformed URI");
    }
    Ok((uri, &s[close + 1..]))
}

/// `scheme ":" rest` (RFC 3986 §3.1), with nothing in it that delimits a header value.
fn is_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    scheme_ok && !rest.is_empty() && !uri.contains(['<', '>', '"', ' ', '\t'])
}

/// The parsed-request subset of [`screen_datagram`], for stream transports, where rsipstack's
/// codec has already framed and parsed the message (version, Request-URI scheme, unknown
/// option tags in Require, CSeq). `None`: hand the request on.
pub fn screen_request(req: &rsipstack::sip::Request, policy: &Policy) -> Option<Rejection> {
    use rsipstack::sip::{Method, Scheme, Version};
    if req.version != Version::V2 {
        return Some(Rejection::version(&req.version.to_string()));
    }
    if let Some(Scheme::Other(s)) = &req.uri.scheme {
        if !URI_SCHEMES.iter().any(|k| k.eq_ignore_ascii_case(s)) {
            return Some(Rejection::scheme(s));
        }
    }
    let counts =
        |pred: fn(&rsipstack::sip::Header) -> bool| req.headers.iter().filter(|h| pred(h)).count();
    use rsipstack::sip::Header as H;
    for (n, shown) in [
        (counts(|h| matches!(h, H::CallId(_))), "Call-ID"),
        (counts(|h| matches!(h, H::CSeq(_))), "CSeq"),
        (counts(|h| matches!(h, H::From(_))), "From"),
        (counts(|h| matches!(h, H::To(_))), "To"),
    ] {
        match n {
            0 => return Some(Rejection::bad(&format!("missing {shown}"))),
            1 => {}
            _ => return Some(Rejection::bad(&format!("duplicate {shown}"))),
        }
    }
    let cseq = req
        .cseq_header()
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if let Err(r) = check_cseq(&cseq, &req.method.to_string()) {
        return Some(r);
    }
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter_map(|h| {
                if let H::Require(r) = h {
                    Some(r.value().to_string())
                } else {
                    None
                }
            })
            .collect();
        let unsupported = unsupported_options(values.iter().map(String::as_str), policy);
        if !unsupported.is_empty() {
            return Some(Rejection::extension(&unsupported));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:bot@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK-1\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:alice@example.com>;tag=a1\r\n\
        To: <sip:bot@example.com>\r\n\
        Call-ID: c1@example.com\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";

    fn screen(msg: &str) -> Verdict<'_> {
        screen_datagram(msg.as_bytes(), &Policy::standard())
    }

    fn code(msg: &str) -> Option<u16> {
        match screen(msg) {
            Verdict::Reply { code, .. } => Some(code),
            _ => None,
        }
    }

    fn reply_text(msg: &str) -> String {
        match screen(msg) {
            Verdict::Reply { bytes, .. } => String::from_utf8(bytes).unwrap(),
            v => panic!("expected a reply, got {v:?}"),
        }
    }

    fn passed(msg: &str) -> String {
        match screen(msg) {
            Verdict::Pass(b) => String::from_utf8(b.into_owned()).unwrap(),
            v => panic!("expected pass, got {v:?}"),
        }
    }

    #[test]
    fn a_well_formed_request_passes_untouched() {
        assert_eq!(
            screen(OPTIONS),
            Verdict::Pass(Cow::Borrowed(OPTIONS.as_bytes()))
        );
    }

    #[test]
    fn keepalives_pass_to_the_stack() {
        assert_eq!(
            screen("\r\n\r\n"),
            Verdict::Pass(Cow::Borrowed(&b"\r\n\r\n"[..]))
        );
    }

    #[test]
    fn content_length_longer_than_the_datagram_is_400() {
        let msg = OPTIONS.replace("Content-Length: 0", "Content-Length: 50");
        assert_eq!(code(&msg), Some(400));
        assert!(reply_text(&msg)
            .contains("Warning: 399 voicegate \"Content-Length larger than the datagram\""));
    }

    #[test]
    fn negative_non_numeric_and_duplicate_content_lengths_are_400() {
        for (cl, why) in [
            ("Content-Length: -5", "Content-Length is not a number"),
            ("Content-Length: five", "Content-Length is not a number"),
            ("Content-Length: 0\r\nl: 0", "duplicate Content-Length"),
        ] {
            let msg = OPTIONS.replace("Content-Length: 0", cl);
            assert!(reply_text(&msg).contains(why), "{cl}");
        }
    }

    #[test]
    fn a_missing_content_length_over_udp_means_the_rest_of_the_datagram() {
        let msg = OPTIONS.replace("Content-Length: 0\r\n", "") + "hello";
        assert!(passed(&msg).ends_with("Content-Length: 5\r\n\r\nhello"));
    }

    #[test]
    fn octets_after_the_body_are_cut_off() {
        let msg = OPTIONS.replace("Content-Length: 0", "Content-Length: 2") + "hi there";
        assert!(passed(&msg).ends_with("\r\n\r\nhi"));
    }

    #[test]
    fn a_cseq_naming_another_method_is_400() {
        let msg = OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert!(reply_text(&msg).contains("CSeq method differs from the request method"));
    }

    #[test]
    fn a_cseq_beyond_2_31_or_malformed_is_400() {
        assert!(
            reply_text(&OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 2147483648 OPTIONS"))
                .contains("CSeq number out of range")
        );
        assert!(
            reply_text(&OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: OPTIONS"))
                .contains("malformed CSeq")
        );
        assert_eq!(
            code(&OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 2147483647 OPTIONS")),
            None
        );
    }

    #[test]
    fn missing_or_repeated_call_id_cseq_from_to_are_400() {
        for (line, name) in [
            ("Call-ID: c1@example.com\r\n", "Call-ID"),
            ("CSeq: 1 OPTIONS\r\n", "CSeq"),
            ("From: <sip:alice@example.com>;tag=a1\r\n", "From"),
            ("To: <sip:bot@example.com>\r\n", "To"),
        ] {
            assert!(
                reply_text(&OPTIONS.replace(line, "")).contains(&format!("missing {name}")),
                "{name}"
            );
            assert!(
                reply_text(&OPTIONS.replace(line, &format!("{line}{line}")))
                    .contains(&format!("duplicate {name}")),
                "{name}"
            );
        }
    }

    #[test]
    fn a_malformed_request_line_is_400() {
        for line in [
            "OPTIONS  sip:bot@example.com SIP/2.0",
            "OPTIONS sip:bot@example.com SIP/2.0 ",
            "OPTIONS <sip:bot@example.com> SIP/2.0",
            "OPTIONS sip:bot@example.com; lr SIP/2.0",
            "OPTIONS sip:bot@example.com?Route=x SIP/2.0",
        ] {
            assert_eq!(
                code(&OPTIONS.replace("OPTIONS sip:bot@example.com SIP/2.0", line)),
                Some(400),
                "{line:?}"
            );
        }
    }

    #[test]
    fn another_sip_version_is_505() {
        let msg = OPTIONS.replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
        assert_eq!(code(&msg), Some(505));
        assert!(reply_text(&msg).starts_with("SIP/2.0 505 Version Not Supported\r\n"));
    }

    #[test]
    fn an_unknown_method_is_501_with_allow() {
        let msg = OPTIONS
            .replace("OPTIONS sip", "NEWMETHOD sip")
            .replace("1 OPTIONS", "1 NEWMETHOD");
        let text = reply_text(&msg);
        assert!(text.starts_with("SIP/2.0 501 Not Implemented\r\n"));
        assert!(text.contains("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE\r\n"));
        // Method names are case-sensitive: `options` is not OPTIONS.
        assert_eq!(
            code(
                &OPTIONS
                    .replace("OPTIONS sip", "options sip")
                    .replace("1 OPTIONS", "1 options")
            ),
            Some(501)
        );
    }

    #[test]
    fn an_unknown_request_uri_scheme_is_416() {
        assert_eq!(
            code(&OPTIONS.replace("sip:bot@example.com SIP", "nobody:opaque SIP")),
            Some(416)
        );
        assert_eq!(
            code(&OPTIONS.replace("sip:bot@example.com SIP", "tel:+15551234567 SIP")),
            None
        );
    }

    #[test]
    fn an_unsupported_require_is_420_listing_the_tags() {
        let msg = OPTIONS.replace("Max-Forwards", "Require: timer, foo, bar\r\nMax-Forwards");
        let text = reply_text(&msg);
        assert!(text.starts_with("SIP/2.0 420 Bad Extension\r\n"));
        assert!(text.contains("Unsupported: foo, bar\r\n"));
        assert_eq!(
            code(&OPTIONS.replace("Max-Forwards", "Require: timer\r\nMax-Forwards")),
            None,
            "timer is supported"
        );
    }

    #[test]
    fn responses_copy_via_from_to_call_id_cseq_and_tag_the_to() {
        let msg = OPTIONS
            .replace(
                "Max-Forwards",
                "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-0\r\nMax-Forwards",
            )
            .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        let text = reply_text(&msg);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "Via: SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK-1"
        );
        assert_eq!(
            lines[2],
            "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK-0"
        );
        assert_eq!(lines[3], "From: <sip:alice@example.com>;tag=a1");
        assert!(
            lines[4].starts_with("To: <sip:bot@example.com>;tag=vg"),
            "{}",
            lines[4]
        );
        assert_eq!(lines[5], "Call-ID: c1@example.com");
        assert_eq!(lines[6], "CSeq: 1 INVITE");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        assert_eq!(reply_text(&msg), text, "the same tag for a retransmission");
        let tagged = msg.replace(
            "To: <sip:bot@example.com>",
            "To: <sip:bot@example.com>;tag=b2",
        );
        assert!(reply_text(&tagged).contains("\r\nTo: <sip:bot@example.com>;tag=b2\r\n"));
    }

    #[test]
    fn requests_nobody_can_be_answered_are_dropped() {
        let no_via = OPTIONS.replace(
            "Via: SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK-1\r\n",
            "",
        );
        assert_eq!(screen(&no_via), Verdict::Drop("request without Via"));
        let bad_via = OPTIONS.replace("SIP/2.0/UDP client.example.com:5060", "garbage");
        assert_eq!(
            screen(&bad_via),
            Verdict::Drop("request with an unusable top Via")
        );
        let ack = OPTIONS
            .replace("OPTIONS sip", "ACK sip")
            .replace("1 OPTIONS", "1 INVITE");
        assert_eq!(screen(&ack), Verdict::Drop("malformed ACK"));
    }

    #[test]
    fn lf_only_line_ends_are_made_crlf() {
        let lf = OPTIONS.replace("\r\n", "\n");
        assert_eq!(passed(&lf), OPTIONS);
        let mixed = OPTIONS.replacen("\r\n", "\n", 3);
        assert_eq!(passed(&mixed), OPTIONS);
    }

    #[test]
    fn headers_without_the_empty_line_are_400() {
        let cut = &OPTIONS[..OPTIONS.len() - 2];
        assert!(reply_text(cut).contains("no empty line after the header section"));
    }

    #[test]
    fn malformed_from_to_contact_and_via_are_400() {
        for (from, to) in [
            (
                "To: <sip:bot@example.com>",
                "To: \"Bot <sip:bot@example.com>",
            ),
            (
                "To: <sip:bot@example.com>",
                "To: Bot, The <sip:bot@example.com>",
            ),
            ("To: <sip:bot@example.com>", "To: < sip:bot@example.com >"),
            (
                "Max-Forwards",
                "Contact: sip:a@example.com?Route=x\r\nMax-Forwards",
            ),
            (
                "Max-Forwards",
                "Contact: <sip:a@example.com>;;\r\nMax-Forwards",
            ),
            ("branch=z9hG4bK-1", "branch=z9hG4bK-1;;,;,,"),
        ] {
            assert_eq!(code(&OPTIONS.replace(from, to)), Some(400), "{to}");
        }
        for ok in [
            "To: Bot <sip:bot@example.com>",
            "To: bot<sip:bot@example.com>",
            "To: \"B \\\"o\\\" t\" <sip:bot@example.com> ; x = 1",
            "To: sip:bot@example.com;user=phone",
        ] {
            assert_eq!(
                code(&OPTIONS.replace("To: <sip:bot@example.com>", ok)),
                None,
                "{ok}"
            );
        }
    }

    #[test]
    fn an_rfc2543_from_without_tag_gets_a_stable_one_that_is_stripped_on_the_way_out() {
        let msg = OPTIONS.replace(
            "From: <sip:alice@example.com>;tag=a1",
            "From: <sip:alice@example.com>",
        );
        let out = passed(&msg);
        let from = out
            .split("\r\n")
            .find(|l| l.starts_with("From:"))
            .unwrap()
            .to_string();
        assert!(
            from.starts_with("From: <sip:alice@example.com>;tag=vg2543x"),
            "{from}"
        );
        assert_eq!(passed(&msg), out, "the same tag each time");
        let back = format!("SIP/2.0 200 OK\r\n{from}\r\nTo: <sip:bot@example.com>;tag=b\r\n\r\n");
        assert_eq!(strip_synthetic_tags(back.as_bytes()).as_ref(), b"SIP/2.0 200 OK\r\nFrom: <sip:alice@example.com>\r\nTo: <sip:bot@example.com>;tag=b\r\n\r\n");
        assert!(matches!(
            strip_synthetic_tags(OPTIONS.as_bytes()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn an_rfc2543_invite_without_contact_is_reached_at_its_from_uri() {
        let invite = OPTIONS
            .replace("OPTIONS sip", "INVITE sip")
            .replace("1 OPTIONS", "1 INVITE");
        assert!(
            reply_text(&invite).contains("missing Contact"),
            "RFC 3261 INVITEs must have one"
        );
        let old = invite
            .replace(";branch=z9hG4bK-1", "")
            .replace(";tag=a1", "");
        let out = passed(&old);
        assert!(
            out.contains("\r\nContact: <sip:alice@example.com>\r\n"),
            "{out}"
        );
    }

    #[test]
    fn oversized_requests_are_513() {
        let msg = OPTIONS.replace("Content-Length: 0", "Content-Length: 9000") + &"x".repeat(9000);
        assert_eq!(code(&msg), Some(513));
    }

    #[test]
    fn responses_pass_unless_their_status_or_cseq_is_out_of_range() {
        let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(screen(ok), Verdict::Pass(_)));
        assert!(matches!(
            screen(&ok.replace(" 200 ", " 4294967301 ")),
            Verdict::Drop(_)
        ));
        assert!(matches!(
            screen(&ok.replace("CSeq: 1", "CSeq: 9292394834772304023312")),
            Verdict::Drop(_)
        ));
    }

    #[test]
    fn parsed_requests_get_the_same_answers_over_streams() {
        let parse = |m: &str| match rsipstack::sip::SipMessage::try_from(m).unwrap() {
            rsipstack::sip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        };
        let p = Policy::standard();
        assert_eq!(screen_request(&parse(OPTIONS), &p), None);
        assert_eq!(
            screen_request(
                &parse(&OPTIONS.replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia")),
                &p
            )
            .map(|r| r.code),
            Some(505)
        );
        assert_eq!(
            screen_request(
                &parse(&OPTIONS.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")),
                &p
            )
            .map(|r| r.code),
            Some(400)
        );
        assert_eq!(
            screen_request(
                &parse(&OPTIONS.replace("Max-Forwards", "Require: foo\r\nMax-Forwards")),
                &p
            )
            .map(|r| r.code),
            Some(420)
        );
        assert_eq!(
            screen_request(
                &parse(&OPTIONS.replace("sip:bot@example.com SIP", "nobody:x SIP")),
                &p
            )
            .map(|r| r.code),
            Some(416)
        );
    }
}
