//! The TR-ID table: which transaction id each operation sends, real and paper, in one place.
//!
//! The rule of thumb (trading/account TRs starting with `T`, `J` or `C` become paper TRs by
//! replacing the first letter with `V`; quote TRs `F…`/`H…` are the same on both) has
//! exceptions, which this table spells out rather than computes: the US sell order is
//! `TTTT1006U` real but `VTTT1001U` paper, and some TRs have no paper twin at all (they are
//! refused with [`KisError::NotOnPaper`] before any request).

use crate::config::KisMode;
use crate::error::KisError;

/// An operation of the KIS REST API this adapter (or its callers) may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tr {
    /// Domestic cash buy (`order-cash`).
    DomesticBuy,
    /// Domestic cash sell (`order-cash`).
    DomesticSell,
    /// Domestic modify/cancel (`order-rvsecncl`).
    DomesticCancel,
    /// Domestic balance and holdings (`inquire-balance`).
    DomesticBalance,
    /// Domestic daily orders and fills, last 3 months (`inquire-daily-ccld`).
    DomesticDailyFills,
    /// Domestic daily orders and fills, older than 3 months (`inquire-daily-ccld`).
    DomesticDailyFillsOld,
    /// Domestic buyable amount (`inquire-psbl-order`).
    DomesticBuyable,
    /// Domestic balance with realized P&L (`inquire-balance-rlz-pl`), real only.
    DomesticBalanceRealizedPl,
    /// Account asset status (`inquire-account-balance`), real only.
    AccountAssets,
    /// Domestic current price (`inquire-price`).
    DomesticPrice,
    /// Domestic order book and expected execution (`inquire-asking-price-exp-ccn`).
    DomesticOrderBook,
    /// Domestic volume ranking (`volume-rank`).
    DomesticVolumeRank,
    /// US buy order (`overseas-stock/v1/trading/order`).
    OverseasBuy,
    /// US sell order (`overseas-stock/v1/trading/order`).
    OverseasSell,
    /// Overseas modify/cancel (`overseas-stock/v1/trading/order-rvsecncl`).
    OverseasCancel,
    /// Overseas balance (`overseas-stock/v1/trading/inquire-balance`).
    OverseasBalance,
    /// Overseas present balance with cash per currency (`inquire-present-balance`).
    OverseasPresentBalance,
    /// Overseas orders and fills (`inquire-ccnl`).
    OverseasFills,
    /// Overseas current price (`overseas-price/v1/quotations/price`).
    OverseasPrice,
    /// Overseas order book (`overseas-price/v1/quotations/inquire-asking-price`).
    OverseasOrderBook,
}

/// `(operation, real TR id, paper TR id or None when the operation does not exist on paper)`.
pub const TR_TABLE: [(Tr, &str, Option<&str>); 20] = [
    (Tr::DomesticBuy, "TTTC0012U", Some("VTTC0012U")),
    (Tr::DomesticSell, "TTTC0011U", Some("VTTC0011U")),
    (Tr::DomesticCancel, "TTTC0013U", Some("VTTC0013U")),
    (Tr::DomesticBalance, "TTTC8434R", Some("VTTC8434R")),
    (Tr::DomesticDailyFills, "TTTC0081R", Some("VTTC0081R")),
    (Tr::DomesticDailyFillsOld, "CTSC9215R", Some("VTSC9215R")),
    (Tr::DomesticBuyable, "TTTC8908R", Some("VTTC8908R")),
    (Tr::DomesticBalanceRealizedPl, "TTTC8494R", None),
    (Tr::AccountAssets, "CTRP6548R", None),
    (Tr::DomesticPrice, "FHKST01010100", Some("FHKST01010100")),
    (
        Tr::DomesticOrderBook,
        "FHKST01010200",
        Some("FHKST01010200"),
    ),
    (
        Tr::DomesticVolumeRank,
        "FHPST01710000",
        Some("FHPST01710000"),
    ),
    (Tr::OverseasBuy, "TTTT1002U", Some("VTTT1002U")),
    // The exception: paper's US sell is 1001, not 1006.
    (Tr::OverseasSell, "TTTT1006U", Some("VTTT1001U")),
    (Tr::OverseasCancel, "TTTT1004U", Some("VTTT1004U")),
    (Tr::OverseasBalance, "TTTS3012R", Some("VTTS3012R")),
    (Tr::OverseasPresentBalance, "CTRP6504R", Some("VTRP6504R")),
    (Tr::OverseasFills, "TTTS3035R", Some("VTTS3035R")),
    (Tr::OverseasPrice, "HHDFS00000300", Some("HHDFS00000300")),
    (
        Tr::OverseasOrderBook,
        "HHDFS76200100",
        Some("HHDFS76200100"),
    ),
];

/// The TR id of `tr` in `mode`; [`KisError::NotOnPaper`] for a real-only TR on paper.
pub fn tr_id(tr: Tr, mode: KisMode) -> Result<&'static str, KisError> {
    let Some((_, real, paper)) = TR_TABLE.iter().find(|(t, _, _)| *t == tr) else {
        return Err(KisError::Config(format!("no TR id for {tr:?}")));
    };
    match mode {
        KisMode::Real => Ok(real),
        KisMode::Paper => paper.ok_or_else(|| KisError::NotOnPaper {
            what: (*real).to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_one_row() {
        let mut ops: Vec<Tr> = TR_TABLE.iter().map(|(t, _, _)| *t).collect();
        ops.sort();
        ops.dedup();
        assert_eq!(ops.len(), TR_TABLE.len());
    }

    #[test]
    fn paper_ids_follow_the_rule_except_the_listed_exceptions() {
        for (tr, real, paper) in TR_TABLE {
            assert_eq!(tr_id(tr, KisMode::Real).unwrap(), real);
            let Some(paper) = paper else {
                assert!(matches!(
                    tr_id(tr, KisMode::Paper),
                    Err(KisError::NotOnPaper { .. })
                ));
                continue;
            };
            assert_eq!(tr_id(tr, KisMode::Paper).unwrap(), paper);
            let rule = if real.starts_with(['T', 'J', 'C']) {
                format!("V{}", &real[1..])
            } else {
                real.to_string()
            };
            if tr == Tr::OverseasSell {
                assert_ne!(paper, rule, "the US sell exception");
            } else {
                assert_eq!(paper, rule, "{tr:?}");
            }
        }
    }

    #[test]
    fn known_ids() {
        assert_eq!(tr_id(Tr::OverseasSell, KisMode::Real).unwrap(), "TTTT1006U");
        assert_eq!(
            tr_id(Tr::OverseasSell, KisMode::Paper).unwrap(),
            "VTTT1001U"
        );
        assert_eq!(tr_id(Tr::OverseasBuy, KisMode::Paper).unwrap(), "VTTT1002U");
        assert_eq!(tr_id(Tr::DomesticBuy, KisMode::Paper).unwrap(), "VTTC0012U");
        assert_eq!(tr_id(Tr::DomesticSell, KisMode::Real).unwrap(), "TTTC0011U");
        assert_eq!(
            tr_id(Tr::DomesticPrice, KisMode::Paper).unwrap(),
            "FHKST01010100"
        );
        let e = tr_id(Tr::AccountAssets, KisMode::Paper).unwrap_err();
        assert!(e.to_string().contains("CTRP6548R"), "{e}");
    }
}
