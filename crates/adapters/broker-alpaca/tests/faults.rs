//! Random fault schedules (seeded, 60 of them): a driver that follows the port's contract
//! (on `OutcomeUnknown`, look the order up by client id and submit again only if Alpaca has
//! none) never makes the fake hold a client order id twice, and the account the adapter reads
//! equals the fake's book, as do the fills it reports (each once).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use broker_alpaca::{AlpacaBroker, AlpacaError};
use common::*;
use pulse_core::{ClientOrderId, Side, Symbol};
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
    match rng.below(10) {
        0 => Some(PostFault::AcceptThenStall),
        1 => Some(PostFault::StallThenDrop),
        2 => Some(PostFault::AcceptThen500),
        3 => Some(PostFault::TooMany),
        4 => Some(PostFault::Reject403),
        _ => None,
    }
}

fn random_get_fault(rng: &mut Rng) -> Option<GetFault> {
    match rng.below(8) {
        0 => Some(GetFault::Status(500)),
        1 => Some(GetFault::Status(503)),
        2 => Some(GetFault::TooMany { retry_after: 0 }),
        _ => None,
    }
}

/// What became of one order in the driver's eyes.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Alpaca holds it.
    Placed,
    /// Alpaca refused it (403).
    Refused,
}

/// Submits per the contract until the outcome is known.
async fn drive(b: &AlpacaBroker, id: &str, symbol: &str, side: Side, qty: &str) -> Outcome {
    let order = market(id, symbol, side, qty);
    let client_id = ClientOrderId(id.to_string());
    for _ in 0..30 {
        match b.submit(&order).await {
            Ok(_) => return Outcome::Placed,
            Err(AlpacaError::OutcomeUnknown { .. }) => {
                // Resolve by lookup; submit again only when Alpaca has none.
                let mut found = None;
                for _ in 0..30 {
                    match b.order_status(&client_id).await {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(AlpacaError::Http(_)) => continue,
                        Err(e) => panic!("lookup of {id}: {e}"),
                    }
                }
                match found {
                    Some(Some(_)) => return Outcome::Placed,
                    Some(None) => continue,
                    None => panic!("lookup of {id} never succeeded"),
                }
            }
            // Refused before booking: safe to send again.
            Err(AlpacaError::RateLimited { .. }) => continue,
            Err(AlpacaError::Forbidden { .. }) => return Outcome::Refused,
            Err(e) => panic!("submit {id}: {e}"),
        }
    }
    panic!("order {id} never resolved");
}

async fn retry<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AlpacaError>>,
{
    for _ in 0..30 {
        match f().await {
            Ok(v) => return v,
            Err(AlpacaError::Http(_)) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("never succeeded");
}

async fn run_schedule(seed: u64) {
    let mut rng = Rng(seed);
    let n_orders = 3 + rng.below(4) as usize;
    let post_faults = (0..n_orders * 2)
        .filter_map(|_| random_post_fault(&mut rng))
        .collect();
    let get_faults = (0..n_orders * 3)
        .filter_map(|_| random_get_fault(&mut rng))
        .collect();
    let book = Book {
        post_faults,
        get_faults,
        // A blind re-POST would book a second order here: the driver must never cause one.
        enforce_unique: false,
        auto_fill: true,
        duplicate_activities: rng.below(2) == 0,
        stall: Duration::from_millis(450),
        ..Book::default()
    };
    let (fake, base) = start(book).await;
    let mut cfg = config(&base, Duration::from_millis(200));
    cfg.activities_page_size = 1 + rng.below(4) as u32;
    let b = AlpacaBroker::new(cfg).unwrap();
    let mut outcomes = BTreeMap::new();
    let mut reported = Vec::new();
    for i in 0..n_orders {
        let id = format!("seed{seed}-o{i}");
        let symbol = ["SPY", "QQQ", "IWM"][rng.below(3) as usize];
        let side = if rng.below(3) == 0 {
            Side::Sell
        } else {
            Side::Buy
        };
        let qty = (1 + rng.below(20)).to_string();
        outcomes.insert(id.clone(), drive(&b, &id, symbol, side, &qty).await);
        if rng.below(2) == 0 {
            reported.extend(retry(|| b.take_fills()).await);
        }
    }
    reported.extend(retry(|| b.take_fills()).await);
    assert!(retry(|| b.take_fills()).await.is_empty());
    let account = retry(|| b.account()).await;
    let book = fake.book.lock().unwrap();
    for (id, outcome) in &outcomes {
        let held = book.count(id);
        match outcome {
            Outcome::Placed => assert_eq!(held, 1, "seed {seed}: {id} held {held} times"),
            Outcome::Refused => assert_eq!(held, 0, "seed {seed}: {id} held {held} times"),
        }
    }
    assert_eq!(account.positions, book.nonzero_positions(), "seed {seed}");
    assert_eq!(account.cash, book.cash, "seed {seed}");
    // Every execution reported exactly once, and they add up to the book.
    let ids: BTreeSet<_> = reported
        .iter()
        .map(|f| f.exec_id.clone().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        reported.len(),
        "seed {seed}: a fill reported twice"
    );
    assert_eq!(
        ids.len(),
        book.activities.len(),
        "seed {seed}: fills missed"
    );
    let mut from_fills: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    for f in &reported {
        *from_fills.entry(f.symbol.clone()).or_default() += f.side.sign() * f.quantity;
        assert!(outcomes.contains_key(&f.client_id.0), "seed {seed}: {f:?}");
    }
    from_fills.retain(|_, q| !q.is_zero());
    assert_eq!(from_fills, book.nonzero_positions(), "seed {seed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_fault_schedules_never_duplicate_orders_or_fills() {
    for seed in 0..60 {
        run_schedule(seed).await;
    }
}
