"""The warehouses the package runs on, seen from Python: load raw tables, run a query.

Each engine is the dbt target of the same name in the project's ``profiles.yml``:

* ``duckdb``: the embedded DuckDB file named by ``SBDK_DUCKDB_PATH``;
* ``postgres``: a PostgreSQL server named by ``SBDK_PG_*`` (else libpq's ``PG*``) variables,
  the models in the schema ``SBDK_PG_SCHEMA`` (default ``main``; `sbdk run` builds aside and
  swaps the result in, see `sbdk.runtarget`);
* ``spark``: Spark through ``dbt-spark``'s ``session`` method, in this process (local mode,
  warehouse and metastore under ``SBDK_SPARK_DIR``, session time zone UTC).

Raw tables are copied from a generated DuckDB file through each engine's bulk path (an
attached file for DuckDB, ``COPY`` for PostgreSQL, Parquet for Spark), never row by row; the
registry `ENGINES` names them for the command line, the benchmarks and the test suite.
Queries return plain Python values: ``int``, ``float``,
``Decimal``, ``str``, ``date`` and naive UTC ``datetime``, the same on every engine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sbdk import defaults
from sbdk._sql import quote_ident as _q

RAW_SCHEMA = "raw"
#: The schema the models are built in (the profile's schema on every target).
MODEL_SCHEMA = "main"


class Engine:
    """A warehouse the package is built on."""

    name: str = ""

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the project's profile reads for this engine."""
        return {}

    def load_duckdb_tables(self, db_path: str | Path, tables: Sequence[str], schema: str = RAW_SCHEMA) -> None:
        """Bulk-copy ``schema.<table>`` of a DuckDB file (as written by ``sbdk generate``)."""
        raise NotImplementedError

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Column names and rows of a query."""
        raise NotImplementedError

    def rows(self, sql: str) -> list[dict[str, Any]]:
        names, rows = self.query(sql)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def scalar_row(self, sql: str) -> tuple:
        return self.query(sql)[1][0]

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- DuckDB


def _memory_bytes() -> int | None:
    """This machine's memory, or its cgroup's limit when lower (what a container may use)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def duckdb_memory_setting(limit: str) -> str:
    """``limit`` (as `memory_limit` accepts it) in a form the installed DuckDB reads: DuckDB 1.x
    has no ``%`` unit, so there a share of the memory becomes that share of this machine's memory
    in MiB (at least 64, `sbdk.options.MIN_MEMORY_LIMIT`); DuckDB 2 gets the share itself."""
    value = limit.strip()
    if not value.endswith("%"):
        return value
    import duckdb

    if int(duckdb.__version__.split(".")[0]) >= 2:
        return value
    total = _memory_bytes()
    if total is None:
        return value
    return f"{max(int(total * float(value[:-1].strip()) / 100 / 2**20), 64)}MiB"


class DuckDBEngine(Engine):
    name = "duckdb"

    def __init__(self, path: str | Path, *, memory_limit: str | None = None) -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit

    def dbt_env(self) -> dict[str, str]:
        limit = duckdb_memory_setting(self.memory_limit or defaults.DUCKDB_MEMORY_LIMIT)
        return {"SBDK_DUCKDB_PATH": str(self.path), "SBDK_DUCKDB_MEMORY_LIMIT": limit}

    def load_duckdb_tables(self, db_path: str | Path, tables: Sequence[str], schema: str = RAW_SCHEMA) -> None:
        import duckdb

        if Path(db_path).resolve() == self.path.resolve():
            return
        with duckdb.connect(str(self.path)) as conn:
            conn.execute(f"attach '{Path(db_path).resolve()}' as __sbdk_src (read_only)")
            conn.execute(f"create schema if not exists {_q(schema)}")
            for table in tables:
                conn.execute(f"create or replace table {_q(schema)}.{_q(table)} as "
                             f"select * from __sbdk_src.{_q(schema)}.{_q(table)}")
            conn.execute("detach __sbdk_src")

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        import duckdb

        with duckdb.connect(str(self.path), read_only=True) as conn:
            rel = conn.sql(sql)
            return list(rel.columns), rel.fetchall()

# ---------------------------------------------------------------- PostgreSQL


def postgres_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Connection settings: ``SBDK_PG_<NAME>``, else libpq's ``PG<NAME>``, else a default."""
    env = os.environ if env is None else env
    return {
        name: env.get(f"SBDK_PG_{name}") or env.get("PGDATABASE" if name == "DATABASE" else f"PG{name}") or default
        for name, default in defaults.POSTGRES.items()
    }


_PG_TYPES = (
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_integer, "bigint"),
    (pa.types.is_floating, "double precision"),
    (pa.types.is_date, "date"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
)


