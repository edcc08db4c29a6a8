"""The raw-data contract of the Python side (``sbdk.contract``) is the dbt side's: the raw
tables and their columns are the source ``raw`` of ``_staging__sources.yml`` and the lists the
staging models read types for, and each table's flags are the ``accepted_values`` of its
staging model's ``data_quality_flag``. A new flag or raw column that reaches only one side
fails here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sbdk.contract import RAW_TABLES, VALID

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "models" / "staging"


def _yaml(name: str) -> dict:
    return yaml.safe_load((STAGING / name).read_text())


def test_columns_are_those_of_the_source() -> None:
    (source,) = [s for s in _yaml("_staging__sources.yml")["sources"] if s["name"] == "raw"]
    declared = {t["name"]: tuple(c["name"] for c in t.get("columns", [])) for t in source["tables"]}
    assert declared == {name: table.column_names for name, table in RAW_TABLES.items()}


def test_staging_models_read_the_contract_columns() -> None:
    for table in RAW_TABLES.values():
        sql = (STAGING / f"{table.staging_model}.sql").read_text()
        assert f"source('raw', '{table.name}')" in sql, table.staging_model
        call = re.search(r"raw_column_types\(\s*raw_relation,\s*\[([^\]]*)\]", sql)
        assert call, f"{table.staging_model}: no sbdk.raw_column_types(raw_relation, [...]) call"
        assert tuple(re.findall(r"'(\w+)'", call[1])) == table.column_names, table.staging_model


def test_flags_are_the_accepted_values_of_staging() -> None:
    models = {m["name"]: m for m in _yaml("_staging__models.yml")["models"]}
    for table in RAW_TABLES.values():
        (column,) = [c for c in models[table.staging_model]["columns"] if c["name"] == "data_quality_flag"]
        (accepted,) = [t["accepted_values"] for t in column["data_tests"]
                       if isinstance(t, dict) and "accepted_values" in t]
        values = accepted["arguments"]["values"]
        # the YAML lists `valid` first, then the problems in order of precedence
        assert values[0] == VALID and table.flags[-1] == VALID, table.name
        assert tuple(values[1:]) == table.problems, table.staging_model
