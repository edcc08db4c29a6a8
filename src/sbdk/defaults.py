"""The defaults of the package's settings, in one place.

``profiles.yml`` reads the same settings from the environment and mirrors these values as
its ``env_var(...)`` defaults (``python_tests/test_defaults.py`` checks that they agree).
"""

from __future__ import annotations

from pathlib import Path

#: The DuckDB file of a run (``--db``, ``$SBDK_DUCKDB_PATH``): in the working folder, outside
#: dbt's target/ folder, which ``dbt clean`` empties.
DUCKDB_FILE = "sbdk.duckdb"
#: DuckDB's memory limit of a build (``--memory-limit``, ``$SBDK_DUCKDB_MEMORY_LIMIT``):
#: half the machine's memory, leaving headroom for the rest; ``none`` means no limit.
DUCKDB_MEMORY_LIMIT = "50%"
#: dbt threads (``--threads``, ``$SBDK_DBT_THREADS``).
DBT_THREADS = 2
#: PostgreSQL connection settings (``$SBDK_PG_<NAME>``, else libpq's ``$PG<NAME>``).
POSTGRES = {"HOST": "localhost", "PORT": "5432", "USER": "postgres", "PASSWORD": "", "DATABASE": "sbdk"}
#: Spark's shuffle partitions (``$SBDK_SPARK_SHUFFLE_PARTITIONS``).
SPARK_SHUFFLE_PARTITIONS = 2


def spark_dir_for(db: str | Path) -> Path:
    """The Spark state folder (warehouse, metastore) of a run on ``db`` when
    ``$SBDK_SPARK_DIR`` is not set: ``<db stem>.spark`` beside the DuckDB file."""
    db = Path(db)
    return db.with_name(db.stem + ".spark")


#: The Spark state folder of the default DuckDB file (``$SBDK_SPARK_DIR``).
SPARK_DIR = str(spark_dir_for(DUCKDB_FILE))
