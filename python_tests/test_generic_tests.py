"""The package's generic tests (macros/generic_tests/) fail on data that violates them.

A consumer's dbt project, written into a temporary folder per worker, installs the package
through packages.yml (`local:` the package's folder, `sbdk.project.find_project_dir()`, so
the mutation run tests its mutated copy) and attaches `sbdk.accepted_range`,
`sbdk.unique_combination_of_columns`, ... to relations of its own: for each test one
relation that passes and relations built to fail it in each way it can. One `dbt build
--store-failures` per worker builds them all; each test's status, its number of failing
rows and the failing rows themselves (read back from the audit tables) are compared with
rows worked out by hand from the inputs below. Built on DuckDB and on PostgreSQL
(`--engine postgres`).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from consumer_projects import consumer_warehouse, run_dbt
from sbdk.engines import Engine, PostgresEngine
from sbdk.project import find_project_dir
from warehouse import drop_schemas

pytestmark = pytest.mark.engines("postgres")

PACKAGE_DIR = find_project_dir()
PROJECT_NAME = "sbdk_generic_tests"
#: the consumer's schema on PostgreSQL (DuckDB: main); --store-failures writes to <schema>_dbt_test__audit
PG_SCHEMA = "generic_tests"
#: the consumer's var max_session_duration_hours (the package's default is 12)
SESSION_HOURS_VAR = 10

D = Decimal
T = datetime


# ---------------------------------------------------------------- the consumer's relations
#
# Each relation: its columns (name, SQL type) and its rows, written as
# `select cast(<value> as <type>) as <column>, ... union all ...` (a table, or a view for
# contract_nulls). The same types on both engines: DuckDB reads text, varchar(n) and
# char(n) as VARCHAR, PostgreSQL keeps three text types.

RELATIONS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[tuple[Any, ...], ...]]] = {
    # accepted_range
    "range_values": ((("id", "integer"), ("amount", "integer")), (
        (1, -1), (2, 0), (3, 5), (4, 10), (5, 11), (6, None),
    )),
    "range_ok": ((("id", "integer"), ("amount", "integer")), (
        (1, 0), (2, 10), (3, 5), (4, None),
    )),
    # unique_combination_of_columns
    "combo_values": ((("user_id", "integer"), ("day", "text")), (
        (1, "a"), (1, "a"), (1, "b"), (2, "a"),
        (3, None), (3, None), (4, None),
        (None, "c"), (None, "c"), (None, "c"), (None, "d"),
    )),
    "combo_ok": ((("user_id", "integer"), ("day", "text")), (
        (1, "a"), (1, "b"), (2, "a"), (3, None), (None, "a"), (None, None),
    )),
    # valid_event_sequence
    "seq_users": ((("user_id", "integer"), ("created_at", "timestamp"), ("data_quality_flag", "text")), (
        (1, T(2025, 1, 10), "valid"),
        (2, T(2025, 1, 10), "duplicate_user"),
        (3, T(2025, 1, 10, 12), "valid"),
    )),
    "seq_events": ((("event_id", "integer"), ("user_id", "integer"), ("event_timestamp", "timestamp"),
                    ("data_quality_flag", "text")), (
        (1, 1, T(2025, 1, 9, 23, 59, 59), "valid"),          # a second before the signup: fails
        (2, 1, T(2025, 1, 10), "valid"),                     # at the signup itself
        (3, 1, T(2025, 1, 9), "invalid_event_type"),         # before, but not a valid event
        (4, 2, T(2025, 1, 1), "valid"),                      # before the signup of a user who is not valid
        (5, 3, T(2025, 1, 10, 11), "valid"),                 # an hour before the signup: fails
        (6, 99, T(2000, 1, 1), "valid"),                     # no such user
        (7, 3, T(2025, 1, 11), "valid"),
        (8, None, T(2000, 1, 1), "valid"),
    )),
    "seq_ok_events": ((("event_id", "integer"), ("user_id", "integer"), ("event_timestamp", "timestamp"),
                       ("data_quality_flag", "text")), (
        (1, 1, T(2025, 1, 10), "valid"),
        (2, 3, T(2025, 1, 10, 12), "valid"),
        (3, 1, T(2025, 1, 1), "invalid_event_type"),
        (4, 2, T(2025, 1, 1), "valid"),
    )),
    # valid_event_sequence with its optional arguments: other column names
    "seq_signups": ((("user_id", "integer"), ("signed_up_at", "timestamp"), ("quality", "text")), (
        (1, T(2025, 3, 1), "valid"),
        (2, T(2025, 3, 1), "valid"),
    )),
    "seq_clicks": ((("user_id", "integer"), ("clicked_at", "timestamp"), ("quality", "text")), (
        (1, T(2025, 2, 28), "valid"),                        # fails
        (2, T(2025, 2, 28), "missing_user"),
        (2, T(2025, 3, 2), "valid"),
    )),
    # reasonable_session_duration
    "session_lengths": ((("session_id", "integer"), ("duration_minutes", "numeric(7, 1)")), (
        (1, D("60.0")), (2, D("90.0")), (3, D("90.5")), (4, D("600.0")), (5, D("600.5")), (6, D("1000.0")),
        (7, None),
    )),
    "session_ok": ((("session_id", "integer"), ("duration_minutes", "numeric(7, 1)")), (
        (1, D("0.0")), (2, D("600.0")), (3, None),
    )),
    # values_parse: text columns, one kind each
    "parse_ids": ((("value", "text"),), (
        ("42",), (" -7 ",), ("+3",), ("007",), ("9223372036854775807",), ("-9223372036854775808",),
        ("4.2",), ("abc",), ("12a",), ("9223372036854775808",), ("1e3",), ("- 5",),
        ("",), ("   ",), (None,),
    )),
    "parse_timestamps": ((("value", "text"),), (
        ("2025-01-15",), ("2025-01-15 10:30",), ("2025-01-15T10:30:00Z",),
        ("2025-01-15T10:30:00.123456+02:00",), (" 2024-02-29 ",), ("0001-01-01",),
        ("2025-02-30",), ("2023-02-29",), ("2025-13-01",), ("2025-01-15 24:00",), ("15/01/2025",),
        ("yesterday",), ("2025-01-15T10:30:00+0200",), ("0000-01-01",), ("2025-01-15T10:30:00.1234567",),
        ("",), (None,),
    )),
    "parse_amounts": ((("value", "text"),), (
        ("19.99",), (" 5 ",), ("-3",), ("+0.5",), (".5",), ("5.",), ("1e2",), ("1.5E-3",),
        ("99999999999999999999",),
        ("1,000",), ("$5",), ("abc",), ("1e",), (".",), ("1.2.3",), ("100000000000000000000",), ("--1",),
        ("",), (None,),
    )),
    # values_parse: typed columns
    "parse_typed": ((("id_number", "float8"), ("id_integer", "bigint"), ("ts", "timestamp")), (
        (17.0, 1, T(2025, 1, 15)),
        (17.5, 2, T(2025, 1, 16)),
    )),
    "parse_ok": ((("id", "text"), ("ts", "text"), ("amount", "text")), (
        ("42", "2025-01-15", "19.99"),
        (" -7 ", "2025-01-15T10:30:00Z", "1e2"),
    )),
    # contract_not_null (a view: no engine enforces constraints on a view)
    "contract_nulls": ((("id", "integer"), ("a", "integer"), ("b", "integer"), ("c", "integer")), (
        (1, None, 5, None),
        (2, None, None, None),
        (3, 7, 8, 9),
    )),
    "contract_ok": ((("id", "integer"), ("a", "integer")), (
        (1, 2), (3, 4),
    )),
    # no_personal_data
    "pii_values": ((("id", "integer"), ("t", "text"), ("v", "varchar(20)"), ("u", "varchar"), ("c", "char(12)"),
                    ("clean", "text")), (
        (1, "alice@example.com", "plain", "carol@", "none", "ok"),
        (2, "no at", "bob@example.org", None, "@handle", "fine"),
        (3, None, "x", "at", "y@", None),
    )),
    "pii_ok": ((("id", "integer"), ("t", "text"), ("v", "varchar(20)"), ("c", "char(12)")), (
        (1, "alice at example.com", "plain", "none"),
        (2, None, "x", None),
    )),
    "pii_no_text": ((("id", "integer"), ("amount", "numeric(5, 2)")), (
        (1, D("1.50")),
    )),
}

VIEWS = {"contract_nulls"}

SCHEMA_YML = """
version: 2

