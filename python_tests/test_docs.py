"""The README documents the package's vars with their defaults: the defaults it shows are the
ones `dbt_project.yml` sets (the one home of each default), and every var is documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _readme_vars() -> dict[str, str]:
    """var -> default as the README's Variables table shows it ('a / b' rows split)."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("### Variables"):].split("\n\n")[1]
    documented: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`(\w+)`", cells[0])
        defaults = [d.strip().strip("`") for d in cells[1].split(" / ")]
        documented.update(zip(names, defaults if len(defaults) == len(names) else [cells[1]] * len(names),
                              strict=True))
    return documented


def test_readme_shows_the_defaults_of_dbt_project_yml() -> None:
    project_vars = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]
    documented = _readme_vars()
    missing = sorted(set(project_vars) - set(documented))
    assert not missing, f"vars of dbt_project.yml not in the README: {missing}"
    numeric = {name: value for name, value in project_vars.items() if isinstance(value, int | float)}
    assert len(numeric) >= 9, f"the thresholds of the contract should be vars: {numeric}"
    wrong = {name: (documented[name], value) for name, value in numeric.items() if documented[name] != str(value)}
    assert not wrong, f"README default != dbt_project.yml (README, dbt_project.yml): {wrong}"
