//! The daily portfolio pipeline (SPEC §5, issue 18 item 2): one run for a date (KST)
//! - syncs the broker account through the [`AccountStatement`] port (cash per currency,
//!   holdings with their average cost and last price, the day's orders);
//! - reads the manual-assets sheet ([`sheet`]: a Google Sheets CSV export, text in);
//! - reads the KRW rate of every other currency held from the stored daily series
//!   `<CODE>KRW=X` (`pulse data fetch USDKRW=X`), the last close on or before the date within
//!   [`FX_MAX_AGE_DAYS`];
//! - runs the eight strategies of SPEC §5 ([`Preset::SPEC`], through
//!   [`crate::portfolio::optimize_preset`]) on the holdings that have stored daily history
//!   (the broker's symbol, or `<symbol>.KS`/`.KQ`, or a sheet asset named as a stored symbol),
//!   over the trailing `lookback_days`; expected returns are the documented stand-in (mean
//!   historical; the `-forecast` presets: EWMA, span 180 days) until the N-BEATS forecaster
//!   exists;
//! - builds the [`Analysis`] table, whose targets are the configured strategy's weights
//!   (default max Sharpe) stored on the date, or the latest stored before it.
//!
//! Everything is stored as documents keyed `pipeline/<date>/{account,manual,fx,targets,analysis}`
//! (and the list of dates under `pipeline/index`), written in one transaction with one audit
//! entry naming what changed. A part equal to what is stored is not written, so running the
//! same day twice with the same inputs changes nothing (no document, no audit entry). A run
//! without a broker (or without a sheet) keeps the date's stored account (or manual rows).
//! The broker can only be synced for today: its account is now.

pub mod analysis;
pub mod sheet;

pub use analysis::{Analysis, HoldingRow, Total};
pub use sheet::{CURRENCIES, ManualAsset, currency_code, parse_sheet};

use crate::error::AppError;
use crate::market::load_series;
use crate::portfolio::{Preset, optimize_preset};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use pulse_core::ports::{AuditEntry, Store};
use pulse_core::{Symbol, Timeframe};
use pulse_execution::{AccountStatement, BrokerHolding, DayOrder};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Audit subsystem of the pipeline's entries.
pub const SUBSYSTEM: &str = "pipeline";
/// Document listing the dates the pipeline ran for.
pub const INDEX_KEY: &str = "pipeline/index";
/// The oldest FX close accepted, in days before the run date.
pub const FX_MAX_AGE_DAYS: i64 = 14;
/// Default trailing window of the target optimizations, in calendar days.
pub const DEFAULT_LOOKBACK_DAYS: i64 = 730;

/// The document key of one part of a date's run (`account`, `manual`, `fx`, `targets`,
/// `analysis`).
pub fn key(date: Date, part: &str) -> String {
    format!("pipeline/{date}/{part}")
}

/// Cash in one currency, as booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CashLine {
    /// ISO currency code.
    pub currency: String,
    /// Amount in that currency.
    pub amount: Decimal,
}

/// The broker account as synced on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// The broker (`kis`).
    pub broker: String,
    /// Cash per currency.
    pub cash: Vec<CashLine>,
    /// Holdings with average cost and last price.
    pub holdings: Vec<BrokerHolding>,
    /// The day's orders, cancels included.
    pub orders: Vec<DayOrder>,
}

/// The manual rows in force on a date (per asset, the latest dated on or before it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualSnapshot {
    /// Where the sheet came from (a path, or a URL without its query).
    pub source: String,
    /// The rows.
    pub rows: Vec<ManualAsset>,
}

/// A KRW rate used by a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxRate {
    /// ISO currency code.
    pub currency: String,
    /// The stored series it came from (`USDKRW=X`; empty for KRW).
    pub symbol: String,
    /// KRW per unit of the currency.
    pub rate: f64,
    /// Date (UTC) of the close used.
    pub date: Date,
}

/// One strategy's target allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyTarget {
    /// Strategy name (`max-sharpe`, `hrp-forecast`, …).
    pub strategy: String,
    /// Weights by stored series symbol (fractions summing to 1).
    pub weights: BTreeMap<String, f64>,
    /// Expected annual return (fraction).
    pub expected_return: f64,
    /// Annual volatility (fraction).
    pub volatility: f64,
    /// Sharpe ratio at the run's risk-free rate.
    pub sharpe: f64,
    /// Where the expected returns came from.
    pub return_source: String,
    /// First date of the estimation window.
    pub first: Date,
    /// Last date of the estimation window.
    pub last: Date,
    /// Common dates in the window.
    pub rows: usize,
}

