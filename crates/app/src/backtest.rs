//! The backtest and simulate use cases: Pulse and its three benchmarks replayed through the one
//! engine, analysed, turned into a report model and recorded as a run.

use crate::error::AppError;
use crate::market::{Market, instrument_of, load_market};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use pulse_analytics::{Analysis, FillRecord, Metrics, PerformanceInput, RiskFree, SearchMetrics};
use pulse_backtest::runner::StepReport;
use pulse_backtest::{BacktestConfig, BacktestResult, FillPrice};
use pulse_core::money::money_to_f64;
use pulse_core::ports::{AlertRecord, Clock, RunRecord, Store};
use pulse_core::{Currency, Periodicity, Portfolio, Side, Symbol, Timeframe};
use pulse_engine::{CostModel, EngineConfig, SizingConfig};
use pulse_report::{
    AlertRow, BacktestReport, EquitySeries, MetricCell, MetricsRow, PriceSeries, RiskEventRow,
    RiskSection, SampleLabel, TradeMarker, TradeRow, WeightsSeries,
};
use pulse_risk::RiskConfig;
use pulse_strategy::Strategy;
use pulse_strategy::fixed::{FixedWeights, Rebalance};
use pulse_strategy::pulse::{DEFAULT_TOML, PulseConfig, PulseStrategy};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The largest amount of money a request may carry (cash, fees, trade sizes): 10¹⁵ in account
/// currency. Far above any account, far below where exact decimal arithmetic would overflow
/// (`Decimal` holds 28 digits; a price times a quantity must fit).
pub const MAX_MONEY: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// Where a run's strategy rule set comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrategySource {
    /// The shipped Pulse rules (`pulse strategy show pulse`).
    Default,
    /// A TOML file.
    File(PathBuf),
    /// TOML text (a form field, a sweep's best point); `origin` names it in errors.
    Text {
        /// Where the text came from, for error messages.
        origin: String,
        /// The TOML.
        toml: String,
    },
}

/// Where a run's risk-layer settings come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RiskSource {
    /// A TOML file (`--risk-config FILE`).
    File(PathBuf),
    /// Settings already parsed (a form, a test).
    Config(RiskConfig),
    /// The team's stored settings (`pulse risk set`, the dashboard's risk page; `--risk`), the
    /// defaults when none are stored. They are read from the store by [`crate::risk::resolve`]
    /// (which [`prepare`] calls).
    Stored,
}

impl RiskSource {
    /// The validated settings of a file or a configuration; errors name the file. The stored
    /// settings need the store: [`crate::risk::resolve`] reads them (this refuses `Stored`).
    pub fn load(&self) -> Result<RiskConfig, AppError> {
        match self {
            RiskSource::Stored => Err(AppError::Usage(
                "the stored risk settings are read from the store (pulse_app::risk::resolve)"
                    .into(),
            )),
            RiskSource::Config(c) => {
                c.validate().map_err(|source| AppError::Risk {
                    origin: "risk settings".into(),
                    source,
                })?;
                Ok(c.clone())
            }
            RiskSource::File(path) => {
                let text = crate::data::read_text_file(path)?;
                RiskConfig::from_toml(&text).map_err(|source| AppError::Risk {
                    origin: path.display().to_string(),
                    source,
                })
            }
        }
    }
}

/// The settings of a backtest or simulation, typed. Build one, then [`RunSettings::validate`]
/// (done by every use case) checks every range once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The Pulse rule set.
    pub strategy: StrategySource,
    /// Bar size traded on (1d, or 1m when both legs have minute bars).
    pub timeframe: Timeframe,
    /// Starting cash, account currency.
    pub cash: Decimal,
    /// A trade history (`date,symbol,side,quantity,price,fee`) whose positions and cash the run
    /// starts from; the run starts after its last trade.
    pub trades: Option<PathBuf>,
    /// Commission, minimum fee and slippage.
    pub costs: CostModel,
    /// Which price of the next bar orders fill at.
    pub fill_price: FillPrice,
    /// Trade fractional shares (6 decimals) instead of whole shares.
    pub fractional: bool,
    /// A position within this distance of its target weight is left alone (fraction of equity).
    pub drift_band: f64,
    /// Trades smaller than this notional are skipped (account currency).
    pub min_trade: Decimal,
    /// A target weight moving by more than this raises an alert (fraction of equity).
    pub alert_threshold: f64,
    /// Annual risk-free rate (fraction) for Sharpe/Sortino; `None`: the stored ^IRX yield, else 0.
    pub rf: Option<f64>,
    /// The risk layer between the strategy and sizing (`None`: off).
    pub risk: Option<RiskSource>,
}

impl Default for RunSettings {
    fn default() -> Self {
        let sizing = SizingConfig::default();
        RunSettings {
            strategy: StrategySource::Default,
            timeframe: Timeframe::D1,
            cash: Decimal::from(100_000),
            trades: None,
            costs: CostModel::default(),
            fill_price: FillPrice::NextOpen,
            fractional: false,
            drift_band: sizing.drift_band,
            min_trade: sizing.min_trade_value,
            alert_threshold: EngineConfig::default().alert_threshold,
            rf: None,
            risk: None,
        }
    }
}

