"""The Ray executor without a cluster: choosing it, its errors, and the worker's protocol.

The worker (:class:`~evopipe.ray.worker.StepWorker`) is driven here in-process, through
a stand-in for Ray's actor handles, by the executor's own code (``_ship``): a step that asks
the owner for a model call gets it answered, and its events arrive in order.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from evopipe.app import App, Settings
from evopipe.app.settings import SettingsError
from evopipe.engine import RunOptions, Services
from evopipe.engine.executor import StepCall
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.runner import run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import RateLimitedError, RetryableModelError
from evopipe.models.config import ModelsConfig
from evopipe.ray.executor import (
    RayExecutor,
    RayUnavailableError,
    StepOutOfMemory,
    StepWorkerLost,
    lost_error,
    settle,
)
from evopipe.ray.worker import (
    RemoteStepError,
    StepWorker,
    WorkerModels,
    pack,
    portable_error,
    unpack,
)
from evopipe.spec.loader import load_file, loads
from evopipe.steps.base import StepContext, StepFailed, StepKind, StepResult

REPO = Path(__file__).resolve().parents[2]


def test_asking_for_ray_without_ray_installed_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    settings = Settings.load(tmp_path, environ={}, persist=False, executor="ray")
    with App(settings) as app, pytest.raises(RayUnavailableError, match=r"evopipe\[ray\]"):
        app.services()


def test_the_executor_comes_from_settings_files_and_environment(tmp_path: Path) -> None:
    (tmp_path / "evopipe.toml").write_text(
        'executor = "ray"\nray_address = "10.0.0.5:6379"\n', encoding="utf-8"
    )
    settings = Settings.load(tmp_path, environ={"EVOPIPE_CONFIG": str(tmp_path / "no.toml")})
    assert (settings.executor, settings.ray_address) == ("ray", "10.0.0.5:6379")
    assert Settings.load(tmp_path, environ={"EVOPIPE_EXECUTOR": "local"}).executor == "local"
    assert Settings.from_json(settings.to_json()) == settings
    nope = App(settings.replace(executor="nope", persist=False))
    with nope, pytest.raises(SettingsError, match=r"unknown executor 'nope'.*local, ray"):
        nope.services()
    with App(Settings.load(tmp_path, environ={}, persist=False, executor="local")) as app:
        assert app.services().executor is app.services().executor  # one per session


def test_an_unpicklable_error_crosses_as_its_message_and_type() -> None:
    original = StepFailed("b", "bad input")  # its __init__ takes two arguments: no round trip
    shipped = pickle.loads(pickle.dumps(portable_error(original)))
    assert isinstance(shipped, RemoteStepError)
    assert str(shipped) == "step 'b': bad input"
    assert shipped.error_type == "StepFailed"
    retryable = pickle.loads(pickle.dumps(portable_error(RateLimitedError("429"))))
    assert isinstance(retryable, RetryableModelError)  # still retried by the engine


def test_ray_deaths_are_reported_as_out_of_memory_or_worker_lost() -> None:
    ray = pytest.importorskip("ray")

    class Ctx:
        step_id = "b"
        idempotency_key = "run-1:b"

    killed = ray.exceptions.OutOfMemoryError("killed")
    oom = lost_error(ray, killed, Ctx(), side_effects=False)  # type: ignore[arg-type]
    assert isinstance(oom, StepOutOfMemory)
    assert oom.error_type == "out_of_memory"
    died = ray.exceptions.ActorDiedError()
    lost = lost_error(ray, died, Ctx(), side_effects=True)  # type: ignore[arg-type]
    assert isinstance(lost, StepWorkerLost)
    assert lost.error_type == "worker_lost"
    assert "side effects" in str(lost)
    assert "run-1:b" in str(lost)


class _Failing:
    """An executor whose every step dies for memory (what the Ray executor raises)."""

    async def run_step(self, *, kind: StepKind, ctx: StepContext, config: Any) -> StepResult:
        raise StepOutOfMemory(ctx.step_id, "out_of_memory: killed")


async def test_the_journal_names_an_out_of_memory_step(tmp_path: Path) -> None:
    journal = MemoryJournal()
    services = Services(models=ModelHub(allow_network=False), store=journal, executor=_Failing())
    pipeline = load_file(REPO / "examples" / "kinds" / "llm.yaml").pipeline
    options = RunOptions(model="fake", run_id="oom", workspace=tmp_path)
    result = await run_pipeline(pipeline, {}, services=services, options=options)
    failed = [e for e in journal.load_events("oom") if e.type == "step_failed"]
    assert result.status == "failed"
    assert [e.data["error_type"] for e in failed] == ["out_of_memory"]


class _Remote:
    """Ray's ``handle.method[.options(...)].remote(...)`` for an in-process object."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.target, self.loop = target, loop
        self.calls: list[str] = []
        """The actor methods called, in order."""

    def __getattr__(self, name: str) -> Any:
        target, loop, calls = self.target, self.loop, self.calls

        class Method:
            @staticmethod
            def options(**_: Any) -> Any:
                return Method

            @staticmethod
            def remote(*args: Any) -> Any:
                calls.append(name)
                future: Future[Any] = Future()
                outcome = getattr(target, name)(*args)
                if asyncio.iscoroutine(outcome):
                    task = loop.create_task(outcome)
                    task.add_done_callback(lambda t: future.set_result(t.result()))
                else:
                    future.set_result(outcome)
                return type("Ref", (), {"future": staticmethod(lambda: future)})

        return Method


