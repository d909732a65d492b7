"""The engine journals into the real store (SQLite and PostgreSQL): run, crash, resume,
cancel flag and approvals go through :class:`evopipe.store.Store`."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from evopipe.engine import RunOptions, Services
from evopipe.engine.control import Decision, record_decision
from evopipe.engine.runner import resume_run, run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.spec.loader import loads
from evopipe.store import Store
from evopipe.store.summary import run_summary

PIPE = """
apiVersion: evopipe/v1
name: chain
steps:
  - {id: a, kind: llm, model: counting, prompt: "a"}
  - {id: b, kind: llm, model: counting, prompt: "b {{ steps.a.output }}"}
  - {id: c, kind: llm, model: counting, prompt: "c {{ steps.b.output }}"}
outputs: {all: "{{ [steps.a.output, steps.b.output, steps.c.output] }}"}
"""

APPROVAL = """
apiVersion: evopipe/v1
name: gated
steps:
  - {id: draft, kind: llm, model: counting, prompt: "draft"}
  - {id: review, kind: approval, message: "ship it?", needs: [draft]}
  - {id: ship, kind: llm, model: counting, prompt: "ship {{ steps.draft.output }}", needs: [review]}
outputs: {shipped: "{{ steps.ship.output }}"}
"""


class Crash(BaseException):
    """Stands in for the process dying."""


class Counting:
    def __init__(self, crash_on: str | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.crash_on = crash_on

    async def __call__(self, request: ModelRequest) -> str:
        key = request.messages[-1].content.split()[0]
        self.calls[key] += 1
        await asyncio.sleep(0.001)
        if key == self.crash_on:
            raise Crash
        return f"<{key}>"


def _services(store: Store, model: Counting, tmp_path: Path) -> Services:
    hub = ModelHub(allow_network=False)
    hub.add(FunctionModel(model, model_id="counting"))
    return Services(models=hub, store=store, base_dir=tmp_path)


async def test_run_crash_resume_through_the_store(store: Store, tmp_path: Path) -> None:
    counting = Counting(crash_on="c")
    services = _services(store, counting, tmp_path)
    options = RunOptions(run_id="e1", cache=False, workspace=tmp_path / "ws")
    with pytest.raises(Crash):
        await run_pipeline(loads(PIPE).pipeline, {}, services=services, options=options)
    assert store.get_run("e1").status == "running"
    counting.crash_on = None
    result = await resume_run("e1", services=services, options=options)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"all": ["<a>", "<b>", "<c>"]}
    assert counting.calls == Counter({"a": 1, "b": 1, "c": 2})
    run = store.get_run("e1")
    assert run.status == "succeeded"
    assert run.outputs == {"all": ["<a>", "<b>", "<c>"]}
    seqs = [e.seq for e in store.load_events("e1")]
    assert seqs == list(range(1, len(seqs) + 1))
    steps = {s["id"]: s for s in run_summary(store, "e1")["steps"]}
    assert {k: v["status"] for k, v in steps.items()} == dict.fromkeys("abc", "succeeded")


async def test_approval_wait_then_approve(store: Store, tmp_path: Path) -> None:
    counting = Counting()
    services = _services(store, counting, tmp_path)
    options = RunOptions(run_id="g1", cache=False, workspace=tmp_path / "ws")
    first = await run_pipeline(loads(APPROVAL).pipeline, {}, services=services, options=options)
    assert first.status == "waiting"
    assert store.get_run("g1").status == "waiting"
    record_decision(store, "g1", Decision("review", comment="go", decided_by="ann"))
    second = await resume_run("g1", services=services, options=options)
    assert second.status == "succeeded", second.error
    assert second.outputs == {"shipped": "<ship>"}
    assert counting.calls == Counter({"draft": 1, "ship": 1})


async def test_store_record_approval_is_seen_by_resume(store: Store, tmp_path: Path) -> None:
    counting = Counting()
    services = _services(store, counting, tmp_path)
    options = RunOptions(run_id="g2", cache=False, workspace=tmp_path / "ws")
    first = await run_pipeline(loads(APPROVAL).pipeline, {}, services=services, options=options)
    assert first.status == "waiting"
    store.record_approval("g2", "review", False, "not now", "bob")
    second = await resume_run("g2", services=services, options=options)
    assert second.status == "failed"
    assert counting.calls == Counter({"draft": 1})
