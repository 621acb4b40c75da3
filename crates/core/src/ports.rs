//! Port traits: the boundary between the pure core and the outside world.
//!
//! Adapters (`store-sqlite`, `data-csv`, `data-yahoo`, …) implement these; only the `pulse` binary
//! names concrete adapters. Async methods use return-position `impl Future` (no `async_trait`).

use crate::action::CorporateAction;
use crate::bar::Bar;
use crate::instrument::Instrument;
use crate::quality::Finding;
use crate::sector::SectorInfo;
use crate::symbol::Symbol;
use crate::timeframe::Timeframe;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Source of the current time. Production uses [`crate::WallClock`]; backtests and time travel use
/// [`crate::SimClock`].
pub trait Clock: Send + Sync {
    /// The current instant (UTC).
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// A request for historical bars from a market-data source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRequest {
    /// Symbol in the source's own spelling (`TSLA`, `^VIX`, `005930.KS`).
    pub symbol: Symbol,
    /// Bar size wanted (sources serve `1d` and `1m`).
    pub timeframe: Timeframe,
    /// First instant wanted (inclusive, UTC).
    pub start: Timestamp,
    /// Last instant wanted (exclusive, UTC).
    pub end: Timestamp,
}

/// Bars, corporate actions and instrument facts returned by a source for one symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSeries {
    /// What the source says the instrument is (or the inferred default).
    pub instrument: Instrument,
    /// Bar size of `bars`.
    pub timeframe: Timeframe,
    /// Bars in strictly increasing time order; bars the source reported as all-null are omitted.
    pub bars: Vec<Bar>,
    /// Dividends and splits inside the requested range.
    pub actions: Vec<CorporateAction>,
}

/// A source of historical market data (Yahoo, Alpha Vantage, KIS…).
pub trait MarketData {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Short name of the source, as used on the command line (`yahoo`, `alphavantage`).
    fn source_name(&self) -> &'static str;

    /// Fetches bars and corporate actions for one symbol and range.
    fn fetch_bars(
        &self,
        request: &FetchRequest,
    ) -> impl Future<Output = Result<FetchedSeries, Self::Error>> + Send;
}

/// Everything one file or one fetch contributes to the store, written in one transaction with
/// the other batches of the same import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportBatch {
    /// The instrument the bars belong to (upserted).
    pub instrument: Instrument,
    /// Bar size.
    pub timeframe: Timeframe,
    /// Bars, strictly increasing in time.
    pub bars: Vec<Bar>,
    /// Corporate actions (upserted by symbol, ex-date and kind).
    pub actions: Vec<CorporateAction>,
    /// Where the data came from (a file path or `yahoo:TSLA`), recorded in the import log.
    pub source: String,
}

/// What an import does with a bar whose timestamp is already stored with different values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportPolicy {
    /// The default: overwrite a stored bar only with one that carries at least the same fields.
    /// A stored bar is *fuller* when it has something the incoming one lacks: an `adj_close`, a
    /// volume, or an open/high/low range (a close-only row has `open = high = low = close`). So a
    /// close-only adjusted-close file never replaces raw OHLCV bars, and bars rebuilt from raw
    /// minutes (no `adj_close`) never replace source daily bars that have one. Such bars are
    /// kept and counted in [`ImportSummary::bars_kept`].
    #[default]
    KeepFuller,
    /// Never change a stored bar; only add missing ones (for derived data such as resampled bars,
    /// which must not overwrite what a source delivered).
    InsertOnly,
    /// Overwrite every stored bar with the incoming one (`--replace`).
    Replace,
}

impl ImportPolicy {
    /// Whether this policy lets `new` overwrite the differing stored bar `old`: always with
    /// `Replace`, never with `InsertOnly`, and with `KeepFuller` only when `new` carries every
    /// field `old` does (the one rule every store applies).
    pub fn may_replace(self, old: &Bar, new: &Bar) -> bool {
        match self {
            ImportPolicy::Replace => true,
            ImportPolicy::InsertOnly => false,
            ImportPolicy::KeepFuller => old
                .carried_fields()
                .into_iter()
                .zip(new.carried_fields())
                .all(|(had, has)| has || !had),
        }
    }
}

