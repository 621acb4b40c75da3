//! Summaries of finished trials for reports: top-N (bounded memory), parameter importance, 2-D
//! heatmaps of the objective over two parameters. Failed trials (NaN score) are ignored.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::run::TrialRecord;
use crate::space::{ParamSpace, ParamSpec};

/// Axes with more grid values than this, and continuous parameters, are binned.
const MAX_AXIS: u64 = 200;
/// Number of equal-width bins for binned axes.
const BINS: usize = 50;

/// Heap entry ordered so that the *worst* trial is on top (min-heap on score, then number).
struct Worst(TrialRecord);

impl Worst {
    fn key(&self) -> (f64, std::cmp::Reverse<u64>) {
        (self.0.trial.score, std::cmp::Reverse(self.0.number))
    }
}

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the lowest score on top.
        let (a, b) = (self.key(), other.key());
        b.0.total_cmp(&a.0).then(b.1.cmp(&a.1))
    }
}

/// The best `n` trials seen so far (memory O(n) however many are offered); ties go to the lower
/// trial number. Feed it from `run_search`'s callback (behind a `Mutex`).
pub struct TopTrials {
    n: usize,
    heap: BinaryHeap<Worst>,
}

impl TopTrials {
    /// Keeps the best `n` trials.
    pub fn new(n: usize) -> Self {
        TopTrials {
            n,
            heap: BinaryHeap::with_capacity(n + 1),
        }
    }

    /// Offers a finished trial (NaN scores are ignored).
    pub fn offer(&mut self, rec: &TrialRecord) {
        if rec.trial.score.is_nan() || self.n == 0 {
            return;
        }
        let cand = Worst(rec.clone());
        if self.heap.len() < self.n {
            self.heap.push(cand);
        } else if let Some(worst) = self.heap.peek() {
            // `cand < worst` in the reversed order means cand is better.
            if cand < *worst {
                self.heap.pop();
                self.heap.push(cand);
            }
        }
    }

    /// Number of trials kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no trial is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept trials, best first.
    pub fn into_sorted(self) -> Vec<TrialRecord> {
        // Ascending in the reversed order = best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

/// The best `n` of `records`, best first (ties to the lower number).
pub fn top_trials(records: &[TrialRecord], n: usize) -> Vec<TrialRecord> {
    let mut top = TopTrials::new(n);
    for r in records {
        top.offer(r);
    }
    top.into_sorted()
}

/// One axis of a heatmap: either the parameter's grid values or equal-width bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Parameter name.
    pub name: String,
    /// Grid values, or bin centres when binned.
    pub values: Vec<f64>,
    /// True when `values` are bin centres of equal-width bins over the range.
    pub binned: bool,
}

impl Axis {
    fn of(name: &str, spec: &ParamSpec) -> Axis {
        match spec.grid_len().filter(|&n| n <= MAX_AXIS) {
            Some(n) => Axis {
                name: name.to_string(),
                values: (0..n).map(|k| spec.grid_value(k)).collect(),
                binned: false,
            },
            None => {
                let (lo, hi) = spec.bounds();
                let w = (hi - lo) / BINS as f64;
                Axis {
                    name: name.to_string(),
                    values: (0..BINS).map(|i| lo + (i as f64 + 0.5) * w).collect(),
                    binned: true,
                }
            }
        }
    }

    fn position(&self, spec: &ParamSpec, x: f64) -> Option<usize> {
        if self.binned {
            let (lo, hi) = spec.bounds();
            if hi <= lo {
                return Some(0);
            }
            let i = ((x - lo) / (hi - lo) * BINS as f64).floor();
            (i >= 0.0).then(|| (i as usize).min(BINS - 1))
        } else {
            spec.grid_position(x).map(|k| k as usize)
        }
    }
}

/// How trials falling into one heatmap cell are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    /// Best score in the cell (the objective maximized over the other parameters).
    Max,
    /// Mean score in the cell.
    Mean,
}

/// The objective over two parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// `cells[iy * x.values.len() + ix]`: aggregated score, `None` where no trial fell.
    pub cells: Vec<Option<f64>>,
    /// Trials per cell, same layout.
    pub counts: Vec<u64>,
}

