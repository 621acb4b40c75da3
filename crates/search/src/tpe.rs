//! Tree-structured Parzen estimator (TPE), following Optuna's `TPESampler` (univariate mode, Optuna 3.x
//! defaults), plus the uniform random sampler it starts from.
//!
//! For each new trial, once `n_startup_trials` trials are known:
//! 1. Sort the finished trials by score (best first; failed/NaN scores rank last) and split them:
//!    the best `n_below = min(⌈γ·n⌉, gamma_max)` are "good" (below), the rest "bad" (above).
//! 2. For each parameter build two Parzen estimators l(x) (good) and g(x) (bad): a mixture of
//!    Gaussians truncated to the parameter's range (widened by half a step on each side for stepped
//!    parameters), one kernel per observation plus a prior kernel (μ = mid-range, σ = range) of
//!    weight `prior_weight`. Kernel σ of an observation is the larger distance to its sorted
//!    neighbouring observations (range ends included; at the two extremes the inner distance, as
//!    Optuna's `consider_endpoints=False`), clipped to `[range/min(100, 1+n_kernels), range]`
//!    ("magic clip", `n_kernels` = observations + prior). Checked against Optuna 5.0's
//!    `_ParzenEstimator.log_pdf` (tests/fixtures/optuna_parzen.json).
//!    Observation weights are 1 for the 25 most recent and a linear ramp `1/n … 1` for older ones.
//!    Stepped parameters use the probability mass of the step's bin as density.
//! 3. Draw `n_ei_candidates` values from l, keep the one maximizing `ln l(x) − ln g(x)` (which
//!    maximizes expected improvement), independently per parameter. If the combination violates a
//!    constraint, draw whole candidate points instead and keep the feasible one with the largest
//!    summed log ratio; if none is feasible, a uniformly random feasible point is used.
//!
//! Parallel batches: `batch` suggestions are made from the same finished history and evaluated in
//! parallel. With `constant_liar` (Optuna's option of that name, default on here) each suggestion
//! also sees the batch's earlier suggestions as finished with the worst score, which keeps a batch
//! from piling onto one spot (3-parameter bowl of `tests/search.rs`, mean regret after 80 trials
//! over 10 seeds: batches of 8 without the liar 0.88, with it 0.20; sequential 0.21; random 1.43).
//!
//! Reproducibility: the suggestion for trial number `k` uses its own RNG seeded from `(seed, k)` and
//! the history of trials finished before its batch; batches have a fixed size, so results depend on
//! `(seed, batch)` and never on thread timing or the number of cores.
//!
//! Why not the `tpe` crate: it depends on rand 0.8 + statrs 0.15 (a second rand stack and nalgebra
//! next to the workspace's rand 0.10), offers one independent ask/tell optimizer per parameter with no
//! notion of a joint point, constraints, integer steps or batches, and no resumption from stored
//! trials. The algorithm is ~200 lines, so it is implemented here.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::normal;
use crate::space::{ParamSpace, ParamSpec};

/// Settings of the TPE sampler (defaults are Optuna's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TpeConfig {
    /// Seed of all random draws.
    pub seed: u64,
    /// Number of uniformly random trials before TPE takes over (Optuna: 10).
    pub n_startup_trials: usize,
    /// Candidates drawn from l(x) per suggestion (Optuna: 24).
    pub n_ei_candidates: usize,
    /// Share of trials counted as good (Optuna: 0.1).
    pub gamma: f64,
    /// Cap on the number of good trials (Optuna: 25).
    pub gamma_max: usize,
    /// Weight of the prior kernel (Optuna: 1.0).
    pub prior_weight: f64,
    /// Trials suggested from the same history and evaluated in parallel (≥ 1). Results depend on it.
    pub batch: usize,
    /// Optuna's `constant_liar`: while a batch is being suggested, its earlier suggestions count as
    /// finished trials with the worst score, which spreads a parallel batch out (default true).
    pub constant_liar: bool,
}

