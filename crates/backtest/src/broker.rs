//! The simulated broker: fills the engine's orders at the next bar, exactly booked.

use pulse_core::costs::{FillCap, FillLimits, FillTerms};
use pulse_core::money::price_to_money;
use pulse_core::{Bar, ClientOrderId, Fill, OrderRequest, Side, Symbol};
use pulse_engine::CostModel;
use pulse_risk::RiskApproved;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which price of the next bar an order fills at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FillPrice {
    /// The open of the next bar (default).
    #[default]
    NextOpen,
    /// The close of the next bar.
    NextClose,
    /// The typical price `(high + low + close) / 3` of the next bar, a VWAP proxy for intraday
    /// bars (the bars carry no intrabar volume profile).
    NextTypical,
}

/// An order the broker could not (fully) execute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The order.
    pub client_id: ClientOrderId,
    /// Security.
    pub symbol: Symbol,
    /// Shares asked.
    pub requested: Decimal,
    /// Shares filled (0 when rejected outright).
    pub filled: Decimal,
    /// Why.
    pub reason: String,
}

/// Why an order cannot fill at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfillable {
    /// The bar has no valid (finite, positive) reference price.
    NoPrice,
}

/// Simulated execution with the configured costs.
#[derive(Debug, Clone)]
pub struct SimBroker {
    costs: CostModel,
    fill_price: FillPrice,
    price_dp: u32,
    limits: FillLimits,
}

impl SimBroker {
    /// A broker charging `costs`, filling at `fill_price`. Bar prices are rounded to `price_dp`
    /// decimals first (2 for US equities: the float32 noise of vendor data such as
    /// 20.799999237060547 is the cent price 20.80 that actually traded).
    pub fn new(
        costs: CostModel,
        fill_price: FillPrice,
        price_dp: u32,
        whole_shares: bool,
        fractional_dp: u32,
        allow_negative_cash: bool,
    ) -> Self {
        SimBroker {
            costs,
            fill_price,
            price_dp,
            limits: FillLimits {
                quantity_dp: if whole_shares { 0 } else { fractional_dp },
                allow_negative_cash,
            },
        }
    }

    fn reference_price(&self, bar: &Bar) -> Option<Decimal> {
        let p = match self.fill_price {
            FillPrice::NextOpen => bar.open,
            FillPrice::NextClose => bar.close,
            FillPrice::NextTypical => (bar.high + bar.low + bar.close) / 3.0,
        };
        price_to_money(p, self.price_dp).filter(|d| *d > Decimal::ZERO)
    }

    /// Executes `orders` against the bars of the next step: sells first, then buys, each buy
    /// reduced to what `cash` (plus the sells' proceeds) affords with fees. Orders whose symbol
    /// has no bar at this step stay unfilled and are returned as rejections. Only orders the
    /// risk layer's gate approved reach it.
    pub fn execute(
        &self,
        orders: &[RiskApproved<OrderRequest>],
        bars: &BTreeMap<Symbol, Bar>,
        holdings: &BTreeMap<Symbol, Decimal>,
        mut cash: Decimal,
    ) -> (Vec<Fill>, Vec<Rejection>) {
        let mut fills = Vec::new();
        let mut rejections = Vec::new();
        let reject = |o: &OrderRequest, filled: Decimal, reason: String| Rejection {
            client_id: o.client_id.clone(),
            symbol: o.symbol.clone(),
            requested: o.quantity,
            filled,
            reason,
        };
        let ordered = orders
            .iter()
            .map(RiskApproved::get)
            .filter(|o| o.side == Side::Sell)
            .chain(
                orders
                    .iter()
                    .map(RiskApproved::get)
                    .filter(|o| o.side == Side::Buy),
            );
        for order in ordered {
            let Some(bar) = bars.get(&order.symbol) else {
                rejections.push(reject(order, Decimal::ZERO, "no bar to trade at".into()));
                continue;
            };
            let held = holdings
                .get(&order.symbol)
                .copied()
                .unwrap_or(Decimal::ZERO);
            let terms = match self.fill_terms(order.side, order.quantity, bar, held, cash) {
                Ok(t) => t,
                Err(Unfillable::NoPrice) => {
                    rejections.push(reject(order, Decimal::ZERO, "no valid price".into()));
                    continue;
                }
            };
            match terms.capped {
                Some(FillCap::Held) => {
                    rejections.push(reject(order, held, format!("only {held} held")));
                }
                Some(FillCap::Cash) => rejections.push(reject(
                    order,
                    terms.quantity,
                    format!("cash {cash} affords {}", terms.quantity),
                )),
                None => {}
            }
            if terms.quantity <= Decimal::ZERO {
                continue;
            }
            let fill = Fill {
                exec_id: None,
                client_id: order.client_id.clone(),
                symbol: order.symbol.clone(),
                side: order.side,
                quantity: terms.quantity,
                price: terms.price,
                fee: terms.fee,
                ts: bar.ts,
            };
            cash += fill.cash_delta();
            fills.push(fill);
        }
        (fills, rejections)
    }

