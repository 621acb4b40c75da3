//! Live quotes (spec §4, the real-time collector): a quote source polled for a symbol list or
//! the top-N by volume, each quote written to a [`QuoteCache`] with a time to live, and the
//! cache read back by runners and the dashboard.
//!
//! - [`collect_tick`] is one poll of every symbol (concurrently), the use case the CLI's
//!   `pulse collect` loop and the server call once a second.
//! - [`MemoryQuoteCache`] is the in-process cache used when no Redis is configured; its time to
//!   live follows the [`Clock`] (time travel included).
//! - [`ReplayQuotes`] is a [`QuoteSource`] over stored bars driven by the clock: the quote at
//!   time t is the close of the last bar that closed at or before t, with the volume traded that
//!   UTC day so far. It lets the collector, the cache and the runners work offline on real data.

use crate::error::AppError;
use futures_util::future::join_all;
use jiff::{SignedDuration, Timestamp};
use pulse_core::ports::{
    BarQuery, Clock, ImportBatch, ImportPolicy, ImportSummary, QuoteCache, QuoteSource, Store,
};
use pulse_core::{Bar, Currency, Instrument, OrderBook, Quote, QuoteUniverse, Symbol, Timeframe};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// Default time to live of a cached quote, seconds (spec §4: 60 s).
pub const DEFAULT_TTL_SECONDS: u64 = 60;

/// Most symbols one collector polls (the source's rate limit is the real bound; this one keeps a
/// typo such as `--top 100000` from opening that many requests).
pub const MAX_SYMBOLS: usize = 500;

/// What one poll of the universe did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TickReport {
    /// When the poll started, by the clock.
    pub at: Option<Timestamp>,
    /// Quotes written to the cache.
    pub written: usize,
    /// Order books written with them.
    pub books: usize,
    /// One line per symbol that failed (source or cache error), naming the symbol.
    pub errors: Vec<String>,
    /// The valid quotes polled (what was written to the cache), for a [`BarBuilder`].
    #[serde(skip)]
    pub quotes: Vec<Quote>,
}

/// What a collection did over its polls: the running totals a collector keeps and reports.
#[derive(Debug, Default, Serialize)]
pub struct CollectSummary {
    /// The source polled.
    pub source: &'static str,
    /// Where the quotes went (`redis host:port/db` or `memory`).
    pub cache: String,
    /// Symbols polled.
    pub symbols: Vec<Symbol>,
    /// Polls done.
    pub ticks: u64,
    /// Quotes written in all.
    pub written: usize,
    /// Symbol polls that failed in all.
    pub errors: usize,
    /// Polls that took longer than --every (the next one started late).
    pub overruns: u64,
    /// The first few error lines.
    pub sample_errors: Vec<String>,
    /// The last poll's instant.
    pub last_tick_at: Option<Timestamp>,
    /// The quotes in the cache at the end.
    pub quotes: Vec<Quote>,
    /// With `--bars`: finished 1-minute bars built from the quotes and newly stored.
    pub bars_stored: u64,
    /// With `--bars`: finished bars not written because the store already had that minute
    /// (bars built from quotes never replace stored bars; see [`store_bars`]).
    pub bars_kept: u64,
    /// With `--bars`: minutes whose bars could not be stored (the error is in the sample).
    pub bar_errors: u64,
}

impl CollectSummary {
    /// Most error lines kept as a sample.
    pub const SAMPLE_ERRORS: usize = 10;

    /// Adds one poll's report to the totals (keeping the first error lines as a sample).
    pub fn record(&mut self, report: TickReport) {
        self.ticks += 1;
        self.written += report.written;
        self.errors += report.errors.len();
        self.last_tick_at = report.at;
        let room = Self::SAMPLE_ERRORS.saturating_sub(self.sample_errors.len());
        self.sample_errors
            .extend(report.errors.into_iter().take(room));
    }

    /// Adds what storing one finished minute's bars did (an error is counted and sampled).
    pub fn record_bars(&mut self, result: Result<ImportSummary, AppError>) {
        match result {
            Ok(s) => {
                self.bars_stored += s.bars_inserted;
                self.bars_kept += s.bars_kept + s.bars_unchanged;
            }
            Err(e) => {
                self.bar_errors += 1;
                if self.sample_errors.len() < Self::SAMPLE_ERRORS {
                    self.sample_errors.push(format!("bars: {e}"));
                }
            }
        }
    }
}

/// Seconds in a built bar (1 minute).
const MINUTE_SECONDS: i64 = 60;

/// Start of the minute holding `t` (UTC, whole seconds).
fn minute_start(t: Timestamp) -> Timestamp {
    let secs = t.as_second();
    Timestamp::from_second(secs - secs.rem_euclid(MINUTE_SECONDS)).unwrap_or(t)
}

