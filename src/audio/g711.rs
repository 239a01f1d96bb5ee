//! G.711 µ-law and A-law (ITU-T G.711), the codecs of the telephone network.
//!
//! Linear samples are 16-bit (µ-law's 14-bit and A-law's 13-bit values scaled up, as in the
//! ITU-T G.191 reference code) or f32 in [-1, 1). The f32 functions keep µ-law's negative zero
//! (code 0x7F) as -0.0, so that every one of the 256 codes survives a decode/encode round trip.

const ULAW_BIAS: i32 = 0x84; // 33 in 14-bit units, scaled to 16 bits
const ULAW_CLIP: i32 = 8159; // largest 14-bit magnitude before the bias

/// Decodes one µ-law code to a 16-bit linear sample.
pub fn ulaw_to_linear(code: u8) -> i16 {
    let u = !code;
    let t = ((((u & 0x0F) as i32) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 { ULAW_BIAS - t } else { t - ULAW_BIAS }) as i16
}

/// Encodes a 16-bit linear sample as µ-law; `negative` picks the sign for a zero sample.
fn linear_to_ulaw_signed(sample: i16, negative: bool) -> u8 {
    let mut v = (sample as i32) >> 2;
    let mask = if negative || v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(v, 0x3F);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let code = ((seg as i32) << 4) | ((v >> (seg + 1)) & 0x0F);
    (code as u8) ^ mask
}

/// Encodes a 16-bit linear sample as µ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    linear_to_ulaw_signed(sample, false)
}

/// Decodes one A-law code to a 16-bit linear sample.
pub fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    if seg == 0 {
        t += 8;
    } else {
        t = (t + 0x108) << (seg - 1);
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// Encodes a 16-bit linear sample as A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 3;
    let mask = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let seg = segment(v, 0x1F);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mut code = (seg as i32) << 4;
    code |= if seg < 2 { (v >> 1) & 0x0F } else { (v >> seg) & 0x0F };
    (code as u8) ^ mask
}

/// The segment (0..8, 8 meaning overflow) whose end `first_end << seg | ones` holds `v`.
fn segment(v: i32, first_end: i32) -> u32 {
    (0..8).find(|&s| v <= ((first_end + 1) << s) - 1).unwrap_or(8)
}

use super::to_i16;

/// Decodes µ-law to f32; code 0x7F (negative zero) decodes to -0.0.
pub fn ulaw_decode(code: u8) -> f32 {
    let v = ulaw_to_linear(code) as f32 / 32768.0;
    if code == 0x7F {
        -0.0
    } else {
        v
    }
}

/// Encodes f32 to µ-law; -0.0 encodes to negative zero (0x7F).
pub fn ulaw_encode(x: f32) -> u8 {
    linear_to_ulaw_signed(to_i16(x), x.is_sign_negative())
}

pub fn alaw_decode(code: u8) -> f32 {
    alaw_to_linear(code) as f32 / 32768.0
}

pub fn alaw_encode(x: f32) -> u8 {
    linear_to_alaw(to_i16(x))
}

/// Decodes a µ-law payload into f32 samples.
pub fn decode_ulaw(payload: &[u8]) -> Vec<f32> {
    payload.iter().map(|&c| ulaw_decode(c)).collect()
}

/// Decodes an A-law payload into f32 samples.
pub fn decode_alaw(payload: &[u8]) -> Vec<f32> {
    payload.iter().map(|&c| alaw_decode(c)).collect()
}

pub fn encode_ulaw(samples: &[f32]) -> Vec<u8> {
    samples.iter().map(|&x| ulaw_encode(x)).collect()
}

pub fn encode_alaw(samples: &[f32]) -> Vec<u8> {
    samples.iter().map(|&x| alaw_encode(x)).collect()
}

/// An RTP payload of static type `pt` (0 µ-law, otherwise A-law) as 16-bit samples.
pub fn decode_payload(pt: u8, payload: &[u8]) -> Vec<i16> {
    payload.iter().map(|&b| if pt == 0 { ulaw_to_linear(b) } else { alaw_to_linear(b) }).collect()
}

/// Samples as an RTP payload of static type `pt` (0 µ-law, otherwise A-law).
pub fn encode_payload(pt: u8, samples: &[f32]) -> Vec<u8> {
    if pt == 0 {
        encode_ulaw(samples)
    } else {
        encode_alaw(samples)
    }
}

