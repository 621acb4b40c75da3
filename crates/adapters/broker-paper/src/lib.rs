//! `broker-paper` implements [`pulse_execution::Broker`] for paper trading: an order fills at
//! the first price its [`PriceSource`] has strictly after the order's decision time (the next
//! available price in the store) and, under a clock, no later than the clock's now
//! ([`PaperBroker::match_orders_until`]), sells before buys, buys capped to the cash, priced and
//! charged by the one [`CostModel`] of every simulated execution (slippage, commission on
//! notional, booked exactly in decimals. Client order ids make re-submission idempotent, and the
//! whole book is serde-serializable so that a runtime can persist it with its own state in one
//! transaction and resume after a crash without filling anything twice.

use pulse_core::costs::{CostModel, FillCap, FillLimits, costs_or_rate};
use pulse_core::jiff::Timestamp;
use pulse_core::{BookingError, Fill, OrderRequest, Portfolio, Side, Symbol};
use pulse_core::{ClientOrderId, OrderKind, TimeInForce};
use pulse_execution::{Broker, OrderState, OrderStatus, RiskApproved};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

/// Prices the paper broker fills at.
pub trait PriceSource: Sync {
    /// The first price of `symbol` strictly after `after`, with its time; `None` if none yet.
    fn price_after(
        &self,
        symbol: &Symbol,
        after: Timestamp,
    ) -> impl Future<Output = Option<(Timestamp, Decimal)>> + Send;
}

/// Paper-broker failures.
#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    /// A fill could not be booked (a bug: the broker caps quantities first).
    #[error(transparent)]
    Booking(#[from] BookingError),
    /// The same client id was submitted with different contents.
    #[error("client order id {0} was already used for a different order")]
    Conflict(String),
    /// No order has this client id.
    #[error("no order with client order id {0}")]
    Unknown(String),
}

/// One order the book knows, with what was filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedOrder {
    /// The order as submitted.
    pub order: OrderRequest,
    /// Shares filled.
    pub filled: Decimal,
    /// Why (part of) it was refused.
    pub rejected: Option<String>,
    /// Cancelled or expired (what remains no longer works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<OrderState>,
    /// A limit order has seen the prices up to this instant without reaching its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_until: Option<Timestamp>,
    /// The UTC day (days since 1970-01-01) of the first price a limit order saw: a day order
    /// works through that day only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_day: Option<i64>,
}

impl BookedOrder {
    /// True while (part of) the order can still fill.
    pub fn is_working(&self) -> bool {
        self.rejected.is_none() && self.closed.is_none() && self.filled < self.order.quantity
    }
}

/// The paper broker's persistent book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperBook {
    /// Cash and positions.
    pub account: Portfolio,
    /// Commission, minimum fee and slippage of every fill. Books stored before the cost model
    /// (a bare `commission` rate) read as that rate without minimum fee or slippage.
    #[serde(alias = "commission", deserialize_with = "costs_or_rate")]
    pub costs: CostModel,
    /// Decimal places of the quantities a buy is cut to when the cash is short (0 = whole
    /// shares, the default and what books stored before this field hold).
    #[serde(default)]
    pub quantity_dp: u32,
    /// Currency of the book's cash (books stored before this field hold US dollars).
    #[serde(default = "default_currency")]
    pub currency: pulse_core::Currency,
    /// Every order by client id, in submission order of ids.
    pub orders: BTreeMap<String, BookedOrder>,
    /// Fills not yet taken by the runtime.
    pub unreported: Vec<Fill>,
}

impl PaperBook {
    /// A fresh book with `cash`, filling under `costs`, trading whole shares.
    pub fn new(cash: Decimal, costs: CostModel) -> Self {
        PaperBook {
            account: Portfolio::with_cash(cash),
            costs,
            quantity_dp: 0,
            currency: pulse_core::Currency::Usd,
            orders: BTreeMap::new(),
            unreported: Vec::new(),
        }
    }
}

fn default_currency() -> pulse_core::Currency {
    pulse_core::Currency::Usd
}

