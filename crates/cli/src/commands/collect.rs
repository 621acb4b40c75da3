//! `pulse collect` (the real-time collector's loop: flags → a quote source and a quote cache →
//! `pulse_app::quotes::collect_tick` once per `--every`, until Ctrl-C or `--ticks`; with
//! `--bars` the quotes also feed a `BarBuilder` whose finished minutes are stored) and
//! `pulse quotes` (read the cache back).

use crate::app::{App, usage};
use crate::cli::{CollectArgs, ModeArg, QuoteSourceArg, QuotesArgs};
use crate::commands::{parse_instant, parse_symbols, parse_timeframe};
use crate::live::{LiveBroker, live_broker};
use crate::output::{outln, print_json, print_table};
use cache_redis::RedisQuoteCache;
use pulse_app::quotes::{
    BarBuilder, CollectClock, CollectSummary, MemoryQuoteCache, ReplayQuotes, cached_quotes,
    collect_tick, resolve_universe, store_bars,
};
use pulse_app::trade::{BrokerChoice, TradeMode};
use pulse_core::ports::{Clock, QuoteCache, Store};
use pulse_core::{Quote, QuoteUniverse, SimClock};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The Redis URL from the flag, else the environment / config.
pub(crate) fn redis_url(app: &App, flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| app.config.cache.redis_url.clone())
        .filter(|u| !u.trim().is_empty())
}

/// Runs `pulse collect`.
pub async fn collect(app: &App, args: CollectArgs) -> anyhow::Result<()> {
    if !(args.every.is_finite() && args.every >= 0.05 && args.every <= 86_400.0) {
        return Err(usage(format!(
            "--every {} must be a number of seconds in [0.05, 86400]",
            args.every
        )));
    }
    if args.ttl == 0 {
        return Err(usage("--ttl must be at least 1 second"));
    }
    if args.depth == Some(0) {
        return Err(usage("--depth must be at least 1 level"));
    }
    let universe = match args.top {
        Some(n) => QuoteUniverse::TopByVolume(n),
        None => QuoteUniverse::Symbols(parse_symbols(&args.symbols, "--symbols")?),
    };
    let timeframe = parse_timeframe(&args.timeframe)?;
    let clock = match &args.start {
        Some(start) => CollectClock::replay(parse_instant(start, false, "--start")?, args.speed)?,
        None => CollectClock::Stored,
    };
    let store = app.store().await?;
    let now = SimClock::new(clock.now(&store).await?);
    let cache_url = redis_url(app, args.redis.as_deref());
    match args.source {
        QuoteSourceArg::Replay => {
            let source = ReplayQuotes::new(&store, &now, timeframe);
            with_cache(
                app, &args, &store, &clock, &now, &source, cache_url, universe,
            )
            .await
        }
        QuoteSourceArg::Kis => {
            let mode = match args.mode {
                ModeArg::Paper => TradeMode::Paper,
                ModeArg::Live => TradeMode::Live,
            };
            let Some(LiveBroker::Kis(source)) = live_broker(BrokerChoice::Kis, mode, &store)?
            else {
                return Err(usage("--source kis needs the KIS adapter"));
            };
            with_cache(
                app,
                &args,
                &store,
                &clock,
                &now,
                source.as_ref(),
                cache_url,
                universe,
            )
            .await
        }
    }
}

/// The loop into Redis when a URL is configured, else into the in-process cache.
#[allow(clippy::too_many_arguments)]
async fn with_cache<S, Q>(
    app: &App,
    args: &CollectArgs,
    store: &S,
    clock: &CollectClock,
    now: &SimClock,
    source: &Q,
    cache_url: Option<String>,
    universe: QuoteUniverse,
) -> anyhow::Result<()>
where
    S: Store + Sync,
    Q: pulse_core::ports::QuoteSource + Sync,
{
    match cache_url {
        Some(url) => {
            let cache = RedisQuoteCache::connect(&url, &args.prefix).await?;
            let name = format!("redis {}", cache.target());
            run_loop(app, args, store, clock, now, source, &cache, name, universe).await
        }
        None => {
            let cache = MemoryQuoteCache::new(now);
            run_loop(
                app,
                args,
                store,
                clock,
                now,
                source,
                &cache,
                "memory".into(),
                universe,
            )
            .await
        }
    }
}

