"""Stand-ins for the dbt context, for sqlfluff's *jinja* templater (pre-commit).

The pre-commit hook lints SQL without dbt (seconds instead of a project
compile), so the names the models use that dbt would provide -- the package's
own macros (``sbdk.*``), dbt's cross-database macros (``dbt.*``), ``adapter``
and ``execute`` -- are defined here. sqlfluff loads this package through
``library_path`` in ``.sqlfluff`` and puts its public names into the context
(``ref``, ``source``, ``var``, ``config`` and ``return`` are sqlfluff's own dbt
builtins).

Each stand-in renders a short SQL expression of the right kind (an
expression, a type, a select), so the literal SQL around it parses and is
linted. A macro not listed renders as a function call ``<namespace>_<name>(args)``,
so a new macro does not break the hook. The authoritative lint is the dbt
templater (``tox -e lint``, ``python_tests/test_lint.py``), which renders the
real macros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

AS_OF_DATE = "2025-12-31"


def _sql(value: Any) -> str | None:
    """A macro argument as the SQL it would be interpolated as."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(s for s in map(_sql, value) if s is not None)
    return str(value)


def _call(name: str) -> Callable[..., str]:
    def render(*args: Any, **kwargs: Any) -> str:
        parts = [s for s in map(_sql, [*args, *kwargs.values()]) if s]
        return f"{name}({', '.join(parts)})"

    return render


def _const(text: str) -> Callable[..., str]:
    return lambda *args, **kwargs: text


def _full_refresh_plan() -> dict[str, Any]:
    """`sbdk.incremental_plan()` of a first build: the branch both templaters lint."""
    return {"incremental": False, "reason": "lint", "built_at": None, "as_of_changed": False, "as_of_prev": None,
            "loaded_max": None, "loaded_rows": None, "loaded_at": None, "unchanged": False}


class _Namespace:
    """``sbdk.x(...)``/``dbt.x(...)``: the listed stand-ins, else a generic call."""

    # Jinja's sandbox consults these before calling anything.
    unsafe_callable = False
    alters_data = False

    def __init__(self, prefix: str, members: dict[str, Any]) -> None:
        self._prefix = prefix
        self._members = members

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._members.get(name) or _call(f"{self._prefix}_{name}")


sbdk = _Namespace(
    "sbdk",
    {
        "raw_column_types": lambda relation, required_columns=(): {},
        "number_var": _const("1"),
        "as_of_date_string": _const(AS_OF_DATE),
        "as_of_date": _const(f"cast('{AS_OF_DATE}' as date)"),
        "as_of_end_timestamp": _const("cast('2026-01-01 00:00:00' as timestamp)"),
        "run_timestamp": _const(f"cast('{AS_OF_DATE} 00:00:00' as timestamp)"),
        "type_double": _const("double"),
        "type_money": _const("decimal(18, 2)"),
        "type_money_sum": _const("decimal(38, 2)"),
        "day_spine": _const("select cast(null as date) as date_day"),
        "integer_range": _const("select 0 as n"),
        # incremental builds: the full-refresh branch is linted (the dbt templater as well)
        "incremental_plan": lambda raw_relation=None: _full_refresh_plan(),
        "whole_table_plan": _full_refresh_plan,
        "plan_marker": _const("/* sbdk incremental plan */"),
        "snapshot_hooks": lambda: {"pre": [], "post": []},
        "users_rewritten_since": lambda relation, plan: f"select user_id from {relation}",
        "as_of_band": lambda column, plan: f"{column} is not null",
        "loaded_after_watermark": _const("true"),
        "rewritten_since": _const("true"),
    },
)

dbt = _Namespace(
    "dbt",
    {
        "type_bigint": _const("bigint"),
        "type_int": _const("integer"),
        "type_string": _const("varchar"),
        "type_timestamp": _const("timestamp"),
        "type_float": _const("float"),
        "type_numeric": _const("numeric"),
        "type_boolean": _const("boolean"),
        "date_trunc": lambda datepart, date: f"date_trunc('{datepart}', {date})",
        "datediff": lambda first, second, datepart: f"date_diff('{datepart}', {first}, {second})",
        "dateadd": lambda datepart, interval, date: f"date_add({date}, {interval} * interval 1 {datepart})",
    },
)

adapter = _Namespace(
    "adapter",
    {
        "quote": lambda identifier: f'"{identifier}"',
        "get_columns_in_relation": lambda relation: [],
        "dispatch": lambda name, macro_namespace=None: _call(f"{macro_namespace or 'dbt'}_{name}"),
    },
)

#: Parsing, not running: code under ``{% if execute %}`` is skipped, as in ``dbt parse``.
execute = False
