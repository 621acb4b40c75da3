//! The streaming data-quality checker.

use crate::quality::{Finding, FindingKind};
use crate::symbol::Symbol;
use crate::timeframe::Timeframe;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------------------------

use crate::action::{CorporateAction, CorporateActionKind};
use crate::bar::Bar;
use crate::calendar::{Session, calendar};
use crate::instrument::{AssetClass, Exchange, Instrument};
use jiff::civil::Date;
use rust_decimal::prelude::ToPrimitive;
use std::collections::BTreeMap;

/// Relative change of `adj_close / close` between two bars below which the adjustment factor is
/// considered unchanged. Yahoo's values are float32-derived (≈ 6e-8 relative each), so their
/// ratio wobbles by well under 1e-6; the smallest real distribution in the shared data (TSLL
/// 0.015 on 27.00, 5.6e-4) is far above this.
pub const ADJUSTMENT_TOLERANCE: f64 = 1e-5;

/// Ratio between consecutive prices (close to close, or previous close to open) at or beyond
/// which a move is reported as a `price_jump` when no split on the bar's date explains it: a
/// rise to 1.5× or more, or a fall to 1/1.5 (−33.3 %) or less. 1.5 is the smallest common split
/// (3-for-2); in the shared data it also flags a handful of genuine crashes (AAPL 2000-09-29,
/// AMD 1987-10-19) and the KRX rows the data README suspects of uncorrected corporate actions
/// (005930 1998-01-17).
pub const PRICE_JUMP_RATIO: f64 = 1.5;

/// How many findings of one kind a series may produce before the rest are only counted, so that a
/// hopeless file cannot flood the store.
pub const MAX_FINDINGS_PER_KIND: usize = 1000;

/// Summary of one series check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Series symbol.
    pub symbol: Symbol,
    /// Series timeframe.
    pub timeframe: Timeframe,
    /// Bars examined.
    pub bars_checked: u64,
    /// Findings, in time order within each kind (capped at [`MAX_FINDINGS_PER_KIND`] per kind).
    pub findings: Vec<Finding>,
    /// Findings that exceeded the cap and were only counted, per kind.
    pub suppressed: BTreeMap<FindingKind, u64>,
    /// Why the calendar checks (gaps, outside-session) were skipped or limited, if they were.
    pub calendar_note: Option<String>,
}

/// Streaming data-quality checker for one series: feed bars in stored (or file) order with
/// [`SeriesChecker::push`], then call [`SeriesChecker::finish`]. Memory is bounded by the number of
/// corporate actions and findings, not by the number of bars.
///
/// Rules (each produces a [`FindingKind`]):
/// - `duplicate` / `out_of_order`: a timestamp equal to / earlier than the previous bar's.
/// - `non_finite`: any price or volume NaN or infinite.
/// - `non_positive_price`: open, high, low, close or adj_close ≤ 0 — not applied to rates and
///   sentiment scores (a negative T-bill yield and a Fear & Greed of 0 are genuine values).
/// - `high_below_open_close`, `low_above_open_close`, `negative_volume`: as named.
/// - `gap`: trading sessions of the instrument's exchange calendar with no bar (daily), or missing
///   bars inside sessions (intraday, one finding per hole). Not applied to `Exchange::None`
///   series, nor outside the calendar's coverage (noted in the report).
/// - `outside_session`: a daily bar on a non-trading day, or an intraday bar whose interval does
///   not start inside a session.
/// - `adj_close_jump_without_action`: `adj_close / close` changed by more than
///   [`ADJUSTMENT_TOLERANCE`] (relative) from the previous bar with no dividend or split on the
///   bar's date.
/// - `dividend_without_adjustment`: a dividend on a bar's date whose `adj_close / close` step is
///   below half of what the dividend implies (`dividend / previous close`): e.g. a split ratio
///   stored in a dividend column.
/// - `price_jump`: `close / previous close` or `open / previous close` at or beyond
///   [`PRICE_JUMP_RATIO`] (either way) with no split on the bar's date that brings the move back
///   under the threshold (a split of ratio `r` explains a move of about `1/r`). Not applied to
///   indices, rates and sentiment scores (a VIX doubling is genuine and they have no splits).
#[derive(Debug)]
pub struct SeriesChecker {
    symbol: Symbol,
    timeframe: Timeframe,
    exchange: Exchange,
    skip_non_positive: bool,
    check_jumps: bool,
    dividends: BTreeMap<Date, f64>,
    splits: BTreeMap<Date, f64>,
    action_dates: BTreeMap<Date, ()>,
    prev: Option<Bar>,
    prev_session: Option<Session>,
    bars_checked: u64,
    findings: Vec<Finding>,
    per_kind: BTreeMap<FindingKind, u64>,
    calendar_skipped: u64,
}

