//! The sweep kernel: the Pulse strategy replayed over dense, index-addressed arrays, for searches
//! that run thousands of backtests of one market.
//!
//! [`run`](crate::run) is general (any [`Strategy`](pulse_strategy::Strategy), symbols in maps,
//! streaming indicators, a full [`BacktestResult`](crate::BacktestResult)). A sweep changes only
//! the rule set's numbers, so this kernel does the per-market work once and the per-trial work
//! with no maps and no per-bar allocation:
//! - [`PulseMarket`] holds the two legs as dense columns (bars, position of each step in the
//!   leg's own bar sequence, the mood series, the dividend steps) and an indicator cache: each
//!   indicator is computed once per distinct parameter value (batch form, which equals the
//!   streaming form bit for bit) and shared by every trial through an `Arc`.
//! - [`PulseMarket::run`] replays one rule set with the same decision function
//!   ([`PulseStrategy::decide`]), the same planner ([`plan_orders_dense`], which
//!   [`Engine`](pulse_engine::Engine) also calls) and the same fill rule
//!   ([`SimBroker::fill_terms`]) as the general runner, writing the equity curve into a reusable
//!   [`KernelScratch`]. The test `kernel_equals_the_general_runner` proves equal fills and
//!   equity on the real data for many rule sets.

use crate::broker::Unfillable;
use crate::data::AlignedData;
use crate::runner::BacktestConfig;
use jiff::Timestamp;
use pulse_core::money::{money_to_f64, price_to_money};
use pulse_core::sizing::SizedOrder;
use pulse_core::{Bar, Portfolio, Side, Symbol};
use pulse_engine::{PlanAsset, plan_orders_dense, within_drift_band};
use pulse_indicators::{BBandsOutput, IndicatorError, MacdOutput};
use pulse_strategy::pulse::{IndicatorsConfig, PulseConfig, PulseStrategy, TickerState};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Why a market or a run cannot go through the kernel (the caller then uses the general runner).
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The data or account is not the two-leg Pulse shape the kernel handles.
    #[error("the sweep kernel does not handle this run: {0}")]
    Unsupported(String),
    /// `simulate` was called without `decide` over the same range (a caller bug, never a
    /// reason to fall back).
    #[error("{decisions} decisions for {steps} steps: call decide with the same range first")]
    DecisionsMismatch {
        /// Decisions in the scratch.
        decisions: usize,
        /// Steps of the range asked.
        steps: usize,
    },
    /// An indicator parameter is invalid.
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
    /// The step range is empty or outside the timeline.
    #[error("no steps to replay in {start}..{end} (timeline of {len})")]
    EmptyRange {
        /// First step asked.
        start: usize,
        /// End (exclusive) asked.
        end: usize,
        /// Steps in the timeline.
        len: usize,
    },
}

/// One traded leg in dense form.
#[derive(Debug)]
struct Leg {
    symbol: Symbol,
    /// The leg's bar at each step, if it traded.
    bars: Vec<Option<Bar>>,
    /// Index of each step's bar in the leg's own bar sequence (meaningful where `bars[i]` is set).
    pos: Vec<u32>,
    /// The engine's sizing price at each step: the leg's last close so far rounded to 6 decimals,
    /// with its f64 mirror (`None` before the first bar).
    plan_price: Vec<Option<(Decimal, f64)>>,
    /// The leg's own bars, compacted: inputs of the indicators.
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

/// The cache key of one indicator series of one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Rsi(usize),
    MacdHist(usize, usize, usize),
    /// Period and the bit pattern of k.
    Bands(usize, u64),
    Sma(usize),
    Vwap(usize),
}

/// A cached series: one array, or the three Bollinger bands.
#[derive(Debug)]
enum Series {
    One(Vec<f64>),
    Bands {
        upper: Vec<f64>,
        middle: Vec<f64>,
        lower: Vec<f64>,
    },
}

/// The indicator arrays one rule set reads, for one leg (in the leg's own bar index).
#[derive(Debug, Clone)]
struct LegIndicators {
    rsi: Arc<Series>,
    rsi_fast: Arc<Series>,
    macd_hist: Arc<Series>,
    bands: Arc<Series>,
    sma_fast: Arc<Series>,
    sma_slow: Arc<Series>,
    vwap: Arc<Series>,
}

