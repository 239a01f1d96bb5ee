//! Classic pcap files of RTP over Ethernet/IPv4/UDP: written from G.711 payloads (what SIPp's
//! `play_pcap_audio` plays), and read back (the captures of the tests). No IO here: bytes in,
//! bytes out; reading never panics.

use std::net::{Ipv4Addr, SocketAddrV4};

/// One UDP datagram of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub micros: u64,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub payload: Vec<u8>,
}

/// A pcap of `payloads` as RTP packets 20 ms apart (payload type `pt`, 160 samples each),
/// from `src` to `dst`.
pub fn rtp_pcap(payloads: &[Vec<u8>], pt: u8, src: SocketAddrV4, dst: SocketAddrV4) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for (i, payload) in payloads.iter().enumerate() {
        let rtp = crate::rtp::RtpPacket { marker: i == 0, payload_type: pt, sequence: i as u16, timestamp: i as u32 * 160, ssrc: 0x5151_0001, payload }.to_bytes();
        let frame = ethernet_udp(src, dst, &rtp);
        let micros = i as u64 * 20_000;
        out.extend(((micros / 1_000_000) as u32).to_le_bytes());
        out.extend(((micros % 1_000_000) as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend(frame);
    }
    out
}

fn ethernet_udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42 + payload.len());
    f.extend([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend(src.ip().octets());
    ip.extend(dst.ip().octets());
    let sum = ip.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]]) as u32).sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend(ip);
    f.extend(src.port().to_be_bytes());
    f.extend(dst.port().to_be_bytes());
    f.extend(((8 + payload.len()) as u16).to_be_bytes());
    f.extend([0, 0]);
    f.extend(payload);
    f
}

/// The UDP datagrams of a pcap (Ethernet or Linux "cooked" link layer, either byte order).
pub fn udp_datagrams(pcap: &[u8]) -> Vec<Datagram> {
    let Some(magic) = pcap.get(..4) else { return Vec::new() };
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        _ => return Vec::new(),
    };
    let u32_at = |b: &[u8], i: usize| -> Option<u32> {
        let x: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(x) } else { u32::from_be_bytes(x) })
    };
    let Some(link) = u32_at(pcap, 20) else { return Vec::new() };
    let l2 = match link {
        1 => 14,
        113 => 16,
        0 => 4,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut off = 24;
    while let (Some(sec), Some(usec), Some(incl)) = (u32_at(pcap, off), u32_at(pcap, off + 4), u32_at(pcap, off + 8)) {
        let start = off + 16;
        let end = start.saturating_add(incl as usize);
        let Some(frame) = pcap.get(start..end) else { break };
        off = end;
        let Some(ip) = frame.get(l2..) else { continue };
        if ip.len() < 28 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = (ip[0] & 0x0f) as usize * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let addr = |a: &[u8], p: &[u8]| SocketAddrV4::new(Ipv4Addr::new(a[0], a[1], a[2], a[3]), u16::from_be_bytes([p[0], p[1]]));
        out.push(Datagram {
            micros: sec as u64 * 1_000_000 + usec as u64,
            src: addr(&ip[12..16], &udp[0..2]),
            dst: addr(&ip[16..20], &udp[2..4]),
            payload: udp[8..].to_vec(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_captures_read_back_and_garbage_reads_as_nothing() {
        let a: SocketAddrV4 = "127.0.0.1:6000".parse().unwrap();
        let b: SocketAddrV4 = "127.0.0.1:7000".parse().unwrap();
        let pcap = rtp_pcap(&[vec![1; 160], vec![2; 160]], 0, a, b);
        let d = udp_datagrams(&pcap);
        assert_eq!(d.len(), 2);
        assert_eq!((d[1].src, d[1].dst, d[1].micros), (a, b, 20_000));
        let p = crate::rtp::RtpPacket::parse(&d[1].payload).unwrap();
        assert_eq!((p.sequence, p.timestamp, p.payload[0]), (1, 160, 2));
        for n in 0..pcap.len() {
            let _ = udp_datagrams(&pcap[..n]);
        }
        assert!(udp_datagrams(b"not a pcap").is_empty());
    }
}