def _pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_dictionary(arrow_type):
        return _pg_type(arrow_type.value_type)
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    for check, name in _PG_TYPES:
        if check(arrow_type):
            return name
    raise ValueError(f"no PostgreSQL type for the Arrow type {arrow_type}")


class PostgresEngine(Engine):
    name = "postgres"

    def __init__(self, settings: Mapping[str, str] | None = None, *, schema: str = MODEL_SCHEMA) -> None:
        self.settings = dict(settings or postgres_settings())
        #: The schema dbt builds the models in (the profile's ``$SBDK_PG_SCHEMA``).
        self.schema = schema
        self._conn: Any = None

    def dbt_env(self) -> dict[str, str]:
        return {**{f"SBDK_PG_{k}": v for k, v in self.settings.items()}, "SBDK_PG_SCHEMA": self.schema}

    def connect(self, database: str | None = None, *, application_name: str | None = None) -> Any:
        import psycopg2

        s = self.settings
        extra = {"application_name": application_name} if application_name else {}
        conn = psycopg2.connect(
            host=s["HOST"], port=int(s["PORT"]), user=s["USER"], password=s["PASSWORD"] or None,
            dbname=database or s["DATABASE"], connect_timeout=10, **extra,
        )
        conn.autocommit = True
        return conn

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
        return self._conn

    def copy_csv(self, schema: str, name: str, arrow_schema: pa.Schema, csv: Any) -> None:
        """(Re)create ``schema.name`` with the PostgreSQL types of ``arrow_schema`` and fill it
        from headerless CSV (nulls as empty fields, empty texts quoted "") by ``COPY``."""
        target = f"{_q(schema)}.{_q(name)}"
        columns = ", ".join(f"{_q(f.name)} {_pg_type(f.type)}" for f in arrow_schema)
        names = ", ".join(_q(n) for n in arrow_schema.names)
        with self._connection().cursor() as cur:
            cur.execute(f"create schema if not exists {_q(schema)}")
            cur.execute(f"drop table if exists {target}")
            cur.execute(f"create table {target} ({columns})")
            cur.copy_expert(f"copy {target} ({names}) from stdin with (format csv)", csv)

    def load_duckdb_tables(self, db_path: str | Path, tables: Sequence[str], schema: str = RAW_SCHEMA, *,
                           into: str | None = None) -> None:
        """Each table exported by DuckDB as CSV and read by ``COPY ... FROM STDIN`` into the
        schema ``into`` (default: ``schema``, the schema of the DuckDB file)."""
        import tempfile

        import duckdb

        with duckdb.connect(str(db_path), read_only=True) as src, tempfile.TemporaryDirectory() as tmp:
            for table in tables:
                source = f"{_q(schema)}.{_q(table)}"
                csv_path = Path(tmp) / f"{table}.csv"
                src.execute(f"copy {source} to '{csv_path}' (format csv, header false)")
                with csv_path.open("rb") as fh:
                    self.copy_csv(into or schema, table,
                                  src.sql(f"select * from {source} limit 0").to_arrow_table().schema, fh)
                csv_path.unlink()

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self._connection().cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            return names, [tuple(r) for r in cur.fetchall()]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# ---------------------------------------------------------------- Spark