/// Checks an amount of money entering a request: within `[0, MAX_MONEY]` (names `setting`).
pub fn validate_money(setting: &'static str, v: Decimal) -> Result<(), AppError> {
    if v < Decimal::ZERO || v > MAX_MONEY {
        return Err(AppError::setting(
            setting,
            format!("must be between 0 and {MAX_MONEY} (got {v})"),
        ));
    }
    Ok(())
}

fn fraction_in(setting: &'static str, v: f64, hi_inclusive: bool) -> Result<(), AppError> {
    let ok = v.is_finite() && v >= 0.0 && if hi_inclusive { v <= 1.0 } else { v < 1.0 };
    if !ok {
        let range = if hi_inclusive { "[0, 1]" } else { "[0, 1)" };
        return Err(AppError::setting(
            setting,
            format!("must be a fraction in {range} (got {v})"),
        ));
    }
    Ok(())
}

/// Checks a commission rate entering a request: a fraction of notional in `[0, 1)`.
pub fn validate_commission(rate: Decimal) -> Result<(), AppError> {
    validate_costs(&CostModel::commission_only(rate))
}

/// Checks a cost model entering a request ([`CostModel::validate`]'s ranges, and a minimum fee
/// within the money range); the error names the request's setting (`commission`, `min_fee`,
/// `slippage_bps`).
pub fn validate_costs(costs: &CostModel) -> Result<(), AppError> {
    costs.validate().map_err(|e| {
        let setting = match e.field {
            "commission_rate" => "commission",
            other => other,
        };
        AppError::setting(setting, e.reason)
    })?;
    validate_money("min_fee", costs.min_fee)
}

impl RunSettings {
    /// Checks every setting's range; the error names the setting.
    pub fn validate(&self) -> Result<(), AppError> {
        validate_costs(&self.costs)?;
        validate_money("cash", self.cash)?;
        if self.cash.is_zero() && self.trades.is_none() {
            return Err(AppError::setting(
                "cash",
                "must be positive: an account of 0 has no returns to measure",
            ));
        }
        validate_money("min_trade", self.min_trade)?;
        fraction_in("drift_band", self.drift_band, false)?;
        fraction_in("alert_threshold", self.alert_threshold, true)?;
        if let Some(rf) = self.rf
            && !(rf.is_finite() && rf > -1.0 && rf < 1.0)
        {
            return Err(AppError::setting(
                "rf",
                format!("must be an annual fraction in (-1, 1) (got {rf})"),
            ));
        }
        Ok(())
    }

    /// The rule set and its TOML text.
    pub fn load_strategy(&self) -> Result<(PulseConfig, String), AppError> {
        let (origin, text) = match &self.strategy {
            StrategySource::Default => ("default rule set".to_string(), DEFAULT_TOML.to_string()),
            StrategySource::File(path) => (
                path.display().to_string(),
                crate::data::read_text_file(path)?,
            ),
            StrategySource::Text { origin, toml } => (origin.clone(), toml.clone()),
        };
        let cfg = PulseConfig::from_toml(&text)
            .map_err(|source| AppError::Strategy { origin, source })?;
        Ok((cfg, text))
    }

    /// The engine, sizing and simulated-broker settings of the replay (no window yet).
    pub fn backtest_config(&self, price_dp: u32) -> BacktestConfig {
        BacktestConfig {
            engine: EngineConfig {
                sizing: SizingConfig {
                    whole_shares: !self.fractional,
                    fractional_dp: 6,
                    drift_band: self.drift_band,
                    min_trade_value: self.min_trade,
                    credit: Decimal::ZERO,
                },
                costs: self.costs.clone(),
                alert_threshold: self.alert_threshold,
                allow_negative_cash: false,
                risk: None,
                sectors: BTreeMap::new(),
                client_id_prefix: None,
                limit_offset_bps: None,
            },
            fill_price: self.fill_price,
            price_dp,
            start: None,
            end: None,
        }
    }
}

/// The risk-free rate a run's Sharpe and Sortino use.
#[derive(Debug, Clone, PartialEq)]
pub enum RiskFreeChoice {
    /// No rate (no ^IRX series stored and none given).
    Zero,
    /// A constant annual rate (fraction).
    Constant(f64),
    /// The stored ^IRX 13-week T-bill yield (percent) by date.
    Irx(Vec<(Timestamp, f64)>),
}

impl RiskFreeChoice {
    /// One sentence for reports: which rate was used and where it came from.
    pub fn describe(&self) -> String {
        match self {
            RiskFreeChoice::Zero => {
                "risk-free rate 0 (no ^IRX series in the store; pass --rf to set one)".into()
            }
            RiskFreeChoice::Constant(x) => format!("risk-free rate {:.2}% p.a. (--rf)", x * 100.0),
            RiskFreeChoice::Irx(_) => {
                "risk-free rate from the stored ^IRX 13-week T-bill yield".into()
            }
        }
    }
}

