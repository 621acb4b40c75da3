//! [`KisBroker`]: the [`Broker`] port over KIS's domestic (KRX) and overseas (US) stock APIs.

use crate::client::{PAGING_100, PAGING_200, PostError, Session};
use crate::config::{Account, KisConfig, KisMode, OverseasExchange};
use crate::error::KisError;
use crate::journal::MemoryOrderJournal;
use crate::journal::{JournalEntry, JournalState, KisOrderNo, Market, OrderJournal, same_order_no};
use crate::rows::{OrderRow, domestic_row, new_york, overseas_row, status_of, ymd, ymd_shift};
use crate::token::{MemoryTokenCache, TokenCache, kst};
use crate::tr::Tr;
use crate::wire::{decimal, decimal_or_zero, rows, text};
use pulse_core::jiff::{SignedDuration, Timestamp};
use pulse_core::ports::Clock;
use pulse_core::{
    CashBalance, ClientOrderId, Currency, Fill, OrderKind, OrderRequest, Portfolio, Side, Symbol,
    TimeInForce,
};
use pulse_execution::{Broker, OrderState, OrderStatus, RiskApproved};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Mutex;

mod statement;

/// Domestic cash order.
const DOMESTIC_ORDER: &str = "/uapi/domestic-stock/v1/trading/order-cash";
/// Domestic modify/cancel.
const DOMESTIC_CANCEL: &str = "/uapi/domestic-stock/v1/trading/order-rvsecncl";
/// Domestic daily orders and fills.
const DOMESTIC_DAILY: &str = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld";
/// Domestic balance.
const DOMESTIC_BALANCE: &str = "/uapi/domestic-stock/v1/trading/inquire-balance";
/// Overseas order.
const OVERSEAS_ORDER: &str = "/uapi/overseas-stock/v1/trading/order";
/// Overseas modify/cancel.
const OVERSEAS_CANCEL: &str = "/uapi/overseas-stock/v1/trading/order-rvsecncl";
/// Overseas orders and fills.
const OVERSEAS_CCNL: &str = "/uapi/overseas-stock/v1/trading/inquire-ccnl";
/// Overseas balance.
const OVERSEAS_BALANCE: &str = "/uapi/overseas-stock/v1/trading/inquire-balance";
/// Overseas present balance (cash per currency).
const OVERSEAS_PRESENT: &str = "/uapi/overseas-stock/v1/trading/inquire-present-balance";

/// The KRX tick size of a price in won (the tick table in force since January 2023).
pub fn krx_tick(price: Decimal) -> Decimal {
    let tick = if price < Decimal::from(2_000) {
        1
    } else if price < Decimal::from(5_000) {
        5
    } else if price < Decimal::from(20_000) {
        10
    } else if price < Decimal::from(50_000) {
        50
    } else if price < Decimal::from(200_000) {
        100
    } else if price < Decimal::from(500_000) {
        500
    } else {
        1_000
    };
    Decimal::from(tick)
}

/// A KRW limit price moved onto the KRX tick grid toward the market: a buy down, a sell up, so
/// that the order never pays more (or takes less) than the limit the risk layer approved.
pub fn krx_limit(price: Decimal, side: Side) -> Decimal {
    let tick = krx_tick(price);
    let ticks = price / tick;
    let on_grid = match side {
        Side::Buy => ticks.floor(),
        Side::Sell => ticks.ceil(),
    } * tick;
    // A sell rounded up across a band boundary lands on the coarser band's grid too.
    match side {
        Side::Sell if !(on_grid / krx_tick(on_grid)).fract().is_zero() => {
            (on_grid / krx_tick(on_grid)).ceil() * krx_tick(on_grid)
        }
        _ => on_grid,
    }
}

/// The order's own limit price, if it is a limit order.
fn order_limit(order: &OrderRequest) -> Option<Decimal> {
    match order.kind {
        OrderKind::Limit { price } => Some(price),
        OrderKind::Market => None,
    }
}

/// The limit price as sent to KIS: on the KRX tick grid for a domestic order, as given for a US
/// one.
fn sent_limit(order: &OrderRequest) -> Option<Decimal> {
    let price = order_limit(order)?;
    Some(match Market::of(&order.symbol) {
        Market::Domestic => krx_limit(price, order.side),
        Market::Overseas => price,
    })
}