fn one(s: &Series) -> &[f64] {
    match s {
        Series::One(v) => v,
        Series::Bands { middle, .. } => middle,
    }
}

/// The Pulse market of a sweep: two legs, mood series, dividends and the indicator cache.
#[derive(Debug)]
pub struct PulseMarket {
    /// Legs in symbol order (the order the engine's target map iterates in).
    legs: [Leg; 2],
    /// Which of `legs` is the rule set's base (the other is the leveraged leg).
    base: usize,
    timeline: Vec<Timestamp>,
    vix: Option<Vec<Option<f64>>>,
    fear_greed: Option<Vec<Option<f64>>>,
    /// `(step, leg, cash per share)`, chronological: credited at the first step of each ex-date.
    dividends: Vec<(usize, usize, Decimal)>,
    /// Distinct indicator series computed so far, per leg.
    cache: [Mutex<HashMap<Key, Arc<Series>>>; 2],
    /// Indicator states per step and leg, by indicator settings (within [`STATES_BUDGET`]).
    states: Mutex<HashMap<StatesKey, Arc<LegStates>>>,
    states_bytes: AtomicUsize,
}

/// Memory the per-step indicator states may take, bytes (beyond it, states are assembled on
/// the fly from the cached series: slower, same values).
const STATES_BUDGET: usize = 256 << 20;

/// Every indicator setting of a rule set (k as bits).
type StatesKey = [u64; 10];

/// Each leg's indicator state at each step (`None`: no bar, or not warm yet).
type LegStates = [Vec<Option<TickerState>>; 2];

fn states_key(c: &IndicatorsConfig) -> StatesKey {
    [
        c.rsi_period as u64,
        c.rsi_fast_period as u64,
        c.macd_fast as u64,
        c.macd_slow as u64,
        c.macd_signal as u64,
        c.bbands_period as u64,
        c.bbands_k.to_bits(),
        c.sma_fast as u64,
        c.sma_slow as u64,
        c.vwap_window as u64,
    ]
}

impl PulseMarket {
    /// Lays out `data` for the rule sets of `cfg`'s symbols: exactly two traded symbols (the base
    /// and the leveraged leg) and any context series (the mood filters).
    pub fn new(data: &AlignedData, cfg: &PulseConfig) -> Result<Self, KernelError> {
        let syms = &cfg.symbols;
        if data.bars.len() != 2
            || !data.bars.contains_key(&syms.base)
            || !data.bars.contains_key(&syms.leveraged)
        {
            return Err(KernelError::Unsupported(format!(
                "traded symbols {:?}, the kernel needs exactly {} and {}",
                data.bars.keys().map(Symbol::as_str).collect::<Vec<_>>(),
                syms.base,
                syms.leveraged
            )));
        }
        let n = data.timeline.len();
        let mut legs = Vec::with_capacity(2);
        for (symbol, col) in &data.bars {
            let mut leg = Leg {
                symbol: symbol.clone(),
                bars: col.clone(),
                pos: vec![0; n],
                plan_price: Vec::with_capacity(n),
                high: Vec::new(),
                low: Vec::new(),
                close: Vec::new(),
                volume: Vec::new(),
            };
            let mut last: Option<(Decimal, f64)> = None;
            for (i, b) in col.iter().enumerate() {
                if let Some(b) = b {
                    last = price_to_money(b.close, 6).map(|d| (d, money_to_f64(d)));
                }
                leg.plan_price.push(last);
                if let Some(b) = b {
                    leg.pos[i] = leg.close.len() as u32;
                    leg.high.push(b.high);
                    leg.low.push(b.low);
                    leg.close.push(b.close);
                    leg.volume.push(b.volume.unwrap_or(0.0));
                }
            }
            legs.push(leg);
        }
        let [a, b]: [Leg; 2] = legs
            .try_into()
            .map_err(|_| KernelError::Unsupported("two legs expected".into()))?;
        let base = usize::from(b.symbol == syms.base);
        let symbol_index = |s: &Symbol| [&a, &b].iter().position(|l| &l.symbol == s);
        let mut dividends = Vec::new();
        for i in 0..data.timeline.len() {
            for (symbol, cash) in data.dividends_at(i, false) {
                if let Some(leg) = symbol_index(symbol) {
                    dividends.push((i, leg, *cash));
                }
            }
        }
        Ok(PulseMarket {
            legs: [a, b],
            base,
            timeline: data.timeline.clone(),
            vix: data.context.get(&syms.vix).cloned(),
            fear_greed: data.context.get(&syms.fear_greed).cloned(),
            dividends,
            cache: [Mutex::new(HashMap::new()), Mutex::new(HashMap::new())],
            states: Mutex::new(HashMap::new()),
            states_bytes: AtomicUsize::new(0),
        })
    }

