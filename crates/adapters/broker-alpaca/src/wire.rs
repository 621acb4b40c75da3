//! Alpaca's JSON wire formats (only the fields this adapter reads) and the order-status mapping.

use pulse_execution::OrderState;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A decimal as Alpaca sends it: a string (`"15"`, `"101.25"`), or, defensively, a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Num {
    /// `"12.5"`.
    Text(String),
    /// `12.5`.
    Number(serde_json::Number),
}

impl Num {
    /// The exact decimal, or `None` when the text is not a number.
    pub(crate) fn decimal(&self) -> Option<Decimal> {
        let text = match self {
            Num::Text(s) => s.trim().to_string(),
            Num::Number(n) => n.to_string(),
        };
        Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .ok()
    }
}

/// An order object (`GET /v2/orders/...`, `POST /v2/orders`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireOrder {
    /// Alpaca's order id (a UUID).
    pub id: String,
    /// Our client order id.
    pub client_order_id: String,
    /// Ordered quantity (absent or null for notional orders).
    #[serde(default)]
    pub qty: Option<Num>,
    /// Filled quantity so far.
    #[serde(default)]
    pub filled_qty: Option<Num>,
    /// Status code (see [`map_status`]).
    pub status: String,
    /// When Alpaca received it (RFC 3339).
    #[serde(default)]
    pub submitted_at: Option<String>,
    /// When Alpaca created it (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
}

/// The body of `POST /v2/orders`.
#[derive(Debug, Serialize)]
pub(crate) struct NewOrder<'a> {
    pub symbol: &'a str,
    /// Shares, as a decimal string.
    pub qty: String,
    /// `buy` or `sell`.
    pub side: &'static str,
    /// `market` or `limit`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `day`, `gtc` or `ioc`.
    pub time_in_force: &'static str,
    /// Limit price per share, as a decimal string (limit orders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<String>,
    /// Our idempotency key (≤ 48 characters).
    pub client_order_id: &'a str,
}

/// Alpaca's error body: `{"code": 40310000, "message": "insufficient buying power"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    /// Alpaca's error message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `GET /v2/account` (the fields read).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireAccount {
    /// Cash, in the account currency.
    pub cash: Num,
}

/// One element of `GET /v2/positions`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WirePosition {
    /// The symbol.
    pub symbol: String,
    /// Shares held (negative, or with `side: short`, for a short position).
    pub qty: Num,
    /// `long` or `short`.
    #[serde(default)]
    pub side: Option<String>,
}

/// One element of `GET /v2/account/activities/FILL`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireFill {
    /// The activity id (`20190524113406977::8efc7b9a-…`): the execution id.
    pub id: String,
    /// When it executed (RFC 3339).
    pub transaction_time: String,
    /// `buy`, `sell` or `sell_short`.
    pub side: String,
    /// Shares in this execution.
    pub qty: Num,
    /// Price per share.
    pub price: Num,
    /// The symbol.
    pub symbol: String,
    /// Alpaca's id of the order it belongs to.
    pub order_id: String,
}

/// Maps Alpaca's order `status` to an [`OrderState`], given the filled and ordered quantities.
///
/// - `new` → `New` (routed to the venue, working);
/// - `accepted`, `pending_new`, `accepted_for_bidding` → `Pending` (received by Alpaca, not yet
///   working at the venue);
/// - `partially_filled` → `PartiallyFilled`;
/// - `filled` → `Filled`;
/// - `done_for_day` → `PartiallyFilled` if something filled, else `New` (no more fills today,
///   but the order is not done);
/// - `canceled` → `Canceled`; `expired` → `Expired`;
/// - `replaced` → `Canceled` (another order replaced it; this one can no longer fill);
/// - `pending_cancel`, `pending_replace` → `Pending` (a cancel or replace in progress);
/// - `rejected` → `Rejected`;
/// - `suspended` → `Pending` (not eligible for trading for now; may resume);
/// - `calculated` → `Filled` when filled ≥ ordered, else `PartiallyFilled` / `New` (done for
///   the day, settlement calculations pending);
/// - `stopped` → `PartiallyFilled` if something filled, else `New` (a fill is guaranteed but
///   not yet done);
/// - `held` → `Pending` (waiting for another order, e.g. a bracket leg);
/// - anything else → `Pending` (unknown codes are treated as not done, so they are checked
///   again rather than forgotten).
pub fn map_status(status: &str, filled: Decimal, ordered: Option<Decimal>) -> OrderState {
    let working = || {
        if filled > Decimal::ZERO {
            OrderState::PartiallyFilled
        } else {
            OrderState::New
        }
    };
    match status {
        "new" => OrderState::New,
        "accepted" | "pending_new" | "accepted_for_bidding" => OrderState::Pending,
        "partially_filled" => OrderState::PartiallyFilled,
        "filled" => OrderState::Filled,
        "done_for_day" | "stopped" => working(),
        "canceled" | "replaced" => OrderState::Canceled,
        "expired" => OrderState::Expired,
        "pending_cancel" | "pending_replace" | "suspended" | "held" => OrderState::Pending,
        "rejected" => OrderState::Rejected,
        "calculated" => match ordered {
            Some(q) if filled >= q => OrderState::Filled,
            _ => working(),
        },
        _ => OrderState::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn every_documented_status_maps() {
        let z = Decimal::ZERO;
        let q = Some(d("10"));
        let cases = [
            ("new", z, OrderState::New),
            ("accepted", z, OrderState::Pending),
            ("pending_new", z, OrderState::Pending),
            ("accepted_for_bidding", z, OrderState::Pending),
            ("partially_filled", d("3"), OrderState::PartiallyFilled),
            ("filled", d("10"), OrderState::Filled),
            ("done_for_day", z, OrderState::New),
            ("done_for_day", d("3"), OrderState::PartiallyFilled),
            ("canceled", d("3"), OrderState::Canceled),
            ("expired", z, OrderState::Expired),
            ("replaced", z, OrderState::Canceled),
            ("pending_cancel", z, OrderState::Pending),
            ("pending_replace", z, OrderState::Pending),
            ("rejected", z, OrderState::Rejected),
            ("suspended", z, OrderState::Pending),
            ("calculated", d("10"), OrderState::Filled),
            ("calculated", d("4"), OrderState::PartiallyFilled),
            ("stopped", z, OrderState::New),
            ("held", z, OrderState::Pending),
            ("something_new", z, OrderState::Pending),
        ];
        for (status, filled, want) in cases {
            assert_eq!(map_status(status, filled, q), want, "{status}");
        }
    }

    #[test]
    fn numbers_parse_from_strings_and_numbers() {
        let n: Num = serde_json::from_str("\"101.25\"").unwrap();
        assert_eq!(n.decimal(), Some(d("101.25")));
        let n: Num = serde_json::from_str("7").unwrap();
        assert_eq!(n.decimal(), Some(d("7")));
        let n: Num = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(n.decimal(), None);
    }
}
