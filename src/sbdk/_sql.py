"""Small SQL text helpers shared by the generator, the expected flags and the engines."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (inner quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"
