//! A one-dimensional Gaussian hidden Markov model for volatility regimes (2–3 states).
//!
//! Fit it on a series such as absolute log returns or rolling realized volatility of the
//! **training window only**, then read regimes with [`GaussianHmm::predict_proba`] (filtered:
//! the probability at `t` uses observations `≤ t` only, so it can be a feature without look-ahead)
//! or [`GaussianHmm::viterbi`] (the most likely whole path: uses the future, for analysis only).
//!
//! # Model
//! Hidden states `s_t ∈ {0..k}`, `P(s_0 = i) = π_i`, `P(s_{t+1} = j | s_t = i) = A_ij`, and
//! `x_t | s_t = i ~ N(μ_i, σ²_i)`. After [`fit`] the states are **ordered by mean** (state 0 =
//! lowest mean = calmest regime when `x` is a volatility measure), so labels are stable across
//! refits.
//!
//! # Baum-Welch (EM), as Python's `hmmlearn` `GaussianHMM(covariance_type="diag")` does it
//! * E-step: scaled forward-backward. Emission densities are evaluated in log space and shifted by
//!   their per-step maximum before exponentiation; forward variables are normalised at every step
//!   (scale `c_t`), so `ln L = Σ_t (ln c_t + shift_t)` never under- or overflows.
//! * M-step: `π_i = γ_0(i)`, `A_ij ∝ Σ_t ξ_t(i, j)` (rows normalised; entries that are 0 stay 0),
//!   `μ_i = Σ_t γ_t(i) x_t / Σ_t γ_t(i)`,
//!   `σ²_i = (var_prior + Σ_t γ_t(i) (x_t − μ_i)²) / max(Σ_t γ_t(i), 1e-5)` — `hmmlearn`'s update
//!   with `means_weight = 0`, `covars_weight = 1` and `covars_prior = var_prior` (its default
//!   `covars_prior` is 1e-2, which is large for returns: set it explicitly on both sides).
//! * Iterations: one E-step then one M-step per iteration; the log-likelihood of the E-step
//!   (before the update) is recorded, and fitting stops after the iteration whose log-likelihood
//!   improved on the previous one by less than `tol`, or after `max_iter` iterations
//!   (`hmmlearn`'s `ConvergenceMonitor`).
//!
//! [`fit_sequences`] fits one model to several independent sequences (statistics summed, each
//! sequence starting from `π`), as `hmmlearn`'s `fit(X, lengths)`.
//!
//! Checked against `hmmlearn` 0.3.3 on BTCUSDT (and ETHUSDT) 15-minute absolute log returns:
//! `scripts/reference/make_hmm_fixture.py` and `crates/ml/tests/hmm_reference.rs`.

use crate::MlError;

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// A Gaussian HMM over a one-dimensional series (`k` states).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaussianHmm {
    /// Initial state distribution `π` (probabilities, sums to 1), length `k`.
    pub startprob: Vec<f64>,
    /// Transition matrix `A`, row-major `k × k` (`A[i·k + j] = P(j at t+1 | i at t)`; rows sum to 1).
    pub transmat: Vec<f64>,
    /// Emission means `μ_i`, in the units of the series.
    pub means: Vec<f64>,
    /// Emission variances `σ²_i`, in the squared units of the series (> 0).
    pub variances: Vec<f64>,
}

/// Settings of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitConfig {
    /// Maximum number of EM iterations (≥ 1).
    pub max_iter: usize,
    /// Convergence tolerance on the gain in log-likelihood (nats) between two iterations.
    pub tol: f64,
    /// Additive prior on each variance's numerator (`hmmlearn`'s `covars_prior`, squared series
    /// units, ≥ 0): keeps a state that captures a single repeated value from collapsing to 0.
    pub var_prior: f64,
}

impl Default for FitConfig {
    /// 200 iterations, `tol = 1e-4` nats, `var_prior = 0`.
    fn default() -> Self {
        FitConfig {
            max_iter: 200,
            tol: 1e-4,
            var_prior: 0.0,
        }
    }
}

