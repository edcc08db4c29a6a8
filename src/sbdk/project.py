"""Run the sbdk dbt project through dbt's Python API.

`DbtProject.build_file` runs one `dbt build` (parsing included) on an engine and
turns dbt's result into a `BuildOutcome` that names every node that did not pass.
dbt keeps global adapter state: use one `DbtProject` per process and never call
it from two threads at once. (The test harness parses once and builds many times:
python_tests/warehouse.py.)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sbdk._signals import raise_if_interrupted
from sbdk.engines import Engine


class BuildError(RuntimeError):
    """dbt could not parse or build the project; the message names what failed."""


#: Where a wheel ships the dbt project (see setup.py).
PACKAGED_PROJECT = Path(__file__).resolve().parent / "dbt_project"


def find_project_dir() -> Path:
    """The sbdk dbt project: $SBDK_PROJECT_DIR, else the copy installed with this package,
    else the checkout this package sits in (an editable install)."""
    env = os.environ.get("SBDK_PROJECT_DIR")
    if env:
        if not (Path(env) / "dbt_project.yml").is_file():
            raise BuildError(f"SBDK_PROJECT_DIR={env} has no dbt_project.yml")
        return Path(env)
    for candidate in (PACKAGED_PROJECT, Path(__file__).resolve().parents[2]):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    raise BuildError(
        "cannot find the sbdk dbt project (dbt_project.yml): reinstall sbdk, or set SBDK_PROJECT_DIR to its folder"
    )


@dataclass
class NodeProblem:
    """One model, seed or test that did not pass."""

    kind: str  # model, seed, test, ...
    name: str
    status: str  # error, fail, warn, skipped
    message: str
    #: A failing test's query, and the first rows it returned (filled in after the build).
    compiled_sql: str | None = field(default=None, repr=False)
    rows: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.kind} {self.name}: {self.status}: {self.message}"
        if self.rows:
            text += "".join(f"\n      {row}" for row in self.rows)
        return text


@dataclass
class BuildOutcome:
    success: bool
    errors: list[NodeProblem] = field(default_factory=list)
    warnings: list[NodeProblem] = field(default_factory=list)
    skipped: list[NodeProblem] = field(default_factory=list)
    passed: int = 0
    seconds: float = 0.0
    #: The compiled SQL of every test that ran, by test name (what a check inspected).
    compiled_tests: dict[str, str] = field(default_factory=dict, repr=False)
    #: The models built, in the order of the layers (depth in the DAG, then name).
    models: list[str] = field(default_factory=list)

    def raise_for_errors(self) -> None:
        if not self.success:
            detail = "; ".join(str(p) for p in self.errors[:3]) or "dbt reported a failure"
            more = f" (and {len(self.errors) - 3} more)" if len(self.errors) > 3 else ""
            skipped = f"; {len(self.skipped)} skipped" if self.skipped else ""
            raise BuildError(f"dbt build failed: {detail}{more}{skipped}")


#: The ``DBT_*`` variables of the caller's environment that reach a build: they change how
#: dbt reports, never what a build does. Every other ``DBT_*`` (and ``DBT_ENGINE_*``) variable
#: is left out of the build's environment: ``DBT_EMPTY`` would build empty models,
#: ``DBT_EXCLUDE_RESOURCE_TYPES=test`` skip the tests, ``DBT_WARN_ERROR``, ``DBT_FAIL_FAST``,
#: ``DBT_FULL_REFRESH``, ``DBT_DEFER``/``DBT_STATE``, ``DBT_STORE_FAILURES`` or
#: ``DBT_MACRO_DEBUGGING`` change what "passed" means or what is written, and the paths, the
#: target, the log and colour settings are the command's own (docs/cli.md lists them).
PASSED_DBT_VARIABLES = ("DBT_SEND_ANONYMOUS_USAGE_STATS", "DBT_VERSION_CHECK", "DBT_PRINTER_WIDTH",
                        "DBT_LOG_FORMAT_FILE", "DBT_LOG_FILE_MAX_BYTES", "DBT_INVOCATION_ENV")
#: Prefixes of ``DBT_*`` variables that reach a build: values for ``env_var()`` and metadata.
PASSED_DBT_PREFIXES = ("DBT_ENV_SECRET_", "DBT_ENV_CUSTOM_ENV_")


def _passed_to_dbt(name: str) -> bool:
    if not name.upper().startswith("DBT_"):
        return True
    plain = "DBT_" + name[len("DBT_ENGINE_"):] if name.upper().startswith("DBT_ENGINE_") else name
    return plain.upper() in PASSED_DBT_VARIABLES or plain.upper().startswith(PASSED_DBT_PREFIXES)


@contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in the environment, and the ``DBT_*`` variables a build must not see
    (`PASSED_DBT_VARIABLES`) removed, for the life of the block."""
    hidden = [name for name in os.environ if not _passed_to_dbt(name) and name not in values]
    old = {name: os.environ.get(name) for name in [*values, *hidden]}
    for name in hidden:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _drop_dbt_fallback_logger() -> None:
    """dbt logs to stdout, in colour, until an invocation has read its log settings: an error
    (a Ctrl-C) before that, or in between, would print its traceback there. The invocation
    sets up its own loggers (``--log-level``); until then nothing is logged."""
    from dbt_common.events.event_manager_client import get_event_manager

    get_event_manager().loggers.clear()


