//! The last gate before a broker: [`approve_orders`] checks a batch of orders against the account
//! and the risk layer's state and wraps each order it passes in [`RiskApproved`]. The broker port
//! (`pulse_execution::Broker`) takes only `RiskApproved` orders, and `RiskApproved` has no public
//! constructor, so an order that did not pass this gate cannot reach a broker by construction.
//!
//! The checks, per batch, in order (sells first, as brokers free the cash before the buys):
//! - a quantity must be positive;
//! - while the drawdown stop halts trading, only sells pass;
//! - a sell may not exceed the shares held less the batch's earlier sells of the symbol (no
//!   short selling);
//! - a buy needs a reference price (a limit buy's is its limit), and the batch's buys less its sells, at the reference prices,
//!   may not exceed the cash plus the credit (margin; zero without it).

use pulse_core::{OrderKind, OrderRequest, Portfolio, Side, Symbol};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// A value that passed the risk layer's gate. Only this crate makes one: there is no public
/// constructor and no `Deserialize`, so a stored or hand-built order must pass
/// [`approve_orders`] again before it reaches a broker.
///
/// Neither can be written outside this crate:
/// ```compile_fail
/// let order: pulse_risk::RiskApproved<u32> = pulse_risk::RiskApproved(1);
/// ```
/// ```compile_fail
/// let order: pulse_risk::RiskApproved<u32> = serde_json::from_str("1").unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct RiskApproved<T>(T);

impl<T> RiskApproved<T> {
    /// The approved value.
    pub fn get(&self) -> &T {
        &self.0
    }

    /// The approved value, no longer marked approved.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for RiskApproved<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// The risk layer's state the gate checks against.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GateLimits {
    /// The drawdown stop halts trading: only sells pass.
    pub halted: bool,
    /// Buying power beyond the cash (margin), account currency; zero without margin.
    pub credit: Decimal,
}

/// An order the gate refused, with why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    /// The refused order.
    pub order: OrderRequest,
    /// Why, for people.
    pub reason: String,
}

/// The orders of one batch that passed the gate, and those it refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Approval {
    /// Orders that may go to a broker, in the order given.
    pub approved: Vec<RiskApproved<OrderRequest>>,
    /// Orders refused, with the reason.
    pub refused: Vec<Refusal>,
}

