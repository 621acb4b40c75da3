//! Instruments: what a symbol is, where it trades and in which currency.

use crate::error::CoreError;
use crate::symbol::Symbol;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A trading venue, which fixes the session calendar of a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exchange {
    /// New York Stock Exchange (America/New_York; also used for NYSE Arca ETFs and CBOE indices).
    Nyse,
    /// Nasdaq (America/New_York; same holidays and hours as NYSE).
    Nasdaq,
    /// Korea Exchange (Asia/Seoul).
    Krx,
    /// Crypto venues: trading 24/7, daily sessions are UTC days.
    Crypto,
    /// No exchange (a value series such as Fear & Greed or an FX fixing): every weekday counts.
    None,
}

impl Exchange {
    /// Lower-case stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Nyse => "nyse",
            Exchange::Nasdaq => "nasdaq",
            Exchange::Krx => "krx",
            Exchange::Crypto => "crypto",
            Exchange::None => "none",
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Exchange {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nyse" => Ok(Exchange::Nyse),
            "nasdaq" => Ok(Exchange::Nasdaq),
            "krx" => Ok(Exchange::Krx),
            "crypto" => Ok(Exchange::Crypto),
            "none" => Ok(Exchange::None),
            _ => Err(CoreError::InvalidExchange(s.to_string())),
        }
    }
}

/// Currency of an instrument's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// US dollar.
    Usd,
    /// Korean won.
    Krw,
    /// Tether (crypto quote currency).
    Usdt,
    /// Not a price (index points, a 0–100 score, a yield in percent).
    None,
}

impl Currency {
    /// Upper-case stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Krw => "KRW",
            Currency::Usdt => "USDT",
            Currency::None => "NONE",
        }
    }
}

impl FromStr for Currency {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "USD" => Ok(Currency::Usd),
            "KRW" => Ok(Currency::Krw),
            "USDT" => Ok(Currency::Usdt),
            "NONE" | "" => Ok(Currency::None),
            _ => Err(CoreError::InvalidExchange(format!("currency {s}"))),
        }
    }
}

/// Broad kind of instrument; portfolio construction groups by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// A common stock.
    Equity,
    /// An exchange-traded fund.
    Etf,
    /// A daily-leveraged (or inverse) ETF; see [`Instrument::leverage`].
    LeveragedEtf,
    /// A market index (not directly tradable): VIX, NDX.
    Index,
    /// An interest rate in percent (^IRX, ^TNX).
    Rate,
    /// A sentiment score such as CNN Fear & Greed (0–100).
    Sentiment,
    /// An exchange rate.
    Fx,
    /// A crypto asset or perpetual.
    Crypto,
}

impl AssetClass {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Equity => "equity",
            AssetClass::Etf => "etf",
            AssetClass::LeveragedEtf => "leveraged_etf",
            AssetClass::Index => "index",
            AssetClass::Rate => "rate",
            AssetClass::Sentiment => "sentiment",
            AssetClass::Fx => "fx",
            AssetClass::Crypto => "crypto",
        }
    }

    /// True when the instrument can be bought and sold.
    pub fn is_tradable(self) -> bool {
        !matches!(
            self,
            AssetClass::Index | AssetClass::Rate | AssetClass::Sentiment
        )
    }
}

impl FromStr for AssetClass {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "equity" => AssetClass::Equity,
            "etf" => AssetClass::Etf,
            "leveraged_etf" => AssetClass::LeveragedEtf,
            "index" => AssetClass::Index,
            "rate" => AssetClass::Rate,
            "sentiment" => AssetClass::Sentiment,
            "fx" => AssetClass::Fx,
            "crypto" => AssetClass::Crypto,
            other => return Err(CoreError::InvalidExchange(format!("asset class {other}"))),
        })
    }
}

/// Static description of a symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// The ticker.
    pub symbol: Symbol,
    /// Where it trades (fixes the calendar).
    pub exchange: Exchange,
    /// Price currency.
    pub currency: Currency,
    /// Broad kind.
    pub asset_class: AssetClass,
    /// Daily leverage factor versus `underlying` (TSLL = 2.0 on TSLA; −1.0 for an inverse fund;
    /// 1.0 for ordinary instruments).
    pub leverage: f64,
    /// The instrument a leveraged fund tracks.
    pub underlying: Option<Symbol>,
}

/// (symbol, exchange, currency, asset class, leverage, underlying) of one known instrument.
type KnownInstrument = (
    &'static str,
    Exchange,
    Currency,
    AssetClass,
    f64,
    Option<&'static str>,
);

