//! Reading market data out of the [`Store`] port for the use cases.

use crate::error::AppError;
use jiff::Timestamp;
use pulse_backtest::AlignedData;
use pulse_core::ports::{BarPager, BarQuery, Store};
use pulse_core::{Bar, Exchange, Instrument, Symbol, Timeframe};
use std::collections::BTreeMap;

/// Bars read per page from the store.
const PAGE: u32 = 10_000;

/// Every bar of one stored series in `[start, end]` (inclusive, `None` = unbounded), read page by
/// page. For series that fit in memory (backtests, indicators, optimization windows); use cases
/// that must stay bounded whatever the table size stream with [`BarPager`] instead.
pub async fn load_series<S: Store>(
    store: &S,
    symbol: &Symbol,
    timeframe: Timeframe,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> Result<Vec<Bar>, AppError> {
    let query = BarQuery {
        symbol: symbol.clone(),
        timeframe,
        start,
        end,
    };
    let mut pager = BarPager::new(query, PAGE);
    let mut out = Vec::new();
    while let Some(chunk) = pager.next_chunk(store).await.map_err(AppError::port)? {
        out.extend(chunk);
    }
    Ok(out)
}

/// The stored instrument of `symbol`, or the one inferred from its spelling.
pub async fn instrument_of<S: Store>(store: &S, symbol: &Symbol) -> Result<Instrument, AppError> {
    Ok(store
        .instrument(symbol)
        .await
        .map_err(AppError::port)?
        .unwrap_or_else(|| Instrument::infer(symbol)))
}

/// The one currency a multi-symbol account books in: the quote currency of every symbol's
/// instrument. Symbols quoted in different currencies are refused (the account would need FX
/// conversion, which the replays do not do), naming two that differ.
pub async fn account_currency<S: Store>(
    store: &S,
    symbols: &[Symbol],
) -> Result<pulse_core::Currency, AppError> {
    let mut found: Option<(Symbol, pulse_core::Currency)> = None;
    for s in symbols {
        let currency = instrument_of(store, s).await?.currency;
        match &found {
            None => found = Some((s.clone(), currency)),
            Some((first, c)) if *c != currency => {
                return Err(AppError::Data(format!(
                    "{first} is quoted in {} and {s} in {}: one account books one currency",
                    c.as_str(),
                    currency.as_str()
                )));
            }
            Some(_) => {}
        }
    }
    found
        .map(|(_, c)| c)
        .ok_or_else(|| AppError::setting("symbols", "must not be empty"))
}

/// The traded series of a run lined up on one timeline, with the context (mood) series and the
/// ^IRX yield series used as the risk-free rate.
#[derive(Debug, Clone)]
pub struct Market {
    /// Traded bars and context values on one timeline.
    pub data: AlignedData,
    /// The 13-week T-bill yield (percent) by date, when stored (`IRX` or `^IRX`).
    pub irx: Vec<(Timestamp, f64)>,
    /// Exchange of the first traded symbol (its calendar gives session lengths).
    pub exchange: Exchange,
}

/// Loads `traded` at `timeframe` (intraday bars outside exchange sessions dropped) with their
/// corporate actions, the daily `context` series that are stored, and the ^IRX series.
pub async fn load_market<S: Store>(
    store: &S,
    traded: &[Symbol],
    context: &[Symbol],
    timeframe: Timeframe,
) -> Result<Market, AppError> {
    let mut series = BTreeMap::new();
    let mut actions = Vec::new();
    let mut exchange = None;
    for symbol in traded {
        let mut bars = load_series(store, symbol, timeframe, None, None).await?;
        let instrument = instrument_of(store, symbol).await?;
        exchange.get_or_insert(instrument.exchange);
        if timeframe.is_intraday() {
            // Trade only inside exchange sessions: bars stamped outside one (an end-labelled
            // import, extended hours) are dropped, so no decision or fill happens there.
            let cal = pulse_core::calendar::calendar(instrument.exchange);
            bars.retain(|b| matches!(cal.session_at(b.ts), Ok(Some(_))));
        }
        if bars.is_empty() {
            return Err(AppError::Data(format!(
                "no {timeframe} bars for {symbol} in the store: import them (`pulse data import`) or run `pulse data seed`"
            )));
        }
        series.insert(symbol.clone(), bars);
        actions.extend(
            store
                .corporate_actions(symbol)
                .await
                .map_err(AppError::port)?,
        );
    }
    let mut mood = BTreeMap::new();
    for symbol in context {
        let bars = load_series(store, symbol, Timeframe::D1, None, None).await?;
        if !bars.is_empty() {
            mood.insert(symbol.clone(), bars);
        }
    }
    let mut irx = Vec::new();
    for name in ["IRX", "^IRX"] {
        let sym = Symbol::try_new(name)?;
        let bars = load_series(store, &sym, Timeframe::D1, None, None).await?;
        if !bars.is_empty() {
            irx = bars.iter().map(|b| (b.ts, b.close)).collect();
            break;
        }
    }
    Ok(Market {
        data: AlignedData::new(series, mood, &actions),
        irx,
        exchange: exchange.unwrap_or(Exchange::Nyse),
    })
}
