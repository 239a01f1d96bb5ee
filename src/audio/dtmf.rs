//! In-band DTMF: Goertzel filters at the eight touch-tone frequencies over 20 ms blocks. A key
//! counts after two blocks in a row (40 ms, the shortest tone ITU-T Q.24 requires to be heard)
//! and once until it is released. (Out-of-band RFC 4733 digits come from the RTP leg.)

use std::f32::consts::PI;

const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];
/// Quieter blocks (-45 dBFS RMS) are no key.
const MIN_RMS: f32 = 0.0056;

#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    rate: f32,
    candidate: Option<char>,
    held: Option<char>,
}

fn goertzel(x: &[f32], freq: f32, rate: f32) -> f32 {
    let coeff = 2.0 * (2.0 * PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The share of `x`'s energy at `freq` (1.0 for a pure tone at it; 0 for silence).
pub fn tone_share(x: &[f32], freq: f32, rate: f32) -> f32 {
    let energy: f32 = x.iter().map(|v| v * v).sum();
    if energy == 0.0 {
        return 0.0;
    }
    goertzel(x, freq, rate) / (x.len() as f32 * energy / 2.0)
}

/// The key whose two tones make up most of `x`, if any.
pub fn key_of_block(x: &[f32], rate: f32) -> Option<char> {
    let energy: f32 = x.iter().map(|v| v * v).sum();
    let n = x.len() as f32;
    if n == 0.0 || (energy / n).sqrt() < MIN_RMS {
        return None;
    }
    let share = |f: f32| tone_share(x, f, rate);
    let best = |fs: &[f32; 4]| {
        let mut s: Vec<(usize, f32)> = fs.iter().map(|f| share(*f)).enumerate().collect();
        s.sort_by(|a, b| b.1.total_cmp(&a.1));
        (s[0].0, s[0].1, s[1].1)
    };
    let (r, rp, r2) = best(&ROWS);
    let (c, cp, c2) = best(&COLS);
    let twist = rp / cp.max(1e-9);
    let clean = rp + cp > 0.6 && rp > 0.12 && cp > 0.12 && rp > 4.0 * r2 && cp > 4.0 * c2 && (0.16..=6.3).contains(&twist);
    clean.then(|| KEYS[r][c])
}

impl DtmfDetector {
    pub fn new(rate: u32) -> Self {
        Self { rate: rate as f32, ..Default::default() }
    }

    /// One 20 ms block; returns a key when it has just been pressed.
    pub fn push(&mut self, block: &[f32]) -> Option<char> {
        let key = key_of_block(block, self.rate);
        let confirmed = key.is_some() && key == self.candidate;
        self.candidate = key;
        if key.is_none() {
            self.held = None;
        }
        if confirmed && self.held != key {
            self.held = key;
            return key;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(key: char, ms: usize, rate: f32) -> Vec<f32> {
        let (r, c) = (0..4)
            .flat_map(|r| (0..4).map(move |c| (r, c)))
            .find(|(r, c)| KEYS[*r][*c] == key)
            .unwrap();
        (0..ms * rate as usize / 1000)
            .map(|i| {
                let t = i as f32 / rate;
                0.25 * (2.0 * PI * ROWS[r] * t).sin() + 0.25 * (2.0 * PI * COLS[c] * t).sin()
            })
            .collect()
    }

    fn keys(x: &[f32]) -> String {
        let mut d = DtmfDetector::new(16000);
        x.chunks(320).filter_map(|b| d.push(b)).collect()
    }

    #[test]
    fn every_key_is_heard_once() {
        for key in "0123456789*#".chars() {
            let mut x = tone(key, 120, 16000.0);
            x.extend(vec![0.0; 1600]);
            assert_eq!(keys(&x), key.to_string());
        }
    }

    #[test]
    fn two_presses_with_a_gap_are_two_keys_and_a_click_is_none() {
        let mut x = tone('0', 100, 16000.0);
        x.extend(vec![0.0; 960]);
        x.extend(tone('0', 100, 16000.0));
        assert_eq!(keys(&x), "00");
        // 20 ms of tone is too short to count.
        assert_eq!(keys(&tone('5', 20, 16000.0)), "");
    }

    #[test]
    fn a_single_tone_or_a_chord_of_speech_like_harmonics_is_no_key() {
        let pure: Vec<f32> = (0..3200).map(|i| 0.3 * (2.0 * PI * 941.0 * i as f32 / 16000.0).sin()).collect();
        assert_eq!(keys(&pure), "");
        let voice: Vec<f32> = (0..3200)
            .map(|i| (1..20).map(|k| (2.0 * PI * 120.0 * k as f32 * i as f32 / 16000.0).sin() * 0.05 / k as f32).sum())
            .collect();
        assert_eq!(keys(&voice), "");
    }
}
