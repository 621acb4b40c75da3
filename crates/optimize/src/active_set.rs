//! Exact primal active-set solver for the "budget + box" quadratic program
//!
//! ```text
//! min ½ xᵀPx + cᵀx   s.t.   aᵀx = b,   l ≤ x ≤ u        (P = scale·Σ + shift·I)
//! ```
//!
//! which covers long-only / capped min volatility, max quadratic utility and (after the usual
//! change of variables y = w/κ) long-only max Sharpe; max Sharpe over any other box goes
//! through the parametric form [`max_sharpe_box`]. Bounds may be infinite (`u = ∞`).
//!
//! Why not a crate: the Rust QP crates found (`quadprog` 0.0.x, a Goldfarb–Idnani port) work on
//! the full n×n inverse Cholesky factor at every step, i.e. O(n²) per constraint change and O(n³)
//! to start, and are unmaintained; Clarabel (already used for the general case) is an
//! interior-point method whose every iteration factorizes the whole dense n×n KKT system. For
//! portfolios the optimum holds few assets (the FREE set F: those strictly between their
//! bounds), so a primal active-set method that only ever factorizes the |F|×|F| block P_FF costs
//! O(n·|F| + |F|³) per iteration and converges in about |F| iterations.
//!
//! Method (Nocedal & Wright, Numerical Optimization, §16.5, specialised to bounds + one
//! equality): at a feasible x with bound set B (variables fixed at a bound) and free set F,
//! solve the equality-constrained subproblem on F exactly (Cholesky of P_FF, two solves, the
//! budget multiplier ν by elimination). If its minimizer violates a bound, step to the first
//! bound hit and move that variable to B; otherwise take it and compute the bound multipliers
//! z_i = g_i − ν·a_i (g = Px + c) on B: a variable at its lower (upper) bound needs z_i ≥ 0
//! (≤ 0). If one has the wrong sign, the most violated is freed; if none, x is optimal.
//!
//! The answer is then checked independently ([`kkt_residuals`]: gradient recomputed from
//! scratch, stationarity on F, dual feasibility on B, primal feasibility); any failure
//! (P_FF not positive definite, a degenerate step, the iteration cap, KKT residuals above
//! 1e-10 relative) returns `None` and the caller falls back to Clarabel.

use nalgebra::{DMatrix, DVector};

/// Relative tolerance for releasing a bound (multiplier of the wrong sign by more than this
/// fraction of the gradient scale).
const RELEASE_TOL: f64 = 1e-11;
/// Relative tolerance of the final, independent KKT check.
pub(crate) const KKT_TOL: f64 = 1e-10;

/// The QP data: P = `scale`·`cov` + `shift`·I, linear term `c`, budget row `a`ᵀx = `b`,
/// bounds `lower` ≤ x ≤ `upper` (either may be infinite).
pub(crate) struct BoxQp<'a> {
    /// Covariance matrix Σ (n×n, symmetric).
    pub cov: &'a DMatrix<f64>,
    /// Multiplier of Σ in P.
    pub scale: f64,
    /// Diagonal shift of P (2γ for L2 regularization).
    pub shift: f64,
    /// Linear term (None = 0).
    pub c: Option<&'a DVector<f64>>,
    /// Budget row a.
    pub a: &'a [f64],
    /// Budget right-hand side b.
    pub b: f64,
    /// Lower bounds (may be −∞).
    pub lower: &'a [f64],
    /// Upper bounds (may be +∞).
    pub upper: &'a [f64],
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Free,
    Lower,
    Upper,
}

/// KKT residuals of a candidate x, all relative to the gradient scale max(|ν|·max|a|, max|g|).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kkt {
    /// max over free variables of |g_i − ν a_i|.
    pub stationarity: f64,
    /// max over bound variables of the wrong-signed part of z_i = g_i − ν a_i.
    pub dual: f64,
    /// max bound violation and |aᵀx − b| (in x units, relative to max(1, |b|)).
    /// Complementary slackness holds by construction: a variable counted in B sits exactly at
    /// its bound, every other one is held to stationarity.
    pub primal: f64,
}

