"""Read models for the dashboard (``evopipe serve`` pages): runs filtered and paged by key,
a run's steps and graph, the approvals waiting across runs, evolutions with their genealogy
and statistics, and spend grouped by tenant, pipeline, model and day.

Every query is bounded (a page, a run, an evolution) so a page renders as fast over 10,000
runs as over ten. A run's tenant is its queue row's (runs started outside the queue belong to
``default``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from evopipe.app.group import OperationGroup
from evopipe.auth.ownership import DEFAULT_TENANT
from evopipe.spec.errors import EvopipeError

__all__ = ["Dashboard", "RunFilter", "RunRows"]

_TENANT = f"COALESCE(q.tenant, '{DEFAULT_TENANT}')"


@dataclass(frozen=True)
class RunFilter:
    """What the runs page shows; ``None`` is no constraint (times are epoch seconds)."""

    status: str | None = None
    pipeline: str | None = None
    tenant: str | None = None
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class RunRows:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _cursor(row: dict[str, Any]) -> str:
    return f"{row['created_at']!r}~{row['run_id']}"


def _parse_cursor(cursor: str) -> tuple[float, str]:
    at, sep, run_id = cursor.partition("~")
    try:
        if not sep or not run_id:
            raise ValueError(cursor)
        return float(at), run_id
    except ValueError:
        raise EvopipeError(f"invalid page cursor {cursor!r}") from None


def _where(f: RunFilter, cursor: str | None) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for name, column in (("status", "r.status"), ("pipeline", "r.pipeline_name")):
        value = getattr(f, name)
        if value:
            clauses.append(f"{column} = :{name}")
            params[name] = value
    if f.tenant:
        clauses.append(f"{_TENANT} = :tenant")
        params["tenant"] = f.tenant
    if f.since is not None:
        clauses.append("r.created_at >= :since")
        params["since"] = f.since
    if f.until is not None:
        clauses.append("r.created_at < :until")
        params["until"] = f.until
    if cursor:
        at, run_id = _parse_cursor(cursor)
        clauses.append("(r.created_at < :at OR (r.created_at = :at AND r.run_id < :rid))")
        params.update(at=at, rid=run_id)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _loads(value: str | None) -> Any:
    return json.loads(value) if value else None


class Dashboard(OperationGroup):
    """The dashboard's queries over one :class:`~evopipe.app.App`."""

    def _all(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.app.store.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params or {})]

    def _runs(
        self, columns: str, f: RunFilter, *, cursor: str | None = None, tail: str = "", **more: Any
    ) -> list[dict[str, Any]]:
        """Rows of ``runs`` (alias ``r``, with its ``tenant``) that pass ``f``."""
        where, params = _where(f, cursor)
        return self._all(
            f"SELECT {columns}, {_TENANT} AS tenant FROM runs r "
            f"LEFT JOIN run_queue q ON q.run_id = r.run_id{where} {tail}",
            {**params, **more},
        )

    # -- runs --------------------------------------------------------------------------------

    def runs(self, f: RunFilter, *, limit: int = 50, cursor: str | None = None) -> RunRows:
        """One page of runs, newest first; ``next_cursor`` continues after its last row."""
        rows = self._runs(
            "r.run_id, r.pipeline_name, r.status, r.error, r.usage_json, r.created_at, "
            "r.finished_at",
            f,
            cursor=cursor,
            tail="ORDER BY r.created_at DESC, r.run_id DESC LIMIT :limit",
            limit=limit + 1,
        )
        for row in rows:
            row["usage"] = _loads(row.pop("usage_json")) or {}
        more = len(rows) > limit
        rows = rows[:limit]
        return RunRows(rows, _cursor(rows[-1]) if more and rows else None)

    def pipeline_names(self, limit: int = 200) -> list[str]:
        rows = self._all(
            "SELECT DISTINCT pipeline_name FROM runs ORDER BY pipeline_name LIMIT :n", {"n": limit}
        )
        return [r["pipeline_name"] for r in rows]

    def queued(self, run_id: str) -> bool:
        """Whether the run went through the queue (then workers continue it)."""
        return bool(self._all("SELECT 1 FROM run_queue WHERE run_id = :r", {"r": run_id}))

    def tenant_of(self, run_id: str) -> str:
        rows = self._all("SELECT tenant FROM run_queue WHERE run_id = :r", {"r": run_id})
        return str(rows[0]["tenant"]) if rows else DEFAULT_TENANT

    def run(self, run_id: str) -> dict[str, Any]:
        """The run's summary, its steps in detail and its graph (see :mod:`run_view`)."""
        from evopipe.app.run_view import run_view

        return run_view(self.app, run_id)

    def waiting(self, tenant: str | None) -> list[dict[str, Any]]:
        """Steps waiting for a decision, across this tenant's runs (all tenants: ``None``)."""
        rows = self._runs(
            "r.run_id, r.pipeline_name, r.created_at, r.updated_at",
            RunFilter(status="waiting", tenant=tenant),
            tail="ORDER BY r.updated_at DESC LIMIT 200",
        )
        from evopipe.engine.secrets import mask_of

        out = []
        for row in rows:
            view = self.run(row["run_id"])
            inputs = view["run"].get("inputs") or {}
            secrets = sorted(n for n, v in inputs.items() if v == mask_of(n))
            for step in view["steps"]:
                if step["status"] == "waiting":
                    out.append({**row, "step": step, "secrets": secrets})
        return out

    # -- registry ----------------------------------------------------------------------------

    def pipeline(self, name: str) -> dict[str, Any]:
        """``registry show`` plus each version's YAML, its diff to the one before, its tags
        and the aliases pointing at it."""
        import difflib

        from evopipe.orchestrate.labels import Labels
        from evopipe.orchestrate.registry import Registry
        from evopipe.spec.canonical import to_yaml

        shown = self.app.registry.show(name)
        registry, labels = Registry(self.app.store), Labels(self.app.store)
        tags, aliases = labels.tags(name), labels.aliases(name)
        before: list[str] = []
        for version in shown["versions"]:
            number = version["version"]
            text_now = to_yaml(registry.version(name, number).spec).splitlines(keepends=True)
            version["yaml"] = "".join(text_now)
            version["diff"] = list(
                difflib.unified_diff(before, text_now, f"v{number - 1}", f"v{number}", n=2)
            )
            version["tags"] = tags.get(number, [])
            version["aliases"] = sorted(a for a, v in aliases.items() if v == number)
            before = text_now
        return shown

    # -- evolutions --------------------------------------------------------------------------

    def evolutions(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT e.run_id, e.pipeline_name, e.status, e.created_at, e.updated_at, "
            "e.summary_json, (SELECT COUNT(*) FROM evo_members m WHERE m.run_id = e.run_id) "
            "AS candidates FROM evo_runs e ORDER BY e.created_at DESC LIMIT :n",
            {"n": limit},
        )
        for row in rows:
            row["summary"] = _loads(row.pop("summary_json")) or {}
        return rows

    def evolution(self, evolution_id: str) -> dict[str, Any]:
        """Genealogy, fitness per generation, Pareto points, operator success and spend."""
        from evopipe.app.evolution_view import evolution_view

        return evolution_view(self.app, evolution_id)

    # -- costs -------------------------------------------------------------------------------

    def costs(self, tenant: str | None, *, days: int = 30) -> dict[str, list[dict[str, Any]]]:
        """Spend from the runs' usage (every run, queued or not) grouped four ways."""
        since = time.time() - days * 86400
        f = RunFilter(tenant=tenant, since=since)
        rows = self._runs("r.pipeline_name, r.usage_json, r.created_at", f)
        groups: dict[str, dict[str, dict[str, float]]] = {
            "tenant": {},
            "pipeline": {},
            "model": {},
            "day": {},
        }
        for row in rows:
            usage = _loads(row["usage_json"]) or {}
            day = time.strftime("%Y-%m-%d", time.gmtime(row["created_at"]))
            for group, key in (
                ("tenant", row["tenant"]),
                ("pipeline", row["pipeline_name"]),
                ("day", day),
            ):
                _add(groups[group], key, usage)
        where, params = _where(f, None)
        for row in self._all(
            "SELECT e.payload FROM events e JOIN runs r ON r.run_id = e.run_id "
            f"LEFT JOIN run_queue q ON q.run_id = r.run_id{where} AND e.type = 'model_call'",
            params,
        ):
            call = json.loads(row["payload"])
            _add(groups["model"], str(call.get("model") or "?"), {**call, "calls": 1}, runs=0)
        return {
            name: [{"key": k, **v} for k, v in sorted(table.items())]
            for name, table in groups.items()
        }


def _add(
    table: dict[str, dict[str, float]], key: str, usage: dict[str, Any], runs: int = 1
) -> None:
    slot = table.setdefault(key, {"runs": 0, "calls": 0, "tokens": 0, "cost_usd": 0.0})
    slot["runs"] += runs
    slot["calls"] += int(usage.get("calls") or 0)
    slot["tokens"] += int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
    slot["cost_usd"] += float(usage.get("cost_usd") or 0.0)
