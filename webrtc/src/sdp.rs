//! The SDP offers an in-app call accepts, checked before any media resource exists, and the
//! one repair webrtc-rs 0.21.1 needs: it matches codecs by name and format parameters but not
//! by clock rate, so an offer with two telephone-event entries (browsers send /48000 and /8000)
//! collapses both onto one payload type in the answer. Only the /48000 one is kept (it shares
//! Opus's clock, which is what a browser uses for keys while sending Opus).

/// Limits on an offer: a browser's audio offer is a few kB, a handful of media sections and a
/// dozen payload types.
pub const MAX_LINES: usize = 1000;
pub const MAX_LINE_BYTES: usize = 4096;
pub const MAX_MEDIA_SECTIONS: usize = 16;
pub const MAX_PAYLOAD_TYPES: usize = 64;

/// What an acceptable offer brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    pub opus_pt: u8,
    pub telephone_event_pt: Option<u8>,
    /// The offerer can decode in-band FEC (`useinbandfec=1`).
    pub fec: bool,
}

/// Why an offer cannot become a call, in words for the caller's app.
pub fn check_offer(sdp: &str) -> Result<OfferSummary, String> {
    let lines: Vec<&str> = sdp.lines().map(|l| l.trim_end_matches('\r')).collect();
    if !lines.first().is_some_and(|l| *l == "v=0") {
        return Err("not an SDP offer (it must start with v=0)".into());
    }
    if lines.len() > MAX_LINES {
        return Err(format!("the offer has {} lines (at most {MAX_LINES})", lines.len()));
    }
    if let Some(l) = lines.iter().find(|l| l.len() > MAX_LINE_BYTES) {
        return Err(format!("an offer line of {} bytes (at most {MAX_LINE_BYTES})", l.len()));
    }
    let media: Vec<&str> = lines.iter().filter(|l| l.starts_with("m=")).copied().collect();
    if media.is_empty() {
        return Err("the offer has no media: an in-app call needs audio".into());
    }
    if media.len() > MAX_MEDIA_SECTIONS {
        return Err(format!("the offer has {} media sections (at most {MAX_MEDIA_SECTIONS})", media.len()));
    }
    // The first audio section that is not rejected (port 0).
    let audio = media.iter().position(|m| {
        let f: Vec<&str> = m[2..].split(' ').collect();
        f.first() == Some(&"audio") && f.get(1).is_some_and(|p| *p != "0")
    });
    let Some(audio) = audio else {
        let kinds: Vec<&str> = media.iter().filter_map(|m| m[2..].split(' ').next()).collect();
        return Err(format!("the offer has no audio (only {}): voicegate takes voice calls", kinds.join(", ")));
    };
    let m_line = media[audio];
    let pts: Vec<&str> = m_line.split(' ').skip(3).collect();
    if pts.len() > MAX_PAYLOAD_TYPES {
        return Err(format!("the audio section offers {} payload types (at most {MAX_PAYLOAD_TYPES})", pts.len()));
    }
    if !m_line.contains("SAVPF") && !m_line.contains("SAVP") {
        return Err("the audio is not offered over DTLS-SRTP (UDP/TLS/RTP/SAVPF)".into());
    }
    // The audio section's attributes: from its m= line to the next.
    let start = lines.iter().position(|l| *l == m_line).unwrap_or(0);
    let end = lines[start + 1..].iter().position(|l| l.starts_with("m=")).map(|i| start + 1 + i).unwrap_or(lines.len());
    let section = &lines[start..end];
    let session = &lines[..lines.iter().position(|l| l.starts_with("m=")).unwrap_or(0)];
    let has = |attr: &str| section.iter().chain(session.iter()).any(|l| l.starts_with(attr));
    if !has("a=fingerprint:") {
        return Err("the offer has no DTLS fingerprint: in-app calls are encrypted".into());
    }
    if !has("a=ice-ufrag:") || !has("a=ice-pwd:") {
        return Err("the offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)".into());
    }
    let rtpmap = |name: &str| {
        section.iter().find_map(|l| {
            let rest = l.strip_prefix("a=rtpmap:")?;
            let (pt, enc) = rest.split_once(' ')?;
            let codec = enc.split('/').next()?;
            (codec.eq_ignore_ascii_case(name) && pts.contains(&pt)).then(|| pt.parse::<u8>().ok()).flatten()
        })
    };
    let Some(opus_pt) = rtpmap("opus") else {
        return Err("the offer has no Opus audio: in-app calls need Opus".into());
    };
    let fec = section.iter().any(|l| l.starts_with(&format!("a=fmtp:{opus_pt} ")) && l.contains("useinbandfec=1"));
    Ok(OfferSummary { opus_pt, telephone_event_pt: rtpmap("telephone-event"), fec })
}