/// The paper broker over a book and a price source.
pub struct PaperBroker<P> {
    book: Mutex<PaperBook>,
    prices: P,
}

impl<P: PriceSource> PaperBroker<P> {
    /// A broker resuming `book`.
    pub fn new(book: PaperBook, prices: P) -> Self {
        PaperBroker {
            book: Mutex::new(book),
            prices,
        }
    }

    /// The book, for persisting.
    pub fn book(&self) -> PaperBook {
        self.book.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Credits a cash dividend of `cash_per_share` on the shares of `symbol` held now (its
    /// ex-date has come) to the book's cash; returns the amount credited (0 when none is held).
    pub fn credit_dividend(&self, symbol: &Symbol, cash_per_share: Decimal) -> Decimal {
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        let cash = book.account.quantity(symbol) * cash_per_share;
        book.account.cash += cash;
        cash
    }

    /// True when the book has an order with this client id (submitted before, in any state).
    pub fn knows(&self, client_id: &ClientOrderId) -> bool {
        self.book
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .orders
            .contains_key(&client_id.0)
    }

    /// Orders still working (submitted, not fully filled, not refused), with what remains.
    pub fn working_orders(&self) -> Vec<OrderRequest> {
        let book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        book.orders
            .values()
            .filter(|b| b.is_working())
            .map(|b| OrderRequest {
                quantity: b.order.quantity - b.filled,
                ..b.order.clone()
            })
            .collect()
    }

    /// Fills every working order that has a price after its decision time: sells first, then
    /// buys capped to the cash. Returns how many fills were made. For a replay whose prices are
    /// all in the past; a runtime under a clock uses [`PaperBroker::match_orders_until`].
    pub async fn match_orders(&self) -> Result<usize, PaperError> {
        self.match_orders_until(Timestamp::MAX).await
    }

    /// Like [`PaperBroker::match_orders`], but only at prices that exist at `now`: a price stamped
    /// after `now` (a daily close before the session has closed) is not known yet, so its
    /// order stays working and no fill is ever stamped after the clock.
    pub async fn match_orders_until(&self, now: Timestamp) -> Result<usize, PaperError> {
        let working: Vec<BookedOrder> = {
            let book = self.book.lock().unwrap_or_else(|p| p.into_inner());
            let mut w: Vec<BookedOrder> = book
                .orders
                .values()
                .filter(|b| b.is_working())
                .cloned()
                .collect();
            w.sort_by_key(|b| (b.order.side == Side::Buy, b.order.decided_at));
            w
        };
        let mut made = 0;
        for booked in working {
            let order = &booked.order;
            // The first price after the decision (or after what a limit order has already
            // seen) that the clock knows and the limit accepts.
            let mut after = booked.checked_until.unwrap_or(order.decided_at);
            let mut first_day = booked.first_day;
            let found = loop {
                let Some((ts, price)) = self
                    .prices
                    .price_after(&order.symbol, after)
                    .await
                    .filter(|(ts, _)| *ts <= now)
                else {
                    break None;
                };
                let day = ts.as_second().div_euclid(86_400);
                let first = *first_day.get_or_insert(day);
                let reaches = match order.kind {
                    OrderKind::Market => true,
                    OrderKind::Limit { price: limit } => match order.side {
                        Side::Buy => price <= limit,
                        Side::Sell => price >= limit,
                    },
                };
                let past_its_day = order.time_in_force == TimeInForce::Day
                    && order.kind != OrderKind::Market
                    && day > first;
                if reaches && !past_its_day {
                    break Some((ts, price));
                }
                let expires = past_its_day || order.time_in_force == TimeInForce::Ioc;
                let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(e) = book.orders.get_mut(&order.client_id.0) {
                    e.checked_until = Some(ts);
                    e.first_day = Some(first);
                    if expires {
                        e.closed = Some(OrderState::Expired);
                    }
                }
                if expires {
                    break None;
                }
                after = ts;
            };
            let Some((ts, price)) = found else {
                continue;
            };
            let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
            let costs = book.costs.clone();
            let Some(entry) = book.orders.get(&order.client_id.0).cloned() else {
                continue;
            };
            let requested = entry.order.quantity - entry.filled;
            let held = book.account.quantity(&order.symbol);
            let limits = FillLimits {
                quantity_dp: book.quantity_dp,
                allow_negative_cash: false,
            };
            let terms = costs.fill_terms(
                order.side,
                requested,
                price,
                held,
                book.account.cash,
                limits,
            );
            let rejected = terms.capped.map(|cap| match cap {
                FillCap::Held => format!("only {held} held"),
                FillCap::Cash => format!(
                    "cash {} affords {}",
                    book.account.cash.round_dp(2),
                    terms.quantity
                ),
            });
            let quantity = terms.quantity;
            if quantity > Decimal::ZERO {
                let fill = Fill {
                    exec_id: Some(format!("{}-{}", order.client_id.0, ts.as_second())),
                    client_id: order.client_id.clone(),
                    symbol: order.symbol.clone(),
                    side: order.side,
                    quantity,
                    price: terms.price,
                    fee: terms.fee,
                    ts,
                };
                book.account.apply_fill(&fill, false)?;
                book.unreported.push(fill);
                made += 1;
            }
            if let Some(e) = book.orders.get_mut(&order.client_id.0) {
                e.filled += quantity;
                e.rejected = rejected;
            }
        }
        Ok(made)
    }
}

fn status(b: &BookedOrder) -> OrderStatus {
    let remaining = if b.rejected.is_some() || b.closed.is_some() {
        Decimal::ZERO
    } else {
        b.order.quantity - b.filled
    };
    let state = if b.rejected.is_some() {
        OrderState::Rejected
    } else if let Some(closed) = b.closed {
        closed
    } else if b.filled >= b.order.quantity {
        OrderState::Filled
    } else if b.filled > Decimal::ZERO {
        OrderState::PartiallyFilled
    } else {
        OrderState::New
    };
    OrderStatus {
        client_id: b.order.client_id.clone(),
        broker_id: None,
        state,
        filled: b.filled,
        remaining,
        rejected: b.rejected.clone(),
    }
}

impl<P: PriceSource + Send + Sync> Broker for PaperBroker<P> {
    type Error = PaperError;

    async fn submit(&self, order: &RiskApproved<OrderRequest>) -> Result<OrderStatus, PaperError> {
        let order = order.get();
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = book.orders.get(&order.client_id.0) {
            if known.order != *order {
                return Err(PaperError::Conflict(order.client_id.0.clone()));
            }
            return Ok(status(known));
        }
        let booked = BookedOrder {
            order: order.clone(),
            filled: Decimal::ZERO,
            rejected: None,
            closed: None,
            checked_until: None,
            first_day: None,
        };
        let s = status(&booked);
        book.orders.insert(order.client_id.0.clone(), booked);
        Ok(s)
    }

    async fn take_fills(&self) -> Result<Vec<Fill>, PaperError> {
        Ok(std::mem::take(
            &mut self
                .book
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .unreported,
        ))
    }

    async fn account(&self) -> Result<Portfolio, PaperError> {
        Ok(self
            .book
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .account
            .clone())
    }

    async fn order_status(
        &self,
        client_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, PaperError> {
        let book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        Ok(book.orders.get(&client_id.0).map(status))
    }

    async fn cancel(&self, client_id: &ClientOrderId) -> Result<OrderStatus, PaperError> {
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = book.orders.get_mut(&client_id.0) else {
            return Err(PaperError::Unknown(client_id.0.clone()));
        };
        if b.is_working() {
            b.closed = Some(OrderState::Canceled);
        }
        Ok(status(b))
    }

    async fn open_orders(&self) -> Result<Vec<OrderStatus>, PaperError> {
        let book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        Ok(book
            .orders
            .values()
            .filter(|b| b.is_working())
            .map(status)
            .collect())
    }

    /// The book's one cash balance, in its currency.
    async fn cash_balances(&self) -> Result<Vec<pulse_core::CashBalance>, PaperError> {
        let book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        Ok(vec![pulse_core::CashBalance {
            currency: book.currency,
            amount: book.account.cash,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_core::ClientOrderId;
    use std::str::FromStr;

    struct Closes(BTreeMap<Symbol, Vec<(Timestamp, Decimal)>>);

    impl PriceSource for Closes {
        async fn price_after(
            &self,
            symbol: &Symbol,
            after: Timestamp,
        ) -> Option<(Timestamp, Decimal)> {
            self.0
                .get(symbol)?
                .iter()
                .find(|(t, _)| *t > after)
                .copied()
        }
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }
    /// An order, through the risk layer's gate against an account that can pay for anything
    /// (these tests are about the book, not the gate).
    fn order(id: &str, side: Side, q: &str) -> RiskApproved<OrderRequest> {
        let order = OrderRequest {
            kind: pulse_core::OrderKind::Market,
            time_in_force: pulse_core::TimeInForce::Day,
            client_id: ClientOrderId(id.into()),
            symbol: Symbol::try_new("SPY").unwrap(),
            side,
            quantity: d(q),
            decided_at: ts("2024-01-02T14:40:00Z"),
        };
        approved(order)
    }

    /// `order` through the gate against an account that can pay for anything.
    fn approved(order: OrderRequest) -> RiskApproved<OrderRequest> {
        let spy = Symbol::try_new("SPY").unwrap();
        let mut rich = Portfolio::with_cash(d("1000000000"));
        rich.positions.insert(spy.clone(), d("1000000"));
        let prices = BTreeMap::from([(spy, d("1"))]);
        let mut approval = pulse_execution::approve_orders(
            vec![order],
            &rich,
            &prices,
            pulse_execution::GateLimits::default(),
        );
        approval.approved.pop().unwrap()
    }

    /// A limit order through the gate (as `order`).
    fn limit(
        id: &str,
        side: Side,
        q: &str,
        price: &str,
        tif: TimeInForce,
    ) -> RiskApproved<OrderRequest> {
        let plain = order(id, side, q).into_inner();
        approved(OrderRequest {
            kind: OrderKind::Limit { price: d(price) },
            time_in_force: tif,
            ..plain
        })
    }

    fn days_of_prices() -> Closes {
        // Closes after the 2024-01-02 14:40 decision: 472 (Jan 2), 468 (Jan 3), 465 (Jan 4).
        Closes(BTreeMap::from([(
            Symbol::try_new("SPY").unwrap(),
            vec![
                (ts("2024-01-02T21:00:00Z"), d("472")),
                (ts("2024-01-03T21:00:00Z"), d("468")),
                (ts("2024-01-04T21:00:00Z"), d("465")),
            ],
        )]))
    }

    #[tokio::test]
    async fn limit_orders_fill_at_the_first_price_that_reaches_the_limit_or_expire() {
        let broker = PaperBroker::new(
            PaperBook::new(d("100000"), CostModel::commission_only(d("0"))),
            days_of_prices(),
        );
        let id = |s: &str| ClientOrderId(s.into());
        broker
            .submit(&limit("gtc", Side::Buy, "1", "466", TimeInForce::Gtc))
            .await
            .unwrap();
        broker
            .submit(&limit("day", Side::Buy, "1", "470", TimeInForce::Day))
            .await
            .unwrap();
        broker
            .submit(&limit("ioc", Side::Buy, "1", "470", TimeInForce::Ioc))
            .await
            .unwrap();
        broker
            .submit(&limit("sell", Side::Buy, "1", "500", TimeInForce::Day))
            .await
            .unwrap();
        // By Jan 3 21:00: the day order missed 470 on Jan 2 (472) and expired on Jan 3 (a
        // later day), the ioc order expired at its first price, the 500 limit filled at 472.
        broker
            .match_orders_until(ts("2024-01-03T22:00:00Z"))
            .await
            .unwrap();
        let state = |s: Option<OrderStatus>| s.unwrap().state;
        assert_eq!(
            state(broker.order_status(&id("ioc")).await.unwrap()),
            OrderState::Expired
        );
        assert_eq!(
            state(broker.order_status(&id("day")).await.unwrap()),
            OrderState::Expired
        );
        assert_eq!(
            state(broker.order_status(&id("sell")).await.unwrap()),
            OrderState::Filled
        );
        assert_eq!(
            state(broker.order_status(&id("gtc")).await.unwrap()),
            OrderState::New
        );
        // The gtc order goes on and fills at 465 on Jan 4 (≤ 466).
        broker.match_orders().await.unwrap();
        let fills = broker.take_fills().await.unwrap();
        let prices: Vec<_> = fills
            .iter()
            .map(|f| (f.client_id.0.as_str(), f.price))
            .collect();
        assert_eq!(prices, vec![("sell", d("472")), ("gtc", d("465"))]);
        // Every fill has its own execution id.
        assert!(fills.iter().all(|f| f.exec_id.is_some()));
        assert_ne!(fills[0].exec_id, fills[1].exec_id);
        assert!(broker.open_orders().await.unwrap().is_empty());
        assert!(
            broker
                .order_status(&id("never-sent"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_cancelled_order_never_fills_and_lists_as_done() {
        let broker = PaperBroker::new(
            PaperBook::new(d("100000"), CostModel::commission_only(d("0"))),
            days_of_prices(),
        );
        let id = ClientOrderId("c".into());
        broker
            .submit(&limit("c", Side::Buy, "1", "400", TimeInForce::Gtc))
            .await
            .unwrap();
        assert_eq!(broker.open_orders().await.unwrap().len(), 1);
        let st = broker.cancel(&id).await.unwrap();
        assert_eq!(st.state, OrderState::Canceled);
        assert_eq!(st.remaining, d("0"));
        broker.match_orders().await.unwrap();
        assert!(broker.take_fills().await.unwrap().is_empty());
        assert!(broker.open_orders().await.unwrap().is_empty());
        assert!(broker.cancel(&ClientOrderId("nope".into())).await.is_err());
    }

    #[tokio::test]
    async fn fills_at_the_next_price_once_and_resubmission_is_idempotent() {
        let spy = Symbol::try_new("SPY").unwrap();
        let prices = Closes(BTreeMap::from([(
            spy,
            vec![
                (ts("2024-01-02T00:00:00Z"), d("470.00")),
                (ts("2024-01-02T21:00:00Z"), d("472.65")),
            ],
        )]));
        let broker = PaperBroker::new(
            PaperBook::new(d("10000"), CostModel::commission_only(d("0.001"))),
            prices,
        );
        broker
            .submit(&order("p-1-SPY", Side::Buy, "10"))
            .await
            .unwrap();
        broker
            .submit(&order("p-1-SPY", Side::Buy, "10"))
            .await
            .unwrap(); // crash + resubmit
        assert!(
            broker
                .submit(&order("p-1-SPY", Side::Buy, "11"))
                .await
                .is_err()
        );
        assert_eq!(broker.match_orders().await.unwrap(), 1);
        assert_eq!(broker.match_orders().await.unwrap(), 0);
        let fills = broker.take_fills().await.unwrap();
        assert_eq!(fills.len(), 1);
        assert_eq!(
            fills[0].price,
            d("472.65"),
            "the first price AFTER the decision"
        );
        assert_eq!(fills[0].fee, d("4.72650"));
        assert!(broker.take_fills().await.unwrap().is_empty());
        assert_eq!(
            broker.account().await.unwrap().cash,
            d("10000") - d("4726.50") - d("4.72650")
        );
        // The book round-trips through JSON (what the runtime persists) and resumes identically.
        let saved = serde_json::to_string(&broker.book()).unwrap();
        let resumed: PaperBook = serde_json::from_str(&saved).unwrap();
        assert_eq!(resumed, broker.book());
        let st = broker
            .submit(&order("p-1-SPY", Side::Buy, "10"))
            .await
            .unwrap();
        assert_eq!((st.filled, st.remaining), (d("10"), d("0")));
    }

    #[tokio::test]
    async fn buys_are_capped_to_cash_and_sells_to_holdings() {
        let spy = Symbol::try_new("SPY").unwrap();
        let prices = Closes(BTreeMap::from([(
            spy,
            vec![(ts("2024-01-02T21:00:00Z"), d("100"))],
        )]));
        let broker = PaperBroker::new(
            PaperBook::new(d("1000"), CostModel::commission_only(d("0.001"))),
            prices,
        );
        broker.submit(&order("b", Side::Buy, "50")).await.unwrap();
        broker.submit(&order("s", Side::Sell, "5")).await.unwrap();
        broker.match_orders().await.unwrap();
        let st = broker.submit(&order("b", Side::Buy, "50")).await.unwrap();
        assert_eq!(st.filled, d("9"));
        assert!(st.rejected.is_some());
        let st = broker.submit(&order("s", Side::Sell, "5")).await.unwrap();
        assert_eq!(st.filled, d("0"), "sells run first: nothing was held yet");
        assert!(broker.account().await.unwrap().cash >= Decimal::ZERO);
    }

    #[tokio::test]
    async fn no_fill_before_its_price_exists_at_the_clock() {
        let spy = Symbol::try_new("SPY").unwrap();
        let prices = Closes(BTreeMap::from([(
            spy,
            vec![(ts("2024-01-02T21:00:00Z"), d("472.65"))],
        )]));
        let broker = PaperBroker::new(
            PaperBook::new(d("10000"), CostModel::commission_only(d("0"))),
            prices,
        );
        broker.submit(&order("b", Side::Buy, "1")).await.unwrap();
        // 15:00Z: the session has not closed, its close does not exist yet.
        assert_eq!(
            broker
                .match_orders_until(ts("2024-01-02T15:00:00Z"))
                .await
                .unwrap(),
            0
        );
        assert!(broker.take_fills().await.unwrap().is_empty());
        assert_eq!(broker.working_orders().len(), 1);
        assert_eq!(
            broker
                .match_orders_until(ts("2024-01-02T21:00:00Z"))
                .await
                .unwrap(),
            1
        );
        let fills = broker.take_fills().await.unwrap();
        assert_eq!(fills[0].ts, ts("2024-01-02T21:00:00Z"));
    }

    /// One cost model (issue #11): slippage moves the fill price against the trader and the fee
    /// is the model's; a book stored with a bare `commission` rate still reads.
    #[tokio::test]
    async fn fills_are_priced_and_charged_by_the_cost_model() {
        let spy = Symbol::try_new("SPY").unwrap();
        let prices = Closes(BTreeMap::from([(
            spy.clone(),
            vec![(ts("2024-01-02T21:00:00Z"), d("400.00"))],
        )]));
        let costs = CostModel {
            commission_rate: d("0.001"),
            min_fee: d("5"),
            slippage_bps: d("10"),
        };
        let broker = PaperBroker::new(PaperBook::new(d("10000"), costs.clone()), prices);
        broker
            .submit(&order("p-1-SPY", Side::Buy, "3"))
            .await
            .unwrap();
        broker.match_orders().await.unwrap();
        let fill = &broker.take_fills().await.unwrap()[0];
        assert_eq!(fill.price, d("400.4"), "10 bp above the close");
        assert_eq!(
            fill.fee,
            d("5"),
            "the minimum fee: 0.1 % of 1201.2 is 1.2012"
        );
        assert_eq!(fill.fee, costs.fee(fill.quantity * fill.price));

        let mut old = serde_json::to_value(broker.book()).unwrap();
        let map = old.as_object_mut().unwrap();
        map.remove("costs");
        map.insert("commission".into(), serde_json::json!("0.002"));
        let book: PaperBook = serde_json::from_value(old).unwrap();
        assert_eq!(book.costs, CostModel::commission_only(d("0.002")));
    }
}