impl Kkt {
    /// True when every residual is below [`KKT_TOL`].
    pub fn ok(&self) -> bool {
        self.stationarity <= KKT_TOL && self.dual <= KKT_TOL && self.primal <= KKT_TOL
    }
}

impl BoxQp<'_> {
    fn n(&self) -> usize {
        self.a.len()
    }

    fn c_at(&self, i: usize) -> f64 {
        self.c.map_or(0.0, |c| c[i])
    }

    /// `acc += coef · P[:, j]`.
    fn axpy_col(&self, acc: &mut [f64], j: usize, coef: f64) {
        let s = self.scale * coef;
        for (o, v) in acc.iter_mut().zip(self.cov.column(j).iter()) {
            *o += s * v;
        }
        acc[j] += self.shift * coef;
    }

    fn p_at(&self, i: usize, j: usize) -> f64 {
        let v = self.scale * self.cov[(i, j)];
        if i == j { v + self.shift } else { v }
    }

    /// Solve from the feasible start `x0` with free set `free0` (every other variable must sit
    /// exactly at one of its bounds). Returns the optimum, its free set and the iteration
    /// count, or `None` when the method breaks down (P_FF not positive definite, a degenerate
    /// step, the iteration cap); the caller then checks [`BoxQp::kkt_residuals`] or falls back
    /// to Clarabel.
    pub fn solve(
        &self,
        x0: Vec<f64>,
        free0: Vec<usize>,
    ) -> Option<(DVector<f64>, Vec<usize>, u32)> {
        let n = self.n();
        let mut x = x0;
        let mut state = vec![State::Lower; n];
        for i in 0..n {
            state[i] = if x[i] == self.lower[i] {
                State::Lower
            } else if x[i] == self.upper[i] {
                State::Upper
            } else {
                State::Free
            };
        }
        for &i in &free0 {
            state[i] = State::Free;
        }
        let mut free: Vec<usize> = (0..n).filter(|&i| state[i] == State::Free).collect();
        if free.is_empty() {
            return None;
        }
        // h = Σ_{i∈B} P[:, i] x_i (the fixed variables' contribution to the gradient).
        let mut h = vec![0.0; n];
        for i in 0..n {
            if state[i] != State::Free && x[i] != 0.0 {
                self.axpy_col(&mut h, i, x[i]);
            }
        }
        let amax = self.a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let max_iter = 10 * n + 100;
        let mut t = vec![0.0; n];
        for iter in 0..max_iter {
            let k = free.len();
            // Subproblem on F: P_FF x_F = −(c_F + h_F) + ν a_F, a_Fᵀ x_F = β.
            let m = DMatrix::from_fn(k, k, |r, s| self.p_at(free[r], free[s]));
            let chol = m.cholesky()?;
            let rhs = DVector::from_fn(k, |r, _| -(self.c_at(free[r]) + h[free[r]]));
            let af = DVector::from_fn(k, |r, _| self.a[free[r]]);
            let x0f = chol.solve(&rhs);
            let yf = chol.solve(&af);
            let den = af.dot(&yf);
            if !(den.is_finite() && den.abs() > f64::MIN_POSITIVE) {
                return None;
            }
            let beta: f64 = self.b
                - (0..n)
                    .filter(|&i| state[i] != State::Free)
                    .map(|i| self.a[i] * x[i])
                    .sum::<f64>();
            let nu = (beta - af.dot(&x0f)) / den;
            let xstar = x0f + yf * nu;
            if !xstar.iter().all(|v| v.is_finite()) {
                return None;
            }
            // Ratio test towards the subproblem minimizer.
            let mut alpha = 1.0;
            let mut blocker: Option<(usize, State)> = None;
            // Overshoots within rounding (4 ulp of the bound) are clamped, not blocking: a free
            // variable sitting at its bound would otherwise block every step at α = 0.
            let eps = |b: f64| 4.0 * f64::EPSILON * b.abs().max(1.0);
            for (r, &i) in free.iter().enumerate() {
                let p = xstar[r] - x[i];
                if p < 0.0 && xstar[r] < self.lower[i] - eps(self.lower[i]) {
                    let s = ((self.lower[i] - x[i]) / p).max(0.0);
                    if s < alpha {
                        alpha = s;
                        blocker = Some((r, State::Lower));
                    }
                } else if p > 0.0 && xstar[r] > self.upper[i] + eps(self.upper[i]) {
                    let s = ((self.upper[i] - x[i]) / p).max(0.0);
                    if s < alpha {
                        alpha = s;
                        blocker = Some((r, State::Upper));
                    }
                }
            }
            if let Some((r, st)) = blocker {
                for (q, &i) in free.iter().enumerate() {
                    x[i] += alpha * (xstar[q] - x[i]);
                }
                let i = free.swap_remove(r);
                x[i] = if st == State::Lower {
                    self.lower[i]
                } else {
                    self.upper[i]
                };
                state[i] = st;
                if x[i] != 0.0 {
                    self.axpy_col(&mut h, i, x[i]);
                }
                if free.is_empty() {
                    return None;
                }
                continue;
            }
            for (r, &i) in free.iter().enumerate() {
                x[i] = xstar[r].clamp(self.lower[i], self.upper[i]);
            }
            // Bound multipliers z_i = g_i − ν a_i on B, g = h + P[:, F] x_F + c.
            t.iter_mut().for_each(|v| *v = 0.0);
            for &j in &free {
                self.axpy_col(&mut t, j, x[j]);
            }
            let mut gscale = nu.abs() * amax;
            let mut worst: Option<(usize, f64)> = None;
            let mut viol = Vec::new();
            for i in 0..n {
                // A fixed variable (lower = upper) is never released: any multiplier fits it.
                if state[i] == State::Free || self.lower[i] == self.upper[i] {
                    continue;
                }
                let g = h[i] + t[i] + self.c_at(i);
                gscale = gscale.max(g.abs());
                let z = g - nu * self.a[i];
                let v = if state[i] == State::Lower { -z } else { z };
                viol.push((i, v));
            }
            let tol = RELEASE_TOL * gscale;
            for (i, v) in viol {
                if v > tol && worst.is_none_or(|(_, w)| v > w) {
                    worst = Some((i, v));
                }
            }
            match worst {
                None => return Some((DVector::from_vec(x), free, iter as u32 + 1)),
                Some((i, _)) => {
                    if x[i] != 0.0 {
                        self.axpy_col(&mut h, i, -x[i]);
                    }
                    state[i] = State::Free;
                    free.push(i);
                }
            }
        }
        None
    }

    /// Independent KKT check of `x` with free set `free` (every other variable must sit exactly
    /// at a bound): gradient recomputed as P·x + c from scratch, the budget multiplier ν fitted
    /// by least squares on the free set. A free variable may sit at a bound value (its
    /// multiplier is then 0, which satisfies either sign condition).
    pub fn kkt_residuals(&self, x: &DVector<f64>, free: &[usize]) -> Kkt {
        let n = self.n();
        let mut g = self.cov * x * self.scale + x * self.shift;
        if let Some(c) = self.c {
            g += c;
        }
        let mut is_free = vec![false; n];
        for &i in free {
            is_free[i] = true;
        }
        let (mut num, mut den) = (0.0, 0.0);
        for &i in free {
            num += g[i] * self.a[i];
            den += self.a[i] * self.a[i];
        }
        let nu = if den > 0.0 { num / den } else { 0.0 };
        let amax = self.a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let gscale = g
            .iter()
            .fold(nu.abs() * amax, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let (mut stat, mut dual, mut primal) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            let z = g[i] - nu * self.a[i];
            if is_free[i] {
                stat = stat.max(z.abs());
            } else if x[i] == self.lower[i] && x[i] == self.upper[i] {
                // Fixed variable: any multiplier is fine.
            } else if x[i] == self.lower[i] {
                dual = dual.max(-z);
            } else if x[i] == self.upper[i] {
                dual = dual.max(z);
            } else {
                // Neither free nor at a bound: not a valid partition.
                dual = f64::INFINITY;
            }
            primal = primal.max(self.lower[i] - x[i]).max(x[i] - self.upper[i]);
        }
        let ax: f64 = self.a.iter().zip(x.iter()).map(|(a, v)| a * v).sum();
        primal = primal.max((ax - self.b).abs()) / self.b.abs().max(1.0);
        Kkt {
            stationarity: stat / gscale,
            dual: dual.max(0.0) / gscale,
            primal,
        }
    }
}