/// The offer with one telephone-event left (the one at `prefer_rate` when there is one).
pub fn keep_one_telephone_event(sdp: &str, prefer_rate: u32) -> String {
    let mut te: Vec<(String, u32)> = Vec::new();
    for l in sdp.lines() {
        if let Some((pt, enc)) = l.trim_end().strip_prefix("a=rtpmap:").and_then(|r| r.split_once(' ')) {
            let mut e = enc.split('/');
            if e.next().is_some_and(|n| n.eq_ignore_ascii_case("telephone-event")) {
                let rate = e.next().and_then(|r| r.trim().parse().ok()).unwrap_or(8000);
                te.push((pt.to_owned(), rate));
            }
        }
    }
    if te.len() < 2 {
        return sdp.to_owned();
    }
    let keep = te.iter().find(|(_, r)| *r == prefer_rate).unwrap_or(&te[0]).0.clone();
    let drop: Vec<String> = te.into_iter().map(|(pt, _)| pt).filter(|pt| *pt != keep).collect();
    let mut out = String::with_capacity(sdp.len());
    for l in sdp.split_inclusive('\n') {
        let t = l.trim_end();
        if t.starts_with("m=audio ") {
            let kept: Vec<&str> = t.split(' ').enumerate().filter(|(i, p)| *i < 3 || !drop.iter().any(|d| d == p)).map(|(_, p)| p).collect();
            out.push_str(&kept.join(" "));
            out.push_str("\r\n");
            continue;
        }
        let dropped = drop.iter().any(|d| ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|a| t.starts_with(&format!("{a}{d} "))));
        if !dropped {
            out.push_str(l);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An audio offer as Chromium makes it (abridged).
    pub const CHROME_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Eq8h\r\na=ice-pwd:2m7Yl0dTfDfmk1Vbh2PaEgq0\r\na=ice-options:trickle\r\na=fingerprint:sha-256 4B:2E:90:75:1D:2A:87:9C:53:12:AB:E4:71:3B:92:1A:0A:60:7D:E1:4B:1A:C3:5D:59:9D:3E:81:5C:6C:7E:3A\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=msid:- 7a1c\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\na=ssrc:1 cname:x\r\n";

    #[test]
    fn a_browser_offer_is_accepted_with_its_opus_keys_and_fec() {
        let s = check_offer(CHROME_OFFER).unwrap();
        assert_eq!(s, OfferSummary { opus_pt: 111, telephone_event_pt: Some(110), fec: true });
    }

    #[test]
    fn offers_that_cannot_be_a_voice_call_say_why() {
        let no_audio = CHROME_OFFER.replace("m=audio 9", "m=video 9");
        assert!(check_offer(&no_audio).unwrap_err().contains("no audio (only video)"));
        let rejected = CHROME_OFFER.replace("m=audio 9", "m=audio 0");
        assert!(check_offer(&rejected).unwrap_err().contains("no audio"));
        let no_opus = CHROME_OFFER.replace("opus/48000/2", "speex/16000");
        assert!(check_offer(&no_opus).unwrap_err().contains("no Opus"));
        let plain = CHROME_OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP");
        assert!(check_offer(&plain).unwrap_err().contains("DTLS-SRTP"));
        let no_fp: String = CHROME_OFFER.split_inclusive('\n').filter(|l| !l.starts_with("a=fingerprint")).collect();
        assert!(check_offer(&no_fp).unwrap_err().contains("fingerprint"));
        let many: String = format!("m=audio 9 UDP/TLS/RTP/SAVPF {}", (0..5000).map(|i| i.to_string()).collect::<Vec<_>>().join(" "));
        let huge = CHROME_OFFER.replace("m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", &many);
        assert!(check_offer(&huge).unwrap_err().contains("bytes"));
        let lots_of_pts = CHROME_OFFER.replace(" 110 126\r\n", &format!(" 110 126 {}\r\n", (20..100).map(|i| i.to_string()).collect::<Vec<_>>().join(" ")));
        assert!(check_offer(&lots_of_pts).unwrap_err().contains("payload types"));
        let lines = format!("{CHROME_OFFER}{}", "a=x\r\n".repeat(MAX_LINES));
        assert!(check_offer(&lines).unwrap_err().contains("lines"));
        assert!(check_offer("hello").is_err());
        assert!(check_offer("").is_err());
        assert!(check_offer("v=0\r\n").unwrap_err().contains("no media"));
    }

    #[test]
    fn one_telephone_event_is_kept() {
        let s = keep_one_telephone_event(CHROME_OFFER, 48000);
        assert!(s.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110\r\n"));
        assert!(s.contains("a=rtpmap:110 telephone-event/48000"));
        assert!(!s.contains("telephone-event/8000"));
        // Nothing to do when there is one.
        assert_eq!(keep_one_telephone_event(&s, 48000), s);
    }
}