/// A finished 1-minute bar built from quotes.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltBar {
    /// The symbol quoted.
    pub symbol: Symbol,
    /// Currency of the prices (the quotes').
    pub currency: Currency,
    /// The bar, stamped by the minute's start (UTC) like stored minute bars: it covers
    /// `[ts, ts + 60 s)` and closes at `ts + 60 s`. Prices per share in `currency`; volume in
    /// shares (or coins), `0` when the source gives no cumulative volume.
    pub bar: Bar,
}

/// One symbol's minute being built.
#[derive(Debug, Clone)]
struct OpenMinute {
    start: Timestamp,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    currency: Currency,
    /// False for the symbol's first minute: the collector started inside it, so its opening
    /// trades were not seen and it is never emitted.
    whole: bool,
}

/// What the builder knows of one symbol.
#[derive(Debug, Clone)]
struct SymbolBars {
    /// Time of the last accepted quote.
    last_time: Timestamp,
    /// Cumulative volume of the last quote that had one.
    last_volume: Option<Decimal>,
    minute: OpenMinute,
}

/// Aggregates polled quotes into 1-minute OHLCV bars per symbol (pure: no clock, no I/O).
///
/// - A quote falls in the minute of its own `time` (the source's stamp); the bar is stamped by
///   the minute's start, as stored intraday bars are (it closes one minute later).
/// - A minute's bar is returned only when a quote of a later minute of the same symbol arrives:
///   never a half-finished minute. A minute with no quote gives no bar (a gap stays a gap).
/// - The first minute seen of each symbol is never emitted: the collector started inside it.
/// - open/high/low/close are the first, highest, lowest and last `last` price of the minute's
///   quotes.
/// - volume is the sum of the increases of the quotes' cumulative day volume from each quote
///   to the next, counted in the minute of the later quote (so what traded between the last
///   quote of one minute and the first of the next is counted in the next); a cumulative volume
///   that goes down (a new session restarted it) counts its new value. `0` when the source
///   gives no cumulative volume.
/// - A quote older than the last accepted one of its symbol is ignored (an out-of-order or
///   stale poll must not rewrite a minute).
#[derive(Debug, Default)]
pub struct BarBuilder {
    symbols: HashMap<Symbol, SymbolBars>,
}

impl BarBuilder {
    /// A builder that has seen no quote.
    pub fn new() -> Self {
        BarBuilder::default()
    }

    /// Feeds one quote; returns the bar of the symbol's previous minute when this quote is the
    /// first of a later minute (and that minute is whole, see the type's doc).
    pub fn push(&mut self, quote: &Quote) -> Option<BuiltBar> {
        let start = minute_start(quote.time);
        let Some(state) = self.symbols.get_mut(&quote.symbol) else {
            self.symbols.insert(
                quote.symbol.clone(),
                SymbolBars {
                    last_time: quote.time,
                    last_volume: quote.volume,
                    minute: OpenMinute::first(quote, start, false),
                },
            );
            return None;
        };
        if quote.time < state.last_time {
            return None;
        }
        let traded = match (state.last_volume, quote.volume) {
            (Some(before), Some(now)) if now >= before => now - before,
            (Some(_), Some(now)) => now,
            _ => Decimal::ZERO,
        };
        state.last_time = quote.time;
        if quote.volume.is_some() {
            state.last_volume = quote.volume;
        }
        if start == state.minute.start {
            let m = &mut state.minute;
            m.high = m.high.max(quote.last);
            m.low = m.low.min(quote.last);
            m.close = quote.last;
            m.volume += traded;
            return None;
        }
        let mut next = OpenMinute::first(quote, start, true);
        next.volume = traded;
        let done = std::mem::replace(&mut state.minute, next);
        done.whole.then(|| done.finish(&quote.symbol))
    }
}

impl OpenMinute {
    fn first(quote: &Quote, start: Timestamp, whole: bool) -> OpenMinute {
        OpenMinute {
            start,
            open: quote.last,
            high: quote.last,
            low: quote.last,
            close: quote.last,
            volume: Decimal::ZERO,
            currency: quote.currency,
            whole,
        }
    }

    fn finish(self, symbol: &Symbol) -> BuiltBar {
        let f = pulse_core::money::money_to_f64;
        BuiltBar {
            symbol: symbol.clone(),
            currency: self.currency,
            bar: Bar {
                ts: self.start,
                open: f(self.open),
                high: f(self.high),
                low: f(self.low),
                close: f(self.close),
                adj_close: None,
                volume: Some(f(self.volume)),
            },
        }
    }
}

