//! Money: booked amounts (cash, fills, fees) are exact decimals, never `f64`.

use rust_decimal::Decimal;

/// A booked amount of money in some currency's units (dollars, won…), exact to the last decimal.
pub type Money = Decimal;

/// Converts an analysed `f64` price to a booked decimal, rounded to `dp` decimal places
/// (banker's rounding is avoided: midpoint away from zero, as brokers quote). Returns `None` for
/// non-finite or out-of-range input.
pub fn price_to_money(price: f64, dp: u32) -> Option<Money> {
    if !price.is_finite() {
        return None;
    }
    // Fast path (hot in backtests): scale in f64 and round to an integer. It is exact whenever
    // the scaled value is far from a rounding midpoint (the f64 product's error is < 1e-6 of a
    // unit there); near a midpoint, or for large magnitudes, take the exact decimal path.
    if dp <= 9 {
        let scale = 10f64.powi(dp as i32);
        let scaled = price * scale;
        if scaled.abs() < 1e15 {
            let frac = (scaled - scaled.trunc()).abs();
            if (frac - 0.5).abs() > 1e-6 {
                return Some(Decimal::new(scaled.round() as i64, dp));
            }
        }
    }
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
    use proptest::prelude::*;
    use std::str::FromStr;

    proptest! {
        #[test]
        fn fast_rounding_equals_exact_decimal_rounding(p in -1e7f64..1e7, dp in 0u32..7) {
            let exact = Decimal::from_f64_retain(p)
                .map(|d| d.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero));
            prop_assert_eq!(price_to_money(p, dp), exact);
        }
    }

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
            price_to_money(-20.799999237060547, 2),
            Some(Decimal::from_str("-20.80").unwrap())
        );
        assert_eq!(
            price_to_money(1.005, 2),
            Some(Decimal::from_str("1.00").unwrap())
        );
        assert_eq!(
            price_to_money(1e20, 2),
            Some(Decimal::from_str("100000000000000000000").unwrap())
        );
        assert_eq!(
            money_to_f64(Decimal::from_str("100000.50").unwrap()),
            100000.5
        );
    }
}