impl SeriesChecker {
    /// A checker for one series of `instrument`, knowing its corporate actions.
    pub fn new(instrument: &Instrument, timeframe: Timeframe, actions: &[CorporateAction]) -> Self {
        let mut dividends = BTreeMap::new();
        let mut action_dates = BTreeMap::new();
        let mut splits = BTreeMap::new();
        for a in actions.iter().filter(|a| a.symbol == instrument.symbol) {
            action_dates.insert(a.ex_date, ());
            match a.kind {
                CorporateActionKind::Dividend { cash_per_share } => {
                    *dividends.entry(a.ex_date).or_insert(0.0) +=
                        cash_per_share.to_f64().unwrap_or(0.0);
                }
                CorporateActionKind::Split { ratio } => {
                    *splits.entry(a.ex_date).or_insert(1.0) *= ratio.to_f64().unwrap_or(1.0);
                }
            }
        }
        SeriesChecker {
            symbol: instrument.symbol.clone(),
            timeframe,
            exchange: instrument.exchange,
            skip_non_positive: matches!(
                instrument.asset_class,
                AssetClass::Rate | AssetClass::Sentiment
            ),
            check_jumps: instrument.asset_class.is_tradable(),
            dividends,
            splits,
            action_dates,
            prev: None,
            prev_session: None,
            bars_checked: 0,
            findings: Vec::new(),
            per_kind: BTreeMap::new(),
            calendar_skipped: 0,
        }
    }

    fn report(&mut self, ts: jiff::Timestamp, kind: FindingKind, detail: String) {
        let n = self.per_kind.entry(kind).or_insert(0);
        *n += 1;
        if *n as usize <= MAX_FINDINGS_PER_KIND {
            self.findings.push(Finding {
                symbol: self.symbol.clone(),
                timeframe: self.timeframe,
                ts,
                kind,
                detail,
            });
        }
    }

    /// Examines the next bar.
    pub fn push(&mut self, bar: &Bar) {
        self.bars_checked += 1;
        self.check_values(bar);
        let in_order = match self.prev {
            Some(prev) if bar.ts == prev.ts => {
                self.report(
                    bar.ts,
                    FindingKind::Duplicate,
                    format!("second bar at {}", bar.ts),
                );
                false
            }
            Some(prev) if bar.ts < prev.ts => {
                self.report(
                    bar.ts,
                    FindingKind::OutOfOrder,
                    format!("bar at {} follows bar at {}", bar.ts, prev.ts),
                );
                false
            }
            _ => true,
        };
        if !in_order {
            return; // keep `prev` as the latest in-order bar
        }
        self.check_adjustment(bar);
        self.check_jump(bar);
        self.check_calendar(bar);
        self.prev = Some(*bar);
    }

