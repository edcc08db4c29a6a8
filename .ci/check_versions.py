"""Print the Python, dbt and DuckDB versions of a tox env and check them.

    python .ci/check_versions.py ["dbt-core>=1.10,<1.11" ...]

Each argument is a requirement the installed distribution must satisfy, so a
matrix cell fails instead of silently testing other versions than its name says.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.requirements import Requirement

SHOWN = ("dbt-core", "dbt-adapters", "dbt-duckdb", "duckdb", "sqlfluff")


def main(argv: list[str]) -> int:
    installed = {}
    for name in SHOWN:
        try:
            installed[name] = version(name)
        except PackageNotFoundError:
            installed[name] = "not installed"
    print(f"python {sys.version.split()[0]}; " + ", ".join(f"{k} {v}" for k, v in installed.items()))

    problems = []
    for text in argv:
        requirement = Requirement(text)
        try:
            found = version(requirement.name)
        except PackageNotFoundError:
            problems.append(f"{requirement.name} is not installed (want {requirement.specifier})")
            continue
        if not requirement.specifier.contains(found, prereleases=True):
            problems.append(f"{requirement.name} {found} does not satisfy {requirement.specifier}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
