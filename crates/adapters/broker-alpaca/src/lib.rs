//! `broker-alpaca` implements [`pulse_execution::Broker`] for Alpaca's Trading API v2 (paper and
//! live): orders by client order id (`POST /v2/orders`, `GET /v2/orders:by_client_order_id`,
//! `DELETE /v2/orders/{id}`, `GET /v2/orders?status=open`), the account
//! (`GET /v2/account`, `GET /v2/positions`) and executions
//! (`GET /v2/account/activities/FILL`).
//!
//! The contract of the port, and how it is kept here:
//! - **idempotent submission**: Alpaca keeps client order ids unique (even after a cancel); a
//!   re-submitted id is refused with HTTP 422 "client_order_id must be unique", which
//!   [`AlpacaBroker`] answers by looking the order up and returning its status;
//! - **no blind re-send**: a POST is sent once (`pulse-http` never retries it); a timeout or a
//!   connection lost after sending is [`AlpacaError::OutcomeUnknown`], which the caller resolves
//!   with `order_status` (and submits again only when that says `None`);
//! - **fills once**: each FILL activity id (the fill's `exec_id`) is reported once by this
//!   adapter, which remembers the ids it reported; the runner de-duplicates by exec id as well,
//!   so a restart (which forgets them) cannot book a fill twice;
//! - **rate limits**: at most 200 requests per minute (sliding window), a pause until
//!   `X-Ratelimit-Reset` when `X-Ratelimit-Remaining` is 0, and GET/DELETE retried on 429 and 5xx
//!   with exponential backoff honouring `Retry-After`;
//! - **secrets**: the keys come from the environment (`APCA_API_KEY_ID`,
//!   `APCA_API_SECRET_KEY`), travel only in headers marked sensitive, and are redacted
//!   (verbatim and URL-encoded) from every error; [`SecretKey`]'s `Debug` prints `***`.

mod broker;
mod config;
mod error;
mod wire;

pub use broker::AlpacaBroker;
pub use config::{
    AlpacaConfig, AlpacaEndpoint, KEY_ID_VAR, LIVE_BASE_URL, MAX_CLIENT_ORDER_ID_LEN,
    PAPER_BASE_URL, SECRET_KEY_VAR, SecretKey,
};
pub use error::AlpacaError;
pub use wire::map_status;