/// Everything shared by backtest, simulate and sweep: the run's inputs, resolved and validated.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The settings the run was prepared from (recorded with it).
    pub settings: RunSettings,
    /// The rule set.
    pub cfg: PulseConfig,
    /// Its TOML text (recorded with the run).
    pub cfg_text: String,
    /// Bar size traded on.
    pub timeframe: Timeframe,
    /// How many bars make a year for the analysis.
    pub periodicity: Periodicity,
    /// Account currency (the base leg's).
    pub currency: Currency,
    /// The data.
    pub market: Market,
    /// Replay settings; `start` is the first evaluable bar (after warm-up and any history).
    pub config: BacktestConfig,
    /// The starting account.
    pub account: Portfolio,
    /// One phrase describing the starting account ("100000 cash", "12 trades from t.csv").
    pub account_note: String,
    /// The risk-free rate of the analysis.
    pub rf: RiskFreeChoice,
    /// Index of the first evaluable bar on the market's timeline.
    pub first_eval: usize,
    /// The first instant after the starting trade history, when it (not the indicators'
    /// warm-up) decides the first evaluable bar.
    pub history_end: Option<Timestamp>,
}

/// The starting account, the first instant the run may start at (after the history) and its
/// description.
fn starting_account(
    settings: &RunSettings,
) -> Result<(Portfolio, Option<Timestamp>, String), AppError> {
    let cash = settings.cash;
    match &settings.trades {
        None => Ok((Portfolio::with_cash(cash), None, format!("{cash} cash"))),
        Some(path) => {
            let text = crate::data::read_text_file(path)?;
            let r = pulse_backtest::history::reconstruct_str(
                &path.display().to_string(),
                &text,
                cash,
                false,
            )?;
            let after = r
                .last_date
                .map(|d| -> Result<Timestamp, jiff::Error> {
                    Ok(d.tomorrow()?.to_zoned(TimeZone::UTC)?.timestamp())
                })
                .transpose()
                .map_err(|source| AppError::Time {
                    what: format!("the day after the last trade of {}", path.display()),
                    source,
                })?;
            Ok((
                r.portfolio,
                after,
                format!("{} trades from {}", r.trades, path.display()),
            ))
        }
    }
}

/// Resolves a run: validates the settings, loads the rule set and the market, builds the
/// starting account and finds the first evaluable bar.
pub async fn prepare<S: Store>(store: &S, settings: &RunSettings) -> Result<Prepared, AppError> {
    settings.validate()?;
    let (cfg, cfg_text) = settings.load_strategy()?;
    let s = &cfg.symbols;
    let warmup = PulseStrategy::try_new(cfg.clone())
        .map_err(|source| AppError::Strategy {
            origin: "rule set".into(),
            source,
        })?
        .warmup_bars();
    let universe = Universe {
        traded: vec![s.base.clone(), s.leveraged.clone()],
        context: vec![s.vix.clone(), s.fear_greed.clone()],
        currency: instrument_of(store, &s.base).await?.currency,
        warmup,
    };
    prepare_universe(store, settings, cfg, cfg_text, universe).await
}

/// What a strategy trades and reads, for [`prepare_universe`].
#[derive(Debug, Clone)]
pub(crate) struct Universe {
    /// The traded symbols (the account may hold only these).
    pub traded: Vec<Symbol>,
    /// Context series read alongside (mood, volatility), never traded.
    pub context: Vec<Symbol>,
    /// The account currency.
    pub currency: Currency,
    /// Bars every traded symbol needs before the first decision.
    pub warmup: usize,
}