/// Start for the budget row a = 1: everything at its lower bound, then the cheapest assets
/// (ascending `cost`) raised towards their upper bounds until the budget `b` is spent. The last
/// asset raised is free. Returns (x0, free0).
pub(crate) fn budget_start(
    lower: &[f64],
    upper: &[f64],
    b: f64,
    cost: &[f64],
) -> (Vec<f64>, Vec<usize>) {
    let n = lower.len();
    let mut x = lower.to_vec();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| cost[i].total_cmp(&cost[j]));
    let mut rest = b - lower.iter().sum::<f64>();
    let mut last = order.first().copied();
    for &i in &order {
        if rest <= 0.0 {
            break;
        }
        let room = upper[i] - lower[i];
        if room <= rest {
            x[i] = upper[i];
            rest -= room;
        } else {
            x[i] = lower[i] + rest;
            rest = 0.0;
        }
        last = Some(i);
    }
    (x, last.into_iter().collect())
}

impl BoxQp<'_> {
    /// On the free set `free` of `x` (the other variables held at their current values), the
    /// solution of the subproblem with linear term c − λ·`dir` is A + λ·B; returns (A, B)
    /// (B is zero off the free set).
    fn line(
        &self,
        x: &DVector<f64>,
        free: &[usize],
        dir: &[f64],
    ) -> Option<(DVector<f64>, DVector<f64>)> {
        let n = self.n();
        let k = free.len();
        let mut is_free = vec![false; n];
        for &i in free {
            is_free[i] = true;
        }
        let mut h = vec![0.0; n];
        let mut beta = self.b;
        for i in (0..n).filter(|&i| !is_free[i]) {
            if x[i] != 0.0 {
                self.axpy_col(&mut h, i, x[i]);
            }
            beta -= self.a[i] * x[i];
        }
        let m = DMatrix::from_fn(k, k, |r, s| self.p_at(free[r], free[s]));
        let chol = m.cholesky()?;
        let rhs = DVector::from_fn(k, |r, _| -(self.c_at(free[r]) + h[free[r]]));
        let af = DVector::from_fn(k, |r, _| self.a[free[r]]);
        let df = DVector::from_fn(k, |r, _| dir[free[r]]);
        let x0 = chol.solve(&rhs);
        let ya = chol.solve(&af);
        let yd = chol.solve(&df);
        let den = af.dot(&ya);
        if !(den.is_finite() && den.abs() > f64::MIN_POSITIVE) {
            return None;
        }
        // A_F = x0 + ν_A·ya with aᵀA_F = β; B_F = yd + ν_B·ya with aᵀB_F = 0.
        let nu_a = (beta - af.dot(&x0)) / den;
        let nu_b = -af.dot(&yd) / den;
        let mut a_full = x.clone();
        let mut b_full = DVector::zeros(n);
        for (r, &i) in free.iter().enumerate() {
            a_full[i] = x0[r] + nu_a * ya[r];
            b_full[i] = yd[r] + nu_b * ya[r];
        }
        Some((a_full, b_full))
    }
}

