//! Mean-variance optimization solved with the Clarabel interior-point conic solver.
//!
//! Weights are fractions of capital summing to 1. Expected returns `mu` are annual fractions,
//! `cov` an annualized covariance matrix, volatilities annual fractions. Objectives and
//! constraints follow PyPortfolioOpt's `EfficientFrontier`:
//!
//! | objective | problem |
//! |---|---|
//! | [`Objective::MinVolatility`] | min wᵀΣw + γ‖w‖² |
//! | [`Objective::MaxSharpe`] | min yᵀΣy + γ‖y‖² s.t. (μ−rf)ᵀy = 1, Σy = κ ≥ 0, constraints scaled by κ; w = y/κ |
//! | [`Objective::EfficientRisk`] | max μᵀw − γ‖w‖² s.t. ‖Fw‖ ≤ σ* (second-order cone, FᵀF = Σ) |
//! | [`Objective::EfficientReturn`] | min wᵀΣw + γ‖w‖² s.t. μᵀw ≥ r* |
//! | [`Objective::MaxQuadraticUtility`] | max μᵀw − δ/2·wᵀΣw − γ‖w‖² |
//!
//! Every problem has Σw = 1, `lower ≤ w ≤ upper`, group caps `lo_g ≤ Σ_{i∈g} w_i ≤ hi_g`, and
//! optionally a turnover limit Σ|w − w0| ≤ τ written with auxiliary variables u ≥ ±(w − w0).
//!
//! Solvers ([`MvoSolver`]): the common "budget + box" problems — min volatility, max quadratic
//! utility and max Sharpe with per-asset bounds only (caps, floors, shorts; L2 allowed) — are
//! solved exactly by a primal active-set method on the free assets (`active_set`; long-only
//! uncapped max Sharpe through y = w/κ, any other box through the parametric QP
//! min wᵀΣw − λμᵀw at its tangency λ), whose answer is certified by a KKT check (stationarity,
//! dual feasibility, primal feasibility to 1e-10 relative). Group caps, turnover limits,
//! efficient risk/return (except efficient risk's min-volatility feasibility bound), and any
//! answer that fails the check go to Clarabel at 1e-10 tolerances.

use crate::active_set::{BoxQp, budget_start, max_sharpe_box};
use crate::data::{check_cov, check_vec};
use crate::error::{OptimizeError, Result};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// A cap (and optional floor) on the total weight of a group of assets (sector, asset class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupConstraint {
    /// Group name, for messages ("bond").
    pub name: String,
    /// Asset indices (columns) in the group.
    pub members: Vec<usize>,
    /// Minimum total weight (fraction), if any.
    pub lower: Option<f64>,
    /// Maximum total weight (fraction), if any (e.g. 0.30).
    pub upper: Option<f64>,
}

/// A limit on the one-way-summed turnover Σ|w − w0| against current weights w0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnoverLimit {
    /// Current weights w0 (fractions, one per asset).
    pub current: Vec<f64>,
    /// Maximum Σ|w_i − w0_i| (fraction; 0.2 = 20 % of capital traded in total).
    pub max_turnover: f64,
}

/// Portfolio constraints shared by all mean-variance objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Per-asset minimum weight (fraction; 0 = long only, negative allows shorts).
    pub lower: Vec<f64>,
    /// Per-asset maximum weight (fraction; the per-asset cap, e.g. 0.3).
    pub upper: Vec<f64>,
    /// Group (sector/asset-class) constraints.
    pub groups: Vec<GroupConstraint>,
    /// L2 regularization γ (adds γ‖w‖² to the objective; 0 = none).
    pub l2_gamma: f64,
    /// Optional turnover limit against current weights.
    pub turnover: Option<TurnoverLimit>,
}

impl Constraints {
    /// Long-only, fully invested, no cap: 0 ≤ w_i ≤ 1 for `n` assets.
    pub fn long_only(n: usize) -> Self {
        Self::bounds(n, 0.0, 1.0)
    }

