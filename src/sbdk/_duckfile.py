"""A DuckDB file opened under a fixed catalog name, whatever the file is called.

DuckDB names a file's catalog after the file's stem: in ``raw.duckdb``, ``raw`` is both the
catalog and the schema of the raw tables, and ``raw.raw_users`` is an ambiguous reference.
`connect_file` attaches the file as ``sbdk_file`` to an in-memory database and makes it the
default catalog, so ``<schema>.<table>`` names that schema of the file on every file name.
Spilled data goes to ``<file>.tmp`` beside it (as when DuckDB opens the file directly; an
in-memory database would spill to ``.tmp`` in the working folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sbdk._sql import quote_literal

if TYPE_CHECKING:
    import duckdb

#: The catalog name of the attached file.
ALIAS = "sbdk_file"


def connect_file(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is the DuckDB file ``path`` (created unless
    ``read_only``). Lock conflicts and unreadable files raise DuckDB's own errors."""
    import duckdb

    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"SET temp_directory = {quote_literal(str(path) + '.tmp')}")
        conn.execute(f"ATTACH {quote_literal(str(path))} AS {ALIAS}" + (" (READ_ONLY)" if read_only else ""))
        conn.execute(f"USE {ALIAS}")
    except BaseException:
        conn.close()
        raise
    return conn
