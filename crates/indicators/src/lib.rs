//! `pulse-indicators`: technical indicators that reproduce TA-Lib's numbers, in two shapes each:
//!
//! * a **streaming** struct (`try_new(params)`, then [`Indicator::update`] once per bar, O(1) or
//!   O(window) work, no allocation after construction — every window lives in a ring buffer
//!   allocated by `try_new`);
//! * a **batch** function over slices writing into a caller-provided `&mut [f64]` (`*_into`, NaN in
//!   the warm-up positions) plus a convenience that allocates the output.
//!
//! Batch output equals streaming output **bit for bit** (property-tested). Pure math: no I/O.
//!
//! # TA-Lib conventions followed (reference: TA-Lib C 0.8.1 as bundled by the PyPI package
//! `TA-Lib==0.8.2`)
//! * Lookback (number of leading empty outputs, [`Indicator::warmup_period`]): SMA/WMA/BBANDS/
//!   STDDEV/CORREL `p-1`; EMA `p-1`; RSI/ATR/ROC/MOM `p`; TRANGE 1; MACD `slow-1+signal-1`;
//!   STOCH `fastk-1 + slowk-1 + slowd-1`; ADX `2p-1`; BETA `p`; OBV/VWAP 0.
//! * EMA seeded with the SMA of the first `p` inputs, then `prev = (1 - k)·prev + k·x`,
//!   `k = 2 / (p + 1)`, in the same one-addition blocks as Wilder smoothing below (TA-Lib writes
//!   `(x - prev)·k + prev`; fixtures ≤ 1e-15 relative). MACD keeps TA-Lib's form.
//! * MACD: both EMAs are seeded so that their seed windows **end on the same bar** (index
//!   `slow-1`): the slow EMA by the SMA of bars `0..slow`, the fast EMA by the SMA of the last `fast`
//!   of those bars; the signal EMA is seeded by the SMA of the first `signal` MACD-line values. The
//!   MACD line is empty until the signal exists. TA-Lib swaps `fast > slow`; here `fast ≥ slow` is
//!   refused (a swapped spec is a typo, not a request).
//! * RSI, ATR, ADX: Wilder smoothing `s = s·(p-1)/p + x/p`, seeded with the plain average of
//!   the first `p` changes / true ranges (ADX: first DX average over `p` bars after `p-1` bars of
//!   DM/TR sums, TA-Lib's exact order of operations). RSI and ATR (like EMA above) evaluate the recurrence in
//!   blocks of 32 steps with a one-addition dependency chain (`util::Wilder`: `u += x·(b/a^j)`,
//!   `s = u·a^j`), so they are throughput- rather than latency-bound; this differs from TA-Lib's
//!   rounding by a few ulps (fixtures: ≤ 1e-14 relative), the error does not accumulate.
//! * Bollinger Bands / STDDEV / z-score: SMA middle (TA-Lib's rolling sum, bit-exact), **population**
//!   variance from rolling sums of `x - K` and `(x - K)²` with the shift `K` re-anchored to the
//!   newest value (sums recomputed from the window) every `max(256, 8·p)` outputs: no
//!   cancellation on large prices, bounded drift (fixtures: ≤ 2e-12 relative on σ); 0 when below
//!   TA-Lib's 1e-14.
//! * Where TA-Lib tests a quantity against zero it uses `TA_IS_ZERO` (|v| < 1e-14), reproduced here.
//! * Elsewhere TA-Lib's arithmetic order is replicated, so results usually agree to the last bit;
//!   the fixtures test ≤ 1e-9 relative error at every position.
//!
//! # Batch fast paths
//! Every batch function makes **one pass** over its inputs with no per-bar branch on the common
//! path and no allocation: finiteness is accumulated alongside the arithmetic (a bitwise AND of
//! `is_finite`, or NaN-sticky lanes of `x·0`), and only if some input was not finite is the output
//! recomputed by driving the streaming struct (the exact skip rule). Slices are pre-sliced to equal
//! lengths so bounds checks vanish; the per-bar arithmetic is the streaming struct's, in the same
//! order, so batch == streaming bit for bit. Where a serial recurrence feeds costly per-bar math
//! (RSI's ratio, BBANDS' σ/%B/bandwidth, STDDEV's sqrt, VWAP's ratio) the serial part runs over a
//! cache-resident block and a separate branch-free loop finishes the block (it vectorizes).
//!
//! # Definitions of the indicators TA-Lib lacks (reference: pandas/numpy in
//! `scripts/reference/make_fixtures.py`)
//! * **%B** = `(close - lower) / (upper - lower)` (0.5 when the bands collapse);
//!   **bandwidth** = `(upper - lower) / middle` (0 when middle is 0). Both from the TA-Lib bands.
//! * **ATR percentile rank** (`atrp:p,n`) = TA-Lib `PERCENTRANK(ATR(p), n)`: the percentage of the
//!   previous `n` ATR values strictly below the current one, `count / n * 100`. Lookback `p + n`.
//! * **Session VWAP** (`vwap`) = `Σ tp·v / Σ v` with `tp = (high + low + close) / 3`, both sums reset
//!   when the bar's session id differs from the previous bar's (TA-Lib's `VWAP` applied to each
//!   session's slice). Empty while the session's cumulative volume is 0. `vwap_into` is the same
//!   over the whole input as one session (exactly TA-Lib's `VWAP`), without session ids.
//! * **Rolling VWAP** (`vwap:n`, for daily bars) = `Σ tp·v / Σ v` over the last `n` bars.
//! * **Rolling volatility** (`vol:n,ppy`) = sample standard deviation (ddof 1) of the last `n` log
//!   returns `ln(x_t / x_{t-1})` times `sqrt(ppy)` (ppy = periods per year, 252 for daily bars).
//!   Lookback `n`.
//! * **Z-score** (`zscore:n`) = `(x - mean_n) / sd_n`, population sd (ddof 0) over the last `n`
//!   inputs including the current one; 0 when `sd_n` is 0. Lookback `n-1`.
//! * **Returns** (`ret`) = TA-Lib `ROCP(1)` = `(x_t - x_{t-1}) / x_{t-1}` (0 when `x_{t-1}` is 0);
//!   **log returns** (`logret`) = `ln(x_t / x_{t-1})`.
//! * **Rolling correlation** (`corr:n`) = TA-Lib `CORREL(a, b, n)` (Pearson); in `spec::compute`
//!   it is applied to the simple returns of the close and of the benchmark close.
//! * **Rolling beta** (`beta:n`) = TA-Lib `BETA(benchmark, asset, n)`: OLS slope of the asset's
//!   simple returns on the benchmark's over the last `n` returns.
//!
//! # Non-finite inputs: one rule for every indicator
//! **A bar with any non-finite input value (NaN, ±∞) is skipped**: `update` returns `None` and
//! the indicator's state is left exactly as it was, so the next finite bar continues as if the
//! skipped bar never existed (the warm-up counts finite bars only). Batch functions apply the same
//! rule and write NaN at that position. Log-return based indicators (`logret`, `vol`) additionally
//! treat a non-positive price as non-finite (its logarithm is). No indicator ever emits NaN or ±∞
//! from finite inputs unless the arithmetic itself overflows.