/// Row counts of one import: what it inserted, what it changed and what was already identical.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Bars that were not in the store.
    pub bars_inserted: u64,
    /// Bars that were present with different values and were overwritten.
    pub bars_updated: u64,
    /// Bars that were already stored with identical values.
    pub bars_unchanged: u64,
    /// Bars that differ from the stored ones but were not written, because the stored bar is
    /// fuller or the policy forbids overwriting (see [`ImportPolicy`]).
    #[serde(default)]
    pub bars_kept: u64,
    /// Corporate actions that were new.
    pub actions_inserted: u64,
    /// Corporate actions whose value changed.
    pub actions_updated: u64,
    /// Corporate actions already stored identically.
    pub actions_unchanged: u64,
}

impl ImportSummary {
    /// Adds another summary's counts to this one.
    pub fn add(&mut self, other: &ImportSummary) {
        self.bars_inserted += other.bars_inserted;
        self.bars_updated += other.bars_updated;
        self.bars_unchanged += other.bars_unchanged;
        self.bars_kept += other.bars_kept;
        self.actions_inserted += other.actions_inserted;
        self.actions_updated += other.actions_updated;
        self.actions_unchanged += other.actions_unchanged;
    }

    /// True when the import changed nothing in the store.
    pub fn is_no_op(&self) -> bool {
        self.bars_inserted + self.bars_updated + self.actions_inserted + self.actions_updated == 0
    }
}

/// One stored series (symbol × timeframe) with its extent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Symbol.
    pub symbol: Symbol,
    /// Bar size.
    pub timeframe: Timeframe,
    /// Number of bars stored.
    pub rows: u64,
    /// Timestamp of the first bar.
    pub first: Timestamp,
    /// Timestamp of the last bar.
    pub last: Timestamp,
}

/// Which bars to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarQuery {
    /// Symbol.
    pub symbol: Symbol,
    /// Bar size.
    pub timeframe: Timeframe,
    /// First timestamp wanted (inclusive), or from the beginning.
    pub start: Option<Timestamp>,
    /// Last timestamp wanted (inclusive), or to the end.
    pub end: Option<Timestamp>,
}

/// One target-change alert of a recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// When the decision was made (bar close).
    pub ts: Timestamp,
    /// Strategy that raised it.
    pub strategy: String,
    /// Human-readable change, e.g. "TSLL 50.0% → 0.0%".
    pub message: String,
    /// Previous and new target weights as JSON objects (`{"TSLA":0.5,…}`), fractions.
    pub old_weights_json: String,
    /// New target weights as a JSON object, fractions.
    pub new_weights_json: String,
}

/// A recorded backtest, simulation or sweep: what was run on which data, and how it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Store-assigned id (`None` before recording).
    pub id: Option<i64>,
    /// `backtest`, `simulate`, …
    pub kind: String,
    /// When the run was made (from the injected clock).
    pub created_at: Timestamp,
    /// Strategy name.
    pub strategy: String,
    /// `in-sample`, `out-of-sample` or `full history`.
    pub sample: String,
    /// First and last bar of the evaluated data.
    pub data_from: Timestamp,
    /// Last bar of the evaluated data.
    pub data_to: Timestamp,
    /// The configuration used (TOML or JSON text).
    pub config: String,
    /// The metrics, as JSON (strategy and benchmarks).
    pub metrics_json: String,
    /// Alerts raised during the run.
    pub alerts: Vec<AlertRecord>,
}

impl RunRecord {
    /// The record as a list of runs shows it ([`RunHeader`]): its alerts counted, not carried;
    /// `None` before it is recorded (no id).
    pub fn header(&self) -> Option<RunHeader> {
        Some(RunHeader {
            id: self.id?,
            kind: self.kind.clone(),
            created_at: self.created_at,
            strategy: self.strategy.clone(),
            sample: self.sample.clone(),
            data_from: self.data_from,
            data_to: self.data_to,
            config: self.config.clone(),
            metrics_json: self.metrics_json.clone(),
            alert_count: u64::try_from(self.alerts.len()).unwrap_or(u64::MAX),
        })
    }
}