models:
  - name: range_values
    columns:
      - name: amount
        data_tests:
          - sbdk.accepted_range:
              name: range_below_min
              arguments: {min_value: 0}
          - sbdk.accepted_range:
              name: range_below_min_exclusive
              arguments: {min_value: 0, inclusive: false}
          - sbdk.accepted_range:
              name: range_above_max
              arguments: {max_value: 10}
          - sbdk.accepted_range:
              name: range_above_max_exclusive
              arguments: {max_value: 10, inclusive: false}
          - sbdk.accepted_range:
              name: range_outside_both
              arguments: {min_value: 0, max_value: 10, inclusive: true}
  - name: range_ok
    columns:
      - name: amount
        data_tests:
          - sbdk.accepted_range:
              name: range_pass
              arguments: {min_value: 0, max_value: 10}
          - sbdk.accepted_range:
              name: range_pass_exclusive
              arguments: {min_value: -1, max_value: 11, inclusive: false}

  - name: combo_values
    data_tests:
      - sbdk.unique_combination_of_columns:
          name: combo_duplicated
          arguments: {combination_of_columns: [user_id, day]}
  - name: combo_ok
    data_tests:
      - sbdk.unique_combination_of_columns:
          name: combo_pass
          arguments: {combination_of_columns: [user_id, day]}

  - name: seq_users
  - name: seq_events
    columns:
      - name: event_timestamp
        data_tests:
          - sbdk.valid_event_sequence:
              name: seq_before_signup
              arguments: {users: "ref('seq_users')"}
  - name: seq_ok_events
    columns:
      - name: event_timestamp
        data_tests:
          - sbdk.valid_event_sequence:
              name: seq_pass
              arguments: {users: "ref('seq_users')"}
  - name: seq_signups
  - name: seq_clicks
    columns:
      - name: clicked_at
        data_tests:
          - sbdk.valid_event_sequence:
              name: seq_custom_columns
              arguments: {users: "ref('seq_signups')", user_created_at: signed_up_at, flag_column: quality}

  - name: session_lengths
    columns:
      - name: duration_minutes
        data_tests:
          - sbdk.reasonable_session_duration:
              name: session_over_default
          - sbdk.reasonable_session_duration:
              name: session_over_max_hours
              arguments: {max_hours: 1.5}
  - name: session_ok
    columns:
      - name: duration_minutes
        data_tests:
          - sbdk.reasonable_session_duration:
              name: session_pass

  - name: parse_ids
    columns:
      - name: value
        data_tests:
          - sbdk.values_parse:
              name: parse_id_fails
              arguments: {kind: id}
          - sbdk.values_parse:
              name: parse_id_allow_null
              arguments: {kind: id, allow_null: true}
  - name: parse_timestamps
    columns:
      - name: value
        data_tests:
          - sbdk.values_parse:
              name: parse_timestamp_fails
              arguments: {kind: timestamp}
          - sbdk.values_parse:
              name: parse_timestamp_allow_null
              arguments: {kind: timestamp, allow_null: true}
  - name: parse_amounts
    columns:
      - name: value
        data_tests:
          - sbdk.values_parse:
              name: parse_amount_fails
              arguments: {kind: amount}
          - sbdk.values_parse:
              name: parse_amount_allow_null
              arguments: {kind: amount, allow_null: true}
  - name: parse_typed
    columns:
      - name: id_number
        data_tests:
          - sbdk.values_parse:
              name: parse_id_typed_fraction
              arguments: {kind: id}
      - name: id_integer
        data_tests:
          - sbdk.values_parse:
              name: parse_id_typed_pass
              arguments: {kind: id}
      - name: ts
        data_tests:
          - sbdk.values_parse:
              name: parse_timestamp_typed_pass
              arguments: {kind: timestamp}
  - name: parse_ok
    columns:
      - name: id
        data_tests:
          - sbdk.values_parse:
              name: parse_id_pass
              arguments: {kind: id}
      - name: ts
        data_tests:
          - sbdk.values_parse:
              name: parse_timestamp_pass
              arguments: {kind: timestamp}
      - name: amount
        data_tests:
          - sbdk.values_parse:
              name: parse_amount_pass
              arguments: {kind: amount}

  - name: contract_nulls
    config:
      contract: {enforced: true}
    constraints:
      - {type: not_null, columns: [b], warn_unsupported: false}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null, warn_unsupported: false}]
      - name: a
        data_type: integer
        constraints: [{type: not_null, warn_unsupported: false}]
      - name: b
        data_type: integer
      - name: c
        data_type: integer
    data_tests:
      - sbdk.contract_not_null:
          name: contract_null_under_constraint
  - name: contract_ok
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}]
      - name: a
        data_type: integer
        constraints: [{type: not_null}]
    data_tests:
      - sbdk.contract_not_null:
          name: contract_pass

  - name: pii_values
    data_tests:
      - sbdk.no_personal_data:
          name: pii_at_in_text
  - name: pii_ok
    data_tests:
      - sbdk.no_personal_data:
          name: pii_pass
  - name: pii_no_text
    data_tests:
      - sbdk.no_personal_data:
          name: pii_pass_no_text_column