    /// Steps of the timeline.
    pub fn len(&self) -> usize {
        self.timeline.len()
    }

    /// True when the timeline is empty.
    pub fn is_empty(&self) -> bool {
        self.timeline.is_empty()
    }

    /// The timeline (bar times, UTC).
    pub fn timeline(&self) -> &[Timestamp] {
        &self.timeline
    }

    /// The two legs' symbols, in the order [`KernelFill::leg`] and
    /// [`KernelSummary::positions`] use.
    pub fn symbols(&self) -> [&Symbol; 2] {
        [&self.legs[0].symbol, &self.legs[1].symbol]
    }

    /// Distinct indicator series computed so far (both legs).
    pub fn cached_series(&self) -> usize {
        self.cache
            .iter()
            .map(|c| c.lock().map(|m| m.len()).unwrap_or(0))
            .sum()
    }

    fn series(&self, leg: usize, key: Key) -> Result<Arc<Series>, KernelError> {
        if let Ok(map) = self.cache[leg].lock()
            && let Some(s) = map.get(&key)
        {
            return Ok(Arc::clone(s));
        }
        // Computed outside the lock: two threads may both compute a new key once; the first
        // stored wins and both values are identical.
        let l = &self.legs[leg];
        let series = match key {
            Key::Rsi(p) => Series::One(pulse_indicators::rsi(&l.close, p)?),
            Key::MacdHist(f, s, g) => Series::One(pulse_indicators::macd(&l.close, f, s, g)?.2),
            Key::Bands(p, k) => {
                let n = l.close.len();
                let (mut upper, mut middle, mut lower) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                pulse_indicators::volatility::bbands_bands_into(
                    &l.close,
                    p,
                    f64::from_bits(k),
                    &mut upper,
                    &mut middle,
                    &mut lower,
                )?;
                Series::Bands {
                    upper,
                    middle,
                    lower,
                }
            }
            Key::Sma(p) => Series::One(pulse_indicators::sma(&l.close, p)?),
            Key::Vwap(w) => Series::One(pulse_indicators::rolling_vwap(
                &l.high, &l.low, &l.close, &l.volume, w,
            )?),
        };
        let series = Arc::new(series);
        Ok(match self.cache[leg].lock() {
            Ok(mut map) => Arc::clone(map.entry(key).or_insert(series)),
            Err(_) => series,
        })
    }

    fn leg_indicators(
        &self,
        leg: usize,
        c: &IndicatorsConfig,
    ) -> Result<LegIndicators, KernelError> {
        Ok(LegIndicators {
            rsi: self.series(leg, Key::Rsi(c.rsi_period))?,
            rsi_fast: self.series(leg, Key::Rsi(c.rsi_fast_period))?,
            macd_hist: self.series(leg, Key::MacdHist(c.macd_fast, c.macd_slow, c.macd_signal))?,
            bands: self.series(leg, Key::Bands(c.bbands_period, c.bbands_k.to_bits()))?,
            sma_fast: self.series(leg, Key::Sma(c.sma_fast))?,
            sma_slow: self.series(leg, Key::Sma(c.sma_slow))?,
            vwap: self.series(leg, Key::Vwap(c.vwap_window))?,
        })
    }