/// Polls until Ctrl-C or `--ticks`, then prints the summary and the cached quotes.
#[allow(clippy::too_many_arguments)]
async fn run_loop<S, Q, K>(
    app: &App,
    args: &CollectArgs,
    store: &S,
    clock: &CollectClock,
    now: &SimClock,
    source: &Q,
    cache: &K,
    cache_name: String,
    universe: QuoteUniverse,
) -> anyhow::Result<()>
where
    S: Store + Sync,
    Q: pulse_core::ports::QuoteSource + Sync,
    K: QuoteCache + Sync,
{
    let symbols = resolve_universe(source, &universe).await?;
    let mut summary = CollectSummary {
        source: source.source_name(),
        cache: cache_name,
        symbols: symbols.clone(),
        ..CollectSummary::default()
    };
    if app.progress() {
        eprintln!(
            "Collecting {} symbol(s) from {} into {} every {} s (Ctrl-C stops)…",
            symbols.len(),
            summary.source,
            summary.cache,
            args.every
        );
    }
    let (stop, ctrl_c) = crate::app::ctrl_c_flag();
    let mut builder = args.bars.then(BarBuilder::new);
    let period = Duration::from_secs_f64(args.every);
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) && args.ticks.is_none_or(|n| summary.ticks < n) {
        now.set(clock.now(store).await?);
        let mut report = collect_tick(source, cache, now, &symbols, args.depth, args.ttl).await;
        if let Some(builder) = builder.as_mut() {
            let finished: Vec<_> = std::mem::take(&mut report.quotes)
                .iter()
                .filter_map(|q| builder.push(q))
                .collect();
            if !finished.is_empty() {
                summary.record_bars(store_bars(store, &finished, summary.source).await);
            }
        }
        summary.record(report);
        if app.progress() && summary.ticks.is_multiple_of(60) {
            eprintln!(
                "{} polls, {} quotes, {} errors (clock {})",
                summary.ticks,
                summary.written,
                summary.errors,
                now.now()
            );
        }
        if args.ticks.is_some_and(|n| summary.ticks >= n) {
            break;
        }
        next += period;
        let wait = next.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            summary.overruns += 1;
            next = Instant::now();
        }
        let deadline = Instant::now() + wait;
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            tokio::time::sleep(
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            )
            .await;
        }
    }
    ctrl_c.abort();
    summary.quotes = cached_quotes(cache, &symbols).await?;
    if app.json {
        return print_json(&summary);
    }
    outln!(
        "{} polls of {} symbol(s) from {} into {}: {} quotes written, {} failed, {} late polls.",
        summary.ticks,
        summary.symbols.len(),
        summary.source,
        summary.cache,
        summary.written,
        summary.errors,
        summary.overruns
    )?;
    if args.bars {
        outln!(
            "1-minute bars from the quotes: {} stored, {} already stored (kept), {} minutes failed.",
            summary.bars_stored,
            summary.bars_kept,
            summary.bar_errors
        )?;
    }
    for e in &summary.sample_errors {
        outln!("  error: {e}")?;
    }
    print_quotes(&summary.quotes)
}

fn print_quotes(quotes: &[Quote]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = quotes
        .iter()
        .map(|q| {
            vec![
                q.symbol.to_string(),
                q.time.to_string(),
                q.last.normalize().to_string(),
                q.bid.map_or("-".into(), |v| v.normalize().to_string()),
                q.ask.map_or("-".into(), |v| v.normalize().to_string()),
                q.volume.map_or("-".into(), |v| v.normalize().to_string()),
            ]
        })
        .collect();
    print_table(&["symbol", "time", "last", "bid", "ask", "volume"], &rows)
}

/// Runs `pulse quotes`.
pub async fn quotes(app: &App, args: QuotesArgs) -> anyhow::Result<()> {
    let symbols = parse_symbols(&args.symbols, "SYMBOLS")?;
    let Some(url) = redis_url(app, args.redis.as_deref()) else {
        return Err(usage(
            "no quote cache to read: pass --redis URL (or set [cache] redis_url / PULSE_REDIS_URL); \
             without Redis the quotes live inside the `pulse collect` process",
        ));
    };
    let cache = RedisQuoteCache::connect(&url, &args.prefix).await?;
    let found = cached_quotes(&cache, &symbols).await?;
    if app.json {
        return print_json(&found);
    }
    let missing: Vec<String> = symbols
        .iter()
        .filter(|s| !found.iter().any(|q| &q.symbol == *s))
        .map(ToString::to_string)
        .collect();
    print_quotes(&found)?;
    if !missing.is_empty() {
        outln!(
            "No live quote (never collected or expired): {}",
            missing.join(", ")
        )?;
    }
    Ok(())
}