fn param(space: &ParamSpace, name: &str, context: &str) -> Result<(usize, ParamSpec)> {
    let i = space
        .index_of(name)
        .ok_or_else(|| SearchError::UnknownParam {
            name: name.to_string(),
            context: context.to_string(),
        })?;
    Ok((i, space.params()[i].spec))
}

/// Heatmap of the score over parameters `x` and `y` (grid values as axes when ≤ 200 of them,
/// otherwise 50 equal-width bins).
pub fn heatmap(
    space: &ParamSpace,
    records: &[TrialRecord],
    x: &str,
    y: &str,
    agg: Aggregate,
) -> Result<Heatmap> {
    let (ix, sx) = param(space, x, "heatmap x axis")?;
    let (iy, sy) = param(space, y, "heatmap y axis")?;
    let (ax, ay) = (Axis::of(x, &sx), Axis::of(y, &sy));
    let (nx, ny) = (ax.values.len(), ay.values.len());
    let mut sum = vec![0.0f64; nx * ny];
    let mut best = vec![f64::NEG_INFINITY; nx * ny];
    let mut counts = vec![0u64; nx * ny];
    for r in records.iter().filter(|r| !r.trial.score.is_nan()) {
        let v = r.point.values();
        let (Some(&vx), Some(&vy)) = (v.get(ix), v.get(iy)) else {
            continue;
        };
        let (Some(px), Some(py)) = (ax.position(&sx, vx), ay.position(&sy, vy)) else {
            continue;
        };
        let c = py * nx + px;
        sum[c] += r.trial.score;
        best[c] = best[c].max(r.trial.score);
        counts[c] += 1;
    }
    let cells = (0..nx * ny)
        .map(|c| {
            (counts[c] > 0).then(|| match agg {
                Aggregate::Max => best[c],
                Aggregate::Mean => sum[c] / counts[c] as f64,
            })
        })
        .collect();
    Ok(Heatmap {
        x: ax,
        y: ay,
        cells,
        counts,
    })
}

/// Importance of each parameter: the share of score variance explained by its main effect,
/// corrected for chance (ε², Kelley 1935): grouping the `n` finite trials into `k` groups by the
/// parameter's value (or 50 equal-width bins for continuous / very fine parameters),
/// `SS_b = Σ_g n_g (ȳ_g − ȳ)²`, `SS_t = Σ_i (y_i − ȳ)²`, `MS_w = (SS_t − SS_b)/(n − k)`,
/// `ε² = max(0, (SS_b − (k − 1)·MS_w) / SS_t)`. Plain η² = SS_b/SS_t would credit an irrelevant
/// parameter with about `(k − 1)/(n − 1)`. In declaration order, each in [0, 1]; 0 when the scores
/// do not vary or `n ≤ k`. On TPE trials it is biased towards the parameters TPE concentrated on.
pub fn param_importance(space: &ParamSpace, records: &[TrialRecord]) -> Vec<(String, f64)> {
    let ok: Vec<&TrialRecord> = records
        .iter()
        .filter(|r| r.trial.score.is_finite())
        .collect();
    let n = ok.len() as f64;
    let mean = ok.iter().map(|r| r.trial.score).sum::<f64>() / n.max(1.0);
    let total: f64 = ok.iter().map(|r| (r.trial.score - mean).powi(2)).sum();
    space
        .params()
        .iter()
        .enumerate()
        .map(|(j, p)| {
            if total <= 0.0 || ok.is_empty() {
                return (p.name.clone(), 0.0);
            }
            let axis = Axis::of(&p.name, &p.spec);
            let mut s = vec![0.0; axis.values.len()];
            let mut c = vec![0.0; axis.values.len()];
            for r in &ok {
                if let Some(g) = r
                    .point
                    .values()
                    .get(j)
                    .and_then(|&x| axis.position(&p.spec, x))
                {
                    s[g] += r.trial.score;
                    c[g] += 1.0;
                }
            }
            let between: f64 = s
                .iter()
                .zip(&c)
                .filter(|(_, c)| **c > 0.0)
                .map(|(s, c)| c * (s / c - mean).powi(2))
                .sum();
            let k = c.iter().filter(|c| **c > 0.0).count() as f64;
            if n <= k {
                return (p.name.clone(), 0.0);
            }
            let ms_within = (total - between).max(0.0) / (n - k);
            (
                p.name.clone(),
                ((between - (k - 1.0) * ms_within) / total).clamp(0.0, 1.0),
            )
        })
        .collect()
}
