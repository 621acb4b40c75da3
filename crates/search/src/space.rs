//! Parameter spaces: named integer/float parameters with ranges and steps, constraints between them,
//! and the lazy grid (index ↔ point mapping; the grid is never materialized).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};

/// Relative tolerance used when counting float grid steps (`(hi − lo)/step` up to rounding).
const STEP_EPS: f64 = 1e-9;

/// The range of one parameter. Values are `lo, lo+step, …, ≤ hi` (both ends inclusive when `hi − lo`
/// is a multiple of `step`). A `Float` with `step == 0` is continuous (random/TPE only, no grid).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ParamSpec {
    /// Integer parameter `lo..=hi` by `step` (step ≥ 1).
    Int {
        /// Lowest value.
        lo: i64,
        /// Highest value (inclusive).
        hi: i64,
        /// Step between grid values (≥ 1).
        step: i64,
    },
    /// Float parameter `[lo, hi]` by `step` (`step > 0`), or continuous when `step == 0`.
    Float {
        /// Lowest value.
        lo: f64,
        /// Highest value (inclusive).
        hi: f64,
        /// Step between grid values; 0 = continuous.
        step: f64,
    },
}

impl ParamSpec {
    /// Checks bounds and step; `name` is used in the error message.
    pub fn validate(&self, name: &str) -> Result<()> {
        let bad = |reason: String| SearchError::InvalidParam {
            name: name.to_string(),
            reason,
        };
        match *self {
            ParamSpec::Int { lo, hi, step } => {
                if lo > hi {
                    return Err(bad(format!("lower bound {lo} is above upper bound {hi}")));
                }
                if step < 1 {
                    return Err(bad(format!("integer step must be ≥ 1, got {step}")));
                }
            }
            ParamSpec::Float { lo, hi, step } => {
                if !lo.is_finite() || !hi.is_finite() || !step.is_finite() {
                    return Err(bad("bounds and step must be finite".to_string()));
                }
                if lo > hi {
                    return Err(bad(format!("lower bound {lo} is above upper bound {hi}")));
                }
                if step < 0.0 {
                    return Err(bad(format!(
                        "step must be ≥ 0 (0 = continuous), got {step}"
                    )));
                }
                if step == 0.0 && lo == hi {
                    return Err(bad(format!(
                        "a continuous range needs lo < hi; for a fixed value write `{name}={lo}`"
                    )));
                }
                if step > 0.0 && (hi - lo) / step > 1e15 {
                    return Err(bad(format!("step {step} is too small for [{lo}, {hi}]")));
                }
            }
        }
        Ok(())
    }

    /// Number of grid values, or `None` for a continuous float.
    pub fn grid_len(&self) -> Option<u64> {
        match *self {
            ParamSpec::Int { lo, hi, step } => {
                let span = i128::from(hi) - i128::from(lo);
                u64::try_from(span / i128::from(step.max(1)) + 1).ok()
            }
            ParamSpec::Float { lo, hi, step } => {
                if step > 0.0 {
                    // Validated: (hi − lo)/step ≤ 1e15, so the cast is exact enough and in range.
                    Some(((hi - lo) / step * (1.0 + STEP_EPS) + STEP_EPS).floor() as u64 + 1)
                } else {
                    None
                }
            }
        }
    }

    /// The `k`-th grid value (`lo + k·step`); for a continuous float, `lo`. Float values are
    /// rounded to the decimals of `lo` and `step` (up to 12), so `0.1:1:0.1` yields exactly the
    /// doubles `0.1, 0.2, 0.3, …` rather than `0.30000000000000004`.
    pub fn grid_value(&self, k: u64) -> f64 {
        match *self {
            ParamSpec::Int { lo, step, .. } => {
                (i128::from(lo) + i128::from(k) * i128::from(step)) as f64
            }
            ParamSpec::Float { lo, hi, step } => {
                if step > 0.0 {
                    let v = lo + k as f64 * step;
                    let v = match (decimals(lo), decimals(step)) {
                        (Some(a), Some(b)) => {
                            let scale = 10f64.powi(a.max(b));
                            (v * scale).round() / scale
                        }
                        _ => v,
                    };
                    v.min(hi)
                } else {
                    lo
                }
            }
        }
    }

