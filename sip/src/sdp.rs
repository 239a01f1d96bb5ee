//! SDP offer/answer for audio (RFC 3264/4566), without IO: parse an offer, choose the codec
//! (PCMU or PCMA, in the offerer's order, plus telephone-event), write the answer, and tell a
//! hold (sendonly/inactive, or the old c=0.0.0.0) from a resume. An `RTP/SAVP` offer is
//! answered with SRTP keyed by SDES (RFC 4568, `sdes`), or refused when none of its keys
//! can be used.

use std::fmt;

use crate::sdes::{self, CryptoAttr, SrtpKeys, KEY_SALT_LEN};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpError {
    /// A line that is not `x=value`, or a field that does not parse.
    Malformed(String),
    NoAudio,
    /// No codec we speak: the call gets 488 Not Acceptable Here.
    NoCommonCodec(Vec<u8>),
    /// An `RTP/SAVP` offer without an `a=crypto` we can honour: 488 too.
    NoUsableCrypto,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SdpError::Malformed(l) => write!(f, "malformed SDP: {l}"),
            SdpError::NoAudio => write!(f, "SDP has no audio stream"),
            SdpError::NoCommonCodec(pts) => {
                // The first few: a Warning must not repeat an absurd offer back at length.
                let shown: Vec<String> = pts.iter().take(MAX_SHOWN_PAYLOAD_TYPES).map(u8::to_string).collect();
                let more = pts.len().saturating_sub(MAX_SHOWN_PAYLOAD_TYPES);
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                write!(f, "no common codec: offered payload types {}{more}; we speak PCMU (0) and PCMA (8)", shown.join(" "))
            }
            SdpError::NoUsableCrypto => write!(
                f,
                "no usable SRTP key: an RTP/SAVP offer needs an a=crypto with {} and one inline key, no MKI",
                sdes::Suite::ALL.map(|s| s.name()).join(" or ")
            ),
        }
    }
}

impl std::error::Error for SdpError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(&self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Our direction for theirs.
    fn answer(&self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => *d,
        }
    }
}

/// The audio of an SDP body.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioOffer {
    pub address: String,
    pub port: u16,
    pub payload_types: Vec<u8>,
    /// (payload type, encoding name, clock rate) from a=rtpmap.
    pub rtpmap: Vec<(u8, String, u32)>,
    pub direction: Direction,
    pub ptime: Option<u32>,
    /// `RTP/SAVP` (or SAVPF): the offerer sends SRTP only.
    pub secure: bool,
    /// The stream's `a=crypto` attributes, by the offerer's preference.
    pub crypto: Vec<CryptoAttr>,
}

impl AudioOffer {
    pub fn parse(body: &str) -> Result<Self, SdpError> {
        let bad = |l: &str| SdpError::Malformed(l.chars().take(80).collect());
        let (mut session_addr, mut media_addr) = (None, None);
        let mut audio: Option<(u16, Vec<u8>)> = None;
        let (mut secure, mut crypto) = (false, Vec::new());
        let mut in_audio = false;
        let (mut rtpmap, mut direction, mut ptime) = (Vec::new(), Direction::SendRecv, None);
        for line in body.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=').ok_or_else(|| bad(line))?;
            match k {
                "m" => {
                    let parts: Vec<&str> = v.split_whitespace().collect();
                    in_audio = parts.first() == Some(&"audio") && audio.is_none();
                    if in_audio {
                        let port = parts.get(1).and_then(|p| p.split('/').next()?.parse().ok()).ok_or_else(|| bad(line))?;
                        if !parts.get(2).is_some_and(|p| p.starts_with("RTP/")) {
                            return Err(bad(line));
                        }
                        secure = parts.get(2).is_some_and(|p| p.starts_with("RTP/SAVP"));
                        let pts = parts[3..].iter().map(|p| p.parse::<u8>().map_err(|_| bad(line))).collect::<Result<Vec<_>, _>>()?;
                        audio = Some((port, pts));
                    }
                }
                "c" => {
                    let addr = v.split_whitespace().nth(2).ok_or_else(|| bad(line))?.split('/').next().unwrap_or_default().to_string();
                    if audio.is_none() {
                        session_addr = Some(addr);
                    } else if in_audio {
                        media_addr = Some(addr);
                    }
                }
                "a" if in_audio || audio.is_none() => {
                    if let Some(m) = v.strip_prefix("rtpmap:") {
                        let (pt, enc) = m.split_once(' ').ok_or_else(|| bad(line))?;
                        let mut e = enc.split('/');
                        let name = e.next().unwrap_or_default().to_string();
                        let rate = e.next().and_then(|r| r.parse().ok()).ok_or_else(|| bad(line))?;
                        rtpmap.push((pt.parse().map_err(|_| bad(line))?, name, rate));
                    } else if let Some(c) = v.strip_prefix("crypto:").filter(|_| in_audio) {
                        crypto.extend(CryptoAttr::parse(c));
                    } else if let Some(p) = v.strip_prefix("ptime:") {
                        ptime = p.trim().parse().ok();
                    } else {
                        direction = match v {
                            "sendrecv" => Direction::SendRecv,
                            "sendonly" => Direction::SendOnly,
                            "recvonly" => Direction::RecvOnly,
                            "inactive" => Direction::Inactive,
                            _ => direction,
                        };
                    }
                }
                _ => {}
            }
        }
        let (port, payload_types) = audio.ok_or(SdpError::NoAudio)?;
        let address = media_addr.or(session_addr).ok_or_else(|| bad("no c= line"))?;
        Ok(Self { address, port, payload_types, rtpmap, direction, ptime, secure, crypto })
    }

    /// A hold: the far end will not listen (sendonly, inactive, or c=0.0.0.0).
    pub fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive) || self.address == "0.0.0.0"
    }

    fn encoding(&self, pt: u8) -> Option<(String, u32)> {
        self.rtpmap.iter().find(|(p, _, _)| *p == pt).map(|(_, n, r)| (n.to_ascii_uppercase(), *r)).or(match pt {
            0 => Some(("PCMU".into(), 8000)),
            8 => Some(("PCMA".into(), 8000)),
            _ => None,
        })
    }
}