    /// The same bounds `lower ≤ w_i ≤ upper` for all `n` assets (PyPortfolioOpt `weight_bounds`).
    pub fn bounds(n: usize, lower: f64, upper: f64) -> Self {
        Constraints {
            lower: vec![lower; n],
            upper: vec![upper; n],
            groups: vec![],
            l2_gamma: 0.0,
            turnover: None,
        }
    }

    /// Cap every asset's weight at `cap` (fraction), keeping the lower bounds.
    pub fn with_max_weight(mut self, cap: f64) -> Self {
        for u in &mut self.upper {
            *u = u.min(cap);
        }
        self
    }

    /// Add a group cap `Σ_{i∈members} w_i ≤ upper`.
    pub fn with_group_cap(
        mut self,
        name: impl Into<String>,
        members: Vec<usize>,
        upper: f64,
    ) -> Self {
        self.groups.push(GroupConstraint {
            name: name.into(),
            members,
            lower: None,
            upper: Some(upper),
        });
        self
    }

    /// Set the L2 regularization γ.
    pub fn with_l2(mut self, gamma: f64) -> Self {
        self.l2_gamma = gamma;
        self
    }

    /// Limit turnover Σ|w − current| ≤ `max_turnover`.
    pub fn with_turnover(mut self, current: Vec<f64>, max_turnover: f64) -> Self {
        self.turnover = Some(TurnoverLimit {
            current,
            max_turnover,
        });
        self
    }

    fn validate(&self, n: usize) -> Result<()> {
        if self.lower.len() != n {
            return Err(OptimizeError::Shape {
                what: "lower bounds",
                expected: n,
                got: self.lower.len(),
            });
        }
        if self.upper.len() != n {
            return Err(OptimizeError::Shape {
                what: "upper bounds",
                expected: n,
                got: self.upper.len(),
            });
        }
        for i in 0..n {
            let (lo, hi) = (self.lower[i], self.upper[i]);
            if !lo.is_finite() || !hi.is_finite() {
                return Err(OptimizeError::InvalidValue {
                    what: "weight bounds",
                    row: i,
                    col: 0,
                    value: if lo.is_finite() { hi } else { lo },
                });
            }
            if lo > hi {
                return Err(OptimizeError::InfeasibleConstraints(format!(
                    "asset {i}: lower bound {lo} exceeds upper bound {hi}"
                )));
            }
        }
        let slo: f64 = self.lower.iter().sum();
        let shi: f64 = self.upper.iter().sum();
        if slo > 1.0 + 1e-12 {
            return Err(OptimizeError::InfeasibleConstraints(format!(
                "the lower bounds sum to {slo:.4} > 1"
            )));
        }
        if shi < 1.0 - 1e-12 {
            return Err(OptimizeError::InfeasibleConstraints(format!(
                "the upper bounds sum to {shi:.4} < 1"
            )));
        }
        for g in &self.groups {
            for &m in &g.members {
                if m >= n {
                    return Err(OptimizeError::Shape {
                        what: "group member index",
                        expected: n,
                        got: m,
                    });
                }
            }
            for v in [g.lower, g.upper].into_iter().flatten() {
                if !v.is_finite() {
                    return Err(OptimizeError::InvalidParameter {
                        name: "group bound",
                        value: v,
                        reason: "must be finite",
                    });
                }
            }
        }
        if !(self.l2_gamma.is_finite() && self.l2_gamma >= 0.0) {
            return Err(OptimizeError::InvalidParameter {
                name: "l2_gamma",
                value: self.l2_gamma,
                reason: "must be ≥ 0",
            });
        }
        if let Some(t) = &self.turnover {
            check_vec("current weights", &DVector::from_vec(t.current.clone()), n)?;
            if !(t.max_turnover.is_finite() && t.max_turnover >= 0.0) {
                return Err(OptimizeError::InvalidParameter {
                    name: "max_turnover",
                    value: t.max_turnover,
                    reason: "must be ≥ 0",
                });
            }
        }
        Ok(())
    }
}