    /// All grid values in order (empty for a continuous float): the distinct values a caller
    /// precomputes an indicator for once and shares across trials.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.grid_len().unwrap_or(0)).map(|k| self.grid_value(k))
    }

    /// Lower and upper bound as floats.
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            ParamSpec::Int { lo, hi, .. } => (lo as f64, hi as f64),
            ParamSpec::Float { lo, hi, .. } => (lo, hi),
        }
    }

    /// Highest value actually on the grid (`lo + (len−1)·step`); `hi` for a continuous float.
    pub fn grid_max(&self) -> f64 {
        match self.grid_len() {
            Some(n) => self.grid_value(n.saturating_sub(1)),
            None => self.bounds().1,
        }
    }

    /// Step as a float (0 = continuous).
    pub fn step(&self) -> f64 {
        match *self {
            ParamSpec::Int { step, .. } => step as f64,
            ParamSpec::Float { step, .. } => step,
        }
    }

    /// True for integer parameters.
    pub fn is_integer(&self) -> bool {
        matches!(self, ParamSpec::Int { .. })
    }

    /// Rounds `x` to the nearest grid value and clamps it into range (continuous: clamp only).
    pub fn snap(&self, x: f64) -> f64 {
        let (lo, _) = self.bounds();
        let top = self.grid_max();
        let step = self.step();
        if step > 0.0 {
            let k = ((x - lo) / step).round().max(0.0);
            let n = self.grid_len().unwrap_or(1).saturating_sub(1) as f64;
            self.grid_value(k.min(n) as u64)
        } else {
            x.clamp(lo, top)
        }
    }

    /// Grid position of `x` if `x` is (within 1e-9 of a step) a grid value.
    pub fn grid_position(&self, x: f64) -> Option<u64> {
        let (lo, _) = self.bounds();
        let step = self.step();
        let n = self.grid_len()?;
        let k = ((x - lo) / step).round();
        if k < 0.0 || k >= n as f64 {
            return None;
        }
        let k = k as u64;
        let v = self.grid_value(k);
        ((v - x).abs() <= 1e-9 * step.max(v.abs())).then_some(k)
    }
}

/// Smallest number of decimals `d ≤ 12` with `x·10^d` an integer (to 1e-9 relative), if any.
fn decimals(x: f64) -> Option<i32> {
    let mut scaled = x;
    for d in 0..=12 {
        if (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs().max(1.0) {
            return Some(d);
        }
        scaled *= 10.0;
    }
    None
}

/// A named parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Name (as used in `name=lo:hi:step` and in constraints).
    pub name: String,
    /// Range and step.
    pub spec: ParamSpec,
}

/// Comparison of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    /// Strictly less than.
    Lt,
    /// Less than or equal.
    Le,
}

/// A constraint `left < right` or `left <= right` between two parameters (`a > b` is stored as `b < a`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// Left-hand parameter name.
    pub left: String,
    /// Comparison.
    pub op: CmpOp,
    /// Right-hand parameter name.
    pub right: String,
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        };
        write!(f, "{} {} {}", self.left, op, self.right)
    }
}