    fn check_values(&mut self, bar: &Bar) {
        if bar.validate_finite().is_err() {
            self.report(
                bar.ts,
                FindingKind::NonFinite,
                format!(
                    "open {} high {} low {} close {} adj_close {:?} volume {:?}",
                    bar.open, bar.high, bar.low, bar.close, bar.adj_close, bar.volume
                ),
            );
            return;
        }
        if !self.skip_non_positive {
            let prices = [
                ("open", bar.open),
                ("high", bar.high),
                ("low", bar.low),
                ("close", bar.close),
                ("adj_close", bar.adj_close.unwrap_or(1.0)),
            ];
            let bad: Vec<String> = prices
                .iter()
                .filter(|(_, v)| *v <= 0.0)
                .map(|(n, v)| format!("{n} {v}"))
                .collect();
            if !bad.is_empty() {
                self.report(bar.ts, FindingKind::NonPositivePrice, bad.join(", "));
            }
        }
        if bar.high < bar.open.max(bar.close) {
            self.report(
                bar.ts,
                FindingKind::HighBelowOpenClose,
                format!(
                    "high {} < max(open {}, close {})",
                    bar.high, bar.open, bar.close
                ),
            );
        }
        if bar.low > bar.open.min(bar.close) {
            self.report(
                bar.ts,
                FindingKind::LowAboveOpenClose,
                format!(
                    "low {} > min(open {}, close {})",
                    bar.low, bar.open, bar.close
                ),
            );
        }
        if let Some(v) = bar.volume
            && v < 0.0
        {
            self.report(bar.ts, FindingKind::NegativeVolume, format!("volume {v}"));
        }
    }

    fn check_adjustment(&mut self, bar: &Bar) {
        let Some(prev) = self.prev else { return };
        let (Some(adj), Some(prev_adj)) = (bar.adj_close, prev.adj_close) else {
            return;
        };
        if bar.close <= 0.0 || prev.close <= 0.0 || adj <= 0.0 || prev_adj <= 0.0 {
            return;
        }
        let step = (adj / bar.close) / (prev_adj / prev.close) - 1.0;
        let date = self.bar_date(bar);
        if let Some(&dividend) = self.dividends.get(&date) {
            let implied = dividend / prev.close;
            if step.abs() < (0.5 * implied).max(ADJUSTMENT_TOLERANCE) {
                self.report(
                    bar.ts,
                    FindingKind::DividendWithoutAdjustment,
                    format!(
                        "dividend {dividend} implies an adjustment step of {:.4}% but adj_close/close moved {:.6}%",
                        implied * 100.0,
                        step * 100.0
                    ),
                );
            }
        } else if step.abs() > ADJUSTMENT_TOLERANCE && !self.action_dates.contains_key(&date) {
            self.report(
                bar.ts,
                FindingKind::AdjCloseJumpWithoutAction,
                format!(
                    "adj_close/close moved {:.6}% with no dividend or split on {date}",
                    step * 100.0
                ),
            );
        }
    }

    fn check_jump(&mut self, bar: &Bar) {
        let Some(prev) = self.prev else { return };
        if !(self.check_jumps && prev.close > 0.0 && bar.close > 0.0 && bar.open > 0.0) {
            return;
        }
        let date = self.bar_date(bar);
        // A split of ratio r (new shares per old share) divides the price by r.
        let split = self.splits.get(&date).copied().unwrap_or(1.0);
        let beyond = |ratio: f64| {
            let r = ratio * split;
            !(r < PRICE_JUMP_RATIO && r > 1.0 / PRICE_JUMP_RATIO)
        };
        let moves = [("close", bar.close), ("open", bar.open)];
        let Some((what, price)) = moves
            .into_iter()
            .filter(|(_, p)| beyond(p / prev.close))
            .max_by(|a, b| {
                let size = |p: f64| (p / prev.close).ln().abs();
                size(a.1).total_cmp(&size(b.1))
            })
        else {
            return;
        };
        let ratio = price / prev.close;
        let split_note = if split == 1.0 {
            format!("no split on {date}")
        } else {
            format!("the split on {date} (ratio {split}) does not explain it")
        };
        self.report(
            bar.ts,
            FindingKind::PriceJump,
            format!(
                "previous close {} → {what} {price} (×{ratio:.4}) with {split_note}; threshold ×{PRICE_JUMP_RATIO} either way",
                prev.close
            ),
        );
    }