/// [`prepare`] for any strategy's universe: the starting account, the market of the traded and
/// context symbols, the replay settings with the risk layer, the first evaluable bar (after
/// `warmup` common bars and any trade history) and the risk-free rate. `cfg` is kept for Pulse
/// runs (the default rule set, unused, for another strategy).
pub(crate) async fn prepare_universe<S: Store>(
    store: &S,
    settings: &RunSettings,
    cfg: PulseConfig,
    cfg_text: String,
    universe: Universe,
) -> Result<Prepared, AppError> {
    settings.validate()?;
    // The request's own files before the data: a bad trades file is reported as such.
    let (account, after, account_note) = starting_account(settings)?;
    let timeframe = settings.timeframe;
    let Universe {
        traded,
        context,
        currency,
        warmup,
    } = universe;
    let market = load_market(store, &traded, &context, timeframe).await?;
    let price_dp = match currency {
        Currency::Usdt => 8,
        _ => 2,
    };
    let mut config = settings.backtest_config(price_dp);
    if let Some(risk) = &settings.risk {
        let risk = crate::risk::resolve(store, risk).await?;
        // Cash may go negative only when the risk layer allows margin.
        config.engine.allow_negative_cash = risk.leverage.margin;
        config.engine.risk = Some(risk);
        // The sector cap groups by the stored sectors (`pulse data import-sectors`); a traded
        // symbol without one is its own sector.
        config.engine.sectors = store
            .sectors()
            .await
            .map_err(AppError::port)?
            .into_iter()
            .filter(|row| traded.contains(&row.symbol))
            .map(|row| (row.symbol, row.sector))
            .collect();
    }
    // Holdings the run cannot price would silently count as 0: refuse them.
    let unpriced: Vec<String> = account
        .positions
        .iter()
        .filter(|(sym, q)| !q.is_zero() && !traded.contains(sym))
        .map(|(sym, _)| sym.to_string())
        .collect();
    if !unpriced.is_empty() {
        return Err(AppError::Data(format!(
            "the trade history leaves positions in {} that the strategy does not trade ({}): they would be valued at 0; close them in the history or trade them",
            unpriced.join(", "),
            traded
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    let timeline = &market.data.timeline;
    let Some(&last_bar) = timeline.last() else {
        return Err(AppError::Data("no bars to replay".into()));
    };
    // First step where every traded symbol has `warmup` bars behind it.
    let first_common = market.data.first_common_index();
    let mut first_eval = (first_common + warmup).min(timeline.len().saturating_sub(1));
    let mut history_end = None;
    if let Some(after) = after {
        if after > last_bar {
            return Err(AppError::Data(format!(
                "the trade history ends after the last stored bar ({}): there is nothing left to replay",
                date_of(last_bar, timeframe)
            )));
        }
        let after_history = market.data.index_at_or_after(after);
        if after_history > first_eval {
            first_eval = after_history;
            history_end = Some(after);
        }
    }
    config.start = timeline.get(first_eval).copied();
    let rf = match (settings.rf, market.irx.is_empty()) {
        (Some(x), _) => RiskFreeChoice::Constant(x),
        (None, false) => RiskFreeChoice::Irx(market.irx.clone()),
        (None, true) => RiskFreeChoice::Zero,
    };
    let periodicity = Periodicity::of_bars(timeframe, market.exchange);
    Ok(Prepared {
        settings: settings.clone(),
        cfg,
        cfg_text,
        timeframe,
        periodicity,
        currency,
        market,
        config,
        account,
        account_note,
        rf,
        first_eval,
        history_end,
    })
}

impl Prepared {
    /// The first bar a run may evaluate (after warm-up and any trade history).
    pub fn first_evaluable(&self) -> Option<Timestamp> {
        self.market.data.timeline.get(self.first_eval).copied()
    }

    /// Restricts the evaluation to `[from, to]` (either bound optional). `from` before the first
    /// evaluable bar is refused: the indicators would not have warmed up, or the starting trade
    /// history would not have ended yet (the message says which).
    pub fn set_window(
        &mut self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<(), AppError> {
        if let Some(from) = from {
            let i = self.market.data.index_at_or_after(from);
            if i < self.first_eval {
                let first = self
                    .first_evaluable()
                    .map(|t| date_of(t, self.timeframe))
                    .unwrap_or_default();
                let from = date_of(from, self.timeframe);
                let why = match self.history_end {
                    Some(_) => format!(
                        "{from} is too early: the run starts from the account the trade history leaves, at the first bar after its last trade ({first})"
                    ),
                    None => format!(
                        "{from} is too early: the indicators need history until {first} (first evaluable bar)"
                    ),
                };
                return Err(AppError::setting("from", why));
            }
            self.config.start = Some(from);
        }
        if let Some(to) = to {
            if let Some(from) = self.config.start.filter(|from| to < *from) {
                return Err(AppError::setting(
                    "to",
                    format!(
                        "{} is before the start {}",
                        date_of(to, self.timeframe),
                        date_of(from, self.timeframe)
                    ),
                ));
            }
            self.config.end = Some(to);
        }
        Ok(())
    }
}

/// The four strategies of every run: Pulse and the three benchmarks.
fn strategies(cfg: &PulseConfig) -> Result<Vec<Box<dyn Strategy>>, AppError> {
    let (a, b) = (cfg.symbols.base.clone(), cfg.symbols.leveraged.clone());
    let pulse = PulseStrategy::try_new(cfg.clone()).map_err(|source| AppError::Strategy {
        origin: "rule set".into(),
        source,
    })?;
    Ok(vec![
        Box::new(pulse),
        Box::new(FixedWeights::new(
            format!("Buy & hold {a}"),
            BTreeMap::from([(a.clone(), 1.0)]),
            Rebalance::Never,
        )),
        Box::new(FixedWeights::new(
            format!("Buy & hold {b}"),
            BTreeMap::from([(b.clone(), 1.0)]),
            Rebalance::Never,
        )),
        Box::new(FixedWeights::new(
            format!("50/50 {a}/{b} monthly"),
            BTreeMap::from([(a, 0.5), (b, 0.5)]),
            Rebalance::Monthly,
        )),
    ])
}

/// Every fill of a replay as the analytics' record.
pub fn fill_records(r: &BacktestResult) -> Vec<FillRecord> {
    r.fills
        .iter()
        .map(|f| fill_record(f.ts, &f.symbol, f.side, f.quantity, f.price, f.fee))
        .collect()
}

/// One booked fill as the analytics' record (f64 amounts for trade statistics).
pub fn fill_record(
    ts: Timestamp,
    symbol: &Symbol,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
) -> FillRecord {
    FillRecord {
        ts,
        symbol: symbol.to_string(),
        side,
        quantity: money_to_f64(quantity),
        price: money_to_f64(price),
        fee: money_to_f64(fee),
    }
}

/// The outcome of one strategy in a run.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// What the replay produced.
    pub result: BacktestResult,
    /// Its metrics and series.
    pub analysis: Analysis,
}

/// Analyses one replay under the run's periodicity and risk-free rate.
pub fn analyse(
    r: BacktestResult,
    periodicity: Periodicity,
    rf: &RiskFreeChoice,
) -> Result<Evaluated, AppError> {
    let fills = fill_records(&r);
    let analysis = analysis_of(
        &r.strategy,
        &SeriesRef {
            timestamps: &r.timestamps,
            equity: &r.equity,
            gross_exposure: &r.gross_exposure,
            fills: &fills,
        },
        periodicity,
        rf,
    )?;
    Ok(Evaluated {
        result: r,
        analysis,
    })
}

/// The series a run's metrics are computed from.
#[derive(Debug, Clone, Copy)]
pub struct SeriesRef<'a> {
    /// Recorded steps.
    pub timestamps: &'a [Timestamp],
    /// Equity at each step, account currency.
    pub equity: &'a [f64],
    /// Gross exposure at each step, fraction.
    pub gross_exposure: &'a [f64],
    /// Every fill.
    pub fills: &'a [FillRecord],
}

/// The risk-free rate of a run's analysis: the series for `timestamps` is built into `slot`.
fn risk_free_for<'a>(
    timestamps: &[Timestamp],
    periodicity: Periodicity,
    rf: &RiskFreeChoice,
    slot: &'a mut Option<Vec<f64>>,
) -> RiskFree<'a> {
    match rf {
        RiskFreeChoice::Constant(x) => RiskFree::AnnualConstant(*x),
        RiskFreeChoice::Zero => RiskFree::Zero,
        RiskFreeChoice::Irx(irx) => {
            *slot = pulse_analytics::rf_series_from_yield_pct(timestamps, irx, periodicity);
            match slot {
                Some(v) => RiskFree::PerPeriod(v),
                None => RiskFree::Zero,
            }
        }
    }
}

/// Metrics of one run (`name` labels errors) under the run's risk-free choice.
pub fn analysis_of(
    name: &str,
    s: &SeriesRef<'_>,
    periodicity: Periodicity,
    rf: &RiskFreeChoice,
) -> Result<Analysis, AppError> {
    let mut slot = None;
    Analysis::compute(&PerformanceInput {
        timestamps: s.timestamps,
        equity: s.equity,
        periodicity,
        risk_free: risk_free_for(s.timestamps, periodicity, rf, &mut slot),
        fills: s.fills,
        gross_exposure: Some(s.gross_exposure),
    })
    .map_err(|source| AppError::Analytics {
        name: name.to_string(),
        source,
    })
}

/// The figures a sweep ranks trials by (equal to [`analysis_of`]'s), with the per-period returns
/// left in `returns`.
pub fn search_metrics(
    s: &SeriesRef<'_>,
    p: &Prepared,
    with_trades: bool,
    returns: &mut Vec<f64>,
) -> Result<SearchMetrics, AppError> {
    let mut slot = None;
    SearchMetrics::compute(
        &PerformanceInput {
            timestamps: s.timestamps,
            equity: s.equity,
            periodicity: p.periodicity,
            risk_free: risk_free_for(s.timestamps, p.periodicity, &p.rf, &mut slot),
            fills: s.fills,
            gross_exposure: Some(s.gross_exposure),
        },
        with_trades,
        returns,
    )
    .map_err(|source| AppError::Analytics {
        name: "Pulse".into(),
        source,
    })
}

/// A timestamp as the reports and tables show it: the date for daily bars, RFC 3339 otherwise.
pub fn date_of(ts: Timestamp, timeframe: Timeframe) -> String {
    if timeframe == Timeframe::D1 {
        ts.to_zoned(TimeZone::UTC).date().to_string()
    } else {
        ts.to_string()
    }
}

/// Replays Pulse and its three benchmarks; `on_pulse_step` sees every recorded step of Pulse.
pub fn run_all(
    p: &Prepared,
    mut on_pulse_step: impl FnMut(&StepReport<'_>),
) -> Result<Vec<Evaluated>, AppError> {
    let mut out = Vec::new();
    // The benchmarks are references: they run as themselves, without the risk layer.
    let mut benchmark_config = p.config.clone();
    benchmark_config.engine.risk = None;
    benchmark_config.engine.allow_negative_cash = false;
    for (i, strategy) in strategies(&p.cfg)?.into_iter().enumerate() {
        let r = if i == 0 {
            pulse_backtest::run(
                &p.market.data,
                strategy,
                p.account.clone(),
                &p.config,
                &mut on_pulse_step,
            )?
        } else {
            pulse_backtest::run(
                &p.market.data,
                strategy,
                p.account.clone(),
                &benchmark_config,
                |_| {},
            )?
        };
        out.push(analyse(r, p.periodicity, &p.rf)?);
    }
    Ok(out)
}

/// One report equity curve per evaluated run, dated at `timeframe`.
pub fn equity_series(runs: &[Evaluated], timeframe: Timeframe) -> Vec<EquitySeries> {
    runs.iter()
        .map(|e| EquitySeries {
            name: e.result.strategy.clone(),
            dates: e
                .result
                .timestamps
                .iter()
                .map(|t| date_of(*t, timeframe))
                .collect(),
            equity: e.result.equity.clone(),
        })
        .collect()
}

/// The report's metrics table row of one evaluated run.
pub fn metrics_row(e: &Evaluated) -> MetricsRow {
    MetricsRow {
        name: e.result.strategy.clone(),
        values: metric_cells(e),
    }
}

fn metric_cells(e: &Evaluated) -> Vec<MetricCell> {
    metric_cells_of(&e.analysis.metrics, e.result.fees_paid)
}

/// The report's metric cells of a run's metrics and the fees it paid (account currency).
pub fn metric_cells_of(m: &Metrics, fees: Decimal) -> Vec<MetricCell> {
    let dd_period = match (m.max_drawdown_peak, m.max_drawdown_trough) {
        (Some(a), Some(b)) => {
            let d = |t: Timestamp| t.to_zoned(TimeZone::UTC).date().to_string();
            let rec = m
                .max_drawdown_recovery
                .map(|t| format!("recovered {}", d(t)));
            format!(
                "{} → {}, {}",
                d(a),
                d(b),
                rec.unwrap_or_else(|| "not recovered".into())
            )
        }
        _ => "—".into(),
    };
    vec![
        MetricCell::number("total_return", m.total_return),
        MetricCell::number("cagr", m.cagr),
        MetricCell::number("volatility", m.volatility),
        MetricCell::number("sharpe", m.sharpe),
        MetricCell::number("sortino", m.sortino),
        MetricCell::number("max_drawdown", m.max_drawdown),
        MetricCell::text("max_drawdown_period", &dd_period),
        MetricCell::number("calmar", m.calmar),
        MetricCell::number("win_rate", m.win_rate),
        MetricCell::number("profit_factor", m.profit_factor),
        MetricCell::number("expectancy", m.expectancy),
        MetricCell::number("closed_trades", Some(m.closed_trades as f64)),
        MetricCell::number("trades", Some(m.fills as f64)),
        MetricCell::number("turnover", m.turnover),
        MetricCell::number("fees", Some(money_to_f64(fees))),
        MetricCell::number("exposure", m.exposure_mean),
        MetricCell::number("best_day", m.best_period_return),
        MetricCell::number("worst_day", m.worst_period_return),
        MetricCell::number("var_95", m.var_95),
        MetricCell::number("cvar_95", m.cvar_95),
        MetricCell::number("final_equity", m.final_equity),
    ]
}

/// The HTML report model of a run (Pulse first in `runs`, then the benchmarks).
pub fn build_report(
    p: &Prepared,
    runs: &[Evaluated],
    sample: SampleLabel,
) -> Result<BacktestReport, AppError> {
    let tf = p.timeframe;
    let Some(first) = runs.first() else {
        return Err(AppError::Data("no run to report".into()));
    };
    let pulse = &first.result;
    let (Some(&t0), Some(&t1)) = (pulse.timestamps.first(), pulse.timestamps.last()) else {
        return Err(AppError::Data("the run recorded no step".into()));
    };
    let dates: Vec<String> = pulse.timestamps.iter().map(|t| date_of(*t, tf)).collect();
    let symbols = vec![p.cfg.symbols.base.clone(), p.cfg.symbols.leveraged.clone()];
    // Columns of the report's weight matrices, from the result's own symbol order.
    let column: Vec<usize> = symbols
        .iter()
        .map(|s| {
            pulse
                .symbols
                .iter()
                .position(|x| x == s)
                .unwrap_or(usize::MAX)
        })
        .collect();
    let weight_rows = |flat: &[f64]| -> Vec<Vec<f64>> {
        let k = pulse.symbols.len().max(1);
        flat.chunks(k)
            .map(|row| {
                column
                    .iter()
                    .map(|&j| row.get(j).copied().unwrap_or(0.0))
                    .collect()
            })
            .collect()
    };
    let mut prices = Vec::new();
    for s in &symbols {
        let Some(col) = p.market.data.bars.get(s) else {
            continue;
        };
        let mut pd = Vec::new();
        let mut pc = Vec::new();
        for (i, ts) in p.market.data.timeline.iter().enumerate() {
            if *ts < t0 || *ts > t1 {
                continue;
            }
            if let Some(b) = col.get(i).copied().flatten() {
                pd.push(date_of(*ts, tf));
                pc.push(b.close);
            }
        }
        let markers = pulse
            .fills
            .iter()
            .filter(|f| &f.symbol == s)
            .map(|f| TradeMarker {
                date: date_of(f.ts, tf),
                side: f.side,
                price: money_to_f64(f.price),
                quantity: money_to_f64(f.quantity),
            })
            .collect();
        prices.push(PriceSeries {
            symbol: s.to_string(),
            dates: pd,
            close: pc,
            markers,
        });
    }
    let weights_map = |w: &BTreeMap<Symbol, f64>| -> BTreeMap<String, f64> {
        w.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let mut notes = vec![
        p.rf.describe(),
        format!(
            "Costs: {}% commission per side, {} bps slippage, minimum fee {}; fills at the {}; whole shares: {}.",
            p.config.engine.costs.commission_rate * Decimal::from(100),
            p.config.engine.costs.slippage_bps,
            p.config.engine.costs.min_fee,
            match p.config.fill_price {
                FillPrice::NextOpen => "next bar's open",
                FillPrice::NextClose => "next bar's close",
                FillPrice::NextTypical => "next bar's typical price",
            },
            p.config.engine.sizing.whole_shares
        ),
        format!("Starting account: {}.", p.account_note),
        "Decisions at each close use only data up to that close (VIX and Fear & Greed as of the previous day); orders fill at the next bar.".into(),
    ];
    if !pulse.rejections.is_empty() {
        notes.push(format!(
            "{} order(s) were reduced or rejected by the simulated broker (cash or missing bars).",
            pulse.rejections.len()
        ));
    }
    Ok(BacktestReport {
        title: format!(
            "Pulse backtest: {} + {}",
            p.cfg.symbols.base, p.cfg.symbols.leveraged
        ),
        generated_for: format!(
            "{} + {} {} {}..{}",
            p.cfg.symbols.base,
            p.cfg.symbols.leveraged,
            tf,
            dates.first().cloned().unwrap_or_default(),
            dates.last().cloned().unwrap_or_default()
        ),
        sample_label: sample,
        notes,
        config_toml: p.cfg_text.clone(),
        initial_cash: first.analysis.metrics.initial_equity.unwrap_or(0.0),
        currency: p.currency.as_str().into(),
        series: equity_series(runs, tf),
        metrics: runs.iter().map(metrics_row).collect(),
        metric_catalogue: pulse_report::default_metric_catalogue(),
        weights: WeightsSeries {
            strategy: String::new(),
            dates: dates.clone(),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            target: weight_rows(&pulse.target_weights),
            actual: weight_rows(&pulse.actual_weights),
        },
        prices,
        monthly_returns: first.analysis.monthly.clone(),
        trades: pulse
            .fills
            .iter()
            .map(|f| TradeRow {
                date: date_of(f.ts, tf),
                symbol: f.symbol.to_string(),
                side: f.side,
                quantity: money_to_f64(f.quantity),
                price: money_to_f64(f.price),
                fee: money_to_f64(f.fee),
                notional: money_to_f64(f.notional()),
            })
            .collect(),
        alerts: pulse
            .alerts
            .iter()
            .map(|a| AlertRow {
                date: date_of(a.ts, tf),
                message: a.message.clone(),
                old_weights: weights_map(&a.old),
                new_weights: weights_map(&a.new),
            })
            .collect(),
        frontier: None,
        sweep: None,
        risk: (p.config.engine.risk.is_some() || p.cfg.sizing.is_active()).then(|| RiskSection {
            config_toml: match &p.config.engine.risk {
                Some(config) => config.to_toml(),
                None => "# No risk configuration: only the strategy's [sizing] section applies (see Configuration).\n".into(),
            },
            dates: dates.clone(),
            leverage: pulse.leverage.clone(),
            events: pulse
                .risk_events
                .iter()
                .map(|e| RiskEventRow {
                    date: date_of(e.ts, tf),
                    kind: e.kind.name().to_string(),
                    message: e.message.clone(),
                })
                .collect(),
        }),
        shaded: Vec::new(),
    })
}

/// An engine alert as the store and the notifiers take it.
pub fn alert_record(a: &pulse_engine::Alert) -> Result<AlertRecord, AppError> {
    let enc = |source| AppError::Encode {
        what: "alert weights",
        source,
    };
    Ok(AlertRecord {
        ts: a.ts,
        strategy: a.strategy.clone(),
        message: a.message.clone(),
        old_weights_json: serde_json::to_string(&a.old).map_err(enc)?,
        new_weights_json: serde_json::to_string(&a.new).map_err(enc)?,
    })
}

/// What a run record keeps of its configuration (`RunRecord::config`, JSON): every setting,
/// the evaluated window and the rule set's TOML, so that two runs that differ in any setting
/// (fill rule, slippage, commission, trades file…) are told apart.
#[derive(Debug, Serialize)]
pub struct RunConfig<'a> {
    /// The run's settings.
    pub settings: &'a RunSettings,
    /// First evaluated instant.
    pub from: Option<Timestamp>,
    /// Last evaluated instant (inclusive), when the run was cut short of the data's end.
    pub to: Option<Timestamp>,
    /// The Pulse rule set.
    pub strategy_toml: &'a str,
}

/// Records a run (kind `backtest`, `simulate`…) with Pulse's alerts and every strategy's
/// metrics; returns its id.
pub async fn record<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    kind: &str,
    p: &Prepared,
    runs: &[Evaluated],
    sample: &str,
) -> Result<i64, AppError> {
    let metrics: BTreeMap<&str, &Metrics> = runs
        .iter()
        .map(|e| (e.result.strategy.as_str(), &e.analysis.metrics))
        .collect();
    let Some(pulse) = runs.first().map(|e| &e.result) else {
        return Err(AppError::Data("no run to record".into()));
    };
    let (Some(&from), Some(&to)) = (pulse.timestamps.first(), pulse.timestamps.last()) else {
        return Err(AppError::Data("the run recorded no step".into()));
    };
    let run = RunRecord {
        id: None,
        kind: kind.into(),
        created_at: clock.now(),
        strategy: pulse.strategy.clone(),
        sample: sample.into(),
        data_from: from,
        data_to: to,
        config: serde_json::to_string_pretty(&RunConfig {
            settings: &p.settings,
            from: p.config.start,
            to: p.config.end,
            strategy_toml: &p.cfg_text,
        })
        .map_err(|source| AppError::Encode {
            what: "run settings",
            source,
        })?,
        metrics_json: serde_json::to_string(&metrics).map_err(|source| AppError::Encode {
            what: "run metrics",
            source,
        })?,
        alerts: pulse
            .alerts
            .iter()
            .map(alert_record)
            .collect::<Result<_, _>>()?,
    };
    store.record_run(&run).await.map_err(AppError::port)
}

/// A backtest: the run's settings and its evaluation window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BacktestRequest {
    /// Data, costs, starting account, rule set.
    pub settings: RunSettings,
    /// First instant evaluated (default: the first evaluable bar).
    pub from: Option<Timestamp>,
    /// Last instant evaluated (inclusive; default: the last bar).
    pub to: Option<Timestamp>,
}