    /// The indicator state of `leg` at its own bar `k`, as the streaming
    /// [`PulseStrategy`] would hold it: `None` until every indicator is warm.
    fn state(&self, leg: usize, ind: &LegIndicators, k: usize) -> Option<TickerState> {
        let close = self.legs[leg].close[k];
        let defined = |s: &Series| one(s)[k];
        let (rsi, rsi_fast, hist) = (
            defined(&ind.rsi),
            defined(&ind.rsi_fast),
            defined(&ind.macd_hist),
        );
        let (sma_fast, sma_slow) = (defined(&ind.sma_fast), defined(&ind.sma_slow));
        let Series::Bands {
            upper,
            middle,
            lower,
        } = &*ind.bands
        else {
            return None;
        };
        let middle = middle[k];
        if rsi.is_nan()
            || rsi_fast.is_nan()
            || hist.is_nan()
            || middle.is_nan()
            || sma_fast.is_nan()
            || sma_slow.is_nan()
        {
            return None;
        }
        let vwap = defined(&ind.vwap);
        Some(TickerState {
            close,
            rsi,
            rsi_fast,
            // Only the histogram enters the rules.
            macd: MacdOutput {
                macd: f64::NAN,
                signal: f64::NAN,
                hist,
            },
            // Only the three bands enter the rules.
            bbands: BBandsOutput {
                upper: upper[k],
                middle,
                lower: lower[k],
                percent_b: f64::NAN,
                bandwidth: f64::NAN,
            },
            sma_fast,
            sma_slow,
            vwap: if vwap.is_nan() { close } else { vwap },
        })
    }

    /// Replays rule set `cfg` from `account` over timeline steps `range` (steps before
    /// `range.start` only warm the indicators up, as [`run`](crate::run) does with
    /// `config.start`), with the engine settings, fill price and price rounding of `config`
    /// (its `start`/`end` are ignored: `range` rules). The equity curve and fills land in
    /// `scratch`; the summary is returned. Equals [`PulseMarket::decide`] then
    /// [`PulseMarket::simulate`].
    pub fn run(
        &self,
        cfg: &PulseConfig,
        account: &Portfolio,
        config: &BacktestConfig,
        range: Range<usize>,
        scratch: &mut KernelScratch,
    ) -> Result<KernelSummary, KernelError> {
        self.decide(cfg, range.clone(), scratch)?;
        self.simulate(account, config, range, scratch)
    }

    fn check_range(&self, range: &Range<usize>) -> Result<(), KernelError> {
        let n = self.timeline.len();
        if range.start >= range.end || range.end > n {
            return Err(KernelError::EmptyRange {
                start: range.start,
                end: range.end,
                len: n,
            });
        }
        Ok(())
    }

    /// The strategy's side of a run: the target weights rule set `cfg` issues over `range`, into
    /// `scratch` — the last target issued before `range.start` (if any), then one entry per step
    /// of `range` (`None` where no decision is made: a leg without a bar, or indicators still
    /// warming up). Two rule sets with the same [`KernelScratch::decision_key`] trade
    /// identically.
    pub fn decide(
        &self,
        cfg: &PulseConfig,
        range: Range<usize>,
        scratch: &mut KernelScratch,
    ) -> Result<(), KernelError> {
        self.check_range(&range)?;
        if cfg.sizing.is_active() {
            return Err(KernelError::Unsupported(
                "a [sizing] rule runs in the risk layer of the general runner".into(),
            ));
        }
        let (base, lev) = (self.base, 1 - self.base);
        scratch.decisions.clear();
        scratch.decisions.reserve(range.len());
        scratch.prior_target = None;
        let states = self.leg_states(&cfg.indicators)?;
        let ind = match states {
            Some(_) => None,
            None => Some([
                self.leg_indicators(0, &cfg.indicators)?,
                self.leg_indicators(1, &cfg.indicators)?,
            ]),
        };
        // The target rule set `cfg` issues at step `i`, if any (a pure function of the step).
        let target_at = |i: usize| -> Option<[f64; 2]> {
            let (sb, sl) = match (&states, &ind) {
                (Some(st), _) => (st[base][i]?, st[lev][i]?),
                (None, Some(ind)) => {
                    let state = |leg: usize| {
                        self.legs[leg].bars[i].as_ref().and_then(|_| {
                            self.state(leg, &ind[leg], self.legs[leg].pos[i] as usize)
                        })
                    };
                    (state(base)?, state(lev)?)
                }
                (None, None) => return None,
            };
            let mood = |s: &Option<Vec<Option<f64>>>| s.as_ref().and_then(|v| v[i]);
            let d = PulseStrategy::decide(cfg, &sb, &sl, mood(&self.vix), mood(&self.fear_greed));
            let mut t = [0.0; 2];
            t[base] = d.tsla;
            t[lev] = d.tsll;
            Some(t)
        };
        // Only the latest target before the range matters to it.
        scratch.prior_target = (0..range.start).rev().find_map(target_at);
        scratch.decisions.extend(range.map(target_at));
        Ok(())
    }