pub mod error;
pub mod ma;
pub mod momentum;
pub mod spec;
pub mod stats;
mod util;
pub mod volatility;
pub mod volume;

pub use error::IndicatorError;

/// The largest period or window any indicator accepts, in bars (100,000 bars: about 400 years of
/// daily bars, or 250 sessions of one-minute bars). Every window is allocated when the indicator is
/// built, so periods are bounded where they enter (`try_new`, `spec::parse_spec`): a typo such as
/// `sma:4000000000` is an [`IndicatorError::PeriodTooLarge`], not a multi-gigabyte allocation.
pub const MAX_PERIOD: usize = 100_000;
pub use ma::{Ema, Sma, Wma, ema, ema_into, sma, sma_into, wma, wma_into};
pub use momentum::{
    Adx, LogReturn, Macd, MacdOutput, Mom, Returns, Roc, Rsi, Stoch, StochOutput, adx, adx_into,
    log_returns, log_returns_into, macd, macd_into, mom, mom_into, returns, returns_into, roc,
    roc_into, rsi, rsi_into, stoch, stoch_into,
};
pub use spec::{IndicatorSpec, OhlcvColumns, SpecInfo};
pub use stats::{Beta, Correlation, beta, beta_into, correlation, correlation_into};
pub use volatility::{
    Atr, AtrPercentile, BBandsOut, BBandsOutput, BollingerBands, RollingVolatility, StdDev,
    TrueRange, ZScore, atr, atr_into, atr_percentile, atr_percentile_into, bbands,
    bbands_bands_into, bbands_into, rolling_volatility, rolling_volatility_into, stddev,
    stddev_into, trange, trange_into, zscore, zscore_into,
};
pub use volume::{
    Obv, RollingVwap, SessionVwap, VwapBar, obv, obv_into, rolling_vwap, rolling_vwap_into,
    session_vwap, session_vwap_into, vwap, vwap_into,
};

/// One high/low/close bar (prices in the instrument's currency).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hlc {
    /// High price.
    pub high: f64,
    /// Low price.
    pub low: f64,
    /// Close price.
    pub close: f64,
}

impl Hlc {
    #[inline(always)]
    pub(crate) fn is_finite(&self) -> bool {
        self.high.is_finite() && self.low.is_finite() && self.close.is_finite()
    }
}

/// A streaming indicator: feed one input per bar, get `Some(output)` once warmed up.
pub trait Indicator {
    /// What one bar contributes (`f64` close, [`Hlc`], [`VwapBar`], `(f64, f64)` pair, …).
    type Input;
    /// The value per bar (`f64`, or a struct such as [`MacdOutput`]).
    type Output: Copy;
    /// Consume one bar; `None` during warm-up and for skipped (non-finite) bars.
    fn update(&mut self, input: Self::Input) -> Option<Self::Output>;
    /// Forget all history (keeps allocations); the next update starts a fresh warm-up.
    fn reset(&mut self);
    /// Number of leading bars without output (TA-Lib's lookback), in bars.
    fn warmup_period(&self) -> usize;
}

/// Drive a streaming indicator over `n` bars, writing outputs through `write` (batch slow path,
/// used when inputs contain non-finite values; guarantees batch == streaming).
#[inline]
pub(crate) fn drive<I: Indicator>(
    ind: &mut I,
    n: usize,
    mut input: impl FnMut(usize) -> I::Input,
    mut write: impl FnMut(usize, Option<I::Output>),
) {
    for i in 0..n {
        let o = ind.update(input(i));
        write(i, o);
    }
}
