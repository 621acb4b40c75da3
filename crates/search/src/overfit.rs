//! Overfitting statistics: probabilistic and deflated Sharpe ratio, probability of backtest
//! overfitting (PBO) by combinatorially symmetric cross-validation (CSCV).
//!
//! All Sharpe ratios here are **per period** (not annualized): `SR = mean / std`, `std` with the
//! `n − 1` denominator. Skewness `γ₃ = m₃ / m₂^{3/2}` and kurtosis `γ₄ = m₄ / m₂²` (Pearson, not excess;
//! normal = 3) use the population central moments `m_k = Σ(r − r̄)^k / n`.
//!
//! **PSR** (Bailey & López de Prado 2012): the probability that the true Sharpe exceeds `SR*`, given
//! `T` observations:
//! `PSR(SR*) = Φ( (SR − SR*) · √(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4 · SR²) )`.
//!
//! **DSR** (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio"): PSR against the Sharpe
//! one expects from the best of `N` independent trials of zero true Sharpe,
//! `SR₀ = √V[SR_n] · ( (1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N·e)) )`, `γ` = Euler–Mascheroni
//! (0.5772…), `V[SR_n]` the sample variance (`n − 1`) of the trials' Sharpe ratios;
//! `DSR = PSR(SR₀)` evaluated with the chosen strategy's own `T`, `γ₃`, `γ₄`. For `N = 1`, `SR₀ = 0`.
//!
//! **PBO by CSCV** (Bailey, Borwein, López de Prado & Zhu 2017, "The Probability of Backtest
//! Overfitting"): the `T × N` matrix of per-period returns of `N` trials is cut into `S` (even)
//! contiguous row blocks (sizes as numpy's `array_split`: the first `T mod S` blocks one row
//! longer). For each of the `C(S, S/2)` ways to pick half the blocks as in-sample (IS; the rest,
//! in original order, is out-of-sample, OOS): compute each trial's performance (Sharpe or mean) on IS
//! and OOS, take `n*` = the IS-best trial (first on ties), its OOS rank `r ∈ [1, N]` (ascending,
//! ties averaged), `ω = r / (N + 1)` and the logit `λ = ln(ω / (1 − ω))`.
//! `PBO = #{λ ≤ 0} / C(S, S/2)`: how often the IS winner does no better than the OOS median.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::normal;

/// Euler–Mascheroni constant γ.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Moments of a return series (per period).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReturnStats {
    /// Number of returns T.
    pub n: usize,
    /// Mean return per period.
    pub mean: f64,
    /// Standard deviation per period (n − 1 denominator).
    pub std: f64,
    /// Per-period Sharpe ratio `mean / std` (no risk-free rate, not annualized).
    pub sharpe: f64,
    /// Skewness γ₃ (population moments).
    pub skewness: f64,
    /// Kurtosis γ₄ (Pearson, normal = 3; population moments).
    pub kurtosis: f64,
}

fn stat_err(statistic: &'static str, reason: String) -> SearchError {
    SearchError::Statistic { statistic, reason }
}