/// The target allocations of a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Annual risk-free rate used (fraction).
    pub rf: f64,
    /// The universe (stored series symbols), sorted.
    pub symbols: Vec<String>,
    /// One per strategy that could be optimized, in [`Preset::SPEC`] order.
    pub strategies: Vec<StrategyTarget>,
    /// Strategies that could not, with why.
    pub skipped: Vec<String>,
}

/// The manual-assets sheet as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualSheet {
    /// Where it came from (a path or URL; a URL's query is dropped before storing).
    pub source: String,
    /// The CSV text.
    pub text: String,
}

/// One pipeline run.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRequest {
    /// The date (KST); `None` = today by the store's clock.
    pub date: Option<Date>,
    /// The manual-assets sheet; `None` keeps the date's stored rows.
    pub manual: Option<ManualSheet>,
    /// Name of the broker passed to [`run`] (`kis`).
    pub broker_name: String,
    /// The strategy whose weights are the analysis's targets.
    pub strategy: Preset,
    /// Annual risk-free rate (fraction) of the optimizations.
    pub rf: f64,
    /// Trailing window of the optimizations, in calendar days (≥ 30).
    pub lookback_days: i64,
}

impl Default for PipelineRequest {
    fn default() -> Self {
        PipelineRequest {
            date: None,
            manual: None,
            broker_name: "kis".into(),
            strategy: Preset::MaxSharpe,
            rf: 0.0,
            lookback_days: DEFAULT_LOOKBACK_DAYS,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineOutcome {
    /// The run date.
    pub date: Date,
    /// The document keys written (empty: nothing changed).
    pub changed: Vec<String>,
    /// The account used (synced now, or stored for the date).
    pub account: Option<AccountSnapshot>,
    /// The manual rows used.
    pub manual: Option<ManualSnapshot>,
    /// The target allocations of the date.
    pub targets: Targets,
    /// The analysis table.
    pub analysis: Analysis,
}

fn seoul() -> TimeZone {
    TimeZone::get("Asia/Seoul").unwrap_or(TimeZone::UTC)
}

/// Today in Seoul by the store's clock (simulated when time travel is on).
pub async fn today<S: Store>(store: &S) -> Result<Date, AppError> {
    let (now, _) = crate::rebalance::clock_now(store).await?;
    Ok(now.to_zoned(seoul()).date())
}

async fn read_doc<S: Store, T: DeserializeOwned>(
    store: &S,
    key: &str,
) -> Result<Option<T>, AppError> {
    match store.document(key).await.map_err(AppError::port)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| AppError::State(format!("stored document {key} is unreadable: {e}"))),
    }
}

/// The document holding the last date the scheduled run was made for.
const SCHEDULE_KEY: &str = "pipeline/schedule";

/// The date the scheduled pipeline is due for: today in Seoul by the store's clock, when it is
/// a KRX trading day, the local time is at or after `at`, and no scheduled run was made for it
/// yet; `None` otherwise.
async fn scheduled_due<S: Store>(
    store: &S,
    at: jiff::civil::Time,
) -> Result<Option<Date>, AppError> {
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let local = now.to_zoned(seoul());
    let today = local.date();
    let calendar = pulse_core::calendar::calendar(pulse_core::Exchange::Krx);
    if !calendar.is_trading_day(today)? || local.time() < at {
        return Ok(None);
    }
    let last: Option<Date> = read_doc(store, SCHEDULE_KEY).await?;
    Ok(last.is_none_or(|d| d < today).then_some(today))
}

/// Claims the scheduled run due now ([`scheduled_due`]): records that it was made for its date
/// before it runs, so a failing run is tried once a day (a person runs it again with `pulse
/// pipeline run`). The date to run, or `None` when nothing is due.
pub async fn claim_scheduled<S: Store>(
    store: &S,
    at: jiff::civil::Time,
) -> Result<Option<Date>, AppError> {
    let Some(date) = scheduled_due(store, at).await? else {
        return Ok(None);
    };
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let entry = AuditEntry {
        ts: now,
        subsystem: "pipeline".into(),
        entry_json: serde_json::json!({ "scheduled": date }).to_string(),
    };
    store
        .save_documents(&[(SCHEDULE_KEY, encode("the schedule", &date)?)], &[entry])
        .await
        .map_err(AppError::port)?;
    Ok(Some(date))
}

impl PipelineOutcome {
    /// One line: the date and what was stored (`nothing changed` for a repeated run).
    pub fn summary(&self) -> String {
        format!(
            "{}: {}",
            self.date,
            if self.changed.is_empty() {
                "nothing changed".to_string()
            } else {
                format!("stored {}", self.changed.join(", "))
            }
        )
    }
}

/// The dates the pipeline ran for, oldest first.
pub async fn dates<S: Store>(store: &S) -> Result<Vec<Date>, AppError> {
    Ok(read_doc::<S, Vec<Date>>(store, INDEX_KEY)
        .await?
        .unwrap_or_default())
}

/// The stored analysis of `date`, or of the latest run when `None`.
pub async fn report<S: Store>(store: &S, date: Option<Date>) -> Result<Analysis, AppError> {
    let all = dates(store).await?;
    let date = match date {
        Some(d) => d,
        None => *all.last().ok_or_else(|| {
            AppError::NotFound("no pipeline run is stored: run `pulse pipeline run` first".into())
        })?,
    };
    read_doc(store, &key(date, "analysis"))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pipeline run is stored for {date}")))
}

/// The stored target allocations of `date`, if any.
pub async fn targets<S: Store>(store: &S, date: Date) -> Result<Option<Targets>, AppError> {
    read_doc(store, &key(date, "targets")).await
}

/// The stored account of `date`, if any.
pub async fn account<S: Store>(store: &S, date: Date) -> Result<Option<AccountSnapshot>, AppError> {
    read_doc(store, &key(date, "account")).await
}

/// A source as stored: a URL without its query or fragment (which may carry a key).
fn source_label(source: &str) -> String {
    let s = source.trim();
    if s.starts_with("http://") || s.starts_with("https://") {
        s.split(['?', '#']).next().unwrap_or(s).to_string()
    } else {
        s.to_string()
    }
}

/// The end (inclusive) of `date` in UTC.
fn end_of(date: Date) -> Result<Timestamp, AppError> {
    let time = |e: jiff::Error| AppError::Time {
        what: format!("end of {date}"),
        source: e,
    };
    let next = date.tomorrow().map_err(time)?;
    let ts = next.to_zoned(TimeZone::UTC).map_err(time)?.timestamp();
    ts.checked_sub(SignedDuration::from_secs(1)).map_err(time)
}

fn days_before(date: Date, days: i64) -> Result<Timestamp, AppError> {
    let time = |e: jiff::Error| AppError::Time {
        what: format!("{days} days before {date}"),
        source: e,
    };
    let d = date
        .checked_sub(jiff::Span::new().days(days))
        .map_err(time)?;
    Ok(d.to_zoned(TimeZone::UTC).map_err(time)?.timestamp())
}

/// The KRW rate of `currency` on `date`: the last close of `<CODE>KRW=X` on or before it,
/// within [`FX_MAX_AGE_DAYS`].
pub async fn fx_rate<S: Store>(store: &S, currency: &str, date: Date) -> Result<FxRate, AppError> {
    if currency == "KRW" {
        return Ok(FxRate {
            currency: "KRW".into(),
            symbol: String::new(),
            rate: 1.0,
            date,
        });
    }
    let name = format!("{currency}KRW=X");
    let symbol = Symbol::try_new(name.clone())?;
    let bars = load_series(
        store,
        &symbol,
        Timeframe::D1,
        Some(days_before(date, FX_MAX_AGE_DAYS)?),
        Some(end_of(date)?),
    )
    .await?;
    let bar = bars
        .iter()
        .rev()
        .find(|b| b.close.is_finite() && b.close > 0.0)
        .ok_or_else(|| {
            AppError::Data(format!(
                "no {currency}/KRW rate: the stored daily series {name} has no close on or within {FX_MAX_AGE_DAYS} days before {date} (fetch it: `pulse data fetch {name}`)"
            ))
        })?;
    Ok(FxRate {
        currency: currency.into(),
        symbol: name,
        rate: bar.close,
        date: bar.ts.to_zoned(TimeZone::UTC).date(),
    })
}

/// The account as the broker books it now.
pub async fn sync_account<B: AccountStatement>(
    broker: &B,
    name: &str,
) -> Result<AccountSnapshot, AppError> {
    let cash = broker
        .cash_balances()
        .await
        .map_err(AppError::port)?
        .into_iter()
        .map(|c| CashLine {
            currency: c.currency.as_str().to_string(),
            amount: c.amount,
        })
        .collect();
    let holdings = broker.holdings().await.map_err(AppError::port)?;
    let orders = broker.day_orders().await.map_err(AppError::port)?;
    Ok(AccountSnapshot {
        broker: name.to_string(),
        cash,
        holdings,
        orders,
    })
}

/// The stored series (daily) the optimizer uses for each row, keyed by (source, asset).
fn history_map(
    account: Option<&AccountSnapshot>,
    manual: &[ManualAsset],
    daily: &BTreeSet<String>,
) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    if let Some(a) = account {
        for h in &a.holdings {
            let s = h.symbol.as_str();
            let found = [s.to_string(), format!("{s}.KS"), format!("{s}.KQ")]
                .into_iter()
                .find(|c| daily.contains(c));
            if let Some(f) = found {
                out.insert((a.broker.clone(), s.to_string()), f);
            }
        }
    }
    for m in manual {
        if daily.contains(&m.asset) {
            out.insert(("manual".into(), m.asset.clone()), m.asset.clone());
        }
    }
    out
}