/// Maximum Sharpe ratio eᵀw / √(wᵀΣ′w) (e = μ − rf, Σ′ = Σ + γI) over 1ᵀw = 1, l ≤ w ≤ u,
/// for any box (caps, floors, shorts) — the case the y = w/κ change of variables turns into
/// general inequalities y_i ≤ u_i·1ᵀy.
///
/// w maximizes the ratio iff it solves the parametric QP(λ): min wᵀΣ′w − λ·eᵀw over the box
/// with λ = 2·wᵀΣ′w / eᵀw (the two KKT systems coincide after scaling; the ratio is
/// pseudo-concave where eᵀw > 0, so KKT is sufficient). On a fixed active set the QP solution
/// is affine, w(λ) = A + λB, and the ratio along that line is stationary at
/// λ̂ = (eA·AΣ′B − eB·AΣ′A) / (eB·AΣ′B − eA·BΣ′B). Iterate: solve QP(λ) (warm started), take
/// λ̂ of its active set, re-solve; stop when the active set repeats. The answer is certified
/// by the QP's KKT check and the fixed-point residual |λ·eᵀw − 2wᵀΣ′w| ≤ 1e-10·2wᵀΣ′w.
pub(crate) fn max_sharpe_box(
    cov: &DMatrix<f64>,
    gamma: f64,
    excess: &DVector<f64>,
    lower: &[f64],
    upper: &[f64],
) -> Option<(DVector<f64>, u32)> {
    let n = excess.len();
    let ones = vec![1.0; n];
    let qp_at = |c: Option<&DVector<f64>>, x0: Vec<f64>, free0: Vec<usize>| {
        let qp = BoxQp {
            cov,
            scale: 2.0,
            shift: 2.0 * gamma,
            c,
            a: &ones,
            b: 1.0,
            lower,
            upper,
        };
        let (x, free, it) = qp.solve(x0, free0)?;
        qp.kkt_residuals(&x, &free).ok().then_some((x, free, it))
    };
    let quad = |u: &DVector<f64>, v: &DVector<f64>| (cov * v).dot(u) + gamma * u.dot(v);
    // λ0 from the minimum-variance portfolio (λ = 0).
    let cost: Vec<f64> = (0..n).map(|i| cov[(i, i)]).collect();
    let (x0, free0) = budget_start(lower, upper, 1.0, &cost);
    let (mut x, mut free, mut iters) = qp_at(None, x0, free0)?;
    let ret = excess.dot(&x);
    let mut lambda = if ret > 0.0 {
        2.0 * quad(&x, &x) / ret
    } else {
        2.0 * cost.iter().fold(0.0f64, |m, v| m.max(*v)) / excess.max().max(f64::MIN_POSITIVE)
    };
    let mut c = -excess * lambda;
    let (xs, fs, it) = qp_at(Some(&c), x.as_slice().to_vec(), free)?;
    x = xs;
    free = fs;
    iters += it;
    for _ in 0..50 {
        let qp = BoxQp {
            cov,
            scale: 2.0,
            shift: 2.0 * gamma,
            c: None,
            a: &ones,
            b: 1.0,
            lower,
            upper,
        };
        let (a, b) = qp.line(&x, &free, excess.as_slice())?;
        let (ea, eb) = (excess.dot(&a), excess.dot(&b));
        let (saa, sab, sbb) = (quad(&a, &a), quad(&a, &b), quad(&b, &b));
        let den = eb * sab - ea * sbb;
        if !(den.is_finite() && den != 0.0) {
            return None;
        }
        let next = (ea * sab - eb * saa) / den;
        if !(next.is_finite() && next > 0.0) {
            return None;
        }
        lambda = next;
        c = -excess * lambda;
        let mut sorted = free.clone();
        sorted.sort_unstable();
        let (xs, fs, it) = qp_at(Some(&c), x.as_slice().to_vec(), free)?;
        iters += it;
        let mut fs_sorted = fs.clone();
        fs_sorted.sort_unstable();
        x = xs;
        free = fs;
        if fs_sorted == sorted {
            break;
        }
    }
    let ret = excess.dot(&x);
    let var2 = 2.0 * quad(&x, &x);
    if !(ret > 0.0 && (lambda * ret - var2).abs() <= KKT_TOL * var2) {
        return None;
    }
    Some((x, iters))
}