    /// Both legs' indicator states at every step for indicator settings `c`, from the cache or
    /// computed once; `None` when the memory budget is spent (callers assemble states on the fly).
    fn leg_states(&self, c: &IndicatorsConfig) -> Result<Option<Arc<LegStates>>, KernelError> {
        let key = states_key(c);
        if let Ok(map) = self.states.lock()
            && let Some(s) = map.get(&key)
        {
            return Ok(Some(Arc::clone(s)));
        }
        let n = self.timeline.len();
        let bytes = 2 * n * std::mem::size_of::<Option<TickerState>>();
        if self.states_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes > STATES_BUDGET {
            self.states_bytes.fetch_sub(bytes, Ordering::Relaxed);
            return Ok(None);
        }
        let ind = [self.leg_indicators(0, c)?, self.leg_indicators(1, c)?];
        let states: LegStates = [0, 1].map(|leg| {
            (0..n)
                .map(|i| {
                    self.legs[leg].bars[i]
                        .as_ref()
                        .and_then(|_| self.state(leg, &ind[leg], self.legs[leg].pos[i] as usize))
                })
                .collect()
        });
        let states = Arc::new(states);
        Ok(Some(match self.states.lock() {
            Ok(mut map) => Arc::clone(map.entry(key).or_insert(states)),
            Err(_) => states,
        }))
    }

