"""Incremental builds equal a full refresh (SPEC, "Incremental builds"; docs/incremental.md).

Generated data is cut into arrival batches, each row stamped with its batch's loaded-at time:
late events and orders, late users whose events arrived first, late copies of an id (earlier
timestamps among them, some under another user), duplicate emails arriving with an earlier
`created_at`, re-delivered identical rows, and events that bridge two sessions, since a user's
events arrive in random batches. After every batch one ordinary `dbt build` runs on the same
warehouse, with `as_of_date` moving forward a day, once unchanged and once backwards. Every
model must then equal the reference implementation on the raw rows loaded so far, and (on
DuckDB, where the warehouse is a file to copy) a `--full-refresh` of a copy. At the end, a
build with nothing new must change no row (`dbt_updated_at` included), one a day later with
nothing new must equal the reference, and a `--full-refresh` must give the same rows as the
incremental builds.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from harness import (
    HARNESS_AS_OF_DATE,
    RAW_TABLES,
    assert_equals_reference,
    read_raw_rows,
    text_tables,
)
from sbdk.engines import MODEL_SCHEMA, DuckDBEngine
from sbdk.generate import generate
from sbdk.project import DbtProject, _passed_to_dbt
from warehouse import load_raw

AS_OF = date.fromisoformat(HARNESS_AS_OF_DATE)
#: as_of_date of the build after each batch: forward a day at a time, once unchanged, once back
AS_OFS = [AS_OF - timedelta(days=d) for d in (5, 4, 3, 3, 4, 0)]
BATCHES = len(AS_OFS)
FIRST_LOAD = datetime(2026, 1, 1, 6)


def _loaded_at(batch: int) -> str:
    return (FIRST_LOAD + timedelta(days=batch - 1)).isoformat(sep=" ")


def _arrivals(raw: dict[str, list[dict]], seed: int) -> dict[str, list[tuple[int, dict]]]:
    """Every raw row with the batch it arrives in, plus late rows made to be hard."""
    rng = random.Random(seed)
    out: dict[str, list[tuple[int, dict]]] = {t: [] for t in RAW_TABLES}
    for table, rows in raw.items():
        for row in rows:
            batch = rng.randint(1, BATCHES)
            out[table].append((batch, row))
            if batch < BATCHES and rng.random() < 0.02:  # re-delivered, identical
                out[table].append((rng.randint(batch + 1, BATCHES), row))
    users = [r for r in raw["raw_users"] if r["user_id"] is not None and _iso(r["created_at"])]
    events = [r for r in raw["raw_events"] if r["event_id"] is not None and _iso(r["timestamp"])]
    orders = [r for r in raw["raw_orders"] if r["order_id"] is not None and _iso(r["created_at"])]
    for row in rng.sample(events, 25):  # a late, earlier copy under another user
        other = rng.choice(users)["user_id"]
        out["raw_events"].append((rng.randint(3, BATCHES), {
            **row, "user_id": other, "timestamp": _earlier(row["timestamp"], minutes=1)}))
    for row in rng.sample(orders, 10):
        other = rng.choice(users)["user_id"]
        out["raw_orders"].append((rng.randint(3, BATCHES), {
            **row, "user_id": other, "created_at": _earlier(row["created_at"], minutes=1)}))
    top = max(int(str(r["user_id"]).strip()) for r in users if str(r["user_id"]).strip().isdigit())
    for i, row in enumerate(rng.sample([u for u in users if u["email"]], 15)):  # same email, earlier
        out["raw_users"].append((rng.randint(2, BATCHES), {
            **row, "user_id": top + 1 + i, "email": f"  {str(row['email']).upper()} ",
            "created_at": _earlier(row["created_at"], minutes=24 * 60)}))
    return out


def _iso(value: object) -> bool:
    """Whether a raw timestamp is one the late copies can be made earlier from (dirty ones are not)."""
    if isinstance(value, datetime):
        return True
    try:
        datetime.fromisoformat(str(value).replace("Z", ""))
    except ValueError:
        return False
    return True


def _earlier(value: object, *, minutes: int) -> str:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", ""))
    return (stamp - timedelta(minutes=minutes)).isoformat(sep=" ")


def _loaded_until(arrivals: dict[str, list[tuple[int, dict]]], batch: int) -> dict[str, list[dict]]:
    """The raw rows loaded by the end of ``batch``, as the text the warehouse is given."""
    return {t: [{**{k: None if v is None else str(v) for k, v in row.items()}, "_loaded_at": _loaded_at(b)}
                for b, row in rows if b <= batch]
            for t, rows in arrivals.items()}


def _without_loaded_at(raw: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {t: [{k: v for k, v in row.items() if k != "_loaded_at"} for row in rows] for t, rows in raw.items()}


def _build(project, engine, as_of: date, *extra: str):
    vars_ = {**project.vars, "as_of_date": as_of.isoformat()}
    return project.build(engine, "--vars", json.dumps(vars_, sort_keys=True), *extra)


def _assert_ok(outcome) -> None:
    errors = [str(e) for e in outcome.errors]
    assert not errors, "dbt build failed:\n  " + "\n  ".join(errors)


def _models(project) -> list[str]:
    manifest = project.parse()
    return sorted(n.name for n in manifest.nodes.values() if n.resource_type == "model" and n.package_name == "sbdk")


def _all_rows(engine, models) -> dict[str, list[tuple]]:
    """Every row of every model, dbt_updated_at included, as sorted tuples."""
    out = {}
    for model in models:
        rows = engine.rows(f"select * from {MODEL_SCHEMA}.{model}")
        out[model] = sorted(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)
    return out


@pytest.mark.slow
@pytest.mark.engines("postgres")
def test_incremental_builds_equal_the_reference_after_every_batch(dbt_project, engine, tmp_path) -> None:
    raw_file = tmp_path / "generated.duckdb"
    generate(700, db_path=raw_file, seed=31, end=AS_OF, dirty=0.12)
    arrivals = _arrivals(read_raw_rows(raw_file), seed=31)
    models = _models(dbt_project)

    for batch, as_of in enumerate(AS_OFS, start=1):
        raw = _loaded_until(arrivals, batch)
        load_raw(engine, text_tables(raw))
        outcome = _build(dbt_project, engine, as_of)
        _assert_ok(outcome)
        assert_equals_reference(engine, raw, as_of, f"after batch {batch} (as_of_date {as_of})")
        if isinstance(engine, DuckDBEngine):  # and a full refresh of a copy gives the same rows
            copy = DuckDBEngine(tmp_path / f"full-refresh-{batch}" / engine.path.name)
            copy.path.parent.mkdir()
            for suffix in ("", ".wal"):  # the write-ahead log too, should a build have left one
                if Path(f"{engine.path}{suffix}").exists():
                    shutil.copyfile(f"{engine.path}{suffix}", f"{copy.path}{suffix}")
            _assert_a_full_refresh_changes_nothing(dbt_project, copy, as_of)

    # Rows the last builds did not need to recompute kept their dbt_updated_at.
    stamps = engine.rows(f"select count(distinct dbt_updated_at) as n from {MODEL_SCHEMA}.stg_events")[0]["n"]
    assert stamps > 1, "every stg_events row was rewritten by the last build: it was not incremental"

    # Nothing new, same vars: no row changes, dbt_updated_at included.
    before = _all_rows(engine, models)
    _assert_ok(_build(dbt_project, engine, AS_OFS[-1]))
    assert _all_rows(engine, models) == before, "a build with nothing new changed rows"

    # The next day with nothing new: only what depends on as_of_date changes.
    next_day = AS_OFS[-1] + timedelta(days=1)
    _assert_ok(_build(dbt_project, engine, next_day))
    assert_equals_reference(engine, raw, next_day, f"a day later with nothing new (as_of_date {next_day})")

    # A full refresh of the same raw rows gives the same rows.
    _assert_a_full_refresh_changes_nothing(dbt_project, engine, next_day)


def _assert_a_full_refresh_changes_nothing(project, engine, as_of: date) -> None:
    """A `--full-refresh` of the same raw rows gives the rows the builds before it left."""
    models = _models(project)
    strip = lambda rows: sorted(tuple(kv for kv in r if kv[0] != "dbt_updated_at") for r in rows)  # noqa: E731
    before = {m: strip(rows) for m, rows in _all_rows(engine, models).items()}
    _assert_ok(_build(project, engine, as_of, "--full-refresh"))
    after = {m: strip(rows) for m, rows in _all_rows(engine, models).items()}
    differ = [m for m in models if after[m] != before[m]]
    assert not differ, f"as of {as_of}, a full refresh differs from the incremental builds in {', '.join(differ)}"




def _load(engine, raw: dict[str, list[dict]], *, drop: dict[str, list[str]] | None = None) -> None:
    tables = text_tables(raw)
    for table, columns in (drop or {}).items():
        tables[table] = tables[table].drop_columns(columns)
    load_raw(engine, tables)


@pytest.mark.slow
@pytest.mark.engines("postgres")
def test_failed_builds_and_history_changes_end_in_the_reference(dbt_project, engine, tmp_path) -> None:
    """A build that fails half-way, a threshold var that rewrites history, a deleted raw row and
    raw tables without the loaded-at column: after each, the next ordinary build equals the
    reference (SPEC, "Incremental builds": never a mixed result)."""
    raw_file = tmp_path / "generated.duckdb"
    generate(250, db_path=raw_file, seed=32, end=AS_OF, dirty=0.12)
    arrivals = _arrivals(read_raw_rows(raw_file), seed=32)
    as_of = AS_OFS[0]

    raw = _loaded_until(arrivals, 2)
    _load(engine, raw)
    _assert_ok(_build(dbt_project, engine, as_of))

    # Batch 3 arrives, but raw_orders has lost a column: stg_orders fails (and what reads it is
    # skipped) while stg_users, stg_events and the models on them build. raw_orders comes back:
    # the next build equals the reference.
    raw = _loaded_until(arrivals, 3)
    _load(engine, raw, drop={"raw_orders": ["amount"]})
    failed = _build(dbt_project, engine, as_of)
    assert any("stg_orders" in str(e) for e in failed.errors), failed.errors
    _load(engine, raw)
    _assert_ok(_build(dbt_project, engine, as_of))
    assert_equals_reference(engine, raw, as_of, "after a failed build and a normal one")

    # A threshold var rewrites every user's sessions: the build rebuilds in full by itself.
    raw = _loaded_until(arrivals, 4)
    _load(engine, raw)
    timeout = {"session_timeout_minutes": 7}
    _assert_ok(_build_with(dbt_project, engine, as_of, timeout))
    assert_equals_reference(engine, raw, as_of, "after session_timeout_minutes changed", timeout)

    # Raw rows deleted (and batch 5 loaded): detected, rebuilt in full. One user loses its
    # raw_users rows (its events become unknown_user), another all its events (its sessions
    # and activity go): neither has a row left for the models downstream to find it by.
    raw = _loaded_until(arrivals, 5)
    with_events = sorted({str(r["user_id"]) for r in raw["raw_events"]} & {str(r["user_id"]) for r in raw["raw_users"]})
    gone_user, gone_events = with_events[0], with_events[-1]
    raw["raw_users"] = [r for r in raw["raw_users"] if str(r["user_id"]) != gone_user]
    raw["raw_events"] = [r for r in raw["raw_events"][1:] if str(r["user_id"]) != gone_events]
    _load(engine, raw)
    _assert_ok(_build_with(dbt_project, engine, as_of, timeout))
    assert_equals_reference(engine, raw, as_of, "after raw rows were deleted", timeout)

    # Raw tables without the loaded-at column: built in full, still right.
    raw = _without_loaded_at(_loaded_until(arrivals, BATCHES))
    _load(engine, raw)
    _assert_ok(_build_with(dbt_project, engine, as_of, timeout))
    assert_equals_reference(engine, raw, as_of, "raw tables without _loaded_at", timeout)


@pytest.mark.slow
@pytest.mark.engines("postgres")
def test_a_build_killed_mid_way_then_a_normal_one_equals_the_reference(dbt_project, engine, tmp_path) -> None:
    """kill -9 of an incremental `dbt build` once stg_events is written (its state with it, in
    the model's transaction) and before the models reading it: the next ordinary build
    catches them up and equals the reference, then a full refresh gives the same rows."""
    raw_file = tmp_path / "generated.duckdb"
    generate(250, db_path=raw_file, seed=34, end=AS_OF, dirty=0.12)
    arrivals = _arrivals(read_raw_rows(raw_file), seed=34)
    as_of = AS_OFS[0]
    _load(engine, _loaded_until(arrivals, 3))
    _assert_ok(_build(dbt_project, engine, as_of))

    raw = _loaded_until(arrivals, BATCHES)
    _load(engine, raw)
    built_before = _built_at(engine)
    killed = DbtProject(tmp_path / "killed", {**dbt_project.vars, "as_of_date": as_of.isoformat()},
                        project_dir=dbt_project.project_dir, extra_args=["--threads", "1", "--no-write-json"],
                        target=dbt_project.target, console_log_level="info")
    env = {**{k: v for k, v in os.environ.items() if _passed_to_dbt(k)}, **engine.dbt_env(),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    written = threading.Event()
    lines: list[str] = []

    def read(stream) -> None:
        for line in stream:
            lines.append(line.rstrip())
            if re.search(r"OK created .*model \S*stg_events\b", line):
                written.set()

    with subprocess.Popen([str(Path(sys.executable).parent / "dbt"), *killed._args("build")],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        reader = threading.Thread(target=read, args=(proc.stdout,), daemon=True)
        reader.start()
        try:
            written.wait(timeout=300)
        finally:
            proc.kill()
            proc.wait(timeout=60)
        reader.join(timeout=60)
    assert written.is_set() and proc.returncode == -signal.SIGKILL, (
        "the build did not reach stg_events, or ended before the kill:\n" + "\n".join(lines[-5:]))
    built_after = _built_at(engine)
    assert built_after["stg_events"] > built_before["stg_events"], "the killed build's stg_events state was not kept"
    assert built_after["int_event_sessions"] == built_before["int_event_sessions"], (
        "the kill came after int_event_sessions was built: nothing was left to catch up")

    _assert_ok(_build(dbt_project, engine, as_of))
    assert_equals_reference(engine, raw, as_of, "after a killed build and a normal one")
    _assert_a_full_refresh_changes_nothing(dbt_project, engine, as_of)


def _built_at(engine) -> dict[str, object]:
    """When each model's state was last written (the package's state table)."""
    rows = engine.rows(f"select model_name, built_at from {MODEL_SCHEMA}.sbdk_incremental_state")
    return {r["model_name"]: r["built_at"] for r in rows}


@pytest.mark.slow
@pytest.mark.engines("postgres")
def test_the_as_of_date_alone_moving_into_the_next_month_updates_what_depends_on_it(
        dbt_project, engine, tmp_path) -> None:
    # clean data ending at AS_OF: no raw row lies after it, so no staging row changes when the
    # date moves on; what depends on the date itself (days since, cohort months) must
    raw_file = tmp_path / "generated.duckdb"
    generate(120, db_path=raw_file, seed=33, end=AS_OF)
    raw = _loaded_until(_arrivals(read_raw_rows(raw_file), seed=33), BATCHES)
    _load(engine, raw)
    _assert_ok(_build(dbt_project, engine, AS_OF))
    later = AS_OF + timedelta(days=40)
    _assert_ok(_build(dbt_project, engine, later))
    assert_equals_reference(engine, raw, later, f"as_of_date moved alone to {later}")


def _build_with(project, engine, as_of: date, extra_vars: dict):
    vars_ = {**project.vars, **extra_vars, "as_of_date": as_of.isoformat()}
    return project.build(engine, "--vars", json.dumps(vars_, sort_keys=True))


def test_the_package_version_macro_is_the_dbt_project_version() -> None:
    # the version is part of the settings hash: a release must rebuild what an older one built
    root = Path(__file__).resolve().parents[1]
    project_version = yaml.safe_load((root / "dbt_project.yml").read_text())["version"]
    macro = (root / "macros" / "incremental" / "state.sql").read_text()
    found = re.search(r"macro package_version\(\).*?return\('([^']+)'\)", macro, re.S)
    assert found, "macros/incremental/state.sql: no package_version() macro"
    assert found.group(1) == project_version
