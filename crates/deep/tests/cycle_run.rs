#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The full default training on the real data (ignored: run with `--ignored --nocapture` to
//! reproduce the figures of the report).

use pulse_deep::cycle::{
    CycleConfig, CycleModel, DataSummaryInput, FredMd, LabelRule, MacroPanel, NberDates, VixMonthly,
};

#[test]
#[ignore = "full training: minutes; run with --ignored --nocapture"]
fn full_default_training() {
    let fred = FredMd::read(&pulse_testkit::shared_file("macro/FRED_MD_2026-08.csv")).unwrap();
    let vix = VixMonthly::read(&pulse_testkit::shared_file("daily-ohlcv/VIX.csv")).unwrap();
    let nber = NberDates::read(&pulse_testkit::shared_file("macro/NBER_recessions.csv")).unwrap();
    let panel = MacroPanel::build(&fred, &vix, &LabelRule::default()).unwrap();
    let mut cfg = CycleConfig::default();
    if let Ok(s) = std::env::var("CYCLE_SEED") {
        cfg.seed = s.parse().unwrap();
    }
    if let Ok(s) = std::env::var("CYCLE_H") {
        cfg.horizon = s.parse().unwrap();
    }
    let t = std::time::Instant::now();
    let m = CycleModel::train(
        &panel,
        &cfg,
        DataSummaryInput::default(),
        Some(panel.nber_check(&nber)),
        &mut |e| {
            if e.epoch % 10 == 0 {
                eprintln!(
                    "epoch {} train {:.4} val {:.4} acc {:.3} best {}",
                    e.epoch, e.train_loss, e.validation_loss, e.validation_accuracy, e.best_epoch
                )
            }
        },
        &|| false,
    )
    .unwrap()
    .unwrap();
    eprintln!("{:.1}s", t.elapsed().as_secs_f64());
    let c = &m.card;
    println!("{}", serde_json::to_string_pretty(&c.split).unwrap());
    println!("{}", serde_json::to_string_pretty(&c.nber).unwrap());
    for (name, e) in [("validation", &c.validation), ("test", &c.test)] {
        println!(
            "{name}: model {:.3} (bal {:.3}) persistence {:.3} (bal {:.3}) majority {} {:.3}",
            e.model.accuracy,
            e.model.balanced_accuracy,
            e.persistence.accuracy,
            e.persistence.balanced_accuracy,
            e.majority_regime,
            e.majority.accuracy
        );
        println!("  confusion {:?}", e.model.confusion);
    }
    println!("best epoch {} of {}", c.best_epoch, c.epochs_run);
    println!(
        "{}",
        serde_json::to_string(&m.predict_latest(&panel).unwrap()).unwrap()
    );
}