    /// The account's side of a run: replays the decisions in `scratch` (from
    /// [`PulseMarket::decide`] over the same `range`) from `account`, filling the equity curve and
    /// fills of `scratch`.
    pub fn simulate(
        &self,
        account: &Portfolio,
        config: &BacktestConfig,
        range: Range<usize>,
        scratch: &mut KernelScratch,
    ) -> Result<KernelSummary, KernelError> {
        self.check_range(&range)?;
        if scratch.decisions.len() != range.len() {
            return Err(KernelError::DecisionsMismatch {
                decisions: scratch.decisions.len(),
                steps: range.len(),
            });
        }
        if config.engine.risk.is_some() {
            return Err(KernelError::Unsupported(
                "the risk layer runs in the general runner".into(),
            ));
        }
        let mut held = [Decimal::ZERO; 2];
        for (symbol, q) in &account.positions {
            match self.legs.iter().position(|l| &l.symbol == symbol) {
                Some(j) => held[j] = *q,
                None => {
                    return Err(KernelError::Unsupported(format!(
                        "the starting account holds {symbol}, which is not a leg"
                    )));
                }
            }
        }
        let broker = config.sim_broker();
        scratch.clear(range.len());
        let mut cash = account.cash;
        let mut cash_f = money_to_f64(cash);
        let mut held_f = [money_to_f64(held[0]), money_to_f64(held[1])];
        // The last close of each leg before the range (what the engine's price map holds).
        let mut last_close: [Option<f64>; 2] = [0, 1].map(|j| {
            self.legs[j].bars[..range.start]
                .iter()
                .rev()
                .find_map(|b| b.as_ref().map(|b| b.close))
        });
        let mut target = scratch.prior_target;
        let mut summary = KernelSummary::default();
        let mut next_dividend = self.dividends.partition_point(|d| d.0 < range.start);
        let mut pending = std::mem::take(&mut scratch.pending);
        for i in range.clone() {
            while let Some(&(step, leg, per_share)) = self.dividends.get(next_dividend) {
                if step > i {
                    break;
                }
                next_dividend += 1;
                let credit = held[leg] * per_share;
                cash += credit;
                summary.dividends_received += credit;
                cash_f = money_to_f64(cash);
            }
            // Fill what the previous close decided: sells first, then buys (the planner
            // already lists them in that order), each against the cash left.
            let mut filled = false;
            for &SizedOrder {
                asset: leg,
                side,
                quantity,
                ..
            } in &pending
            {
                let Some(bar) = &self.legs[leg].bars[i] else {
                    continue;
                };
                let terms = match broker.fill_terms(side, quantity, bar, held[leg], cash) {
                    Ok(t) => t,
                    Err(Unfillable::NoPrice) => continue,
                };
                if terms.quantity <= Decimal::ZERO {
                    continue;
                }
                let notional = terms.notional;
                match side {
                    Side::Buy => {
                        cash -= notional + terms.fee;
                        held[leg] += terms.quantity;
                    }
                    Side::Sell => {
                        cash += notional - terms.fee;
                        held[leg] -= terms.quantity;
                    }
                }
                summary.fees_paid += terms.fee;
                summary.traded_notional += notional;
                scratch.fills.push(KernelFill {
                    step: i,
                    leg,
                    side,
                    quantity: terms.quantity,
                    price: terms.price,
                    fee: terms.fee,
                });
                filled = true;
            }
            if filled {
                cash_f = money_to_f64(cash);
                held_f = [money_to_f64(held[0]), money_to_f64(held[1])];
            }
            pending.clear();
            for (j, close) in last_close.iter_mut().enumerate() {
                if let Some(b) = &self.legs[j].bars[i] {
                    *close = Some(b.close);
                }
            }
            let decision = scratch.decisions[i - range.start];
            if decision.is_some() {
                target = decision;
            }
            // -0.0: the identity `Iterator::sum` starts from, so a flat book gives the same bits
            // as the engine's `positions_value`.
            let mut positions_value = -0.0;
            for j in 0..2 {
                if held_f[j] != 0.0 {
                    positions_value += held_f[j] * last_close[j].unwrap_or(0.0);
                }
            }
            // Equity at this close: what the plan sizes against and what is recorded.
            let equity = cash_f + positions_value;
            if decision.is_some() || i == range.start {
                self.plan(
                    i,
                    target.as_ref(),
                    &held,
                    &held_f,
                    cash,
                    equity,
                    &last_close,
                    config,
                    &mut pending,
                );
            }
            scratch.equity.push(equity);
            scratch.gross_exposure.push(if equity > 0.0 {
                positions_value / equity
            } else {
                0.0
            });
        }
        pending.clear();
        scratch.pending = pending;
        summary.final_cash = cash;
        summary.positions = held;
        Ok(summary)
    }