"""


# ---------------------------------------------------------------- what each test should report


@dataclass(frozen=True)
class Case:
    test: str  # the test's name (and its audit table's)
    columns: tuple[str, ...]  # the columns of its failing rows
    rows: tuple[tuple[Any, ...], ...]  # its failing rows (none: it passes)
    why: str


CASES = (
    # accepted_range: `select *` of the rows outside the bounds; nulls pass
    Case("range_below_min", ("id", "amount"), ((1, -1),), "below min 0 (0 itself is in: inclusive)"),
    Case("range_below_min_exclusive", ("id", "amount"), ((1, -1), (2, 0)), "min 0 exclusive: 0 fails too"),
    Case("range_above_max", ("id", "amount"), ((5, 11),), "above max 10 (10 itself is in: inclusive)"),
    Case("range_above_max_exclusive", ("id", "amount"), ((4, 10), (5, 11)), "max 10 exclusive: 10 fails too"),
    Case("range_outside_both", ("id", "amount"), ((1, -1), (5, 11)), "outside [0, 10] on either side"),
    Case("range_pass", ("id", "amount"), (), "0, 5, 10 and null are in [0, 10]"),
    Case("range_pass_exclusive", ("id", "amount"), (), "0, 5, 10 and null are in (-1, 11)"),
    # unique_combination_of_columns: one row per duplicated combination and its count. Nulls are
    # grouped like any value (GROUP BY): two rows (3, null) are a duplicate, a null combination
    # occurring once ((4, null), (null, 'd')) is not.
    Case("combo_duplicated", ("user_id", "day", "occurrences"),
         ((1, "a", 2), (3, None, 2), (None, "c", 3)), "duplicated combinations, nulls included"),
    Case("combo_pass", ("user_id", "day", "occurrences"), (), "every combination once, nulls included"),
    # valid_event_sequence: each valid event of a valid user strictly before the signup
    Case("seq_before_signup", ("user_id", "event_at", "user_created_at"), (
        (1, T(2025, 1, 9, 23, 59, 59), T(2025, 1, 10)),
        (3, T(2025, 1, 10, 11), T(2025, 1, 10, 12)),
    ), "valid events before their valid user's signup"),
    Case("seq_custom_columns", ("user_id", "event_at", "user_created_at"), (
        (1, T(2025, 2, 28), T(2025, 3, 1)),
    ), "user_created_at and flag_column given"),
    Case("seq_pass", ("user_id", "event_at", "user_created_at"), (),
         "at the signup, after it, or not valid"),
    # reasonable_session_duration: `select *` of the sessions over max_hours * 60 minutes
    Case("session_over_default", ("session_id", "duration_minutes"), (
        (5, D("600.5")), (6, D("1000.0")),
    ), "no max_hours: over the var max_session_duration_hours, 10 hours here (600 minutes itself is in)"),
    Case("session_over_max_hours", ("session_id", "duration_minutes"), (
        (3, D("90.5")), (4, D("600.0")), (5, D("600.5")), (6, D("1000.0")),
    ), "over max_hours 1.5 (90 minutes itself is in)"),
    Case("session_pass", ("session_id", "duration_minutes"), (), "0 and 600 minutes, and null"),
    # values_parse: each value the staging layer cannot read as the kind
    Case("parse_id_fails", ("unparsable_value",), (
        ("4.2",), ("abc",), ("12a",), ("9223372036854775808",), ("1e3",), ("- 5",), ("",), ("   ",), (None,),
    ), "ids: a fraction, letters, beyond 64 bits, an exponent, a split sign, blank, null"),
    Case("parse_id_allow_null", ("unparsable_value",), (
        ("4.2",), ("abc",), ("12a",), ("9223372036854775808",), ("1e3",), ("- 5",),
    ), "ids with allow_null: blank and null pass"),
    Case("parse_timestamp_fails", ("unparsable_value",), (
        ("2025-02-30",), ("2023-02-29",), ("2025-13-01",), ("2025-01-15 24:00",), ("15/01/2025",),
        ("yesterday",), ("2025-01-15T10:30:00+0200",), ("0000-01-01",), ("2025-01-15T10:30:00.1234567",),
        ("",), (None,),
    ), "timestamps: no such day or month or hour, not ISO 8601, year 0, 7 fraction digits, blank, null"),
    Case("parse_timestamp_allow_null", ("unparsable_value",), (
        ("2025-02-30",), ("2023-02-29",), ("2025-13-01",), ("2025-01-15 24:00",), ("15/01/2025",),
        ("yesterday",), ("2025-01-15T10:30:00+0200",), ("0000-01-01",), ("2025-01-15T10:30:00.1234567",),
    ), "timestamps with allow_null: blank and null pass"),
    Case("parse_amount_fails", ("unparsable_value",), (
        ("1,000",), ("$5",), ("abc",), ("1e",), (".",), ("1.2.3",), ("100000000000000000000",), ("--1",),
        ("",), (None,),
    ), "amounts: separators, currency, no digits, 21 integer digits, blank, null"),
    Case("parse_amount_allow_null", ("unparsable_value",), (
        ("1,000",), ("$5",), ("abc",), ("1e",), (".",), ("1.2.3",), ("100000000000000000000",), ("--1",),
    ), "amounts with allow_null: blank and null pass"),
    Case("parse_id_typed_fraction", ("unparsable_value",), ((17.5,),), "an id in a float column with a fraction"),
    Case("parse_id_typed_pass", ("unparsable_value",), (), "an id in an integer column"),
    Case("parse_timestamp_typed_pass", ("unparsable_value",), (), "a timestamp column"),
    Case("parse_id_pass", ("unparsable_value",), (), "ids that parse"),
    Case("parse_timestamp_pass", ("unparsable_value",), (), "timestamps that parse"),
    Case("parse_amount_pass", ("unparsable_value",), (), "amounts that parse"),
    # contract_not_null: one row per constrained column holding nulls (column and model
    # level constraints; the unconstrained c holds nulls too)
    Case("contract_null_under_constraint", ("column_name", "null_rows"), (("a", 2), ("b", 1)),
         "nulls under a column-level (a) and a model-level (b) not_null constraint"),
    Case("contract_pass", ("column_name", "null_rows"), (), "no null under a constraint"),
    # no_personal_data: one row per text value holding an '@', every text type
    Case("pii_at_in_text", ("column_name", "offending_value"), (
        ("t", "alice@example.com"), ("v", "bob@example.org"), ("u", "carol@"), ("c", "@handle"), ("c", "y@"),
    ), "an '@' in a text, a varchar(20), a varchar and a char(12) column (char's padding dropped)"),
    Case("pii_pass", ("column_name", "offending_value"), (), "no '@' in any text column"),
    Case("pii_pass_no_text_column", ("column_name", "offending_value"), (), "no text column at all"),
)

FAILING = {c.test for c in CASES if c.rows}
PASSING = {c.test for c in CASES if not c.rows}


# ---------------------------------------------------------------- the consumer's project


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _model_sql(name: str) -> str:
    columns, rows = RELATIONS[name]
    config = "{{ config(materialized='view') }}\n" if name in VIEWS else ""
    selects = [
        "select " + ", ".join(f"cast({_literal(v)} as {t}) as {c}" for (c, t), v in zip(columns, row, strict=True))
        for row in rows
    ]
    return config + "\nunion all\n".join(selects) + "\n"


def _profiles() -> str:
    return f"""{PROJECT_NAME}:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{{{ env_var('SBDK_DUCKDB_PATH') }}}}"
      threads: 1
    postgres:
      type: postgres
      host: "{{{{ env_var('SBDK_PG_HOST') }}}}"
      port: "{{{{ env_var('SBDK_PG_PORT') | int }}}}"
      user: "{{{{ env_var('SBDK_PG_USER') }}}}"
      password: "{{{{ env_var('SBDK_PG_PASSWORD', '') }}}}"
      dbname: "{{{{ env_var('SBDK_PG_DATABASE') }}}}"
      schema: "{{{{ env_var('SBDK_PG_SCHEMA') }}}}"
      threads: 1