impl Constraint {
    /// Parses `a < b`, `a <= b`, `a > b`, `a >= b` (whitespace optional).
    pub fn parse(input: &str) -> Result<Constraint> {
        let err = |reason: &str| SearchError::ConstraintSyntax {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let (pos, token) = ["<=", ">=", "<", ">"]
            .iter()
            .filter_map(|t| input.find(t).map(|p| (p, *t)))
            .min_by_key(|(p, t)| (*p, usize::MAX - t.len()))
            .ok_or_else(|| err("expected `a < b`, `a <= b`, `a > b` or `a >= b`"))?;
        let a = input[..pos].trim();
        let b = input[pos + token.len()..].trim();
        for side in [a, b] {
            if !is_identifier(side) {
                return Err(err(&format!("`{side}` is not a parameter name")));
            }
        }
        let (left, right, op) = match token {
            "<" => (a, b, CmpOp::Lt),
            "<=" => (a, b, CmpOp::Le),
            ">" => (b, a, CmpOp::Lt),
            _ => (b, a, CmpOp::Le),
        };
        Ok(Constraint {
            left: left.to_string(),
            op,
            right: right.to_string(),
        })
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-')
}

/// Parses a CLI parameter `name=lo:hi:step` (`rsi_high=60:85:1` → `Int`, `bbands_k=1.5:2.5:0.25` →
/// `Float`; `name=lo:hi` is a continuous float; `name=v` is fixed at `v`; a value containing `.`,
/// `e` or `E` makes it float).
pub fn parse_param(input: &str) -> Result<Param> {
    let err = |reason: &str| SearchError::ParamSyntax {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let (name, range) = input
        .split_once('=')
        .ok_or_else(|| err("expected `name=lo:hi:step`"))?;
    let name = name.trim();
    if !is_identifier(name) {
        return Err(err(&format!("`{name}` is not a valid parameter name")));
    }
    let mut parts: Vec<&str> = range.split(':').map(str::trim).collect();
    if parts.len() == 1 {
        // A fixed value `name=v`: a one-point range.
        let v = parts[0];
        parts = vec![
            v,
            v,
            if v.contains(['.', 'e', 'E']) {
                "1.0"
            } else {
                "1"
            },
        ];
    }
    if !(2..=3).contains(&parts.len()) {
        return Err(err(
            "expected `lo:hi:step` (or `lo:hi` for a continuous float)",
        ));
    }
    let is_float = parts.len() == 2 || parts.iter().any(|p| p.contains(['.', 'e', 'E']));
    let spec = if is_float {
        let mut v = [0.0f64; 3];
        for (slot, (part, what)) in v.iter_mut().zip(parts.iter().zip(["lo", "hi", "step"])) {
            *slot = part
                .parse::<f64>()
                .map_err(|_| err(&format!("{what} `{part}` is not a number")))?;
        }
        ParamSpec::Float {
            lo: v[0],
            hi: v[1],
            step: v[2],
        }
    } else {
        let mut v = [0i64; 3];
        for (slot, (part, what)) in v.iter_mut().zip(parts.iter().zip(["lo", "hi", "step"])) {
            *slot = part
                .parse::<i64>()
                .map_err(|_| err(&format!("{what} `{part}` is not an integer")))?;
        }
        ParamSpec::Int {
            lo: v[0],
            hi: v[1],
            step: v[2],
        }
    };
    spec.validate(name)?;
    Ok(Param {
        name: name.to_string(),
        spec,
    })
}

/// A point of a space: one value per parameter (integers are exact in the f64), in declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    names: Arc<[String]>,
    values: Vec<f64>,
}

impl Point {
    /// Value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i).copied())
    }

    /// Value of parameter `name` as an integer (rounded; for `Int` parameters it is exact).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).map(|v| v.round() as i64)
    }

    /// Values in declaration order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Parameter names in declaration order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// `(name, value)` pairs in declaration order (what a trial store keeps).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }
}

/// Serialized as a map `{"name": value, …}` in declaration order (read back with
/// [`ParamSpace::point_from_pairs`]).
impl Serialize for Point {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (n, v) in self.pairs() {
            map.serialize_entry(n, &v)?;
        }
        map.end()
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, v)) in self.pairs().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}={v}")?;
        }
        Ok(())
    }
}

/// A parameter space: parameters in declaration order plus constraints.
#[derive(Debug, Clone, Default)]
pub struct ParamSpace {
    params: Vec<Param>,
    names: Arc<[String]>,
    constraints: Vec<Constraint>,
    constraint_idx: Vec<(usize, CmpOp, usize)>,
}

impl ParamSpace {
    /// An empty space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a space from CLI strings: parameters `name=lo:hi:step` and constraints `a < b`.
    pub fn parse<P: AsRef<str>, C: AsRef<str>>(params: &[P], constraints: &[C]) -> Result<Self> {
        let mut space = ParamSpace::new();
        for p in params {
            space.push(parse_param(p.as_ref())?)?;
        }
        for c in constraints {
            space.add_constraint(c.as_ref())?;
        }
        Ok(space)
    }

    /// Builder form of [`ParamSpace::add_param`].
    pub fn with_param(mut self, name: &str, spec: ParamSpec) -> Result<Self> {
        self.add_param(name, spec)?;
        Ok(self)
    }

