#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The stored risk settings on a real SQLite store: the defaults until something is stored, a
//! round trip of TOML and of JSON, refused texts and configurations name the key and store
//! nothing, a reset, a corrupt document, and a backtest with `RiskSource::Stored` runs with the
//! stored settings.

use data_csv::ImportOptions;
use pulse_app::AppError;
use pulse_app::backtest::{BacktestRequest, RiskSource, RunSettings, backtest};
use pulse_app::risk::{
    DOCUMENT, config_from_json, invalid_field, reset_settings, resolve, save_config, save_settings,
    save_settings_file, settings,
};
use pulse_core::ports::Store;
use pulse_risk::RiskConfig;
use store_sqlite::SqliteStore;

async fn empty_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("t.db")).await.unwrap()
}

const CUSTOM: &str = "[limits]\nmax_position = 0.25\nmax_sector = false\n\n[correlation]\nenabled = true\nthreshold = 0.7\n\n[leverage]\nlevels = [{ above = 0.04, leverage = 0.6 }]\n";

#[tokio::test]
async fn settings_round_trip_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let store = empty_store(&dir).await;
    let s = settings(&store).await.unwrap();
    assert!(!s.stored);
    assert_eq!(s.config, RiskConfig::default());
    assert_eq!(s.toml, RiskConfig::default().to_toml());

    let saved = save_settings(&store, CUSTOM).await.unwrap();
    assert_eq!(saved.limits.max_position, Some(0.25));
    assert_eq!(saved.limits.max_sector, None);
    assert!(saved.correlation.enabled);
    let s = settings(&store).await.unwrap();
    assert!(s.stored);
    assert_eq!(s.config, saved);
    assert_eq!(s.config, RiskConfig::from_toml(CUSTOM).unwrap());
    assert!(s.toml.contains("max_sector = false"), "{}", s.toml);
    // The stored document is the TOML text.
    let doc = store.document(DOCUMENT).await.unwrap().unwrap();
    assert!(doc.contains("max_position = 0.25"), "{doc}");
    assert_eq!(
        resolve(&store, &RiskSource::Stored).await.unwrap(),
        saved,
        "runs that apply the stored settings get these"
    );

    // A configuration (the dashboard's form and API) is stored as its TOML.
    let mut c = saved.clone();
    c.limits.max_drawdown = None;
    c.leverage.window_days = 90;
    assert_eq!(save_config(&store, &c).await.unwrap(), c);
    assert_eq!(settings(&store).await.unwrap().config, c);

    reset_settings(&store).await.unwrap();
    let s = settings(&store).await.unwrap();
    assert!(!s.stored);
    assert_eq!(s.config, RiskConfig::default());
    assert_eq!(
        resolve(&store, &RiskSource::Stored).await.unwrap(),
        RiskConfig::default()
    );
    // Resetting twice is fine.
    reset_settings(&store).await.unwrap();
    assert!(!settings(&store).await.unwrap().stored);
}

#[tokio::test]
async fn invalid_settings_are_refused_naming_the_key_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let store = empty_store(&dir).await;
    save_settings(&store, CUSTOM).await.unwrap();
    let before = store.document(DOCUMENT).await.unwrap();

    for (text, key) in [
        ("[limits]\nmax_position = 1.5\n", "limits.max_position"),
        ("[limits]\nmax_positoin = 0.1\n", "max_positoin"),
        ("[limits]\nmax_position = \"ten\"\n", "max_position"),
        ("[leverage]\nbase = 1.5\n", "leverage.base"),
        (
            "[leverage]\nwindow_days = 10\nmin_returns = 20\n",
            "leverage.min_returns",
        ),
        ("[correlation]\nthreshold = 2\n", "correlation.threshold"),
        ("[limits\n", "line 1"),
    ] {
        let e = save_settings(&store, text).await.unwrap_err();
        assert!(matches!(e, AppError::Risk { .. }), "{e:?}");
        assert!(
            !e.is_usage(),
            "a bad settings text is a runtime error (exit 1)"
        );
        assert!(e.to_string().contains(key), "{key} in {e}");
        assert_eq!(store.document(DOCUMENT).await.unwrap(), before, "{text}");
    }
    let e = save_settings(&store, "[limits]\nmax_position = 1.5\n")
        .await
        .unwrap_err();
    assert_eq!(invalid_field(&e), Some("limits.max_position"));

    // A configuration out of range is refused the same way.
    let mut c = RiskConfig::default();
    c.limits.max_sector = Some(0.0);
    let e = save_config(&store, &c).await.unwrap_err();
    assert_eq!(invalid_field(&e), Some("limits.max_sector"));
    assert_eq!(store.document(DOCUMENT).await.unwrap(), before);

    // A file's errors name the file and the key; a missing file is a file error.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[leverage]\ntail = 0.7\n").unwrap();
    let e = save_settings_file(&store, &bad).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("bad.toml") && msg.contains("leverage.tail"),
        "{msg}"
    );
    let e = save_settings_file(&store, &dir.path().join("missing.toml"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AppError::Input { ref path, ref reason } if path.ends_with("missing.toml") && reason.contains("no such file")),
        "{e:?}"
    );
    assert_eq!(store.document(DOCUMENT).await.unwrap(), before);
    assert_eq!(
        settings(&store).await.unwrap().config,
        RiskConfig::from_toml(CUSTOM).unwrap()
    );
}