/// A mean-variance objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Objective {
    /// Minimum volatility (global minimum variance under the constraints).
    MinVolatility,
    /// Maximum Sharpe ratio (tangency portfolio) with annual risk-free rate `rf` (fraction).
    MaxSharpe {
        /// Annual risk-free rate (fraction).
        rf: f64,
    },
    /// Maximum return with annual volatility ≤ `target_volatility` (fraction).
    EfficientRisk {
        /// Annual volatility target (fraction).
        target_volatility: f64,
    },
    /// Minimum volatility with annual expected return ≥ `target_return` (fraction).
    EfficientReturn {
        /// Annual return target (fraction).
        target_return: f64,
    },
    /// Maximum quadratic utility μᵀw − δ/2·wᵀΣw.
    MaxQuadraticUtility {
        /// Risk aversion δ (> 0).
        risk_aversion: f64,
    },
}

/// The solver's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MvoSolution {
    /// Optimal weights (fractions summing to 1), in the covariance matrix's asset order.
    pub weights: DVector<f64>,
    /// Final status: "Solved" (active set, KKT-certified, or Clarabel) or "AlmostSolved" (Clarabel).
    pub status: String,
    /// Iterations used: active-set iterations, or Clarabel interior-point iterations (summed
    /// over auxiliary solves).
    pub iterations: u32,
}

/// Which solver [`optimize_mvo_with`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MvoSolver {
    /// The exact active-set solver for "budget + box" problems when its KKT check passes,
    /// Clarabel otherwise (what [`optimize_mvo`] does).
    Auto,
    /// Always Clarabel (interior point, 1e-10 tolerances).
    Clarabel,
    /// Only the active-set solver: [`OptimizeError::Solver`] when the problem has group caps
    /// or a turnover limit, the objective is efficient risk/return, or the answer cannot be
    /// certified.
    ActiveSet,
}

/// True when the constraints are per-asset bounds only (plus the budget and L2).
fn box_only(c: &Constraints) -> bool {
    c.groups.is_empty() && c.turnover.is_none()
}

/// Run the active-set solver and certify its answer; `None` = use Clarabel.
fn try_active_set(qp: &BoxQp, x0: Vec<f64>, free0: Vec<usize>) -> Option<MvoSolution> {
    let (x, free, iterations) = qp.solve(x0, free0)?;
    if !qp.kkt_residuals(&x, &free).ok() {
        return None;
    }
    Some(MvoSolution {
        weights: x,
        status: "Solved".to_string(),
        iterations,
    })
}

fn active_set_unavailable(problem: &'static str) -> OptimizeError {
    OptimizeError::Solver {
        problem,
        status: "the active-set solver does not apply to these constraints or could not certify its answer (KKT check)".to_string(),
    }
}

/// Solve a mean-variance problem. `mu` (annual expected returns) is required for every
/// objective except [`Objective::MinVolatility`]. Infeasible targets give
/// [`OptimizeError::InfeasibleTarget`] stating the feasible range.
pub fn optimize_mvo(
    mu: Option<&DVector<f64>>,
    cov: &DMatrix<f64>,
    objective: &Objective,
    constraints: &Constraints,
) -> Result<MvoSolution> {
    optimize_mvo_with(mu, cov, objective, constraints, MvoSolver::Auto)
}