/// Stores one finished minute's bars (any symbols) in ONE import through the store's import
/// path, as 1m bars of each symbol's stored instrument (inferred from the symbol, in the
/// quotes' currency, when none is stored). `source` names the quote source in the import log
/// (`collect:<source>`).
///
/// Bars built from polled quotes are derived data, so they are imported with
/// [`ImportPolicy::InsertOnly`]: a minute already stored (a vendor's minute bar, or a previous
/// collector's) is kept and counted in [`ImportSummary::bars_kept`], never replaced.
pub async fn store_bars<S: Store + Sync>(
    store: &S,
    bars: &[BuiltBar],
    source: &str,
) -> Result<ImportSummary, AppError> {
    let mut batches: Vec<ImportBatch> = Vec::new();
    for built in bars {
        if let Some(batch) = batches
            .iter_mut()
            .find(|b| b.instrument.symbol == built.symbol)
        {
            batch.bars.push(built.bar);
            continue;
        }
        let instrument = match store
            .instrument(&built.symbol)
            .await
            .map_err(|e| AppError::Data(format!("store: {e}")))?
        {
            Some(i) => i,
            None => {
                let mut i = Instrument::infer(&built.symbol);
                if built.currency != Currency::None {
                    i.currency = built.currency;
                }
                i
            }
        };
        batches.push(ImportBatch {
            instrument,
            timeframe: Timeframe::M1,
            bars: vec![built.bar],
            actions: Vec::new(),
            source: format!("collect:{source}"),
        });
    }
    for batch in &mut batches {
        batch.bars.sort_by_key(|b| b.ts);
        batch.bars.dedup_by_key(|b| b.ts);
    }
    if batches.is_empty() {
        return Ok(ImportSummary::default());
    }
    store
        .import_with(&batches, ImportPolicy::InsertOnly)
        .await
        .map_err(|e| AppError::Data(format!("store bars: {e}")))
}

/// Resolves a universe to its symbols: a list as given (deduplicated, in order), or the source's
/// current top `n` by volume. At most [`MAX_SYMBOLS`].
pub async fn resolve_universe<Q: QuoteSource>(
    source: &Q,
    universe: &QuoteUniverse,
) -> Result<Vec<Symbol>, AppError> {
    let symbols = match universe {
        QuoteUniverse::Symbols(list) => {
            let mut out: Vec<Symbol> = Vec::new();
            for s in list {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            out
        }
        QuoteUniverse::TopByVolume(n) => {
            if *n == 0 {
                return Err(AppError::Usage("--top must be at least 1".into()));
            }
            source
                .top_by_volume((*n).min(MAX_SYMBOLS))
                .await
                .map_err(|e| {
                    AppError::Data(format!("{}: top by volume: {e}", source.source_name()))
                })?
        }
    };
    if symbols.is_empty() {
        return Err(AppError::Usage("no symbols to collect".into()));
    }
    if symbols.len() > MAX_SYMBOLS {
        return Err(AppError::Usage(format!(
            "{} symbols to collect; at most {MAX_SYMBOLS}",
            symbols.len()
        )));
    }
    Ok(symbols)
}

/// Polls every symbol once, concurrently, and writes each quote (and its order book of `depth`
/// levels when `depth` is given) to the cache with `ttl_seconds`. A symbol that fails is reported
/// by name and does not stop the others.
pub async fn collect_tick<Q, K, C>(
    source: &Q,
    cache: &K,
    clock: &C,
    symbols: &[Symbol],
    depth: Option<usize>,
    ttl_seconds: u64,
) -> TickReport
where
    Q: QuoteSource + Sync,
    K: QuoteCache + Sync,
    C: Clock + ?Sized,
{
    let at = clock.now();
    let polls = symbols.iter().map(|symbol| async move {
        let quote = source
            .quote(symbol)
            .await
            .map_err(|e| format!("{symbol}: {e}"))?;
        quote.validate().map_err(|e| format!("{symbol}: {e}"))?;
        let book = match depth {
            Some(d) => Some(
                source
                    .order_book(symbol, d)
                    .await
                    .map_err(|e| format!("{symbol}: order book: {e}"))?,
            ),
            None => None,
        };
        cache
            .put(&quote, book.as_ref(), ttl_seconds)
            .await
            .map_err(|e| format!("{symbol}: cache: {e}"))?;
        Ok::<(bool, Quote), String>((book.is_some(), quote))
    });
    let mut report = TickReport {
        at: Some(at),
        ..TickReport::default()
    };
    for result in join_all(polls).await {
        match result {
            Ok((with_book, quote)) => {
                report.written += 1;
                report.books += usize::from(with_book);
                report.quotes.push(quote);
            }
            Err(e) => report.errors.push(e),
        }
    }
    report
}

/// The cached quotes of `symbols` (in order); symbols without a live quote are left out.
pub async fn cached_quotes<K: QuoteCache>(
    cache: &K,
    symbols: &[Symbol],
) -> Result<Vec<Quote>, AppError> {
    let mut out = Vec::with_capacity(symbols.len());
    for symbol in symbols {
        if let Some(q) = cache
            .quote(symbol)
            .await
            .map_err(|e| AppError::Data(format!("quote cache: {e}")))?
        {
            out.push(q);
        }
    }
    Ok(out)
}

/// The time a collector polls at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CollectClock {
    /// The product's clock: time travel's instant when it is on, else the wall clock.
    Stored,
    /// A replay: `start` when the collector started (`wall_start` on the wall clock), then
    /// moving `speed` times as fast as the wall clock (1 = real time, 60 = a minute a second).
    Replay {
        /// The replayed instant at the start.
        start: Timestamp,
        /// Replayed seconds per wall-clock second (> 0).
        speed: f64,
        /// The wall clock's instant at the start.
        wall_start: Timestamp,
    },
}