/// Mean, std, Sharpe, skewness and kurtosis of `returns` (≥ 2 finite values, not all equal).
pub fn return_stats(returns: &[f64]) -> Result<ReturnStats> {
    const WHAT: &str = "return statistics";
    if returns.len() < 2 {
        return Err(stat_err(
            WHAT,
            format!("need at least 2 returns, got {}", returns.len()),
        ));
    }
    if let Some(i) = returns.iter().position(|r| !r.is_finite()) {
        return Err(stat_err(
            WHAT,
            format!("return #{i} is not finite ({})", returns[i]),
        ));
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for r in returns {
        let d = r - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    if m2 <= 0.0 {
        return Err(stat_err(
            WHAT,
            "returns are constant (zero variance)".to_string(),
        ));
    }
    let std = (m2 / (n - 1.0)).sqrt();
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    Ok(ReturnStats {
        n: returns.len(),
        mean,
        std,
        sharpe: mean / std,
        skewness: m3 / m2.powf(1.5),
        kurtosis: m4 / (m2 * m2),
    })
}

/// Probabilistic Sharpe ratio `PSR(SR*)` from a per-period Sharpe `sharpe` over `n_obs` periods with
/// skewness `skewness` and (Pearson) `kurtosis`; see the module docs for the formula.
pub fn probabilistic_sharpe_ratio(
    sharpe: f64,
    sharpe_benchmark: f64,
    n_obs: usize,
    skewness: f64,
    kurtosis: f64,
) -> Result<f64> {
    const WHAT: &str = "probabilistic Sharpe ratio";
    if n_obs < 2 {
        return Err(stat_err(
            WHAT,
            format!("need at least 2 observations, got {n_obs}"),
        ));
    }
    let var = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe;
    if !(var > 0.0 && var.is_finite() && sharpe_benchmark.is_finite()) {
        return Err(stat_err(
            WHAT,
            format!(
                "1 − γ₃·SR + (γ₄−1)/4·SR² = {var} is not positive (SR={sharpe}, γ₃={skewness}, γ₄={kurtosis})"
            ),
        ));
    }
    let z = (sharpe - sharpe_benchmark) * ((n_obs - 1) as f64).sqrt() / var.sqrt();
    Ok(normal::cdf(z))
}

/// Expected maximum per-period Sharpe ratio of `n_trials` independent trials with true Sharpe 0 and
/// Sharpe variance `trial_sharpe_variance`: `√V · ((1−γ)Φ⁻¹(1−1/N) + γΦ⁻¹(1−1/(N·e)))`; 0 for N = 1.
pub fn expected_max_sharpe(n_trials: usize, trial_sharpe_variance: f64) -> Result<f64> {
    if n_trials == 0 || !(trial_sharpe_variance >= 0.0 && trial_sharpe_variance.is_finite()) {
        return Err(stat_err(
            "expected maximum Sharpe",
            format!(
                "need N ≥ 1 and a finite variance ≥ 0, got N={n_trials}, V={trial_sharpe_variance}"
            ),
        ));
    }
    if n_trials == 1 {
        return Ok(0.0);
    }
    let n = n_trials as f64;
    let z = (1.0 - EULER_GAMMA) * normal::ppf(1.0 - 1.0 / n)
        + EULER_GAMMA * normal::ppf(1.0 - 1.0 / (n * std::f64::consts::E));
    Ok(trial_sharpe_variance.sqrt() * z)
}

/// Deflated Sharpe ratio with its ingredients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeflatedSharpe {
    /// `PSR(SR₀)`: probability that the chosen strategy's true Sharpe is above what luck gives.
    pub dsr: f64,
    /// Chosen strategy's per-period Sharpe.
    pub sharpe: f64,
    /// Expected maximum Sharpe of the trials under the null (`SR₀`, per period).
    pub sharpe_null: f64,
    /// Number of (independent) trials N.
    pub n_trials: usize,
    /// Variance of the trials' per-period Sharpe ratios.
    pub trial_sharpe_variance: f64,
    /// Moments of the chosen strategy's returns.
    pub stats: ReturnStats,
}

/// DSR of the chosen strategy's per-period `returns`, given the per-period Sharpe ratios of all
/// trials tried (`N = trial_sharpes.len()`, `V` = their sample variance).
pub fn deflated_sharpe_ratio(returns: &[f64], trial_sharpes: &[f64]) -> Result<DeflatedSharpe> {
    const WHAT: &str = "deflated Sharpe ratio";
    let finite: Vec<f64> = trial_sharpes
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    if finite.len() != trial_sharpes.len() {
        return Err(stat_err(
            WHAT,
            "a trial Sharpe ratio is not finite".to_string(),
        ));
    }
    let var = match finite.len() {
        0 => return Err(stat_err(WHAT, "no trial Sharpe ratios".to_string())),
        1 => 0.0,
        n => {
            let m = finite.iter().sum::<f64>() / n as f64;
            finite.iter().map(|s| (s - m) * (s - m)).sum::<f64>() / (n - 1) as f64
        }
    };
    deflated_sharpe_ratio_with(returns, finite.len(), var)
}

/// DSR with an explicit number of independent trials `n_trials` and Sharpe variance (e.g. an
/// effective N after clustering correlated trials).
pub fn deflated_sharpe_ratio_with(
    returns: &[f64],
    n_trials: usize,
    trial_sharpe_variance: f64,
) -> Result<DeflatedSharpe> {
    let stats = return_stats(returns)?;
    let sharpe_null = expected_max_sharpe(n_trials, trial_sharpe_variance)?;
    let dsr = probabilistic_sharpe_ratio(
        stats.sharpe,
        sharpe_null,
        stats.n,
        stats.skewness,
        stats.kurtosis,
    )?;
    Ok(DeflatedSharpe {
        dsr,
        sharpe: stats.sharpe,
        sharpe_null,
        n_trials,
        trial_sharpe_variance,
        stats,
    })
}

/// Performance measure used by CSCV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PboMetric {
    /// Per-period Sharpe ratio (mean / std with n − 1); a zero-variance subset scores −∞.
    Sharpe,
    /// Mean return per period.
    Mean,
}

