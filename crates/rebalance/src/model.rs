//! Model portfolios: the MP (weights per asset class), the Sub-MP (securities inside a class) and
//! the signal that carries them, with validation.

use crate::config::RebalanceConfig;
use crate::error::{RebalanceError, Result};
use jiff::civil::Date;
use pulse_core::Symbol;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Weights per asset class (fractions summing to 1), e.g. `{"stocks":0.6,"bonds":0.3,"cash":0.1}`.
pub type Mp = BTreeMap<String, f64>;

/// Weights of the securities inside one class (fractions summing to 1).
pub type SubMp = BTreeMap<Symbol, f64>;

/// A Sub-MP as written in a signal: explicit weights, or a list of symbols held in equal weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubMpSpec {
    /// `{"SPY":0.7,"QQQ":0.3}`.
    Weights(SubMp),
    /// `["SPY","QQQ"]`: equal weight (the default rule of SPEC §6).
    EqualWeight(Vec<Symbol>),
}

/// One observation of the macro view, as JSON:
/// `{"date":"2024-03-04","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"stocks":{"SPY":1.0}}}`.
/// `mp` and any class of `sub_mp` may be omitted: an omitted part is not observed that day by
/// [`crate::Rebalancer::on_signal`]. Runtimes that read a sequence of views (a signals file, the
/// stored observation) complete each with [`Signal::carried_over`] first, so that an omitted part
/// means "unchanged".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Date the view was issued (informational; the observation day is passed to `on_signal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// Class weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mp: Option<Mp>,
    /// Securities per class; classes not listed keep their current Sub-MP.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sub_mp: BTreeMap<String, SubMpSpec>,
}

impl Signal {
    /// The view this signal states when read as the next line after `previous` (the view in force
    /// so far): an omitted `mp` means "MP unchanged" and carries the previous MP forward, and a
    /// class omitted from `sub_mp` keeps its previous Sub-MP, so that a pending change goes on
    /// being observed (and counted by the 3-day rule) on days whose line only touches another
    /// part. Carried Sub-MPs of classes the resulting MP no longer has are dropped. The date is
    /// this signal's.
    pub fn carried_over(&self, previous: Option<&Signal>) -> Signal {
        let Some(prev) = previous else {
            return self.clone();
        };
        let mp = self.mp.clone().or_else(|| prev.mp.clone());
        let mut sub_mp = prev.sub_mp.clone();
        if let Some(mp) = &mp {
            sub_mp.retain(|class, _| mp.contains_key(class));
        }
        sub_mp.extend(self.sub_mp.iter().map(|(k, v)| (k.clone(), v.clone())));
        Signal {
            date: self.date,
            mp,
            sub_mp,
        }
    }
}

/// A confirmed (active) model: the MP and the Sub-MP of every invested class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Class weights (sum 1).
    pub mp: Mp,
    /// Securities per class (each sums to 1). The cash class has none.
    pub sub_mp: BTreeMap<String, SubMp>,
}

impl Model {
    /// Target weight (fraction of equity) of every security: MP class weight × Sub-MP weight.
    /// Classes without a Sub-MP (the cash class) stay uninvested.
    pub fn target_weights(&self) -> BTreeMap<Symbol, f64> {
        let mut out = BTreeMap::new();
        for (class, w) in &self.mp {
            if let Some(sub) = self.sub_mp.get(class) {
                for (sym, sw) in sub {
                    *out.entry(sym.clone()).or_insert(0.0) += w * sw;
                }
            }
        }
        out
    }

    /// Target weights of the securities of one class only (MP weight × Sub-MP weight).
    pub fn class_weights(&self, class: &str) -> BTreeMap<Symbol, f64> {
        let w = self.mp.get(class).copied().unwrap_or(0.0);
        self.sub_mp
            .get(class)
            .map(|sub| sub.iter().map(|(s, sw)| (s.clone(), w * sw)).collect())
            .unwrap_or_default()
    }

    /// The class holding `symbol`, if any.
    pub fn class_of(&self, symbol: &Symbol) -> Option<&str> {
        self.sub_mp
            .iter()
            .find(|(_, sub)| sub.contains_key(symbol))
            .map(|(c, _)| c.as_str())
    }

    /// Symbols of one class's Sub-MP.
    pub fn class_symbols(&self, class: &str) -> BTreeSet<Symbol> {
        self.sub_mp
            .get(class)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Two weight maps are equal when they have the same keys and weights within `tol`.
pub fn same_weights<K: Ord>(a: &BTreeMap<K, f64>, b: &BTreeMap<K, f64>, tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, wa), (kb, wb))| ka == kb && (wa - wb).abs() <= tol)
}