/// 8 kHz samples as 20 ms payloads of type `pt`, the last one padded with silence.
pub fn encode_slots(pt: u8, samples: &[f32]) -> Vec<Vec<u8>> {
    samples
        .chunks(160)
        .map(|c| {
            let mut c = c.to_vec();
            c.resize(160, 0.0);
            encode_payload(pt, &c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_by_payload_type_round_trip_in_padded_slots() {
        let x: Vec<f32> = (0..200).map(|i| ((i as f32) * 0.1).sin() * 0.5).collect();
        for pt in [0u8, 8] {
            let slots = encode_slots(pt, &x);
            assert_eq!((slots.len(), slots[1].len()), (2, 160));
            let back = decode_payload(pt, &slots[0]);
            assert!(back.iter().zip(&x).all(|(b, a)| (*b as f32 / 32768.0 - a).abs() < 0.02));
            assert_eq!(decode_payload(pt, &slots[1][40..]), vec![decode_payload(pt, &encode_payload(pt, &[0.0]))[0]; 120]);
        }
    }

    // The ITU-T G.711 decoder output values, written from the standard's tables rather than
    // from the code above: a code is sign, 3-bit segment s and 4-bit step q.
    //  µ-law (Table 2a, 14-bit units): |y| = (2q + 33)·2^s − 33, transmitted with all bits
    //  inverted; sign bit 1 (after inversion 0) is positive.
    //  A-law (Table 1a, 13-bit units): |y| = 2q + 1 for s = 0, (2q + 33)·2^(s−1) otherwise,
    //  transmitted with the even bits inverted (XOR 0x55); sign bit 1 is positive.
    fn itu_ulaw(code: u8) -> i32 {
        let inv = !code;
        let (s, q) = (((inv >> 4) & 7) as i32, (inv & 0x0F) as i32);
        let mag = (2 * q + 33) * (1 << s) - 33;
        if code & 0x80 != 0 {
            mag
        } else {
            -mag
        }
    }

    fn itu_alaw(code: u8) -> i32 {
        let c = code ^ 0x55;
        let (s, q) = (((c >> 4) & 7) as i32, (c & 0x0F) as i32);
        let mag = if s == 0 { 2 * q + 1 } else { (2 * q + 33) * (1 << (s - 1)) };
        if code & 0x80 != 0 {
            mag
        } else {
            -mag
        }
    }

    #[test]
    fn ulaw_all_256_codes_decode_to_itu_values() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_linear(code) as i32, itu_ulaw(code) * 4, "code {code:#04x}");
        }
        // Landmarks of Table 2a: the largest magnitudes and the two zeros.
        assert_eq!(itu_ulaw(0x80), 8031);
        assert_eq!(itu_ulaw(0x00), -8031);
        assert_eq!(itu_ulaw(0xFF), 0);
        assert_eq!(itu_ulaw(0x7F), 0);
    }

    #[test]
    fn alaw_all_256_codes_decode_to_itu_values() {
        for code in 0..=255u8 {
            assert_eq!(alaw_to_linear(code) as i32, itu_alaw(code) * 8, "code {code:#04x}");
        }
        assert_eq!(itu_alaw(0xAA), 4032);
        assert_eq!(itu_alaw(0x2A), -4032);
        assert_eq!(itu_alaw(0xD5), 1);
        assert_eq!(itu_alaw(0x55), -1);
    }

    #[test]
    fn every_code_reencodes_to_itself() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_encode(ulaw_decode(code)), code, "µ-law {code:#04x}");
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A-law i16 {code:#04x}");
            if code != 0x7F {
                // 16-bit integers have no negative zero; only µ-law's 0x7F needs f32.
                assert_eq!(linear_to_ulaw(ulaw_to_linear(code)), code, "µ-law i16 {code:#04x}");
            }
        }
    }

    #[test]
    fn encoding_is_monotonic_and_clips() {
        let mut last = i16::MIN;
        for x in (i16::MIN..=i16::MAX).step_by(7) {
            let y = ulaw_to_linear(linear_to_ulaw(x));
            assert!(y >= last, "µ-law not monotonic at {x}");
            last = y;
        }
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn quantisation_error_stays_within_half_a_step() {
        // Decoder outputs sit mid-step, so a decode(encode(x)) error exceeds half the local
        // step size only in the clipped range.
        for x in (-30000i16..30000).step_by(13) {
            let a = alaw_to_linear(linear_to_alaw(x)) as i32;
            let mag = (x as i32).abs();
            let step = if mag < 512 { 16 } else { 16 << ((mag / 256) as f32).log2().floor() as i32 };
            assert!((a - x as i32).abs() <= step, "A-law {x} -> {a}");
        }
    }
}
