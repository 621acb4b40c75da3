//! The adapter's durable state through the product's `Store` port (named JSON documents):
//! the OAuth token cache (`kis/token/<cache key>`; the key hashes the app key, so the app key
//! itself is never stored) and the order journal (`kis/order/<client id>`, with an index
//! `kis/odno/<market>/<order no>` → client id for the look-up by KIS order number). Both survive a
//! restart, which is what lets a restarted runner reuse its token (KIS re-issues at most once a
//! minute and notifies the account holder each time) and resolve its orders by client id.

use crate::config::KisMode;
use crate::journal::{JournalEntry, Market, OrderJournal};
use crate::token::{AccessToken, CachedToken, TokenCache};
use pulse_core::ClientOrderId;
use pulse_core::jiff::Timestamp;
use pulse_core::ports::Store;
use serde::{Deserialize, Serialize};

/// The stored form of a cached token.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    token: String,
    expires_at: Timestamp,
    issued_at: Timestamp,
    mode: String,
}

/// A [`TokenCache`] in the store's documents. A store error or an unreadable document reads as
/// "no cached token" (the adapter then issues one, within its once-a-minute limit) and a failed
/// save is dropped: the token cache must never stop trading.
#[derive(Debug, Clone)]
pub struct StoreTokenCache<S> {
    store: S,
}

impl<S> StoreTokenCache<S> {
    /// A token cache over `store` (a cheap clone of the product's store).
    pub fn new(store: S) -> Self {
        StoreTokenCache { store }
    }
}

fn token_doc(key: &str) -> String {
    format!("kis/token/{key}")
}

impl<S: Store + Send + Sync> TokenCache for StoreTokenCache<S> {
    async fn load(&self, key: &str) -> Option<CachedToken> {
        let text = self.store.document(&token_doc(key)).await.ok()??;
        let stored: StoredToken = serde_json::from_str(&text).ok()?;
        Some(CachedToken {
            token: AccessToken::new(stored.token),
            expires_at: stored.expires_at,
            issued_at: stored.issued_at,
            mode: KisMode::parse(&stored.mode)?,
        })
    }

    async fn save(&self, key: &str, token: &CachedToken) {
        let stored = StoredToken {
            token: token.token.expose().to_string(),
            expires_at: token.expires_at,
            issued_at: token.issued_at,
            mode: token.mode.as_str().to_string(),
        };
        if let Ok(json) = serde_json::to_string(&stored) {
            let _ = self
                .store
                .save_documents(&[(token_doc(key).as_str(), json)], &[])
                .await;
        }
    }
}

/// Why the store journal failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreJournalError {
    /// The store failed.
    #[error("order journal: {0}")]
    Store(String),
    /// A stored entry is not readable.
    #[error("order journal: entry {key} is corrupt: {message}")]
    Corrupt {
        /// The document key.
        key: String,
        /// The decoder's message.
        message: String,
    },
}

/// An [`OrderJournal`] in the store's documents: an entry and its order-number index are
/// written in one transaction.
#[derive(Debug, Clone)]
pub struct StoreOrderJournal<S> {
    store: S,
}

impl<S> StoreOrderJournal<S> {
    /// A journal over `store` (a cheap clone of the product's store).
    pub fn new(store: S) -> Self {
        StoreOrderJournal { store }
    }
}

fn order_doc(client_id: &ClientOrderId) -> String {
    format!("kis/order/{}", client_id.0)
}

fn odno_doc(market: Market, odno: &str) -> String {
    let market = match market {
        Market::Domestic => "domestic",
        Market::Overseas => "overseas",
    };
    format!("kis/odno/{market}/{odno}")
}

impl<S: Store + Send + Sync> StoreOrderJournal<S> {
    async fn read(&self, key: &str) -> Result<Option<JournalEntry>, StoreJournalError> {
        let Some(text) = self
            .store
            .document(key)
            .await
            .map_err(|e| StoreJournalError::Store(e.to_string()))?
        else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreJournalError::Corrupt {
                key: key.to_string(),
                message: e.to_string(),
            })
    }
}

impl<S: Store + Send + Sync> OrderJournal for StoreOrderJournal<S> {
    type Error = StoreJournalError;

    async fn get(&self, client_id: &ClientOrderId) -> Result<Option<JournalEntry>, Self::Error> {
        self.read(&order_doc(client_id)).await
    }

    async fn put(&self, entry: &JournalEntry) -> Result<(), Self::Error> {
        let json = serde_json::to_string(entry).map_err(|e| StoreJournalError::Corrupt {
            key: order_doc(&entry.client_id),
            message: e.to_string(),
        })?;
        let mut documents = vec![(order_doc(&entry.client_id), json)];
        if let Some(no) = entry.order_no() {
            let id = serde_json::to_string(&entry.client_id.0).unwrap_or_default();
            documents.push((odno_doc(entry.market, &no.odno), id));
        }
        let refs: Vec<(&str, String)> = documents
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        self.store
            .save_documents(&refs, &[])
            .await
            .map_err(|e| StoreJournalError::Store(e.to_string()))
    }

    async fn find_by_order_no(
        &self,
        market: Market,
        odno: &str,
    ) -> Result<Option<JournalEntry>, Self::Error> {
        let key = odno_doc(market, odno);
        let Some(text) = self
            .store
            .document(&key)
            .await
            .map_err(|e| StoreJournalError::Store(e.to_string()))?
        else {
            return Ok(None);
        };
        let client_id: String =
            serde_json::from_str(&text).map_err(|e| StoreJournalError::Corrupt {
                key,
                message: e.to_string(),
            })?;
        self.get(&ClientOrderId(client_id)).await
    }
}
