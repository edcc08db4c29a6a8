"""What only the test harness (and the benchmarks) do with a warehouse and the dbt project,
beside what `sbdk run` needs (sbdk.engines, sbdk.project):

* load raw rows given as Arrow tables (`load_raw`), list a table's text columns
  (`text_columns`), drop whole schemas between tests (`drop_schemas`), create a
  PostgreSQL database (`create_database`);
* `HarnessProject`: the project parsed once, then built many times on that manifest
  (`build`), and the contracted models' declared column types (`contracts`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from sbdk._sql import quote_ident as _q
from sbdk.defaults import DUCKDB_FILE
from sbdk.engines import RAW_SCHEMA, DuckDBEngine, Engine, PostgresEngine, SparkEngine
from sbdk.project import BuildError, BuildOutcome, DbtProject, _short


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded to their value type (Spark and CSV want plain arrays)."""
    columns = [col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col for col in table.columns]
    return pa.table(columns, names=table.column_names)


# ---------------------------------------------------------------- engines


def load_raw(engine: Engine, tables: Mapping[str, pa.Table], schema: str = RAW_SCHEMA) -> None:
    """(Re)create ``schema.<name>`` from each Arrow table, through the engine's bulk path."""
    if isinstance(engine, DuckDBEngine):
        import duckdb

        with duckdb.connect(str(engine.path)) as conn:
            conn.execute(f"create schema if not exists {_q(schema)}")
            for name, table in tables.items():
                conn.register("__sbdk_load", table)
                conn.execute(f"create or replace table {_q(schema)}.{_q(name)} as select * from __sbdk_load")
                conn.unregister("__sbdk_load")
    elif isinstance(engine, PostgresEngine):
        import pyarrow.csv as pacsv

        for name, table in tables.items():
            table = _plain(table)
            buffer = io.BytesIO()
            if table.num_rows:
                pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
            buffer.seek(0)
            engine.copy_csv(schema, name, table.schema, buffer)
    elif isinstance(engine, SparkEngine):
        spark = engine.spark
        spark.sql(f"create database if not exists {schema}")
        for name, table in tables.items():
            spark.sql(f"drop table if exists {schema}.{name}")
            spark.createDataFrame(_plain(table)).write.format("parquet").mode("overwrite") \
                .saveAsTable(f"{schema}.{name}")
    else:
        raise TypeError(f"no raw-table loader for {type(engine).__name__}")


def text_columns(engine: Engine, schema: str, table: str) -> list[str]:
    """The text columns of a table (for the personal-data check)."""
    if isinstance(engine, SparkEngine):
        from pyspark.sql.types import StringType, VarcharType

        fields = engine.spark.table(f"{schema}.{table}").schema.fields
        return [f.name for f in fields if isinstance(f.dataType, StringType | VarcharType)]
    text_types = {"duckdb": "'VARCHAR'", "postgres": "'text', 'character varying', 'character'"}[engine.name]
    _, rows = engine.query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' and data_type in ({text_types})"
    )
    return [r[0] for r in rows]


def drop_schemas(engine: Engine, *schemas: str) -> None:
    """Drop whole schemas (and everything in them) so the next build starts empty."""
    if isinstance(engine, SparkEngine):
        for schema in schemas:
            engine.spark.sql(f"drop database if exists {schema} cascade")
        return
    if isinstance(engine, DuckDBEngine):
        import duckdb

        with duckdb.connect(str(engine.path)) as conn:
            for schema in schemas:
                conn.execute(f"drop schema if exists {_q(schema)} cascade")
        return
    conn = engine.connect()
    try:
        with conn.cursor() as cur:
            for schema in schemas:
                cur.execute(f"drop schema if exists {_q(schema)} cascade")
    finally:
        conn.close()


def create_database(engine: PostgresEngine) -> None:
    """Create the settings' database if it does not exist (connecting to ``postgres``)."""
    conn = engine.connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", [engine.settings["DATABASE"]])
            if cur.fetchone() is None:
                cur.execute(f"create database {_q(engine.settings['DATABASE'])}")
    finally:
        conn.close()


# ---------------------------------------------------------------- the project


class HarnessProject(DbtProject):
    """The project parsed once, then built on many engines reusing the manifest.

    What the profile reads from the environment at parse time (a PostgreSQL database name,
    a source's schema; for DuckDB the catalog, named after the file's stem) is baked into
    the manifest, so every build must use an engine with the same settings (for DuckDB: a
    file named `sbdk.defaults.DUCKDB_FILE`)."""

    def __init__(self, work_dir: str | Path, dbt_vars: Mapping[str, Any] | None = None, *,
                 build_args: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(work_dir, dbt_vars, **kwargs)
        self.build_args = list(build_args or [])
        self._manifest: Any = None
        self._parse_env: dict[str, str] | None = None

    def parse(self, engine: Engine | None = None) -> Any:
        """Parse the project once (for DuckDB, with no engine: on a placeholder file)."""
        if self._manifest is None:
            if engine is None:
                if self.target != "duckdb":
                    raise ValueError(f"parsing for target {self.target} needs its engine")
                placeholder = self.work_dir / "parse" / DUCKDB_FILE
                placeholder.parent.mkdir(parents=True, exist_ok=True)
                engine = DuckDBEngine(placeholder)
            env = engine.dbt_env()
            result = self._invoke(self._args("parse"), env)
            if not result.success or result.result is None:
                raise BuildError(f"dbt parse failed: {_short(str(result.exception))}")
            self._manifest = result.result
            self._parse_env = env
        return self._manifest

    def contracts(self) -> dict[str, dict[str, str]]:
        """The contracted models (the marts) and their columns' declared data types, as
        parsed for this target."""
        manifest = self.parse()
        return {
            node.name: {name: (column.data_type or "").lower() for name, column in node.columns.items()}
            for node in manifest.nodes.values()
            if node.resource_type == "model" and node.package_name == "sbdk" and node.config.contract.enforced
        }

    def build(self, engine: Engine, *extra: str) -> BuildOutcome:
        """`dbt build` on ``engine`` with the build args, reusing the parsed manifest."""
        if engine.name != self.target:
            raise ValueError(f"this project builds target {self.target}, not {engine.name}")
        if isinstance(engine, DuckDBEngine) and engine.path.name != DUCKDB_FILE:
            raise ValueError(f"the database file must be named {DUCKDB_FILE}, got {engine.path.name}")
        self.parse(engine)
        if self.target != "duckdb" and engine.dbt_env() != self._parse_env:
            raise ValueError("the engine's settings differ from those the project was parsed with")
        return self._run(self._args("build", *self.build_args, *extra), engine, manifest=self._manifest)
