"""Reference log densities of Optuna's TPE Parzen estimator (univariate) for crates/search.

Builds optuna.samplers._tpe.parzen_estimator._ParzenEstimator (Optuna version pinned in
requirements.txt) with the TPESampler defaults (prior_weight=1, consider_magic_clip=True,
consider_endpoints=False, default_weights, multivariate=False) for a few parameter kinds and
seeded observation sets, and records log_pdf at a set of points. Writes
crates/search/tests/fixtures/optuna_parzen.json; crates/search/tests/reference.rs compares
pulse_search::tpe::parzen_log_pdf to it.

    .venv/bin/python scripts/reference/search/make_optuna_fixture.py
"""
import json
import os
import sys

import numpy as np
import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "crates", "search", "tests", "fixtures", "optuna_parzen.json")

PARAMS = _ParzenEstimatorParameters(
    prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False, weights=default_weights, multivariate=False
)


def case(name, dist, spec, obs, xs):
    pe = _ParzenEstimator({"p": np.asarray(obs, dtype=float)}, {"p": dist}, PARAMS)
    lp = pe.log_pdf({"p": np.asarray(xs, dtype=float)})
    return {"name": name, "spec": spec, "observations": [float(o) for o in obs], "xs": [float(x) for x in xs],
            "log_pdf": [float(v) for v in lp]}


def main():
    rng = np.random.default_rng(5)
    cases = []
    # Integer 1..60 step 1, 10 observations (ties allowed: equal weights below 25 observations).
    obs = rng.integers(1, 61, size=10)
    cases.append(case("int 1..60, 10 obs", IntDistribution(1, 60), {"Int": {"lo": 1, "hi": 60, "step": 1}}, obs, range(1, 61)))
    # Integer 5..120 step 5, 20 observations.
    obs = 5 * rng.integers(1, 25, size=20)
    cases.append(case("int 5..120 step 5, 20 obs", IntDistribution(5, 120, step=5), {"Int": {"lo": 5, "hi": 120, "step": 5}}, obs, range(5, 121, 5)))
    # Continuous float -5..5, 40 distinct observations (the weight ramp applies above 25).
    obs = rng.uniform(-5, 5, size=40)
    xs = np.linspace(-5, 5, 31)
    cases.append(case("float -5..5, 40 obs", FloatDistribution(-5.0, 5.0), {"Float": {"lo": -5.0, "hi": 5.0, "step": 0.0}}, obs, xs))
    # Stepped float 1.5..2.5 step 0.25, 7 observations.
    obs = 1.5 + 0.25 * rng.integers(0, 5, size=7)
    cases.append(case("float 1.5..2.5 step 0.25, 7 obs", FloatDistribution(1.5, 2.5, step=0.25), {"Float": {"lo": 1.5, "hi": 2.5, "step": 0.25}}, obs, [1.5, 1.75, 2.0, 2.25, 2.5]))
    # No observations: the prior alone.
    cases.append(case("int 60..85, prior only", IntDistribution(60, 85), {"Int": {"lo": 60, "hi": 85, "step": 1}}, [], range(60, 86)))
    # Continuous, 3 clustered observations (small sigmas, magic clip).
    cases.append(case("float 0..100, 3 clustered obs", FloatDistribution(0.0, 100.0), {"Float": {"lo": 0.0, "hi": 100.0, "step": 0.0}}, [50.0, 50.5, 51.0], [0.0, 25.0, 49.0, 50.25, 51.0, 60.0, 99.0]))
    doc = {"notes": f"Optuna {optuna.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}; "
                    "_ParzenEstimator with TPESampler defaults, univariate; log_pdf = log density (continuous) "
                    "or log probability of the step's bin (stepped).",
           "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
