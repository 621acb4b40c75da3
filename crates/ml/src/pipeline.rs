//! One symbol's full feature frame: [`crate::features`] + leaders and Fear & Greed
//! ([`crate::cross`]) + HMM regime probabilities from a model fitted on the training window only
//! ([`fit_regime_model`]). One symbol at a time: only its bars, the leaders' and the daily index
//! are in memory.

use pulse_core::jiff::Timestamp;
use pulse_core::timeframe::Timeframe;
use pulse_core::{Bar, Exchange};

use crate::MlError;
use crate::cross::{LeaderConfig, leader_columns, previous_day_column};
use crate::features::{
    FeatureConfig, FeatureFrame, compute_features, regime_columns, regime_series,
};
use crate::hmm::{self, FitConfig, GaussianHmm};

/// Everything known about one symbol besides its own settings.
#[derive(Debug, Clone, Copy)]
pub struct SymbolInputs<'a> {
    /// The symbol's 1-minute bars (strictly increasing, whole minutes).
    pub bars: &'a [Bar],
    /// Leader symbols `(name, 1-minute bars)`, e.g. `("btc", …)`, `("eth", …)`; a leader that is
    /// the symbol itself can be left out by the caller (its correlation would be 1).
    pub leaders: &'a [(&'a str, &'a [Bar])],
    /// Daily Fear & Greed (`ts` = date 00:00 UTC, value in `close`), joined as of the previous day
    /// into the column `fear_greed`.
    pub fear_greed: Option<&'a [Bar]>,
    /// An HMM fitted on the training window ([`fit_regime_model`]) and its timeframe.
    pub regime: Option<(Timeframe, &'a GaussianHmm)>,
}

/// Settings of [`symbol_frame`].
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PipelineConfig {
    /// Own-bar features.
    pub features: FeatureConfig,
    /// Leader correlation and lead-lag.
    pub leader: LeaderConfig,
}

/// The symbol's frame: the columns of [`compute_features`], then for each leader
/// `corr_<leader>_<w>` and `leadlag_<leader>_1..`, then `fear_greed`, then `<tf>_regime_p<i>`.
pub fn symbol_frame(
    inputs: &SymbolInputs<'_>,
    cfg: &PipelineConfig,
) -> Result<FeatureFrame, MlError> {
    let mut frame = compute_features(inputs.bars, &cfg.features)?;
    for (name, bars) in inputs.leaders {
        for (col, values) in leader_columns(inputs.bars, name, bars, &cfg.leader)? {
            frame.push_column(col, values)?;
        }
    }
    if let Some(daily) = inputs.fear_greed {
        frame.push_column(
            "fear_greed".into(),
            previous_day_column(inputs.bars, daily)?,
        )?;
    }
    if let Some((tf, model)) = inputs.regime {
        for (col, values) in regime_columns(inputs.bars, cfg.features.exchange, tf, model)? {
            frame.push_column(col, values)?;
        }
    }
    Ok(frame)
}

/// Fits a `k`-state HMM on the symbol's [`regime_series`] restricted to the training window:
/// only the `tf` bars that **end** at or before `train_end` (so no bar after the window is
/// read). Quantile initialisation; states sorted by mean.
pub fn fit_regime_model(
    bars: &[Bar],
    exchange: Exchange,
    tf: Timeframe,
    train_end: Timestamp,
    k: usize,
    fit: &FitConfig,
) -> Result<GaussianHmm, MlError> {
    let end = train_end.as_second();
    // Only minutes before the window's end enter the resampling at all.
    let cut = bars.partition_point(|b| b.ts.as_second() < end);
    let (labels, x) = regime_series(&bars[..cut], exchange, tf)?;
    let n = labels
        .iter()
        .take_while(|l| l.as_second() + tf.seconds() <= end)
        .count();
    let x = &x[..n];
    let init = GaussianHmm::init_quantiles(x, k)?;
    Ok(hmm::fit(x, &init, fit)?.0)
}