/// Result of [`pbo_cscv`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pbo {
    /// Probability of backtest overfitting: share of logits ≤ 0.
    pub pbo: f64,
    /// Logit λ of the IS winner's OOS relative rank, one per combination (lexicographic order).
    pub logits: Vec<f64>,
    /// `(IS performance, OOS performance)` of the IS winner, per combination.
    pub is_oos: Vec<(f64, f64)>,
    /// Share of combinations where the IS winner's OOS performance is below 0.
    pub prob_oos_loss: f64,
    /// Number of combinations `C(S, S/2)`.
    pub n_combinations: usize,
}

/// Running (count, mean, M2) of a block, merged with Chan et al.'s formula.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn of(xs: impl Iterator<Item = f64>) -> Moments {
        let mut m = Moments::default();
        for x in xs {
            m.n += 1.0;
            let d = x - m.mean;
            m.mean += d / m.n;
            m.m2 += d * (x - m.mean);
        }
        m
    }

    fn merge(self, o: Moments) -> Moments {
        if self.n == 0.0 {
            return o;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        Moments {
            n,
            mean: self.mean + d * o.n / n,
            m2: self.m2 + o.m2 + d * d * self.n * o.n / n,
        }
    }

    fn score(&self, metric: PboMetric) -> f64 {
        match metric {
            PboMetric::Mean => self.mean,
            PboMetric::Sharpe => {
                let sd = (self.m2 / (self.n - 1.0)).sqrt();
                if sd > 0.0 {
                    self.mean / sd
                } else {
                    f64::NEG_INFINITY
                }
            }
        }
    }
}

/// Scores of `n` returns from their sums `sum` (Σx) and `sumsq` (Σx²), one per trial, into `out`
/// (a branch-free loop the compiler vectorizes). Sharpe: mean / sample std, −∞ when flat.
fn fill_scores(metric: PboMetric, n: f64, sum: &[f64], sumsq: &[f64], out: &mut [f64]) {
    let inv_n = 1.0 / n;
    match metric {
        PboMetric::Mean => {
            for (o, s) in out.iter_mut().zip(sum) {
                *o = s * inv_n;
            }
        }
        PboMetric::Sharpe => {
            let inv_dof = 1.0 / (n - 1.0);
            for ((o, s), q) in out.iter_mut().zip(sum).zip(sumsq) {
                let mean = s * inv_n;
                let sd = ((q - s * mean) * inv_dof).max(0.0).sqrt();
                *o = if sd > 0.0 {
                    mean / sd
                } else {
                    f64::NEG_INFINITY
                };
            }
        }
    }
}

/// All `k`-subsets of `0..n` in lexicographic order (as Python's `itertools.combinations`).
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut c: Vec<usize> = (0..k).collect();
    loop {
        out.push(c.clone());
        let Some(i) = (0..k).rev().find(|&i| c[i] != i + n - k) else {
            return out;
        };
        c[i] += 1;
        for j in i + 1..k {
            c[j] = c[j - 1] + 1;
        }
    }
}

/// Per-block (count, mean, M2) of one trial's returns: all CSCV needs, so a sweep can reduce each
/// trial's return series to `S` triples as it finishes instead of keeping a `T × N` matrix.
/// Serializable, so that a stored sweep can be resumed with its PBO inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMoments {
    blocks: Vec<Moments>,
}

impl BlockMoments {
    /// Number of blocks S.
    pub fn n_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Number of returns T.
    pub fn n_obs(&self) -> usize {
        self.blocks.iter().map(|b| b.n as usize).sum()
    }