impl CollectClock {
    /// A replay starting now on the wall clock; `speed` must be a finite number > 0 and at most
    /// 86,400 (a day a second).
    pub fn replay(start: Timestamp, speed: f64) -> Result<CollectClock, AppError> {
        if !(speed.is_finite() && speed > 0.0 && speed <= 86_400.0) {
            return Err(AppError::InvalidSetting {
                setting: "speed",
                reason: format!("{speed} must be a number in (0, 86400]"),
            });
        }
        Ok(CollectClock::Replay {
            start,
            speed,
            wall_start: pulse_core::WallClock.now(),
        })
    }

    /// The instant to poll at now.
    pub async fn now<S: Store>(&self, store: &S) -> Result<Timestamp, AppError> {
        match *self {
            CollectClock::Stored => Ok(crate::rebalance::clock_now(store).await?.0),
            CollectClock::Replay {
                start,
                speed,
                wall_start,
            } => {
                let wall = pulse_core::WallClock.now().duration_since(wall_start);
                let replayed = SignedDuration::try_from_secs_f64(wall.as_secs_f64() * speed)
                    .map_err(|e| AppError::State(format!("replay clock: {e}")))?;
                start
                    .checked_add(replayed)
                    .map_err(|e| AppError::State(format!("replay clock: {e}")))
            }
        }
    }
}

/// A cache error that cannot happen (the in-process cache never fails).
pub type NoCacheError = std::convert::Infallible;

struct CachedEntry {
    quote: Quote,
    book: Option<OrderBook>,
    expires: Timestamp,
}

/// The in-process quote cache: a map guarded by a mutex, entries expiring `ttl` seconds after
/// they were written by the clock's time.
pub struct MemoryQuoteCache<C> {
    clock: C,
    entries: Mutex<HashMap<Symbol, CachedEntry>>,
}

impl<C: Clock> MemoryQuoteCache<C> {
    /// An empty cache whose expiry follows `clock`.
    pub fn new(clock: C) -> Self {
        MemoryQuoteCache {
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn live<T>(&self, symbol: &Symbol, pick: impl Fn(&CachedEntry) -> Option<T>) -> Option<T> {
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(symbol) {
            Some(e) if e.expires > now => pick(e),
            Some(_) => {
                entries.remove(symbol);
                None
            }
            None => None,
        }
    }
}

impl<C: Clock> QuoteCache for MemoryQuoteCache<C> {
    type Error = NoCacheError;

    async fn put(
        &self,
        quote: &Quote,
        book: Option<&OrderBook>,
        ttl_seconds: u64,
    ) -> Result<(), NoCacheError> {
        let ttl = SignedDuration::from_secs(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 2));
        let now = self.clock.now();
        let expires = now.checked_add(ttl).unwrap_or(Timestamp::MAX);
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                quote.symbol.clone(),
                CachedEntry {
                    quote: quote.clone(),
                    book: book.cloned(),
                    expires,
                },
            );
        Ok(())
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Option<Quote>, NoCacheError> {
        Ok(self.live(symbol, |e| Some(e.quote.clone())))
    }

    async fn order_book(&self, symbol: &Symbol) -> Result<Option<OrderBook>, NoCacheError> {
        Ok(self.live(symbol, |e| e.book.clone()))
    }
}

/// Why the replay source has no quote.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// No bar of the symbol has closed by the clock's time.
    #[error("{symbol}: no {timeframe} bar closed by {at}")]
    NoBar {
        /// The symbol.
        symbol: Symbol,
        /// The replayed bar size.
        timeframe: &'static str,
        /// The clock's time.
        at: Timestamp,
    },
    /// A stored price cannot be booked.
    #[error("{symbol}: stored close {close} at {at} is not a price")]
    BadPrice {
        /// The symbol.
        symbol: Symbol,
        /// The stored close.
        close: f64,
        /// The bar's time.
        at: Timestamp,
    },
    /// The replay has no ranking to offer for the asked symbols.
    #[error("no {0} bars stored: nothing to rank by volume")]
    NothingToRank(&'static str),
}

/// What the replay knows about one symbol's current UTC day.
#[derive(Debug, Clone, Default)]
struct ReplayDay {
    /// Start of the UTC day being replayed.
    day: Option<Timestamp>,
    /// The last bar read (closed by the clock's time when read).
    last: Option<Bar>,
    /// Volume of that day's bars read so far (summed exactly, each bar's to 8 decimals).
    volume: Decimal,
    /// Traded value of that day's bars so far (Σ close × volume), for the ranking.
    value: f64,
    /// The last bar before the day (what is quoted until the day's first bar closes), looked up
    /// once per day: `Some(None)` when there is none.
    before: Option<Option<Bar>>,
}

/// A [`QuoteSource`] replaying stored bars by the clock (see the module doc). Reads only the bars
/// that closed since the previous call (keyset paging), so polling once a second costs a few
/// rows per symbol, not the day's history.
pub struct ReplayQuotes<'a, S, C: ?Sized> {
    store: &'a S,
    clock: &'a C,
    timeframe: Timeframe,
    days: Mutex<HashMap<Symbol, ReplayDay>>,
    currencies: Mutex<HashMap<Symbol, Currency>>,
}

