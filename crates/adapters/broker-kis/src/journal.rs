//! The order journal: KIS has no client order id, so the adapter keeps client id → KIS order
//! number itself, written before each order leaves and after its answer.

use pulse_core::jiff::Timestamp;
use pulse_core::{ClientOrderId, Side, Symbol};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Which KIS market an order trades on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Market {
    /// KRX (6-digit codes such as `005930`), priced in KRW.
    Domestic,
    /// A US exchange (see [`crate::OverseasExchange`]), priced in USD.
    Overseas,
}

impl Market {
    /// The market of `symbol`: six ASCII digits are a KRX code (domestic), anything else is an
    /// overseas ticker (TSLA, TSLL). ETNs' 7-character codes (`Q…`) are not supported.
    pub fn of(symbol: &Symbol) -> Market {
        let s = symbol.as_str();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Market::Domestic
        } else {
            Market::Overseas
        }
    }
}

/// KIS's identity of an accepted order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KisOrderNo {
    /// The order number (`ODNO`).
    pub odno: String,
    /// The KRX forwarding organisation number (`KRX_FWDG_ORD_ORGNO`), needed to cancel a
    /// domestic order (empty for overseas orders).
    pub orgno: String,
    /// The order date `YYYYMMDD` as the inquiries report it (`ord_dt`; KST for domestic, the
    /// exchange's local date for overseas), when known.
    #[serde(default)]
    pub ord_dt: String,
}

/// Where an order stands in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum JournalState {
    /// Recorded just before the POST; a crash here leaves the outcome unknown.
    Intent,
    /// KIS accepted it with this number.
    Placed {
        /// KIS's order number.
        order_no: KisOrderNo,
    },
    /// The POST left but no usable answer came back; resolution pending.
    Unknown,
    /// Resolution searched the day's orders and found none matching: the caller may submit again
    /// (a new POST).
    NotFound,
    /// KIS refused it (or it never left): nothing is held, a re-submission sends it again.
    Refused {
        /// Why.
        reason: String,
    },
}

/// One order as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Our idempotency key.
    pub client_id: ClientOrderId,
    /// The symbol as sent (`PDNO`).
    pub symbol: Symbol,
    /// Domestic or overseas.
    pub market: Market,
    /// Buy or sell.
    pub side: Side,
    /// Shares ordered (whole).
    pub quantity: Decimal,
    /// Limit price per share (KRW or USD); `None` for a market order.
    pub limit_price: Option<Decimal>,
    /// When the order was about to be sent (adapter's clock): an order found in KIS's day list
    /// for resolution must be placed at or after this instant.
    pub intent_at: Timestamp,
    /// Where it stands.
    pub state: JournalState,
    /// Shares already reported as fills by `take_fills` (cumulative).
    #[serde(default)]
    pub reported_qty: Decimal,
    /// Notional already reported as fills (cumulative, instrument currency).
    #[serde(default)]
    pub reported_amount: Decimal,
}

impl JournalEntry {
    /// KIS's order number, once placed.
    pub fn order_no(&self) -> Option<&KisOrderNo> {
        match &self.state {
            JournalState::Placed { order_no } => Some(order_no),
            _ => None,
        }
    }
}

/// Durable client id → KIS order mapping (the app layer implements it over its store; the
/// adapter writes an entry before an order leaves, so a restart can resolve it).
pub trait OrderJournal: Send + Sync {
    /// The store's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The entry of `client_id`, if any.
    fn get(
        &self,
        client_id: &ClientOrderId,
    ) -> impl Future<Output = Result<Option<JournalEntry>, Self::Error>> + Send;

    /// Inserts or replaces the entry of its client id.
    fn put(&self, entry: &JournalEntry) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The entry whose KIS order number is `odno` in `market`, if any.
    fn find_by_order_no(
        &self,
        market: Market,
        odno: &str,
    ) -> impl Future<Output = Result<Option<JournalEntry>, Self::Error>> + Send;
}

/// Never returned by [`MemoryOrderJournal`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("in-memory journal error")]
pub struct MemoryJournalError;

/// An [`OrderJournal`] in process memory (tests, or a process that accepts losing the mapping
/// on restart). Clones share the same map.
#[derive(Debug, Clone, Default)]
pub struct MemoryOrderJournal {
    map: Arc<Mutex<BTreeMap<ClientOrderId, JournalEntry>>>,
}

impl MemoryOrderJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<ClientOrderId, JournalEntry>) -> R) -> R {
        let mut guard = match self.map.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Every entry, by client id.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.with(|m| m.values().cloned().collect())
    }
}

impl OrderJournal for MemoryOrderJournal {
    type Error = MemoryJournalError;

    async fn get(&self, client_id: &ClientOrderId) -> Result<Option<JournalEntry>, Self::Error> {
        Ok(self.with(|m| m.get(client_id).cloned()))
    }

    async fn put(&self, entry: &JournalEntry) -> Result<(), Self::Error> {
        self.with(|m| {
            m.insert(entry.client_id.clone(), entry.clone());
        });
        Ok(())
    }

    async fn find_by_order_no(
        &self,
        market: Market,
        odno: &str,
    ) -> Result<Option<JournalEntry>, Self::Error> {
        Ok(self.with(|m| {
            m.values()
                .find(|e| {
                    e.market == market && e.order_no().is_some_and(|o| same_order_no(&o.odno, odno))
                })
                .cloned()
        }))
    }
}

/// True when two order numbers are the same number (KIS pads them with zeros in some answers:
/// `0000012345` and `12345`).
pub fn same_order_no(a: &str, b: &str) -> bool {
    let a = a.trim().trim_start_matches('0');
    let b = b.trim().trim_start_matches('0');
    !a.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_are_domestic() {
        let m = |s: &str| Market::of(&Symbol::try_new(s).unwrap());
        assert_eq!(m("005930"), Market::Domestic);
        assert_eq!(m("TSLA"), Market::Overseas);
        assert_eq!(m("TSLL"), Market::Overseas);
        assert_eq!(m("00593"), Market::Overseas);
        assert_eq!(m("0059300"), Market::Overseas);
    }

    #[test]
    fn order_numbers_compare_without_padding() {
        assert!(same_order_no("0000012345", "12345"));
        assert!(!same_order_no("12345", "12346"));
        assert!(!same_order_no("000", "0"));
    }
}
