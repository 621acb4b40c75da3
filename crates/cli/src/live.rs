//! The live brokers the binary can build (Alpaca, KIS) as one [`Broker`] for the use cases:
//! the composition root picks the adapter a runner was started with; every call delegates.

use crate::store::AnyStore;
use broker_alpaca::{AlpacaBroker, AlpacaConfig, AlpacaEndpoint};
use pulse_app::trade::{BrokerChoice, TradeMode};
use pulse_broker_kis::{KisBroker, KisConfig, KisMode, StoreOrderJournal, StoreTokenCache};
use pulse_core::{CashBalance, ClientOrderId, Fill, OrderRequest, Portfolio};
use pulse_execution::{Broker, OrderStatus, RiskApproved};
use std::sync::Arc;

/// The KIS adapter with its token cache and order journal in the product's store.
pub type Kis = KisBroker<StoreTokenCache<AnyStore>, StoreOrderJournal<AnyStore>>;

/// A live broker.
pub enum LiveBroker {
    /// Alpaca's REST v2.
    Alpaca(Box<AlpacaBroker>),
    /// KIS Open API.
    Kis(Box<Kis>),
}

/// An error of the live broker in use.
#[derive(Debug, thiserror::Error)]
pub enum LiveBrokerError {
    /// From Alpaca.
    #[error(transparent)]
    Alpaca(#[from] broker_alpaca::AlpacaError),
    /// From KIS.
    #[error(transparent)]
    Kis(#[from] pulse_broker_kis::KisError),
}

/// The live broker of `choice` in `mode`, keys from the environment (`APCA_API_KEY_ID`,
/// `APCA_API_SECRET_KEY`, `APCA_API_BASE_URL`; `KIS_APP_KEY`, `KIS_APP_SECRET`, `KIS_ACCOUNT`,
/// `KIS_BASE_URL`), or `None` for the paper book.
pub fn live_broker(
    choice: BrokerChoice,
    mode: TradeMode,
    store: &AnyStore,
) -> anyhow::Result<Option<LiveBroker>> {
    match choice {
        BrokerChoice::Paper => Ok(None),
        BrokerChoice::Alpaca => {
            let endpoint = match mode {
                TradeMode::Paper => AlpacaEndpoint::Paper,
                TradeMode::Live => AlpacaEndpoint::Live,
            };
            let mut config = AlpacaConfig::from_env(endpoint)?;
            if let Ok(url) = std::env::var("APCA_API_BASE_URL")
                && !url.trim().is_empty()
            {
                config.base_url = url.trim().trim_end_matches('/').to_string();
            }
            Ok(Some(LiveBroker::Alpaca(Box::new(AlpacaBroker::new(
                config,
            )?))))
        }
        BrokerChoice::Kis => {
            let mode = match mode {
                TradeMode::Paper => KisMode::Paper,
                TradeMode::Live => KisMode::Real,
            };
            let config = KisConfig::from_env(Some(mode))?;
            // Token expiry is real time, whatever the product's clock says.
            let clock: Arc<dyn pulse_core::ports::Clock> = Arc::new(pulse_core::WallClock);
            let broker = KisBroker::new(
                config,
                clock,
                StoreTokenCache::new(store.clone()),
                StoreOrderJournal::new(store.clone()),
            )?;
            Ok(Some(LiveBroker::Kis(Box::new(broker))))
        }
    }
}

impl Broker for LiveBroker {
    type Error = LiveBrokerError;

    async fn submit(&self, order: &RiskApproved<OrderRequest>) -> Result<OrderStatus, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.submit(order).await?),
            LiveBroker::Kis(b) => Ok(b.submit(order).await?),
        }
    }

    async fn take_fills(&self) -> Result<Vec<Fill>, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.take_fills().await?),
            LiveBroker::Kis(b) => Ok(b.take_fills().await?),
        }
    }

    async fn account(&self) -> Result<Portfolio, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.account().await?),
            LiveBroker::Kis(b) => Ok(b.account().await?),
        }
    }

    async fn order_status(
        &self,
        client_id: &ClientOrderId,
    ) -> Result<Option<OrderStatus>, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.order_status(client_id).await?),
            LiveBroker::Kis(b) => Ok(b.order_status(client_id).await?),
        }
    }

    async fn cancel(&self, client_id: &ClientOrderId) -> Result<OrderStatus, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.cancel(client_id).await?),
            LiveBroker::Kis(b) => Ok(b.cancel(client_id).await?),
        }
    }

    async fn open_orders(&self) -> Result<Vec<OrderStatus>, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.open_orders().await?),
            LiveBroker::Kis(b) => Ok(b.open_orders().await?),
        }
    }

    async fn cash_balances(&self) -> Result<Vec<CashBalance>, Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.cash_balances().await?),
            LiveBroker::Kis(b) => Ok(b.cash_balances().await?),
        }
    }

    async fn booked_fills(&self, fills: &[Fill]) -> Result<(), Self::Error> {
        match self {
            LiveBroker::Alpaca(b) => Ok(b.booked_fills(fills).await?),
            LiveBroker::Kis(b) => Ok(b.booked_fills(fills).await?),
        }
    }
}
