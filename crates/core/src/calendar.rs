//! Exchange calendars (NYSE/Nasdaq, KRX, crypto, none) and trading-day arithmetic.
//! PLACEHOLDER API — being implemented (see the calendar helper's task).

use crate::error::CoreError;
use crate::instrument::Exchange;
use jiff::Timestamp;
use jiff::civil::Date;

/// One trading session of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Exchange-local trading date.
    pub date: Date,
    /// Session open (UTC).
    pub open: Timestamp,
    /// Session close (UTC), exclusive.
    pub close: Timestamp,
    /// True on a scheduled early close (half day).
    pub early_close: bool,
}

/// A calendar of trading sessions for one exchange.
#[derive(Debug)]
pub struct ExchangeCalendar {
    exchange: Exchange,
}

/// The calendar of an exchange (NYSE and Nasdaq share one).
pub fn calendar(exchange: Exchange) -> &'static ExchangeCalendar {
    static NYSE: ExchangeCalendar = ExchangeCalendar {
        exchange: Exchange::Nyse,
    };
    let _ = exchange;
    &NYSE
}

impl ExchangeCalendar {
    /// The exchange this calendar describes.
    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// The session on `date`, or `None` when the exchange is closed.
    pub fn session(&self, date: Date) -> Result<Option<Session>, CoreError> {
        let _ = date;
        Err(CoreError::Time("calendar not implemented yet".into()))
    }
}