"""


def _write_project(project: Path) -> None:
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        f"name: {PROJECT_NAME}\nversion: '0.1.0'\nconfig-version: 2\nprofile: {PROJECT_NAME}\n"
        "model-paths: [models]\n"
        f"models:\n  {PROJECT_NAME}:\n    +materialized: table\n"
        f"data_tests:\n  {PROJECT_NAME}:\n    +severity: error\n"
        # The package's vars (dbt_project.yml) are scoped to the package's own nodes: a test of
        # the consumer's without max_hours reads the consumer's var (unset, it stops the parse).
        f"vars:\n  max_session_duration_hours: {SESSION_HOURS_VAR}\n"
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {json.dumps(str(PACKAGE_DIR))}\n")
    (project / "profiles.yml").write_text(_profiles())
    for name in RELATIONS:
        (project / "models" / f"{name}.sql").write_text(_model_sql(name))
    (project / "models" / "_models.yml").write_text(SCHEMA_YML)


@dataclass
class Build:
    project: Path
    engine: Engine
    schema: str
    deps: subprocess.CompletedProcess
    build: subprocess.CompletedProcess
    results: dict[str, dict]  # by node name

    @property
    def database(self) -> str:
        return self.engine.settings["DATABASE"] if isinstance(self.engine, PostgresEngine) else "consumer"

    @property
    def audit_schema(self) -> str:
        return f"{self.schema}_dbt_test__audit"

    def failing_rows(self, test: str) -> tuple[list[str], list[tuple]]:
        return self.engine.query(f'select * from "{self.audit_schema}"."{test}"')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, engine_name: str, warehouse: Engine | None) -> Build:
    project = tmp_path_factory.mktemp("generic_tests") / "consumer"
    _write_project(project)
    engine, env, schema = consumer_warehouse(warehouse, project / "consumer.duckdb", PG_SCHEMA)
    if isinstance(engine, PostgresEngine):
        drop_schemas(engine, schema, f"{schema}_dbt_test__audit")
    deps = run_dbt(project, env, engine_name, "deps")
    assert deps.returncode == 0, deps.stdout[-3000:]
    build = run_dbt(project, env, engine_name, "build", "--select", f"package:{PROJECT_NAME}", "--store-failures")
    results_file = project / "target" / "run_results.json"
    assert results_file.is_file(), f"no run_results.json:\n{build.stdout[-4000:]}\n{build.stderr[-2000:]}"
    # by node name: model.<project>.<name>, test.<project>.<name>.<hash>, operation.sbdk.sbdk-on-run-start-0
    results = {r["unique_id"].split(".")[2]: r for r in json.loads(results_file.read_text())["results"]}
    return Build(project, engine, schema, deps, build, results)


# ---------------------------------------------------------------- the tests


def test_the_build_fails_because_of_the_failing_tests_only(built: Build) -> None:
    log = built.build.stdout
    assert built.build.returncode == 1, f"exit {built.build.returncode}:\n{log[-4000:]}\n{built.build.stderr[-2000:]}"
    statuses = {name: r["status"] for name, r in built.results.items()}
    problems = {name: (r["status"], r["message"]) for name, r in built.results.items()
                if r["status"] not in ("success", "pass", "fail")}
    assert not problems, problems  # no error, no skip, no warning: every failure is a test's `fail`
    assert {n for n, s in statuses.items() if s == "success"} == set(RELATIONS) | {"sbdk-on-run-start-0"}
    assert {n for n, s in statuses.items() if s == "fail"} == FAILING
    assert {n for n, s in statuses.items() if s == "pass"} == PASSING
    assert f"ERROR={len(FAILING)} " in log, log[-3000:]
    # each failure is reported with its test's name, its number of rows and the query showing them
    reports = {block.split(" ", 1)[0]: block for block in log.split("Failure in test ")[1:]}
    assert set(reports) == FAILING, log[-4000:]
    for case in CASES:
        if case.rows:
            report = reports[case.test]
            assert _got(len(case.rows)) in report, report
            assert f'select * from "{built.database}"."{built.audit_schema}"."{case.test}"' in report, report


def _got(rows: int) -> str:
    return f"Got {rows} result{'s' if rows > 1 else ''}, configured to fail if != 0"


def _sort_key(row: tuple) -> tuple:
    return tuple((value is None, "" if value is None else value) for value in row)


@pytest.mark.parametrize("case", CASES, ids=[c.test for c in CASES])
def test_generic_test_reports_the_violating_rows(built: Build, case: Case) -> None:
    result = built.results[case.test]
    expected_status = "fail" if case.rows else "pass"
    assert (result["status"], result["failures"]) == (expected_status, len(case.rows)), (case.why, result["message"])
    if case.rows:
        assert result["message"] == _got(len(case.rows))
    columns, rows = built.failing_rows(case.test)
    assert tuple(columns) == case.columns, case.why
    assert sorted(rows, key=_sort_key) == sorted(case.rows, key=_sort_key), case.why
