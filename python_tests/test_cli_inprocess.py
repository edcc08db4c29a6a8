"""The argument layer, the pipeline and the summary in this process (what `sbdk` does
through them is tested end to end in test_cli.py)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sbdk.contract import TABLE_NAMES
from sbdk.options import (
    DEFAULT_END,
    GenerateSettings,
    RunSettings,
    UsageError,
    build_parser,
    memory_limit,
    resolve_db,
    run_dates,
    settings_from,
)
from sbdk.pipeline import generate_raw
from sbdk.summary import format_table


def test_run_dates_default_to_each_other() -> None:
    assert run_dates(None, None) == (DEFAULT_END, DEFAULT_END)
    assert run_dates(date(2025, 6, 30), None) == (date(2025, 6, 30), date(2025, 6, 30))
    assert run_dates(None, date(2025, 3, 1)) == (date(2025, 3, 1), date(2025, 3, 1))
    assert run_dates(date(2025, 3, 1), date(2025, 4, 1)) == (date(2025, 3, 1), date(2025, 4, 1))
    with pytest.raises(UsageError, match="future_timestamp") as caught:
        run_dates(date(2025, 4, 1), date(2025, 3, 1))
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("text", ["none", "NONE", " None "])
def test_memory_limit_none_means_no_limit(text: str) -> None:
    assert memory_limit(text) == "none"  # the word DuckDB reads as no limit (lower case only)


@pytest.mark.parametrize("text", ["nothing", "0GB", "-1GB", ""])
def test_memory_limit_refuses_what_is_no_size(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        memory_limit(text)


@pytest.mark.parametrize(("duckdb_version", "limit", "expected"), [
    ("1.5.6", "50%", "4096MiB"),     # DuckDB 1.x has no % unit: half of 8 GiB
    ("1.1.0", "12.5 %", "1024MiB"),
    ("1.5.6", "0.0001%", "64MiB"),   # never below the smallest limit a build gets
    ("1.5.6", "3GB", "3GB"),
    ("1.5.6", "none", "none"),
    ("2.0.1", "50%", "50%"),         # DuckDB 2 reads the share itself
])
def test_a_share_of_the_memory_becomes_a_size_for_duckdb_1(monkeypatch: pytest.MonkeyPatch, duckdb_version: str,
                                                           limit: str, expected: str) -> None:
    import sbdk.engines

    monkeypatch.setattr(duckdb, "__version__", duckdb_version)
    monkeypatch.setattr(sbdk.engines, "_memory_bytes", lambda: 8 * 2**30)
    assert sbdk.engines.duckdb_memory_setting(limit) == expected
    assert sbdk.engines.DuckDBEngine("x.duckdb", memory_limit=limit).dbt_env()["SBDK_DUCKDB_MEMORY_LIMIT"] == expected


def test_the_memory_of_this_machine_is_known() -> None:
    import os

    from sbdk.engines import _memory_bytes

    total = _memory_bytes()
    assert total is not None and 2**28 < total <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_the_database_is_resolved_once_into_the_settings(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert resolve_db(None, {}) == Path("sbdk.duckdb")
    assert resolve_db(None, {"SBDK_DUCKDB_PATH": "x.duckdb"}) == Path("x.duckdb")
    assert resolve_db("given.duckdb", {"SBDK_DUCKDB_PATH": "x.duckdb"}) == Path("given.duckdb")
    with pytest.raises(UsageError, match=r"\$SBDK_DUCKDB_PATH is empty"):
        resolve_db(None, {"SBDK_DUCKDB_PATH": " "})
    args = build_parser().parse_args(["run", "--db", str(tmp_path / "a.duckdb"), "--as-of", "2025-05-01"])
    settings = settings_from(args)
    assert isinstance(settings, RunSettings)
    assert (settings.db, settings.end, settings.as_of) == (Path(home) / "a.duckdb", date(2025, 5, 1), date(2025, 5, 1))


def test_generate_raw_in_process(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "raw.duckdb"
    generated = generate_raw(GenerateSettings(db=db, users=20, seed=3, schema="landing", dirty=0.2))
    result = generated.result
    with duckdb.connect(str(db), read_only=True) as conn:
        counts = {t: conn.execute(f"select count(*) from landing.{t}").fetchone()[0] for t in TABLE_NAMES}
    assert counts == result.row_counts
    assert counts["raw_users"] >= 20  # dirty mode adds duplicates
    # with injected problems, the expected flags account for every row written
    assert result.injected and {t: sum(f.values()) for t, f in generated.expected_flags.items()} == counts
    assert not (tmp_path / "sub" / "raw.duckdb.lock").exists(), "the lock is released (its file removed)"


def test_format_table_aligns_numbers_right_and_text_left() -> None:
    assert format_table(["name", "rows"], [["a", "1,000"], ["longer", "7"]]) == [
        "name    rows",  # a header is text: left-aligned
        "------  -----",
        "a       1,000",
        "longer      7",
    ]


def test_run_settings_apply_the_date_rules(tmp_path: Path) -> None:
    """In-process settings follow the command line's rules: each date defaults to the other,
    an as-of date before the end is refused."""
    assert RunSettings(tmp_path / "a.duckdb", as_of=date(2025, 6, 30)).end == date(2025, 6, 30)
    assert RunSettings(tmp_path / "a.duckdb", end=date(2025, 3, 1)).as_of == date(2025, 3, 1)
    assert RunSettings(tmp_path / "a.duckdb").as_of == DEFAULT_END
    with pytest.raises(UsageError, match="before --end"):
        RunSettings(tmp_path / "a.duckdb", end=date(2025, 4, 1), as_of=date(2025, 3, 1))
