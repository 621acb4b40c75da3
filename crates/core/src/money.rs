//! Money: booked amounts (cash, fills, fees) are exact decimals, never `f64`.

use rust_decimal::Decimal;

/// A booked amount of money in some currency's units (dollars, won…), exact to the last decimal.
pub type Money = Decimal;

/// Converts an analysed `f64` price to a booked decimal, rounded to `dp` decimal places
/// (banker's rounding is avoided: midpoint away from zero, as brokers quote). Returns `None` for
/// non-finite or out-of-range input.
pub fn price_to_money(price: f64, dp: u32) -> Option<Money> {
    let d = Decimal::from_f64_retain(price)?;
    Some(d.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
}

/// Converts a booked decimal to an analysed `f64` (lossy by nature; use only for statistics).
pub fn money_to_f64(m: Money) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    m.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn converts_prices_exactly_at_cents() {
        assert_eq!(
            price_to_money(21.368667602539062, 2),
            Some(Decimal::from_str("21.37").unwrap())
        );
        assert_eq!(
            price_to_money(0.125, 2),
            Some(Decimal::from_str("0.13").unwrap())
        );
        assert_eq!(price_to_money(f64::NAN, 2), None);
        assert_eq!(
            money_to_f64(Decimal::from_str("100000.50").unwrap()),
            100000.5
        );
    }
}