    fn total(&self) -> Moments {
        self.blocks
            .iter()
            .fold(Moments::default(), |acc, b| acc.merge(*b))
    }

    /// Mean return per period over all blocks.
    pub fn mean(&self) -> f64 {
        self.total().mean
    }

    /// Per-period Sharpe ratio over all blocks (mean / std with n − 1), e.g. for the trial Sharpe
    /// variance of the deflated Sharpe ratio.
    pub fn sharpe(&self) -> f64 {
        self.total().score(PboMetric::Sharpe)
    }
}

/// Splits `returns` into `n_blocks` contiguous blocks (sizes as numpy's `array_split`) and keeps
/// each block's moments. `n_blocks` must be even, in [2, 24], with at least 2 returns per block.
pub fn block_moments(returns: &[f64], n_blocks: usize) -> Result<BlockMoments> {
    const WHAT: &str = "CSCV block moments";
    let t = returns.len();
    if n_blocks < 2 || !n_blocks.is_multiple_of(2) || n_blocks > 24 || n_blocks * 2 > t {
        return Err(stat_err(
            WHAT,
            format!(
                "blocks S={n_blocks} must be even, in [2, 24] and at most T/2 = {}",
                t / 2
            ),
        ));
    }
    if let Some(i) = returns.iter().position(|x| !x.is_finite()) {
        return Err(stat_err(
            WHAT,
            format!("return #{i} is not finite ({})", returns[i]),
        ));
    }
    let (base, extra) = (t / n_blocks, t % n_blocks);
    let mut start = 0;
    let blocks = (0..n_blocks)
        .map(|b| {
            let len = base + usize::from(b < extra);
            let m = Moments::of(returns[start..start + len].iter().copied());
            start += len;
            m
        })
        .collect();
    Ok(BlockMoments { blocks })
}