def _close_duckdb_connections() -> None:
    """Release the DuckDB file dbt-duckdb may still hold (its environment is global)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - adapter missing is reported by dbt itself
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        try:
            env.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
    DuckDBConnectionManager.close_all_connections()


def _short(message: str | None, limit: int = 400) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class DbtProject:
    """The sbdk dbt project, built on an engine with the given vars."""

    def __init__(
        self,
        work_dir: str | Path,
        dbt_vars: Mapping[str, Any] | None = None,
        *,
        project_dir: str | Path | None = None,
        profiles_dir: str | Path | None = None,
        threads: int | None = None,
        extra_args: list[str] | None = None,
        target: str = "duckdb",
        console_log_level: str = "none",
    ) -> None:
        self.project_dir = Path(project_dir) if project_dir else find_project_dir()
        self.profiles_dir = Path(profiles_dir) if profiles_dir else self.project_dir
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.vars = dict(dbt_vars or {})
        self.threads = threads
        self.extra_args = list(extra_args or [])
        self.target = target
        #: dbt's own output on stdout: "none" (the default) or a dbt log level
        self.console_log_level = console_log_level

    def _args(self, command: str, *extra: str) -> list[str]:
        args = [
            command,
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.profiles_dir),
            "--target-path", str(self.work_dir / "target"),
            "--log-path", str(self.work_dir / "logs"),
            "--vars", json.dumps(self.vars, sort_keys=True),
            "--target", self.target,
            # nothing of dbt's on the console: its errors come back in the result, and an
            # interrupted build would print its cancellations and the traceback of the
            # KeyboardInterrupt (coloured even off a terminal); all of it goes to the log file
            # (``console_log_level`` "debug" shows it, for `sbdk --debug`), without colour codes
            "--log-level", self.console_log_level,
            "--log-level-file", "debug",
            "--use-colors" if self.console_log_level != "none" and sys.stdout.isatty() else "--no-use-colors",
            "--no-use-colors-file",
        ]
        if self.threads:
            args += ["--threads", str(self.threads)]
        return args + self.extra_args + list(extra)

    def _invoke(self, args: list[str], env: Mapping[str, str], callbacks: Sequence[Callable] = (),
                manifest: Any = None) -> Any:
        """One dbt command; ``manifest``: a parsed manifest to reuse instead of parsing."""
        from dbt.cli.main import dbtRunner

        _drop_dbt_fallback_logger()
        runner = dbtRunner(manifest=manifest, callbacks=list(callbacks) or None)
        # the threads given win over $SBDK_DBT_THREADS, which the profile reads as well
        threads = {"SBDK_DBT_THREADS": str(self.threads)} if self.threads else {}
        with _env({**env, **threads, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
            try:
                return runner.invoke(args)
            finally:
                if self.target == "duckdb":
                    _close_duckdb_connections()

    def build_file(self, engine: Engine, *extra: str, callbacks: Sequence[Callable] = ()) -> BuildOutcome:
        """One `dbt build` on ``engine`` (any DuckDB file name), parsing as part of the
        invocation; ``callbacks`` receive dbt's events (e.g. a progress display)."""
        return self._run(self._args("build", *extra), engine, callbacks)

    def _run(self, args: list[str], engine: Engine, callbacks: Sequence[Callable] = (),
             manifest: Any = None) -> BuildOutcome:
        import time

        start = time.perf_counter()
        result = self._invoke(args, engine.dbt_env(), callbacks, manifest)
        if isinstance(result.exception, KeyboardInterrupt):
            # dbt cancels its queries and hands a Ctrl-C back as a failed result: it is an interrupt
            raise KeyboardInterrupt
        raise_if_interrupted()
        outcome = summarize(result)
        attach_failing_rows(outcome.errors, engine)
        outcome.seconds = time.perf_counter() - start
        return outcome


