//! The team's risk settings, stored (issue 15, item 5): one document in the store holds the
//! settings of the risk layer as TOML text (what `pulse risk show` prints and `pulse risk set
//! FILE` reads), so that the CLI's `--risk` flag and the dashboard's risk page and backtest form
//! apply the same settings. Nothing stored means the SPEC §4 defaults.
//!
//! Every way in validates first ([`RiskConfig::from_toml`] / [`RiskConfig::validate`]) and a
//! refused text or configuration leaves the stored settings as they were. Errors name the key as
//! spelled in the TOML (`limits.max_position`), see [`invalid_field`].

use crate::backtest::RiskSource;
use crate::error::AppError;
use pulse_core::ports::{AuditEntry, Store};
use pulse_risk::{CorrelationConfig, LeverageConfig, LimitsConfig};
/// The risk layer's settings and their parts, for front ends that edit them.
pub use pulse_risk::{LeverageLevel, RiskConfig, RiskConfigError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// Key of the stored settings' document (`Store::document`).
pub const DOCUMENT: &str = "risk.settings";

/// The origin errors of settings given as text or JSON name.
const ORIGIN: &str = "risk settings";

/// The stored document: the TOML text, or JSON `null` after a reset.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSettings {
    /// The settings as TOML (`RiskConfig::to_toml` of the validated settings).
    toml: String,
}

/// The risk settings in effect for runs that apply the stored settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSettingsOutcome {
    /// The settings (the defaults when nothing is stored).
    pub config: RiskConfig,
    /// The same as TOML, as `pulse risk show` prints it.
    pub toml: String,
    /// True when settings are stored; false when these are the defaults.
    pub stored: bool,
}

impl RiskSettingsOutcome {
    fn of(config: RiskConfig, stored: bool) -> Self {
        RiskSettingsOutcome {
            toml: config.to_toml(),
            config,
            stored,
        }
    }
}

fn risk_error(origin: &str, source: RiskConfigError) -> AppError {
    AppError::Risk {
        origin: origin.to_string(),
        source,
    }
}

/// The stored settings, or the defaults when none are stored (or they were reset). A stored
/// document that no longer reads is a [`AppError::State`] error that says how to replace it.
pub async fn settings<S: Store>(store: &S) -> Result<RiskSettingsOutcome, AppError> {
    let Some(text) = store.document(DOCUMENT).await.map_err(AppError::port)? else {
        return Ok(RiskSettingsOutcome::of(RiskConfig::default(), false));
    };
    let corrupt = |why: String| {
        AppError::State(format!(
            "the stored risk settings are unreadable ({why}): store new ones (`pulse risk set FILE`, the dashboard's risk page) or reset them (`pulse risk reset`)"
        ))
    };
    let doc: Option<StoredSettings> =
        serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    match doc {
        None => Ok(RiskSettingsOutcome::of(RiskConfig::default(), false)),
        Some(doc) => {
            let config = RiskConfig::from_toml(&doc.toml).map_err(|e| corrupt(e.to_string()))?;
            Ok(RiskSettingsOutcome::of(config, true))
        }
    }
}

/// Validates `config` and stores it (as its TOML); the stored settings. A refused configuration
/// is an [`AppError::Risk`] naming the key, and nothing is stored.
pub async fn save_config<S: Store>(store: &S, config: &RiskConfig) -> Result<RiskConfig, AppError> {
    config.validate().map_err(|e| risk_error(ORIGIN, e))?;
    let toml = config.to_toml();
    // What is stored must read back as these settings (the TOML spells every value exactly).
    let again = RiskConfig::from_toml(&toml).map_err(|e| risk_error(ORIGIN, e))?;
    let entry = changed(store, serde_json::json!({ "risk_settings": toml })).await?;
    let doc = serde_json::to_string(&Some(StoredSettings { toml })).map_err(|source| {
        AppError::Encode {
            what: "the risk settings",
            source,
        }
    })?;
    store
        .save_documents(&[(DOCUMENT, doc)], &[entry])
        .await
        .map_err(AppError::port)?;
    Ok(again)
}

