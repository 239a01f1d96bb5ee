//! Opus at the edge of an in-app (WebRTC) call. RTP carries Opus on a 48 kHz clock whatever the
//! audio's bandwidth; libopus decodes to and encodes from any of its rates, so the pipeline's
//! 16 kHz frames go in and come out directly, without a resampler: 320 samples per 20 ms.
//!
//! A lost packet is rebuilt from the next packet's in-band FEC (the redundant low-bitrate copy
//! a browser adds when the SDP says `useinbandfec=1`) when that packet is already here, and
//! otherwise concealed by libopus's packet loss concealment.

use crate::audio::SAMPLE_RATE;
use crate::error::{Error, Result};

/// Samples per 20 ms at the pipeline's rate.
pub const FRAME_SAMPLES: usize = SAMPLE_RATE as usize / 50;
/// The RTP clock of Opus (RFC 7587): 48 kHz, so 960 ticks per 20 ms.
pub const RTP_CLOCK: u32 = 48_000;
/// The longest Opus packet: 120 ms.
const MAX_PACKET_SAMPLES: usize = SAMPLE_RATE as usize * 120 / 1000;

fn codec_err(what: &str, e: opus::Error) -> Error {
    Error::internal(format!("opus {what}: {e}"))
}

/// Opus in: packets to 16 kHz mono samples.
pub struct OpusDecoder {
    dec: opus::Decoder,
    buf: Vec<f32>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self> {
        let dec = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).map_err(|e| codec_err("decoder", e))?;
        Ok(Self { dec, buf: vec![0.0; MAX_PACKET_SAMPLES] })
    }

    /// The samples of one packet (20 ms of them from a browser; Opus allows 2.5 to 120 ms).
    /// A packet libopus cannot read is bad input from the network: concealed, not an error.
    pub fn decode(&mut self, packet: &[u8]) -> Vec<f32> {
        if packet.is_empty() {
            return self.conceal(None);
        }
        match self.dec.decode_float(packet, &mut self.buf, false) {
            Ok(n) => self.buf[..n].to_vec(),
            Err(_) => self.conceal(None),
        }
    }

    /// 20 ms in place of a lost packet: from `next`'s forward error correction when the next
    /// packet is at hand, else concealed.
    pub fn conceal(&mut self, next: Option<&[u8]>) -> Vec<f32> {
        let out = &mut self.buf[..FRAME_SAMPLES];
        if let Some(next) = next.filter(|p| !p.is_empty()) {
            if let Ok(n) = self.dec.decode_float(next, out, true) {
                if n == FRAME_SAMPLES {
                    return out.to_vec();
                }
            }
        }
        match self.dec.decode_float(&[], out, false) {
            Ok(n) => out[..n].to_vec(),
            Err(_) => vec![0.0; FRAME_SAMPLES],
        }
    }
}

/// Opus out: 20 ms of 16 kHz mono to one packet, for speech (VoIP mode, in-band FEC on).
pub struct OpusEncoder {
    enc: opus::Encoder,
    buf: Vec<u8>,
}

impl OpusEncoder {
    pub fn new() -> Result<Self> {
        let mut enc = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip).map_err(|e| codec_err("encoder", e))?;
        // Wideband speech: 24 kbit/s is transparent for a TTS voice; FEC for the lossy paths
        // in-app callers are on.
        enc.set_bitrate(opus::Bitrate::Bits(24_000)).map_err(|e| codec_err("bitrate", e))?;
        enc.set_inband_fec(true).map_err(|e| codec_err("fec", e))?;
        enc.set_packet_loss_perc(5).map_err(|e| codec_err("loss", e))?;
        Ok(Self { enc, buf: vec![0u8; 1500] })
    }

    /// One packet of `frame` (exactly 20 ms; shorter is padded with silence).
    pub fn encode(&mut self, frame: &[f32]) -> Result<Vec<u8>> {
        let mut pcm = [0f32; FRAME_SAMPLES];
        let n = frame.len().min(FRAME_SAMPLES);
        pcm[..n].copy_from_slice(&frame[..n]);
        let len = self.enc.encode_float(&pcm, &mut self.buf).map_err(|e| codec_err("encode", e))?;
        Ok(self.buf[..len].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::frame::rms;

    fn tone(ms: usize) -> Vec<f32> {
        (0..SAMPLE_RATE as usize * ms / 1000).map(|i| 0.3 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / SAMPLE_RATE as f32).sin()).collect()
    }

    #[test]
    fn speech_band_audio_survives_the_round_trip() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let input = tone(1000);
        let mut out = Vec::new();
        for f in input.chunks(FRAME_SAMPLES) {
            let p = enc.encode(f).unwrap();
            assert!(p.len() > 2 && p.len() < 200, "a 20 ms packet of {} bytes", p.len());
            let d = dec.decode(&p);
            assert_eq!(d.len(), FRAME_SAMPLES);
            out.extend(d);
        }
        // Past the codec's start-up, the tone comes back at its level.
        let (a, b) = (rms(&input[4000..]), rms(&out[4000..]));
        assert!((b / a - 1.0).abs() < 0.2, "in {a}, out {b}");
    }

    #[test]
    fn a_lost_packet_is_rebuilt_from_the_next_ones_fec_or_concealed() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let packets: Vec<Vec<u8>> = tone(400).chunks(FRAME_SAMPLES).map(|f| enc.encode(f).unwrap()).collect();
        for p in &packets[..10] {
            dec.decode(p);
        }
        // Packet 10 lost; 11 is here: its FEC gives 20 ms close to the tone.
        let rebuilt = dec.conceal(Some(&packets[11]));
        assert_eq!(rebuilt.len(), FRAME_SAMPLES);
        assert!(rms(&rebuilt) > 0.1, "rebuilt rms {}", rms(&rebuilt));
        dec.decode(&packets[11]);
        // Nothing to rebuild from: concealed, still 20 ms.
        assert_eq!(dec.conceal(None).len(), FRAME_SAMPLES);
        // Garbage from the network: concealed, not a panic.
        assert!(dec.decode(&[0xff; 7]).len() <= MAX_PACKET_SAMPLES);
    }
}