    /// Builder form of [`ParamSpace::add_constraint`].
    pub fn with_constraint(mut self, constraint: &str) -> Result<Self> {
        self.add_constraint(constraint)?;
        Ok(self)
    }

    /// Adds a parameter (names must be unique).
    pub fn add_param(&mut self, name: &str, spec: ParamSpec) -> Result<()> {
        spec.validate(name)?;
        self.push(Param {
            name: name.to_string(),
            spec,
        })
    }

    fn push(&mut self, param: Param) -> Result<()> {
        if self.params.iter().any(|p| p.name == param.name) {
            return Err(SearchError::DuplicateParam(param.name));
        }
        self.params.push(param);
        self.names = self.params.iter().map(|p| p.name.clone()).collect();
        Ok(())
    }

    /// Adds a constraint `a < b` / `a <= b` / `a > b` / `a >= b` between declared parameters.
    pub fn add_constraint(&mut self, constraint: &str) -> Result<()> {
        let c = Constraint::parse(constraint)?;
        let find = |name: &str| {
            self.index_of(name)
                .ok_or_else(|| SearchError::UnknownParam {
                    name: name.to_string(),
                    context: format!("constraint `{constraint}`"),
                })
        };
        let l = find(&c.left)?;
        let r = find(&c.right)?;
        self.constraint_idx.push((l, c.op, r));
        self.constraints.push(c);
        Ok(())
    }

    /// Parameters in declaration order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Constraints in declaration order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Parameter names in declaration order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Position of parameter `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// True when `values` (declaration order) satisfy every constraint.
    pub fn is_feasible(&self, values: &[f64]) -> bool {
        self.constraint_idx
            .iter()
            .all(|&(l, op, r)| match (values.get(l), values.get(r)) {
                (Some(a), Some(b)) => match op {
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                },
                _ => false,
            })
    }

    /// Number of grid points before constraints (product of the parameters' grid lengths).
    /// Errors for an empty space, a continuous parameter, or a product above `u64::MAX`.
    pub fn grid_size(&self) -> Result<u64> {
        if self.params.is_empty() {
            return Err(SearchError::InvalidSpace("no parameters".to_string()));
        }
        let mut n: u64 = 1;
        for p in &self.params {
            let len = p.spec.grid_len().ok_or_else(|| {
                SearchError::InvalidSpace(format!(
                    "parameter `{}` is continuous (step 0): a grid needs a step",
                    p.name
                ))
            })?;
            n = n.checked_mul(len).ok_or_else(|| {
                SearchError::InvalidSpace("grid has more than 2^64 points".to_string())
            })?;
        }
        Ok(n)
    }

    /// Grid values of point number `index` (mixed radix, the last parameter varies fastest), written
    /// into `out`; false when `index` is past the grid. Does not check constraints.
    pub fn grid_values_into(&self, index: u64, out: &mut Vec<f64>) -> bool {
        out.clear();
        out.resize(self.params.len(), 0.0);
        let mut rest = index;
        for (slot, p) in out.iter_mut().zip(&self.params).rev() {
            let Some(len) = p.spec.grid_len() else {
                return false;
            };
            *slot = p.spec.grid_value(rest % len);
            rest /= len;
        }
        rest == 0 && !self.params.is_empty()
    }

    /// Point number `index` of the grid (ignoring constraints), or `None` past the end.
    pub fn grid_point(&self, index: u64) -> Option<Point> {
        let mut v = Vec::with_capacity(self.params.len());
        self.grid_values_into(index, &mut v)
            .then(|| self.make_point(v))
    }

    /// Grid index of a point whose values are all on their grids.
    pub fn grid_index(&self, point: &Point) -> Option<u64> {
        let mut index: u64 = 0;
        for (p, &v) in self.params.iter().zip(point.values()) {
            let len = p.spec.grid_len()?;
            index = index
                .checked_mul(len)?
                .checked_add(p.spec.grid_position(v)?)?;
        }
        Some(index)
    }