/// What [`fit`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitReport {
    /// Number of EM iterations run.
    pub iterations: usize,
    /// True when the log-likelihood gain fell below `tol` before `max_iter`.
    pub converged: bool,
    /// Log-likelihood (nats) of each iteration's E-step, i.e. under the parameters before that
    /// iteration's update.
    pub history: Vec<f64>,
}

fn check_series(x: &[f64]) -> Result<(), MlError> {
    if x.is_empty() {
        return Err(MlError::Invalid("hmm: empty series".into()));
    }
    match x.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(MlError::NonFinite(i)),
        None => Ok(()),
    }
}

fn normalise(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    if s > 0.0 {
        for x in v.iter_mut() {
            *x /= s;
        }
    }
}

/// Scaled forward pass: `alpha[t·k + i] = P(s_t = i | x_0..=t)` and `ln P(x_0..=t)` at the end.
struct Forward {
    alpha: Vec<f64>,
    /// Per-step scale `c_t` (the normalising constant of the shifted densities).
    scale: Vec<f64>,
    /// Shifted emission densities `exp(ln b_t(i) − max_i ln b_t(i))`, `n × k`.
    dens: Vec<f64>,
    log_likelihood: f64,
}

impl GaussianHmm {
    /// A model from explicit parameters; checks shapes, that probabilities are finite, ≥ 0 and sum
    /// to 1 (±1e-8; then renormalised), means finite and variances finite and > 0.
    pub fn try_new(
        startprob: Vec<f64>,
        transmat: Vec<f64>,
        means: Vec<f64>,
        variances: Vec<f64>,
    ) -> Result<Self, MlError> {
        let k = means.len();
        if k == 0 || startprob.len() != k || variances.len() != k || transmat.len() != k * k {
            return Err(MlError::Invalid(format!(
                "hmm: shapes differ (startprob {}, transmat {}, means {k}, variances {})",
                startprob.len(),
                transmat.len(),
                variances.len()
            )));
        }
        let prob_ok = |v: &[f64]| {
            v.iter().all(|p| p.is_finite() && *p >= 0.0)
                && (v.iter().sum::<f64>() - 1.0).abs() <= 1e-8
        };
        if !prob_ok(&startprob) || !transmat.chunks(k).all(prob_ok) {
            return Err(MlError::Invalid(
                "hmm: startprob and each transmat row must be probabilities summing to 1".into(),
            ));
        }
        if !means.iter().all(|m| m.is_finite())
            || !variances.iter().all(|v| v.is_finite() && *v > 0.0)
        {
            return Err(MlError::Invalid(
                "hmm: means must be finite and variances finite and > 0".into(),
            ));
        }
        let mut m = GaussianHmm {
            startprob,
            transmat,
            means,
            variances,
        };
        normalise(&mut m.startprob);
        for row in m.transmat.chunks_mut(k) {
            normalise(row);
        }
        Ok(m)
    }

    /// Deterministic quantile initialisation for `k` states (2 ≤ k ≤ 10): means at the
    /// `(i + 0.5)/k` empirical quantiles of `x` (sorted, nearest rank), every variance the sample
    /// variance of `x` (population, floored at 1e-12 × (1 + mean²)), `π` uniform, `A` with
    /// 0.9 on the diagonal and the rest spread evenly.
    pub fn init_quantiles(x: &[f64], k: usize) -> Result<Self, MlError> {
        check_series(x)?;
        if !(2..=10).contains(&k) || x.len() < k {
            return Err(MlError::Invalid(format!(
                "hmm: need 2 ≤ k ≤ 10 states and at least k observations (k = {k}, n = {})",
                x.len()
            )));
        }
        let mut sorted = x.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let means: Vec<f64> = (0..k)
            .map(|i| {
                let q = (i as f64 + 0.5) / k as f64;
                let idx = ((q * n as f64) as usize).min(n - 1);
                sorted[idx]
            })
            .collect();
        let mean = x.iter().sum::<f64>() / n as f64;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let var = var.max(1e-12 * (1.0 + mean * mean));
        let off = 0.1 / (k - 1) as f64;
        let transmat = (0..k * k)
            .map(|ij| if ij / k == ij % k { 0.9 } else { off })
            .collect();
        GaussianHmm::try_new(vec![1.0 / k as f64; k], transmat, means, vec![var; k])
    }

