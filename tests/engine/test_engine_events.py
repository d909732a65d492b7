"""Event subscribers: JSON lines, the progress display, a broken subscriber; the kill switch
on a real SQLite store; concurrency on the simulated model."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from engine_helpers import spec

from evopipe.engine import EventBus, JsonLinesSubscriber, RunOptions, Services, run_pipeline
from evopipe.engine.events import CollectingSubscriber
from evopipe.engine.progress import ProgressDisplay
from evopipe.engine.types import Event
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.store import Store

PIPE = """
steps:
  - {id: a, kind: llm, model: fake, prompt: "hello"}
  - {id: b, kind: set, values: {v: "{{ steps.a.output }}"}}
"""


async def test_json_lines_stream_every_event_in_order() -> None:
    out = io.StringIO()
    services = Services(
        models=ModelHub(allow_network=False), bus=EventBus([JsonLinesSubscriber(out)])
    )
    result = await run_pipeline(spec(PIPE), {}, services=services)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["seq"] for d in lines] == list(range(1, len(lines) + 1))
    types = [d["type"] for d in lines]
    assert types[0] == "run_started"
    assert types[-1] == "run_finished"
    assert "model_call" in types
    assert lines[-1]["data"]["status"] == result.status == "succeeded"


async def test_progress_display_is_quiet_when_not_a_terminal() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out)
    services = Services(models=ModelHub(allow_network=False), bus=EventBus([display]))
    await run_pipeline(spec(PIPE), {}, services=services)
    assert out.getvalue() == ""
    forced = io.StringIO()
    display = ProgressDisplay(forced, force=True)
    services = Services(models=ModelHub(allow_network=False), bus=EventBus([display]))
    await run_pipeline(spec(PIPE), {}, services=services)
    display.close()
    text = forced.getvalue()
    assert "✓ a" in text
    assert "succeeded" in text


class Broken:
    def on_event(self, *, event: Event) -> None:
        raise RuntimeError("boom")


async def test_a_broken_subscriber_does_not_break_the_run(capsys: object) -> None:
    seen = CollectingSubscriber()
    services = Services(models=ModelHub(allow_network=False), bus=EventBus([Broken(), seen]))
    result = await run_pipeline(spec(PIPE), {}, services=services)
    assert result.status == "succeeded"
    assert seen.types()[-1] == "run_finished"


async def test_kill_switch_on_sqlite_leaves_a_resumable_journal(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def slow(request: ModelRequest) -> str:
        await release.wait()
        return "done"

    hub = ModelHub(allow_network=False)
    hub.add(FunctionModel(slow, model_id="slow"))
    pipeline = spec(
        """
        steps:
          - {id: first, kind: set, values: {v: 1}}
          - {id: wait, kind: llm, model: slow, prompt: "{{ steps.first.output.v }}"}
        outputs: {w: "{{ steps.wait.output }}"}
        """
    )
    with Store.open(str(tmp_path / "j.db")) as store:
        services = Services(models=hub, store=store, base_dir=tmp_path)
        options = RunOptions(run_id="k1", cancel_poll_s=0.05, workspace=tmp_path)
        task = asyncio.create_task(run_pipeline(pipeline, {}, services=services, options=options))
        await asyncio.sleep(0.2)
        store.request_cancel("k1")
        result = await asyncio.wait_for(task, timeout=1.0)
        assert result.status == "cancelled"
        assert store.get_run("k1").status == "cancelled"
        release.set()
        from evopipe.engine import resume_run

        resumed = await resume_run("k1", services=services, pipeline=pipeline)
        assert resumed.status == "succeeded"
        assert resumed.outputs == {"w": "done"}
        events = store.load_events("k1")
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        firsts = [e for e in events if e.step_id == "first" and e.type == "step_succeeded"]
        assert len(firsts) == 1  # the completed step did not run again


async def test_hundred_waiting_steps_run_concurrently() -> None:
    hub = ModelHub(allow_network=False)
    steps = "\n".join(
        f"  - {{id: s{i}, kind: llm, model: 'sim:latency_ms=50', prompt: p{i}}}" for i in range(100)
    )
    pipeline = spec("limits: {max_concurrency: 100}\nsteps:\n" + steps)
    events = CollectingSubscriber()
    result = await run_pipeline(pipeline, {}, services=Services(models=hub, bus=EventBus([events])))
    assert result.status == "succeeded"
    # all 100 started before the first one finished: they ran concurrently
    types = events.types()
    first_end = types.index("step_succeeded")
    assert types[:first_end].count("step_started") == 100
