"""Dirty mode's SQL rendering: the DuckDB expressions that turn a truth table of ``_dirty``
(typed values, small integer format codes and raw-text codes per column) into the VARCHAR
columns of a raw table, and the texts that are no valid value under the contract.

Per value column ``c`` of a truth table: ``c_raw`` >= 0 picks a raw text (``ID_GARBAGE``,
``TS_GARBAGE``, ``AMOUNT_RAW``) instead of the value, ``c_fmt`` the way a value is written
(the codes are listed with the weights in ``_dirty``), and for timestamps ``c_off`` the UTC
offset in minutes of a local-time rendering. A column with value cases in the contract
(``contract.ValueCase``) also has ``bad__<column>``: >= 0 picks one of those texts instead.
"""

from __future__ import annotations

from sbdk._sql import quote_ident
from sbdk.contract import COLUMNS, RAW_TABLES, TABLE_NAMES

#: Texts that are not ids under the contract (trim, optional sign, digits, 64-bit).
ID_GARBAGE = (
    None, "", "   ", "abc", "17.5", "1e2", "12 34", "0x1F", "9223372036854775808", "#42", "-",
)
#: Texts that are not timestamps under the contract.
TS_GARBAGE = (
    None, "", "not a date", "2024-13-45", "2025-02-30", "2025-06-01 24:00:00", "06/01/2025",
    "1735689600", "yesterday", "2025-06-01 12:00:00.1234567",
)
#: Amounts that are ``invalid_amount``: null, not a number, NaN/inf, rounding below 0.01,
#: or too large for decimal(18,2).
AMOUNT_GARBAGE = (
    None, "", "   ", "abc", "NaN", "nan", "inf", "-inf", "Infinity", "0", "0.00", "-5",
    "-0.01", "0.004", "1e17", "12,50", "$12.50",
)
#: Odd but valid amounts (rounded half away from zero to cents: all >= 0.01).
AMOUNT_ODD_VALID = ("0.005", "0.0051", "1.5e2", "1.5E2", "150.", ".99", "+12.50")
#: The raw amount texts an ``cents_raw`` code points into: the invalid ones, then the odd valid ones.
AMOUNT_RAW = AMOUNT_GARBAGE + AMOUNT_ODD_VALID