def attach_failing_rows(problems: list[NodeProblem], engine: Engine, limit: int = 5) -> None:
    """Show the rows a failing test returned, so a failure points at the data."""
    for problem in problems:
        if not problem.compiled_sql:
            continue
        try:
            problem.rows = engine.rows(f"select * from ({problem.compiled_sql}) as failing_rows limit {limit}")
        except Exception:  # noqa: BLE001 - the rows are a help, never a second failure
            continue


def summarize(result: Any) -> BuildOutcome:
    """Turn a dbtRunnerResult into errors and warnings that name the node."""
    outcome = BuildOutcome(success=bool(result.success))
    if result.exception is not None:
        outcome.success = False
        outcome.errors.append(NodeProblem("dbt", "invocation", "error", _short(str(result.exception))))
        return outcome
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        status = str(node_result.status).lower().split(".")[-1]
        kind = getattr(node, "resource_type", "node")
        kind = str(kind).lower().split(".")[-1]
        if kind == "operation" and status == "success":
            continue  # a hook (the package's on-run-start check), not a node of the build
        problem = NodeProblem(kind, node.name, status, _short(node_result.message))
        if kind == "test":
            outcome.compiled_tests[node.name] = getattr(node, "compiled_code", None) or ""
        if kind == "test" and status in ("fail", "warn"):
            problem.compiled_sql = getattr(node, "compiled_code", None)
        if status in ("error", "fail", "runtime error"):
            outcome.errors.append(problem)
        elif status == "warn":
            outcome.warnings.append(problem)
        elif status == "skipped":
            outcome.skipped.append(problem)
        else:
            outcome.passed += 1
    if not result.success and not outcome.errors:
        outcome.errors.append(NodeProblem("dbt", "build", "error", "dbt reported a failure"))
    # by name: dbt reports nodes in the order its threads finished them, and the same data
    # must give the same messages
    for problems in (outcome.errors, outcome.warnings, outcome.skipped):
        problems.sort(key=lambda p: (p.kind, p.name))
    outcome.models = in_layer_order({
        r.node.unique_id: r.node for r in getattr(result.result, "results", None) or []
        if str(r.node.resource_type).lower().endswith("model") and str(r.status).lower().endswith("success")
    })
    return outcome


def in_layer_order(nodes: Mapping[str, Any]) -> list[str]:
    """The names of ``nodes`` (unique_id -> manifest node) by layer: the folders (staging,
    intermediate, marts, semantic) in the order of the first model each can build that reads
    another of ``nodes`` (a folder none of whose models does goes by its first model), and in
    a folder each model after the models it reads (its depth in the DAG), ties by name. So a
    folder is not put first for a model that reads only vars (the metrics' time spine). The
    same order on every engine and thread count."""
    depth: dict[str, int] = {}

    def depth_of(unique_id: str) -> int:
        if unique_id not in depth:
            parents = [p for p in nodes[unique_id].depends_on.nodes if p in nodes]
            depth[unique_id] = 1 + max(map(depth_of, parents), default=-1)
        return depth[unique_id]

    def folder(unique_id: str) -> str:
        return "/".join(nodes[unique_id].fqn[1:-1])

    def reads_another(unique_id: str) -> bool:
        return any(p in nodes for p in nodes[unique_id].depends_on.nodes)

    first_depth: dict[str, int] = {}
    for name in {folder(u) for u in nodes}:
        members = [u for u in nodes if folder(u) == name]
        first_depth[name] = min(depth_of(u) for u in ([u for u in members if reads_another(u)] or members))
    return [nodes[u].name for u in sorted(
        nodes, key=lambda u: (first_depth[folder(u)], folder(u), depth_of(u), nodes[u].name))]
