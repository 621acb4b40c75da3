//! `pulse-broker-kis` implements [`pulse_execution::Broker`] and
//! [`pulse_core::ports::QuoteSource`] for Korea Investment & Securities' Open API (real 실전 and
//! paper 모의투자): KRX cash orders (`order-cash`, `order-rvsecncl`), US orders
//! (`overseas-stock/v1/trading/order`, `order-rvsecncl`), the daily order/fill inquiries
//! (`inquire-daily-ccld`, `inquire-ccnl`), balances (`inquire-balance` both markets,
//! `inquire-present-balance` for USD cash), and quotes (`inquire-price`,
//! `inquire-asking-price-exp-ccn`, `volume-rank`, overseas `price` and `inquire-asking-price`).
//!
//! **Markets.** A symbol of six ASCII digits (`005930`) is a KRX code, priced in KRW; anything
//! else (`TSLA`, `TSLL`) is a US ticker traded on [`KisConfig::overseas_exchange`] (default
//! NASDAQ: `NASD` for orders, `NAS` for quotes), priced in USD. KRX orders are day orders, limit
//! (`ORD_DVSN 00`) or market (`01`), or IOC (`11`/`13`). US orders are limit day orders only: KIS
//! has no plain US market order, and paper accepts only `00`, so a market order for a US symbol is
//! refused before anything is sent ([`KisError::PaperLimitOnly`] on paper,
//! [`KisError::InvalidOrder`] on real); send a marketable limit order instead.
//!
//! **Token.** `POST /oauth2/tokenP` issues a bearer token (≈24 h). [`KisBroker`] keeps it in a
//! [`TokenCache`] under [`token_cache_key`] (mode + SHA-256 of the app key, never the key), uses it
//! until [`KisConfig::token_margin`] before its expiry, issues a new one when none is usable or
//! when the server answers `EGW00123` (expired; the call is then repeated once), and never issues
//! more than once per [`KisConfig::token_reissue_interval`] (60 s, KIS's limit; checked against the
//! cached token's `issued_at` too, so a second adapter sharing the cache respects it): when it
//! must and cannot, it fails with [`KisError::TokenReissueTooSoon`].
//!
//! **TR ids** come from one table, [`TR_TABLE`] / [`tr_id`], with the exceptions spelled out
//! (`TTTT1006U` → `VTTT1001U`; real-only TRs fail with [`KisError::NotOnPaper`] before any
//! request).
//!
//! **Orders and the journal.** KIS has no client order id, so the adapter keeps client id → KIS
//! order number (`ODNO`, `KRX_FWDG_ORD_ORGNO`) in an [`OrderJournal`], writing an intent (with the
//! instant it was about to send) before the POST and the outcome after. The port's contract:
//! - **idempotent submission**: a client id the journal knows as placed returns its status from
//!   the day's orders, with no second POST;
//! - **no blind re-send**: a POST is sent once. A timeout after it left, a lost connection, a 5xx
//!   without KIS's envelope (or with a code other than the gateway refusals named below), or an
//!   accepted answer without an order number is
//!   [`KisError::OutcomeUnknown`]. The only automatic re-sends are of orders KIS's gateway refused
//!   before they reached the trading system (`EGW00201` rate limit, with bounded backoff;
//!   `EGW00123` expired token, once).
//! - **resolution heuristic** (by `order_status`, or `submit` of the same id): the day's orders of
//!   the order's market are listed, and the earliest one with the same symbol, side, quantity and
//!   price (0 for a market order), not a cancel, placed at or after the recorded intent time
//!   (truncated to the second; KST `ord_dt`+`ord_tmd` domestic, `dmst_ord_dt`+`thco_ord_tmd` or the
//!   New York `ord_dt`+`ord_tmd` overseas), and not already claimed by another journal entry, is
//!   taken as ours and recorded. None → `order_status` returns `None` and records that, after
//!   which a `submit` of the same id sends it again. **Limits:** an identical order placed by
//!   someone else (HTS, another process on the account) in that window is indistinguishable and
//!   may be claimed; clock skew between this machine and KIS beyond a second can hide our own
//!   order (→ `None`, and a re-submit would duplicate it) — keep the clock synchronized; an order
//!   KIS accepted but does not list yet is also `None`, so wait a few seconds before resolving;
//!   rows without a readable order time are never matched.
//! - **fills once**: the daily inquiries list one row per order with cumulative totals, not one
//!   per execution. `take_fills` reports, per order, the quantity filled beyond what it already
//!   reported (price = the change in the filled amount over the change in quantity, else KIS's
//!   average), with `exec_id` = `<d|o>:<order date>:<order no>:<cumulative quantity>` (the fill
//!   sequence) — duplicate rows (the same order listed twice) collapse, and the reported totals
//!   are kept in memory and in the journal entry, so a restart does not report them again. Fees
//!   are not in these inquiries (0), and the fill time is when the adapter saw it.
//!
//! **Paging** follows KIS: the answer's `tr_cont` header `F`/`M` means more pages, fetched with
//! request `tr_cont: N` and the previous answer's `ctx_area_fk100/nk100` (domestic) or
//! `ctx_area_fk200/nk200` (overseas).
//!
//! **Envelope codes.** `rt_cd "0"` is success; `EGW00201` → retried with backoff (bounded), then
//! [`KisError::RateLimited`]; `EGW02004` → [`KisError::WrongHost`]; `MCA00124` →
//! [`KisError::NotOnPaper`]; anything else → [`KisError::Rejected`]. (A GET answered HTTP 5xx is
//! retried by `pulse-http` and, when retries run out, reported as `pulse_http::HttpError::Server`
//! with the last answer's body, redacted, so KIS's `msg_cd` is named.)
//!
//! **Rate limits.** Requests are paced client-side at [`KisMode::min_interval`] (50 ms real ≈ 20
//! req/s, 500 ms paper ≈ 2 req/s).
//!
//! **Secrets.** App key, app secret, access token and account number travel only in headers
//! marked sensitive or in request fields, `Debug` prints them as `***`, and every text echoed from
//! the server or the transport is redacted (verbatim and URL-encoded) before it reaches an error.
//!
//! **Cash.** [`Broker::account`](pulse_execution::Broker::account)'s cash is KRW (the domestic
//! balance's D+2 settlement cash `prvs_rcdl_excc_amt`, else the deposit `dnca_tot_amt`); its
//! positions are domestic and overseas holdings together;
//! [`Broker::cash_balances`](pulse_execution::Broker::cash_balances) returns KRW and USD
//! (`frcr_dncl_amt_2` of the present balance) separately.

mod broker;
mod client;
mod config;
mod error;
mod journal;
mod quotes;
mod rows;
mod store;
mod token;
mod tr;
mod wire;

pub use broker::{KisBroker, krx_limit, krx_tick};
pub use config::{
    ACCOUNT_VAR, APP_KEY_VAR, APP_SECRET_VAR, Account, BASE_URL_VAR, KisConfig, KisMode, MODE_VAR,
    OverseasExchange, PAPER_BASE_URL, REAL_BASE_URL, Secret,
};
pub use error::KisError;
pub use journal::{
    JournalEntry, JournalState, KisOrderNo, Market, MemoryJournalError, MemoryOrderJournal,
    OrderJournal, same_order_no,
};
pub use quotes::VOLUME_RANK_MAX;
pub use store::{StoreJournalError, StoreOrderJournal, StoreTokenCache};
pub use token::{AccessToken, CachedToken, MemoryTokenCache, TokenCache, token_cache_key};
pub use tr::{TR_TABLE, Tr, tr_id};
