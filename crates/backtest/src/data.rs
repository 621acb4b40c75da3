//! Market data lined up on one timeline for a replay.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use pulse_core::{Bar, CorporateAction, CorporateActionKind, Symbol};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Bars of the traded symbols on their union timeline, context series as of each step, and
/// cash dividends by ex-date.
#[derive(Debug, Clone, Default)]
pub struct AlignedData {
    /// Every timestamp at which at least one traded symbol has a bar, ascending.
    pub timeline: Vec<Timestamp>,
    /// Per traded symbol, its bar at each timeline step (None when it did not trade then).
    pub bars: BTreeMap<Symbol, Vec<Option<Bar>>>,
    /// Per context symbol, the latest close strictly BEFORE each timeline step's date (a daily
    /// VIX close is printed after the equity close, so the same day's value is not yet known).
    pub context: BTreeMap<Symbol, Vec<Option<f64>>>,
    /// Cash dividends per share by ex-date and symbol.
    pub dividends: BTreeMap<Date, Vec<(Symbol, Decimal)>>,
}

impl AlignedData {
    /// Lines up `traded` bars (each series ascending) and forward-fills `context` series from
    /// the past only. Splits are ignored: prices are split-adjusted back in time.
    pub fn new(
        traded: BTreeMap<Symbol, Vec<Bar>>,
        context: BTreeMap<Symbol, Vec<Bar>>,
        actions: &[CorporateAction],
    ) -> AlignedData {
        let mut timeline: Vec<Timestamp> = traded
            .values()
            .flat_map(|bars| bars.iter().map(|b| b.ts))
            .collect();
        timeline.sort();
        timeline.dedup();
        let index: BTreeMap<Timestamp, usize> =
            timeline.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        let mut aligned = BTreeMap::new();
        for (symbol, bars) in traded {
            let mut col = vec![None; timeline.len()];
            for b in bars {
                if let Some(&i) = index.get(&b.ts) {
                    col[i] = Some(b);
                }
            }
            aligned.insert(symbol, col);
        }
        let mut ctx = BTreeMap::new();
        for (symbol, bars) in context {
            let mut col = Vec::with_capacity(timeline.len());
            let mut j = 0;
            let mut last: Option<f64> = None;
            for t in &timeline {
                let day = t.to_zoned(TimeZone::UTC).date();
                while j < bars.len() && bars[j].ts.to_zoned(TimeZone::UTC).date() < day {
                    last = Some(bars[j].close);
                    j += 1;
                }
                col.push(last);
            }
            ctx.insert(symbol, col);
        }
        let mut dividends: BTreeMap<Date, Vec<(Symbol, Decimal)>> = BTreeMap::new();
        for a in actions {
            if let CorporateActionKind::Dividend { cash_per_share } = a.kind
                && aligned.contains_key(&a.symbol)
                && cash_per_share > Decimal::ZERO
            {
                dividends
                    .entry(a.ex_date)
                    .or_default()
                    .push((a.symbol.clone(), cash_per_share));
            }
        }
        AlignedData {
            timeline,
            bars: aligned,
            context: ctx,
            dividends,
        }
    }

    /// Updates `out` in place to hold the bars of step `i` (no allocation once every symbol has
    /// been seen: the replay loop's hot path).
    pub fn fill_bars_at(&self, i: usize, out: &mut BTreeMap<Symbol, Bar>) {
        for (s, col) in &self.bars {
            match col.get(i).copied().flatten() {
                Some(b) => match out.get_mut(s) {
                    Some(slot) => *slot = b,
                    None => {
                        out.insert(s.clone(), b);
                    }
                },
                None => {
                    out.remove(s);
                }
            }
        }
    }

    /// Updates `out` in place to hold the context values known at step `i`.
    pub fn fill_context_at(&self, i: usize, out: &mut BTreeMap<Symbol, f64>) {
        for (s, col) in &self.context {
            match col.get(i).copied().flatten() {
                Some(v) => match out.get_mut(s) {
                    Some(slot) => *slot = v,
                    None => {
                        out.insert(s.clone(), v);
                    }
                },
                None => {
                    out.remove(s);
                }
            }
        }
    }

    /// The cash dividends due at step `i` (per share, by symbol): those whose ex-date is step
    /// `i`'s UTC date, when step `i` is the first of that date on the timeline or the first step
    /// a run credits (`first_step`); empty otherwise. The one rule of every replay and runner:
    /// a dividend is credited once, at its ex-date's first step (intraday runs have many).
    pub fn dividends_at(&self, i: usize, first_step: bool) -> &[(Symbol, Decimal)] {
        let Some(ts) = self.timeline.get(i) else {
            return &[];
        };
        let date = ts.to_zoned(TimeZone::UTC).date();
        let opens_date = i == 0
            || self
                .timeline
                .get(i - 1)
                .is_none_or(|p| p.to_zoned(TimeZone::UTC).date() != date);
        match self.dividends.get(&date) {
            Some(due) if first_step || opens_date => due,
            _ => &[],
        }
    }

    /// Index of the first step at or after `ts`.
    pub fn index_at_or_after(&self, ts: Timestamp) -> usize {
        self.timeline.partition_point(|t| *t < ts)
    }

    /// First index at which every traded symbol has traded at least once.
    pub fn first_common_index(&self) -> usize {
        self.bars
            .values()
            .map(|col| col.iter().position(Option::is_some).unwrap_or(col.len()))
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(d: &str, c: f64) -> Bar {
        Bar::from_value(format!("{d}T00:00:00Z").parse().unwrap(), c, None)
    }

    #[test]
    fn context_is_strictly_from_earlier_days() {
        let s = Symbol::try_new("A").unwrap();
        let v = Symbol::try_new("VIX").unwrap();
        let traded = BTreeMap::from([(
            s.clone(),
            vec![
                bar("2024-01-02", 1.0),
                bar("2024-01-03", 2.0),
                bar("2024-01-05", 3.0),
            ],
        )]);
        let context = BTreeMap::from([(
            v.clone(),
            vec![
                bar("2024-01-02", 10.0),
                bar("2024-01-03", 20.0),
                bar("2024-01-04", 30.0),
            ],
        )]);
        let d = AlignedData::new(traded, context, &[]);
        assert_eq!(d.context[&v], vec![None, Some(10.0), Some(30.0)]);
    }
}