/// [`optimize_mvo`] with an explicit solver choice (e.g. `MvoSolver::Clarabel` to cross-check
/// the active-set answer).
pub fn optimize_mvo_with(
    mu: Option<&DVector<f64>>,
    cov: &DMatrix<f64>,
    objective: &Objective,
    constraints: &Constraints,
    solver: MvoSolver,
) -> Result<MvoSolution> {
    let n = check_cov(cov)?;
    constraints.validate(n)?;
    let need_mu = !matches!(objective, Objective::MinVolatility);
    let mu = match mu {
        Some(m) => {
            check_vec("expected returns", m, n)?;
            Some(m)
        }
        None if need_mu => {
            return Err(OptimizeError::InvalidParameter {
                name: "expected returns",
                value: f64::NAN,
                reason: "required by this objective",
            });
        }
        None => None,
    };
    let mu_or_zero = || mu.cloned().unwrap_or_else(|| DVector::zeros(n));
    let try_fast = solver != MvoSolver::Clarabel;
    let only_fast = solver == MvoSolver::ActiveSet;
    let ones = vec![1.0; n];
    let gamma = constraints.l2_gamma;
    match *objective {
        Objective::MinVolatility => {
            if try_fast && box_only(constraints) {
                let qp = BoxQp {
                    cov,
                    scale: 2.0,
                    shift: 2.0 * gamma,
                    c: None,
                    a: &ones,
                    b: 1.0,
                    lower: &constraints.lower,
                    upper: &constraints.upper,
                };
                let cost: Vec<f64> = (0..n).map(|i| cov[(i, i)]).collect();
                let (x0, free0) = budget_start(&constraints.lower, &constraints.upper, 1.0, &cost);
                if let Some(sol) = try_active_set(&qp, x0, free0) {
                    return Ok(sol);
                }
            }
            if only_fast {
                return Err(active_set_unavailable("min volatility"));
            }
            let p = Problem::new(n, constraints, false);
            p.solve(
                cov,
                constraints.l2_gamma,
                2.0,
                None,
                None,
                None,
                "min volatility",
            )
        }
        Objective::MaxSharpe { rf } => {
            let m = mu_or_zero();
            if !rf.is_finite() {
                return Err(OptimizeError::InvalidParameter {
                    name: "rf",
                    value: rf,
                    reason: "must be finite",
                });
            }
            let max_return = m.max();
            if max_return <= rf {
                return Err(OptimizeError::NoExcessReturn { rf, max_return });
            }
            let excess = m.add_scalar(-rf);
            let long_uncapped = constraints.lower.iter().all(|&l| l == 0.0)
                && constraints.upper.iter().all(|&u| u >= 1.0);
            if try_fast && box_only(constraints) && long_uncapped {
                // min yᵀΣy + γ‖y‖² s.t. (μ−rf)ᵀy = 1, y ≥ 0; w = y/Σy (y ≤ κ is implied).
                let zeros = vec![0.0; n];
                let inf = vec![f64::INFINITY; n];
                let qp = BoxQp {
                    cov,
                    scale: 2.0,
                    shift: 2.0 * gamma,
                    c: None,
                    a: excess.as_slice(),
                    b: 1.0,
                    lower: &zeros,
                    upper: &inf,
                };
                // Start from the asset with the best stand-alone Sharpe ratio.
                let start = (0..n)
                    .filter(|&i| excess[i] > 0.0 && cov[(i, i)] + gamma > 0.0)
                    .max_by(|&i, &j| {
                        let si = excess[i] / (cov[(i, i)] + gamma).sqrt();
                        let sj = excess[j] / (cov[(j, j)] + gamma).sqrt();
                        si.total_cmp(&sj)
                    });
                if let Some(j) = start {
                    let mut y0 = zeros.clone();
                    y0[j] = 1.0 / excess[j];
                    if let Some(mut sol) = try_active_set(&qp, y0, vec![j]) {
                        let kappa = sol.weights.sum();
                        if kappa.is_finite() && kappa > 0.0 {
                            sol.weights /= kappa;
                            return Ok(sol);
                        }
                    }
                }
            }
            if try_fast
                && box_only(constraints)
                && !long_uncapped
                && let Some((w, iterations)) =
                    max_sharpe_box(cov, gamma, &excess, &constraints.lower, &constraints.upper)
            {
                return Ok(MvoSolution {
                    weights: w,
                    status: "Solved".to_string(),
                    iterations,
                });
            }
            if only_fast {
                return Err(active_set_unavailable("max Sharpe"));
            }
            let p = Problem::new(n, constraints, true);
            let mut sol = p.solve(
                cov,
                constraints.l2_gamma,
                2.0,
                None,
                Some(&excess),
                None,
                "max Sharpe",
            )?;
            let kappa = sol.weights.sum();
            if !(kappa.is_finite() && kappa > 0.0) {
                return Err(OptimizeError::Solver {
                    problem: "max Sharpe",
                    status: format!("scale κ = {kappa}"),
                });
            }
            sol.weights /= kappa;
            Ok(sol)
        }
        Objective::EfficientRisk { target_volatility } => {
            if only_fast {
                return Err(active_set_unavailable("efficient risk"));
            }
            let m = mu_or_zero();
            if !(target_volatility.is_finite() && target_volatility > 0.0) {
                return Err(OptimizeError::InvalidParameter {
                    name: "target_volatility",
                    value: target_volatility,
                    reason: "must be > 0",
                });
            }
            // The feasibility bound: min volatility without L2 (active set when it applies).
            let mut no_l2 = constraints.clone();
            no_l2.l2_gamma = 0.0;
            let mv = optimize_mvo_with(None, cov, &Objective::MinVolatility, &no_l2, solver)?;
            let p = Problem::new(n, constraints, false);
            let min_vol = mv.weights.dot(&(cov * &mv.weights)).max(0.0).sqrt();
            if target_volatility < min_vol * (1.0 - 1e-7) {
                return Err(OptimizeError::InfeasibleTarget(format!(
                    "minimum volatility is {min_vol:.3}; target {target_volatility:.3} is below it (feasible targets: ≥ {min_vol:.4})"
                )));
            }
            let q = -m;
            let mut sol = p.solve(
                cov,
                constraints.l2_gamma,
                0.0,
                Some(&q),
                None,
                Some(target_volatility),
                "efficient risk",
            )?;
            sol.iterations += mv.iterations;
            Ok(sol)
        }
        Objective::EfficientReturn { target_return } => {
            if only_fast {
                return Err(active_set_unavailable("efficient return"));
            }
            let m = mu_or_zero();
            if !target_return.is_finite() {
                return Err(OptimizeError::InvalidParameter {
                    name: "target_return",
                    value: target_return,
                    reason: "must be finite",
                });
            }
            let p = Problem::new(n, constraints, false);
            let q = -m.clone();
            let mr = p.solve(
                cov,
                0.0,
                0.0,
                Some(&q),
                None,
                None,
                "max return (feasibility of the target)",
            )?;
            let max_ret = m.dot(&mr.weights);
            if target_return > max_ret + 1e-9 * max_ret.abs().max(1.0) {
                return Err(OptimizeError::InfeasibleTarget(format!(
                    "maximum expected return is {max_ret:.3}; target {target_return:.3} is above it (feasible targets: ≤ {max_ret:.4})"
                )));
            }
            let p = p.with_min_return(&m, target_return);
            let mut sol = p.solve(
                cov,
                constraints.l2_gamma,
                2.0,
                None,
                None,
                None,
                "efficient return",
            )?;
            sol.iterations += mr.iterations;
            Ok(sol)
        }
        Objective::MaxQuadraticUtility { risk_aversion } => {
            let m = mu_or_zero();
            if !(risk_aversion.is_finite() && risk_aversion > 0.0) {
                return Err(OptimizeError::InvalidParameter {
                    name: "risk_aversion",
                    value: risk_aversion,
                    reason: "must be > 0",
                });
            }
            let q = -m;
            if try_fast && box_only(constraints) {
                let qp = BoxQp {
                    cov,
                    scale: risk_aversion,
                    shift: 2.0 * gamma,
                    c: Some(&q),
                    a: &ones,
                    b: 1.0,
                    lower: &constraints.lower,
                    upper: &constraints.upper,
                };
                // Cheapest first: the unit cost ½δΣ_ii − μ_i of a position.
                let cost: Vec<f64> = (0..n)
                    .map(|i| 0.5 * risk_aversion * cov[(i, i)] + q[i])
                    .collect();
                let (x0, free0) = budget_start(&constraints.lower, &constraints.upper, 1.0, &cost);
                if let Some(sol) = try_active_set(&qp, x0, free0) {
                    return Ok(sol);
                }
            }
            if only_fast {
                return Err(active_set_unavailable("max quadratic utility"));
            }
            let p = Problem::new(n, constraints, false);
            p.solve(
                cov,
                constraints.l2_gamma,
                risk_aversion,
                Some(&q),
                None,
                None,
                "max quadratic utility",
            )
        }
    }
}