def spark_conf(base_dir: str | Path, catalog: str = "hive") -> dict[str, str]:
    """Spark settings of the package's local runs: UTC, small shuffles, state under base_dir.

    ``catalog`` ``hive`` keeps the tables' catalog in a Derby metastore under base_dir (a later
    session finds them); ``in-memory`` forgets it with the session and saves about a quarter
    of a build's time (measured on the test scenarios), which suits throw-away test runs."""
    base = Path(base_dir).resolve()
    return {
        "spark.master": "local[2]",
        "spark.app.name": "sbdk",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": str(base / "warehouse"),
        # everything the JVM writes (Derby's log, scratch space) stays under base_dir
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={base / 'derby'} -Djava.io.tmpdir={base / 'tmp'} "
                                         "-Duser.timezone=UTC",
        "spark.local.dir": str(base / "local"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={base / 'metastore_db'};create=true",
        "spark.sql.catalogImplementation": catalog,
        # dbt runs one small query per node: few partitions, no UI, no adaptive re-planning
        "spark.sql.shuffle.partitions": os.environ.get("SBDK_SPARK_SHUFFLE_PARTITIONS",
                                                       str(defaults.SPARK_SHUFFLE_PARTITIONS)),
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "false",
        "spark.driver.memory": os.environ.get("SBDK_SPARK_DRIVER_MEMORY", "2g"),
    }


class SparkEngine(Engine):
    """Spark in local mode inside this process (the session dbt-spark's ``session`` method uses)."""

    name = "spark"

    def __init__(self, base_dir: str | Path, *, catalog: str = "hive", extra_conf: Mapping[str, str] | None = None
                 ) -> None:
        self.base_dir = Path(base_dir)
        self.catalog = catalog
        self.extra_conf = dict(extra_conf or {})
        self._spark: Any = None

    def dbt_env(self) -> dict[str, str]:
        return {"SBDK_SPARK_DIR": str(self.base_dir)}

    @property
    def spark(self) -> Any:
        return self.start()

    def start(self) -> Any:
        """The Spark session, started (with its JVM) on first use with the package's settings."""
        if self._spark is None:
            from pyspark.sql import SparkSession

            for folder in ("tmp", "local", "derby"):
                (self.base_dir / folder).mkdir(parents=True, exist_ok=True)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = SparkSession.builder
            for key, value in {**spark_conf(self.base_dir, self.catalog), **self.extra_conf}.items():
                builder = builder.config(key, value)
            self._spark = builder.getOrCreate()
            self._spark.sparkContext.setLogLevel("ERROR")
        return self._spark

    def load_duckdb_tables(self, db_path: str | Path, tables: Sequence[str], schema: str = RAW_SCHEMA) -> None:
        """Each table exported by DuckDB as Parquet and read by Spark into a parquet table."""
        import duckdb

        spark = self.spark
        spark.sql(f"create database if not exists {schema}")
        staging = self.base_dir / "load"
        staging.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(db_path), read_only=True) as src:
            for table in tables:
                parquet = staging / f"{table}.parquet"
                src.execute(f"copy {_q(schema)}.{_q(table)} to '{parquet}' (format parquet)")
                spark.sql(f"drop table if exists {schema}.{table}")
                spark.read.parquet(str(parquet)).write.format("parquet").mode("overwrite") \
                    .saveAsTable(f"{schema}.{table}")
                parquet.unlink()

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        result = self.spark.sql(sql).toArrow()
        names = result.column_names
        columns = [_naive_utc(col.to_pylist(), col.type) for col in result.columns]
        return names, list(zip(*columns, strict=True)) if columns else []

    def close(self) -> None:
        """Stop the session and the JVM behind it (which would otherwise outlive it until this
        process exits)."""
        if self._spark is None:
            return
        from pyspark import SparkContext

        self._spark.stop()
        self._spark = None
        gateway = SparkContext._gateway
        if gateway is None:
            return
        jvm = getattr(gateway, "proc", None)
        gateway.shutdown()
        SparkContext._gateway = None
        SparkContext._jvm = None
        if jvm is not None:
            import subprocess

            jvm.terminate()
            try:
                jvm.wait(timeout=30)
            except subprocess.TimeoutExpired:
                jvm.kill()
                jvm.wait(timeout=30)


def _naive_utc(values: Sequence[Any], arrow_type: pa.DataType) -> list[Any]:
    """Spark hands timestamps over as UTC-aware datetimes: drop the (UTC) zone."""
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz:
        return [v if v is None else v.replace(tzinfo=None) for v in values]
    return list(values)


@dataclass(frozen=True)
class EngineSpec:
    """What the command line, the benchmarks and the test suite know about an engine."""

    engine_class: type[Engine]
    #: What ``sbdk run --target NAME`` builds on (a phrase of the CLI's help).
    description: str
    #: The engine of a run, from the DuckDB file of the raw tables, the Spark state folder
    #: and the DuckDB memory limit (each engine takes what it needs).
    make: Callable[[Path, Path, str | None], Engine]

    @property
    def name(self) -> str:
        return self.engine_class.name


#: The engines, by dbt target name (the first is the default).
ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (
    EngineSpec(DuckDBEngine, "the --db file itself",
               lambda db, spark_dir, memory_limit: DuckDBEngine(db, memory_limit=memory_limit)),
    EngineSpec(PostgresEngine, "the server of $SBDK_PG_* / $PG*",
               lambda db, spark_dir, memory_limit: PostgresEngine()),
    EngineSpec(SparkEngine, "local mode, state under $SBDK_SPARK_DIR, else <db stem>.spark beside --db",
               lambda db, spark_dir, memory_limit: SparkEngine(spark_dir)),
)}
DEFAULT_ENGINE = next(iter(ENGINES))


def engine_for(name: str, *, duckdb_path: str | Path, spark_dir: str | Path,
               memory_limit: str | None = None) -> Engine:
    """The engine of a dbt target name, given the DuckDB file of the raw tables and the Spark
    state folder (the command line resolves both once, see `sbdk.options`)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return ENGINES[name].make(Path(duckdb_path), Path(spark_dir), memory_limit)