/// What `take_fills` remembers between calls: per order, the cumulative quantity and amount
/// already reported.
#[derive(Debug, Default)]
struct FillCursor {
    reported: HashMap<(Market, String), (Decimal, Decimal)>,
    /// The caller said what it has booked ([`Broker::booked_fills`]): its totals are the truth
    /// and the journal's `reported_*` (which a crash can leave ahead of the caller) is ignored.
    from_caller: bool,
}

/// The order key and cumulative quantity of a fill this adapter reported, from its execution
/// id `<d|o>:<order date>:<order no>:<cumulative qty>`.
fn parse_exec_id(exec_id: &str) -> Option<((Market, String), Decimal)> {
    let mut parts = exec_id.split(':');
    let market = match parts.next()? {
        "d" => Market::Domestic,
        "o" => Market::Overseas,
        _ => return None,
    };
    let _date = parts.next()?;
    let odno = parts.next()?.to_string();
    let cumulative: Decimal = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(((market, odno), cumulative))
}

/// A broker on KIS's Open API (see the crate docs for the contract it keeps).
///
/// `T` keeps the access token between calls and runs, `J` the client id → KIS order mapping;
/// both default to the in-memory implementations.
pub struct KisBroker<T = MemoryTokenCache, J = MemoryOrderJournal> {
    pub(crate) session: Session<T>,
    journal: J,
    account: Account,
    pub(crate) exchange: OverseasExchange,
    submit_lock: Mutex<()>,
    fills: Mutex<FillCursor>,
}

impl<T, J> std::fmt::Debug for KisBroker<T, J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KisBroker")
            .field("session", &self.session)
            .field("account", &self.account)
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

/// The normalized key of an order number.
fn order_key(market: Market, odno: &str) -> (Market, String) {
    let t = odno.trim().trim_start_matches('0');
    (market, t.to_string())
}

/// Decimal as KIS wants it in a request field (`"10"`, `"145.5"`).
fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

impl<T: TokenCache, J: OrderJournal> KisBroker<T, J> {
    /// A broker with `config`, reading time from `clock`, keeping its token in `tokens` and
    /// its order mapping in `journal`. Fails on a bad base URL or keys that cannot be sent as
    /// headers; makes no request.
    pub fn new(
        config: KisConfig,
        clock: Arc<dyn Clock>,
        tokens: T,
        journal: J,
    ) -> Result<Self, KisError> {
        let session = Session::new(&config, clock, tokens)?;
        Ok(KisBroker {
            session,
            journal,
            account: config.account.clone(),
            exchange: config.overseas_exchange,
            submit_lock: Mutex::new(()),
            fills: Mutex::new(FillCursor::default()),
        })
    }

    /// Paper or real.
    pub fn mode(&self) -> KisMode {
        self.session.mode
    }

    /// The key under which the token is cached (mode + a hash of the app key).
    pub fn token_cache_key(&self) -> &str {
        self.session.cache_key()
    }

