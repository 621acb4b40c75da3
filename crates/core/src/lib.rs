//! `pulse-core` owns the Portfolio Pulse domain: symbols, timeframes, bars, corporate actions,
//! instruments and their sectors, money, exchange calendars and session-aware resampling,
//! data-quality findings, and the port traits (`Clock`, `MarketData`, `Store`) that adapters
//! implement. It performs no I/O and never reads the wall clock except through
//! [`clock::WallClock`].

pub mod action;
pub mod bar;
pub mod calendar;
pub mod clock;
pub mod costs;
pub mod error;
pub mod instrument;
pub mod money;
pub mod order;
pub mod periodicity;
pub mod portfolio;
pub mod ports;
pub mod quality;
pub mod quality_check;
pub mod quote;
pub mod resample;
pub mod sector;
pub mod sizing;
pub mod study;
pub mod symbol;
pub mod timeframe;

pub use action::{CorporateAction, CorporateActionKind};
pub use bar::Bar;
pub use clock::{SimClock, WallClock};
pub use error::CoreError;
pub use instrument::{AssetClass, Currency, Exchange, Instrument};
pub use money::Money;
pub use order::{ClientOrderId, Fill, OrderKind, OrderRequest, Side, TimeInForce};
pub use periodicity::Periodicity;
pub use portfolio::{BookingError, Portfolio};
pub use quote::{BookLevel, CashBalance, OrderBook, Quote, QuoteUniverse};
pub use sector::{SectorInfo, SectorMap};
pub use symbol::Symbol;
pub use timeframe::Timeframe;

/// Re-exported so that adapters name the same time and decimal types as the core.
pub use jiff;
pub use rust_decimal;
