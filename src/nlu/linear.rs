//! A multinomial logistic-regression model over hashed sparse features: training (AdaGrad,
//! deterministic), temperature calibration, prediction, and its compact file format (only the
//! feature rows in use, weights as f16).

use std::collections::HashMap;

use half::f16;

use crate::nlu::features::{Features, BUCKET_BITS};

const MAGIC: &[u8; 4] = b"VGLM";
const VERSION: u8 = 1;

pub struct LinearModel {
    pub classes: Vec<String>,
    rows: HashMap<u32, Box<[f32]>>,
    bias: Vec<f32>,
    /// Softmax temperature fitted on held-out data, so probabilities are calibrated.
    pub temperature: f32,
    /// Below this top probability the model is not sure (the caller decides what that means).
    pub threshold: f32,
}

impl std::fmt::Debug for LinearModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearModel")
            .field("classes", &self.classes)
            .field("rows", &self.rows.len())
            .field("temperature", &self.temperature)
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// One training example.
#[derive(Debug, Clone)]
pub struct Example {
    pub x: Features,
    pub y: usize,
    pub weight: f32,
}

#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

/// SplitMix64: a tiny deterministic generator, so that training reproduces bit for bit.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

fn softmax(z: &mut [f32]) {
    let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    z.iter_mut().for_each(|v| *v /= sum);
}

impl LinearModel {
    /// Raw scores per class.
    pub fn logits(&self, x: &Features) -> Vec<f32> {
        let mut z = self.bias.clone();
        for (id, v) in x {
            if let Some(row) = self.rows.get(id) {
                for (zc, w) in z.iter_mut().zip(row.iter()) {
                    *zc += w * v;
                }
            }
        }
        z
    }