/// How many offered payload types an error names.
const MAX_SHOWN_PAYLOAD_TYPES: usize = 12;

/// What was agreed.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    /// 0 (PCMU) or 8 (PCMA).
    pub codec: u8,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    pub remote: (String, u16),
    /// SRTP, when the offer was `RTP/SAVP`.
    pub srtp: Option<SrtpKeys>,
}

/// Chooses the first G.711 law the offer lists, and telephone-event/8000 if offered; for an
/// `RTP/SAVP` offer, its first usable key, with `local_key` as ours (a plain offer's
/// `a=crypto` lines are ignored: we answer plain RTP, which RFC 4568 allows).
pub fn negotiate(offer: &AudioOffer, local_key: [u8; KEY_SALT_LEN]) -> Result<Negotiated, SdpError> {
    let codec = offer
        .payload_types
        .iter()
        .copied()
        .find(|pt| matches!(offer.encoding(*pt), Some((n, 8000)) if n == "PCMU" || n == "PCMA"))
        .ok_or_else(|| SdpError::NoCommonCodec(offer.payload_types.clone()))?;
    let codec = match offer.encoding(codec) {
        Some((n, _)) if n == "PCMU" => 0,
        _ => 8,
    };
    let telephone_event = offer
        .payload_types
        .iter()
        .copied()
        .find(|pt| matches!(offer.encoding(*pt), Some((n, 8000)) if n == "TELEPHONE-EVENT"));
    // The old way to hold (RFC 2543, c=0.0.0.0) means the far end will not listen, whatever
    // its direction attribute says: answered as a sendonly offer is.
    let direction = if offer.address == "0.0.0.0" && offer.direction == Direction::SendRecv { Direction::SendOnly } else { offer.direction };
    let srtp = match offer.secure {
        true => Some(sdes::choose(&offer.crypto, local_key).ok_or(SdpError::NoUsableCrypto)?),
        false => None,
    };
    Ok(Negotiated { codec, telephone_event, direction: direction.answer(), remote: (offer.address.clone(), offer.port), srtp })
}

/// Our SDP answer for `n`, with our media address and port.
pub fn answer(n: &Negotiated, local_ip: &str, local_port: u16, session_id: u64) -> String {
    let name = if n.codec == 0 { "PCMU" } else { "PCMA" };
    let mut pts = n.codec.to_string();
    let mut attrs = format!("a=rtpmap:{} {name}/8000\r\n", n.codec);
    if let Some(te) = n.telephone_event {
        pts += &format!(" {te}");
        attrs += &format!("a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n");
    }
    let (profile, crypto) = match &n.srtp {
        Some(keys) => ("RTP/SAVP", sdes::attribute(keys)),
        None => ("RTP/AVP", String::new()),
    };
    format!(
        "v=0\r\no=voicegate {session_id} {session_id} IN IP4 {local_ip}\r\ns=voicegate\r\nc=IN IP4 {local_ip}\r\nt=0 0\r\n\
         m=audio {local_port} {profile} {pts}\r\n{attrs}{crypto}a=ptime:20\r\na={}\r\n",
        n.direction.attr()
    )
}