impl Default for TpeConfig {
    fn default() -> Self {
        TpeConfig {
            seed: 0,
            n_startup_trials: 10,
            n_ei_candidates: 24,
            gamma: 0.1,
            gamma_max: 25,
            prior_weight: 1.0,
            batch: 8,
            constant_liar: true,
        }
    }
}

impl TpeConfig {
    /// Default settings with the given seed.
    pub fn seeded(seed: u64) -> Self {
        TpeConfig {
            seed,
            ..TpeConfig::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.batch == 0 || self.n_ei_candidates == 0 {
            return Err(SearchError::InvalidStrategy(
                "TPE batch and n_ei_candidates must be ≥ 1".to_string(),
            ));
        }
        if !(self.gamma > 0.0 && self.gamma <= 1.0) || self.gamma_max == 0 {
            return Err(SearchError::InvalidStrategy(format!(
                "TPE gamma must be in (0, 1] and gamma_max ≥ 1, got {} and {}",
                self.gamma, self.gamma_max
            )));
        }
        if !(self.prior_weight > 0.0 && self.prior_weight.is_finite()) {
            return Err(SearchError::InvalidStrategy(format!(
                "TPE prior_weight must be > 0, got {}",
                self.prior_weight
            )));
        }
        Ok(())
    }
}

/// SplitMix64 finalizer: decorrelates `(seed, trial number)` into one RNG seed.
pub(crate) fn mix(seed: u64, k: u64) -> u64 {
    let mut z = seed
        ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x2545_F491_4F6C_DD1D);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// RNG of trial number `k`.
pub(crate) fn trial_rng(seed: u64, k: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed, k))
}

const MAX_REJECTIONS: usize = 10_000;

/// One uniformly random value of a parameter (uniform over grid values when stepped).
fn random_value(spec: &ParamSpec, rng: &mut StdRng) -> f64 {
    match spec.grid_len() {
        Some(n) => spec.grid_value(rng.random_range(0..n)),
        None => {
            let (lo, hi) = spec.bounds();
            lo + (hi - lo) * rng.random::<f64>()
        }
    }
}

/// A uniformly random feasible point (rejection sampling against the constraints).
pub(crate) fn random_point(space: &ParamSpace, rng: &mut StdRng) -> Result<Vec<f64>> {
    let mut v = Vec::with_capacity(space.len());
    for _ in 0..MAX_REJECTIONS {
        v.clear();
        v.extend(space.params().iter().map(|p| random_value(&p.spec, rng)));
        if space.is_feasible(&v) {
            return Ok(v);
        }
    }
    Err(SearchError::InvalidSpace(format!(
        "no feasible point found in {MAX_REJECTIONS} random draws: are the constraints satisfiable?"
    )))
}

/// A truncated-Gaussian mixture over one parameter (Optuna's `_ParzenEstimator`, univariate).
#[derive(Debug, Clone)]
struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    cum_weights: Vec<f64>,
    /// Truncation interval (widened by half a step for stepped parameters).
    low: f64,
    high: f64,
    /// Half bin width for stepped parameters (0 = continuous).
    half_step: f64,
    /// `ln w_k − ln(Φ(b_k) − Φ(a_k))` (− ½ ln 2π for continuous) per kernel.
    ln_const: Vec<f64>,
    /// `ln σ_k` per kernel.
    ln_sigma: Vec<f64>,
    /// For stepped parameters with at most [`TABLE_MAX`] grid values: `ln_pdf` of every grid value,
    /// computed once per model (candidates then cost a lookup).
    table: Option<Vec<f64>>,
    /// Grid of the parameter (for table lookups).
    spec: ParamSpec,
    /// Full-precision bin masses (tests) instead of the fast erfc (sampling).
    exact: bool,
}

/// Largest grid of a stepped parameter whose log densities are tabulated per model.
const TABLE_MAX: u64 = 4096;

