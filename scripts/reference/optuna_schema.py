"""Prints the PostgreSQL schema that Optuna creates (crates/adapters/study-optuna/src/schema.sql
was made from it): creates a study with Optuna in the empty database given, then dumps the
schema with pg_dump. Usage: python3 scripts/reference/optuna_schema.py postgresql://…/EMPTY_DB
"""

import subprocess
import sys

import optuna


def main() -> None:
    url = sys.argv[1]
    optuna.create_study(study_name="schema", storage=url)
    libpq = url.replace("postgresql+psycopg2://", "postgresql://")
    sys.stdout.write(
        subprocess.run(
            ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", libpq],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    print(f"-- optuna {optuna.__version__}")


if __name__ == "__main__":
    main()
