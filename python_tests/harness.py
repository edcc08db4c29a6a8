"""Helpers of the SQL test harness: load raw rows into a warehouse (DuckDB,
PostgreSQL or Spark, see sbdk.engines), build the package there, read models
back and compare them with expected rows.

Failure messages show the differing rows (expected vs actual), keyed.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sbdk.engines import MODEL_SCHEMA, RAW_SCHEMA, Engine
from sbdk.project import BuildOutcome, DbtProject

RAW_TABLES = ("raw_users", "raw_events", "raw_orders")
RAW_COLUMNS = {
    "raw_users": ("user_id", "email", "name", "country", "referrer", "created_at"),
    "raw_events": ("event_id", "user_id", "event_type", "timestamp", "utm_source"),
    "raw_orders": ("order_id", "user_id", "amount", "product_category", "payment_method", "created_at"),
}
MARTS = (
    "user_metrics",
    "cohort_summary",
    "cohort_retention",
    "product_summary",
    "daily_summary",
    "data_quality_summary",
)
#: The key of each model, used to pair expected and actual rows.
MODEL_KEYS: dict[str, tuple[str, ...]] = {
    "stg_users": (),
    "stg_events": (),
    "stg_orders": (),
    "int_user_activity": ("user_id",),
    "int_user_orders": ("user_id",),
    "int_event_sessions": ("session_id",),
    "user_metrics": ("user_id",),
    "cohort_summary": ("cohort_month",),
    "cohort_retention": ("cohort_month", "months_since_signup"),
    "product_summary": ("product_category",),
    "daily_summary": ("report_date",),
    "data_quality_summary": ("source_table", "data_quality_flag"),
}
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


@dataclass
class Scenario:
    """A built scenario: the warehouse it was built in and the dbt outcome."""

    engine: Engine
    outcome: BuildOutcome
    #: The contracted models (marts) and their columns' declared data types.
    contracts: dict[str, dict[str, str]] = field(default_factory=dict)

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
    project: DbtProject,
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
        engine.load_raw(text_tables(raw or {}))
    return Scenario(engine=engine, outcome=project.build(engine), contracts=project.contracts())


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
    key: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    max_shown: int = 15,
) -> None:
    """Compare rows by key (or as multisets without one); show differing rows."""
    key = tuple(key if key is not None else MODEL_KEYS.get(model, ()))
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

_INVARIANT_QUERIES: dict[str, str] = {
    # name: query returning (actual, expected) pairs that must be equal
    "raw_users rows = stg_users rows = data_quality_summary": """
        select (select count(*) from raw.raw_users), (select count(*) from main.stg_users),
               (select coalesce(sum(row_count), 0) from main.data_quality_summary where source_table = 'raw_users')""",
    "raw_events rows = stg_events rows = data_quality_summary": """
        select (select count(*) from raw.raw_events), (select count(*) from main.stg_events),
               (select coalesce(sum(row_count), 0) from main.data_quality_summary where source_table = 'raw_events')""",
    "raw_orders rows = stg_orders rows = data_quality_summary": """
        select (select count(*) from raw.raw_orders), (select count(*) from main.stg_orders),
               (select coalesce(sum(row_count), 0) from main.data_quality_summary where source_table = 'raw_orders')""",
    "valid revenue in stg_orders, int_user_orders, user_metrics, product_summary, daily_summary, cohort_summary": """
        select (select coalesce(sum(order_amount), 0) from main.stg_orders where data_quality_flag = 'valid'),
               (select coalesce(sum(total_revenue), 0) from main.int_user_orders),
               (select coalesce(sum(total_revenue), 0) from main.user_metrics),
               (select coalesce(sum(total_revenue), 0) from main.product_summary),
               (select coalesce(sum(daily_revenue), 0) from main.daily_summary),
               (select coalesce(sum(cohort_revenue), 0) from main.cohort_summary)""",
    "valid orders in stg_orders, int_user_orders, user_metrics, product_summary, daily_summary": """
        select (select count(*) from main.stg_orders where data_quality_flag = 'valid'),
               (select coalesce(sum(total_orders), 0) from main.int_user_orders),
               (select coalesce(sum(total_orders), 0) from main.user_metrics),
               (select coalesce(sum(total_orders), 0) from main.product_summary),
               (select coalesce(sum(credit_card_orders + paypal_orders + wire_orders + other_payment_orders), 0)
                  from main.product_summary),
               (select coalesce(sum(total_orders), 0) from main.daily_summary)""",
    "valid events in stg_events, int_user_activity, user_metrics, int_event_sessions, daily_summary": """
        select (select count(*) from main.stg_events where data_quality_flag = 'valid'),
               (select coalesce(sum(total_events), 0) from main.int_user_activity),
               (select coalesce(sum(total_events), 0) from main.user_metrics),
               (select coalesce(sum(events_in_session), 0) from main.int_event_sessions),
               (select coalesce(sum(total_events), 0) from main.daily_summary)""",
    "sessions in stg_events, int_event_sessions, int_user_activity, user_metrics": """
        select (select count(distinct session_id) from main.stg_events where data_quality_flag = 'valid'),
               (select count(*) from main.int_event_sessions),
               (select coalesce(sum(total_sessions), 0) from main.int_user_activity),
               (select coalesce(sum(total_sessions), 0) from main.user_metrics)""",
    "valid users in stg_users, user_metrics, cohort_summary, daily_summary, cohort_retention": """
        select (select count(*) from main.stg_users where data_quality_flag = 'valid'),
               (select count(*) from main.user_metrics),
               (select count(*) from main.user_metrics u join main.stg_users s
                  on u.user_id = s.user_id and s.data_quality_flag = 'valid'),
               (select coalesce(sum(cohort_size), 0) from main.cohort_summary),
               (select coalesce(sum(new_signups), 0) from main.daily_summary),
               (select coalesce(sum(cohort_size), 0) from main.cohort_retention where months_since_signup = 0)""",
    "flagged rows carry no session": """
        select (select count(*) from main.stg_events
                where data_quality_flag <> 'valid' and session_id is not null), 0""",
}


#: The contracts' names of a text type (each properties file spells it per engine).
CONTRACT_TEXT_TYPES = ("varchar", "string", "text")
#: How assert_no_email_in_marts names each column it checks in its compiled SQL.
_PII_CHECKED = re.compile(r"select '(\w+)' as model_name, '(\w+)' as column_name")


def assert_invariants(scenario: Scenario) -> None:
    """The contract's invariants, checked with queries of their own on the built models;
    and the personal-data check sees every text column of the marts on this engine."""
    failures = []
    engine = scenario.engine
    for name, sql in _INVARIANT_QUERIES.items():
        values = engine.scalar_row(sql)
        if len({Decimal(str(v)) for v in values}) != 1:
            failures.append(f"{name}: {list(values)}")
    contract_text = {
        (mart, column) for mart, columns in scenario.contracts.items()
        for column, data_type in columns.items() if data_type in CONTRACT_TEXT_TYPES
    }
    engine_text = {(mart, column) for mart in scenario.contracts for column in engine.text_columns(MODEL_SCHEMA, mart)}
    if engine_text != contract_text:
        failures.append(f"text columns of the marts on {engine.name} {sorted(engine_text)} "
                        f"!= those of the contracts {sorted(contract_text)}")
    if not contract_text:
        failures.append("the contracts declare no text column in any mart: the personal-data check proves nothing")
    pii_sql = scenario.outcome.compiled_tests.get("assert_no_email_in_marts")
    if pii_sql is None:
        failures.append("the build did not run assert_no_email_in_marts")
    elif set(_PII_CHECKED.findall(pii_sql)) != contract_text:
        failures.append(f"assert_no_email_in_marts checked {sorted(set(_PII_CHECKED.findall(pii_sql)))}, "
                        f"the marts' text columns are {sorted(contract_text)}")
    for mart, column in sorted(engine_text):
        n = engine.scalar_row(f"select count(*) from {MODEL_SCHEMA}.{mart} where {column} like '%@%'")[0]
        if n:
            failures.append(f"{mart}.{column} holds {n} value(s) with '@'")
    assert not failures, "invariants broken:\n  " + "\n  ".join(failures)