/// Kernels whose bin lies farther than this many σ from x contribute below e^-72 and are skipped.
const Z_CUT: f64 = 12.0;

/// `ln(Φ(b) − Φ(a))` for `a < b`, computed in whichever tail keeps precision. With `exact` false
/// it uses the fast erfc (fractional error < 1.2e-7; log masses then agree with the exact ones to
/// ~1e-5, ample for ranking TPE candidates); `exact` uses the full-precision erfc.
fn ln_mass(a: f64, b: f64, exact: bool) -> f64 {
    use std::f64::consts::FRAC_1_SQRT_2;
    let erfc = if exact {
        normal::erfc
    } else {
        normal::erfc_fast
    };
    let m = if a > 0.0 {
        // sf(a) − sf(b)
        0.5 * (erfc(a * FRAC_1_SQRT_2) - erfc(b * FRAC_1_SQRT_2))
    } else {
        // cdf(b) − cdf(a)
        0.5 * (erfc(-b * FRAC_1_SQRT_2) - erfc(-a * FRAC_1_SQRT_2))
    };
    m.max(f64::MIN_POSITIVE).ln()
}

/// Optuna's `default_weights`: 1 for the 25 most recent of `n` observations, a ramp `1/n…1` before.
fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp_len = n - 25;
    let mut w = Vec::with_capacity(n);
    for i in 0..ramp_len {
        let start = 1.0 / n as f64;
        let t = if ramp_len > 1 {
            i as f64 / (ramp_len - 1) as f64
        } else {
            0.0
        };
        w.push(start + (1.0 - start) * t);
    }
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

impl Parzen {
    /// `obs` are in trial-number order (oldest first).
    fn new(spec: &ParamSpec, obs: &[f64], prior_weight: f64, exact: bool) -> Parzen {
        let (low, _) = spec.bounds();
        let high = spec.grid_max();
        let step = spec.step();
        let range = high - low + step;
        let n = obs.len();
        let prior_mu = 0.5 * (low + high);
        // Sigmas from sorted neighbours (observations only, as Optuna ≥ 4), the widened range ends
        // as sentinels; ties keep observation order (a stable sort).
        let mut sorted: Vec<(f64, usize)> = obs.iter().copied().zip(0..).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let m = sorted.len();
        let mut ends = Vec::with_capacity(m + 2);
        ends.push(low - step / 2.0);
        ends.extend(sorted.iter().map(|x| x.0));
        ends.push(high + step / 2.0);
        let mut sorted_sigmas: Vec<f64> = (1..=m)
            .map(|i| (ends[i] - ends[i - 1]).max(ends[i + 1] - ends[i]))
            .collect();
        if ends.len() >= 4 {
            sorted_sigmas[0] = ends[2] - ends[1];
            sorted_sigmas[m - 1] = ends[m] - ends[m - 1];
        }
        let mut sigmas = vec![0.0; n];
        for (s, &(_, idx)) in sorted_sigmas.iter().zip(&sorted) {
            sigmas[idx] = *s;
        }
        let maxsigma = range;
        let minsigma = range / 100f64.min(1.0 + (n + 1) as f64);
        for s in &mut sigmas {
            *s = s.clamp(minsigma, maxsigma);
        }
        let mut mus = obs.to_vec();
        mus.push(prior_mu);
        sigmas.push(range);
        let mut weights = default_weights(n);
        weights.push(prior_weight);
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cum_weights = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        let (tlow, thigh) = (low - step / 2.0, high + step / 2.0);
        let half_ln_2pi = if step > 0.0 {
            0.0
        } else {
            0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        let ln_const = mus
            .iter()
            .zip(&sigmas)
            .zip(&weights)
            .map(|((mu, s), w)| {
                (w / total).ln() - ln_mass((tlow - mu) / s, (thigh - mu) / s, exact) - half_ln_2pi
            })
            .collect();
        let ln_sigma = sigmas.iter().map(|s| s.ln()).collect();
        Parzen {
            mus,
            sigmas,
            cum_weights,
            low: tlow,
            high: thigh,
            half_step: step / 2.0,
            ln_const,
            ln_sigma,
            table: None,
            spec: *spec,
            exact,
        }
    }

    /// Tabulates `ln_pdf` over the grid (stepped parameters with ≤ [`TABLE_MAX`] values).
    fn tabulate(mut self) -> Parzen {
        if let Some(n) = self
            .spec
            .grid_len()
            .filter(|&n| n <= TABLE_MAX && self.half_step > 0.0)
        {
            let table = (0..n)
                .into_par_iter()
                .map(|k| self.ln_pdf_direct(self.spec.grid_value(k)))
                .collect();
            self.table = Some(table);
        }
        self
    }

    /// One draw (continuous; the caller snaps it to the grid).
    fn sample(&self, rng: &mut StdRng) -> f64 {
        let u: f64 = rng.random();
        let k = self
            .cum_weights
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.mus.len() - 1);
        let (mu, s) = (self.mus[k], self.sigmas[k]);
        let a = (self.low - mu) / s;
        let b = (self.high - mu) / s;
        let v: f64 = rng.random();
        // Inverse-CDF draw inside [a, b], mirrored into the lower tail for precision.
        let z = if a > 0.0 {
            let (pa, pb) = (normal::cdf(-b), normal::cdf(-a));
            -normal::ppf(pa + v * (pb - pa))
        } else {
            let (pa, pb) = (normal::cdf(a), normal::cdf(b));
            normal::ppf(pa + v * (pb - pa))
        };
        (mu + s * z).clamp(self.low, self.high)
    }

