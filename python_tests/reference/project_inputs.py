"""The inputs the package reads from its own files, read here for the reference
implementation: the vars of `dbt_project.yml` and the mapping seeds (`seeds/*.csv`).

Only the inputs are shared, never the rules: a user who edits a threshold or a seed
(as the README invites) gets a reference that agrees with the package they build.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from sbdk.project import find_project_dir

#: The reference's name of each mapping -> the seed that holds it (first column the
#: value looked up, second column what it maps to).
MAPPING_SEEDS = {
    "event_category_mapping": "sbdk_event_type_categories",
    "revenue_type_mapping": "sbdk_product_revenue_types",
    "payment_method_group_mapping": "sbdk_payment_method_groups",
}


def _seed_mapping(path: Path) -> dict[str, str]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or len(rows[0]) != 2:
        raise ValueError(f"{path}: expected a header and two columns (value, what it maps to)")
    return {row[0]: row[1] for row in rows[1:] if row}


def project_vars(overrides: dict[str, Any] | None = None, project_dir: Path | None = None) -> dict[str, Any]:
    """The vars of the package's `dbt_project.yml` with the mapping seeds, then ``overrides``
    (a scenario's vars, or a test's); a given mapping replaces the seed's entirely."""
    root = project_dir or find_project_dir()
    values: dict[str, Any] = dict(yaml.safe_load((root / "dbt_project.yml").read_text())["vars"])
    for name, seed in MAPPING_SEEDS.items():
        values[name] = _seed_mapping(root / "seeds" / f"{seed}.csv")
    values.update(overrides or {})
    return values


def model_columns(project_dir: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The columns of each model as the package's properties files (`models/**/*.yml`)
    declare them, in their order; `dbt_updated_at` (the run's start time, not data) left out."""
    root = project_dir or find_project_dir()
    columns: dict[str, tuple[str, ...]] = {}
    for path in sorted((root / "models").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            columns[model["name"]] = tuple(
                c["name"] for c in model.get("columns", []) if c["name"] != "dbt_updated_at"
            )
    return columns