    /// Number of hidden states.
    pub fn n_states(&self) -> usize {
        self.means.len()
    }

    /// `ln N(x; μ_i, σ²_i)` for every state into `out`.
    fn log_dens(&self, x: f64, out: &mut [f64]) {
        for ((o, &m), &v) in out.iter_mut().zip(&self.means).zip(&self.variances) {
            let d = x - m;
            *o = -0.5 * (LN_2PI + v.ln() + d * d / v);
        }
    }

    fn forward(&self, x: &[f64]) -> Result<Forward, MlError> {
        check_series(x)?;
        let k = self.n_states();
        let n = x.len();
        let mut alpha = vec![0.0; n * k];
        let mut dens = vec![0.0; n * k];
        let mut scale = vec![0.0; n];
        let mut ll = 0.0;
        let mut ld = vec![0.0; k];
        for t in 0..n {
            self.log_dens(x[t], &mut ld);
            let shift = ld.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let d = &mut dens[t * k..(t + 1) * k];
            for (di, &l) in d.iter_mut().zip(&ld) {
                *di = (l - shift).exp();
            }
            let (prev, cur) = alpha.split_at_mut(t * k);
            let cur = &mut cur[..k];
            if t == 0 {
                for ((a, &p), &di) in cur.iter_mut().zip(&self.startprob).zip(d.iter()) {
                    *a = p * di;
                }
            } else {
                let prev = &prev[(t - 1) * k..];
                for (j, (a, &di)) in cur.iter_mut().zip(d.iter()).enumerate() {
                    let s: f64 = (0..k).map(|i| prev[i] * self.transmat[i * k + j]).sum();
                    *a = s * di;
                }
            }
            let c: f64 = cur.iter().sum();
            if c.is_nan() || c <= 0.0 || c.is_infinite() {
                return Err(MlError::Invalid(format!(
                    "hmm: observation {t} has zero probability under the model"
                )));
            }
            for a in cur.iter_mut() {
                *a /= c;
            }
            scale[t] = c;
            ll += c.ln() + shift;
        }
        Ok(Forward {
            alpha,
            scale,
            dens,
            log_likelihood: ll,
        })
    }

    /// Log-likelihood `ln P(x_0..n | model)` in nats.
    pub fn log_likelihood(&self, x: &[f64]) -> Result<f64, MlError> {
        Ok(self.forward(x)?.log_likelihood)
    }

    /// Filtered state probabilities, row-major `n × k`: row `t` is `P(s_t = i | x_0..=t)` — the
    /// forward pass only (no smoothing), so row `t` does not depend on any observation after `t`.
    pub fn predict_proba(&self, x: &[f64]) -> Result<Vec<f64>, MlError> {
        Ok(self.forward(x)?.alpha)
    }

    /// The filtered most likely state at each `t` (argmax of [`Self::predict_proba`]'s row; the
    /// lowest state index on ties). Uses observations `≤ t` only.
    pub fn predict_filtered(&self, x: &[f64]) -> Result<Vec<usize>, MlError> {
        let k = self.n_states();
        let p = self.predict_proba(x)?;
        Ok(p.chunks(k).map(argmax).collect())
    }

