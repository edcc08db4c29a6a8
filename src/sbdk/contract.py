"""The raw-data contract: the raw tables the package reads, their columns in order, and each
table's data-quality flags in order of precedence.

This is the one home of these facts on the Python side: the generator, the dirty-data
injector, the expected-flag computation, the command line and the test harness import them.
``python_tests/test_contract.py`` pins them to the dbt side: the columns to the source
``raw`` in ``models/staging/_staging__sources.yml`` (and the ``raw_column_types`` lists of
the staging models), the flags to the ``accepted_values`` of ``data_quality_flag`` in
``models/staging/_staging__models.yml``. The *rules* that assign the flags are not here:
the models, the generator's expected flags (``sbdk._expected``) and the reference
implementation of the tests each implement them independently.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The flag of a row that passes every rule; only such rows reach the marts.
VALID = "valid"


@dataclass(frozen=True)
class ValueCase:
    """Raw texts of one column that the rule of ``flag`` rejects (and no earlier rule does).

    A flag that a bad value in one column triggers is declared with one: the dirty
    generator then writes these texts into rows of their own (``sbdk._dirty``), with no
    code of its own for the flag. Flags about other rows (duplicates, unknown users) or
    about dates have an injector in ``sbdk._dirty`` instead.
    """

    flag: str
    column: str
    texts: tuple[str | None, ...]


@dataclass(frozen=True)
class RawTable:
    """One raw table of the contract."""

    #: The table's name in the raw schema (``source('raw', name)``).
    name: str
    #: The staging model that keeps one row per raw row.
    staging_model: str
    #: The contract's columns in order, each with the DuckDB type the clean generator
    #: writes (a dirty run writes every column as VARCHAR).
    columns: tuple[tuple[str, str], ...]
    #: The data-quality flags in order of precedence (the first rule that matches sets
    #: the flag), ``valid`` last.
    flags: tuple[str, ...]
    #: The flags declared by bad values (see `ValueCase`), in order of precedence.
    value_cases: tuple[ValueCase, ...] = ()

    def __post_init__(self) -> None:
        for case in self.value_cases:
            if case.flag not in self.problems or case.column not in self.column_names or not case.texts:
                raise ValueError(f"{self.name}: value case {case.flag!r} of column {case.column!r}: "
                                 "the flag must be a problem of the table, the column one of its columns, "
                                 "and at least one text given")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def problems(self) -> tuple[str, ...]:
        """The flags that name a problem (every flag but ``valid``), in order of precedence."""
        return tuple(flag for flag in self.flags if flag != VALID)


USERS = RawTable(
    name="raw_users",
    staging_model="stg_users",
    columns=(
        ("user_id", "BIGINT"),
        ("email", "VARCHAR"),
        ("name", "VARCHAR"),
        ("country", "VARCHAR"),
        ("referrer", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
    ),
    flags=("missing_id", "missing_created_at", "future_timestamp", "duplicate_id", "duplicate_email", VALID),
)
EVENTS = RawTable(
    name="raw_events",
    staging_model="stg_events",
    columns=(
        ("event_id", "BIGINT"),
        ("user_id", "BIGINT"),
        ("event_type", "VARCHAR"),
        ("timestamp", "TIMESTAMP"),
        ("utm_source", "VARCHAR"),
    ),
    flags=("missing_id", "missing_user_id", "missing_timestamp", "duplicate_id", "unknown_user",
           "future_timestamp", "before_signup", VALID),
)
ORDERS = RawTable(
    name="raw_orders",
    staging_model="stg_orders",
    columns=(
        ("order_id", "BIGINT"),
        ("user_id", "BIGINT"),
        ("amount", "DECIMAL(12,2)"),
        ("product_category", "VARCHAR"),
        ("payment_method", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
    ),
    flags=("missing_id", "missing_user_id", "missing_timestamp", "invalid_amount", "duplicate_id",
           "unknown_user", "future_timestamp", "before_signup", VALID),
)

#: The raw tables by name, in the order the package loads and reports them.
RAW_TABLES: dict[str, RawTable] = {t.name: t for t in (USERS, EVENTS, ORDERS)}
#: Their names, in that order.
TABLE_NAMES: tuple[str, ...] = tuple(RAW_TABLES)
#: Each table's column names, in order.
COLUMNS: dict[str, tuple[str, ...]] = {t.name: t.column_names for t in RAW_TABLES.values()}
#: Each table's flags in order of precedence, ``valid`` last.
FLAGS: dict[str, tuple[str, ...]] = {t.name: t.flags for t in RAW_TABLES.values()}