#[test]
fn json_settings_name_the_key_of_every_error() {
    let c = config_from_json(r#"{"limits": {"max_position": 0.2, "max_sector": null}}"#).unwrap();
    assert_eq!(c.limits.max_position, Some(0.2));
    assert_eq!(c.limits.max_sector, None);
    assert_eq!(c.leverage, RiskConfig::default().leverage);
    // The JSON of a configuration reads back as it.
    let mut full = RiskConfig::default();
    full.limits.max_daily_var = None;
    full.correlation.enabled = true;
    let text = serde_json::to_string(&full).unwrap();
    assert_eq!(config_from_json(&text).unwrap(), full);
    // `false` turns a limit off, as in the TOML.
    let c = config_from_json(r#"{"limits": {"max_drawdown": false}}"#).unwrap();
    assert_eq!(c.limits.max_drawdown, None);

    for (text, field) in [
        (
            r#"{"limits": {"max_position": 1.5}}"#,
            "limits.max_position",
        ),
        (
            r#"{"limits": {"max_position": "x"}}"#,
            "limits.max_position",
        ),
        (
            r#"{"limits": {"max_position": true}}"#,
            "limits.max_position",
        ),
        (
            r#"{"limits": {"max_positoin": 0.1}}"#,
            "limits.max_positoin",
        ),
        (
            r#"{"leverage": {"window_days": -3}}"#,
            "leverage.window_days",
        ),
        (r#"{"leverage": {"enabled": "yes"}}"#, "leverage.enabled"),
        (
            r#"{"leverage": {"levels": [{"above": 0.05, "leverage": 0.5}, {"above": "x", "leverage": 0.7}]}}"#,
            "leverage.levels[1].above",
        ),
        (
            r#"{"leverage": {"levels": [{"above": 0.05}]}}"#,
            "leverage.levels[0]",
        ),
        (
            r#"{"leverage": {"levels": [{"above": 0.05, "leverage": 3}]}}"#,
            "leverage.levels[0].leverage",
        ),
        (
            r#"{"correlation": {"threshold": 1.5}}"#,
            "correlation.threshold",
        ),
        (r#"{"risk": {}}"#, "risk"),
        (r#"{"limits": 3}"#, "limits"),
    ] {
        let e = config_from_json(text).unwrap_err();
        assert_eq!(invalid_field(&e), Some(field), "{text}: {e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    let e = config_from_json("{not json").unwrap_err();
    assert!(matches!(e, AppError::Risk { .. }) && invalid_field(&e).is_none());
}

#[tokio::test]
async fn a_corrupt_document_says_how_to_replace_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = empty_store(&dir).await;
    store
        .save_documents(
            &[(
                DOCUMENT,
                r#"{"toml": "[limits]\nmax_position = 7\n"}"#.into(),
            )],
            &[],
        )
        .await
        .unwrap();
    let e = settings(&store).await.unwrap_err();
    assert!(matches!(e, AppError::State(_)), "{e:?}");
    assert!(e.to_string().contains("pulse risk reset"), "{e}");
    reset_settings(&store).await.unwrap();
    assert!(!settings(&store).await.unwrap().stored);
    // `load` cannot read the store.
    assert!(RiskSource::Stored.load().is_err());
}

#[tokio::test]
async fn a_backtest_with_the_stored_settings_runs_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = empty_store(&dir).await;
    let mut batches = Vec::new();
    for name in ["TSLA", "TSLL", "VIX", "FEAR_GREED"] {
        let path = pulse_testkit::bundle_dir().join(format!("{name}.csv"));
        let bytes = std::fs::read(&path).unwrap();
        let parsed = data_csv::parse_reader(
            &path.display().to_string(),
            &bytes[..],
            &ImportOptions::default(),
        )
        .unwrap();
        batches.extend(parsed.into_batches().unwrap());
    }
    store.import(&batches).await.unwrap();
    let request = |risk| BacktestRequest {
        settings: RunSettings {
            risk,
            ..RunSettings::default()
        },
        from: pulse_app::input::instant("2023-01-01", false),
        to: pulse_app::input::instant("2023-12-31", true),
    };
    // Nothing stored: the defaults.
    let outcome = backtest(&store, &request(Some(RiskSource::Stored)))
        .await
        .unwrap();
    let section = outcome.report.risk.as_ref().unwrap();
    assert_eq!(section.config_toml, RiskConfig::default().to_toml());
    // Stored: those.
    save_settings(&store, CUSTOM).await.unwrap();
    let outcome = backtest(&store, &request(Some(RiskSource::Stored)))
        .await
        .unwrap();
    let section = outcome.report.risk.as_ref().unwrap();
    assert_eq!(
        section.config_toml,
        RiskConfig::from_toml(CUSTOM).unwrap().to_toml()
    );
    assert_eq!(
        outcome.prepared.config.engine.risk,
        Some(RiskConfig::from_toml(CUSTOM).unwrap())
    );
    // Without a risk source the layer is off, whatever is stored.
    let outcome = backtest(&store, &request(None)).await.unwrap();
    assert!(outcome.report.risk.is_none());
}
