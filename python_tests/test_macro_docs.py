"""Every macro of the package is documented in macros/_macros.yml:

- every macro (generic tests as `test_<name>`, every dispatched implementation) has a
  description, and every argument of its signature is documented, in order, with a type dbt
  accepts and a description; no entry of the file names a macro that does not exist (dbt
  only warns about one);
- the public API says so: the generic tests, the cross-database helpers, the parsing macros and
  every dispatched macro (which a consumer may override through `dispatch`) start with
  "Public", say how to override a dispatched macro, and the entry points show an example;
  everything else starts with "Internal.".

The macros are read from the worker's parsed manifest (the `dbt_project` fixture).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import jinja2.nodes
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROPERTIES = ROOT / "macros" / "_macros.yml"
#: folders whose macros are the package's API (helpers named `_...` excepted)
PUBLIC_DIRS = ("macros/generic_tests/", "macros/cross_db/", "macros/parsing/")
#: `<adapter>__<name>`: an implementation of a dispatched macro
IMPLEMENTATION = re.compile(r"^(default|postgres|redshift|duckdb|spark|databricks)__\w+$")
#: the opening tag of a macro (or generic test) and its argument list
SIGNATURE = re.compile(r"^\s*\{%-?\s*(macro|test)\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.DOTALL)
OVERRIDE = "macro_namespace: sbdk"


@pytest.fixture(scope="module")
def macros(dbt_project) -> dict:
    """name -> the parsed macro, for every macro of package sbdk."""
    found = {m.name: m for m in dbt_project.parse().macros.values() if m.package_name == "sbdk"}
    assert len(found) > 100, f"only {len(found)} macros of sbdk in the manifest"
    return found


def _signature(macro) -> list[str]:
    """The argument names of the macro's `{% macro name(...) %}` (or `{% test ... %}`) tag."""
    found = SIGNATURE.match(macro.macro_sql)
    assert found, f"{macro.name}: no macro tag at the start of its SQL"
    kind, name, args = found.groups()
    assert (f"test_{name}" if kind == "test" else name) == macro.name
    template = jinja2.Environment().parse(f"{{% macro {name}({args}) %}}{{% endmacro %}}")
    (node,) = template.find_all(jinja2.nodes.Macro)
    return [arg.name for arg in node.args]


def _is_dispatched(macro) -> bool:
    return bool(IMPLEMENTATION.match(macro.name)) or "adapter.dispatch(" in macro.macro_sql


def _is_public(macro) -> bool:
    if macro.name.startswith("_"):
        return False
    return macro.original_file_path.replace("\\", "/").startswith(PUBLIC_DIRS) or _is_dispatched(macro)


def test_every_macro_has_a_description(macros: dict) -> None:
    missing = sorted(name for name, macro in macros.items() if not (macro.description or "").strip())
    assert not missing, f"macros without a description in macros/_macros.yml: {missing}"


def test_every_argument_is_documented(macros: dict) -> None:
    problems = []
    for name, macro in sorted(macros.items()):
        documented = [arg.name for arg in macro.arguments]
        signature = _signature(macro)
        if documented != signature:
            problems.append(f"{name}: documented arguments {documented}, signature {signature}")
        for arg in macro.arguments:
            if not (arg.description or "").strip() or not (arg.type or "").strip():
                problems.append(f"{name}: argument {arg.name} lacks a type or a description")
    assert not problems, "macros/_macros.yml vs the macros' signatures:\n" + "\n".join(problems)


def test_argument_types_are_valid_for_dbt(macros: dict) -> None:
    from dbt.parser import schemas  # is_valid_type: in every supported dbt-core (1.10 to 1.12)

    invalid = sorted(
        f"{name}.{arg.name}: {arg.type}"
        for name, macro in macros.items()
        for arg in macro.arguments
        if arg.type and not schemas.is_valid_type(arg.type)
    )
    assert not invalid, f"types dbt's validate_macro_args would reject: {invalid}"


def test_no_entry_names_a_missing_macro(macros: dict) -> None:
    entries = [entry["name"] for entry in yaml.safe_load(PROPERTIES.read_text())["macros"]]
    stale = sorted(set(entries) - set(macros))
    duplicated = sorted({name for name in entries if entries.count(name) > 1})
    assert not stale, f"macros/_macros.yml documents macros that do not exist: {stale}"
    assert not duplicated, f"macros/_macros.yml documents these macros twice: {duplicated}"


def test_public_and_internal_macros_say_so(macros: dict) -> None:
    problems = []
    for name, macro in sorted(macros.items()):
        description = (macro.description or "").strip()
        if not _is_public(macro):
            if not description.startswith("Internal."):
                problems.append(f"{name} ({macro.original_file_path}) should start with 'Internal.'")
            continue
        if not description.startswith("Public"):
            problems.append(f"{name} is public API: its description should start with 'Public'")
        if _is_dispatched(macro) and OVERRIDE not in description:
            problems.append(f"{name} is dispatched: say it can be overridden with `{OVERRIDE}`")
        if not IMPLEMENTATION.match(name) and "```" not in description:
            problems.append(f"{name} is a public entry point: show a usage example")
    assert not problems, "\n".join(problems)