async fn save_text<S: Store>(store: &S, origin: &str, text: &str) -> Result<RiskConfig, AppError> {
    let config = RiskConfig::from_toml(text).map_err(|e| risk_error(origin, e))?;
    save_config(store, &config).await
}

/// Validates TOML text (as `pulse risk show` prints it; every key optional, a limit set to
/// `false` is off) and stores its settings; the stored settings. A refused text is an
/// [`AppError::Risk`] naming the key, and nothing is stored.
pub async fn save_settings<S: Store>(store: &S, toml_text: &str) -> Result<RiskConfig, AppError> {
    save_text(store, ORIGIN, toml_text).await
}

/// [`save_settings`] of a TOML file; errors name the file (and the key).
pub async fn save_settings_file<S: Store>(store: &S, path: &Path) -> Result<RiskConfig, AppError> {
    let text = crate::data::read_text_file(path)?;
    save_text(store, &path.display().to_string(), &text).await
}

/// Forgets the stored settings: the defaults apply again.
pub async fn reset_settings<S: Store>(store: &S) -> Result<(), AppError> {
    let none: Option<StoredSettings> = None;
    let doc = serde_json::to_string(&none).map_err(|source| AppError::Encode {
        what: "the risk settings",
        source,
    })?;
    let entry = changed(
        store,
        serde_json::json!({ "risk_settings": "reset to the defaults" }),
    )
    .await?;
    store
        .save_documents(&[(DOCUMENT, doc)], &[entry])
        .await
        .map_err(AppError::port)
}

/// The audit entry of a change of the settings, stamped by the clock (time travel's when on).
async fn changed<S: Store>(store: &S, entry: serde_json::Value) -> Result<AuditEntry, AppError> {
    let (now, _) = crate::rebalance::clock_now(store).await?;
    Ok(AuditEntry {
        ts: now,
        subsystem: "risk".to_string(),
        entry_json: entry.to_string(),
    })
}

/// The settings of a run's risk source: a file's, a configuration's, or the stored ones (the
/// defaults when none are stored).
pub async fn resolve<S: Store>(store: &S, source: &RiskSource) -> Result<RiskConfig, AppError> {
    match source {
        RiskSource::Stored => Ok(settings(store).await?.config),
        other => other.load(),
    }
}

/// Reads settings from JSON in the shape of [`RiskConfig`] (every section and key optional; a
/// limit set to `null` or `false` is off) and validates them. A key that is unknown or of the wrong type
/// is refused naming it (`limits.max_position`, `leverage.levels[1].above`), like an
/// out-of-range value.
pub fn config_from_json(text: &str) -> Result<RiskConfig, AppError> {
    let err = |e: RiskConfigError| risk_error(ORIGIN, e);
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| err(RiskConfigError::Parse(e.to_string())))?;
    limits_off(&mut value).map_err(err)?;
    check_shape(&value).map_err(err)?;
    let config: RiskConfig =
        serde_json::from_value(value).map_err(|e| err(RiskConfigError::Parse(e.to_string())))?;
    config.validate().map_err(err)?;
    Ok(config)
}