/// Symbols whose asset class the naming rules cannot guess, with their known facts.
const KNOWN: &[KnownInstrument] = &[
    (
        "TSLL",
        Exchange::Nasdaq,
        Currency::Usd,
        AssetClass::LeveragedEtf,
        2.0,
        Some("TSLA"),
    ),
    (
        "TSLA",
        Exchange::Nasdaq,
        Currency::Usd,
        AssetClass::Equity,
        1.0,
        None,
    ),
    (
        "VIX",
        Exchange::Nyse,
        Currency::None,
        AssetClass::Index,
        1.0,
        None,
    ),
    (
        "^VIX",
        Exchange::Nyse,
        Currency::None,
        AssetClass::Index,
        1.0,
        None,
    ),
    (
        "NDX",
        Exchange::Nasdaq,
        Currency::None,
        AssetClass::Index,
        1.0,
        None,
    ),
    (
        "^NDX",
        Exchange::Nasdaq,
        Currency::None,
        AssetClass::Index,
        1.0,
        None,
    ),
    (
        "IRX",
        Exchange::Nyse,
        Currency::None,
        AssetClass::Rate,
        1.0,
        None,
    ),
    (
        "^IRX",
        Exchange::Nyse,
        Currency::None,
        AssetClass::Rate,
        1.0,
        None,
    ),
    (
        "TNX",
        Exchange::Nyse,
        Currency::None,
        AssetClass::Rate,
        1.0,
        None,
    ),
    (
        "^TNX",
        Exchange::Nyse,
        Currency::None,
        AssetClass::Rate,
        1.0,
        None,
    ),
    (
        "FEAR_GREED",
        Exchange::None,
        Currency::None,
        AssetClass::Sentiment,
        1.0,
        None,
    ),
    (
        "USDKRW",
        Exchange::None,
        Currency::Krw,
        AssetClass::Fx,
        1.0,
        None,
    ),
    (
        "114800.KS",
        Exchange::Krx,
        Currency::Krw,
        AssetClass::LeveragedEtf,
        -1.0,
        Some("069500.KS"),
    ),
    (
        "069500.KS",
        Exchange::Krx,
        Currency::Krw,
        AssetClass::Etf,
        1.0,
        None,
    ),
];

/// US ETFs in the shared data, so that the default asset class is right for them.
const US_ETFS: &[&str] = &[
    "SPY", "QQQ", "IWM", "EEM", "EFA", "GLD", "SLV", "TLT", "IEF", "SHY", "TIP", "LQD", "HYG",
    "BIL", "DBC", "VNQ", "VIXY",
];

impl Instrument {
    /// The best default description of a symbol from its name alone: known symbols from a table,
    /// `.KS`/`.KQ` → KRX in KRW, `…USDT` → crypto, `^…` → index, otherwise a US equity.
    /// Users override it by importing with explicit metadata.
    pub fn infer(symbol: &Symbol) -> Instrument {
        let s = symbol.as_str();
        if let Some(&(_, exchange, currency, asset_class, leverage, underlying)) =
            KNOWN.iter().find(|k| k.0 == s)
        {
            return Instrument {
                symbol: symbol.clone(),
                exchange,
                currency,
                asset_class,
                leverage,
                underlying: underlying.and_then(|u| Symbol::try_new(u).ok()),
            };
        }
        let (exchange, currency, asset_class) = if s.ends_with(".KS") || s.ends_with(".KQ") {
            (Exchange::Krx, Currency::Krw, AssetClass::Equity)
        } else if s.ends_with("USDT") {
            (Exchange::Crypto, Currency::Usdt, AssetClass::Crypto)
        } else if s.starts_with('^') {
            (Exchange::Nyse, Currency::None, AssetClass::Index)
        } else if US_ETFS.contains(&s) {
            (Exchange::Nyse, Currency::Usd, AssetClass::Etf)
        } else {
            (Exchange::Nyse, Currency::Usd, AssetClass::Equity)
        };
        Instrument {
            symbol: symbol.clone(),
            exchange,
            currency,
            asset_class,
            leverage: 1.0,
            underlying: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::try_new(s).unwrap()
    }

    #[test]
    fn infers_known_and_pattern_instruments() {
        let tsll = Instrument::infer(&sym("TSLL"));
        assert_eq!(tsll.asset_class, AssetClass::LeveragedEtf);
        assert_eq!(tsll.leverage, 2.0);
        assert_eq!(tsll.underlying, Some(sym("TSLA")));
        assert_eq!(Instrument::infer(&sym("005930.KS")).exchange, Exchange::Krx);
        assert_eq!(
            Instrument::infer(&sym("BTCUSDT")).exchange,
            Exchange::Crypto
        );
        assert_eq!(Instrument::infer(&sym("SPY")).asset_class, AssetClass::Etf);
        assert!(
            !Instrument::infer(&sym("FEAR_GREED"))
                .asset_class
                .is_tradable()
        );
    }
}