/// A linear row `a·x (≤ | =) b` over the full variable vector.
struct Row {
    coefs: Vec<(usize, f64)>,
    rhs: f64,
}

/// Variables: w (0..n), then u (n..2n) if turnover, then κ if homogenized (max Sharpe).
struct Problem {
    n: usize,
    nvar: usize,
    kappa: Option<usize>,
    eq: Vec<Row>,
    le: Vec<Row>,
}

impl Problem {
    fn new(n: usize, c: &Constraints, homogenize: bool) -> Self {
        let has_u = c.turnover.is_some();
        let mut nvar = n + if has_u { n } else { 0 };
        let kappa = if homogenize {
            nvar += 1;
            Some(nvar - 1)
        } else {
            None
        };
        let mut p = Problem {
            n,
            nvar,
            kappa,
            eq: vec![],
            le: vec![],
        };
        // Σw = 1
        p.push_eq((0..n).map(|i| (i, 1.0)).collect(), 1.0);
        for i in 0..n {
            p.push_le(vec![(i, 1.0)], c.upper[i]);
            p.push_le(vec![(i, -1.0)], -c.lower[i]);
        }
        for g in &c.groups {
            if let Some(hi) = g.upper {
                p.push_le(g.members.iter().map(|&m| (m, 1.0)).collect(), hi);
            }
            if let Some(lo) = g.lower {
                p.push_le(g.members.iter().map(|&m| (m, -1.0)).collect(), -lo);
            }
        }
        if let Some(t) = &c.turnover {
            for i in 0..n {
                // w_i − u_i ≤ w0_i ; −w_i − u_i ≤ −w0_i
                p.push_le(vec![(i, 1.0), (n + i, -1.0)], t.current[i]);
                p.push_le(vec![(i, -1.0), (n + i, -1.0)], -t.current[i]);
            }
            p.push_le((0..n).map(|i| (n + i, 1.0)).collect(), t.max_turnover);
        }
        if let Some(k) = kappa {
            // −κ ≤ 0
            p.le.push(Row {
                coefs: vec![(k, -1.0)],
                rhs: 0.0,
            });
        }
        p
    }