impl<'a, S: Store + Sync, C: Clock + ?Sized> ReplayQuotes<'a, S, C> {
    /// Replays `timeframe` bars of `store` at the time `clock` tells, in each stored
    /// instrument's currency.
    pub fn new(store: &'a S, clock: &'a C, timeframe: Timeframe) -> Self {
        ReplayQuotes {
            store,
            clock,
            timeframe,
            days: Mutex::new(HashMap::new()),
            currencies: Mutex::new(HashMap::new()),
        }
    }

    /// The stored instrument's currency (read once per symbol).
    async fn currency(&self, symbol: &Symbol) -> Result<Currency, ReplayError> {
        if let Some(c) = self
            .currencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(symbol)
        {
            return Ok(*c);
        }
        let currency = self
            .store
            .instrument(symbol)
            .await
            .map_err(|e| ReplayError::Store(e.to_string()))?
            .map_or(Currency::None, |i| i.currency);
        self.currencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(symbol.clone(), currency);
        Ok(currency)
    }

    /// The bars of `symbol` that closed after `after` (exclusive) and by `now`, within `day`.
    async fn closed_bars(
        &self,
        symbol: &Symbol,
        day: Timestamp,
        after: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Vec<Bar>, ReplayError> {
        let length = SignedDuration::from_secs(self.timeframe.seconds());
        let Ok(last_start) = now.checked_sub(length) else {
            return Ok(Vec::new());
        };
        let query = BarQuery {
            symbol: symbol.clone(),
            timeframe: self.timeframe,
            start: Some(day),
            end: Some(last_start),
        };
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let page = self
                .store
                .bars_page(&query, cursor, 2_000)
                .await
                .map_err(|e| ReplayError::Store(e.to_string()))?;
            let full = page.len() == 2_000;
            cursor = page.last().map(|b| b.ts);
            out.extend(page);
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Brings the symbol's day up to the clock and returns it.
    async fn advance(&self, symbol: &Symbol) -> Result<(ReplayDay, Timestamp), ReplayError> {
        let now = self.clock.now();
        let day = utc_day_start(now);
        let known = {
            let days = self.days.lock().unwrap_or_else(|p| p.into_inner());
            days.get(symbol).cloned().unwrap_or_default()
        };
        // A new day (or time travel backwards) starts the day over.
        let mut state = match (known.day, known.last) {
            (Some(d), Some(last)) if d == day && last.ts <= now => known,
            (Some(d), None) if d == day => known,
            _ => ReplayDay {
                day: Some(day),
                ..ReplayDay::default()
            },
        };
        let fresh = self
            .closed_bars(symbol, day, state.last.map(|b| b.ts), now)
            .await?;
        for bar in fresh {
            let volume = bar.volume.unwrap_or(0.0);
            state.volume += pulse_core::money::price_to_money(volume, 8).unwrap_or_default();
            state.value += bar.close * volume;
            state.last = Some(bar);
        }
        // Nothing today yet (a stock before the open, a daily series): the last bar before the
        // day, read once a day, not at every poll.
        if state.last.is_none() && state.before.is_none() {
            state.before = Some(self.last_before(symbol, day).await?);
        }
        self.days
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(symbol.clone(), state.clone());
        if state.last.is_none()
            && let Some(Some(bar)) = state.before
        {
            let quote_day = ReplayDay {
                day: Some(day),
                last: Some(bar),
                ..ReplayDay::default()
            };
            return Ok((quote_day, now));
        }
        Ok((state, now))
    }

    /// The last bar of `symbol` that started before `day` and closed by it.
    async fn last_before(
        &self,
        symbol: &Symbol,
        day: Timestamp,
    ) -> Result<Option<Bar>, ReplayError> {
        let length = SignedDuration::from_secs(self.timeframe.seconds());
        let Ok(last_start) = day.checked_sub(length) else {
            return Ok(None);
        };
        // Look back a bounded window (a long weekend of minute bars, a month of daily ones).
        let window = SignedDuration::from_hours(24 * 10).max(length * 40);
        let start = last_start.checked_sub(window).ok();
        let query = BarQuery {
            symbol: symbol.clone(),
            timeframe: self.timeframe,
            start,
            end: Some(last_start),
        };
        let mut last = None;
        let mut cursor = None;
        loop {
            let page = self
                .store
                .bars_page(&query, cursor, 5_000)
                .await
                .map_err(|e| ReplayError::Store(e.to_string()))?;
            let full = page.len() == 5_000;
            cursor = page.last().map(|b| b.ts);
            if let Some(b) = page.last() {
                last = Some(*b);
            }
            if !full {
                break;
            }
        }
        Ok(last)
    }
}

/// Start (00:00 UTC) of the UTC day holding `t`.
fn utc_day_start(t: Timestamp) -> Timestamp {
    let secs = t.as_second();
    Timestamp::from_second(secs - secs.rem_euclid(86_400)).unwrap_or(t)
}

fn booked(value: f64, symbol: &Symbol, at: Timestamp) -> Result<Decimal, ReplayError> {
    pulse_core::money::price_to_money(value, 8)
        .filter(|d| *d > Decimal::ZERO)
        .ok_or_else(|| ReplayError::BadPrice {
            symbol: symbol.clone(),
            close: value,
            at,
        })
}

impl<S: Store + Sync, C: Clock + ?Sized> QuoteSource for ReplayQuotes<'_, S, C> {
    type Error = ReplayError;

    fn source_name(&self) -> &'static str {
        "replay"
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Quote, ReplayError> {
        let (day, now) = self.advance(symbol).await?;
        let Some(bar) = day.last else {
            return Err(ReplayError::NoBar {
                symbol: symbol.clone(),
                timeframe: self.timeframe.as_str(),
                at: now,
            });
        };
        let last = booked(bar.close, symbol, bar.ts)?;
        let close_time = bar
            .ts
            .checked_add(SignedDuration::from_secs(self.timeframe.seconds()))
            .unwrap_or(bar.ts);
        Ok(Quote {
            symbol: symbol.clone(),
            time: close_time.min(now),
            last,
            bid: None,
            ask: None,
            volume: Some(day.volume.normalize()),
            currency: self.currency(symbol).await?,
        })
    }

    /// Stored bars carry no depth: the book has no levels (the quote's `last` is the price).
    async fn order_book(&self, symbol: &Symbol, _depth: usize) -> Result<OrderBook, ReplayError> {
        let quote = self.quote(symbol).await?;
        Ok(OrderBook {
            symbol: symbol.clone(),
            time: quote.time,
            bids: Vec::new(),
            asks: Vec::new(),
            currency: quote.currency,
        })
    }

    /// The stored symbols of this bar size ranked by the value they traded this UTC day so far
    /// (Σ close × volume: units of different coins or shares are not comparable; ties by
    /// symbol), the top `n`.
    async fn top_by_volume(&self, n: usize) -> Result<Vec<Symbol>, ReplayError> {
        let series = self
            .store
            .series()
            .await
            .map_err(|e| ReplayError::Store(e.to_string()))?;
        let candidates: Vec<Symbol> = series
            .into_iter()
            .filter(|s| s.timeframe == self.timeframe)
            .map(|s| s.symbol)
            .collect();
        if candidates.is_empty() {
            return Err(ReplayError::NothingToRank(self.timeframe.as_str()));
        }
        let mut ranked = Vec::with_capacity(candidates.len());
        for symbol in candidates {
            let (day, _) = self.advance(&symbol).await?;
            ranked.push((day.value, symbol));
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(ranked.into_iter().take(n).map(|(_, s)| s).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use pulse_core::SimClock;

    fn quote(symbol: &str, last: &str) -> Quote {
        Quote {
            symbol: Symbol::try_new(symbol).unwrap(),
            time: "2024-01-02T15:00:00Z".parse().unwrap(),
            last: last.parse().unwrap(),
            bid: None,
            ask: None,
            volume: None,
            currency: Currency::Usd,
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn memory_cache_expires_by_the_clock() {
        let clock = SimClock::new("2024-01-02T15:00:00Z".parse().unwrap());
        let cache = MemoryQuoteCache::new(&clock);
        let spy = Symbol::try_new("SPY").unwrap();
        block_on(async {
            cache.put(&quote("SPY", "470.5"), None, 60).await.unwrap();
            assert_eq!(
                cache.quote(&spy).await.unwrap().unwrap().last.to_string(),
                "470.5"
            );
            clock.advance(SignedDuration::from_secs(59)).unwrap();
            assert!(cache.quote(&spy).await.unwrap().is_some());
            clock.advance(SignedDuration::from_secs(1)).unwrap();
            assert!(
                cache.quote(&spy).await.unwrap().is_none(),
                "expired at 60 s"
            );
            assert!(cache.order_book(&spy).await.unwrap().is_none());
        });
    }

    #[test]
    fn a_summary_adds_up_polls_and_keeps_a_sample_of_errors() {
        let mut summary = CollectSummary::default();
        for i in 0..4 {
            summary.record(TickReport {
                at: Some("2024-01-02T15:00:00Z".parse().unwrap()),
                written: 3,
                books: 0,
                errors: (0..4).map(|e| format!("poll {i} error {e}")).collect(),
                quotes: Vec::new(),
            });
        }
        assert_eq!(
            (summary.ticks, summary.written, summary.errors),
            (4, 12, 16)
        );
        assert_eq!(summary.sample_errors.len(), CollectSummary::SAMPLE_ERRORS);
        assert_eq!(summary.sample_errors[0], "poll 0 error 0");
        assert_eq!(summary.sample_errors[9], "poll 2 error 1");
    }

    /// A quote of `symbol` at `time` (RFC 3339) for `last`, with cumulative `volume`.
    fn q(symbol: &str, time: &str, last: &str, volume: Option<&str>) -> Quote {
        Quote {
            time: time.parse().unwrap(),
            volume: volume.map(|v| v.parse().unwrap()),
            ..quote(symbol, last)
        }
    }

    fn ohlcv(b: &BuiltBar) -> (String, f64, f64, f64, f64, Option<f64>) {
        let bar = b.bar;
        (
            bar.ts.to_string(),
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
        )
    }

    #[test]
    fn builder_makes_ohlcv_of_whole_minutes_only_when_the_next_minute_starts() {
        let mut b = BarBuilder::new();
        // 12:00 is the minute the collector started in: never emitted.
        assert_eq!(
            b.push(&q("BTC", "2024-01-02T12:00:40Z", "99", Some("1000"))),
            None
        );
        assert_eq!(
            b.push(&q("BTC", "2024-01-02T12:00:59Z", "98", Some("1001"))),
            None
        );
        // The 12:01 minute: open 100, high 103, low 97, close 101; nothing until 12:02.
        for (t, last, vol) in [
            ("2024-01-02T12:01:00Z", "100", "1003"),
            ("2024-01-02T12:01:10Z", "103", "1004.5"),
            ("2024-01-02T12:01:20Z", "97", "1004.5"),
            ("2024-01-02T12:01:59.900Z", "101", "1010"),
        ] {
            assert_eq!(b.push(&q("BTC", t, last, Some(vol))), None, "{t}");
        }
        let done = b
            .push(&q("BTC", "2024-01-02T12:02:01Z", "102", Some("1012")))
            .expect("12:01 is finished");
        assert_eq!(done.symbol.as_str(), "BTC");
        assert_eq!(done.currency, Currency::Usd);
        // Volume: 1010 − 1001 (the last cumulative volume before the minute).
        assert_eq!(
            ohlcv(&done),
            (
                "2024-01-02T12:01:00Z".into(),
                100.0,
                103.0,
                97.0,
                101.0,
                Some(9.0)
            )
        );
        // 12:02 holds one quote; 12:03 has none (a gap, no bar); 12:04 finishes 12:02 only.
        let done = b
            .push(&q("BTC", "2024-01-02T12:04:30Z", "104", Some("1020")))
            .unwrap();
        assert_eq!(
            ohlcv(&done),
            (
                "2024-01-02T12:02:00Z".into(),
                102.0,
                102.0,
                102.0,
                102.0,
                Some(2.0)
            )
        );
        // A new session restarting the cumulative volume counts its new value.
        let done = b
            .push(&q("BTC", "2024-01-02T12:05:00Z", "105", Some("3")))
            .unwrap();
        assert_eq!(done.bar.ts.to_string(), "2024-01-02T12:04:00Z");
        assert_eq!(done.bar.volume, Some(8.0), "1020 - 1012");
        assert_eq!(
            b.push(&q("BTC", "2024-01-02T12:06:00Z", "105", Some("3")))
                .unwrap()
                .bar
                .volume,
            Some(3.0)
        );
    }

    #[test]
    fn builder_volume_is_zero_without_cumulative_volume() {
        let mut b = BarBuilder::new();
        b.push(&q("SPY", "2024-01-02T15:00:00Z", "470", None));
        b.push(&q("SPY", "2024-01-02T15:01:00Z", "471", None));
        let done = b
            .push(&q("SPY", "2024-01-02T15:02:00Z", "472", None))
            .unwrap();
        assert_eq!(
            ohlcv(&done),
            (
                "2024-01-02T15:01:00Z".into(),
                471.0,
                471.0,
                471.0,
                471.0,
                Some(0.0)
            )
        );
    }

    #[test]
    fn builder_ignores_quotes_older_than_the_last_one() {
        let mut b = BarBuilder::new();
        b.push(&q("SPY", "2024-01-02T15:00:30Z", "470", Some("10")));
        b.push(&q("SPY", "2024-01-02T15:01:30Z", "471", Some("12")));
        // Older than 15:01:30: ignored, in this minute or an earlier one.
        assert_eq!(
            b.push(&q("SPY", "2024-01-02T15:01:10Z", "400", Some("11"))),
            None
        );
        assert_eq!(
            b.push(&q("SPY", "2024-01-02T15:00:50Z", "500", Some("11"))),
            None
        );
        // The same instant polled again is the same snapshot: accepted.
        assert_eq!(
            b.push(&q("SPY", "2024-01-02T15:01:30Z", "471", Some("12"))),
            None
        );
        let done = b
            .push(&q("SPY", "2024-01-02T15:02:00Z", "472", Some("15")))
            .unwrap();
        assert_eq!(
            ohlcv(&done),
            (
                "2024-01-02T15:01:00Z".into(),
                471.0,
                471.0,
                471.0,
                471.0,
                Some(2.0)
            )
        );
        // Going back after a finished minute does not reopen it.
        assert_eq!(
            b.push(&q("SPY", "2024-01-02T15:01:59Z", "1", Some("15"))),
            None
        );
        let done = b
            .push(&q("SPY", "2024-01-02T15:03:00Z", "473", Some("16")))
            .unwrap();
        assert_eq!(done.bar.ts.to_string(), "2024-01-02T15:02:00Z");
        assert_eq!((done.bar.low, done.bar.volume), (472.0, Some(3.0)));
    }

    #[test]
    fn builder_keeps_symbols_apart() {
        let mut b = BarBuilder::new();
        let mut done = Vec::new();
        for quote in [
            q("AAA", "2024-01-02T15:00:10Z", "10", Some("1")),
            q("BBB", "2024-01-02T15:00:20Z", "20", Some("5")),
            q("AAA", "2024-01-02T15:01:10Z", "11", Some("2")),
            q("BBB", "2024-01-02T15:01:20Z", "21", Some("7")),
            q("AAA", "2024-01-02T15:01:40Z", "12", Some("4")),
            // AAA's next minute finishes AAA only; BBB's 15:01 waits for BBB's next quote.
            q("AAA", "2024-01-02T15:02:00Z", "13", Some("4")),
            q("BBB", "2024-01-02T15:01:50Z", "19", Some("8")),
            q("BBB", "2024-01-02T15:03:00Z", "22", Some("9")),
        ] {
            done.extend(b.push(&quote));
        }
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].symbol.as_str(), "AAA");
        assert_eq!(
            ohlcv(&done[0]),
            (
                "2024-01-02T15:01:00Z".into(),
                11.0,
                12.0,
                11.0,
                12.0,
                Some(3.0)
            )
        );
        assert_eq!(done[1].symbol.as_str(), "BBB");
        assert_eq!(
            ohlcv(&done[1]),
            (
                "2024-01-02T15:01:00Z".into(),
                21.0,
                21.0,
                19.0,
                19.0,
                Some(3.0)
            )
        );
    }

    #[test]
    fn minute_start_truncates_to_the_minute() {
        let t: Timestamp = "2021-04-05T13:37:59.999Z".parse().unwrap();
        assert_eq!(minute_start(t).to_string(), "2021-04-05T13:37:00Z");
    }

    #[test]
    fn utc_day_start_truncates_to_midnight() {
        let t: Timestamp = "2021-04-05T13:37:12Z".parse().unwrap();
        assert_eq!(utc_day_start(t).to_string(), "2021-04-05T00:00:00Z");
        let midnight: Timestamp = "2021-04-05T00:00:00Z".parse().unwrap();
        assert_eq!(utc_day_start(midnight), midnight);
    }
}
