"""MetricFlow queries of the package's metrics, in the test worker's process.

MetricFlow plans a query and renders its SQL for the engine (DuckDB or PostgreSQL); the
harness runs that SQL on the test's warehouse, the way ``mf query`` runs it through the dbt
adapter. The semantic manifest comes from the manifest the worker parsed already
(``HarnessProject.parse``): no second parse, no target/semantic_manifest.json file.
The ``mf`` command itself is run by the tests of ``mf validate-configs`` and of the README's
queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbt.contracts.graph.semantic_manifest import SemanticManifest as DbtSemanticManifest
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

from sbdk.engines import Engine

#: The engines MetricFlow renders SQL for, by dbt adapter type (MetricFlow has no Spark).
_RENDERERS = {
    "duckdb": (SqlEngine.DUCKDB, DuckDbSqlPlanRenderer),
    "postgres": (SqlEngine.POSTGRES, PostgresSQLSqlPlanRenderer),
}


class _RenderOnlyClient:
    """The part of MetricFlow's SqlClient that planning uses: the engine and its renderer."""

    def __init__(self, engine_type: str) -> None:
        self._engine, renderer = _RENDERERS[engine_type]
        self._renderer = renderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return self._engine

    @property
    def sql_plan_renderer(self) -> Any:
        return self._renderer

    def query(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the harness runs MetricFlow's SQL on its own engine")

    execute = dry_run = query

    def close(self) -> None:
        pass

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        raise NotImplementedError("no bind parameters")


class PackageMetrics:
    """MetricFlow over the semantic manifest of a parsed dbt manifest."""

    def __init__(self, manifest: Any, engine_type: str) -> None:
        #: The package's metrics, as dbt parsed them (MetricFlow adds metrics of its own).
        self.metric_names = sorted(m.name for m in manifest.metrics.values() if m.package_name == "sbdk")
        pydantic_manifest = DbtSemanticManifest(manifest)._get_pydantic_semantic_manifest()
        semantic_manifest = parse_manifest_from_dbt_generated_manifest(pydantic_manifest.json())
        self._engine = MetricFlowEngine(SemanticManifestLookup(semantic_manifest), _RenderOnlyClient(engine_type))

    def sql(self, metrics: Sequence[str], group_by: Sequence[str] = ()) -> str:
        request = MetricFlowQueryRequest.create(metric_names=list(metrics), group_by_names=list(group_by))
        return self._engine.explain(request).sql_statement.sql

    def rows(self, engine: Engine, metrics: Sequence[str], group_by: Sequence[str] = ()) -> list[dict]:
        """The query's rows on ``engine``: one dict per row, keyed by MetricFlow's output names."""
        return engine.rows(self.sql(metrics, group_by))