/// A recorded run as [`Store::runs`] lists it: every field of its [`RunRecord`] but the alerts,
/// which are counted instead (a run can carry hundreds; [`Store::run`] reads them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    /// Store-assigned id.
    pub id: i64,
    /// `backtest`, `simulate`, …
    pub kind: String,
    /// When the run was made (from the injected clock).
    pub created_at: Timestamp,
    /// Strategy name.
    pub strategy: String,
    /// `in-sample`, `out-of-sample` or `full history`.
    pub sample: String,
    /// First bar of the evaluated data.
    pub data_from: Timestamp,
    /// Last bar of the evaluated data.
    pub data_to: Timestamp,
    /// The configuration used (TOML or JSON text).
    pub config: String,
    /// The metrics, as JSON (strategy and benchmarks).
    pub metrics_json: String,
    /// How many alerts the run raised.
    pub alert_count: u64,
}

/// Persistent storage of market data, corporate actions and data-quality findings.
///
/// Contract: writes are transactional and idempotent; reads of bars are paged by key (`after`),
/// so that a caller can stream any amount of data with bounded memory (see [`BarPager`]).
pub trait Store {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Guard of an exclusive lock taken with [`Store::lock_exclusive`]; released when dropped.
    type Lock: Send;

    /// Takes the exclusive lock `name`, waiting while another process (or task) holds it, for
    /// work that must read, decide and write as one runner (the rebalancer's steps). Released
    /// when the guard is dropped, and when the process ends however it ends (`kill -9`).
    fn lock_exclusive(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Self::Lock, Self::Error>> + Send;

    /// Upserts all batches in ONE transaction: either every bar and action is written, or none.
    /// Re-importing identical data changes nothing (and reports it as unchanged). A stored bar is
    /// never replaced by a poorer one ([`ImportPolicy::KeepFuller`]).
    fn import(
        &self,
        batches: &[ImportBatch],
    ) -> impl Future<Output = Result<ImportSummary, Self::Error>> + Send;

    /// As [`Store::import`], with an explicit policy for bars already stored with other values
    /// (`import` uses [`ImportPolicy::KeepFuller`]).
    fn import_with(
        &self,
        batches: &[ImportBatch],
        policy: ImportPolicy,
    ) -> impl Future<Output = Result<ImportSummary, Self::Error>> + Send;

    /// All known instruments, ordered by symbol.
    fn instruments(&self) -> impl Future<Output = Result<Vec<Instrument>, Self::Error>> + Send;

    /// One instrument, if known.
    fn instrument(
        &self,
        symbol: &Symbol,
    ) -> impl Future<Output = Result<Option<Instrument>, Self::Error>> + Send;

    /// Every stored series with its row count and first/last timestamps, ordered by symbol then
    /// timeframe.
    fn series(&self) -> impl Future<Output = Result<Vec<SeriesSummary>, Self::Error>> + Send;

    /// Up to `limit` bars matching `query` with `ts > after` (or from the start), in time order.
    fn bars_page(
        &self,
        query: &BarQuery,
        after: Option<Timestamp>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Bar>, Self::Error>> + Send;

    /// Corporate actions of a symbol, by ex-date.
    fn corporate_actions(
        &self,
        symbol: &Symbol,
    ) -> impl Future<Output = Result<Vec<CorporateAction>, Self::Error>> + Send;

    /// In one transaction, deletes the stored findings of every series in `scope` and stores
    /// `findings` (each of which must belong to a series of `scope`). Returns how many were stored.
    fn replace_findings(
        &self,
        scope: &[(Symbol, Timeframe)],
        findings: &[Finding],
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;

    /// All stored findings, ordered by symbol, timeframe and timestamp.
    fn findings(&self) -> impl Future<Output = Result<Vec<Finding>, Self::Error>> + Send;

    /// Records a run and its alerts in one transaction; returns its id.
    fn record_run(&self, run: &RunRecord) -> impl Future<Output = Result<i64, Self::Error>> + Send;

    /// The most recent runs (newest first, at most `limit`), each with its number of alerts but
    /// not the alerts themselves (one query, whatever the number of runs or alerts).
    fn runs(&self, limit: u32) -> impl Future<Output = Result<Vec<RunHeader>, Self::Error>> + Send;

    /// One recorded run with its alerts, if it exists.
    fn run(&self, id: i64) -> impl Future<Output = Result<Option<RunRecord>, Self::Error>> + Send;

    /// Deletes a recorded run and its alerts in one transaction; false when there was none.
    fn delete_run(&self, id: i64) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// A named state document (JSON text), e.g. the rebalancer's state or the simulated clock.
    fn document(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, Self::Error>> + Send;

    /// In ONE transaction: upserts every `(key, json)` document and appends every audit entry,
    /// so that a crash leaves either all of a step's state or none of it.
    fn save_documents(
        &self,
        documents: &[(&str, String)],
        audit: &[AuditEntry],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The audit log, oldest first (at most `limit` most recent entries).
    fn audit_log(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, Self::Error>> + Send;

    /// Stores finished trials of a parameter study in one transaction (a trial already stored
    /// under the same study and number is left as it is).
    fn save_trials(
        &self,
        trials: &[StoredTrial],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Every stored trial of a study, by number.
    fn trials(
        &self,
        study: &str,
    ) -> impl Future<Output = Result<Vec<StoredTrial>, Self::Error>> + Send;

    /// Upserts sector classifications by symbol in ONE transaction: either every row is written
    /// or none (a row that fails [`SectorInfo::validate`], or a symbol given twice, writes
    /// nothing). Re-storing identical rows changes nothing. Returns how many rows were new or
    /// changed. A classification may be stored before (or without) the symbol's bars.
    fn put_sectors(
        &self,
        rows: &[SectorInfo],
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// Every stored sector classification, ordered by symbol.
    fn sectors(&self) -> impl Future<Output = Result<Vec<SectorInfo>, Self::Error>> + Send;

    /// In ONE transaction, one step of a trading runner: upserts the state documents, upserts
    /// the orders by client id (a changed status appends to the order's status history), inserts
    /// the fills whose execution id is new (a repeated execution id is ignored: fills are
    /// de-duplicated here) and appends the audit entries. Returns how many fills were new.
    fn save_trading_step(
        &self,
        step: &TradingStep<'_>,
    ) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// A runner's orders, oldest decision first.
    fn trade_orders(
        &self,
        runner: &str,
    ) -> impl Future<Output = Result<Vec<TradeOrderRecord>, Self::Error>> + Send;

    /// A runner's fills, in execution order.
    fn trade_fills(
        &self,
        runner: &str,
    ) -> impl Future<Output = Result<Vec<crate::order::Fill>, Self::Error>> + Send;

    /// An order's status history `(when, status)`, oldest first.
    fn trade_order_history(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Vec<(Timestamp, String)>, Self::Error>> + Send;
}

/// An order of a trading runner as the journal records it (one row per client id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeOrderRecord {
    /// The runner that decided it.
    pub runner: String,
    /// The order as decided (client id, symbol, side, quantity, kind, time in force).
    pub order: crate::order::OrderRequest,
    /// The broker's order id, once known.
    pub broker_id: Option<String>,
    /// Where it stands: `intent` (recorded, not yet known to have reached the broker), then the
    /// broker's state (`new`, `partially_filled`, `filled`, `canceled`, `expired`, `rejected`…).
    pub status: String,
    /// Shares filled so far.
    pub filled: rust_decimal::Decimal,
    /// When this record was last changed.
    pub updated_at: Timestamp,
}

/// What one step of a trading runner writes, together.
#[derive(Debug, Clone, Copy)]
pub struct TradingStep<'a> {
    /// The runner.
    pub runner: &'a str,
    /// State documents `(key, json)` (the engine, the paper book, the runner's status).
    pub documents: &'a [(&'a str, String)],
    /// Orders to upsert by client id.
    pub orders: &'a [TradeOrderRecord],
    /// Fills to insert (each with an execution id; repeated ids are ignored).
    pub fills: &'a [crate::order::Fill],
    /// Audit entries to append.
    pub audit: &'a [AuditEntry],
}

/// One finished trial of a parameter study (`pulse sweep --study NAME`), as stored for resuming.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTrial {
    /// Study name.
    pub study: String,
    /// Trial number (grid index, or sequence number for random/TPE searches).
    pub number: u64,
    /// Parameter values as a JSON object `{name: value}`.
    pub params_json: String,
    /// Objective value; `None` for a failed trial.
    pub score: Option<f64>,
    /// Other figures of the trial as JSON (metrics, PBO block moments).
    pub details_json: String,
}

/// One line of the decision audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it was recorded (the clock in force, simulated or wall).
    pub ts: Timestamp,
    /// Which subsystem (`rebalance`, `clock`…).
    pub subsystem: String,
    /// What happened, with its reason, as JSON.
    pub entry_json: String,
}

/// Sends alerts to people (webhooks, chat bridges, e-mail…).
pub trait Notifier {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Delivers one alert.
    fn notify(&self, alert: &AlertRecord) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// A chat model (an OpenAI-compatible chat-completions endpoint): the macro-prompt editor sends
/// the team's prompt and reads the MP/Sub-MP view it answers.
pub trait ChatModel {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The model's answer to `system` (instructions) and `user` (the prompt), as text.
    fn complete(
        &self,
        system: &str,
        user: &str,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;
}

/// A source of live quotes and order books (KIS, Alpaca, a replay of stored minute bars): the
/// market-data port of trading, apart from the historical [`MarketData`].
pub trait QuoteSource {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Short name of the source (`kis`, `alpaca`, `replay`).
    fn source_name(&self) -> &'static str;

    /// The current quote of `symbol`.
    fn quote(
        &self,
        symbol: &Symbol,
    ) -> impl Future<Output = Result<crate::Quote, Self::Error>> + Send;

    /// The current order book of `symbol`, at most `depth` levels a side (an adapter without
    /// depth returns its best bid and ask as one level each).
    fn order_book(
        &self,
        symbol: &Symbol,
        depth: usize,
    ) -> impl Future<Output = Result<crate::OrderBook, Self::Error>> + Send;

    /// The source's `n` most traded symbols right now (KIS's volume ranking); a source without a
    /// ranking returns an error naming that.
    fn top_by_volume(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<Vec<Symbol>, Self::Error>> + Send;
}

/// A cache of the latest quotes with a time to live (Redis `realtime:price:<symbol>` keys, or an
/// in-process map): the collector writes it, runners and the dashboard read it.
pub trait QuoteCache {
    /// The adapter's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores the latest quote of its symbol (and its book, when given), replacing the previous
    /// one; both expire `ttl_seconds` after being written.
    fn put(
        &self,
        quote: &crate::Quote,
        book: Option<&crate::OrderBook>,
        ttl_seconds: u64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The latest quote of `symbol`, or `None` when there is none or it has expired.
    fn quote(
        &self,
        symbol: &Symbol,
    ) -> impl Future<Output = Result<Option<crate::Quote>, Self::Error>> + Send;

    /// The latest order book of `symbol`, or `None` when there is none or it has expired.
    fn order_book(
        &self,
        symbol: &Symbol,
    ) -> impl Future<Output = Result<Option<crate::OrderBook>, Self::Error>> + Send;
}

/// Streams the bars of a query from a [`Store`] in fixed-size chunks (keyset pagination), so that
/// memory stays bounded by `chunk` bars whatever the size of the table.
#[derive(Debug, Clone)]
pub struct BarPager {
    query: BarQuery,
    after: Option<Timestamp>,
    chunk: u32,
    done: bool,
}

impl BarPager {
    /// A pager over `query` reading `chunk` bars at a time (at least 1).
    pub fn new(query: BarQuery, chunk: u32) -> Self {
        BarPager {
            query,
            after: None,
            chunk: chunk.max(1),
            done: false,
        }
    }

    /// The next chunk, or `None` once the query is exhausted.
    pub async fn next_chunk<S: Store>(&mut self, store: &S) -> Result<Option<Vec<Bar>>, S::Error> {
        if self.done {
            return Ok(None);
        }
        let page = store.bars_page(&self.query, self.after, self.chunk).await?;
        if (page.len() as u64) < u64::from(self.chunk) {
            self.done = true;
        }
        match page.last() {
            Some(last) => {
                self.after = Some(last.ts);
                Ok(Some(page))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}
