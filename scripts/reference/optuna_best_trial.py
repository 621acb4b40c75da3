"""Opens a study that `pulse sweep --storage postgres://… --study NAME` wrote, with Python Optuna
itself, and prints what Optuna reads as JSON: the best trial (number, params, value), the number
of trials per state, the study's direction and metric names, and the Optuna version.

Usage: python3 scripts/reference/optuna_best_trial.py postgresql://user@host:port/db STUDY

Installed by scripts/ensure_optuna.sh (optuna 5.1.0, the release whose schema pulse writes).
"""

import collections
import json
import sys

import optuna


def main() -> None:
    storage, name = sys.argv[1], sys.argv[2]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=storage)
    best = study.best_trial
    states = collections.Counter(t.state.name for t in study.trials)
    print(
        json.dumps(
            {
                "optuna": optuna.__version__,
                "direction": study.direction.name,
                "metric_names": study.metric_names,
                "best": {"number": best.number, "params": best.params, "value": best.value},
                "states": dict(states),
                "distributions": {
                    k: type(v).__name__ for k, v in best.distributions.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