    /// How one order of `requested` shares fills at `bar` given the shares `held` and the `cash`
    /// left: [`CostModel::fill_terms`] at the bar's reference price (the one fill rule of every
    /// simulated execution). [`SimBroker::execute`] and the sweep kernel both fill through this.
    pub fn fill_terms(
        &self,
        side: Side,
        requested: Decimal,
        bar: &Bar,
        held: Decimal,
        cash: Decimal,
    ) -> Result<FillTerms, Unfillable> {
        let reference = self.reference_price(bar).ok_or(Unfillable::NoPrice)?;
        Ok(self
            .costs
            .fill_terms(side, requested, reference, held, cash, self.limits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// The order through the risk layer's gate at a reference price of 1 (the gap to the fill
    /// price is what the broker's own cap handles).
    fn approved(order: &OrderRequest) -> RiskApproved<OrderRequest> {
        let prices = BTreeMap::from([(order.symbol.clone(), d("1"))]);
        let account = pulse_core::Portfolio::with_cash(d("1000000"));
        let mut a = pulse_risk::approve_orders(
            vec![order.clone()],
            &account,
            &prices,
            pulse_risk::GateLimits::default(),
        );
        a.approved.pop().unwrap()
    }

    #[test]
    fn fills_at_the_rounded_open_with_exact_fees_and_caps_buys_to_cash() {
        let s = Symbol::try_new("TSLA").unwrap();
        let bar = Bar {
            ts: "2018-01-03T00:00:00Z".parse().unwrap(),
            open: 21.399999618530273,
            high: 21.683332443237305,
            low: 21.036666870117188,
            close: 21.149999618530273,
            adj_close: None,
            volume: None,
        };
        let bars = BTreeMap::from([(s.clone(), bar)]);
        let order = OrderRequest {
            kind: pulse_core::OrderKind::Market,
            time_in_force: pulse_core::TimeInForce::Day,
            client_id: ClientOrderId("x".into()),
            symbol: s.clone(),
            side: Side::Buy,
            quantity: d("100"),
            decided_at: "2018-01-02T00:00:00Z".parse().unwrap(),
        };
        let broker = SimBroker::new(CostModel::default(), FillPrice::NextOpen, 2, true, 6, false);
        let order = approved(&order);
        let (fills, rej) = broker.execute(
            std::slice::from_ref(&order),
            &bars,
            &BTreeMap::new(),
            d("10000"),
        );
        assert!(rej.is_empty());
        assert_eq!(fills[0].price, d("21.40"));
        assert_eq!(fills[0].fee, d("2.14"));
        // 1000 cash affords 46 shares at 21.40 with 0.1 % fee (46 × 21.40 × 1.001 = 985.38).
        let (fills, rej) = broker.execute(&[order], &bars, &BTreeMap::new(), d("1000"));
        assert_eq!(fills[0].quantity, d("46"));
        assert_eq!(rej[0].filled, d("46"));
    }
}