/// Our SDP offer (for calls we make): PCMU, PCMA and telephone-event 101.
pub fn offer(local_ip: &str, local_port: u16, session_id: u64) -> String {
    format!(
        "v=0\r\no=voicegate {session_id} {session_id} IN IP4 {local_ip}\r\ns=voicegate\r\nc=IN IP4 {local_ip}\r\nt=0 0\r\n\
         m=audio {local_port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_SALT_LEN] = [3; KEY_SALT_LEN];

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
        m=audio 40000 RTP/AVP 9 8 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";

    #[test]
    fn answers_with_the_offerers_first_g711_and_telephone_events() {
        let o = AudioOffer::parse(OFFER).unwrap();
        let n = negotiate(&o, KEY).unwrap();
        assert_eq!((n.codec, n.telephone_event, n.remote.clone()), (8, Some(101), ("10.0.0.5".into(), 40000)));
        let a = answer(&n, "10.0.0.1", 30000, 7);
        assert!(a.contains("m=audio 30000 RTP/AVP 8 101\r\n") && a.contains("a=rtpmap:8 PCMA/8000") && a.contains("a=sendrecv"), "{a}");
        // Our own answer parses back.
        assert_eq!(negotiate(&AudioOffer::parse(&a).unwrap(), KEY).unwrap().codec, 8);
    }

    #[test]
    fn an_absurd_offer_is_not_repeated_back_at_length() {
        let pts: Vec<String> = (0..5000).map(|i| (96 + i % 32).to_string()).collect();
        let o = OFFER.replace("m=audio 40000 RTP/AVP 9 8 0 101", &format!("m=audio 40000 RTP/AVP {}", pts.join(" "))).replace("a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n", "");
        match AudioOffer::parse(&o).and_then(|o| negotiate(&o, KEY)) {
            Err(e) => {
                let m = e.to_string();
                assert!(m.len() < 200 && m.contains("more"), "{m}");
            }
            Ok(n) => panic!("negotiated {n:?}"),
        }
    }

    #[test]
    fn our_offer_negotiates_pcmu_first() {
        let n = negotiate(&AudioOffer::parse(&offer("10.0.0.9", 4000, 1)).unwrap(), KEY).unwrap();
        assert_eq!((n.codec, n.telephone_event, n.remote), (0, Some(101), ("10.0.0.9".into(), 4000)));
    }

    #[test]
    fn no_shared_codec_is_a_488_and_holds_are_recognised() {
        let opus = OFFER.replace("m=audio 40000 RTP/AVP 9 8 0 101", "m=audio 40000 RTP/AVP 9 111").replace("a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:111 opus/48000/2\r\n");
        assert_eq!(negotiate(&AudioOffer::parse(&opus).unwrap(), KEY), Err(SdpError::NoCommonCodec(vec![9, 111])));
        let hold = AudioOffer::parse(&OFFER.replace("a=sendrecv", "a=sendonly")).unwrap();
        assert!(hold.is_hold());
        assert_eq!(negotiate(&hold, KEY).unwrap().direction, Direction::RecvOnly);
        let legacy = AudioOffer::parse(&OFFER.replace("c=IN IP4 10.0.0.5", "c=IN IP4 0.0.0.0")).unwrap();
        assert!(legacy.is_hold());
        // Answered as a hold, not with a=sendrecv.
        let a = answer(&negotiate(&legacy, KEY).unwrap(), "10.0.0.1", 30000, 7);
        assert!(a.contains("a=recvonly"), "{a}");
        assert!(!AudioOffer::parse(OFFER).unwrap().is_hold());
    }

    #[test]
    fn a_savp_offer_is_answered_with_srtp_and_our_key_or_refused_without_a_usable_one() {
        let savp = OFFER.replace("RTP/AVP 9 8 0 101", "RTP/SAVP 8 101").replace("a=ptime:20", "a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:AAAA\r\na=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20\r\na=ptime:20");
        let o = AudioOffer::parse(&savp).unwrap();
        assert!(o.secure && o.crypto.len() == 2);
        let n = negotiate(&o, KEY).unwrap();
        let keys = n.srtp.unwrap();
        assert_eq!((keys.tag, &keys.remote[..4], keys.local), (2, &b"YS__"[..], KEY));
        let a = answer(&n, "10.0.0.1", 30000, 7);
        assert!(a.contains("m=audio 30000 RTP/SAVP 8 101\r\n") && a.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:AwMDAwMD"), "{a}");
        // Without a usable key: 488, never plain RTP to a caller who asked for SRTP.
        let unusable = AudioOffer::parse(&savp.replace("a=crypto:2", "a=crypto-x:2")).unwrap();
        assert_eq!(negotiate(&unusable, KEY), Err(SdpError::NoUsableCrypto));
        assert!(SdpError::NoUsableCrypto.to_string().contains("AES_CM_128_HMAC_SHA1_80"));
        // A plain offer's keys are ignored: plain RTP.
        let plain = negotiate(&AudioOffer::parse(&savp.replace("RTP/SAVP", "RTP/AVP")).unwrap(), KEY).unwrap();
        assert!(plain.srtp.is_none() && answer(&plain, "10.0.0.1", 30000, 7).contains("RTP/AVP 8 101"));
    }

    #[test]
    fn malformed_bodies_are_errors_never_panics() {
        assert_eq!(AudioOffer::parse("v=0\r\ns=-\r\n"), Err(SdpError::NoAudio));
        assert!(matches!(AudioOffer::parse("garbage"), Err(SdpError::Malformed(_))));
        assert!(matches!(AudioOffer::parse("c=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0"), Err(SdpError::Malformed(_))));
        assert!(matches!(AudioOffer::parse("c=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 0 abc"), Err(SdpError::Malformed(_))));
        for cut in 0..OFFER.len() {
            if OFFER.is_char_boundary(cut) {
                let _ = AudioOffer::parse(&OFFER[..cut]).map(|o| negotiate(&o, KEY));
            }
        }
    }
}
