//! Random fault schedules (seeded, 40 of them): a driver that follows the port's contract (on
//! `OutcomeUnknown`, look the order up with `order_status` and submit again only when it says
//! `None`) never makes the fake hold an order twice, the account the adapter reads equals the
//! fake's book, and the fills it reports (each once) add up to the positions.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use pulse_broker_kis::{KisError, KisMode};
use pulse_core::{Side, Symbol};
use pulse_execution::Broker;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// splitmix64: a small seeded generator (no wall clock, no global state).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_post_fault(rng: &mut Rng) -> Option<PostFault> {
    match rng.below(11) {
        0 => Some(PostFault::AcceptThenStall),
        1 => Some(PostFault::StallThenDrop),
        2 => Some(PostFault::AcceptThen500),
        3 => Some(PostFault::RateLimit),
        5 => Some(PostFault::AcceptThen500Envelope),
        4 => Some(PostFault::Envelope(
            "APBK0952".into(),
            "주문가능금액을 초과 했습니다".into(),
        )),
        _ => None,
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Placed,
    Refused,
}

/// Submits per the contract until the outcome is known.
async fn drive(
    env: &Env,
    b: &TestBroker,
    order: &pulse_execution::RiskApproved<pulse_core::OrderRequest>,
) -> Outcome {
    let id = order.get().client_id.clone();
    for _ in 0..20 {
        match b.submit(order).await {
            Ok(_) => return Outcome::Placed,
            Err(KisError::OutcomeUnknown { .. }) => {
                // Resolve by lookup; submit again only when KIS has none.
                match b.order_status(&id).await.unwrap() {
                    Some(_) => return Outcome::Placed,
                    None => continue,
                }
            }
            Err(KisError::Rejected { .. }) => return Outcome::Refused,
            Err(KisError::RateLimited { .. }) => {
                env.advance(1);
                continue;
            }
            Err(e) => panic!("submit {id}: {e:?}"),
        }
    }
    panic!("{id}: no outcome after 20 rounds");
}

#[tokio::test]
async fn random_fault_schedules_never_duplicate_orders_and_books_agree() {
    for seed in 0..40u64 {
        let mode = if seed % 2 == 0 {
            KisMode::Paper
        } else {
            KisMode::Real
        };
        let env = Env::new(mode).await;
        let mut rng = Rng(seed.wrapping_mul(7919).wrapping_add(1));
        {
            let mut book = env.book();
            book.auto_fill = true;
            book.stall = Duration::from_millis(250);
            book.duplicate_rows = rng.below(2) == 0;
        }
        let b = env.broker_with(Duration::from_millis(120));
        let mut placed: Vec<(String, Decimal)> = Vec::new();
        let mut fills: Vec<pulse_core::Fill> = Vec::new();
        for i in 0..6u64 {
            // Unique quantities make each logical order recognisable at the fake.
            let qty = Decimal::from(seed * 100 + i + 1);
            let (symbol, order) = if rng.below(2) == 0 {
                let s = "005930";
                let o = if rng.below(2) == 0 {
                    market(&format!("s{seed}-{i}"), s, Side::Buy, &qty.to_string())
                } else {
                    limit(
                        &format!("s{seed}-{i}"),
                        s,
                        Side::Buy,
                        &qty.to_string(),
                        "70000",
                    )
                };
                (s, o)
            } else {
                let s = "TSLA";
                (
                    s,
                    limit(
                        &format!("s{seed}-{i}"),
                        s,
                        Side::Buy,
                        &qty.to_string(),
                        "251",
                    ),
                )
            };
            if let Some(f) = random_post_fault(&mut rng) {
                env.book().post_faults.push_back(f);
            }
            env.advance(1 + rng.below(3) as i64);
            let outcome = drive(&env, &b, &order).await;
            let held = env.book().count(symbol, qty);
            assert!(held <= 1, "seed {seed}: order {i} held {held} times");
            match outcome {
                Outcome::Placed => {
                    assert_eq!(held, 1, "seed {seed}: placed order {i} not held");
                    placed.push((symbol.to_string(), qty));
                }
                Outcome::Refused => assert_eq!(held, 0, "seed {seed}"),
            }
            if rng.below(3) == 0 {
                fills.extend(b.take_fills().await.unwrap());
            }
        }
        env.book().post_faults.clear();
        fills.extend(b.take_fills().await.unwrap());
        let acct = b.account().await.unwrap();
        let book_positions = env.book().nonzero_positions();
        assert_eq!(acct.positions, book_positions, "seed {seed}");
        assert_eq!(acct.cash, env.book().krw, "seed {seed}");
        let cash = b.cash_balances().await.unwrap();
        assert_eq!(cash[1].amount, env.book().usd, "seed {seed}");
        // Fills: each once, adding up to the positions.
        let ids: BTreeSet<_> = fills.iter().map(|f| f.exec_id.clone().unwrap()).collect();
        assert_eq!(ids.len(), fills.len(), "seed {seed}");
        let mut from_fills: BTreeMap<Symbol, Decimal> = BTreeMap::new();
        for f in &fills {
            *from_fills.entry(f.symbol.clone()).or_default() += f.side.sign() * f.quantity;
        }
        from_fills.retain(|_, q| !q.is_zero());
        assert_eq!(from_fills, book_positions, "seed {seed}");
        let total: usize = placed.len();
        assert_eq!(
            env.book()
                .orders
                .iter()
                .filter(|o| o.cancel_of.is_none())
                .count(),
            total,
            "seed {seed}"
        );
    }
}
