"""MetricFlow's own command on the quick start's data: `mf validate-configs` passes (the
definitions, and every semantic model, dimension, entity, measure and metric queried on the
warehouse), and the README's example queries print what the README shows. On DuckDB (the
quick start) and on PostgreSQL (`sbdk run --target postgres`, the same generated data).

The commands run as a user runs them, from a copy of the checkout (links to the package's
files): `sbdk run --users 10000`, `dbt parse --profiles-dir .`, then each `mf` command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from consumer_projects import link_package_files, set_default_target
from sbdk.engines import Engine, PostgresEngine
from sbdk.project import find_project_dir
from warehouse import create_database

pytestmark = [pytest.mark.engines("postgres"), pytest.mark.metricflow, pytest.mark.slow]

PACKAGE_DIR = find_project_dir()
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ReadmeQuery:
    command: str
    output: list[str]


def readme_metrics_section() -> str:
    text = (PACKAGE_DIR / "README.md").read_text()
    start = text.index("## Metrics (MetricFlow)")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def readme_queries() -> tuple[list[str], list[ReadmeQuery]]:
    """The section's setup commands (the lines of its bash blocks before the first `mf`) and
    each `mf query` with the text block that follows it."""
    blocks = re.findall(r"```(bash|text)\n(.*?)```", readme_metrics_section(), re.DOTALL)
    setup: list[str] = []
    queries: list[ReadmeQuery] = []
    pending: str | None = None
    for kind, body in blocks:
        lines = [line for line in body.splitlines() if line.strip()]
        if kind == "bash":
            for line in lines:
                if line.startswith(".venv/bin/mf "):
                    assert pending is None, f"README: no output shown after `{pending}`"
                    pending = line
                else:
                    setup.append(line)
        else:
            assert pending is not None, "README: an output block without a command before it"
            queries.append(ReadmeQuery(pending, lines))
            pending = None
    assert pending is None, f"README: no output shown after `{pending}`"
    return setup, queries


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    assert argv[0].startswith(".venv/bin/"), command
    return [str(BIN / argv[0].removeprefix(".venv/bin/")), *argv[1:]]


@dataclass
class QuickStart:
    project: Path
    env: dict[str, str]

    def run(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(_argv(command), cwd=self.project, env=self.env, capture_output=True, text=True,
                              timeout=600)


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory: pytest.TempPathFactory, engine_name: str, warehouse: Engine | None) -> QuickStart:
    """The quick start's `sbdk run --users 10000` in a copy of the checkout, on this run's engine,
    then the README section's setup (`dbt parse`)."""
    project = tmp_path_factory.mktemp("quick-start") / "sbdk"
    project.mkdir()
    link_package_files(project, PACKAGE_DIR)
    set_default_target(project / "profiles.yml", engine_name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBDK_", "DBT_"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    target: list[str] = []
    if isinstance(warehouse, PostgresEngine):
        cli_engine = PostgresEngine({**warehouse.settings, "DATABASE": warehouse.settings["DATABASE"] + "_mf"})
        create_database(cli_engine)
        env.update(cli_engine.dbt_env())
        target = ["--target", "postgres"]
    quick = QuickStart(project, env)
    built = subprocess.run([str(BIN / "sbdk"), "run", "--users", "10000", "--no-progress", *target],
                           cwd=project, env=env, capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    setup, _ = readme_queries()
    assert setup, "README: no setup command before the queries"
    for command in setup:
        done = quick.run(command)
        assert done.returncode == 0, f"`{command}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert (project / "target" / "semantic_manifest.json").exists(), "dbt parse wrote no semantic manifest"
    return quick


def test_the_readme_shows_three_queries() -> None:
    _, queries = readme_queries()
    assert len(queries) == 3 and all(q.output for q in queries)


def test_mf_validate_configs_passes_on_the_warehouse(quick_start: QuickStart) -> None:
    done = quick_start.run(".venv/bin/mf validate-configs")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # the semantic checks and the five warehouse checks (semantic models, dimensions, entities,
    # measures, metrics), each without an error
    assert len(re.findall(r"Successfully validated", output)) == 6, output[-4000:]
    assert len(re.findall(r"\(ERRORS: 0,", output)) == 6, output[-4000:]


@pytest.mark.parametrize("number", [0, 1, 2], ids=["first", "second", "third"])
def test_readme_query_prints_what_the_readme_shows(quick_start: QuickStart, number: int) -> None:
    query = readme_queries()[1][number]
    done = quick_start.run(query.command)
    assert done.returncode == 0, f"`{query.command}` failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    assert query.output[0] in lines, f"`{query.command}` printed:\n{done.stdout}"
    start = lines.index(query.output[0])
    printed = [line for line in lines[start:] if line.strip()]
    assert printed == query.output, (
        f"`{query.command}` printed\n" + "\n".join(printed) + "\nthe README shows\n" + "\n".join(query.output))