    /// Viterbi decoding: the single most likely state path and its joint log-probability
    /// `ln P(x, path)` (nats). Ties go to the lowest state index. Uses the whole series.
    pub fn viterbi(&self, x: &[f64]) -> Result<(f64, Vec<usize>), MlError> {
        check_series(x)?;
        let k = self.n_states();
        let n = x.len();
        let log_a: Vec<f64> = self.transmat.iter().map(|p| p.ln()).collect();
        let mut ld = vec![0.0; k];
        let mut delta = vec![0.0; k];
        let mut next = vec![0.0; k];
        let mut back = vec![0usize; n * k];
        self.log_dens(x[0], &mut ld);
        for ((d, &p), &l) in delta.iter_mut().zip(&self.startprob).zip(&ld) {
            *d = p.ln() + l;
        }
        for t in 1..n {
            self.log_dens(x[t], &mut ld);
            for j in 0..k {
                let mut best = f64::NEG_INFINITY;
                let mut arg = 0;
                for (i, &d) in delta.iter().enumerate() {
                    let v = d + log_a[i * k + j];
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                next[j] = best + ld[j];
                back[t * k + j] = arg;
            }
            std::mem::swap(&mut delta, &mut next);
        }
        let mut state = argmax(&delta);
        let logprob = delta[state];
        if !logprob.is_finite() {
            return Err(MlError::Invalid(
                "hmm: the series has zero probability under the model".into(),
            ));
        }
        let mut path = vec![0usize; n];
        for t in (0..n).rev() {
            path[t] = state;
            if t > 0 {
                state = back[t * k + state];
            }
        }
        Ok((logprob, path))
    }

    /// The same model with its states relabelled in ascending order of mean (state 0 = lowest
    /// mean; ties keep their order).
    pub fn sorted_by_mean(&self) -> Self {
        let k = self.n_states();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| self.means[a].total_cmp(&self.means[b]));
        GaussianHmm {
            startprob: order.iter().map(|&i| self.startprob[i]).collect(),
            transmat: order
                .iter()
                .flat_map(|&i| order.iter().map(move |&j| (i, j)))
                .map(|(i, j)| self.transmat[i * k + j])
                .collect(),
            means: order.iter().map(|&i| self.means[i]).collect(),
            variances: order.iter().map(|&i| self.variances[i]).collect(),
        }
    }

    /// E-step on one sequence: adds its sufficient statistics to `st`.
    fn accumulate(&self, x: &[f64], st: &mut Stats) -> Result<(), MlError> {
        let k = self.n_states();
        let n = x.len();
        let fwd = self.forward(x)?;
        // Backward: beta_hat[t] such that gamma_t = alpha_hat_t · beta_hat_t.
        let mut beta = vec![1.0; k];
        let mut beta_prev = vec![0.0; k];
        let mut gammas = vec![0.0; n * k];
        for t in (0..n).rev() {
            let a = &fwd.alpha[t * k..(t + 1) * k];
            for i in 0..k {
                let g = a[i] * beta[i];
                gammas[t * k + i] = g;
                st.post[i] += g;
                st.obs[i] += g * x[t];
            }
            if t == 0 {
                for (s, g) in st.start.iter_mut().zip(&gammas[..k]) {
                    *s += g;
                }
                break;
            }
            // ξ_{t-1}(i, j) = alpha_hat_{t-1}(i) A_ij b_t(j) beta_hat_t(j) / c_t.
            let d = &fwd.dens[t * k..(t + 1) * k];
            let c = fwd.scale[t];
            let a_prev = &fwd.alpha[(t - 1) * k..t * k];
            for (i, bp) in beta_prev.iter_mut().enumerate() {
                let mut s = 0.0;
                for j in 0..k {
                    let w = self.transmat[i * k + j] * d[j] * beta[j] / c;
                    st.trans[i * k + j] += a_prev[i] * w;
                    s += w;
                }
                *bp = s;
            }
            std::mem::swap(&mut beta, &mut beta_prev);
        }
        st.gammas.push(gammas);
        st.log_likelihood += fwd.log_likelihood;
        Ok(())
    }

