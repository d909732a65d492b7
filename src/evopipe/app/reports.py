"""Report operations (``evopipe report pipelines|schedules|chains``): runs, success rate, cost,
latency and the last failure, per pipeline, per schedule and per workflow."""

from __future__ import annotations

from sqlalchemy import select

from evopipe.app.group import OperationGroup
from evopipe.orchestrate import tables as t
from evopipe.orchestrate.reports import Outcome, Report, summarise

__all__ = ["Report", "Reports"]


class Reports(OperationGroup):
    def pipelines(self, limit: int = 10_000) -> list[Report]:
        """Per pipeline name, over its most recent ``limit`` runs."""
        rows = []
        for r in self.app.store.list_runs(limit=limit):
            seconds = (r.finished_at - r.created_at).total_seconds() if r.finished_at else None
            usage = r.usage or {}
            cost = usage.get("cost_usd", 0.0) if usage else 0.0
            rows.append(
                Outcome(
                    r.pipeline_name,
                    r.status,
                    r.created_at.timestamp(),
                    seconds,
                    None if cost is None else float(cost),
                    r.run_id,
                    r.error,
                )
            )
        return summarise(rows)

    def schedules(self) -> list[Report]:
        """Per schedule: its fires that ran (skipped and buffered ones are not runs)."""
        f = t.schedule_fires
        with self.app.store.begin() as conn:
            fires = conn.execute(select(f).where(f.c.status.notin_(("skipped", "buffered")))).all()
        rows = [
            Outcome(
                x.schedule,
                x.status,
                float(x.fired_at),
                None if x.finished_at is None else float(x.finished_at) - float(x.fired_at),
                0.0,
                x.run_id,
            )
            for x in fires
        ]
        return summarise(rows)

    def chains(self) -> list[Report]:
        """Per workflow (chain name)."""
        c = t.chain_runs
        with self.app.store.begin() as conn:
            runs = conn.execute(select(c)).all()
        rows = [
            Outcome(
                x.name,
                x.status,
                float(x.created_at),
                float(x.updated_at) - float(x.created_at)
                if x.status in ("succeeded", "failed")
                else None,
                0.0,
                x.chain_id,
            )
            for x in runs
        ]
        return summarise(rows)