    /// Log density (continuous) or log probability mass of the bin around `x` (stepped).
    fn ln_pdf(&self, x: f64) -> f64 {
        if let Some(v) = self
            .table
            .as_ref()
            .and_then(|t| self.spec.grid_position(x).and_then(|k| t.get(k as usize)))
        {
            return *v;
        }
        self.ln_pdf_direct(x)
    }

    fn ln_pdf_direct(&self, x: f64) -> f64 {
        // One-pass log-sum-exp (running maximum), no allocation.
        let (mut max, mut sum) = (f64::NEG_INFINITY, 0.0f64);
        for k in 0..self.mus.len() {
            let (mu, s) = (self.mus[k], self.sigmas[k]);
            let t = if self.half_step > 0.0 {
                let a = ((x - self.half_step).max(self.low) - mu) / s;
                let b = ((x + self.half_step).min(self.high) - mu) / s;
                if a > Z_CUT || b < -Z_CUT {
                    continue;
                }
                ln_mass(a, b, self.exact)
            } else {
                let z = (x - mu) / s;
                -0.5 * z * z - self.ln_sigma[k]
            };
            let term = self.ln_const[k] + t;
            if term > max {
                sum = sum * (max - term).exp() + 1.0;
                max = term;
            } else {
                sum += (term - max).exp();
            }
        }
        if !max.is_finite() {
            return max;
        }
        max + sum.ln()
    }
}

/// Log density (continuous) or log probability (stepped) of the Parzen estimator built from
/// `observations` (oldest first) at each of `xs`, with exact or fast (TPE's) bin masses: exposed
/// for the reference test against Optuna.
#[doc(hidden)]
pub fn parzen_log_pdf(
    spec: &ParamSpec,
    observations: &[f64],
    prior_weight: f64,
    xs: &[f64],
    exact: bool,
) -> Vec<f64> {
    let p = Parzen::new(spec, observations, prior_weight, exact);
    xs.iter().map(|&x| p.ln_pdf_direct(x)).collect()
}

/// A finished trial as TPE sees it.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub number: u64,
    pub values: Vec<f64>,
    /// Higher is better; NaN = failed.
    pub score: f64,
}

/// The l/g estimators of every parameter, built from the history (once per suggestion with the
/// constant liar, else once per batch).
pub(crate) struct TpeModel {
    below: Vec<Parzen>,
    above: Vec<Parzen>,
}