class _Loopback:
    """Ships each step to an in-process :class:`StepWorker` with the Ray executor's own code
    (pipeline sent once per worker, the owner's loop serving the worker's requests).
    ``forget``: the worker loses its pipelines before every step (as a restarted actor);
    ``models``: the worker calls models itself."""

    def __init__(self, forget: bool = False, models: WorkerModels | None = None) -> None:
        self.worker = StepWorker(models)
        self.executor = RayExecutor(models=models)
        self.forget = forget
        self.actor: _Remote | None = None

    async def run_step(self, *, kind: StepKind, ctx: StepContext, config: Any) -> StepResult:
        call = StepCall.from_context(ctx, config)  # (picklable: see tests/engine)
        if self.forget:
            self.worker._pipelines.clear()
        if self.actor is None:  # one handle, as the executor's pool keeps
            self.actor = _Remote(self.worker, asyncio.get_running_loop())
        cache = self.executor.before(ctx, type(config).kind_info)
        outcome, fatal = await self.executor._ship(self.actor, call, "", ctx, cache)
        return settle(outcome, fatal)


@pytest.mark.parametrize("models", [None, WorkerModels(ModelsConfig())], ids=["owner", "worker"])
@pytest.mark.parametrize("name", ["llm", "extract", "map", "loop"])
async def test_a_shipped_step_gives_the_outputs_and_journal_of_a_local_one(
    name: str, models: WorkerModels | None, tmp_path: Path
) -> None:
    """Model calls made by the owner, or on the worker and counted by the owner: either way
    the same outputs and the same journal as the local executor."""

    async def run(executor: Any) -> tuple[Any, list[Any]]:
        journal = MemoryJournal()
        services = Services(models=ModelHub(allow_network=False), store=journal, executor=executor)
        pipeline = load_file(REPO / "examples" / "kinds" / f"{name}.yaml").pipeline
        options = RunOptions(model="fake", run_id="r", workspace=tmp_path)
        result = await run_pipeline(pipeline, {}, services=services, options=options)
        return result, [(e.type, e.step_id) for e in journal.load_events("r")]

    from evopipe.engine.executor import LocalExecutor

    local, local_events = await run(LocalExecutor())
    for forget in (False, True):
        loopback = _Loopback(forget, models)
        shipped, shipped_events = await run(loopback)
        assert shipped.status == local.status == "succeeded"
        assert shipped.outputs == local.outputs
        # the same events (model calls, step ends ...), made by the owner; concurrent map
        # items may interleave differently
        assert sorted(shipped_events) == sorted(local_events)
        assert not loopback.worker._calls  # every outbox drained
        steps = loopback.executor.shipped
        assert steps > 0
        # the pipeline travelled once; when the worker forgets it before every step, each
        # step after the first is answered "missing" and shipped again, with the pipeline
        assert len(loopback.worker._pipelines) == 1
        assert loopback.worker.received == ((steps + 1) // 2 if forget else 1)


@pytest.mark.parametrize(
    ("models", "per_step"),
    [(None, ["run", "reply"]), (WorkerModels(ModelsConfig()), ["run"])],
    ids=["owner", "worker"],
)
async def test_the_actor_calls_of_a_model_step_and_the_owner_counting_its_calls(
    models: WorkerModels | None, per_step: list[str], tmp_path: Path
) -> None:
    loopback = _Loopback(models=models)
    journal = MemoryJournal()
    services = Services(models=ModelHub(allow_network=False), store=journal, executor=loopback)
    pipeline = load_file(REPO / "examples" / "kinds" / "llm.yaml").pipeline
    options = RunOptions(model="fake", run_id="r", workspace=tmp_path)
    result = await run_pipeline(pipeline, {}, services=services, options=options)
    assert result.status == "succeeded"
    assert loopback.actor is not None
    steps = loopback.executor.shipped
    # owner: run (answered with the model request), reply with the answer (the result);
    # worker: run (the model called there), answered with the result
    assert loopback.actor.calls == per_step * steps
    calls = [e for e in journal.load_events("r") if e.type == "model_call"]
    assert len(calls) == steps  # made or counted by the owner, once each
    assert all(e.data["model"] == "fake" and e.data["input_tokens"] > 0 for e in calls)
    assert result.usage.calls == steps  # in the run's totals and its budget


async def test_a_restarted_worker_does_not_know_the_call() -> None:
    assert unpack(await StepWorker().reply("gone", pack([]))) == ([], ("lost", "gone"))


CHAIN = """\
apiVersion: evopipe/v1
kind: Pipeline
name: chain
limits: {max_tokens: LIMIT}
steps:
  - {id: a, kind: llm, prompt: "one two three"}
  - {id: b, kind: llm, prompt: "four {{ steps.a.output }}"}
  - {id: c, kind: llm, prompt: "five {{ steps.b.output }}"}
  - {id: d, kind: llm, prompt: "six {{ steps.c.output }}"}
"""


async def test_calls_made_on_a_worker_count_against_the_run_s_budget(tmp_path: Path) -> None:
    async def run(executor: Any, limit: int) -> Any:
        pipeline = loads(CHAIN.replace("LIMIT", str(limit))).pipeline
        services = Services(models=ModelHub(allow_network=False), executor=executor)
        options = RunOptions(model="fake", run_id="r", workspace=tmp_path)
        return await run_pipeline(pipeline, {}, services=services, options=options)

    from evopipe.engine.executor import LocalExecutor

    unlimited = await run(LocalExecutor(), 10**6)
    limit = unlimited.usage.input_tokens + unlimited.usage.output_tokens - 1  # passed at d
    local = await run(LocalExecutor(), limit)
    shipped = await run(_Loopback(models=WorkerModels(ModelsConfig())), limit)
    assert local.status == shipped.status == "budget_exceeded"
    assert local.budget == shipped.budget == "max_tokens"
    assert [s.status for s in shipped.steps] == [s.status for s in local.steps]
    assert shipped.usage == local.usage
    # a limit passed by the first step's call: the run stops there, nothing more is shipped
    loopback = _Loopback(models=WorkerModels(ModelsConfig()))
    passed = await run(loopback, 1)
    assert passed.status == "budget_exceeded"
    assert not any(s.status == "succeeded" for s in passed.steps)
    assert loopback.executor.shipped == 1
