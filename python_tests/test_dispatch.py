"""Engines the package does not support fail clearly: every dispatched rule whose SQL is
PostgreSQL-only (its `default__` calls sbdk._no_engine_implementation) fails the compile
with one line naming the rule and the adapter, instead of an SQL error of the warehouse.

The package's macros are rendered in-process from the parsed manifest (one dbt parse, the
session's), with dbt's own dispatch; only the adapter type and its parent adapters (what
dbt's dispatch searches: `<type>__`, each parent's, then `default__`) are faked. The parents
are those of the real dbt plugins: dbt-redshift depends on dbt-postgres and dbt-databricks
on dbt-spark, so Redshift falls back to `postgres__` and Databricks to `spark__`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from unittest import mock

import pytest

#: adapter type -> the type names dbt's dispatch searches before `default`
ADAPTER_TYPES = {
    "duckdb": ["duckdb"],
    "postgres": ["postgres"],
    "spark": ["spark"],
    "databricks": ["databricks", "spark"],
    "redshift": ["redshift", "postgres"],
    "trino": ["trino"],
    "snowflake": ["snowflake"],
}

#: dispatched rule -> a call of the public macro that reaches it
CALLS: dict[str, tuple[str, tuple]] = {
    "day_of_week": ("day_of_week", ("event_at",)),
    "day_spine": ("day_spine", ("bounds",)),
    "integer_range": ("integer_range", ("bounds",)),
    "median": ("median", ("amount",)),
    "seconds_between": ("seconds_between", ("started_at", "ended_at")),
    "parse_id_text": ("parse_id", ("user_id", "varchar")),
    "parse_integral_number": ("parse_id", ("user_id", "double")),
    "parse_amount_text": ("parse_amount", ("amount",)),
    "parse_timestamp_text": ("parse_timestamp", ("created_at", "varchar")),
}

#: the rules whose PostgreSQL SQL is wrong on Redshift (the others reuse postgres__ there)
NOT_ON_REDSHIFT = {
    "day_spine", "integer_range", "seconds_between",
    "parse_id_text", "parse_integral_number", "parse_amount_text", "parse_timestamp_text",
}

MESSAGE = "sbdk.{rule} has no implementation for adapter '{adapter}'; see CONTRIBUTING.md, Adding an engine"


@pytest.fixture(scope="module")
def render(dbt_project) -> Callable:
    """``render(adapter_type)``: a context manager giving the macro context of the parsed
    package as if the adapter were of that type."""
    from dbt.adapters.factory import FACTORY
    from dbt.context import providers

    manifest = dbt_project.parse()
    adapter = FACTORY.adapters[dbt_project.target]

    @contextmanager
    def as_adapter(adapter_type: str) -> Iterator[dict]:
        with mock.patch.object(adapter, "type", lambda: adapter_type), \
                mock.patch.object(providers, "get_adapter_type_names", lambda name: ADAPTER_TYPES[name]):
            yield providers.generate_runtime_macro_context(
                manifest.macros["macro.sbdk.parse_id"], adapter.config, manifest, "sbdk")

    as_adapter.manifest = manifest
    return as_adapter


def _unportable_rules(manifest) -> dict[str, set[str]]:
    """prefix (default, redshift) -> the rules whose implementation of that prefix raises."""
    found: dict[str, set[str]] = {"default": set(), "redshift": set()}
    for macro in manifest.macros.values():
        m = re.fullmatch(r"(default|redshift)__(\w+)", macro.name)
        if macro.package_name == "sbdk" and m and "sbdk._no_engine_implementation(" in macro.macro_sql:
            named = re.search(r"_no_engine_implementation\('(\w+)'\)", macro.macro_sql)
            assert named and named.group(1) == m.group(2), f"{macro.name} names another rule in its error"
            found[m.group(1)].add(m.group(2))
    return found


def test_every_unportable_rule_is_exercised(render) -> None:
    found = _unportable_rules(render.manifest)
    assert sorted(found["default"]) == sorted(CALLS)
    assert sorted(found["redshift"]) == sorted(NOT_ON_REDSHIFT)


@pytest.mark.parametrize("adapter_type", ["trino", "snowflake", "redshift"])
@pytest.mark.parametrize("rule", sorted(CALLS))
def test_unsupported_engine_fails_naming_the_rule(render, adapter_type: str, rule: str) -> None:
    from dbt_common.exceptions import CompilationError

    public, args = CALLS[rule]
    with render(adapter_type) as ctx:
        if adapter_type == "redshift" and rule not in NOT_ON_REDSHIFT:
            with render("postgres") as pg_ctx:
                assert ctx["sbdk"][public](*args) == pg_ctx["sbdk"][public](*args)
            return
        with pytest.raises(CompilationError) as failure:
            ctx["sbdk"][public](*args)
    lines = [line.strip() for line in str(failure.value).splitlines()]
    assert MESSAGE.format(rule=rule, adapter=adapter_type) in lines


@pytest.mark.parametrize(("adapter_type", "implementation"), [
    ("duckdb", "duckdb"), ("postgres", "postgres"), ("spark", "spark"), ("databricks", "spark"),
])
@pytest.mark.parametrize("rule", sorted(CALLS))
def test_supported_engine_uses_its_own_implementation(render, adapter_type: str, implementation: str,
                                                      rule: str) -> None:
    with render(adapter_type) as ctx:
        resolved = ctx["adapter"].dispatch(rule, "sbdk")
        assert resolved.get_name() == f"{implementation}__{rule}"
        public, args = CALLS[rule]
        assert ctx["sbdk"][public](*args).strip()
