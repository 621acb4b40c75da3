//! `cache-redis`: the quote cache of spec §4 on Redis. The collector writes each symbol's latest
//! quote under `<prefix>:price:<SYMBOL>` and its order book under `<prefix>:orderbook:<SYMBOL>`
//! (JSON of `pulse_core::Quote` / `OrderBook`), both with `SET … EX ttl`, in one atomic pipeline;
//! readers `GET` them. The prefix is `realtime` unless a deployment shares a Redis between
//! environments. The connection reconnects by itself (redis' `ConnectionManager`); every
//! command has a response timeout, so a dead server fails a tick instead of hanging it.
//!
//! The URL may carry a password (`redis://:secret@host:6379/0`): it is never printed; errors name
//! the host, port and database only.

use pulse_core::ports::QuoteCache;
use pulse_core::{OrderBook, Quote, Symbol};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// The key prefix of spec §4 (`realtime:price:<symbol>`).
pub const DEFAULT_PREFIX: &str = "realtime";

/// Why the cache failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisCacheError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL ({0}); expected redis://[:password@]host[:port][/db]")]
    Url(String),
    /// Connecting or a command failed.
    #[error("Redis at {target}: {message}")]
    Redis {
        /// host:port/db of the server (never the password).
        target: String,
        /// What the client reported.
        message: String,
    },
    /// A stored value is not the JSON of a quote or book.
    #[error("Redis at {target}: key {key} holds no valid {what}: {message}")]
    Decode {
        /// host:port/db of the server.
        target: String,
        /// The key.
        key: String,
        /// `quote` or `order book`.
        what: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// A time to live of 0 seconds (Redis refuses `EX 0`).
    #[error("quote cache time to live must be at least 1 second")]
    ZeroTtl,
}

/// The Redis quote cache (cheap to clone: clones share one connection).
#[derive(Clone)]
pub struct RedisQuoteCache {
    connection: ConnectionManager,
    prefix: String,
    target: String,
}

impl std::fmt::Debug for RedisQuoteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQuoteCache")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// host:port/db of a connection info, for messages (never the password or user name).
fn describe(info: &redis::ConnectionInfo) -> String {
    let db = info.redis_settings().db();
    match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => format!("{host}:{port}/{db}"),
        redis::ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port}/{db} (tls)"),
        redis::ConnectionAddr::Unix(path) => format!("{}/{db}", path.display()),
        _ => format!("redis/{db}"),
    }
}

impl RedisQuoteCache {
    /// Connects to `url` (`redis://host:port/db`), failing within a few seconds when no server
    /// answers. Keys are `<prefix>:price:<SYMBOL>` and `<prefix>:orderbook:<SYMBOL>`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, RedisCacheError> {
        use redis::IntoConnectionInfo;
        let info = url.into_connection_info().map_err(|e| {
            // The parser's message can quote the URL: report only its kind.
            RedisCacheError::Url(format!("{:?}", e.kind()))
        })?;
        let target = describe(&info);
        let client = redis::Client::open(info).map_err(|e| RedisCacheError::Redis {
            target: target.clone(),
            message: e.to_string(),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| RedisCacheError::Redis {
                target: target.clone(),
                message: e.to_string(),
            })?;
        Ok(RedisQuoteCache {
            connection,
            prefix: prefix.to_string(),
            target,
        })
    }

    /// host:port/db of the server, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The key of a symbol's latest quote.
    pub fn price_key(&self, symbol: &Symbol) -> String {
        format!("{}:price:{symbol}", self.prefix)
    }

    /// The key of a symbol's latest order book.
    pub fn book_key(&self, symbol: &Symbol) -> String {
        format!("{}:orderbook:{symbol}", self.prefix)
    }

    fn failed(&self, e: redis::RedisError) -> RedisCacheError {
        RedisCacheError::Redis {
            target: self.target.clone(),
            message: e.to_string(),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
        what: &'static str,
    ) -> Result<Option<T>, RedisCacheError> {
        let mut connection = self.connection.clone();
        let text: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.failed(e))?;
        match text {
            None => Ok(None),
            Some(text) => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| RedisCacheError::Decode {
                        target: self.target.clone(),
                        key,
                        what,
                        message: e.to_string(),
                    })
            }
        }
    }
}

impl QuoteCache for RedisQuoteCache {
    type Error = RedisCacheError;

    /// One atomic pipeline: `SET price EX ttl` (and `SET orderbook EX ttl`).
    async fn put(
        &self,
        quote: &Quote,
        book: Option<&OrderBook>,
        ttl_seconds: u64,
    ) -> Result<(), RedisCacheError> {
        if ttl_seconds == 0 {
            return Err(RedisCacheError::ZeroTtl);
        }
        let encode = |e: serde_json::Error| RedisCacheError::Decode {
            target: self.target.clone(),
            key: self.price_key(&quote.symbol),
            what: "quote",
            message: e.to_string(),
        };
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.price_key(&quote.symbol))
            .arg(serde_json::to_string(quote).map_err(encode)?)
            .arg("EX")
            .arg(ttl_seconds)
            .ignore();
        if let Some(book) = book {
            pipe.cmd("SET")
                .arg(self.book_key(&book.symbol))
                .arg(serde_json::to_string(book).map_err(encode)?)
                .arg("EX")
                .arg(ttl_seconds)
                .ignore();
        }
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| self.failed(e))
    }

    async fn quote(&self, symbol: &Symbol) -> Result<Option<Quote>, RedisCacheError> {
        self.get_json(self.price_key(symbol), "quote").await
    }

    async fn order_book(&self, symbol: &Symbol) -> Result<Option<OrderBook>, RedisCacheError> {
        self.get_json(self.book_key(symbol), "order book").await
    }
}