/// Optimizes every strategy of SPEC §5 over `symbols` on the window ending with `date`.
pub async fn compute_targets<S: Store>(
    store: &S,
    symbols: &[String],
    date: Date,
    rf: f64,
    lookback_days: i64,
) -> Result<Targets, AppError> {
    let mut out = Targets {
        rf,
        symbols: symbols.to_vec(),
        strategies: Vec::new(),
        skipped: Vec::new(),
    };
    if symbols.len() < 2 {
        out.skipped.push(format!(
            "every strategy: {} holding(s) with stored daily history; at least 2 are needed",
            symbols.len()
        ));
        return Ok(out);
    }
    let universe: Vec<Symbol> = symbols
        .iter()
        .map(|s| Symbol::try_new(s.clone()))
        .collect::<Result<_, _>>()?;
    let from = days_before(date, lookback_days)?;
    let to = end_of(date)?;
    for preset in Preset::SPEC {
        match optimize_preset(store, &universe, preset, rf, Some(from), Some(to)).await {
            Ok(o) => {
                let p = &o.portfolio;
                out.strategies.push(StrategyTarget {
                    strategy: preset.as_str().to_string(),
                    weights: p
                        .symbols
                        .iter()
                        .cloned()
                        .zip(p.weights.iter().copied())
                        .collect(),
                    expected_return: p.expected_return,
                    volatility: p.volatility,
                    sharpe: p.sharpe,
                    return_source: p.return_source.clone(),
                    first: o.window.first.to_zoned(TimeZone::UTC).date(),
                    last: o.window.last.to_zoned(TimeZone::UTC).date(),
                    rows: o.window.rows,
                });
            }
            Err(e) => out.skipped.push(format!("{preset}: {e}")),
        }
    }
    Ok(out)
}