/// Checks one batch of orders (see the module docs for the rules) against `account` and the
/// reference prices (account currency per share; a buy without one is refused).
pub fn approve_orders(
    orders: Vec<OrderRequest>,
    account: &Portfolio,
    prices: &BTreeMap<Symbol, Decimal>,
    limits: GateLimits,
) -> Approval {
    let mut sold: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    let mut budget = account.cash + limits.credit.max(Decimal::ZERO);
    let mut verdicts: Vec<Option<String>> = vec![None; orders.len()];
    // Sells first: their proceeds pay for the batch's buys.
    for (order, verdict) in orders.iter().zip(verdicts.iter_mut()) {
        if order.quantity <= Decimal::ZERO {
            *verdict = Some(format!("quantity {} is not positive", order.quantity));
            continue;
        }
        if order.side != Side::Sell {
            continue;
        }
        let held = account.quantity(&order.symbol);
        let already = sold.entry(order.symbol.clone()).or_default();
        if *already + order.quantity > held {
            *verdict = Some(format!(
                "sells {} {} but only {} are held (no short selling)",
                order.quantity,
                order.symbol,
                held - *already
            ));
            continue;
        }
        *already += order.quantity;
        if let Some(price) = prices.get(&order.symbol) {
            budget += order.quantity * price;
        }
    }
    for (order, verdict) in orders.iter().zip(verdicts.iter_mut()) {
        if verdict.is_some() || order.side != Side::Buy {
            continue;
        }
        if limits.halted {
            *verdict = Some("trading is halted by the drawdown stop (re-arm first)".to_string());
            continue;
        }
        // A limit buy costs at most its limit; a market buy is checked at the reference price.
        let limit = match order.kind {
            OrderKind::Limit { price } => Some(price),
            OrderKind::Market => None,
        };
        let Some(price) = limit.as_ref().or_else(|| prices.get(&order.symbol)) else {
            *verdict = Some(format!(
                "no reference price for {} to check the cash",
                order.symbol
            ));
            continue;
        };
        let cost = order.quantity * price;
        if cost > budget {
            *verdict = Some(format!(
                "buys {} {} for {} with {} available",
                order.quantity,
                order.symbol,
                cost.round_dp(2),
                budget.max(Decimal::ZERO).round_dp(2)
            ));
            continue;
        }
        budget -= cost;
    }
    let mut approval = Approval::default();
    for (order, verdict) in orders.into_iter().zip(verdicts) {
        match verdict {
            None => approval.approved.push(RiskApproved(order)),
            Some(reason) => approval.refused.push(Refusal { order, reason }),
        }
    }
    approval
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pulse_core::ClientOrderId;

    fn order(id: &str, symbol: &str, side: Side, quantity: i64) -> OrderRequest {
        OrderRequest {
            kind: pulse_core::OrderKind::Market,
            time_in_force: pulse_core::TimeInForce::Day,
            client_id: ClientOrderId(id.to_string()),
            symbol: Symbol::try_new(symbol).unwrap(),
            side,
            quantity: Decimal::from(quantity),
            decided_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn account() -> Portfolio {
        let mut p = Portfolio::with_cash(Decimal::from(1_000));
        p.positions
            .insert(Symbol::try_new("AAA").unwrap(), Decimal::from(10));
        p
    }

    fn prices() -> BTreeMap<Symbol, Decimal> {
        BTreeMap::from([
            (Symbol::try_new("AAA").unwrap(), Decimal::from(100)),
            (Symbol::try_new("BBB").unwrap(), Decimal::from(50)),
        ])
    }

    #[test]
    fn a_buy_paid_by_the_batch_sells_passes_exactly_at_the_cash() {
        // 1,000 cash + 10 × 100 sold = 2,000 = 40 × 50.
        let a = approve_orders(
            vec![
                order("b", "BBB", Side::Buy, 40),
                order("s", "AAA", Side::Sell, 10),
            ],
            &account(),
            &prices(),
            GateLimits::default(),
        );
        assert!(a.refused.is_empty(), "{:?}", a.refused);
        // Approved in the order given.
        assert_eq!(a.approved[0].client_id.0, "b");
        // One share more is refused, naming the amounts.
        let a = approve_orders(
            vec![
                order("b", "BBB", Side::Buy, 41),
                order("s", "AAA", Side::Sell, 10),
            ],
            &account(),
            &prices(),
            GateLimits::default(),
        );
        assert_eq!(a.approved.len(), 1);
        assert!(
            a.refused[0].reason.contains("2050"),
            "{}",
            a.refused[0].reason
        );
    }

    #[test]
    fn credit_allows_borrowing_up_to_it() {
        let limits = GateLimits {
            credit: Decimal::from(500),
            ..GateLimits::default()
        };
        let ok = approve_orders(
            vec![order("b", "BBB", Side::Buy, 30)],
            &account(),
            &prices(),
            limits,
        );
        assert_eq!(ok.approved.len(), 1);
        let over = approve_orders(
            vec![order("b", "BBB", Side::Buy, 31)],
            &account(),
            &prices(),
            limits,
        );
        assert_eq!(over.refused.len(), 1);
    }

    #[test]
    fn no_short_selling_even_split_over_two_orders() {
        let a = approve_orders(
            vec![
                order("s1", "AAA", Side::Sell, 6),
                order("s2", "AAA", Side::Sell, 5),
                order("s3", "BBB", Side::Sell, 1),
            ],
            &account(),
            &prices(),
            GateLimits::default(),
        );
        assert_eq!(a.approved.len(), 1);
        assert_eq!(a.refused.len(), 2);
        assert!(
            a.refused[0].reason.contains("only 4 are held"),
            "{}",
            a.refused[0].reason
        );
    }

    #[test]
    fn halted_passes_only_sells() {
        let a = approve_orders(
            vec![
                order("s", "AAA", Side::Sell, 10),
                order("b", "BBB", Side::Buy, 1),
            ],
            &account(),
            &prices(),
            GateLimits {
                halted: true,
                ..GateLimits::default()
            },
        );
        assert_eq!(a.approved.len(), 1);
        assert_eq!(a.approved[0].side, Side::Sell);
        assert!(a.refused[0].reason.contains("halted"));
    }

    #[test]
    fn zero_quantities_and_unpriced_buys_are_refused() {
        let a = approve_orders(
            vec![
                order("z", "AAA", Side::Sell, 0),
                order("u", "CCC", Side::Buy, 1),
            ],
            &account(),
            &prices(),
            GateLimits::default(),
        );
        assert!(a.approved.is_empty());
        assert!(a.refused[0].reason.contains("not positive"));
        assert!(a.refused[1].reason.contains("no reference price"));
    }
}