impl TpeModel {
    /// `None` while the finished history is shorter than `n_startup_trials` (random phase).
    /// `pending` are suggested, not yet finished trials (NaN score: they rank last, the liar).
    pub(crate) fn build(
        space: &ParamSpace,
        cfg: &TpeConfig,
        finished: &[Observation],
        pending: &[Observation],
    ) -> Option<TpeModel> {
        if finished.len() < cfg.n_startup_trials.max(1) {
            return None;
        }
        let joined: Vec<&Observation> = finished.iter().chain(pending).collect();
        let history = &joined[..];
        let n = history.len();
        let mut order: Vec<usize> = (0..n).collect();
        let key = |o: &Observation| {
            if o.score.is_nan() {
                f64::NEG_INFINITY
            } else {
                o.score
            }
        };
        order.sort_by(|&a, &b| {
            key(history[b])
                .total_cmp(&key(history[a]))
                .then(history[a].number.cmp(&history[b].number))
        });
        let n_below = ((cfg.gamma * n as f64).ceil() as usize)
            .min(cfg.gamma_max)
            .clamp(1, n);
        let mut below: Vec<usize> = order[..n_below].to_vec();
        let mut above: Vec<usize> = order[n_below..].to_vec();
        below.sort_by_key(|&i| history[i].number);
        above.sort_by_key(|&i| history[i].number);
        let est = |group: &[usize], j: usize, spec: &ParamSpec| {
            let obs: Vec<f64> = group.iter().map(|&i| history[i].values[j]).collect();
            Parzen::new(spec, &obs, cfg.prior_weight, false).tabulate()
        };
        let params = space.params();
        Some(TpeModel {
            below: params
                .iter()
                .enumerate()
                .map(|(j, p)| est(&below, j, &p.spec))
                .collect(),
            above: params
                .iter()
                .enumerate()
                .map(|(j, p)| est(&above, j, &p.spec))
                .collect(),
        })
    }

    /// Suggestion for trial `number`.
    pub(crate) fn suggest(
        &self,
        space: &ParamSpace,
        cfg: &TpeConfig,
        number: u64,
    ) -> Result<Vec<f64>> {
        let mut rng = trial_rng(cfg.seed, number);
        let params = space.params();
        let n_cand = cfg.n_ei_candidates;
        // Candidates: cand[j][c] = value of parameter j in candidate c, with its log ratio.
        let draw = |rng: &mut StdRng| -> Vec<Vec<(f64, f64)>> {
            params
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    (0..n_cand)
                        .map(|_| {
                            let x = p.spec.snap(self.below[j].sample(rng));
                            (x, self.below[j].ln_pdf(x) - self.above[j].ln_pdf(x))
                        })
                        .collect()
                })
                .collect()
        };
        let cand = draw(&mut rng);
        // Univariate (Optuna): best candidate per parameter.
        let independent: Vec<f64> = cand
            .iter()
            .map(|c| {
                c.iter()
                    .copied()
                    .fold((f64::NAN, f64::NEG_INFINITY), |best, x| {
                        if x.1 > best.1 || best.0.is_nan() {
                            x
                        } else {
                            best
                        }
                    })
                    .0
            })
            .collect();
        if space.is_feasible(&independent) {
            return Ok(independent);
        }
        // Constrained: whole candidate points, best feasible summed log ratio.
        let mut cand = cand;
        for _ in 0..10 {
            let mut best: Option<(f64, Vec<f64>)> = None;
            for c in 0..n_cand {
                let point: Vec<f64> = cand.iter().map(|col| col[c].0).collect();
                if !space.is_feasible(&point) {
                    continue;
                }
                let score: f64 = cand.iter().map(|col| col[c].1).sum();
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, point));
                }
            }
            if let Some((_, p)) = best {
                return Ok(p);
            }
            cand = draw(&mut rng);
        }
        random_point(space, &mut rng)
    }
}