    /// Lazy iterator over the feasible grid points `(index, point)` in index order, starting at
    /// index `start`. Memory is O(number of parameters) whatever the grid size.
    pub fn grid_from(&self, start: u64) -> Result<GridIter<'_>> {
        let end = self.grid_size()?;
        let next = start.min(end);
        let lens: Vec<u64> = self
            .params
            .iter()
            .map(|p| p.spec.grid_len().unwrap_or(1))
            .collect();
        let mut digits = vec![0u64; lens.len()];
        let mut rest = next;
        for (d, len) in digits.iter_mut().zip(&lens).rev() {
            *d = rest % len;
            rest /= len;
        }
        let buf = self
            .params
            .iter()
            .zip(&digits)
            .map(|(p, &d)| p.spec.grid_value(d))
            .collect();
        Ok(GridIter {
            space: self,
            next,
            end,
            lens,
            digits,
            buf,
        })
    }

    /// Lazy iterator over all feasible grid points, see [`ParamSpace::grid_from`].
    pub fn grid(&self) -> Result<GridIter<'_>> {
        self.grid_from(0)
    }

    /// Builds a point from values in declaration order; each must be finite and within bounds.
    pub fn point(&self, values: Vec<f64>) -> Result<Point> {
        if values.len() != self.params.len() {
            return Err(SearchError::InvalidSpace(format!(
                "point has {} values, space has {} parameters",
                values.len(),
                self.params.len()
            )));
        }
        for (p, v) in self.params.iter().zip(&values) {
            let (lo, hi) = p.spec.bounds();
            if !v.is_finite()
                || *v < lo - 1e-9 * lo.abs().max(1.0)
                || *v > hi + 1e-9 * hi.abs().max(1.0)
            {
                return Err(SearchError::InvalidParam {
                    name: p.name.clone(),
                    reason: format!("value {v} is outside [{lo}, {hi}]"),
                });
            }
        }
        Ok(self.make_point(values))
    }

    /// Builds a point from `(name, value)` pairs (any order, every parameter exactly once), e.g. a
    /// trial read back from a store.
    pub fn point_from_pairs<S: AsRef<str>>(&self, pairs: &[(S, f64)]) -> Result<Point> {
        let mut values = vec![f64::NAN; self.params.len()];
        for (name, v) in pairs {
            let i = self
                .index_of(name.as_ref())
                .ok_or_else(|| SearchError::UnknownParam {
                    name: name.as_ref().to_string(),
                    context: "stored trial".to_string(),
                })?;
            values[i] = *v;
        }
        if let Some(p) = self.params.iter().zip(&values).find(|(_, v)| v.is_nan()) {
            return Err(SearchError::InvalidParam {
                name: p.0.name.clone(),
                reason: "missing from stored trial".to_string(),
            });
        }
        self.point(values)
    }

    pub(crate) fn make_point(&self, values: Vec<f64>) -> Point {
        Point {
            names: Arc::clone(&self.names),
            values,
        }
    }
}

/// Lazy iterator over the feasible grid points `(index, point)`, see [`ParamSpace::grid_from`].
#[derive(Debug)]
pub struct GridIter<'a> {
    space: &'a ParamSpace,
    next: u64,
    end: u64,
    /// Grid length of each parameter.
    lens: Vec<u64>,
    /// Mixed-radix digits of `next` (an odometer: advancing costs O(1) amortized).
    digits: Vec<u64>,
    /// Values of `next`.
    buf: Vec<f64>,
}

impl GridIter<'_> {
    /// Next grid index this iterator will examine.
    pub fn position(&self) -> u64 {
        self.next
    }
}

impl Iterator for GridIter<'_> {
    type Item = (u64, Point);

    fn next(&mut self) -> Option<(u64, Point)> {
        while self.next < self.end {
            let i = self.next;
            let hit = self
                .space
                .is_feasible(&self.buf)
                .then(|| self.space.make_point(self.buf.clone()));
            // Advance the odometer: last parameter fastest.
            self.next += 1;
            for j in (0..self.digits.len()).rev() {
                self.digits[j] += 1;
                if self.digits[j] < self.lens[j] {
                    self.buf[j] = self.space.params[j].spec.grid_value(self.digits[j]);
                    break;
                }
                self.digits[j] = 0;
                self.buf[j] = self.space.params[j].spec.grid_value(0);
            }
            if let Some(p) = hit {
                return Some((i, p));
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (0, usize::try_from(left).ok())
    }
}
