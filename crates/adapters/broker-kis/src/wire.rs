//! Reading KIS's JSON: the response envelope and string-typed fields.
//!
//! KIS sends almost every value as a string (`"70000"`, `"145.0000"`, `""`); the helpers here
//! turn them into exact decimals and name the field when one does not parse.

use crate::error::KisError;
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// KIS's success code (`rt_cd`).
pub(crate) const RT_OK: &str = "0";
/// Too many requests per second.
pub(crate) const EGW_RATE_LIMIT: &str = "EGW00201";
/// The access token expired (`기간이 만료된 token 입니다`).
pub(crate) const EGW_TOKEN_EXPIRED: &str = "EGW00123";
/// The key was refused on this host (paper key on the real host, or the reverse).
pub(crate) const EGW_WRONG_HOST: &str = "EGW02004";
/// Service not found (the endpoint does not exist on paper).
pub(crate) const MCA_NOT_ON_PAPER: &str = "MCA00124";

/// The common part of every KIS answer: `rt_cd` (`"0"` success), `msg_cd`, `msg1`. The token
/// endpoint answers errors as `error_code` / `error_description` instead; both are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// `rt_cd`, when present.
    pub rt_cd: Option<String>,
    /// `msg_cd` (or `error_code`).
    pub code: String,
    /// `msg1` (or `error_description`).
    pub message: String,
}

impl Envelope {
    /// The envelope of a JSON body, `None` when it has none of its fields.
    pub(crate) fn of(body: &Value) -> Option<Envelope> {
        let obj = body.as_object()?;
        let text = |k: &str| obj.get(k).map(value_text).map(|s| s.trim().to_string());
        let rt_cd = text("rt_cd");
        let code = text("msg_cd").or_else(|| text("error_code"));
        let message = text("msg1").or_else(|| text("error_description"));
        if rt_cd.is_none() && code.is_none() {
            return None;
        }
        Some(Envelope {
            rt_cd,
            code: code.unwrap_or_default(),
            message: message.unwrap_or_default(),
        })
    }

    /// True for `rt_cd == "0"`.
    pub(crate) fn ok(&self) -> bool {
        self.rt_cd.as_deref() == Some(RT_OK)
    }
}

/// A JSON scalar as text (`"12"` → `12`, `12` → `12`, null → empty).
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The text of field `name` of `obj` (empty when absent), trimmed.
pub(crate) fn text(obj: &Value, name: &str) -> String {
    obj.get(name)
        .map(value_text)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Parses a KIS number (`"70000"`, `"-1.5"`, `"145.0000"`, `"+3"`, `"1,000"` tolerated).
fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim().trim_start_matches('+').replace(',', "");
    if t.is_empty() {
        return None;
    }
    Decimal::from_str(&t)
        .or_else(|_| Decimal::from_scientific(&t))
        .ok()
}

/// Field `name` of `obj` as a decimal; absent, empty or malformed → [`KisError::Parse`] naming
/// the field.
pub(crate) fn decimal(obj: &Value, name: &str, what: &'static str) -> Result<Decimal, KisError> {
    let t = text(obj, name);
    if t.is_empty() {
        return Err(KisError::Parse {
            what,
            field: name.to_string(),
            reason: "missing or empty".to_string(),
        });
    }
    parse_decimal(&t).ok_or_else(|| KisError::Parse {
        what,
        field: name.to_string(),
        reason: "not a number".to_string(),
    })
}

/// As [`decimal`], with absent or empty read as zero (malformed still an error).
pub(crate) fn decimal_or_zero(
    obj: &Value,
    name: &str,
    what: &'static str,
) -> Result<Decimal, KisError> {
    if text(obj, name).is_empty() {
        return Ok(Decimal::ZERO);
    }
    decimal(obj, name, what)
}

/// The rows of an `output`/`output1`/`output2` field: an array, or one object as one row.
pub(crate) fn rows<'a>(body: &'a Value, name: &str) -> Vec<&'a Value> {
    match body.get(name) {
        Some(Value::Array(a)) => a.iter().filter(|v| v.is_object()).collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_reads_both_shapes() {
        let e = Envelope::of(
            &json!({"rt_cd":"1","msg_cd":"EGW00201","msg1":"초당 거래건수를 초과하였습니다."}),
        )
        .unwrap();
        assert!(!e.ok());
        assert_eq!(e.code, EGW_RATE_LIMIT);
        let e = Envelope::of(&json!({"error_code":"EGW00133","error_description":"1분당 1회"}))
            .unwrap();
        assert_eq!(e.code, "EGW00133");
        assert!(Envelope::of(&json!({"access_token":"x"})).is_none());
        assert!(
            Envelope::of(&json!({"rt_cd":"0","msg_cd":"MCA00000","msg1":"ok"}))
                .unwrap()
                .ok()
        );
    }

    #[test]
    fn numbers_parse_exactly_and_errors_name_the_field() {
        let o = json!({"a":"145.0000","b":"","c":"12x","d":70000,"e":"+3","f":"1,200"});
        assert_eq!(decimal(&o, "a", "t").unwrap(), Decimal::new(145, 0));
        assert_eq!(decimal(&o, "d", "t").unwrap(), Decimal::new(70000, 0));
        assert_eq!(decimal(&o, "e", "t").unwrap(), Decimal::new(3, 0));
        assert_eq!(decimal(&o, "f", "t").unwrap(), Decimal::new(1200, 0));
        assert_eq!(decimal_or_zero(&o, "b", "t").unwrap(), Decimal::ZERO);
        let e = decimal(&o, "c", "quote").unwrap_err().to_string();
        assert!(e.contains("field c") && e.contains("quote"), "{e}");
        assert!(decimal(&o, "zz", "t").is_err());
        assert!(decimal_or_zero(&o, "c", "t").is_err());
    }
}
