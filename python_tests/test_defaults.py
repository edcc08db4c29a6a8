"""The defaults of the settings live in sbdk.defaults; profiles.yml mirrors them as the
defaults of its env_var(...) calls, and the engines fall back to them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sbdk import defaults
from sbdk.engines import ENGINES, MODEL_SCHEMA, DuckDBEngine, PostgresEngine, SparkEngine, engine_for, postgres_settings
from sbdk.project import find_project_dir

#: env_var('NAME', 'default'), possibly nested: env_var('SBDK_PG_HOST', env_var('PGHOST', 'localhost'))
_ENV_VAR = re.compile(r"env_var\('(\w+)',\s*(?:'([^']*)'|env_var\('(\w+)',\s*'([^']*)'\))\)")


def _profile_defaults() -> dict[str, str]:
    text = (find_project_dir() / "profiles.yml").read_text()
    found: dict[str, set[str]] = {}
    for name, default, inner, inner_default in _ENV_VAR.findall(text):
        found.setdefault(name, set()).add(default if not inner else inner_default)
        if inner:
            found.setdefault(inner, set()).add(inner_default)
    assert all(len(v) == 1 for v in found.values()), f"one variable, several defaults in profiles.yml: {found}"
    return {name: values.pop() for name, values in found.items()}


def test_profiles_yml_mirrors_sbdk_defaults() -> None:
    expected = {
        "SBDK_DUCKDB_PATH": defaults.DUCKDB_FILE,
        "SBDK_DUCKDB_MEMORY_LIMIT": defaults.DUCKDB_MEMORY_LIMIT,
        "SBDK_DBT_THREADS": str(defaults.DBT_THREADS),
        "SBDK_SPARK_DIR": defaults.SPARK_DIR,
        "SBDK_SPARK_SHUFFLE_PARTITIONS": str(defaults.SPARK_SHUFFLE_PARTITIONS),
        **{f"SBDK_PG_{name}": value for name, value in defaults.POSTGRES.items()},
        "SBDK_PG_SCHEMA": MODEL_SCHEMA,
        **{("PGDATABASE" if name == "DATABASE" else f"PG{name}"): value for name, value in defaults.POSTGRES.items()},
    }
    assert _profile_defaults() == expected


def test_engines_of_the_registry_take_their_settings(tmp_path: Path) -> None:
    duck = engine_for("duckdb", duckdb_path=tmp_path / "x.duckdb", spark_dir=tmp_path / "s")
    assert isinstance(duck, DuckDBEngine) and duck.path == tmp_path / "x.duckdb"
    spark = engine_for("spark", duckdb_path=tmp_path / "x.duckdb", spark_dir=tmp_path / "s")
    assert isinstance(spark, SparkEngine) and spark.base_dir == tmp_path / "s"
    assert defaults.spark_dir_for(Path("out") / "demo.duckdb") == Path("out") / "demo.spark"
    assert postgres_settings({}) == defaults.POSTGRES
    assert postgres_settings({"PGHOST": "db", "SBDK_PG_HOST": "sbdk-db"})["HOST"] == "sbdk-db"
    assert postgres_settings({"PGDATABASE": "other"})["DATABASE"] == "other"


def test_the_registry_names_each_engine_class_once() -> None:
    assert {name: spec.engine_class for name, spec in ENGINES.items()} == {
        "duckdb": DuckDBEngine, "postgres": PostgresEngine, "spark": SparkEngine}
    assert next(iter(ENGINES)) == "duckdb"
    with pytest.raises(ValueError, match="unknown engine 'oracle'"):
        engine_for("oracle", duckdb_path="x.duckdb", spark_dir="x.spark")
