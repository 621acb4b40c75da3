//! Cross-symbol and external features, joined to one symbol's minute rows without look-ahead:
//! rolling correlation and lead-lag with leader symbols (BTC, ETH, configurable), and a daily
//! index (Fear & Greed) as of the previous day.
//!
//! # Leader alignment
//! At the symbol's minute row `t` the leader's close is the close of its last bar with
//! `ts ≤ ts_t` (forward-filled: that bar closes no later than row `t`'s bar). With `r_t` the
//! symbol's and `ℓ_t` the aligned leader's 1-row log returns:
//! * `corr_<leader>_<w>` = Pearson correlation of `(r, ℓ)` over the last `w` rows (TA-Lib `CORREL`);
//! * `leadlag_<leader>_<k>` = Pearson correlation of `(r_t, ℓ_{t−k})` over the last `w` rows, for
//!   `k = 1..=max_lag`: how much the leader's move `k` minutes ago goes with the symbol's now.
//!
//! A row whose return is not finite (the first row, a non-positive price) is skipped by the
//! correlation (its window then reaches one row further back), as every `pulse-indicators`
//! indicator skips a non-finite input.
//!
//! # Daily index as of the previous day
//! `<name>` at row `t` = the value of the last daily observation dated **before** row `t`'s UTC
//! date (a daily value is published after its day; the same day's value is never used).

use pulse_core::Bar;
use pulse_indicators as ind;

use crate::MlError;

/// Settings of [`leader_columns`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LeaderConfig {
    /// Correlation window, in minute rows (60).
    pub window: usize,
    /// Largest lead-lag lag, in minute rows (5); 0 for none.
    pub max_lag: usize,
}

impl Default for LeaderConfig {
    /// A 60-row window and lags 1..=5.
    fn default() -> Self {
        LeaderConfig {
            window: 60,
            max_lag: 5,
        }
    }
}

/// The leader's close as of each symbol row (`NaN` before the leader's first bar).
fn aligned_closes(bars: &[Bar], leader: &[Bar]) -> Result<Vec<f64>, MlError> {
    if leader.windows(2).any(|w| w[1].ts <= w[0].ts) {
        return Err(MlError::Invalid(
            "leader bars are not strictly increasing".into(),
        ));
    }
    let mut j = 0usize;
    Ok(bars
        .iter()
        .map(|b| {
            while j < leader.len() && leader[j].ts <= b.ts {
                j += 1;
            }
            j.checked_sub(1).map_or(f64::NAN, |j| leader[j].close)
        })
        .collect())
}

/// Rolling correlation and lead-lag columns of `bars` against one `leader` (named `name` in the
/// column names), as `f32` columns in the order `corr_<name>_<w>`, `leadlag_<name>_1..=max_lag`.
pub fn leader_columns(
    bars: &[Bar],
    name: &str,
    leader: &[Bar],
    cfg: &LeaderConfig,
) -> Result<Vec<(String, Vec<f32>)>, MlError> {
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let r = ind::log_returns(&close)?;
    let l = ind::log_returns(&aligned_closes(bars, leader)?)?;
    let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
    let mut out = vec![(
        format!("corr_{name}_{}", cfg.window),
        to_f32(ind::correlation(&r, &l, cfg.window)?),
    )];
    for k in 1..=cfg.max_lag {
        let lagged: Vec<f64> = (0..l.len())
            .map(|t| if t >= k { l[t - k] } else { f64::NAN })
            .collect();
        out.push((
            format!("leadlag_{name}_{k}"),
            to_f32(ind::correlation(&r, &lagged, cfg.window)?),
        ));
    }
    Ok(out)
}

/// A daily index joined as of the previous day: for each row, the `close` of the last bar of
/// `daily` (daily bars, `ts` = the date at 00:00 UTC, strictly increasing) dated before the row's
/// UTC date; NaN before the first such day.
pub fn previous_day_column(bars: &[Bar], daily: &[Bar]) -> Result<Vec<f32>, MlError> {
    if daily.windows(2).any(|w| w[1].ts <= w[0].ts) {
        return Err(MlError::Invalid(
            "daily bars are not strictly increasing".into(),
        ));
    }
    let mut j = 0usize;
    Ok(bars
        .iter()
        .map(|b| {
            let day_start = b.ts.as_second().div_euclid(86_400) * 86_400;
            while j < daily.len() && daily[j].ts.as_second() < day_start {
                j += 1;
            }
            j.checked_sub(1).map_or(f32::NAN, |j| daily[j].close as f32)
        })
        .collect())
}
