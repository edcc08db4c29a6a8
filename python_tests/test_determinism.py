"""Two builds of the same data with the same as_of_date give identical models,
row for row (dbt_updated_at aside: it is the run's start time by contract)."""

from __future__ import annotations

from datetime import date

import duckdb

from harness import HARNESS_AS_OF_DATE, assert_build_ok, build_scenario
from sbdk.defaults import DUCKDB_FILE
from sbdk.engines import DuckDBEngine
from sbdk.generate import generate


def _sorted_rows(db, model):
    with duckdb.connect(str(db), read_only=True) as conn:
        cols = [c for c in conn.sql(f"select * from main.{model}").columns if c != "dbt_updated_at"]
        listed = ", ".join(cols)
        return cols, conn.execute(f"select {listed} from main.{model} order by all").fetchall()


def test_two_builds_give_identical_models(dbt_project, tmp_path) -> None:
    raw = tmp_path / "generated.duckdb"
    generate(800, db_path=raw, seed=21, end=date.fromisoformat(HARNESS_AS_OF_DATE), dirty=0.1)
    engines = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        engines.append(DuckDBEngine(tmp_path / name / DUCKDB_FILE))
    first = build_scenario(dbt_project, engines[0], copy_raw_from=raw)
    second = build_scenario(dbt_project, engines[1], copy_raw_from=raw)
    assert_build_ok(first)
    assert_build_ok(second)
    assert first.facts.models, "no model to compare"
    for model in first.facts.models:
        cols_a, rows_a = _sorted_rows(first.engine.path, model)
        cols_b, rows_b = _sorted_rows(second.engine.path, model)
        assert cols_a == cols_b
        assert rows_a, f"{model} is empty: the comparison would prove nothing"
        diff = sorted(set(rows_a) ^ set(rows_b), key=repr)[:10]
        assert rows_a == rows_b, f"{model} differs between two identical builds, e.g. {diff}"
