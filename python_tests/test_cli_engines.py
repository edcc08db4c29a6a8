"""`sbdk run --target postgres` / `--target spark`: the same generated data, bulk-loaded
into the engine and built there, gives the same summary as the DuckDB run (row counts,
revenue, lifecycle stages, data-quality summary). Runs with `--engine postgres` or
`--engine spark` only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sbdk.engines import Engine, PostgresEngine
from sbdk.project import find_project_dir
from warehouse import create_database

SBDK = str(Path(sys.executable).with_name("sbdk"))
USERS = "10000"
#: The metrics layer's models (models/semantic/), which dbt_project.yml turns off on Spark:
#: MetricFlow cannot query Spark.
METRICS_LAYER = tuple(sorted(p.stem for p in (find_project_dir() / "models" / "semantic").rglob("*.sql")))


def _run(target: str, db: Path, env: dict[str, str], users: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}
    full_env.pop("SBDK_DUCKDB_PATH", None)
    return subprocess.run(
        [SBDK, "run", "--users", users, "--seed", "7", "--dirty", "0.05",
         "--db", str(db), "--target", target, "--no-progress"],
        cwd=db.parent, env=full_env, capture_output=True, text=True, timeout=1800,
    )


def _summary(stdout: str) -> list[str]:
    """The summary the command prints after the build (what the user reads as the result)."""
    lines = stdout.splitlines()
    summary = lines[lines.index("rows per model"):]
    return [line for line in summary if not line.endswith("now holds this result")]


@pytest.mark.engines("postgres", "spark", duckdb=False)
def test_run_on_engine_prints_the_duckdb_summary(engine_name: str, warehouse: Engine, tmp_path: Path) -> None:
    env: dict[str, str] = {}
    if isinstance(warehouse, PostgresEngine):
        cli_engine = PostgresEngine({**warehouse.settings, "DATABASE": warehouse.settings["DATABASE"] + "_cli"})
        create_database(cli_engine)
        env = cli_engine.dbt_env()
    else:
        env = {"SBDK_SPARK_DIR": str(tmp_path / "spark")}
    (tmp_path / "duckdb").mkdir()
    (tmp_path / engine_name).mkdir()
    on_duckdb = _run("duckdb", tmp_path / "duckdb" / "sbdk.duckdb", {}, USERS)
    on_engine = _run(engine_name, tmp_path / engine_name / "sbdk.duckdb", env, USERS)
    assert on_duckdb.returncode == 0, on_duckdb.stdout + on_duckdb.stderr
    assert on_engine.returncode == 0, on_engine.stdout + on_engine.stderr
    assert f"target {engine_name}" in on_engine.stdout
    assert "revenue " in on_duckdb.stdout and "data quality" in on_duckdb.stdout
    duck, other = _summary(on_duckdb.stdout), _summary(on_engine.stdout)
    if engine_name == "spark":  # the same summary, without the rows of the metrics layer
        first_words = [(line.split() or [""])[0] for line in duck]
        assert METRICS_LAYER and set(METRICS_LAYER) <= set(first_words), duck
        duck = [line for line, word in zip(duck, first_words, strict=True) if word not in METRICS_LAYER]
    shown = "\n".join(["--- duckdb", *duck, f"--- {engine_name}", *other])
    # word by word: a table's column widths follow its rows, which differ on Spark
    assert [line.split() for line in other] == [line.split() for line in duck], f"summaries differ:\n{shown}"
