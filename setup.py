"""Ships the dbt project inside the wheel (``sbdk/dbt_project/``), so that an installed
``sbdk`` command runs without a checkout. Everything else is in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: The dbt project: what `sbdk run` builds (the package's Python tests stay out).
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml")
PROJECT_DIRS = ("models", "macros", "seeds", "tests")


class BuildPyWithDbtProject(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds the checkout itself
        target = Path(self.build_lib) / "sbdk" / "dbt_project"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in PROJECT_FILES:
            shutil.copy2(ROOT / name, target / name)
        for name in PROJECT_DIRS:
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildPyWithDbtProject})