    /// Calibrated probabilities per class.
    pub fn probs(&self, x: &Features) -> Vec<f32> {
        let mut z = self.logits(x);
        z.iter_mut().for_each(|v| *v /= self.temperature);
        softmax(&mut z);
        z
    }

    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == name)
    }

    /// Trains on `examples` (classes `0..classes.len()`), deterministically.
    pub fn fit(classes: Vec<String>, examples: &[Example], opts: FitOptions) -> Self {
        let c = classes.len();
        let buckets = 1usize << BUCKET_BITS;
        let mut w = vec![0f32; buckets * c];
        let mut g2 = vec![0f32; buckets * c];
        let mut b = vec![0f32; c];
        let mut gb = vec![0f32; c];
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = Rng::new(opts.seed);
        let mut z = vec![0f32; c];
        for _ in 0..opts.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let ex = &examples[i];
                z.copy_from_slice(&b);
                for (id, v) in &ex.x {
                    let row = &w[*id as usize * c..(*id as usize + 1) * c];
                    for k in 0..c {
                        z[k] += row[k] * v;
                    }
                }
                softmax(&mut z);
                for k in 0..c {
                    let g = (z[k] - if k == ex.y { 1.0 } else { 0.0 }) * ex.weight;
                    gb[k] += g * g;
                    b[k] -= opts.learning_rate * g / (gb[k].sqrt() + 1e-6);
                    for (id, v) in &ex.x {
                        let j = *id as usize * c + k;
                        let grad = g * v + opts.l2 * w[j];
                        g2[j] += grad * grad;
                        w[j] -= opts.learning_rate * grad / (g2[j].sqrt() + 1e-6);
                    }
                }
            }
        }
        let mut rows = HashMap::new();
        for id in 0..buckets {
            let row = &w[id * c..(id + 1) * c];
            if row.iter().any(|v| v.abs() > 1e-4) {
                rows.insert(id as u32, row.to_vec().into_boxed_slice());
            }
        }
        LinearModel { classes, rows, bias: b, temperature: 1.0, threshold: 0.0 }
    }

    /// The temperature that minimises the negative log-likelihood on held-out examples.
    pub fn fit_temperature(&mut self, dev: &[Example]) {
        let logits: Vec<Vec<f32>> = dev.iter().map(|e| self.logits(&e.x)).collect();
        let nll = |t: f32| -> f64 {
            dev.iter()
                .zip(&logits)
                .map(|(e, z)| {
                    let mut p: Vec<f32> = z.iter().map(|v| v / t).collect();
                    softmax(&mut p);
                    -(p[e.y].max(1e-12) as f64).ln()
                })
                .sum()
        };
        let best = (1..=60).map(|i| i as f32 * 0.1).min_by(|a, b| nll(*a).total_cmp(&nll(*b)));
        self.temperature = best.unwrap_or(1.0);
    }

    pub fn rows_in_use(&self) -> usize {
        self.rows.len()
    }

    /// The model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(BUCKET_BITS as u8);
        out.extend_from_slice(&(self.classes.len() as u16).to_le_bytes());
        for c in &self.classes {
            out.push(c.len() as u8);
            out.extend_from_slice(c.as_bytes());
        }
        out.extend_from_slice(&self.temperature.to_le_bytes());
        out.extend_from_slice(&self.threshold.to_le_bytes());
        for b in &self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        let mut ids: Vec<&u32> = self.rows.keys().collect();
        ids.sort_unstable();
        out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
        for id in ids {
            out.extend_from_slice(&id.to_le_bytes());
            for w in self.rows[id].iter() {
                out.extend_from_slice(&f16::from_f32(*w).to_le_bytes());
            }
        }
        out
    }

    /// Reads a model file; any inconsistency is reported, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader { b: bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err("not a voicegate model file".into());
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(format!("model format version {version}, this build reads {VERSION}"));
        }
        let bits = r.u8()?;
        if bits as u32 != BUCKET_BITS {
            return Err(format!("model built with 2^{bits} feature buckets, this build uses 2^{BUCKET_BITS}"));
        }
        let n = r.u16()? as usize;
        if n == 0 {
            return Err("model has no classes".into());
        }
        let mut classes = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u8()? as usize;
            let name = std::str::from_utf8(r.take(len)?).map_err(|_| "class name is not UTF-8")?;
            classes.push(name.to_string());
        }
        let temperature = r.f32()?;
        let threshold = r.f32()?;
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err("bad temperature".into());
        }
        let bias = (0..n).map(|_| r.f32()).collect::<Result<Vec<_>, _>>()?;
        let rows_n = r.u32()? as usize;
        if rows_n > 1 << BUCKET_BITS {
            return Err("more rows than feature buckets".into());
        }
        let mut rows = HashMap::with_capacity(rows_n);
        for _ in 0..rows_n {
            let id = r.u32()?;
            let row: Box<[f32]> = (0..n)
                .map(|_| r.take(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()))
                .collect::<Result<_, _>>()?;
            rows.insert(id, row);
        }
        if r.at != bytes.len() {
            return Err("trailing bytes after the model".into());
        }
        Ok(LinearModel { classes, rows, bias, temperature, threshold })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self.b.get(self.at..self.at + n).ok_or("model file is truncated")?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_bits(self.u32()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlu::features::features;

    fn toy() -> LinearModel {
        let data = [("where is my order", 0), ("track my package", 0), ("i want a refund", 1), ("give me my money back", 1)];
        let ex: Vec<Example> = data.iter().map(|(t, y)| Example { x: features(t), y: *y, weight: 1.0 }).collect();
        let opts = FitOptions { epochs: 20, learning_rate: 0.5, l2: 1e-6, seed: 7 };
        LinearModel::fit(vec!["track".into(), "refund".into()], &ex, opts)
    }

    #[test]
    fn learns_a_toy_task_and_round_trips_through_its_file() {
        let m = toy();
        let p = m.probs(&features("where is my package"));
        assert!(p[0] > 0.8, "{p:?}");
        let back = LinearModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.classes, m.classes);
        let q = back.probs(&features("where is my package"));
        assert!((p[0] - q[0]).abs() < 1e-2);
        // Training is deterministic.
        assert_eq!(toy().to_bytes(), m.to_bytes());
    }

    #[test]
    fn damaged_files_are_refused() {
        let bytes = toy().to_bytes();
        assert!(LinearModel::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        assert!(LinearModel::from_bytes(b"nope").is_err());
        let mut wrong = bytes.clone();
        wrong[4] = 99;
        assert!(LinearModel::from_bytes(&wrong).unwrap_err().contains("version"));
    }
}