    /// The engine's `plan`: nothing without a target or a position, nothing inside the drift
    /// band, else [`plan_orders_dense`] at the last closes rounded to 6 decimals.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        step: usize,
        target: Option<&[f64; 2]>,
        held: &[Decimal; 2],
        held_f: &[f64; 2],
        cash: Decimal,
        equity: f64,
        last_close: &[Option<f64>; 2],
        config: &BacktestConfig,
        out: &mut Vec<SizedOrder>,
    ) {
        let holds = |j: usize| !held[j].is_zero();
        if target.is_none() && !holds(0) && !holds(1) {
            return;
        }
        // The engine's drift-band check on the f64 mirrors.
        let targets = (0..2).filter_map(|j| {
            let (t, p) = (target?, last_close[j]?);
            Some((t[j], held_f[j] * p / equity))
        });
        let untargeted = target.is_none() && (0..2).any(|j| holds(j) && last_close[j].is_some());
        if within_drift_band(equity, config.engine.sizing.drift_band, targets, untargeted) {
            return;
        }
        let t = target.copied().unwrap_or([0.0; 2]);
        // The engine lists targeted assets first, then held ones without a target; with both
        // legs targeted (or none) that is symbol order either way.
        let mut assets = [PlanAsset::new(0.0, Decimal::ZERO, None); 2];
        let mut legs = [0usize; 2];
        let mut len = 0;
        for j in 0..2 {
            if target.is_some() || holds(j) {
                // The engine's plan prices: the last close at 6 decimals (and its f64 mirror).
                let (price, price_f64) = match self.legs[j].plan_price[step] {
                    Some((d, f)) => (Some(d), f),
                    None => (None, f64::NAN),
                };
                assets[len] = PlanAsset {
                    target: t[j],
                    held: held[j],
                    held_f64: held_f[j],
                    price,
                    price_f64,
                };
                legs[len] = j;
                len += 1;
            }
        }
        let start = out.len();
        plan_orders_dense(
            cash,
            &assets[..len],
            &config.engine.sizing,
            &config.engine.costs,
            out,
        );
        // Positions in `assets` map back to legs.
        for o in &mut out[start..] {
            o.asset = legs[o.asset];
        }
    }
}

/// One fill of a kernel run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelFill {
    /// Timeline step it filled at.
    pub step: usize,
    /// Leg index (see [`PulseMarket::symbols`]).
    pub leg: usize,
    /// Buy or sell.
    pub side: Side,
    /// Shares.
    pub quantity: Decimal,
    /// Execution price, account currency.
    pub price: Decimal,
    /// Commission, account currency.
    pub fee: Decimal,
}

/// Reusable buffers of kernel runs (one per worker thread): no allocation per trial once warm.
#[derive(Debug, Default)]
pub struct KernelScratch {
    /// Equity at each recorded step's close, account currency.
    pub equity: Vec<f64>,
    /// Positions value / equity at each recorded step (fraction).
    pub gross_exposure: Vec<f64>,
    /// Every fill, in time order.
    pub fills: Vec<KernelFill>,
    /// Target weights decided at each step of the range (per leg), `None` where no decision.
    pub decisions: Vec<Option<[f64; 2]>>,
    /// The last target decided before the range.
    pub prior_target: Option<[f64; 2]>,
    pending: Vec<SizedOrder>,
}

impl KernelScratch {
    /// The decisions as an exact, compact key: the prior target, the number of steps, then only
    /// the steps where the decision changes (step, then `[tag, bits, bits]`; tag 0 = no
    /// decision). Rule sets with equal keys over the same range and market trade identically,
    /// so a search can reuse one's result for the other; equality is exact (no hashing
    /// argument), and the key is a few hundred words since targets change rarely.
    pub fn decision_key(&self, key: &mut Vec<u64>) {
        let words = |t: &Option<[f64; 2]>| match t {
            Some(t) => [1, t[0].to_bits(), t[1].to_bits()],
            None => [0, 0, 0],
        };
        key.clear();
        key.extend(words(&self.prior_target));
        key.push(self.decisions.len() as u64);
        let mut previous: Option<&Option<[f64; 2]>> = None;
        for (i, d) in self.decisions.iter().enumerate() {
            let same = previous.is_some_and(|p| words(p) == words(d));
            if !same {
                key.push(i as u64);
                key.extend(words(d));
            }
            previous = Some(d);
        }
    }

    fn clear(&mut self, steps: usize) {
        self.equity.clear();
        self.equity.reserve(steps);
        self.gross_exposure.clear();
        self.gross_exposure.reserve(steps);
        self.fills.clear();
        self.pending.clear();
    }
}

/// The exact account figures of a kernel run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelSummary {
    /// Cash at the end, account currency.
    pub final_cash: Decimal,
    /// Shares held at the end per leg (see [`PulseMarket::symbols`]).
    pub positions: [Decimal; 2],
    /// Sum of fees, account currency.
    pub fees_paid: Decimal,
    /// Sum of |quantity × price| of all fills, account currency.
    pub traded_notional: Decimal,
    /// Dividend cash credited, account currency.
    pub dividends_received: Decimal,
}
