"""Helpers for engine tests: a hub with test models, a memory journal, YAML → Pipeline."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from evopipe.engine import CollectingSubscriber, EventBus, RunOptions, RunResult, Services
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.runner import run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import Model
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline


def spec(text: str) -> Pipeline:
    body = textwrap.dedent(text).strip("\n")
    if not body.startswith("apiVersion"):
        body = "apiVersion: evopipe/v1\nname: t\n" + body
    return loads(body).pipeline


class Harness:
    """Services with a memory journal, an event collector and injectable models."""

    def __init__(self, tmp_path: Path) -> None:
        self.hub = ModelHub(allow_network=False)
        self.store = MemoryJournal()
        self.events = CollectingSubscriber()
        self.tmp_path = tmp_path
        self.services = Services(
            models=self.hub,
            store=self.store,
            bus=EventBus([self.events]),
            base_dir=tmp_path,
        )

    def add(self, model: Model, model_id: str | None = None) -> None:
        """Inject a model; the checker then knows its id too (it asks the hub)."""
        self.hub.add(model, model_id)

    async def run(
        self, pipeline: Pipeline, inputs: dict[str, Any] | None = None, **options: Any
    ) -> RunResult:
        options.setdefault("workspace", self.tmp_path / "ws")
        return await run_pipeline(
            pipeline, inputs or {}, services=self.services, options=RunOptions(**options)
        )

    def types(self, step_id: str | None = None) -> list[str]:
        return [e.type for e in self.events.events if step_id is None or e.step_id == step_id]