    /// Replaces every secret (keys, account number, tokens; verbatim and URL-encoded) in `text`
    /// by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.session.redact(text)
    }

    /// The journal this broker writes.
    pub fn journal(&self) -> &J {
        &self.journal
    }

    fn journal_err(&self, e: J::Error) -> KisError {
        KisError::Journal(self.redact(&e.to_string()))
    }

    async fn j_get(&self, id: &ClientOrderId) -> Result<Option<JournalEntry>, KisError> {
        self.journal.get(id).await.map_err(|e| self.journal_err(e))
    }

    async fn j_put(&self, entry: &JournalEntry) -> Result<(), KisError> {
        self.journal
            .put(entry)
            .await
            .map_err(|e| self.journal_err(e))
    }

    fn now(&self) -> Timestamp {
        self.session.clock.now()
    }

    fn cano(&self) -> (String, String) {
        (
            self.account.cano().to_string(),
            self.account.product_code().to_string(),
        )
    }

    // ---- orders ------------------------------------------------------------------------

    /// The TR and body of the order, validated; nothing is sent.
    fn order_body(
        &self,
        order: &OrderRequest,
    ) -> Result<(Market, Tr, &'static str, Value), KisError> {
        let cid = &order.client_id;
        let invalid = |reason: String| KisError::InvalidOrder {
            client_id: cid.clone(),
            reason,
        };
        if order.quantity <= Decimal::ZERO || !order.quantity.fract().is_zero() {
            return Err(invalid(format!(
                "quantity {} is not a positive whole number of shares",
                order.quantity
            )));
        }
        let limit = match order.kind {
            OrderKind::Market => None,
            OrderKind::Limit { price } if price > Decimal::ZERO => Some(price),
            OrderKind::Limit { price } => {
                return Err(invalid(format!("limit price {price} is not positive")));
            }
        };
        let market = Market::of(&order.symbol);
        let (cano, prod) = self.cano();
        match market {
            Market::Domestic => {
                let ord_dvsn = match (order.time_in_force, limit) {
                    (TimeInForce::Day, Some(_)) => "00",
                    (TimeInForce::Day, None) => "01",
                    (TimeInForce::Ioc, Some(_)) => "11",
                    (TimeInForce::Ioc, None) => "13",
                    (TimeInForce::Gtc, _) => {
                        return Err(invalid(
                            "KIS domestic orders are day orders; GTC is not supported".into(),
                        ));
                    }
                };
                let limit = limit.map(|p| krx_limit(p, order.side));
                if let Some(p) = limit
                    && p <= Decimal::ZERO
                {
                    return Err(invalid(format!(
                        "KRW limit price {} is below one won",
                        order_limit(order).unwrap_or_default()
                    )));
                }
                let (tr, sll_type) = match order.side {
                    Side::Buy => (Tr::DomesticBuy, ""),
                    Side::Sell => (Tr::DomesticSell, "01"),
                };
                let body = json!({
                    "CANO": cano,
                    "ACNT_PRDT_CD": prod,
                    "PDNO": order.symbol.as_str(),
                    "ORD_DVSN": ord_dvsn,
                    "ORD_QTY": num(order.quantity),
                    "ORD_UNPR": limit.map(num).unwrap_or_else(|| "0".into()),
                    "EXCG_ID_DVSN_CD": "KRX",
                    "SLL_TYPE": sll_type,
                    "CNDT_PRIC": "",
                });
                Ok((market, tr, DOMESTIC_ORDER, body))
            }
            Market::Overseas => {
                let Some(price) = limit else {
                    return Err(match self.session.mode {
                        KisMode::Paper => KisError::PaperLimitOnly {
                            client_id: cid.clone(),
                            symbol: order.symbol.to_string(),
                        },
                        KisMode::Real => invalid(
                            "KIS US orders have no plain market type (only opening/closing auction types); send a marketable limit order".into(),
                        ),
                    });
                };
                if order.time_in_force != TimeInForce::Day {
                    return Err(invalid(
                        "KIS overseas limit orders are day orders; only TimeInForce::Day is supported".into(),
                    ));
                }
                let (tr, sll_type) = match order.side {
                    Side::Buy => (Tr::OverseasBuy, ""),
                    Side::Sell => (Tr::OverseasSell, "00"),
                };
                let body = json!({
                    "CANO": cano,
                    "ACNT_PRDT_CD": prod,
                    "OVRS_EXCG_CD": self.exchange.order_code(),
                    "PDNO": order.symbol.as_str(),
                    "ORD_QTY": num(order.quantity),
                    "OVRS_ORD_UNPR": num(price),
                    "CTAC_TLNO": "",
                    "MGCO_APTM_ODNO": "",
                    "SLL_TYPE": sll_type,
                    "ORD_SVR_DVSN_CD": "0",
                    "ORD_DVSN": "00",
                });
                Ok((market, tr, OVERSEAS_ORDER, body))
            }
        }
    }

    /// Sends the order once (or returns what the journal knows of its client id).
    async fn submit_order(&self, order: &OrderRequest) -> Result<OrderStatus, KisError> {
        let (market, tr, path, body) = self.order_body(order)?;
        let cid = &order.client_id;
        let _guard = self.submit_lock.lock().await;
        if let Some(entry) = self.j_get(cid).await? {
            match &entry.state {
                JournalState::Placed { .. } => return self.placed_status(&entry).await,
                JournalState::Intent | JournalState::Unknown => {
                    return match self.resolve(entry).await? {
                        Some(status) => Ok(status),
                        None => Err(KisError::OutcomeUnknown {
                            client_id: cid.clone(),
                        }),
                    };
                }
                JournalState::NotFound | JournalState::Refused { .. } => {}
            }
        }
        let mut entry = JournalEntry {
            client_id: cid.clone(),
            symbol: order.symbol.clone(),
            market,
            side: order.side,
            quantity: order.quantity,
            limit_price: sent_limit(order),
            intent_at: self.now(),
            state: JournalState::Intent,
            reported_qty: Decimal::ZERO,
            reported_amount: Decimal::ZERO,
        };
        // Written before the order leaves: a crash after sending leaves an intent to resolve.
        self.j_put(&entry).await?;
        let outcome = self.session.post(path, tr, &body).await;
        match outcome {
            Ok(v) => {
                let out = rows(&v, "output")
                    .into_iter()
                    .next()
                    .cloned()
                    .unwrap_or(Value::Null);
                let odno = text(&out, "ODNO");
                if odno.is_empty() {
                    // Accepted, but without a number: look it up like an unknown outcome.
                    entry.state = JournalState::Unknown;
                    self.j_put(&entry).await?;
                    return Err(KisError::OutcomeUnknown {
                        client_id: cid.clone(),
                    });
                }
                let ord_dt = match market {
                    Market::Domestic => ymd(entry.intent_at, &kst()),
                    Market::Overseas => String::new(),
                };
                entry.state = JournalState::Placed {
                    order_no: KisOrderNo {
                        odno: odno.clone(),
                        orgno: text(&out, "KRX_FWDG_ORD_ORGNO"),
                        ord_dt,
                    },
                };
                self.j_put(&entry).await?;
                Ok(OrderStatus {
                    client_id: cid.clone(),
                    broker_id: Some(odno),
                    state: OrderState::New,
                    filled: Decimal::ZERO,
                    remaining: order.quantity,
                    rejected: None,
                })
            }
            Err(PostError::Unknown) => {
                entry.state = JournalState::Unknown;
                self.j_put(&entry).await?;
                Err(KisError::OutcomeUnknown {
                    client_id: cid.clone(),
                })
            }
            Err(PostError::Kis(e)) => {
                entry.state = match &e {
                    KisError::Rejected { .. }
                    | KisError::WrongHost { .. }
                    | KisError::NotOnPaper { .. } => JournalState::Refused {
                        reason: e.to_string(),
                    },
                    // Never sent, or refused at the gateway: nothing is held.
                    _ => JournalState::NotFound,
                };
                self.j_put(&entry).await?;
                Err(e)
            }
        }
    }

    /// The day's orders of `market` from `since` (its order date) to now, every page.
    async fn day_rows(&self, market: Market, since: Timestamp) -> Result<Vec<OrderRow>, KisError> {
        let now = self.now();
        let (cano, prod) = self.cano();
        let since = since.min(now);
        match market {
            Market::Domestic => {
                let tz = kst();
                // The 3-month TR: never reach further back than 89 days.
                let floor = now
                    .checked_sub(SignedDuration::from_hours(24 * 89))
                    .unwrap_or(now);
                let start = ymd(since.max(floor), &tz);
                let q: Vec<(&str, String)> = vec![
                    ("CANO", cano),
                    ("ACNT_PRDT_CD", prod),
                    ("INQR_STRT_DT", start),
                    ("INQR_END_DT", ymd(now, &tz)),
                    ("SLL_BUY_DVSN_CD", "00".into()),
                    ("INQR_DVSN", "01".into()),
                    ("PDNO", String::new()),
                    ("CCLD_DVSN", "00".into()),
                    ("ORD_GNO_BRNO", String::new()),
                    ("ODNO", String::new()),
                    ("INQR_DVSN_3", "00".into()),
                    ("INQR_DVSN_1", String::new()),
                    ("EXCG_ID_DVSN_CD", "KRX".into()),
                ];
                let pages = self
                    .session
                    .get_pages(DOMESTIC_DAILY, Tr::DomesticDailyFills, &q, PAGING_100)
                    .await?;
                let mut out = Vec::new();
                for p in &pages {
                    for r in rows(p, "output1") {
                        if !text(r, "odno").is_empty() {
                            out.push(domestic_row(r)?);
                        }
                    }
                }
                Ok(out)
            }
            Market::Overseas => {
                let tz = new_york();
                let paper = self.session.mode == KisMode::Paper;
                // Paper accepts only "all" filters (and no sort order); real filters by exchange.
                let q: Vec<(&str, String)> = vec![
                    ("CANO", cano),
                    ("ACNT_PRDT_CD", prod),
                    ("PDNO", if paper { String::new() } else { "%".into() }),
                    ("ORD_STRT_DT", ymd_shift(since, -1, &tz)),
                    ("ORD_END_DT", ymd(now, &tz)),
                    ("SLL_BUY_DVSN", "00".into()),
                    ("CCLD_NCCS_DVSN", "00".into()),
                    (
                        "OVRS_EXCG_CD",
                        if paper {
                            String::new()
                        } else {
                            self.exchange.order_code().into()
                        },
                    ),
                    ("SORT_SQN", if paper { String::new() } else { "DS".into() }),
                    ("ORD_DT", String::new()),
                    ("ORD_GNO_BRNO", String::new()),
                    ("ODNO", String::new()),
                ];
                let pages = self
                    .session
                    .get_pages(OVERSEAS_CCNL, Tr::OverseasFills, &q, PAGING_200)
                    .await?;
                let mut out = Vec::new();
                for p in &pages {
                    for r in rows(p, "output") {
                        if !text(r, "odno").is_empty() {
                            out.push(overseas_row(r)?);
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// The status of a placed order from the day's rows (`New` while KIS does not list it yet).
    async fn placed_status(&self, entry: &JournalEntry) -> Result<OrderStatus, KisError> {
        let Some(no) = entry.order_no() else {
            return Err(KisError::NotFound {
                what: format!("KIS order number of {}", entry.client_id),
            });
        };
        let all = self.day_rows(entry.market, entry.intent_at).await?;
        Ok(
            match all
                .iter()
                .find(|r| !r.is_cancel && same_order_no(&r.odno, &no.odno))
            {
                Some(row) => status_of(row, &all, entry.client_id.clone()),
                None => OrderStatus {
                    client_id: entry.client_id.clone(),
                    broker_id: Some(no.odno.clone()),
                    state: OrderState::New,
                    filled: Decimal::ZERO,
                    remaining: entry.quantity,
                    rejected: None,
                },
            },
        )
    }

    /// Resolves an order whose outcome is unknown by searching the day's orders (see the crate
    /// docs for the heuristic and its limits). Found → recorded as placed, its status returned;
    /// not found → recorded as [`JournalState::NotFound`], `None`.
    async fn resolve(&self, mut entry: JournalEntry) -> Result<Option<OrderStatus>, KisError> {
        let all = self.day_rows(entry.market, entry.intent_at).await?;
        let floor = Timestamp::from_second(entry.intent_at.as_second()).unwrap_or(entry.intent_at);
        let price = entry.limit_price.unwrap_or(Decimal::ZERO);
        let mut candidates: Vec<&OrderRow> = all
            .iter()
            .filter(|r| {
                !r.is_cancel
                    && r.symbol == entry.symbol.as_str()
                    && r.side == Some(entry.side)
                    && r.quantity == entry.quantity
                    && r.price == price
                    && r.placed_at.is_some_and(|t| t >= floor)
            })
            .collect();
        candidates.sort_by(|a, b| (a.placed_at, &a.odno).cmp(&(b.placed_at, &b.odno)));
        for row in candidates {
            // An order another client id already claims is not this one.
            let claimed = self
                .journal
                .find_by_order_no(entry.market, &row.odno)
                .await
                .map_err(|e| self.journal_err(e))?;
            if claimed.is_some_and(|c| c.client_id != entry.client_id) {
                continue;
            }
            entry.state = JournalState::Placed {
                order_no: KisOrderNo {
                    odno: row.odno.clone(),
                    orgno: row.orgno.clone(),
                    ord_dt: row.ord_dt.clone(),
                },
            };
            self.j_put(&entry).await?;
            return Ok(Some(status_of(row, &all, entry.client_id.clone())));
        }
        entry.state = JournalState::NotFound;
        self.j_put(&entry).await?;
        Ok(None)
    }

    async fn status(&self, client_id: &ClientOrderId) -> Result<Option<OrderStatus>, KisError> {
        let Some(entry) = self.j_get(client_id).await? else {
            return Ok(None);
        };
        match &entry.state {
            JournalState::Placed { .. } => self.placed_status(&entry).await.map(Some),
            JournalState::Intent | JournalState::Unknown | JournalState::NotFound => {
                self.resolve(entry).await
            }
            JournalState::Refused { reason } => Ok(Some(OrderStatus {
                client_id: client_id.clone(),
                broker_id: None,
                state: OrderState::Rejected,
                filled: Decimal::ZERO,
                remaining: Decimal::ZERO,
                rejected: Some(reason.clone()),
            })),
        }
    }

    async fn cancel_order(&self, client_id: &ClientOrderId) -> Result<OrderStatus, KisError> {
        let not_found = || KisError::NotFound {
            what: format!("order with client id {client_id}"),
        };
        let status = self.status(client_id).await?.ok_or_else(not_found)?;
        if status.state.is_done() {
            return Ok(status);
        }
        let entry = self.j_get(client_id).await?.ok_or_else(not_found)?;
        let Some(no) = entry.order_no().cloned() else {
            return Err(not_found());
        };
        let (cano, prod) = self.cano();
        let (path, tr, body) = match entry.market {
            Market::Domestic => (
                DOMESTIC_CANCEL,
                Tr::DomesticCancel,
                json!({
                    "CANO": cano,
                    "ACNT_PRDT_CD": prod,
                    "KRX_FWDG_ORD_ORGNO": no.orgno,
                    "ORGN_ODNO": no.odno,
                    "ORD_DVSN": "00",
                    "RVSE_CNCL_DVSN_CD": "02",
                    "ORD_QTY": "0",
                    "ORD_UNPR": "0",
                    "QTY_ALL_ORD_YN": "Y",
                    "EXCG_ID_DVSN_CD": "KRX",
                }),
            ),
            Market::Overseas => (
                OVERSEAS_CANCEL,
                Tr::OverseasCancel,
                json!({
                    "CANO": cano,
                    "ACNT_PRDT_CD": prod,
                    "OVRS_EXCG_CD": self.exchange.order_code(),
                    "PDNO": entry.symbol.as_str(),
                    "ORGN_ODNO": no.odno,
                    "RVSE_CNCL_DVSN_CD": "02",
                    "ORD_QTY": num(status.remaining),
                    "OVRS_ORD_UNPR": "0",
                    "MGCO_APTM_ODNO": "",
                    "ORD_SVR_DVSN_CD": "0",
                }),
            ),
        };
        match self.session.post(path, tr, &body).await {
            Ok(_) | Err(PostError::Unknown) => {}
            // Refused: typically filled meanwhile; report where it stands.
            Err(PostError::Kis(KisError::Rejected { .. })) => {}
            Err(PostError::Kis(e)) => return Err(e),
        }
        self.placed_status(&entry).await
    }

    /// The client id of KIS order `odno`: the journal's, else `kis-<odno>` (an order placed
    /// elsewhere, or a journal that was lost).
    async fn client_id_of(
        &self,
        market: Market,
        odno: &str,
    ) -> Result<(ClientOrderId, Option<JournalEntry>), KisError> {
        let entry = self
            .journal
            .find_by_order_no(market, odno)
            .await
            .map_err(|e| self.journal_err(e))?;
        Ok(match entry {
            Some(e) => (e.client_id.clone(), Some(e)),
            None => (ClientOrderId(format!("kis-{}", odno.trim())), None),
        })
    }

    async fn list_open_orders(&self) -> Result<Vec<OrderStatus>, KisError> {
        let since = self.now();
        let mut out = Vec::new();
        for market in [Market::Domestic, Market::Overseas] {
            let all = self.day_rows(market, since).await?;
            for row in all.iter().filter(|r| !r.is_cancel) {
                let (cid, _) = self.client_id_of(market, &row.odno).await?;
                let status = status_of(row, &all, cid);
                if !status.state.is_done() {
                    out.push(status);
                }
            }
        }
        Ok(out)
    }

    async fn new_fills(&self) -> Result<Vec<Fill>, KisError> {
        let mut cursor = self.fills.lock().await;
        let now = self.now();
        let mut fresh: Vec<Fill> = Vec::new();
        let mut updates: Vec<JournalEntry> = Vec::new();
        let mut reported: Vec<((Market, String), (Decimal, Decimal))> = Vec::new();
        for market in [Market::Domestic, Market::Overseas] {
            let all = self.day_rows(market, now).await?;
            // One row per order: duplicates (a row listed twice across pages) collapse to the
            // one with the most filled.
            let mut best: BTreeMap<(Market, String), &OrderRow> = BTreeMap::new();
            for r in all
                .iter()
                .filter(|r| !r.is_cancel && r.filled > Decimal::ZERO)
            {
                let key = order_key(market, &r.odno);
                if best.get(&key).is_none_or(|b| b.filled < r.filled) {
                    best.insert(key, r);
                }
            }
            for (key, row) in best {
                let (cid, entry) = self.client_id_of(market, &row.odno).await?;
                let mem = cursor.reported.get(&key).copied().unwrap_or_default();
                let jr = entry
                    .as_ref()
                    .map(|e| (e.reported_qty, e.reported_amount))
                    .unwrap_or_default();
                let (done_qty, done_amt) = if !cursor.from_caller && jr.0 > mem.0 {
                    jr
                } else {
                    mem
                };
                if row.filled <= done_qty {
                    continue;
                }
                let qty = row.filled - done_qty;
                let amount = row.filled_amount - done_amt;
                let price = if amount > Decimal::ZERO && row.filled_amount > Decimal::ZERO {
                    (amount / qty).round_dp(6).normalize()
                } else {
                    row.avg_price.normalize()
                };
                if price <= Decimal::ZERO {
                    return Err(KisError::Parse {
                        what: "fills",
                        field: match market {
                            Market::Domestic => "avg_prvs".into(),
                            Market::Overseas => "ft_ccld_unpr3".into(),
                        },
                        reason: format!("order {}: no positive fill price", row.odno),
                    });
                }
                let Some(side) = row.side else {
                    return Err(KisError::Parse {
                        what: "fills",
                        field: "sll_buy_dvsn_cd".into(),
                        reason: format!("order {}: not 01/02", row.odno),
                    });
                };
                let symbol = Symbol::try_new(row.symbol.clone()).map_err(|e| KisError::Parse {
                    what: "fills",
                    field: "pdno".into(),
                    reason: self.redact(&e.to_string()),
                })?;
                let tag = match market {
                    Market::Domestic => "d",
                    Market::Overseas => "o",
                };
                fresh.push(Fill {
                    client_id: cid,
                    symbol,
                    side,
                    quantity: qty,
                    price,
                    // The daily inquiries carry no per-fill fee.
                    fee: Decimal::ZERO,
                    // They carry no execution time either: the time the adapter saw the fill.
                    ts: now,
                    exec_id: Some(format!(
                        "{tag}:{}:{}:{}",
                        row.ord_dt,
                        key.1,
                        num(row.filled)
                    )),
                });
                let total = (row.filled, row.filled_amount.max(done_amt + qty * price));
                reported.push((key, total));
                if let Some(mut e) = entry {
                    e.reported_qty = total.0;
                    e.reported_amount = total.1;
                    updates.push(e);
                }
            }
        }
        // Only now, with the whole batch read, are these fills marked reported.
        for e in &updates {
            self.j_put(e).await?;
        }
        for (k, v) in reported {
            cursor.reported.insert(k, v);
        }
        Ok(fresh)
    }

    // ---- account -----------------------------------------------------------------------

    /// KRW cash and domestic holdings (`inquire-balance`, every page).
    async fn domestic_balance(&self) -> Result<(Decimal, BTreeMap<Symbol, Decimal>), KisError> {
        let (cano, prod) = self.cano();
        let q: Vec<(&str, String)> = vec![
            ("CANO", cano),
            ("ACNT_PRDT_CD", prod),
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
        let mut book: BTreeMap<Symbol, Decimal> = BTreeMap::new();
        let mut cash = None;
        for p in &pages {
            for r in rows(p, "output1") {
                let qty = decimal_or_zero(r, "hldg_qty", "balance")?;
                if qty.is_zero() {
                    continue;
                }
                let symbol = self.symbol_field(r, "pdno", "balance")?;
                // A holding listed on two pages (the server repeats a row) counts once.
                book.insert(symbol, qty);
            }
            if cash.is_none()
                && let Some(s) = rows(p, "output2").first()
            {
                // D+2 settlement cash (today's trades included), else the deposit.
                cash = Some(if text(s, "prvs_rcdl_excc_amt").is_empty() {
                    decimal(s, "dnca_tot_amt", "balance")?
                } else {
                    decimal(s, "prvs_rcdl_excc_amt", "balance")?
                });
            }
        }
        let cash = cash.ok_or_else(|| KisError::Parse {
            what: "balance",
            field: "output2".into(),
            reason: "no cash summary".into(),
        })?;
        Ok((cash, book))
    }

    /// Overseas holdings (`inquire-balance`, every page).
    async fn overseas_holdings(&self) -> Result<BTreeMap<Symbol, Decimal>, KisError> {
        let (cano, prod) = self.cano();
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
        let mut book = BTreeMap::new();
        for p in &pages {
            for r in rows(p, "output1") {
                let qty = decimal_or_zero(r, "ovrs_cblc_qty", "overseas balance")?;
                if qty.is_zero() {
                    continue;
                }
                book.insert(self.symbol_field(r, "ovrs_pdno", "overseas balance")?, qty);
            }
        }
        Ok(book)
    }

    /// USD cash (`inquire-present-balance`, foreign-currency view, US): `frcr_dncl_amt_2` of the
    /// USD row of `output2`; zero when the account holds no USD row.
    async fn usd_cash(&self) -> Result<Decimal, KisError> {
        let (cano, prod) = self.cano();
        let q: Vec<(&str, String)> = vec![
            ("CANO", cano),
            ("ACNT_PRDT_CD", prod),
            ("WCRC_FRCR_DVSN_CD", "02".into()),
            ("NATN_CD", "840".into()),
            ("TR_MKET_CD", "00".into()),
            ("INQR_DVSN_CD", "00".into()),
        ];
        let (body, _) = self
            .session
            .get(OVERSEAS_PRESENT, Tr::OverseasPresentBalance, &q, "")
            .await?;
        for r in rows(&body, "output2") {
            if text(r, "crcy_cd").eq_ignore_ascii_case("USD") {
                return decimal(r, "frcr_dncl_amt_2", "present balance");
            }
        }
        Ok(Decimal::ZERO)
    }

    fn symbol_field(&self, r: &Value, field: &str, what: &'static str) -> Result<Symbol, KisError> {
        let s = text(r, field);
        Symbol::try_new(s).map_err(|e| KisError::Parse {
            what,
            field: field.to_string(),
            reason: self.redact(&e.to_string()),
        })
    }

    async fn read_account(&self) -> Result<Portfolio, KisError> {
        let (cash, mut positions) = self.domestic_balance().await?;
        for (s, q) in self.overseas_holdings().await? {
            *positions.entry(s).or_default() += q;
        }
        Ok(Portfolio { cash, positions })
    }
}

impl<T: TokenCache, J: OrderJournal> Broker for KisBroker<T, J> {
    type Error = KisError;

    /// Domestic `order-cash` or overseas `order`, sent once; a client id the journal knows
    /// returns its status (no second POST); no usable answer → [`KisError::OutcomeUnknown`].
    async fn submit(&self, order: &RiskApproved<OrderRequest>) -> Result<OrderStatus, KisError> {
        self.submit_order(order.get()).await
    }

    /// New executions from the daily inquiries (domestic `inquire-daily-ccld`, overseas
    /// `inquire-ccnl`), each reported once: per order, the filled quantity beyond what was
    /// already reported; `exec_id` = `<d|o>:<order date>:<order no>:<cumulative qty>`.
    async fn take_fills(&self) -> Result<Vec<Fill>, KisError> {
        self.new_fills().await
    }

    /// KRW cash (D+2 settlement cash) and the domestic plus overseas holdings. USD cash is in
    /// [`Broker::cash_balances`].
    async fn account(&self) -> Result<Portfolio, KisError> {
        self.read_account().await
    }

    /// Through the journal and the day's orders; an unknown outcome is resolved here (see the
    /// crate docs); `None` when KIS never received it.
    async fn order_status(
        &self,
        client_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, KisError> {
        self.status(client_id).await
    }

    /// `order-rvsecncl` (cancel the whole remainder) unless already done; returns the status
    /// KIS then reports.
    async fn cancel(&self, client_id: &ClientOrderId) -> Result<OrderStatus, KisError> {
        self.cancel_order(client_id).await
    }

    /// Today's orders still working, domestic and overseas.
    async fn open_orders(&self) -> Result<Vec<OrderStatus>, KisError> {
        self.list_open_orders().await
    }

    /// Per order, the caller's booked totals (the largest cumulative quantity in its fills'
    /// execution ids, the sum of their quantity × price) become what was reported: the next
    /// `take_fills` reports only what KIS shows beyond them. Fills of other brokers (execution
    /// ids this adapter did not make) are ignored.
    async fn booked_fills(&self, fills: &[Fill]) -> Result<(), KisError> {
        let mut totals: HashMap<(Market, String), (Decimal, Decimal)> = HashMap::new();
        for fill in fills {
            let Some((key, cumulative)) = fill.exec_id.as_deref().and_then(parse_exec_id) else {
                continue;
            };
            let entry = totals.entry(key).or_default();
            entry.0 = entry.0.max(cumulative);
            entry.1 += fill.quantity * fill.price;
        }
        let mut cursor = self.fills.lock().await;
        cursor.reported = totals;
        cursor.from_caller = true;
        Ok(())
    }

    /// KRW (domestic balance) and USD (overseas present balance), separately.
    async fn cash_balances(&self) -> Result<Vec<CashBalance>, KisError> {
        let (krw, _) = self.domestic_balance().await?;
        let usd = self.usd_cash().await?;
        Ok(vec![
            CashBalance {
                currency: Currency::Krw,
                amount: krw,
            },
            CashBalance {
                currency: Currency::Usd,
                amount: usd,
            },
        ])
    }
}
