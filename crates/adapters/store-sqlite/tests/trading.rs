//! The trading journal: orders upserted by client id with a status history, fills unique by
//! execution id (a repeated report is ignored), state documents in the same transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use pulse_core::ports::{Store, TradeOrderRecord, TradingStep};
use pulse_core::rust_decimal::Decimal;
use pulse_core::{ClientOrderId, Fill, OrderKind, OrderRequest, Side, Symbol, TimeInForce};
use store_sqlite::SqliteStore;

fn ts(s: &str) -> pulse_core::jiff::Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn orders_keep_their_history_and_fills_are_unique_by_execution_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    let order = OrderRequest {
        client_id: ClientOrderId("pulse-1-TSLA".into()),
        symbol: Symbol::try_new("TSLA").unwrap(),
        side: Side::Buy,
        quantity: Decimal::new(10, 0),
        decided_at: ts("2024-01-02T21:00:00Z"),
        kind: OrderKind::Limit {
            price: Decimal::new(24_850, 2),
        },
        time_in_force: TimeInForce::Gtc,
    };
    let record = |status: &str, filled: i64, at: &str| TradeOrderRecord {
        runner: "pulse".into(),
        order: order.clone(),
        broker_id: (status != "intent").then(|| "b-1".to_string()),
        status: status.into(),
        filled: Decimal::new(filled, 0),
        updated_at: ts(at),
    };
    let fill = Fill {
        client_id: order.client_id.clone(),
        symbol: order.symbol.clone(),
        side: Side::Buy,
        quantity: Decimal::new(10, 0),
        price: Decimal::new(24_800, 2),
        fee: Decimal::new(248, 2),
        ts: ts("2024-01-03T21:00:00Z"),
        exec_id: Some("x-1".into()),
    };
    let step = |orders: &[TradeOrderRecord], fills: &[Fill]| {
        let docs = [("trade/pulse/meta", "{\"n\":1}".to_string())];
        let orders = orders.to_vec();
        let fills = fills.to_vec();
        let store = &store;
        async move {
            store
                .save_trading_step(&TradingStep {
                    runner: "pulse",
                    documents: &docs,
                    orders: &orders,
                    fills: &fills,
                    audit: &[],
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        step(&[record("intent", 0, "2024-01-02T21:00:00Z")], &[]).await,
        0
    );
    assert_eq!(
        step(&[record("new", 0, "2024-01-02T21:00:01Z")], &[]).await,
        0
    );
    // The same status again adds no history; the fill is new once.
    assert_eq!(
        step(&[record("new", 0, "2024-01-02T21:00:02Z")], &[]).await,
        0
    );
    assert_eq!(
        step(
            &[record("filled", 10, "2024-01-03T21:00:00Z")],
            std::slice::from_ref(&fill)
        )
        .await,
        1
    );
    assert_eq!(
        step(&[], std::slice::from_ref(&fill)).await,
        0,
        "a repeated execution id"
    );
    let orders = store.trade_orders("pulse").await.unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order, order, "limit and time in force read back");
    assert_eq!(orders[0].status, "filled");
    assert_eq!(orders[0].broker_id.as_deref(), Some("b-1"));
    let history: Vec<String> = store
        .trade_order_history("pulse-1-TSLA")
        .await
        .unwrap()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(history, ["intent", "new", "filled"]);
    assert_eq!(store.trade_fills("pulse").await.unwrap(), vec![fill]);
    assert!(store.trade_fills("other").await.unwrap().is_empty());
    assert_eq!(
        store.document("trade/pulse/meta").await.unwrap().as_deref(),
        Some("{\"n\":1}")
    );
}
