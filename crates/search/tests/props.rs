//! Properties of the lazy grid: the odometer iterator visits exactly the feasible indices of
//! `grid_point`, index ↔ point round-trips, `grid_from` resumes mid-grid, snapping stays on grid.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use proptest::prelude::*;
use pulse_search::{ParamSpace, ParamSpec};

fn spec() -> impl Strategy<Value = ParamSpec> {
    prop_oneof![
        (-20i64..20, 0i64..12, 1i64..4).prop_map(|(lo, span, step)| ParamSpec::Int {
            lo,
            hi: lo + span,
            step
        }),
        (
            -50i32..50,
            0u32..9,
            prop_oneof![Just(0.25), Just(0.1), Just(0.5), Just(1.5)]
        )
            .prop_map(|(lo, n, step)| ParamSpec::Float {
                lo: f64::from(lo) / 4.0,
                hi: f64::from(lo) / 4.0 + f64::from(n) * step,
                step
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn grid_iterator_matches_index_mapping(specs in prop::collection::vec(spec(), 1..4), with_constraint: bool, start in 0u64..50) {
        let mut space = ParamSpace::new();
        for (i, s) in specs.iter().enumerate() {
            space.add_param(&format!("p{i}"), *s).unwrap();
        }
        if with_constraint && specs.len() >= 2 {
            space.add_constraint("p0 <= p1").unwrap();
        }
        let n = space.grid_size().unwrap();
        let want: Vec<u64> = (0..n)
            .filter(|&i| space.is_feasible(space.grid_point(i).unwrap().values()))
            .collect();
        let got: Vec<(u64, pulse_search::Point)> = space.grid().unwrap().collect();
        prop_assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), want.clone());
        for (i, p) in &got {
            prop_assert_eq!(space.grid_point(*i), Some(p.clone()));
            prop_assert_eq!(space.grid_index(p), Some(*i));
            for (v, par) in p.values().iter().zip(space.params()) {
                prop_assert_eq!(par.spec.snap(*v), *v);
            }
        }
        let from: Vec<u64> = space.grid_from(start).unwrap().map(|(i, _)| i).collect();
        prop_assert_eq!(from, want.into_iter().filter(|&i| i >= start).collect::<Vec<_>>());
        prop_assert_eq!(space.grid_point(n), None);
    }

    #[test]
    fn snap_lands_on_the_grid(s in spec(), x in -40.0f64..40.0) {
        let v = s.snap(x);
        prop_assert!(s.grid_position(v).is_some(), "{:?} snap({}) = {}", s, x, v);
        let (lo, _) = s.bounds();
        prop_assert!(v >= lo && v <= s.grid_max());
    }
}