def _lit(values) -> str:
    items = ["NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in values]
    return "[" + ", ".join(items) + "]::VARCHAR[]"


def _sql_id(col: str, raw: tuple) -> str:
    v, f, r = col, f"{col}_fmt", f"{col}_raw"
    s = f"cast({v} as varchar)"
    return (
        f"case when {r} >= 0 then ({_lit(raw)})[{r} + 1] "
        f"when {f} = 1 then ' ' || {s} || '  ' "
        f"when {f} = 2 and {v} >= 0 then '+' || {s} "
        f"when {f} = 3 and {v} >= 0 then '00' || {s} "
        f"else {s} end"
    )


def _sql_ts(col: str, raw: tuple) -> str:
    v, f, o, r = col, f"{col}_fmt", f"{col}_off", f"{col}_raw"
    frac_us = f"(epoch_us({v}) - epoch_us(date_trunc('second', {v})))"
    frac6 = f"lpad(cast({frac_us} as varchar), 6, '0')"
    frac = f"(case when {frac_us} = 0 then '' else '.' || {frac6} end)"
    frac_trim = f"(case when {frac_us} = 0 then '' else '.' || rtrim({frac6}, '0') end)"
    off_txt = (
        f"((case when {o} < 0 then '-' else '+' end) || lpad(cast(abs({o}) // 60 as varchar), 2,"
        f" '0') || ':' || lpad(cast(abs({o}) % 60 as varchar), 2, '0'))"
    )
    return (
        f"case when {r} >= 0 then ({_lit(raw)})[{r} + 1] "
        f"when {f} = 1 then strftime({v}, '%Y-%m-%dT%H:%M:%S') || {frac_trim} "
        f"when {f} = 2 then strftime({v}, '%Y-%m-%dT%H:%M:%S') || {frac} || 'Z' "
        f"when {f} = 3 then strftime({v} + to_minutes({o}), '%Y-%m-%d %H:%M:%S') || {frac} "
        f"|| {off_txt} "
        f"when {f} = 4 and date_trunc('day', {v}) = {v} then strftime({v}, '%Y-%m-%d') "
        f"when {f} = 5 and date_trunc('minute', {v}) = {v} then strftime({v}, '%Y-%m-%d %H:%M') "
        f"when {f} = 6 then strftime({v}, '%Y-%m-%d %H:%M:%S') || '.' || {frac6} "
        f"else strftime({v}, '%Y-%m-%d %H:%M:%S') || {frac} end"
    )


def _sql_text(col: str) -> str:
    v, f = col, f"{col}_fmt"
    return (
        f"case {f} when 1 then upper({v}) when 2 then lower({v}) "
        f"when 3 then '  ' || {v} || ' ' "
        f"when 4 then upper(left({v}, 1)) || substr({v}, 2) "
        f"when 5 then '' when 6 then '   ' when 7 then NULL "
        f"when 8 then '  ' || upper(left({v}, 1)) || substr({v}, 2, instr({v}, '@') - 1) "
        f"|| upper(substr({v}, instr({v}, '@') + 1)) || ' ' "
        f"else {v} end"
    )


def _sql_amount(col: str, raw: tuple) -> str:
    c, f, r = col, f"{col}_fmt", f"{col}_raw"
    whole = f"cast({c} // 100 as varchar)"
    base = f"({whole} || '.' || lpad(cast({c} % 100 as varchar), 2, '0'))"
    return (
        f"case when {r} >= 0 then ({_lit(raw)})[{r} + 1] "
        f"when {f} = 1 and {c} % 100 = 0 then {whole} "
        f"when {f} = 1 and {c} % 10 = 0 then {whole} || '.' || cast(({c} % 100) // 10 as varchar) "
        f"when {f} = 2 then ' ' || {base} || '  ' "
        f"when {f} = 3 then cast({c} as varchar) || 'e-2' "
        f"when {f} = 4 and {c} < 10000000 then printf('%.6e', cast({c} as double) / 100) "
        f"when {f} = 5 then {base} || '4' "
        f"when {f} = 6 then {base} || '5' "
        f"else {base} end"
    )


#: Per raw table, each column's text expression over the truth table's columns (``uid``,
#: ``uid_fmt``, ``uid_raw``, ...; see ``_dirty``); ``render_select`` lists them in the
#: contract's column order.
_EXPRESSIONS: dict[str, dict[str, str]] = {
    "raw_users": {
        "user_id": _sql_id("uid", ID_GARBAGE),
        "email": _sql_text("email"),
        "name": "name",
        "country": _sql_text("country"),
        "referrer": _sql_text("referrer"),
        "created_at": _sql_ts("ts", TS_GARBAGE),
    },
    "raw_events": {
        "event_id": _sql_id("eid", ID_GARBAGE),
        "user_id": _sql_id("uid", ID_GARBAGE),
        "event_type": _sql_text("etype"),
        "timestamp": _sql_ts("ts", TS_GARBAGE),
        "utm_source": _sql_text("utm"),
    },
    "raw_orders": {
        "order_id": _sql_id("oid", ID_GARBAGE),
        "user_id": _sql_id("uid", ID_GARBAGE),
        "amount": _sql_amount("cents", AMOUNT_RAW),
        "product_category": _sql_text("cat"),
        "payment_method": _sql_text("pay"),
        "created_at": _sql_ts("ts", TS_GARBAGE),
    },
}


def _check_against_contract() -> None:
    """Every raw table of the contract has an expression for each of its columns, no more."""
    if set(_EXPRESSIONS) != set(TABLE_NAMES):
        raise RuntimeError(f"rendered tables {sorted(_EXPRESSIONS)} != contract {sorted(TABLE_NAMES)}")
    for table, exprs in _EXPRESSIONS.items():
        if set(exprs) != set(COLUMNS[table]):
            raise RuntimeError(f"{table}: rendered columns {sorted(exprs)} != contract {sorted(COLUMNS[table])}")


_check_against_contract()


def value_slots(table: str) -> tuple[dict[str, tuple[str | None, ...]], dict[str, tuple[str, int, int]]]:
    """The texts of the table's value cases (``contract.ValueCase``) per column, one case
    after the other, and where each flag's texts lie: {flag: (column, start, stop)}."""
    texts: dict[str, tuple[str | None, ...]] = {}
    slots: dict[str, tuple[str, int, int]] = {}
    for case in RAW_TABLES[table].value_cases:
        start = len(texts.get(case.column, ()))
        texts[case.column] = texts.get(case.column, ()) + case.texts
        slots[case.flag] = (case.column, start, start + len(case.texts))
    return texts, slots


def value_code_column(column: str) -> str:
    """The truth column whose code (>= 0) writes one of ``column``'s value-case texts."""
    return f"bad__{column}"


def render_select(table: str) -> str:
    """``SELECT <text columns> FROM {src}`` turning a truth table of ``_dirty.dirty_tables``
    into the VARCHAR raw table, columns in the contract's order."""
    exprs = dict(_EXPRESSIONS[table])
    for column, texts in value_slots(table)[0].items():
        code = quote_ident(value_code_column(column))
        exprs[column] = f"case when {code} >= 0 then ({_lit(texts)})[{code} + 1] else ({exprs[column]}) end"
    cols = ", ".join(f"({exprs[name]}) AS {quote_ident(name)}" for name in COLUMNS[table])
    return f"SELECT {cols} FROM {{src}}"