/// PBO by CSCV over `trials[n]` = per-period returns of trial `n` (all the same length T), cut into
/// `n_blocks` = S blocks (even, 2 ≤ S ≤ 24, S ≤ T/2). Combinations run in parallel.
pub fn pbo_cscv<R: AsRef<[f64]> + Sync>(
    trials: &[R],
    n_blocks: usize,
    metric: PboMetric,
) -> Result<Pbo> {
    const WHAT: &str = "probability of backtest overfitting";
    let t = trials.first().map_or(0, |r| r.as_ref().len());
    if let Some((i, r)) = trials
        .iter()
        .enumerate()
        .find(|(_, r)| r.as_ref().len() != t)
    {
        return Err(stat_err(
            WHAT,
            format!(
                "trial #{i} has {} returns, trial #0 has {t}",
                r.as_ref().len()
            ),
        ));
    }
    let blocks = trials
        .par_iter()
        .enumerate()
        .map(|(i, r)| {
            block_moments(r.as_ref(), n_blocks).map_err(|e| match e {
                SearchError::Statistic { reason, .. } => {
                    stat_err(WHAT, format!("trial #{i}: {reason}"))
                }
                other => other,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    pbo_cscv_blocks(&blocks, metric)
}

/// PBO by CSCV from per-trial [`BlockMoments`] (all with the same block layout). See the module docs.
pub fn pbo_cscv_blocks(trials: &[BlockMoments], metric: PboMetric) -> Result<Pbo> {
    const WHAT: &str = "probability of backtest overfitting";
    let n_trials = trials.len();
    if n_trials < 2 {
        return Err(stat_err(
            WHAT,
            format!("need at least 2 trials, got {n_trials}"),
        ));
    }
    let n_blocks = trials[0].n_blocks();
    let layout: Vec<f64> = trials[0].blocks.iter().map(|b| b.n).collect();
    if let Some(i) = trials.iter().position(|tr| {
        tr.blocks.len() != n_blocks || tr.blocks.iter().zip(&layout).any(|(b, n)| b.n != *n)
    }) {
        return Err(stat_err(
            WHAT,
            format!("trial #{i} has a different block layout than trial #0"),
        ));
    }
    if n_blocks < 2 || !n_blocks.is_multiple_of(2) {
        return Err(stat_err(
            WHAT,
            format!("blocks S={n_blocks} must be even and ≥ 2"),
        ));
    }
    let combos = combinations(n_blocks, n_blocks / 2);
    // Block-major raw sums (Σx and Σx² of each block, one array over trials per block): a split's
    // in-sample sums are 8 vector additions and its out-of-sample sums the totals minus those,
    // so each of the C(S, S/2) splits costs O(S·N) additions instead of O(S·N) moment merges.
    // Σx² − (Σx)²/n loses nothing that matters for per-period returns (mean² ≪ variance).
    // Identical trials (a grid often has many: thresholds that never bind) enter once with their
    // multiplicity, in order of first occurrence, which keeps the first-best choice and the
    // tie-aware ranks exactly those of the full list.
    let mut first_seen: std::collections::HashMap<Vec<u64>, usize> =
        std::collections::HashMap::new();
    let mut unique: Vec<&BlockMoments> = Vec::new();
    let mut count: Vec<f64> = Vec::new();
    for tr in trials {
        let key: Vec<u64> = tr
            .blocks
            .iter()
            .flat_map(|m| [m.n.to_bits(), m.mean.to_bits(), m.m2.to_bits()])
            .collect();
        match first_seen.get(&key) {
            Some(&u) => count[u] += 1.0,
            None => {
                first_seen.insert(key, unique.len());
                unique.push(tr);
                count.push(1.0);
            }
        }
    }
    let n_unique = unique.len();
    let mut s1 = vec![0.0; n_blocks * n_unique];
    let mut s2 = vec![0.0; n_blocks * n_unique];
    for (t, tr) in unique.iter().enumerate() {
        for (b, m) in tr.blocks.iter().enumerate() {
            s1[b * n_unique + t] = m.n * m.mean;
            s2[b * n_unique + t] = m.m2 + m.n * m.mean * m.mean;
        }
    }
    let mut tot1 = vec![0.0; n_unique];
    let mut tot2 = vec![0.0; n_unique];
    for b in 0..n_blocks {
        let (r1, r2) = (b * n_unique, (b + 1) * n_unique);
        for (t, (x1, x2)) in s1[r1..r2].iter().zip(&s2[r1..r2]).enumerate() {
            tot1[t] += x1;
            tot2[t] += x2;
        }
    }
    let n_total: f64 = layout.iter().sum();
    // Splits come in complementary pairs (S/2 blocks in sample, the other S/2 out): one pass of
    // sums and scores serves both, the in-sample side of one being the other's out-of-sample.
    let mask = |c: &[usize]| c.iter().fold(0u64, |m, &b| m | (1 << b));
    let index_of: std::collections::HashMap<u64, usize> = combos
        .iter()
        .enumerate()
        .map(|(i, c)| (mask(c), i))
        .collect();
    let all_blocks = (1u64 << n_blocks) - 1;
    let pairs: Vec<(usize, usize)> = combos
        .iter()
        .enumerate()
        .filter(|(_, c)| c.contains(&0))
        .filter_map(|(i, c)| index_of.get(&(all_blocks ^ mask(c))).map(|&j| (i, j)))
        .collect();
    // One split's result from its in-sample and out-of-sample scores.
    let outcome = |is: &[f64], oos: &[f64]| -> (f64, f64, f64) {
        let mut best = 0;
        for (t, v) in is.iter().enumerate() {
            if *v > is[best] {
                best = t;
            }
        }
        let target = oos[best];
        let (mut below, mut equal) = (0.0, 0.0);
        for (v, k) in oos.iter().zip(&count) {
            if *v < target {
                below += k;
            } else if *v == target {
                equal += k;
            }
        }
        let rank = below + (equal + 1.0) / 2.0;
        let w = rank / (n_trials as f64 + 1.0);
        ((w / (1.0 - w)).ln(), is[best], target)
    };
    // (split index, (logit, in-sample score, out-of-sample score)) for both splits of a pair.
    type Split = (usize, (f64, f64, f64));
    let pair_results: Vec<(Split, Split)> = pairs
        .par_iter()
        .map_init(
            || [(); 6].map(|_| vec![0.0; n_unique]),
            |[is1, is2, oos1, oos2, is_scores, oos_scores], &(i, j)| {
                is1.fill(0.0);
                is2.fill(0.0);
                let mut n_is = 0.0;
                for &b in &combos[i] {
                    n_is += layout[b];
                    let (r1, r2) = (b * n_unique, (b + 1) * n_unique);
                    for (acc, x) in is1.iter_mut().zip(&s1[r1..r2]) {
                        *acc += x;
                    }
                    for (acc, x) in is2.iter_mut().zip(&s2[r1..r2]) {
                        *acc += x;
                    }
                }
                for t in 0..n_unique {
                    oos1[t] = tot1[t] - is1[t];
                    oos2[t] = tot2[t] - is2[t];
                }
                fill_scores(metric, n_is, is1, is2, is_scores);
                fill_scores(metric, n_total - n_is, oos1, oos2, oos_scores);
                (
                    (i, outcome(is_scores, oos_scores)),
                    (j, outcome(oos_scores, is_scores)),
                )
            },
        )
        .collect();
    let mut per = vec![(f64::NAN, f64::NAN, f64::NAN); combos.len()];
    for ((i, a), (j, b)) in pair_results {
        per[i] = a;
        per[j] = b;
    }
    let c = per.len();
    let logits: Vec<f64> = per.iter().map(|p| p.0).collect();
    let pbo = logits.iter().filter(|&&l| l <= 0.0).count() as f64 / c as f64;
    let prob_oos_loss = per.iter().filter(|p| p.2 < 0.0).count() as f64 / c as f64;
    Ok(Pbo {
        pbo,
        logits,
        is_oos: per.iter().map(|p| (p.1, p.2)).collect(),
        prob_oos_loss,
        n_combinations: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_count_and_order() {
        let c = combinations(6, 3);
        assert_eq!(c.len(), 20);
        assert_eq!(c[0], vec![0, 1, 2]);
        assert_eq!(c[1], vec![0, 1, 3]);
        assert_eq!(c[19], vec![3, 4, 5]);
        assert_eq!(combinations(16, 8).len(), 12_870);
    }

    /// The textbook CSCV loop (merge each split's block moments per trial, first best in sample,
    /// tie-aware out-of-sample rank) on trials with many duplicates equals the fast path.
    #[test]
    fn fast_cscv_equals_the_textbook_loop_with_duplicates() {
        let mut state = 7u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.04
        };
        let distinct: Vec<Vec<f64>> = (0..12)
            .map(|k| {
                (0..160)
                    .map(|_| noise() + 0.0004 * f64::from(k % 3))
                    .collect()
            })
            .collect();
        let order = [0, 1, 1, 2, 3, 3, 3, 4, 5, 6, 0, 7, 8, 9, 10, 11, 11, 2];
        let trials: Vec<BlockMoments> = order
            .iter()
            .map(|&k| block_moments(&distinct[k], 8).unwrap())
            .collect();
        let fast = pbo_cscv_blocks(&trials, PboMetric::Sharpe).unwrap();
        let n = trials.len();
        let mut logits = Vec::new();
        for is_blocks in combinations(8, 4) {
            let perf = |want_is: bool| -> Vec<f64> {
                trials
                    .iter()
                    .map(|tr| {
                        tr.blocks
                            .iter()
                            .enumerate()
                            .filter(|(b, _)| is_blocks.contains(b) == want_is)
                            .fold(Moments::default(), |acc, (_, m)| acc.merge(*m))
                            .score(PboMetric::Sharpe)
                    })
                    .collect()
            };
            let (is, oos) = (perf(true), perf(false));
            let mut best = 0;
            for (t, v) in is.iter().enumerate() {
                if *v > is[best] {
                    best = t;
                }
            }
            let target = oos[best];
            let below = oos.iter().filter(|&&v| v < target).count() as f64;
            let equal = oos.iter().filter(|&&v| v == target).count() as f64;
            let w = (below + (equal + 1.0) / 2.0) / (n as f64 + 1.0);
            logits.push((w / (1.0 - w)).ln());
        }
        assert_eq!(fast.logits.len(), logits.len());
        for (a, b) in fast.logits.iter().zip(&logits) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn merged_moments_match_direct() {
        let xs: Vec<f64> = (0..50)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.01)
            .collect();
        let whole = Moments::of(xs.iter().copied());
        let parts =
            Moments::of(xs[..17].iter().copied()).merge(Moments::of(xs[17..].iter().copied()));
        assert!((whole.mean - parts.mean).abs() < 1e-15);
        assert!((whole.m2 - parts.m2).abs() < 1e-15);
    }
}
