//! [`QuoteSource`] on [`KisBroker`]: current prices, order books and the volume ranking.

use crate::broker::KisBroker;
use crate::error::KisError;
use crate::journal::{Market, OrderJournal};
use crate::token::TokenCache;
use crate::tr::Tr;
use crate::wire::{decimal, decimal_or_zero, rows, text};
use pulse_core::ports::QuoteSource;
use pulse_core::{BookLevel, Currency, OrderBook, Quote, Symbol};
use rust_decimal::Decimal;
use serde_json::Value;

/// Domestic current price.
const DOMESTIC_PRICE: &str = "/uapi/domestic-stock/v1/quotations/inquire-price";
/// Domestic order book.
const DOMESTIC_BOOK: &str = "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn";
/// Domestic volume ranking.
const VOLUME_RANK: &str = "/uapi/domestic-stock/v1/quotations/volume-rank";
/// Overseas current price.
const OVERSEAS_PRICE: &str = "/uapi/overseas-price/v1/quotations/price";
/// Overseas order book.
const OVERSEAS_BOOK: &str = "/uapi/overseas-price/v1/quotations/inquire-asking-price";
/// Rows the volume ranking returns at most.
pub const VOLUME_RANK_MAX: usize = 30;

/// Checks a book: positive prices, non-negative sizes, bids descending, asks ascending, not
/// crossed.
fn validate_book(book: &OrderBook) -> Result<(), KisError> {
    let bad = |m: String| Err(KisError::InvalidQuote(format!("{}: {m}", book.symbol)));
    for l in book.bids.iter().chain(&book.asks) {
        if l.price <= Decimal::ZERO || l.quantity < Decimal::ZERO {
            return bad(format!("level {} × {} is not valid", l.price, l.quantity));
        }
    }
    if book.bids.windows(2).any(|w| w[0].price <= w[1].price) {
        return bad("bids are not in descending price order".into());
    }
    if book.asks.windows(2).any(|w| w[0].price >= w[1].price) {
        return bad("asks are not in ascending price order".into());
    }
    if let (Some(b), Some(a)) = (book.bids.first(), book.asks.first())
        && b.price > a.price
    {
        return bad(format!(
            "best bid {} is above best ask {}",
            b.price, a.price
        ));
    }
    Ok(())
}

/// Levels `1..=10` of `price{i}` / `size{i}` (stopping at the first absent price, skipping empty
/// levels).
fn levels(
    obj: &Value,
    price: &str,
    size: &str,
    depth: usize,
    what: &'static str,
) -> Result<Vec<BookLevel>, KisError> {
    let mut out = Vec::new();
    for i in 1..=10 {
        if out.len() >= depth {
            break;
        }
        let pf = format!("{price}{i}");
        if obj.get(&pf).is_none() {
            break;
        }
        let p = decimal_or_zero(obj, &pf, what)?;
        let q = decimal_or_zero(obj, &format!("{size}{i}"), what)?;
        if p.is_zero() {
            continue;
        }
        out.push(BookLevel {
            price: p,
            quantity: q,
        });
    }
    Ok(out)
}