    /// Push an equality in w-space with constant `rhs`; homogenized: a·y − rhs·κ = 0.
    fn push_eq(&mut self, mut coefs: Vec<(usize, f64)>, rhs: f64) {
        match self.kappa {
            Some(k) => {
                coefs.push((k, -rhs));
                self.eq.push(Row { coefs, rhs: 0.0 });
            }
            None => self.eq.push(Row { coefs, rhs }),
        }
    }

    fn push_le(&mut self, mut coefs: Vec<(usize, f64)>, rhs: f64) {
        match self.kappa {
            Some(k) => {
                coefs.push((k, -rhs));
                self.le.push(Row { coefs, rhs: 0.0 });
            }
            None => self.le.push(Row { coefs, rhs }),
        }
    }

    fn with_min_return(mut self, mu: &DVector<f64>, target: f64) -> Self {
        // −μᵀw ≤ −target
        self.push_le((0..self.n).map(|i| (i, -mu[i])).collect(), -target);
        self
    }

    /// Solve min ½xᵀPx + qᵀx with P = quad_scale·Σ + 2γI on the w block.
    /// `sharpe_excess`: adds (μ−rf)ᵀy = 1. `soc_vol`: adds ‖Fw‖ ≤ σ.
    #[allow(clippy::too_many_arguments)]
    fn solve(
        &self,
        cov: &DMatrix<f64>,
        gamma: f64,
        quad_scale: f64,
        q_w: Option<&DVector<f64>>,
        sharpe_excess: Option<&DVector<f64>>,
        soc_vol: Option<f64>,
        problem: &'static str,
    ) -> Result<MvoSolution> {
        let n = self.n;
        // P (upper triangle).
        let (mut pi, mut pj, mut pv) = (vec![], vec![], vec![]);
        if quad_scale != 0.0 || gamma != 0.0 {
            for j in 0..n {
                for i in 0..=j {
                    let mut v = quad_scale * cov[(i, j)];
                    if i == j {
                        v += 2.0 * gamma;
                    }
                    if v != 0.0 {
                        pi.push(i);
                        pj.push(j);
                        pv.push(v);
                    }
                }
            }
        }
        let pmat = CscMatrix::new_from_triplets(self.nvar, self.nvar, pi, pj, pv);
        let mut q = vec![0.0; self.nvar];
        if let Some(qw) = q_w {
            q[..n].copy_from_slice(qw.as_slice());
        }
        let (mut ai, mut aj, mut av, mut b) = (vec![], vec![], vec![], vec![]);
        let mut row = 0;
        let mut eqs: Vec<&Row> = self.eq.iter().collect();
        let extra_eq;
        if let Some(ex) = sharpe_excess {
            extra_eq = Row {
                coefs: (0..n).map(|i| (i, ex[i])).collect(),
                rhs: 1.0,
            };
            eqs.push(&extra_eq);
        }
        for r in &eqs {
            for &(c, v) in &r.coefs {
                ai.push(row);
                aj.push(c);
                av.push(v);
            }
            b.push(r.rhs);
            row += 1;
        }
        let n_eq = row;
        for r in &self.le {
            for &(c, v) in &r.coefs {
                ai.push(row);
                aj.push(c);
                av.push(v);
            }
            b.push(r.rhs);
            row += 1;
        }
        let n_le = row - n_eq;
        let mut cones = vec![
            SupportedConeT::ZeroConeT(n_eq),
            SupportedConeT::NonnegativeConeT(n_le),
        ];
        if let Some(sigma) = soc_vol {
            let f = cov_factor(cov);
            // s0 = σ ; s_{1..} = F w  (s = b − A x → A = −F, b = 0)
            b.push(sigma);
            row += 1;
            for r in 0..f.nrows() {
                for c in 0..n {
                    let v = f[(r, c)];
                    if v != 0.0 {
                        ai.push(row);
                        aj.push(c);
                        av.push(-v);
                    }
                }
                b.push(0.0);
                row += 1;
            }
            cones.push(SupportedConeT::SecondOrderConeT(1 + f.nrows()));
        }
        let amat = CscMatrix::new_from_triplets(row, self.nvar, ai, aj, av);
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .tol_gap_abs(1e-10)
            .tol_gap_rel(1e-10)
            .tol_feas(1e-10)
            .max_iter(500)
            .build()
            .map_err(|e| OptimizeError::Solver {
                problem,
                status: format!("settings: {e}"),
            })?;
        let mut solver =
            DefaultSolver::new(&pmat, &q, &amat, &b, &cones, settings).map_err(|e| {
                OptimizeError::Solver {
                    problem,
                    status: format!("setup: {e}"),
                }
            })?;
        solver.solve();
        let status = solver.solution.status;
        match status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => {}
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
                // The homogenized max-Sharpe problem asks for (μ − rf)ᵀy = 1: it is infeasible
                // when no allowed portfolio returns more than rf, even if the bounds are fine.
                let why = if problem == "max Sharpe" {
                    "no portfolio within the bounds, group caps and turnover limit has an expected return above the risk-free rate"
                } else {
                    "no portfolio satisfies the bounds, group caps and turnover limit together"
                };
                return Err(OptimizeError::InfeasibleConstraints(format!(
                    "{problem}: {why}"
                )));
            }
            other => {
                return Err(OptimizeError::Solver {
                    problem,
                    status: format!("{other:?}"),
                });
            }
        }
        let x = &solver.solution.x;
        // Homogenized (max Sharpe) problems return y; the caller divides by κ = Σy.
        let weights = DVector::from_column_slice(&x[..n]);
        Ok(MvoSolution {
            weights,
            status: format!("{status:?}"),
            iterations: solver.solution.iterations,
        })
    }
}

/// A factor F (rows × n) with FᵀF = Σ: Cholesky when Σ is positive definite, otherwise the
/// eigen-factor diag(√λ⁺)Vᵀ.
fn cov_factor(cov: &DMatrix<f64>) -> DMatrix<f64> {
    if let Some(ch) = cov.clone().cholesky() {
        return ch.l().transpose();
    }
    let eig = cov.clone().symmetric_eigen();
    let n = cov.nrows();
    let mut f = eig.eigenvectors.transpose();
    for r in 0..n {
        let s = eig.eigenvalues[r].max(0.0).sqrt();
        for c in 0..n {
            f[(r, c)] *= s;
        }
    }
    f
}
