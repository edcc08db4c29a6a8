"""The ``--engine`` and ``--slow`` options of the test suite (a plugin loaded through
``addopts``, so the options exist whatever paths pytest is given).

``pytest --engine postgres`` (or ``spark``) runs the SQL-facing tests marked
``engines(<name>)`` on that engine and deselects the rest; the default, DuckDB,
runs everything not marked slow.

Tests marked ``slow`` (whole ``sbdk run`` commands under signals and full disks, the
wheel in a fresh virtual environment, the consumer project, the incremental builds'
batch and fault tests, lint, MetricFlow's command) run only with ``--slow``: ``pytest
-n auto`` is the quick loop, ``pytest -n auto --slow`` the whole suite (what CI and the
README's quick start run).
"""

from __future__ import annotations

import os

import pytest

from sbdk.engines import ENGINES


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine", choices=list(ENGINES), default=os.environ.get("SBDK_TEST_ENGINE", "duckdb"),
        help="warehouse the SQL tests build on (default duckdb, or $SBDK_TEST_ENGINE); with postgres "
             "or spark only the tests marked engines(<name>) run",
    )
    parser.addoption(
        "--slow", action="store_true", default=False,
        help="also run the tests marked slow: the whole suite (without it they are deselected, also "
             "from the files named on the command line)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "engines(*names, duckdb=True): besides DuckDB (unless duckdb=False), the engines this test "
        "also runs on (--engine NAME)"
    )
    config.addinivalue_line(
        "markers", "slow: a test of whole commands or environments (tens of seconds); runs only with --slow"
    )
    config.addinivalue_line(
        "markers", "metricflow: needs MetricFlow (the `metrics` extra, dbt-core 1.11 or later); the tox "
        "cells of dbt 1.10 deselect it"
    )


def _runs_on(item: pytest.Item, engine: str) -> bool:
    marker = item.get_closest_marker("engines")
    unknown = sorted(set(marker.args) - set(ENGINES)) if marker is not None else []
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: engines({', '.join(map(repr, unknown))}): no such engine; "
                                f"sbdk.engines.ENGINES has {', '.join(ENGINES)}")
    if engine == "duckdb":  # everything, except the tests that compare another engine with DuckDB
        return marker is None or marker.kwargs.get("duckdb", True)
    return marker is not None and engine in marker.args


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = config.getoption("--engine")
    slow = config.getoption("--slow")
    drop = [item for item in items
            if not _runs_on(item, engine) or (not slow and item.get_closest_marker("slow") is not None)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        dropped = set(map(id, drop))
        items[:] = [item for item in items if id(item) not in dropped]