impl<T: TokenCache, J: OrderJournal> KisBroker<T, J> {
    fn output<'a>(
        &self,
        body: &'a Value,
        name: &str,
        what: &'static str,
    ) -> Result<&'a Value, KisError> {
        rows(body, name)
            .into_iter()
            .next()
            .ok_or_else(|| KisError::Parse {
                what,
                field: name.to_string(),
                reason: "missing".into(),
            })
    }

    async fn read_quote(&self, symbol: &Symbol) -> Result<Quote, KisError> {
        let now = self.session.clock.now();
        let quote = match Market::of(symbol) {
            Market::Domestic => {
                let q = [
                    ("FID_COND_MRKT_DIV_CODE", "J".to_string()),
                    ("FID_INPUT_ISCD", symbol.to_string()),
                ];
                let (body, _) = self
                    .session
                    .get(DOMESTIC_PRICE, Tr::DomesticPrice, &q, "")
                    .await?;
                let o = self.output(&body, "output", "quote")?;
                Quote {
                    symbol: symbol.clone(),
                    time: now,
                    last: decimal(o, "stck_prpr", "quote")?,
                    bid: None,
                    ask: None,
                    volume: Some(decimal(o, "acml_vol", "quote")?),
                    currency: Currency::Krw,
                }
            }
            Market::Overseas => {
                let q = [
                    ("AUTH", String::new()),
                    ("EXCD", self.exchange.quote_code().to_string()),
                    ("SYMB", symbol.to_string()),
                ];
                let (body, _) = self
                    .session
                    .get(OVERSEAS_PRICE, Tr::OverseasPrice, &q, "")
                    .await?;
                let o = self.output(&body, "output", "quote")?;
                Quote {
                    symbol: symbol.clone(),
                    time: now,
                    last: decimal(o, "last", "quote")?,
                    bid: None,
                    ask: None,
                    volume: Some(decimal_or_zero(o, "tvol", "quote")?),
                    currency: Currency::Usd,
                }
            }
        };
        quote.validate().map_err(KisError::InvalidQuote)?;
        Ok(quote)
    }

    async fn read_book(&self, symbol: &Symbol, depth: usize) -> Result<OrderBook, KisError> {
        let now = self.session.clock.now();
        let depth = depth.clamp(1, 10);
        let book = match Market::of(symbol) {
            Market::Domestic => {
                let q = [
                    ("FID_COND_MRKT_DIV_CODE", "J".to_string()),
                    ("FID_INPUT_ISCD", symbol.to_string()),
                ];
                let (body, _) = self
                    .session
                    .get(DOMESTIC_BOOK, Tr::DomesticOrderBook, &q, "")
                    .await?;
                let o = self.output(&body, "output1", "order book")?;
                OrderBook {
                    symbol: symbol.clone(),
                    time: now,
                    bids: levels(o, "bidp", "bidp_rsqn", depth, "order book")?,
                    asks: levels(o, "askp", "askp_rsqn", depth, "order book")?,
                    currency: Currency::Krw,
                }
            }
            Market::Overseas => {
                let q = [
                    ("AUTH", String::new()),
                    ("EXCD", self.exchange.quote_code().to_string()),
                    ("SYMB", symbol.to_string()),
                ];
                let (body, _) = self
                    .session
                    .get(OVERSEAS_BOOK, Tr::OverseasOrderBook, &q, "")
                    .await?;
                let o = self.output(&body, "output2", "order book")?;
                OrderBook {
                    symbol: symbol.clone(),
                    time: now,
                    bids: levels(o, "pbid", "vbid", depth, "order book")?,
                    asks: levels(o, "pask", "vask", depth, "order book")?,
                    currency: Currency::Usd,
                }
            }
        };
        validate_book(&book)?;
        // The best levels, checked as a quote too.
        if let (Some(b), Some(a)) = (book.bids.first(), book.asks.first()) {
            Quote {
                symbol: symbol.clone(),
                time: now,
                last: (b.price + a.price) / Decimal::TWO,
                bid: Some(b.price),
                ask: Some(a.price),
                volume: None,
                currency: book.currency,
            }
            .validate()
            .map_err(KisError::InvalidQuote)?;
        }
        Ok(book)
    }

    async fn read_top(&self, n: usize) -> Result<Vec<Symbol>, KisError> {
        let q = [
            ("FID_COND_MRKT_DIV_CODE", "J".to_string()),
            ("FID_COND_SCR_DIV_CODE", "20171".to_string()),
            ("FID_INPUT_ISCD", "0000".to_string()),
            ("FID_DIV_CLS_CODE", "0".to_string()),
            ("FID_BLNG_CLS_CODE", "0".to_string()),
            ("FID_TRGT_CLS_CODE", "111111111".to_string()),
            ("FID_TRGT_EXLS_CLS_CODE", "0000000000".to_string()),
            ("FID_INPUT_PRICE_1", String::new()),
            ("FID_INPUT_PRICE_2", String::new()),
            ("FID_VOL_CNT", String::new()),
            ("FID_INPUT_DATE_1", String::new()),
        ];
        let (body, _) = self
            .session
            .get(VOLUME_RANK, Tr::DomesticVolumeRank, &q, "")
            .await?;
        let mut out: Vec<Symbol> = Vec::new();
        for r in rows(&body, "output") {
            if out.len() >= n {
                break;
            }
            let code = text(r, "mksc_shrn_iscd");
            let s = Symbol::try_new(code).map_err(|e| KisError::Parse {
                what: "volume ranking",
                field: "mksc_shrn_iscd".into(),
                reason: self.redact(&e.to_string()),
            })?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Ok(out)
    }
}

impl<T: TokenCache, J: OrderJournal> QuoteSource for KisBroker<T, J> {
    type Error = KisError;

    fn source_name(&self) -> &'static str {
        "kis"
    }

    /// Domestic `inquire-price` (`stck_prpr` last, `acml_vol` volume; no bid/ask) or overseas
    /// `price` (`last`, `tvol`); stamped with the adapter's clock; validated.
    async fn quote(&self, symbol: &Symbol) -> Result<Quote, KisError> {
        self.read_quote(symbol).await
    }

    /// Domestic `inquire-asking-price-exp-ccn` (10 levels a side) or overseas
    /// `inquire-asking-price` (the levels KIS sends, 1 on most accounts); at most `depth` (≤ 10)
    /// levels a side; validated.
    async fn order_book(&self, symbol: &Symbol, depth: usize) -> Result<OrderBook, KisError> {
        self.read_book(symbol, depth).await
    }

    /// KRX's `volume-rank` (at most [`VOLUME_RANK_MAX`] symbols), the first `n` codes.
    async fn top_by_volume(&self, n: usize) -> Result<Vec<Symbol>, KisError> {
        self.read_top(n).await
    }
}
