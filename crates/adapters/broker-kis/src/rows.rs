//! The day's orders as KIS's inquiries list them (`inquire-daily-ccld` domestic, `inquire-ccnl`
//! overseas), normalized into [`OrderRow`]s, and the order status derived from them.
//!
//! Both inquiries list one row per order with cumulative totals (ordered, filled quantity and
//! amount, remaining), not one row per execution; a cancel is an order of its own whose row
//! names the original order (`orgn_odno`).

use crate::error::KisError;
use crate::journal::{Market, same_order_no};
use crate::token::kst;
use crate::wire::{decimal_or_zero, text};
use pulse_core::jiff::civil::DateTime;
use pulse_core::jiff::tz::TimeZone;
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::{ClientOrderId, Side};
use pulse_execution::{OrderState, OrderStatus};
use rust_decimal::Decimal;
use serde_json::Value;

/// One order of the day as KIS lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderRow {
    /// Domestic or overseas.
    pub market: Market,
    /// Order number (`odno`).
    pub odno: String,
    /// Order branch number (`ord_gno_brno`), used as the forwarding organisation number of a
    /// cancel when the order's own answer was lost.
    pub orgno: String,
    /// The original order of a modify/cancel (`orgn_odno`), else empty.
    pub orig_odno: String,
    /// True for a cancel order's own row.
    pub is_cancel: bool,
    /// Symbol (`pdno`).
    pub symbol: String,
    /// Buy or sell (`sll_buy_dvsn_cd` 02 / 01).
    pub side: Option<Side>,
    /// Shares ordered.
    pub quantity: Decimal,
    /// Order price per share (0 for a market order).
    pub price: Decimal,
    /// Shares filled so far (cumulative).
    pub filled: Decimal,
    /// Notional filled so far (cumulative).
    pub filled_amount: Decimal,
    /// Average fill price, as KIS reports it.
    pub avg_price: Decimal,
    /// Shares still working.
    pub remaining: Decimal,
    /// Shares whose cancel KIS confirmed on this row.
    pub canceled: Decimal,
    /// True when (part of) the order was refused.
    pub rejected: bool,
    /// Order date `YYYYMMDD`.
    pub ord_dt: String,
    /// When KIS received the order, when the row says so.
    pub placed_at: Option<Timestamp>,
}

/// US Eastern time, the zone of overseas order dates.
pub(crate) fn new_york() -> TimeZone {
    TimeZone::get("America/New_York")
        .unwrap_or_else(|_| TimeZone::fixed(pulse_core::jiff::tz::offset(-5)))
}

/// `YYYYMMDD` of `ts` in `tz`.
pub(crate) fn ymd(ts: Timestamp, tz: &TimeZone) -> String {
    ts.to_zoned(tz.clone())
        .date()
        .strftime("%Y%m%d")
        .to_string()
}

/// `YYYYMMDD` of `ts` shifted by `days` in `tz`.
pub(crate) fn ymd_shift(ts: Timestamp, days: i64, tz: &TimeZone) -> String {
    let shifted = ts
        .checked_add(SignedDuration::from_hours(24 * days))
        .unwrap_or(ts);
    ymd(shifted, tz)
}

