//! Binary logistic regression with an L2 penalty and per-example weights, fitted exactly by
//! Newton's method (a handful of features, so each step solves a small linear system).

/// Penalty strength as scikit-learn's `C`: the objective is ½‖w‖² + C·Σ weightᵢ·lossᵢ, the
/// bias not penalised.
pub const C: f64 = 1.0;
const MAX_STEPS: usize = 100;
const TOLERANCE: f64 = 1e-10;

/// The fitted weights (one per feature) and bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub weights: Vec<f64>,
    pub bias: f64,
}

impl Fit {
    /// The log-odds of the positive class.
    pub fn value(&self, x: &[f32]) -> f64 {
        self.bias + self.weights.iter().zip(x).map(|(w, v)| w * *v as f64).sum::<f64>()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x.clamp(-50.0, 50.0)).exp())
}

/// Fits `ys` (true: positive) from `xs`, example i counting `weights[i]` times. Every row of
/// `xs` has `n` features.
pub fn fit(xs: &[Vec<f32>], ys: &[bool], weights: &[f64], n: usize) -> Fit {
    // Parameters: n weights, then the bias.
    let d = n + 1;
    let mut theta = vec![0f64; d];
    for _ in 0..MAX_STEPS {
        let mut grad = vec![0f64; d];
        let mut hess = vec![vec![0f64; d]; d];
        for i in 0..n {
            grad[i] = theta[i];
            hess[i][i] = 1.0;
        }
        for ((x, y), w) in xs.iter().zip(ys).zip(weights) {
            let row: Vec<f64> = x.iter().map(|v| *v as f64).chain([1.0]).collect();
            let z: f64 = row.iter().zip(&theta).map(|(a, b)| a * b).sum();
            let p = sigmoid(z);
            let g = C * w * (p - if *y { 1.0 } else { 0.0 });
            let h = C * w * p * (1.0 - p);
            for a in 0..d {
                grad[a] += g * row[a];
                for b in 0..d {
                    hess[a][b] += h * row[a] * row[b];
                }
            }
        }
        let Some(step) = solve(hess, grad) else { break };
        theta.iter_mut().zip(&step).for_each(|(t, s)| *t -= s);
        if step.iter().map(|s| s * s).sum::<f64>() < TOLERANCE {
            break;
        }
    }
    let bias = theta[n];
    theta.truncate(n);
    Fit { weights: theta, bias }
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; None when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let d = b.len();
    for col in 0..d {
        let pivot = (col..d).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (k, row) in rest.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + k] -= f * b[col];
        }
    }
    let mut x = vec![0f64; d];
    for r in (0..d).rev() {
        let s: f64 = (r + 1..d).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_zeroes_the_penalised_gradient() {
        // One feature; positives around +1, negatives around -1, overlapping.
        let xs: Vec<Vec<f32>> = [-2.0, -1.5, -1.0, -0.5, 0.5, -0.2, 0.3, 1.0, 1.5, 2.0].iter().map(|v| vec![*v]).collect();
        let ys = [false, false, false, false, false, true, true, true, true, true];
        let w = vec![1.0; xs.len()];
        let f = fit(&xs, &ys, &w, 1);
        // At the optimum: w + C Σ (p - y) x = 0 and Σ (p - y) = 0.
        let (mut gw, mut gb) = (f.weights[0], 0.0);
        for (x, y) in xs.iter().zip(&ys) {
            let r = sigmoid(f.value(x)) - if *y { 1.0 } else { 0.0 };
            gw += C * r * x[0] as f64;
            gb += C * r;
        }
        assert!(gw.abs() < 1e-8 && gb.abs() < 1e-8, "{f:?} {gw} {gb}");
        assert!(f.weights[0] > 1.0 && f.weights[0] < 3.0, "{f:?}");
    }

    #[test]
    fn a_weight_counts_as_repeating_the_example() {
        let xs: Vec<Vec<f32>> = vec![vec![-1.0], vec![0.2], vec![1.0], vec![-0.3], vec![-0.3]];
        let ys = [false, false, true, true, true];
        let twice = fit(&xs, &ys, &[1.0, 1.0, 1.0, 1.0, 1.0], 1);
        let weighted = fit(&xs[..4], &ys[..4], &[1.0, 1.0, 1.0, 2.0], 1);
        assert!((twice.weights[0] - weighted.weights[0]).abs() < 1e-9 && (twice.bias - weighted.bias).abs() < 1e-9);
    }
}
