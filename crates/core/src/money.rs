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

/// Converts a booked decimal to an analysed `f64` (lossy by nature; use only for statistics and
/// sizing decisions).
///
/// Bit for bit what `rust_decimal`'s `to_f64` returns (a property test proves it), computed in
/// `u64` when the mantissa fits (every amount of this product does) instead of `u128`, whose
/// division is a slow software routine: backtests and sweeps convert after every fill.
pub fn money_to_f64(m: Money) -> f64 {
    let scale = m.scale();
    let mantissa = m.mantissa();
    let Ok(abs) = u64::try_from(mantissa.unsigned_abs()) else {
        return m.as_f64();
    };
    if scale == 0 {
        // Signed conversion, as `as_f64` does (a negative zero becomes +0.0); through i64 when it
        // fits (one instruction instead of the software i128 conversion; both round correctly).
        return match i64::try_from(mantissa) {
            Ok(m) => m as f64,
            Err(_) => mantissa as f64,
        };
    }
    if scale > 19 {
        return m.as_f64();
    }
    // The same steps as `Decimal::as_f64`, each giving the same bits in u64 as in u128.
    let precision = 10u64.pow(scale);
    let integral = (abs / precision) as f64;
    let frac = (abs % precision) as f64 / precision as f64;
    let neg = m.is_sign_negative();
    if frac == 0.0 {
        return if neg { -integral } else { integral };
    }
    // 10^scale is exact in f64 up to 10^22, so the table equals `10f64.powi(scale)` bit for bit.
    const POW10: [f64; 20] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19,
    ];
    let round_to = POW10[scale as usize];
    let rounded = ((integral + frac) * round_to).round() / round_to;
    if neg { -rounded } else { rounded }
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

        #[test]
        fn fast_conversion_equals_rust_decimal(
            mantissa in prop_oneof![
                -1_000_000_000_000i64..1_000_000_000_000,
                any::<i64>(),
            ],
            wide in any::<i128>(),
            scale in 0u32..=28,
        ) {
            for m in [i128::from(mantissa), wide >> 34] {
                let d = Decimal::from_i128_with_scale(m, scale);
                prop_assert_eq!(money_to_f64(d).to_bits(), d.as_f64().to_bits(), "{}", d);
                let neg = -d;
                prop_assert_eq!(money_to_f64(neg).to_bits(), neg.as_f64().to_bits(), "{}", neg);
            }
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
        for s in [
            "-0",
            "-0.00",
            "0.1",
            "-123.456789",
            "79228162514264337593543950335",
        ] {
            let d = Decimal::from_str(s).unwrap();
            assert_eq!(money_to_f64(d).to_bits(), d.as_f64().to_bits(), "{s}");
        }
    }
}