    fn bar_date(&self, bar: &Bar) -> Date {
        if self.timeframe.is_intraday() {
            calendar(self.exchange).local_date(bar.ts)
        } else {
            bar.ts.to_zoned(jiff::tz::TimeZone::UTC).date()
        }
    }

    fn check_calendar(&mut self, bar: &Bar) {
        if self.exchange == Exchange::None {
            return;
        }
        if self.timeframe.is_intraday() {
            self.check_intraday_calendar(bar);
        } else {
            self.check_daily_calendar(bar);
        }
    }

    fn check_daily_calendar(&mut self, bar: &Bar) {
        let cal = calendar(self.exchange);
        let date = self.bar_date(bar);
        match cal.is_trading_day(date) {
            Ok(true) => {}
            Ok(false) => self.report(
                bar.ts,
                FindingKind::OutsideSession,
                format!("{date} is not a {} trading day", cal.exchange()),
            ),
            Err(_) => {
                self.calendar_skipped += 1;
                return;
            }
        }
        let Some(prev) = self.prev else { return };
        let prev_date = self.bar_date(&prev);
        let Ok(start) = cal.next_trading_day(prev_date) else {
            return;
        };
        if start >= date {
            return;
        }
        let Ok(end) = cal.previous_trading_day(date) else {
            return;
        };
        if let Ok(missing) = cal.trading_days(start, end)
            && let (Some(first), Some(last)) = (missing.first(), missing.last())
        {
            let ts = first
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp());
            let detail = if missing.len() == 1 {
                format!("missing session {first}")
            } else {
                format!("missing {} sessions {first}..={last}", missing.len())
            };
            self.report(ts.unwrap_or(bar.ts), FindingKind::Gap, detail);
        }
    }

    fn check_intraday_calendar(&mut self, bar: &Bar) {
        let cal = calendar(self.exchange);
        let step = jiff::SignedDuration::from_secs(self.timeframe.seconds());
        let session = match cal.session_at(bar.ts) {
            Ok(Some(s)) => s,
            Ok(None) => {
                self.report(
                    bar.ts,
                    FindingKind::OutsideSession,
                    format!("{} is outside every {} session", bar.ts, cal.exchange()),
                );
                return;
            }
            Err(_) => {
                self.calendar_skipped += 1;
                return;
            }
        };
        let expected_from = match (self.prev, self.prev_session) {
            (Some(prev), Some(ps)) if ps.date == session.date => prev.ts.checked_add(step).ok(),
            (Some(prev), Some(ps)) => {
                // Tail of the previous session.
                if let Ok(next) = prev.ts.checked_add(step) {
                    self.report_hole(next, ps.close, step);
                }
                // Whole sessions in between.
                if let (Ok(from), Ok(to)) = (
                    cal.next_trading_day(ps.date),
                    cal.previous_trading_day(session.date),
                ) && from <= to
                    && let Ok(days) = cal.trading_days(from, to)
                    && let (Some(first), Some(last)) = (days.first(), days.last())
                {
                    let ts = cal.session(*first).ok().flatten().map(|s| s.open);
                    self.report(
                        ts.unwrap_or(bar.ts),
                        FindingKind::Gap,
                        format!("no bars in {} sessions {first}..={last}", days.len()),
                    );
                }
                Some(session.open)
            }
            _ => None, // first bar: a series may start mid-session
        };
        if let Some(from) = expected_from {
            self.report_hole(from, bar.ts, step);
        }
        self.prev_session = Some(session);
    }

    /// Reports the bars missing in `[from, to)` (one finding per contiguous hole).
    fn report_hole(
        &mut self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        step: jiff::SignedDuration,
    ) {
        if from >= to {
            return;
        }
        let missing = from.duration_until(to).as_secs() / step.as_secs().max(1);
        if missing > 0 {
            self.report(
                from,
                FindingKind::Gap,
                format!("{missing} missing {} bar(s) from {from}", self.timeframe),
            );
        }
    }

    /// Ends the check and returns the report.
    pub fn finish(self) -> CheckReport {
        let suppressed = self
            .per_kind
            .iter()
            .filter(|(_, n)| **n as usize > MAX_FINDINGS_PER_KIND)
            .map(|(k, n)| (*k, *n - MAX_FINDINGS_PER_KIND as u64))
            .collect();
        let calendar_note = match (self.exchange, self.calendar_skipped) {
            (Exchange::None, _) => Some("no exchange calendar: gaps not checked".to_string()),
            (_, 0) => None,
            (e, n) => {
                let (first, last) = calendar(e).coverage();
                Some(format!(
                    "{n} bar(s) outside the {e} calendar's coverage {first}..={last}: gaps not checked there"
                ))
            }
        };
        CheckReport {
            symbol: self.symbol,
            timeframe: self.timeframe,
            bars_checked: self.bars_checked,
            findings: self.findings,
            suppressed,
            calendar_note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::CorporateAction;
    use jiff::Timestamp;
    use rust_decimal::Decimal;

    fn sym(s: &str) -> Symbol {
        Symbol::try_new(s).unwrap()
    }

    fn day(d: &str, close: f64, adj: f64) -> Bar {
        let ts: Timestamp = format!("{d}T00:00:00Z").parse().unwrap();
        Bar {
            ts,
            open: close,
            high: close,
            low: close,
            close,
            adj_close: Some(adj),
            volume: Some(1.0),
        }
    }

    fn kinds(r: &CheckReport) -> Vec<FindingKind> {
        r.findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn clean_series_has_no_findings() {
        let inst = Instrument::infer(&sym("SPY"));
        let mut c = SeriesChecker::new(&inst, Timeframe::D1, &[]);
        // 2024-07-03 (half day), 07-05; 07-04 is a holiday.
        for (d, p) in [
            ("2024-07-02", 100.0),
            ("2024-07-03", 101.0),
            ("2024-07-05", 102.0),
        ] {
            c.push(&day(d, p, p * 0.9));
        }
        let r = c.finish();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.bars_checked, 3);
    }

    #[test]
    fn reports_each_kind_of_problem() {
        let inst = Instrument::infer(&sym("SPY"));
        let split_as_dividend = CorporateAction {
            symbol: sym("SPY"),
            ex_date: "2024-07-11".parse().unwrap(),
            kind: CorporateActionKind::Dividend {
                cash_per_share: Decimal::from(5),
            },
        };
        let mut c = SeriesChecker::new(&inst, Timeframe::D1, &[split_as_dividend]);
        c.push(&day("2024-07-03", 100.0, 100.0));
        c.push(&day("2024-07-04", 100.0, 100.0)); // holiday → outside session
        c.push(&day("2024-07-08", 100.0, 100.0)); // 07-05 missing → gap
        c.push(&day("2024-07-08", 100.0, 100.0)); // duplicate
        c.push(&day("2024-07-05", 100.0, 100.0)); // out of order
        c.push(&day("2024-07-09", 100.0, 99.0)); // adj jump without action
        c.push(&day("2024-07-10", 100.0, 99.0));
        c.push(&day("2024-07-11", 100.0, 99.0)); // "dividend" 5 moved nothing
        let mut bad = day("2024-07-12", 100.0, 99.0);
        bad.high = 90.0;
        bad.low = 101.0;
        bad.volume = Some(-1.0);
        bad.open = -1.0;
        c.push(&bad);
        let r = c.finish();
        let k = kinds(&r);
        for want in [
            FindingKind::OutsideSession,
            FindingKind::Gap,
            FindingKind::Duplicate,
            FindingKind::OutOfOrder,
            FindingKind::AdjCloseJumpWithoutAction,
            FindingKind::DividendWithoutAdjustment,
            FindingKind::HighBelowOpenClose,
            FindingKind::LowAboveOpenClose,
            FindingKind::NegativeVolume,
            FindingKind::NonPositivePrice,
        ] {
            assert!(k.contains(&want), "missing {want:?} in {k:?}");
        }
        let gap = r
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Gap)
            .unwrap();
        assert!(gap.detail.contains("2024-07-05"), "{}", gap.detail);
    }

    #[test]
    fn a_real_dividend_moves_the_adjustment_and_is_not_reported() {
        let inst = Instrument::infer(&sym("SPY"));
        let div = CorporateAction {
            symbol: sym("SPY"),
            ex_date: "2020-03-20".parse().unwrap(),
            kind: CorporateActionKind::Dividend {
                cash_per_share: "1.406".parse().unwrap(),
            },
        };
        let mut c = SeriesChecker::new(&inst, Timeframe::D1, &[div]);
        // Real SPY rows around its 2020-03-20 ex-date (daily-ohlcv/SPY.csv).
        c.push(&day("2020-03-19", 240.50999450683594, 221.04580688476562));
        c.push(&day("2020-03-20", 228.8000030517578, 211.52003479003906));
        let r = c.finish();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }

    #[test]
    fn intraday_holes_and_out_of_session_bars() {
        let inst = Instrument::infer(&sym("SPY"));
        let mut c = SeriesChecker::new(&inst, Timeframe::M1, &[]);
        let bar = |t: &str| Bar::from_value(t.parse().unwrap(), 10.0, None);
        c.push(&bar("2019-02-11T14:30:00Z"));
        c.push(&bar("2019-02-11T14:31:00Z"));
        c.push(&bar("2019-02-11T14:35:00Z")); // 3 missing minutes
        c.push(&bar("2019-02-11T21:00:00Z")); // at the close: outside the session
        let r = c.finish();
        let gaps: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Gap)
            .collect();
        assert_eq!(gaps.len(), 1);
        assert!(
            gaps[0].detail.starts_with("3 missing"),
            "{}",
            gaps[0].detail
        );
        assert!(kinds(&r).contains(&FindingKind::OutsideSession));
    }

    #[test]
    fn a_split_sized_jump_is_reported_unless_a_split_explains_it() {
        let inst = Instrument::infer(&sym("TSLA"));
        let split = CorporateAction {
            symbol: sym("TSLA"),
            ex_date: "2020-08-31".parse().unwrap(),
            kind: CorporateActionKind::Split {
                ratio: Decimal::from(5),
            },
        };
        let mut c = SeriesChecker::new(&inst, Timeframe::D1, &[split]);
        c.push(&day("2020-08-27", 447.75, 447.75));
        c.push(&day("2020-08-28", 442.68, 442.68));
        c.push(&day("2020-08-31", 498.32 / 5.0, 498.32 / 5.0)); // the 5:1 split: explained
        c.push(&day("2020-09-01", 475.05, 475.05)); // back to pre-split prices: a jump
        let r = c.finish();
        let jumps: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::PriceJump)
            .collect();
        assert_eq!(jumps.len(), 1, "{:?}", r.findings);
        assert_eq!(jumps[0].ts, "2020-09-01T00:00:00Z".parse().unwrap());
        assert!(jumps[0].detail.contains("no split"), "{}", jumps[0].detail);
    }

    #[test]
    fn an_index_doubling_is_not_a_price_jump() {
        let inst = Instrument::infer(&sym("VIX"));
        let mut c = SeriesChecker::new(&inst, Timeframe::D1, &[]);
        c.push(&day("2018-02-02", 17.31, 17.31));
        c.push(&day("2018-02-05", 37.32, 37.32));
        let r = c.finish();
        assert!(!kinds(&r).contains(&FindingKind::PriceJump), "{r:?}");
    }

    #[test]
    fn rates_may_be_negative() {
        let inst = Instrument::infer(&sym("IRX"));
        let mut c = SeriesChecker::new(&inst, Timeframe::D1, &[]);
        c.push(&Bar::from_value(
            "2020-03-19T00:00:00Z".parse().unwrap(),
            -0.028,
            None,
        ));
        assert!(c.finish().findings.is_empty());
    }
}