fn invalid(field: String, reason: impl Into<String>) -> RebalanceError {
    RebalanceError::InvalidSignal {
        field,
        reason: reason.into(),
    }
}

fn check_weights<K: std::fmt::Display>(
    field: &str,
    weights: &BTreeMap<K, f64>,
    tol: f64,
) -> Result<()> {
    if weights.is_empty() {
        return Err(invalid(field.to_string(), "no weights given"));
    }
    for (k, w) in weights {
        if !w.is_finite() || *w < 0.0 {
            return Err(invalid(
                format!("{field}.{k}"),
                format!("weight {w} must be finite and >= 0"),
            ));
        }
    }
    let sum: f64 = weights.values().sum();
    if (sum - 1.0).abs() > tol {
        return Err(invalid(
            field.to_string(),
            format!("weights sum to {sum}, not 1 (tolerance {tol})"),
        ));
    }
    Ok(())
}

/// A validated signal: the MP if given, and the Sub-MP of each class given (equal weights expanded).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSignal {
    /// Class weights, when observed.
    pub mp: Option<Mp>,
    /// Sub-MP per observed class.
    pub sub_mp: BTreeMap<String, SubMp>,
}

/// Validates `signal` against the current model (`reference`: active model with pending MP/Sub-MP
/// values applied): weights non-negative and summing to 1 (± `weight_tolerance`), every Sub-MP class
/// present in the MP, every invested MP class with a Sub-MP, no symbol in two classes.
pub fn validate_signal(
    signal: &Signal,
    reference: &Model,
    cfg: &RebalanceConfig,
) -> Result<ValidSignal> {
    let tol = cfg.weight_tolerance;
    if signal.mp.is_none() && signal.sub_mp.is_empty() {
        return Err(invalid("mp".into(), "signal has neither mp nor sub_mp"));
    }
    if let Some(mp) = &signal.mp {
        check_weights("mp", mp, tol)?;
        if let Some(c) = mp.keys().find(|c| c.trim().is_empty()) {
            return Err(invalid(format!("mp.{c}"), "empty class name"));
        }
    }
    let mut sub_mp = BTreeMap::new();
    for (class, spec) in &signal.sub_mp {
        let field = format!("sub_mp.{class}");
        if *class == cfg.cash_class {
            return Err(invalid(
                field,
                format!("the cash class {:?} holds no securities", cfg.cash_class),
            ));
        }
        let weights = match spec {
            SubMpSpec::Weights(w) => w.clone(),
            SubMpSpec::EqualWeight(list) => {
                let set: BTreeSet<&Symbol> = list.iter().collect();
                if set.len() != list.len() {
                    return Err(invalid(field, "a symbol is listed twice"));
                }
                let n = list.len().max(1) as f64;
                list.iter().map(|s| (s.clone(), 1.0 / n)).collect()
            }
        };
        check_weights(&field, &weights, tol)?;
        sub_mp.insert(class.clone(), weights);
    }
    // The model this signal describes once applied.
    let mut merged = reference.clone();
    if let Some(mp) = &signal.mp {
        merged.mp = mp.clone();
    }
    for (class, w) in &sub_mp {
        merged.sub_mp.insert(class.clone(), w.clone());
    }
    for class in sub_mp.keys() {
        if !merged.mp.contains_key(class) {
            return Err(invalid(
                format!("sub_mp.{class}"),
                "class is not in the MP".to_string(),
            ));
        }
    }
    for (class, w) in &merged.mp {
        if *class != cfg.cash_class && *w > 0.0 && !merged.sub_mp.contains_key(class) {
            return Err(invalid(
                format!("mp.{class}"),
                format!(
                    "class has weight {w} but no Sub-MP (give sub_mp.{class}, or name it {:?})",
                    cfg.cash_class
                ),
            ));
        }
    }
    let mut owner: BTreeMap<&Symbol, &str> = BTreeMap::new();
    for (class, sub) in &merged.sub_mp {
        if !merged.mp.contains_key(class) {
            continue;
        }
        for sym in sub.keys() {
            if let Some(other) = owner.insert(sym, class) {
                return Err(invalid(
                    format!("sub_mp.{class}.{sym}"),
                    format!("{sym} is also in class {other}"),
                ));
            }
        }
    }
    Ok(ValidSignal {
        mp: signal.mp.clone(),
        sub_mp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(json: &str) -> Signal {
        serde_json::from_str(json).unwrap()
    }

    fn cfg() -> RebalanceConfig {
        RebalanceConfig::default()
    }

    #[test]
    fn parses_the_issue_example_and_expands_equal_weights() {
        let s = sig(
            r#"{"date":"2024-03-04","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"stocks":["SPY","QQQ"],"bonds":{"TLT":1.0},"gold":{"GLD":1.0}}}"#,
        );
        let v = validate_signal(&s, &Model::default(), &cfg()).unwrap();
        let stocks = &v.sub_mp["stocks"];
        assert_eq!(stocks.len(), 2);
        assert!(stocks.values().all(|w| (*w - 0.5).abs() < 1e-15));
        let m = Model {
            mp: v.mp.unwrap(),
            sub_mp: v.sub_mp,
        };
        let t = m.target_weights();
        let spy = Symbol::try_new("SPY").unwrap();
        assert!((t[&spy] - 0.15).abs() < 1e-15);
        assert!((t.values().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_signals_naming_the_field() {
        let base = Model::default();
        let cases = [
            (
                r#"{"mp":{"stocks":0.5,"bonds":0.4},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"]}}"#,
                "mp",
            ),
            (
                r#"{"mp":{"stocks":1.2,"bonds":-0.2},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"]}}"#,
                "mp.bonds",
            ),
            (
                r#"{"mp":{"stocks":1.0},"sub_mp":{"stocks":["SPY"],"gold":["GLD"]}}"#,
                "sub_mp.gold",
            ),
            (
                r#"{"mp":{"stocks":0.5,"bonds":0.5},"sub_mp":{"stocks":["SPY"]}}"#,
                "mp.bonds",
            ),
            (
                r#"{"mp":{"stocks":0.5,"bonds":0.5},"sub_mp":{"stocks":["SPY"],"bonds":["SPY"]}}"#,
                "sub_mp.stocks.SPY",
            ),
            (
                r#"{"mp":{"stocks":0.9,"cash":0.1},"sub_mp":{"stocks":["SPY"],"cash":["BIL"]}}"#,
                "sub_mp.cash",
            ),
            (
                r#"{"mp":{"stocks":1.0},"sub_mp":{"stocks":["SPY","SPY"]}}"#,
                "sub_mp.stocks",
            ),
            (r#"{"date":"2024-01-02"}"#, "mp"),
        ];
        for (json, field) in cases {
            match validate_signal(&sig(json), &base, &cfg()) {
                Err(RebalanceError::InvalidSignal { field: f, .. }) => {
                    assert_eq!(f, field, "{json}")
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn sub_mp_alone_refers_to_the_current_model() {
        let mut m = Model {
            mp: [("stocks".to_string(), 0.9), ("cash".to_string(), 0.1)].into(),
            ..Model::default()
        };
        m.sub_mp.insert(
            "stocks".into(),
            [(Symbol::try_new("SPY").unwrap(), 1.0)].into(),
        );
        assert!(validate_signal(&sig(r#"{"sub_mp":{"stocks":["QQQ"]}}"#), &m, &cfg()).is_ok());
        assert!(validate_signal(&sig(r#"{"sub_mp":{"gold":["GLD"]}}"#), &m, &cfg()).is_err());
        assert!(
            (m.target_weights().values().sum::<f64>() - 0.9).abs() < 1e-15,
            "the cash class stays uninvested"
        );
    }

    #[test]
    fn a_line_without_mp_carries_the_previous_mp_and_sub_mps() {
        let prev = sig(
            r#"{"date":"2024-09-03","mp":{"stocks":0.3,"bonds":0.5,"gold":0.2},"sub_mp":{"stocks":["SPY"],"bonds":["TLT"],"gold":["GLD"]}}"#,
        );
        let next = sig(r#"{"date":"2024-09-05","sub_mp":{"stocks":["SPY","QQQ"]}}"#);
        let view = next.carried_over(Some(&prev));
        assert_eq!(view.date, next.date);
        assert_eq!(view.mp, prev.mp, "MP unchanged");
        assert_eq!(view.sub_mp["stocks"], next.sub_mp["stocks"]);
        assert_eq!(view.sub_mp["gold"], prev.sub_mp["gold"]);
        // A new MP without gold drops gold's carried Sub-MP (else the view would be invalid).
        let no_gold = sig(r#"{"mp":{"stocks":0.6,"bonds":0.4}}"#).carried_over(Some(&view));
        assert!(!no_gold.sub_mp.contains_key("gold"));
        assert!(validate_signal(&no_gold, &Model::default(), &cfg()).is_ok());
        assert_eq!(next.carried_over(None), next);
    }
}