/// What a backtest produced (before it is recorded).
#[derive(Debug, Clone)]
pub struct BacktestOutcome {
    /// The resolved inputs.
    pub prepared: Prepared,
    /// Pulse, then the three benchmarks.
    pub runs: Vec<Evaluated>,
    /// The report model (write it with `pulse_report::write_html`).
    pub report: BacktestReport,
    /// How the run is labelled (`full history`, or `selected window` with `from`/`to`).
    pub sample: &'static str,
}

/// Runs a backtest of Pulse against its benchmarks.
pub async fn backtest<S: Store>(
    store: &S,
    request: &BacktestRequest,
) -> Result<BacktestOutcome, AppError> {
    backtest_with_progress(store, request, |_, _| {}).await
}

/// [`backtest`] reporting its progress: `on_progress(done, total)` after each bar Pulse steps
/// through, `total` being the bars of the evaluated window (the three benchmarks and the
/// report follow, in a fraction of Pulse's time).
pub async fn backtest_with_progress<S: Store>(
    store: &S,
    request: &BacktestRequest,
    mut on_progress: impl FnMut(usize, usize),
) -> Result<BacktestOutcome, AppError> {
    let mut p = prepare(store, &request.settings).await?;
    p.set_window(request.from, request.to)?;
    let timeline = &p.market.data.timeline;
    let first = p.config.start.map_or(p.first_eval, |t| {
        p.market.data.index_at_or_after(t).max(p.first_eval)
    });
    let last = p
        .config
        .end
        .map_or(timeline.len(), |t| timeline.partition_point(|x| *x <= t));
    let total = last.saturating_sub(first);
    let mut done = 0usize;
    let runs = run_all(&p, |_| {
        done = (done + 1).min(total);
        on_progress(done, total);
    })?;
    let windowed = request.from.is_some() || request.to.is_some();
    let (label, sample) = if windowed {
        (SampleLabel::Window, "selected window")
    } else {
        (SampleLabel::FullHistory, "full history")
    };
    let report = build_report(&p, &runs, label)?;
    Ok(BacktestOutcome {
        prepared: p,
        runs,
        report,
        sample,
    })
}

