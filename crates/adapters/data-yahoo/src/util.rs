//! Helpers shared by the two sources: time labels, range filtering, decimals, instruments.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use pulse_core::rust_decimal::Decimal;
use pulse_core::{AssetClass, Bar, CorporateAction, Currency, Exchange, Instrument, Symbol};

/// A trading date as a daily-bar timestamp: the date at 00:00 UTC.
pub(crate) fn date_at_midnight_utc(date: Date) -> Result<Timestamp, jiff::Error> {
    Ok(date.to_zoned(TimeZone::UTC)?.timestamp())
}

/// Sorts bars by time and keeps the last bar of each timestamp (a source's later correction).
pub(crate) fn dedup_sorted(mut bars: Vec<Bar>) -> Vec<Bar> {
    bars.sort_by_key(|b| b.ts);
    let mut out: Vec<Bar> = Vec::with_capacity(bars.len());
    for bar in bars {
        match out.last_mut() {
            Some(last) if last.ts == bar.ts => *last = bar,
            _ => out.push(bar),
        }
    }
    out
}

/// Keeps the bars with `start <= ts < end` and the actions whose ex-date falls on a UTC day that
/// meets `[start, end)`; sorts both and removes duplicate actions.
pub(crate) fn filter_range(
    bars: Vec<Bar>,
    mut actions: Vec<CorporateAction>,
    start: Timestamp,
    end: Timestamp,
) -> (Vec<Bar>, Vec<CorporateAction>) {
    let bars = dedup_sorted(bars)
        .into_iter()
        .filter(|b| b.ts >= start && b.ts < end)
        .collect();
    let first_day = start.to_zoned(TimeZone::UTC).date();
    actions.retain(|a| {
        a.ex_date >= first_day
            && date_at_midnight_utc(a.ex_date)
                .map(|t| t < end)
                .unwrap_or(false)
    });
    actions.sort_by(|a, b| (a.ex_date, a.kind_name()).cmp(&(b.ex_date, b.kind_name())));
    actions.dedup_by(|a, b| a.ex_date == b.ex_date && a.kind_name() == b.kind_name());
    (bars, actions)
}

/// An `f64` as the decimal it prints as (`0.1` → `0.1`, not `0.1000000000000000055…`).
pub(crate) fn f64_to_decimal(v: f64) -> Option<Decimal> {
    if !v.is_finite() {
        return None;
    }
    format!("{v}").parse::<Decimal>().ok()
}

/// The instrument described by a source's facts, over [`Instrument::infer`] as the default.
///
/// The inferred class wins when it is more specific than what sources report (a leveraged ETF
/// such as TSLL is an `ETF` to Yahoo; rates and FX are `INDEX`/`CURRENCY`).
pub(crate) fn instrument_from_facts(
    symbol: &Symbol,
    instrument_type: Option<&str>,
    currency: Option<&str>,
    exchange: Option<&str>,
) -> Instrument {
    let mut inst = Instrument::infer(symbol);
    let specific = matches!(
        inst.asset_class,
        AssetClass::LeveragedEtf | AssetClass::Rate | AssetClass::Sentiment | AssetClass::Fx
    );
    if !specific {
        let class = match instrument_type
            .map(|s| s.trim().to_ascii_uppercase())
            .as_deref()
        {
            Some("EQUITY") => Some(AssetClass::Equity),
            Some("ETF") | Some("MUTUALFUND") => Some(AssetClass::Etf),
            Some("INDEX") => Some(AssetClass::Index),
            Some("CRYPTOCURRENCY") => Some(AssetClass::Crypto),
            Some("CURRENCY") => Some(AssetClass::Fx),
            _ => None,
        };
        if let Some(class) = class {
            inst.asset_class = class;
        }
    }
    let exch = match exchange.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("NMS" | "NGM" | "NCM" | "NAS" | "NASDAQ" | "NIM") => Some(Exchange::Nasdaq),
        Some(
            "NYQ" | "NYS" | "NYSE" | "PCX" | "ASE" | "BTS" | "CBO" | "CBOE" | "WCB" | "SNP" | "DJI",
        ) => Some(Exchange::Nyse),
        Some("KSC" | "KOE" | "KRX") => Some(Exchange::Krx),
        Some("CCC" | "CCY") => Some(Exchange::Crypto),
        _ => None,
    };
    if let Some(e) = exch {
        inst.exchange = e;
    }
    if inst.asset_class == AssetClass::Crypto {
        inst.exchange = Exchange::Crypto;
    }
    if matches!(
        inst.asset_class,
        AssetClass::Index | AssetClass::Rate | AssetClass::Sentiment
    ) {
        // Index points and yields are not prices, whatever currency the source labels them with.
        inst.currency = Currency::None;
    } else if let Some(c) = currency.and_then(|c| c.parse::<Currency>().ok())
        && c != Currency::None
    {
        inst.currency = c;
    }
    inst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::try_new(s).unwrap()
    }

    #[test]
    fn facts_refine_but_do_not_erase_leverage() {
        let tsll = instrument_from_facts(&sym("TSLL"), Some("ETF"), Some("USD"), Some("NMS"));
        assert_eq!(tsll.asset_class, AssetClass::LeveragedEtf);
        assert_eq!(tsll.leverage, 2.0);
        assert_eq!(tsll.underlying, Some(sym("TSLA")));
        let spy = instrument_from_facts(&sym("ARKK"), Some("ETF"), Some("USD"), Some("PCX"));
        assert_eq!(
            (spy.asset_class, spy.exchange),
            (AssetClass::Etf, Exchange::Nyse)
        );
        let vix = instrument_from_facts(&sym("^GSPC"), Some("INDEX"), Some("USD"), Some("SNP"));
        assert_eq!(
            (vix.asset_class, vix.currency),
            (AssetClass::Index, Currency::None)
        );
        let btc = instrument_from_facts(
            &sym("BTC-USD"),
            Some("CRYPTOCURRENCY"),
            Some("USD"),
            Some("CCC"),
        );
        assert_eq!(
            (btc.asset_class, btc.exchange),
            (AssetClass::Crypto, Exchange::Crypto)
        );
        let eur = instrument_from_facts(&sym("SAP"), Some("EQUITY"), Some("EUR"), Some("GER"));
        assert_eq!(
            eur.currency,
            Currency::Usd,
            "unknown currencies keep the inferred one"
        );
    }

    #[test]
    fn decimals_print_like_the_source() {
        assert_eq!(f64_to_decimal(0.1).unwrap().to_string(), "0.1");
        assert_eq!(
            f64_to_decimal(0.6510000228881836).unwrap().to_string(),
            "0.6510000228881836"
        );
        assert!(f64_to_decimal(f64::NAN).is_none());
        assert!(f64_to_decimal(1e300).is_none());
    }
}