    /// One EM iteration over all sequences: the updated model and the summed log-likelihood of
    /// `self`.
    fn em_step(&self, xs: &[&[f64]], cfg: &FitConfig) -> Result<(GaussianHmm, f64), MlError> {
        let k = self.n_states();
        let mut st = Stats {
            start: vec![0.0; k],
            trans: vec![0.0; k * k],
            post: vec![0.0; k],
            obs: vec![0.0; k],
            gammas: Vec::with_capacity(xs.len()),
            log_likelihood: 0.0,
        };
        for x in xs {
            self.accumulate(x, &mut st)?;
        }
        let mut means = self.means.clone();
        let mut variances = self.variances.clone();
        for i in 0..k {
            if st.post[i] > 0.0 {
                means[i] = st.obs[i] / st.post[i];
                let m = means[i];
                let ss: f64 = xs
                    .iter()
                    .zip(&st.gammas)
                    .map(|(x, g)| {
                        x.iter()
                            .enumerate()
                            .map(|(t, &v)| {
                                let d = v - m;
                                g[t * k + i] * d * d
                            })
                            .sum::<f64>()
                    })
                    .sum();
                let v = (cfg.var_prior + ss) / st.post[i].max(1e-5);
                if v > 0.0 && v.is_finite() {
                    variances[i] = v;
                }
            }
        }
        let mut startprob: Vec<f64> = st
            .start
            .iter()
            .zip(&self.startprob)
            .map(|(&s, &p)| if p == 0.0 { 0.0 } else { s.max(0.0) })
            .collect();
        normalise(&mut startprob);
        let mut transmat: Vec<f64> = st
            .trans
            .iter()
            .zip(&self.transmat)
            .map(|(&s, &p)| if p == 0.0 { 0.0 } else { s.max(0.0) })
            .collect();
        for row in transmat.chunks_mut(k) {
            normalise(row);
        }
        Ok((
            GaussianHmm {
                startprob,
                transmat,
                means,
                variances,
            },
            st.log_likelihood,
        ))
    }
}

/// Sufficient statistics of one E-step (summed over sequences).
struct Stats {
    start: Vec<f64>,
    trans: Vec<f64>,
    post: Vec<f64>,
    obs: Vec<f64>,
    /// Posterior state probabilities per sequence, `n × k` each (for the variance pass).
    gammas: Vec<Vec<f64>>,
    log_likelihood: f64,
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Baum-Welch fit of `init` to `x` (see the module docs for the exact updates and the stopping
/// rule). Returns the fitted model **with states sorted by mean** and the fit report.
pub fn fit(
    x: &[f64],
    init: &GaussianHmm,
    cfg: &FitConfig,
) -> Result<(GaussianHmm, FitReport), MlError> {
    fit_sequences(&[x], init, cfg)
}

/// Baum-Welch fit of one model to several independent sequences (e.g. the same series of several
/// symbols): statistics are summed over sequences, each starting from `π` (`hmmlearn`'s `fit(X,
/// lengths)`); the log-likelihood is the sum over sequences. States sorted by mean.
pub fn fit_sequences(
    xs: &[&[f64]],
    init: &GaussianHmm,
    cfg: &FitConfig,
) -> Result<(GaussianHmm, FitReport), MlError> {
    if xs.is_empty() {
        return Err(MlError::Invalid("hmm: no sequence to fit".into()));
    }
    for x in xs {
        check_series(x)?;
    }
    if cfg.max_iter == 0
        || !cfg.tol.is_finite()
        || !cfg.var_prior.is_finite()
        || cfg.var_prior < 0.0
    {
        return Err(MlError::Invalid(
            "hmm: max_iter must be ≥ 1, tol finite and var_prior ≥ 0".into(),
        ));
    }
    let mut model = init.clone();
    let mut history = Vec::new();
    let mut converged = false;
    for _ in 0..cfg.max_iter {
        let (next, ll) = model.em_step(xs, cfg)?;
        model = next;
        history.push(ll);
        if let [.., a, b] = history[..]
            && b - a < cfg.tol
        {
            converged = true;
            break;
        }
    }
    Ok((
        model.sorted_by_mean(),
        FitReport {
            iterations: history.len(),
            converged,
            history,
        },
    ))
}