fn invalid(field: String, reason: impl ToString) -> RiskConfigError {
    RiskConfigError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

/// Reads `{key: value}` alone as a `T` (every other key at its default): a wrong type or an
/// unknown key is refused naming `section.key`.
fn probe<T: DeserializeOwned>(
    section: &str,
    key: &str,
    value: &Value,
) -> Result<(), RiskConfigError> {
    let mut one = serde_json::Map::new();
    one.insert(key.to_string(), value.clone());
    serde_json::from_value::<T>(Value::Object(one))
        .map(|_| ())
        .map_err(|e| invalid(format!("{section}.{key}"), e))
}

/// Checks every key of a JSON configuration on its own, so that an error names the key.
fn check_shape(value: &Value) -> Result<(), RiskConfigError> {
    let Value::Object(sections) = value else {
        return Err(RiskConfigError::Parse(
            "expected an object with the sections leverage, limits and correlation".into(),
        ));
    };
    for (section, body) in sections {
        if !matches!(section.as_str(), "leverage" | "limits" | "correlation") {
            return Err(invalid(
                section.clone(),
                "unknown section: expected leverage, limits or correlation",
            ));
        }
        let Value::Object(keys) = body else {
            return Err(invalid(section.clone(), "must be an object"));
        };
        for (key, v) in keys {
            match section.as_str() {
                "leverage" => {
                    if let ("levels", Value::Array(levels)) = (key.as_str(), v) {
                        for (i, level) in levels.iter().enumerate() {
                            check_level(i, level)?;
                        }
                    }
                    probe::<LeverageConfig>(section, key, v)?;
                }
                "limits" => probe::<LimitsConfig>(section, key, v)?,
                _ => probe::<CorrelationConfig>(section, key, v)?,
            }
        }
    }
    Ok(())
}

/// Checks one level of the leverage table key by key (`leverage.levels[1].above`).
fn check_level(i: usize, level: &Value) -> Result<(), RiskConfigError> {
    let field = format!("leverage.levels[{i}]");
    let Value::Object(keys) = level else {
        return Err(invalid(field, "must be an object {above, leverage}"));
    };
    for (key, v) in keys {
        if key != "above" && key != "leverage" {
            return Err(invalid(
                format!("{field}.{key}"),
                "unknown key: expected above or leverage",
            ));
        }
        serde_json::from_value::<f64>(v.clone())
            .map_err(|e| invalid(format!("{field}.{key}"), e))?;
    }
    serde_json::from_value::<LeverageLevel>(level.clone()).map_err(|e| invalid(field, e))?;
    Ok(())
}

/// In `limits`, `false` turns a limit off (as in the TOML): it becomes `null`; `true` is
/// refused naming the limit.
fn limits_off(value: &mut Value) -> Result<(), RiskConfigError> {
    if let Some(Value::Object(limits)) = value.get_mut("limits") {
        for (key, v) in limits.iter_mut() {
            match v {
                Value::Bool(false) => *v = Value::Null,
                Value::Bool(true) => {
                    return Err(invalid(
                        format!("limits.{key}"),
                        "true is not a limit: give a number, or false (null) to turn it off",
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The setting a refused risk configuration names, as spelled in the TOML
/// (`limits.max_position`), for a front end to show the error beside it; `None` for other
/// errors (and for TOML that does not parse, whose message names the line).
pub fn invalid_field(e: &AppError) -> Option<&str> {
    match e {
        AppError::Risk {
            source: RiskConfigError::Invalid { field, .. },
            ..
        } => Some(field),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_stop_loss_reads_from_json_turns_off_and_is_refused_by_name() {
        let c = config_from_json(r#"{"limits": {"stop_loss": 0.05}}"#).unwrap();
        assert_eq!(c.limits.stop_loss, Some(0.05));
        // What is stored (the TOML) reads back with it: a runner started with `--risk`
        // compares and applies exactly these settings.
        assert_eq!(RiskConfig::from_toml(&c.to_toml()).unwrap(), c);
        assert_eq!(RiskConfig::default().limits.stop_loss, None);
        for off in ["false", "null"] {
            let c = config_from_json(&format!(r#"{{"limits": {{"stop_loss": {off}}}}}"#)).unwrap();
            assert_eq!(c.limits.stop_loss, None, "{off}");
        }
        for bad in ["0", "1.5", "true", "\"x\""] {
            let e =
                config_from_json(&format!(r#"{{"limits": {{"stop_loss": {bad}}}}}"#)).unwrap_err();
            assert_eq!(invalid_field(&e), Some("limits.stop_loss"), "{bad}: {e}");
        }
    }
}
