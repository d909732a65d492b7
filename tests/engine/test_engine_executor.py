"""The executor seam: steps run through ``services.executor``; what crosses it is picklable."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from evopipe.engine import RunOptions, Services
from evopipe.engine.conversations import MemoryConversations
from evopipe.engine.executor import LocalExecutor, PickleExecutor, StepCall, plain_result
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.runner import run_pipeline
from evopipe.models import ModelHub
from evopipe.spec.loader import load_file
from evopipe.steps.base import StepContext, StepKind, StepResult

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    [
        *(REPO / "examples" / "kinds").glob("*.yaml"),
        REPO / "examples" / "evolve" / "counter.yaml",
        REPO / "examples" / "eval" / "classify.yaml",
    ]
)
INPUTS = {
    "counter": {"question": "I have a chair, two tables and a fish. How many objects?"},
    "classify": {"text": "My card was charged twice for one coffee."},
}
NEEDS_MORE = {"python", "shell", "http", "generate", "coding_agent"}  # trust, network, genesis


def _examples() -> list[Path]:
    return [p for p in EXAMPLES if p.exists() and p.stem not in NEEDS_MORE]


async def _run(path: Path, executor: Any, tmp: Path) -> Any:
    pipeline = load_file(path).pipeline
    services = Services(
        models=ModelHub(allow_network=False),
        store=MemoryJournal(),
        base_dir=path.parent,
        executor=executor,
        hooks={"conversations": MemoryConversations()},  # the session kind's store
    )
    options = RunOptions(model="fake", workspace=tmp / "ws", run_id=f"r-{path.stem}")
    inputs = INPUTS.get(path.stem, {})
    return await run_pipeline(pipeline, inputs, services=services, options=options)


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
async def test_a_pickling_executor_gives_the_local_outputs(path: Path, tmp_path: Path) -> None:
    local = await _run(path, LocalExecutor(), tmp_path)
    remote_like = PickleExecutor()
    shipped = await _run(path, remote_like, tmp_path)
    ran = [s for s in local.steps if s.status != "skipped"]
    assert remote_like.calls >= len(ran) > 0
    assert shipped.status == local.status
    assert shipped.outputs == local.outputs
    assert [(s.id, s.status, s.output) for s in shipped.steps] == [
        (s.id, s.status, s.output) for s in local.steps
    ]
    assert pickle.loads(pickle.dumps(shipped)) == shipped  # results are plain data too


class _Recorder:
    """An executor that keeps each step's call (as bytes) and delegates to the local one."""

    def __init__(self) -> None:
        self.wire: list[bytes] = []

    async def run_step(self, *, kind: StepKind, ctx: StepContext, config: Any) -> StepResult:
        self.wire.append(pickle.dumps(StepCall.from_context(ctx, config)))
        return plain_result(await LocalExecutor().run_step(kind=kind, ctx=ctx, config=config))


async def test_inner_steps_of_a_map_cross_the_seam_with_their_resolved_inputs(
    tmp_path: Path,
) -> None:
    recorder = _Recorder()
    result = await _run(REPO / "examples" / "kinds" / "map.yaml", recorder, tmp_path)
    assert result.ok
    calls = [pickle.loads(b) for b in recorder.wire]
    by_path = {c.step_id: c for c in calls}
    assert set(by_path) == {"define", "define[0].one", "define[1].one", "define[2].one"}
    item = by_path["define[1].one"]
    assert item.namespace["item"] == "kelp"
    assert item.namespace["index"] == 1
    assert item.run.pipeline.name == "kinds-map"
    assert item.model_id == "fake"
    assert item.idempotency_key == f"{result.run_id}:define[1].one"
    assert pickle.loads(pickle.dumps(item)) == item
