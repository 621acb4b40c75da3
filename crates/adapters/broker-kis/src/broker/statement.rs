//! [`AccountStatement`] for [`KisBroker`]: holdings with KIS's average purchase price
//! (`pchs_avg_pric`) and current price (`prpr` domestic, `now_pric2` overseas), and the day's
//! orders of both markets from the daily inquiries. Read only: the fill cursor and the journal
//! are left alone.

use super::{DOMESTIC_BALANCE, KisBroker, OVERSEAS_BALANCE, PAGING_100, PAGING_200, status_of};
use crate::error::KisError;
use crate::journal::{Market, OrderJournal};
use crate::token::TokenCache;
use crate::tr::Tr;
use crate::wire::{decimal_or_zero, rows, text};
use pulse_core::ClientOrderId;
use pulse_execution::{AccountStatement, BrokerHolding, DayOrder};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

/// A positive decimal field, or `None` when it is empty or zero.
fn positive(r: &Value, field: &str, what: &'static str) -> Result<Option<Decimal>, KisError> {
    let v = decimal_or_zero(r, field, what)?;
    Ok((v > Decimal::ZERO).then_some(v))
}

impl<T: TokenCache, J: OrderJournal> KisBroker<T, J> {
    async fn statement_holdings(&self) -> Result<Vec<BrokerHolding>, KisError> {
        let (cano, prod) = self.cano();
        let mut book: BTreeMap<String, BrokerHolding> = BTreeMap::new();
        let q: Vec<(&str, String)> = vec![
            ("CANO", cano.clone()),
            ("ACNT_PRDT_CD", prod.clone()),
            ("AFHR_FLPR_YN", "N".into()),
            ("OFL_YN", String::new()),
            ("INQR_DVSN", "02".into()),
            ("UNPR_DVSN", "01".into()),
            ("FUND_STTL_ICLD_YN", "N".into()),
            ("FNCG_AMT_AUTO_RDPT_YN", "N".into()),
            ("PRCS_DVSN", "00".into()),
        ];
        let pages = self
            .session
            .get_pages(DOMESTIC_BALANCE, Tr::DomesticBalance, &q, PAGING_100)
            .await?;
        for p in &pages {
            for r in rows(p, "output1") {
                let quantity = decimal_or_zero(r, "hldg_qty", "balance")?;
                if quantity.is_zero() {
                    continue;
                }
                let symbol = self.symbol_field(r, "pdno", "balance")?;
                // A row repeated across pages counts once.
                book.insert(
                    format!("d:{symbol}"),
                    BrokerHolding {
                        symbol,
                        quantity,
                        currency: "KRW".into(),
                        avg_price: positive(r, "pchs_avg_pric", "balance")?,
                        price: positive(r, "prpr", "balance")?,
                    },
                );
            }
        }
        let q: Vec<(&str, String)> = vec![
            ("CANO", cano),
            ("ACNT_PRDT_CD", prod),
            ("OVRS_EXCG_CD", self.exchange.order_code().into()),
            ("TR_CRCY_CD", "USD".into()),
        ];
        let pages = self
            .session
            .get_pages(OVERSEAS_BALANCE, Tr::OverseasBalance, &q, PAGING_200)
            .await?;
        for p in &pages {
            for r in rows(p, "output1") {
                let quantity = decimal_or_zero(r, "ovrs_cblc_qty", "overseas balance")?;
                if quantity.is_zero() {
                    continue;
                }
                let symbol = self.symbol_field(r, "ovrs_pdno", "overseas balance")?;
                let currency = match text(r, "tr_crcy_cd") {
                    c if c.is_empty() => "USD".to_string(),
                    c => c.to_ascii_uppercase(),
                };
                book.insert(
                    format!("o:{symbol}"),
                    BrokerHolding {
                        symbol,
                        quantity,
                        currency,
                        avg_price: positive(r, "pchs_avg_pric", "overseas balance")?,
                        price: positive(r, "now_pric2", "overseas balance")?,
                    },
                );
            }
        }
        Ok(book.into_values().collect())
    }

    async fn statement_orders(&self) -> Result<Vec<DayOrder>, KisError> {
        let since = self.now();
        let mut out: BTreeMap<(u8, String), DayOrder> = BTreeMap::new();
        for (tag, market) in [(0u8, Market::Domestic), (1u8, Market::Overseas)] {
            let all = self.day_rows(market, since).await?;
            for row in &all {
                let status = status_of(row, &all, ClientOrderId(String::new()));
                let key = (tag, row.odno.trim().trim_start_matches('0').to_string());
                // Duplicate rows (an order listed twice) collapse to the one with the most filled.
                if out.get(&key).is_some_and(|o| o.filled >= row.filled) {
                    continue;
                }
                out.insert(
                    key,
                    DayOrder {
                        order_no: row.odno.clone(),
                        date: row.ord_dt.clone(),
                        symbol: row.symbol.clone(),
                        side: row.side,
                        quantity: row.quantity,
                        price: row.price,
                        filled: row.filled,
                        avg_fill_price: row.avg_price,
                        state: status.state,
                        is_cancel: row.is_cancel,
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }
}

impl<T: TokenCache, J: OrderJournal> AccountStatement for KisBroker<T, J> {
    /// Domestic and overseas `inquire-balance` (every page), with `pchs_avg_pric` and the current
    /// price (`prpr`, `now_pric2`).
    async fn holdings(&self) -> Result<Vec<BrokerHolding>, KisError> {
        self.statement_holdings().await
    }

    /// Today's rows of `inquire-daily-ccld` and `inquire-ccnl` (every page), one per order.
    async fn day_orders(&self) -> Result<Vec<DayOrder>, KisError> {
        self.statement_orders().await
    }
}
