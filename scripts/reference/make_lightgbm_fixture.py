#!/usr/bin/env python3
"""Python side of crates/ml/tests/lightgbm_reference.rs: predictions of Python's `lightgbm` from
model files that pulse_ml (Rust, lightgbm3 with the bundled LightGBM C++ library) trained and
saved. It trains nothing itself.

The Rust test computes pulse_ml features of real Binance minute bars (../shared/data), trains
LightGBM models in Rust, saves them in LightGBM's text format, writes the feature rows it predicts
on as a float32 .npy (row-major, NaN = missing) and runs:

    python3 scripts/reference/make_lightgbm_fixture.py ROWS.npy OUT.json NAME=MODEL.txt [...]

For each NAME=MODEL.txt this loads `lightgbm.Booster(model_file=MODEL.txt)` and predicts the
rows as float32 (the dtype is passed to LightGBM unchanged, as the Rust side does), then writes
OUT.json:
    {"lightgbm": "<version>", "numpy": "<version>", "python": "<version>",
     "models": {NAME: {"num_trees": int, "num_feature": int, "feature_name": [...],
                       "predictions": [float, ...]}}}
Floats are written with Python's repr (shortest round-trip), so the Rust test reads the exact
doubles and compares them with its own predictions.

Requires the PyPI package `lightgbm` at the version bundled in lightgbm3-sys (4.7.0):
scripts/ensure_lightgbm.sh installs it.
"""
import json
import platform
import sys

import lightgbm
import numpy as np


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    rows_path, out_path = argv[1], argv[2]
    x = np.load(rows_path)
    if x.dtype != np.float32 or x.ndim != 2:
        sys.exit(f"{rows_path}: expected a 2-d float32 array, got {x.dtype} {x.shape}")
    models = {}
    for spec in argv[3:]:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"expected NAME=MODEL.txt, got {spec!r}")
        booster = lightgbm.Booster(model_file=path)
        pred = booster.predict(x)
        models[name] = {
            "num_trees": booster.num_trees(),
            "num_feature": booster.num_feature(),
            "feature_name": booster.feature_name(),
            "predictions": [float(v) for v in pred],
        }
    out = {
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "models": models,
    }
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv)
