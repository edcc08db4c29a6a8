"""A DuckDB memory limit changes how a build runs (it spills to <db>.tmp beside the file),
never what it computes: every model is identical with and without a tiny limit."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from harness import HARNESS_AS_OF_DATE, assert_build_ok, build_scenario
from sbdk.defaults import DUCKDB_FILE
from sbdk.engines import DuckDBEngine
from sbdk.generate import generate

pytestmark = pytest.mark.slow  # runs with --slow (engine_option.py)


def _rows(db, model):
    with duckdb.connect(str(db), read_only=True) as conn:
        cols = [c for c in conn.sql(f"select * from main.{model}").columns if c != "dbt_updated_at"]
        return conn.execute(f"select {', '.join(cols)} from main.{model} order by all").fetchall()


def test_marts_identical_with_a_tiny_memory_limit(dbt_project, tmp_path) -> None:
    raw = tmp_path / "generated.duckdb"
    generate(20_000, db_path=raw, seed=31, end=date.fromisoformat(HARNESS_AS_OF_DATE), dirty=0.05)
    builds = {}
    for name, limit in (("unlimited", None), ("limited", "64MB")):
        (tmp_path / name).mkdir()
        engine = DuckDBEngine(tmp_path / name / DUCKDB_FILE, memory_limit=limit)
        scenario = build_scenario(dbt_project, engine, copy_raw_from=raw)
        assert_build_ok(scenario)
        builds[name] = engine.path
    assert scenario.facts.models, "no model to compare"
    for model in scenario.facts.models:
        unlimited, limited = _rows(builds["unlimited"], model), _rows(builds["limited"], model)
        assert unlimited, f"{model} is empty: the comparison would prove nothing"
        assert limited == unlimited, f"{model} differs under a 64 MB limit"
