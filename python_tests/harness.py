"""Helpers of the SQL test harness: load raw rows into a warehouse (DuckDB,
PostgreSQL or Spark, see sbdk.engines and warehouse.py), build the package there, read models
back and compare them with expected rows.

Failure messages show the differing rows (expected vs actual), keyed.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sbdk.contract import COLUMNS, TABLE_NAMES
from sbdk.engines import MODEL_SCHEMA, RAW_SCHEMA, Engine
from sbdk.project import BuildOutcome, in_layer_order
from warehouse import HarnessProject, load_raw, text_columns

RAW_TABLES = TABLE_NAMES
RAW_COLUMNS = COLUMNS
#: The reference date of every harness build (scenarios are written against it).
HARNESS_AS_OF_DATE = "2025-12-31"
HARNESS_VARS = {"as_of_date": HARNESS_AS_OF_DATE}
#: dbt options of every harness invocation: no debug log file (the outcome object
#: carries every error), no JSON artifacts rewritten after each build, and one
#: dbt thread (dbt's per-node work is Python-bound, and xdist already runs one
#: worker per core; measured: 1 thread is as fast as 2-6 on a 2-core machine).
HARNESS_DBT_ARGS = ["--log-level-file", "none", "--no-write-json", "--threads", "1"]
#: Scenario builds leave out the checks whose outcome cannot depend on a
#: scenario's assertions: the source tests only warn (they describe the raw
#: data), and the seed tests check the package's own mapping CSVs, the same in
#: every scenario. Both run in full in test_package_consumer.py, where the
#: warnings' row counts are checked.
HARNESS_BUILD_ARGS = ["--exclude", "tag:sbdk_source_checks", "tag:sbdk_seed_checks"]
FLOAT_REL_TOL = 1e-9
FLOAT_ABS_TOL = 1e-9


@dataclass(frozen=True)
class ProjectFacts:
    """What the harness needs to know about the package, read from its parsed manifest
    (never listed by hand): a new model, key, mart or invariant is picked up as it is."""

    #: Every model of the package, each after the models it reads, ties by name.
    models: tuple[str, ...]
    #: The contracted models (the marts) and their columns' declared data types.
    contracts: dict[str, dict[str, str]]
    #: A model's key: the column of its `unique` test, or the columns of its
    #: `unique_combination_of_columns` test (a test limited by `where` is no key).
    keys: dict[str, tuple[str, ...]]
    #: The singular tests of the package that fail a build (the invariants).
    invariant_tests: tuple[str, ...]
    #: Each model's generic tests: model -> {test name (as run): generic test}.
    generic_tests: dict[str, dict[str, str]]

    @property
    def marts(self) -> tuple[str, ...]:
        return tuple(m for m in self.models if m in self.contracts)


def project_facts(project: HarnessProject) -> ProjectFacts:
    """The facts of the parsed ``project`` (a walk over its manifest's nodes: microseconds)."""
    manifest = project.parse()
    models = {n.unique_id: n for n in manifest.nodes.values()
              if n.resource_type == "model" and n.package_name == "sbdk"}
    keys: dict[str, tuple[str, ...]] = {}
    generic: dict[str, dict[str, str]] = {n.name: {} for n in models.values()}
    invariants = []
    for node in manifest.nodes.values():
        if node.resource_type != "test" or node.package_name != "sbdk":
            continue
        metadata = getattr(node, "test_metadata", None)
        if metadata is None:
            if node.config.severity.lower() == "error" and node.config.enabled:
                invariants.append(node.name)
            continue
        model = models.get(getattr(node, "attached_node", None) or "")
        if model is None:
            continue
        generic[model.name][node.name] = metadata.name
        if node.config.where is None and metadata.name == "unique":
            keys[model.name] = (metadata.kwargs["column_name"],)
        elif node.config.where is None and metadata.name == "unique_combination_of_columns":
            keys[model.name] = tuple(metadata.kwargs["combination_of_columns"])
    return ProjectFacts(
        models=tuple(in_layer_order(models)),
        contracts=project.contracts(),
        keys=keys,
        invariant_tests=tuple(sorted(invariants)),
        generic_tests=generic,
    )


@dataclass
class Scenario:
    """A built scenario: the warehouse it was built in, the dbt outcome and the facts
    of the project that was built."""

    engine: Engine
    outcome: BuildOutcome
    facts: ProjectFacts

    @property
    def contracts(self) -> dict[str, dict[str, str]]:
        return self.facts.contracts

    def key(self, model: str) -> tuple[str, ...]:
        """The model's key (empty: compare as a multiset, e.g. staging, keyed only where valid)."""
        return self.facts.keys.get(model, ())

    def rows(self, model: str, *, exclude: Sequence[str] = ("dbt_updated_at",)) -> list[dict]:
        return read_rows(self.engine, model, exclude=exclude)


# ---------------------------------------------------------------- raw data


def text_tables(tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, pa.Table]:
    """The three raw tables from row dicts, every column text (values written as
    ``str``; extra columns kept); a missing table is empty. Typed raw columns are
    tested with their own DDL (test_typed_raw.py)."""
    out = {}
    for table in RAW_TABLES:
        columns = RAW_COLUMNS[table]
        rows = list(tables.get(table, ()))
        extra = sorted({k for r in rows for k in r} - set(columns))
        out[table] = pa.table({
            c: pa.array([None if r.get(c) is None else str(r.get(c)) for r in rows], pa.string())
            for c in (*columns, *extra)
        })
    return out


def csv_header(path: Path) -> list[str]:
    with path.open(newline="") as fh:
        return next(csv.reader(fh), [])


def read_csv_rows(path: Path) -> list[dict[str, str | None]]:
    """Rows of a fixture CSV, every cell text; an empty cell is null, a quoted blank ("  ")
    stays text. A header-only file has no rows."""
    header = csv_header(path)
    with path.open(newline="") as fh:
        if sum(1 for line in fh if line.strip()) <= 1:
            return []
    with duckdb.connect() as conn:
        rel = conn.sql(
            "select * from read_csv(?, header = true, all_varchar = true, "
            "allow_quoted_nulls = false, columns = {"
            + ", ".join(f"'{c}': 'VARCHAR'" for c in header)
            + "})",
            params=[str(path)],
        )
        return [dict(zip(header, row, strict=True)) for row in rel.fetchall()]


def read_raw_rows(db_path: Path, schema: str = RAW_SCHEMA) -> dict[str, list[dict]]:
    """The raw tables of a DuckDB file as Python rows (typed as stored)."""
    out: dict[str, list[dict]] = {}
    with duckdb.connect(str(db_path), read_only=True) as conn:
        for table in RAW_TABLES:
            rel = conn.sql(f'select * from "{schema}".{table}')
            out[table] = [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    return out


# ---------------------------------------------------------------- models


def read_rows(engine: Engine, model: str, *, exclude: Sequence[str] = ("dbt_updated_at",)) -> list[dict]:
    rows = engine.rows(f"select * from {MODEL_SCHEMA}.{model}")
    return [{k: v for k, v in row.items() if k not in exclude} for row in rows]


def build_scenario(
    project: HarnessProject,
    engine: Engine,
    raw: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
    *,
    copy_raw_from: Path | None = None,
) -> Scenario:
    """Load raw rows (or the raw tables of a generated DuckDB file) into ``engine``
    and ``dbt build`` the package there."""
    if copy_raw_from is not None:
        engine.load_duckdb_tables(copy_raw_from, RAW_TABLES)
    else:
        load_raw(engine, text_tables(raw or {}))
    return Scenario(engine=engine, outcome=project.build(engine), facts=project_facts(project))


def assert_all(title: str, checks: Iterable[Callable[[], None]]) -> None:
    """Run every check and fail once with all their messages, so a failing dbt
    test and the differing rows of the models are reported together."""
    problems = []
    for check in checks:
        try:
            check()
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, f"{title}:\n" + "\n\n".join(problems)


def assert_equals_reference(engine: Engine, raw: Mapping[str, list[dict]], as_of: date, title: str,
                            dbt_vars: Mapping[str, Any] | None = None) -> None:
    """Every model on ``engine`` equals the reference implementation on the raw rows ``raw``
    (their `_loaded_at` left out) as of ``as_of`` with the other ``dbt_vars``: as multisets,
    on the reference's columns, dbt_updated_at left out."""
    from reference.contract import compute
    from sbdk.arrivals import LOADED_AT

    raw = {t: [{k: v for k, v in r.items() if k != LOADED_AT} for r in rows] for t, rows in raw.items()}
    checks = []
    for model, rows in compute(raw, as_of, dict(dbt_vars) if dbt_vars else None).items():
        def check(model=model, rows=rows):
            columns = [c for c in (rows[0] if rows else {}) if c != "dbt_updated_at"] or None
            assert_rows_equal(model, rows, read_rows(engine, model), key=(), columns=columns)
        checks.append(check)
    assert_all(title, checks)


def models_built(scenario: Scenario) -> bool:
    """Every model and seed built (only data tests may have failed)."""
    return not any(e.kind in ("model", "seed", "dbt") for e in scenario.outcome.errors)


def assert_build_ok(scenario: Scenario) -> None:
    """The build had no error and no failing test; warnings are allowed."""
    errors = [str(e) for e in scenario.outcome.errors]
    assert not errors, "dbt build failed:\n  " + "\n  ".join(errors)


# ---------------------------------------------------------------- comparison


def canonical(value: Any) -> Any:
    """A comparable form: Decimal as text with its scale, timestamps ISO, floats kept."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return value
    return str(value)


def _values_equal(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            e, a = float(expected), float(actual)
        except (TypeError, ValueError):
            return False
        if math.isnan(e) or math.isnan(a):
            return math.isnan(e) and math.isnan(a)
        return math.isclose(e, a, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
    if isinstance(expected, Decimal) or isinstance(actual, Decimal):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except Exception:  # noqa: BLE001
            return False
    return canonical(expected) == canonical(actual)


def coerce_expected(value: str | None, actual_example: Any) -> Any:
    """Read a CSV cell as the type of the actual column (for hand-written expectations)."""
    if value is None:
        return None
    if isinstance(actual_example, float):
        return float(value)
    if isinstance(actual_example, bool):
        return value.lower() in ("true", "1")
    if isinstance(actual_example, int):
        return int(value)
    if isinstance(actual_example, Decimal):
        return Decimal(value)
    if isinstance(actual_example, datetime):
        return datetime.fromisoformat(value)
    if isinstance(actual_example, date):
        return date.fromisoformat(value)
    return value


def _multiset_value(value: Any) -> Any:
    """Hashable comparable form for keyless comparison (floats to 9 significant digits)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, Decimal):
        return Decimal(value).normalize()
    return canonical(value)


def _fmt_row(row: Mapping[str, Any] | None, columns: Sequence[str]) -> str:
    if row is None:
        return "<missing>"
    return "{" + ", ".join(f"{c}={canonical(row.get(c))!r}" for c in columns) + "}"


def assert_rows_equal(
    model: str,
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    columns: Sequence[str] | None = None,
    max_shown: int = 15,
) -> None:
    """Compare rows by key (or as multisets when the key is empty); show differing rows."""
    key = tuple(key)
    if columns is None:
        names = list(expected[0]) if expected else (list(actual[0]) if actual else [])
        columns = [c for c in names if c != "dbt_updated_at"]
    missing_cols = [c for c in columns if actual and c not in actual[0]]
    assert not missing_cols, f"{model}: columns {missing_cols} are missing from the model"

    problems: list[str] = []
    if key:
        def k(row: Mapping[str, Any]) -> tuple:
            return tuple(canonical(row.get(c)) for c in key)

        exp_by = {k(r): r for r in expected}
        act_by = {k(r): r for r in actual}
        if len(act_by) != len(actual):
            problems.append(f"key {key} is not unique in the model ({len(actual)} rows, {len(act_by)} keys)")
        for kk in sorted(set(exp_by) | set(act_by), key=repr):
            e, a = exp_by.get(kk), act_by.get(kk)
            diff = [] if e is None or a is None else [c for c in columns if not _values_equal(e.get(c), a.get(c))]
            if e is None or a is None or diff:
                shown = columns if (e is None or a is None) else list(key) + diff
                problems.append(
                    f"key {dict(zip(key, kk, strict=True))}:\n"
                    f"      expected {_fmt_row(e, shown)}\n      actual   {_fmt_row(a, shown)}"
                )
    else:
        from collections import Counter

        def c_row(r: Mapping[str, Any]) -> tuple:
            return tuple(_multiset_value(r.get(c)) for c in columns)

        exp_count, act_count = Counter(map(c_row, expected)), Counter(map(c_row, actual))
        for row, n in sorted((exp_count - act_count).items(), key=repr):
            problems.append(f"expected row not found (x{n}): {_fmt_row(dict(zip(columns, row, strict=True)), columns)}")
        for row, n in sorted((act_count - exp_count).items(), key=repr):
            problems.append(f"unexpected row (x{n}): {_fmt_row(dict(zip(columns, row, strict=True)), columns)}")

    if problems:
        shown = "\n  ".join(problems[:max_shown])
        more = f"\n  ... and {len(problems) - max_shown} more" if len(problems) > max_shown else ""
        raise AssertionError(
            f"{model}: {len(problems)} differing row(s) (expected {len(expected)}, actual {len(actual)}):"
            f"\n  {shown}{more}"
        )


def expected_from_csv(path: Path, actual: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Hand-written expected rows, each cell read as the type of the model's column."""
    rows = read_csv_rows(path)
    examples: dict[str, Any] = {}
    for row in actual:
        for c, v in row.items():
            if v is not None and c not in examples:
                examples[c] = v
    return [{c: coerce_expected(v, examples.get(c)) for c, v in r.items()} for r in rows]


# ---------------------------------------------------------------- invariants

#: The contracts' names of a text type (each properties file spells it per engine).
CONTRACT_TEXT_TYPES = ("varchar", "string", "text")
#: How the test sbdk.no_personal_data names each column it checks in its compiled SQL.
_PII_CHECKED = re.compile(r"cast\('(\w+)' as [^)]+\) as column_name")


def assert_invariants(scenario: Scenario) -> None:
    """The contract's invariants (revenue, orders, events, sessions and users agree across
    the models; every raw row is accounted for) live in one place, the package's singular
    tests (tests/*.sql), which every build runs and which fail it with the rows that
    disagree (reported by assert_build_ok). Here: each of them ran; and the personal-data
    check sees every text column of the marts on this engine."""
    failures = []
    engine = scenario.engine
    invariants = scenario.facts.invariant_tests
    if not invariants:
        failures.append("the package has no singular test: no invariant is checked")
    not_run = sorted(set(invariants) - set(scenario.outcome.compiled_tests))
    if not_run:
        failures.append(f"the build did not run the invariant tests {not_run}")
    contract_text = {
        (mart, column) for mart, columns in scenario.contracts.items()
        for column, data_type in columns.items() if data_type in CONTRACT_TEXT_TYPES
    }
    engine_text = {(mart, column) for mart in scenario.contracts for column in text_columns(engine, MODEL_SCHEMA, mart)}
    if engine_text != contract_text:
        failures.append(f"text columns of the marts on {engine.name} {sorted(engine_text)} "
                        f"!= those of the contracts {sorted(contract_text)}")
    if not contract_text:
        failures.append("the contracts declare no text column in any mart: the personal-data check proves nothing")
    for mart in scenario.facts.marts:
        pii_tests = [t for t, generic in scenario.facts.generic_tests[mart].items() if generic == "no_personal_data"]
        if not pii_tests:
            failures.append(f"mart {mart} has no sbdk.no_personal_data test (see the anchors of _marts__models.yml)")
            continue
        pii_sql = scenario.outcome.compiled_tests.get(pii_tests[0])
        checked = {(mart, column) for column in _PII_CHECKED.findall(pii_sql or "")}
        if pii_sql is None:
            failures.append(f"the build did not run {pii_tests[0]}")
        elif checked != {(m, c) for m, c in contract_text if m == mart}:
            failures.append(f"{pii_tests[0]} checked {sorted(checked)}, the text columns of {mart} are "
                            f"{sorted((m, c) for m, c in contract_text if m == mart)}")
    for mart, column in sorted(engine_text):
        n = engine.scalar_row(f"select count(*) from {MODEL_SCHEMA}.{mart} where {column} like '%@%'")[0]
        if n:
            failures.append(f"{mart}.{column} holds {n} value(s) with '@'")
    assert not failures, "invariants broken:\n  " + "\n  ".join(failures)