/// The configured strategy's stored targets in force on `date`: the date's own (`current`),
/// else the latest stored before it.
async fn target_in_force<S: Store>(
    store: &S,
    date: Date,
    current: &Targets,
    strategy: Preset,
) -> Result<Option<(StrategyTarget, Date)>, AppError> {
    let name = strategy.as_str();
    if let Some(t) = current.strategies.iter().find(|t| t.strategy == name) {
        return Ok(Some((t.clone(), date)));
    }
    for d in dates(store).await?.into_iter().rev().filter(|d| *d < date) {
        if let Some(t) = targets(store, d).await?
            && let Some(s) = t.strategies.into_iter().find(|t| t.strategy == name)
        {
            return Ok(Some((s, d)));
        }
    }
    Ok(None)
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|source| AppError::Encode { what, source })
}

/// Runs the pipeline for a date (see the module docs); `broker` is synced when given (only
/// for today).
pub async fn run<S: Store, B: AccountStatement>(
    store: &S,
    broker: Option<&B>,
    request: &PipelineRequest,
) -> Result<PipelineOutcome, AppError> {
    if !(30..=3650).contains(&request.lookback_days) {
        return Err(AppError::setting(
            "lookback_days",
            format!("{}: expected 30 to 3650 days", request.lookback_days),
        ));
    }
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let today = now.to_zoned(seoul()).date();
    let date = request.date.unwrap_or(today);
    if date > today {
        return Err(AppError::setting(
            "date",
            format!("{date} is after today ({today})"),
        ));
    }
    if broker.is_some() && date != today {
        return Err(AppError::setting(
            "date",
            format!(
                "{date}: a broker account can only be synced for today ({today}); rebuild a past day from what is stored without a broker"
            ),
        ));
    }
    let manual = match &request.manual {
        Some(sheet) => Some(ManualSnapshot {
            source: source_label(&sheet.source),
            rows: sheet::as_of(&parse_sheet(&sheet.text)?, date),
        }),
        None => read_doc(store, &key(date, "manual")).await?,
    };
    let account = match broker {
        Some(b) => Some(sync_account(b, &request.broker_name).await?),
        None => read_doc(store, &key(date, "account")).await?,
    };
    if account.is_none() && manual.is_none() {
        return Err(AppError::Usage(format!(
            "nothing to value for {date}: give a manual sheet or a broker (nothing is stored for that date)"
        )));
    }
    let manual_rows: &[ManualAsset] = manual.as_ref().map_or(&[], |m| &m.rows);

    // Currencies and their rates.
    let mut currencies: BTreeSet<String> = BTreeSet::new();
    if let Some(a) = &account {
        for c in &a.cash {
            currencies.insert(c.currency.clone());
        }
        for h in &a.holdings {
            currencies.insert(h.currency.clone());
        }
    }
    for m in manual_rows {
        currencies.insert(m.currency.clone());
    }
    let mut fx = Vec::new();
    for c in &currencies {
        if currency_code(c).is_none() {
            return Err(AppError::Data(format!(
                "the account holds {c:?}, not a supported currency (one of {})",
                CURRENCIES.join(", ")
            )));
        }
        fx.push(fx_rate(store, c, date).await?);
    }

    // The stored daily series of the holdings.
    let daily: BTreeSet<String> = store
        .series()
        .await
        .map_err(AppError::port)?
        .into_iter()
        .filter(|s| s.timeframe == Timeframe::D1)
        .map(|s| s.symbol.to_string())
        .collect();
    let history = history_map(account.as_ref(), manual_rows, &daily);

    // Broker holdings without a broker price: the stored close on or before the date.
    let mut valued = account.clone();
    if let Some(a) = valued.as_mut() {
        for h in a.holdings.iter_mut().filter(|h| h.price.is_none()) {
            let series = history.get(&(a.broker.clone(), h.symbol.to_string()));
            let close = match series {
                Some(s) => load_series(
                    store,
                    &Symbol::try_new(s.clone())?,
                    Timeframe::D1,
                    None,
                    Some(end_of(date)?),
                )
                .await?
                .last()
                .map(|b| b.close),
                None => None,
            };
            let price = close.and_then(|c| Decimal::try_from(c).ok()).ok_or_else(|| {
                AppError::Data(format!(
                    "no price for {} on {date}: the broker gave none and no daily close is stored (import or fetch it)",
                    h.symbol
                ))
            })?;
            h.price = Some(price);
        }
    }

    let universe: Vec<String> = history
        .values()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let targets_now =
        compute_targets(store, &universe, date, request.rf, request.lookback_days).await?;
    let target = target_in_force(store, date, &targets_now, request.strategy).await?;
    let analysis = analysis::build(
        date,
        valued.as_ref(),
        manual_rows,
        &fx,
        &history,
        target.as_ref().map(|(t, d)| (t, *d)),
    );

    // Store what changed, in one transaction.
    let mut parts: Vec<(String, String)> = Vec::new();
    if let Some(a) = &account {
        parts.push((key(date, "account"), encode("the account", a)?));
    }
    if let Some(m) = &manual {
        parts.push((key(date, "manual"), encode("the manual rows", m)?));
    }
    parts.push((key(date, "fx"), encode("the FX rates", &fx)?));
    parts.push((key(date, "targets"), encode("the targets", &targets_now)?));
    parts.push((key(date, "analysis"), encode("the analysis", &analysis)?));
    let mut index = dates(store).await?;
    if !index.contains(&date) {
        index.push(date);
        index.sort();
        parts.push((INDEX_KEY.to_string(), encode("the index", &index)?));
    }
    let mut changed: Vec<(String, String)> = Vec::new();
    for (k, v) in parts {
        if store.document(&k).await.map_err(AppError::port)?.as_deref() != Some(v.as_str()) {
            changed.push((k, v));
        }
    }
    if !changed.is_empty() {
        let entry = serde_json::json!({
            "date": date,
            "changed": changed.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            "broker": broker.map(|_| request.broker_name.as_str()),
            "manual": manual.as_ref().map(|m| m.source.as_str()),
            "total_krw": analysis.total.value_krw,
        });
        let docs: Vec<(&str, String)> = changed
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        store
            .save_documents(
                &docs,
                &[AuditEntry {
                    ts: now,
                    subsystem: SUBSYSTEM.into(),
                    entry_json: entry.to_string(),
                }],
            )
            .await
            .map_err(AppError::port)?;
    }
    Ok(PipelineOutcome {
        date,
        changed: changed.into_iter().map(|(k, _)| k).collect(),
        account,
        manual,
        targets: targets_now,
        analysis,
    })
}