/// A simulation: the last `span` of the data replayed step by step as if live.
#[derive(Debug, Clone)]
pub struct SimulateRequest {
    /// Data, costs, starting account, rule set.
    pub settings: RunSettings,
    /// How far back from the last bar to start (e.g. one year).
    pub last: jiff::Span,
}

/// What a simulation produced (before it is recorded).
#[derive(Debug, Clone)]
pub struct SimulateOutcome {
    /// The resolved inputs.
    pub prepared: Prepared,
    /// Pulse, then the three benchmarks.
    pub runs: Vec<Evaluated>,
}

/// Replays the last `request.last` of the data; `on_step` sees every step of Pulse as it
/// happens (fills, new target, orders, alert, equity).
pub async fn simulate<S: Store>(
    store: &S,
    request: &SimulateRequest,
    on_step: impl FnMut(&StepReport<'_>),
) -> Result<SimulateOutcome, AppError> {
    let mut p = prepare(store, &request.settings).await?;
    let Some(&last) = p.market.data.timeline.last() else {
        return Err(AppError::Data("no bars to replay".into()));
    };
    let from = last
        .to_zoned(TimeZone::UTC)
        .checked_sub(request.last)
        .map_err(|_| {
            AppError::setting(
                "last",
                format!(
                    "{} reaches before the earliest supported date",
                    request.last
                ),
            )
        })?
        .timestamp();
    let start_idx = p.market.data.index_at_or_after(from).max(p.first_eval);
    p.config.start = p.market.data.timeline.get(start_idx).copied();
    let runs = run_all(&p, on_step)?;
    Ok(SimulateOutcome { prepared: p, runs })
}