/// `YYYYMMDD` + `HHMMSS` in `tz` as an instant.
fn civil_instant(date: &str, time: &str, tz: &TimeZone) -> Option<Timestamp> {
    if date.len() != 8 || time.len() < 6 {
        return None;
    }
    let dt = DateTime::strptime("%Y%m%d%H%M%S", format!("{date}{}", &time[..6])).ok()?;
    dt.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

fn side_of(code: &str) -> Option<Side> {
    match code {
        "01" => Some(Side::Sell),
        "02" => Some(Side::Buy),
        _ => None,
    }
}

/// A row of `inquire-daily-ccld`'s `output1`.
pub(crate) fn domestic_row(v: &Value) -> Result<OrderRow, KisError> {
    const W: &str = "daily orders";
    let odno = text(v, "odno");
    let orig_odno = text(v, "orgn_odno");
    let is_cancel =
        text(v, "cncl_yn") == "Y" && !orig_odno.is_empty() && !same_order_no(&orig_odno, &odno);
    Ok(OrderRow {
        market: Market::Domestic,
        orgno: text(v, "ord_gno_brno"),
        orig_odno,
        is_cancel,
        symbol: text(v, "pdno"),
        side: side_of(&text(v, "sll_buy_dvsn_cd")),
        quantity: decimal_or_zero(v, "ord_qty", W)?,
        price: decimal_or_zero(v, "ord_unpr", W)?,
        filled: decimal_or_zero(v, "tot_ccld_qty", W)?,
        filled_amount: decimal_or_zero(v, "tot_ccld_amt", W)?,
        avg_price: decimal_or_zero(v, "avg_prvs", W)?,
        remaining: decimal_or_zero(v, "rmn_qty", W)?,
        canceled: decimal_or_zero(v, "cnc_cfrm_qty", W)?,
        rejected: decimal_or_zero(v, "rjct_qty", W)? > Decimal::ZERO,
        placed_at: civil_instant(&text(v, "ord_dt"), &text(v, "ord_tmd"), &kst()),
        ord_dt: text(v, "ord_dt"),
        odno,
    })
}

/// A row of `inquire-ccnl`'s `output`.
pub(crate) fn overseas_row(v: &Value) -> Result<OrderRow, KisError> {
    const W: &str = "overseas orders";
    let odno = text(v, "odno");
    let orig_odno = text(v, "orgn_odno");
    let is_cancel = text(v, "rvse_cncl_dvsn") == "02"
        && !orig_odno.is_empty()
        && !same_order_no(&orig_odno, &odno);
    let reason = text(v, "rjct_rson");
    let rejected =
        !reason.trim_start_matches('0').is_empty() || text(v, "prcs_stat_name").contains("거부");
    // Our own (KST) receipt time when present, else the exchange's local order time.
    let placed_at = civil_instant(&text(v, "dmst_ord_dt"), &text(v, "thco_ord_tmd"), &kst())
        .or_else(|| civil_instant(&text(v, "ord_dt"), &text(v, "ord_tmd"), &new_york()));
    Ok(OrderRow {
        market: Market::Overseas,
        orgno: text(v, "ord_gno_brno"),
        orig_odno,
        is_cancel,
        symbol: text(v, "pdno"),
        side: side_of(&text(v, "sll_buy_dvsn_cd")),
        quantity: decimal_or_zero(v, "ft_ord_qty", W)?,
        price: decimal_or_zero(v, "ft_ord_unpr3", W)?,
        filled: decimal_or_zero(v, "ft_ccld_qty", W)?,
        filled_amount: decimal_or_zero(v, "ft_ccld_amt3", W)?,
        avg_price: decimal_or_zero(v, "ft_ccld_unpr3", W)?,
        remaining: decimal_or_zero(v, "nccs_qty", W)?,
        canceled: Decimal::ZERO,
        rejected,
        placed_at,
        ord_dt: text(v, "ord_dt"),
        odno,
    })
}

/// Shares of `order` cancelled, from its own row and the rows of cancel orders naming it.
fn canceled_qty(order: &OrderRow, all: &[OrderRow]) -> Decimal {
    let from_cancels: Decimal = all
        .iter()
        .filter(|r| r.is_cancel && same_order_no(&r.orig_odno, &order.odno))
        .map(|r| {
            if r.canceled > Decimal::ZERO {
                r.canceled
            } else if r.market == Market::Overseas && r.remaining.is_zero() {
                // An overseas cancel order done: its filled (or ordered) quantity is the cancel.
                if r.filled > Decimal::ZERO {
                    r.filled
                } else {
                    r.quantity
                }
            } else {
                Decimal::ZERO
            }
        })
        .sum();
    order.canceled.max(from_cancels)
}

/// The port's view of `order`, given all rows of its day (for its cancels).
pub(crate) fn status_of(
    order: &OrderRow,
    all: &[OrderRow],
    client_id: ClientOrderId,
) -> OrderStatus {
    let filled = order.filled.max(Decimal::ZERO);
    let canceled = canceled_qty(order, all);
    let mut remaining = order.remaining.max(Decimal::ZERO);
    if canceled > Decimal::ZERO {
        remaining = remaining.min((order.quantity - filled - canceled).max(Decimal::ZERO));
    }
    let state = if order.quantity > Decimal::ZERO && filled >= order.quantity {
        OrderState::Filled
    } else if remaining.is_zero() && order.rejected {
        OrderState::Rejected
    } else if remaining.is_zero() && (canceled > Decimal::ZERO || order.quantity > Decimal::ZERO) {
        // Nothing working and not all filled: cancelled (or expired at the day's end, which
        // KIS lists the same way).
        OrderState::Canceled
    } else if filled > Decimal::ZERO {
        OrderState::PartiallyFilled
    } else {
        OrderState::New
    };
    let remaining = if state.is_done() {
        Decimal::ZERO
    } else {
        remaining
    };
    OrderStatus {
        client_id,
        broker_id: Some(order.odno.clone()),
        state,
        filled,
        remaining,
        rejected: (state == OrderState::Rejected).then(|| "refused by KIS".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn domestic_rows_and_statuses() {
        let order = domestic_row(&json!({
            "ord_dt":"20260105","ord_gno_brno":"06010","odno":"0000011111","orgn_odno":"",
            "sll_buy_dvsn_cd":"02","pdno":"005930","ord_qty":"10","ord_unpr":"70000",
            "ord_tmd":"093001","tot_ccld_qty":"4","avg_prvs":"70000","cncl_yn":"",
            "tot_ccld_amt":"280000","rmn_qty":"6","rjct_qty":"0","cnc_cfrm_qty":"0"
        }))
        .unwrap();
        assert_eq!(order.side, Some(Side::Buy));
        assert_eq!(
            order.placed_at.unwrap(),
            "2026-01-05T00:30:01Z".parse::<Timestamp>().unwrap()
        );
        let s = status_of(
            &order,
            std::slice::from_ref(&order),
            ClientOrderId("c".into()),
        );
        assert_eq!(s.state, OrderState::PartiallyFilled);
        assert_eq!((s.filled, s.remaining), (d("4"), d("6")));
        let mut done = order.clone();
        done.remaining = Decimal::ZERO;
        done.canceled = d("6");
        let cancel = domestic_row(&json!({
            "odno":"0000011112","orgn_odno":"0000011111","cncl_yn":"Y","pdno":"005930",
            "sll_buy_dvsn_cd":"02","ord_qty":"6","cnc_cfrm_qty":"6","rmn_qty":"0"
        }))
        .unwrap();
        assert!(cancel.is_cancel);
        let s = status_of(&done, &[done.clone(), cancel], ClientOrderId("c".into()));
        assert_eq!(s.state, OrderState::Canceled);
        assert_eq!((s.filled, s.remaining), (d("4"), d("0")));
    }

    #[test]
    fn malformed_numbers_name_the_field() {
        let e = domestic_row(&json!({"odno":"1","ord_qty":"ten"})).unwrap_err();
        assert!(e.to_string().contains("ord_qty"), "{e}");
    }
}
