"""One version string: pyproject.toml, dbt_project.yml, the package's settings hash
(`sbdk.package_version()`), `sbdk.__version__` and `sbdk --version` must agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

import sbdk

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_version() -> str:
    # tomllib is Python 3.11+; the version is one line of the [project] table
    project = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    found = re.search(r'^version = "([^"]+)"$', project, re.M)
    assert found, "pyproject.toml: no version in [project]"
    return found.group(1)


def test_every_version_string_is_the_same() -> None:
    versions = {
        "pyproject.toml": _pyproject_version(),
        "dbt_project.yml": str(yaml.safe_load((ROOT / "dbt_project.yml").read_text())["version"]),
        "integration_tests/dbt_project.yml": str(
            yaml.safe_load((ROOT / "integration_tests" / "dbt_project.yml").read_text())["version"]),
        "sbdk.__version__": sbdk.__version__,
    }
    macro = re.search(r"macro package_version\(\).*?return\('([^']+)'\)",
                      (ROOT / "macros" / "incremental" / "state.sql").read_text(), re.S)
    versions["sbdk.package_version()"] = macro.group(1) if macro else "(no macro)"
    cli = subprocess.run([str(Path(sys.executable).with_name("sbdk")), "--version"],
                         capture_output=True, text=True, timeout=60)
    versions["sbdk --version"] = cli.stdout.strip().removeprefix("sbdk ")
    assert cli.returncode == 0 and cli.stdout.startswith("sbdk "), cli.stdout + cli.stderr
    assert len(set(versions.values())) == 1, versions
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", versions["pyproject.toml"]), versions


def test_the_changelog_has_a_section_for_the_version() -> None:
    version = _pyproject_version()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(version)}\]", changelog, re.M), f"CHANGELOG.md has no section [{version}]"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_generic_tests_fallback_is_the_packages_default() -> None:
    # a consumer's own models do not see the package's vars: reasonable_session_duration
    # falls back to a literal, which must be the default of dbt_project.yml
    default = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]["max_session_duration_hours"]
    macro = (ROOT / "macros" / "generic_tests" / "reasonable_session_duration.sql").read_text()
    found = re.search(r"number_var\('max_session_duration_hours', ([0-9.]+)\)", macro)
    assert found, "reasonable_session_duration.sql: no fallback for max_session_duration_hours"
    assert float(found.group(1)) == float(default)
