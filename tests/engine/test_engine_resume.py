"""Durability: resume after a crash, spec-hash binding, fork, approvals, waiting."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

import pytest
from engine_helpers import Harness, spec

from evopipe.app.schema import open_store
from evopipe.engine.control import Decision, record_decision
from evopipe.engine.journal import JournalError
from evopipe.engine.replay import ResumeRefused
from evopipe.engine.results import RunResult
from evopipe.engine.runner import resume_run
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.spec.fields import FieldValuesError


class Crash(BaseException):
    """Stands in for the process dying: nothing in the engine catches it."""


PIPE = """
steps:
  - {id: a, kind: llm, model: counting, prompt: "a"}
  - {id: b, kind: llm, model: counting, prompt: "b {{ steps.a.output }}"}
  - {id: c, kind: llm, model: counting, prompt: "c {{ steps.b.output }}"}
  - {id: d, kind: set, values: {all: "{{ [steps.a.output, steps.b.output, steps.c.output] }}"}}
outputs: {all: "{{ steps.d.output.all }}"}
"""


class Counting:
    def __init__(self, crash_on: str | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.crash_on = crash_on

    async def __call__(self, request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        key = prompt.split()[0]
        self.calls[key] += 1
        await asyncio.sleep(0.01)
        if key == self.crash_on:
            raise Crash
        return f"<{key}>"


async def test_resume_after_crash_does_not_rerun_completed_steps(h: Harness) -> None:
    counting = Counting(crash_on="c")
    h.add(FunctionModel(counting, model_id="counting"))
    pipeline = spec(PIPE)
    with pytest.raises(Crash):
        await h.run(pipeline, run_id="r1")
    assert h.store.get_run("r1").status == "running"  # died without finishing
    counting.crash_on = None
    result = await resume_run("r1", services=h.services)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"all": ["<a>", "<b>", "<c>"]}
    assert counting.calls == Counter({"a": 1, "b": 1, "c": 2})  # only the in-flight step re-ran
    events = h.store.load_events("r1")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    starts = [e for e in events if e.type == "step_started" and e.step_id == "c"]
    keys = {e.data["idempotency_key"] for e in starts}
    assert keys == {"r1:c"}  # same idempotency key across lives
    assert "run_resumed" in [e.type for e in events]


MAP_AND_LOOP = """
inputs:
  items: {type: array, items: {type: string}, default: ["m1", "m2", "m3", "m4"]}
steps:
  - {id: first, kind: llm, model: counting, prompt: "first"}
  - id: fan
    kind: map
    over: "{{ inputs.items }}"
    max_concurrency: 1
    needs: [first]
    steps:
      - {id: one, kind: llm, model: counting, prompt: "{{ item }}"}
    collect: "{{ steps.one.output }}"
  - id: again
    kind: loop
    max_iterations: 3
    needs: [fan]
    until: "loop.iteration >= 3"
    steps:
      - {id: turn, kind: llm, model: counting, prompt: "t{{ loop.iteration }}"}
outputs: {fan: "{{ steps.fan.output }}", last: "{{ steps.again.output.last }}"}
"""


@pytest.mark.parametrize(("crash_on", "calls"), [("m3", {"m3": 2}), ("t2", {"t2": 2})])
async def test_resume_inside_a_map_or_loop_reruns_only_the_unfinished_inner_steps(
    h: Harness, crash_on: str, calls: dict[str, int]
) -> None:
    counting = Counting(crash_on=crash_on)
    h.add(FunctionModel(counting, model_id="counting"))
    pipeline = spec(MAP_AND_LOOP)
    with pytest.raises(Crash):
        await h.run(pipeline, run_id="r1")
    counting.crash_on = None
    result = await resume_run("r1", services=h.services)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"fan": ["<m1>", "<m2>", "<m3>", "<m4>"], "last": "<t3>"}
    # the inner steps that had finished before the crash come from the journal
    every = ["first", "m1", "m2", "m3", "m4", "t1", "t2", "t3"]
    assert counting.calls == Counter({key: calls.get(key, 1) for key in every})
    assert result.usage.calls == len(every)  # the replayed ones counted once


SUB = """
inputs: {topic: {type: string}}
steps:
  - {id: s1, kind: llm, model: counting, prompt: "s1 {{ inputs.topic }}"}
  - {id: s2, kind: llm, model: counting, prompt: "s2 {{ steps.s1.output }}"}
  - {id: s3, kind: llm, model: counting, prompt: "s3 {{ steps.s2.output }}"}
outputs: {last: "{{ steps.s3.output }}"}
"""

PARENT = """
steps:
  - {id: first, kind: llm, model: counting, prompt: "first"}
  - id: inner
    kind: pipeline
    pipeline: sub.yaml
    inputs: {topic: "{{ steps.first.output }}"}
outputs: {last: "{{ steps.inner.output.last }}"}
"""


async def test_resume_inside_a_sub_pipeline_reruns_only_its_unfinished_steps(
    h: Harness,
) -> None:
    (h.tmp_path / "sub.yaml").write_text(
        "apiVersion: evopipe/v1\nname: sub\n" + SUB.strip("\n"), encoding="utf-8"
    )
    counting = Counting(crash_on="s3")
    h.add(FunctionModel(counting, model_id="counting"))
    result = await _crash_then_resume(h, PARENT, counting)
    assert result.outputs == {"last": "<s3>"}
    assert counting.calls == Counter({"first": 1, "s1": 1, "s2": 1, "s3": 2})
    assert result.usage.calls == 4
    keys = {e.data["replay_key"] for e in h.store.load_events("r1") if e.type == "subrun_started"}
    assert len(keys) == 1  # both lives started the sub-run with the same spec and inputs


async def test_a_sub_pipeline_changed_since_the_crash_reruns_whole(h: Harness) -> None:
    sub = h.tmp_path / "sub.yaml"
    sub.write_text("apiVersion: evopipe/v1\nname: sub\n" + SUB.strip("\n"), encoding="utf-8")
    counting = Counting(crash_on="s3")
    h.add(FunctionModel(counting, model_id="counting"))
    with pytest.raises(Crash):
        await h.run(spec(PARENT), run_id="r1")
    sub.write_text(sub.read_text().replace('"s2 {{', '"s2 again {{'), encoding="utf-8")
    counting.crash_on = None
    result = await resume_run("r1", services=h.services)
    assert result.status == "succeeded", result.error
    # the parent's own step is replayed; the sub-pipeline's steps all run again
    assert counting.calls == Counter({"first": 1, "s1": 2, "s2": 2, "s3": 2})


GENERATING = """
steps:
  - {id: first, kind: llm, model: counting, prompt: "first"}
  - id: gen
    kind: generate
    request: "three steps about {{ steps.first.output }}"
    inputs: {topic: "{{ steps.first.output }}"}
outputs: {last: "{{ steps.gen.output.outputs.last }}"}
"""


def _drafting_sub(h: Harness) -> list[str]:
    """Give ``h`` a generator that drafts SUB every time; the requests it got."""
    drafts: list[str] = []

    async def generator(**kw: object) -> str:
        drafts.append(str(kw["request"]))
        return "apiVersion: evopipe/v1\nname: sub\n" + SUB.strip("\n")

    h.services = dataclasses.replace(h.services, hooks={"generator": generator})
    return drafts


async def _crash_then_resume(h: Harness, pipeline: str, counting: Counting) -> RunResult:
    """Run ``pipeline`` until ``counting`` crashes it, then resume it without the crash."""
    with pytest.raises(Crash):
        await h.run(spec(pipeline), run_id="r1")
    counting.crash_on = None
    result = await resume_run("r1", services=h.services)
    assert result.status == "succeeded", result.error
    return result


@pytest.mark.parametrize("journal", ["memory", "sqlite"])
async def test_resume_takes_a_generate_steps_draft_from_the_journal(
    h: Harness, journal: str
) -> None:
    if journal == "sqlite":  # the draft goes through JSON and back
        store = open_store(str(h.tmp_path / "evopipe.db"))
        h.services = dataclasses.replace(h.services, store=store)
    drafts = _drafting_sub(h)
    counting = Counting(crash_on="s3")
    h.add(FunctionModel(counting, model_id="counting"))
    result = await _crash_then_resume(h, GENERATING, counting)
    assert result.outputs == {"last": "<s3>"}
    assert drafts == ["three steps about <first>"]  # drafted once, replayed on resume
    # the generated pipeline's finished steps replay as well
    assert counting.calls == Counter({"first": 1, "s1": 1, "s2": 1, "s3": 2})


async def test_resuming_a_failed_generate_step_drafts_again(h: Harness) -> None:
    drafts = _drafting_sub(h)
    counting = Counting()
    fail = {"s2": True}

    async def flaky(request: ModelRequest) -> str:
        if request.messages[-1].content.startswith("s2") and fail.pop("s2", False):
            raise RuntimeError("boom")
        return await counting(request)

    h.add(FunctionModel(flaky, model_id="counting"))
    failed = await h.run(spec(GENERATING), run_id="r1")
    assert failed.status == "failed"
    result = await resume_run("r1", services=h.services)
    assert result.status == "succeeded", result.error
    # the failed attempt's draft is not reused: a bad draft may be why it failed
    assert drafts == ["three steps about <first>"] * 2


async def test_resume_refuses_a_changed_spec(h: Harness) -> None:
    counting = Counting(crash_on="b")
    h.add(FunctionModel(counting, model_id="counting"))
    with pytest.raises(Crash):
        await h.run(spec(PIPE), run_id="r2")
    changed = spec(PIPE.replace('prompt: "a"', 'prompt: "a changed"'))
    with pytest.raises(ResumeRefused, match="--fork-from r2"):
        await resume_run("r2", services=h.services, pipeline=changed)


async def test_resume_of_a_failed_run_retries_only_what_failed(h: Harness) -> None:
    flaky = {"fail": True}

    def fn(request: ModelRequest) -> object:
        if "b" in request.messages[-1].content and flaky["fail"]:
            return {"error": "400"}
        return "ok"

    model = FunctionModel(fn, model_id="flaky")
    h.add(model)
    pipeline = spec(
        """
        steps:
          - {id: a, kind: llm, model: flaky, prompt: "a"}
          - {id: b, kind: llm, model: flaky, prompt: "b {{ steps.a.output }}"}
          - {id: c, kind: set, values: {v: "{{ steps.b.output }}"}}
        """
    )
    first = await h.run(pipeline, run_id="r3")
    assert first.status == "failed"
    assert [s.status for s in first.steps] == ["succeeded", "failed", "not_run"]
    flaky["fail"] = False
    second = await resume_run("r3", services=h.services, pipeline=pipeline)
    assert second.status == "succeeded"
    assert [s.status for s in second.steps] == ["succeeded"] * 3
    assert len(model.calls) == 3  # a once, b twice


async def test_resume_refuses_a_succeeded_run(h: Harness) -> None:
    result = await h.run(spec("steps:\n  - {id: a, kind: set, values: {v: 1}}"))
    with pytest.raises(ResumeRefused, match="already succeeded"):
        await resume_run(result.run_id, services=h.services)


async def test_fork_reuses_unchanged_steps(h: Harness) -> None:
    counting = Counting()
    h.add(FunctionModel(counting, model_id="counting"))
    first = await h.run(spec(PIPE), run_id="base")
    assert first.status == "succeeded"
    changed = spec(PIPE.replace('prompt: "c {{', 'prompt: "c2 {{'))
    forked = await h.run(changed, run_id="fork", fork_from="base")
    assert forked.status == "succeeded"
    assert counting.calls == Counter({"a": 1, "b": 1, "c": 1, "c2": 1})
    assert forked.outputs == {"all": ["<a>", "<b>", "<c2>"]}
    copied = [
        e
        for e in h.store.load_events("fork")
        if e.type == "step_succeeded" and e.data.get("forked_from") == "base"
    ]
    assert {e.step_id for e in copied} == {"a", "b"}


APPROVAL = """
steps:
  - {id: draft, kind: set, values: {text: hello}}
  - {id: gate, kind: approval, message: "Publish {{ steps.draft.output.text }}?"}
  - {id: publish, kind: set, values: {done: "{{ steps.gate.output.approved }}"}}
  - {id: side, kind: set, values: {v: 1}}
outputs: {done: "{{ steps.publish.output.done }}"}
"""


async def test_approval_waits_then_approve_resumes_that_step(h: Harness) -> None:
    first = await h.run(spec(APPROVAL), run_id="ap")
    assert first.status == "waiting"
    assert first.waiting_on == ("gate",)
    assert first.step("side").status == "succeeded"
    assert first.step("publish").status == "pending"
    with pytest.raises(JournalError, match="not waiting on step 'draft'"):
        record_decision(h.store, "ap", Decision("draft"))
    record_decision(h.store, "ap", Decision("gate", comment="ship it", decided_by="ana"))
    second = await resume_run("ap", services=h.services)
    assert second.status == "succeeded", second.error
    assert second.outputs == {"done": True}
    assert second.step("gate").output == {"approved": True, "comment": "ship it", "by": "ana"}
    ends = [
        e.step_id
        for e in h.store.load_events("ap")
        if e.type in ("step_succeeded", "step_waiting") and e.step_id
    ]
    # draft and side ran once; the gate waited, then ran again and succeeded
    assert Counter(ends) == Counter({"draft": 1, "gate": 2, "side": 1, "publish": 1})


async def test_approval_reject_fails_the_run(h: Harness) -> None:
    await h.run(spec(APPROVAL), run_id="rj")
    record_decision(h.store, "rj", Decision("gate", approved=False, comment="no"))
    result = await resume_run("rj", services=h.services)
    assert result.status == "failed"
    assert "rejected" in (result.error or "")


TYPED = """
steps:
  - id: gate
    kind: approval
    message: "How many?"
    fields:
      copies: {type: integer, min: 1, max: 9}
      rush: {type: boolean}
  - {id: order, kind: set, values: {n: "{{ steps.gate.output.values.copies * 2 }}"}}
outputs: {n: "{{ steps.order.output.n }}", rush: "{{ steps.gate.output.values.rush }}"}
"""


async def test_typed_values_are_checked_before_anything_is_recorded_then_flow_on(
    h: Harness,
) -> None:
    first = await h.run(spec(TYPED), run_id="ty")
    assert first.status == "waiting"
    waiting = next(e for e in h.store.load_events("ty") if e.type == "step_waiting")
    assert waiting.data["meta"]["fields"]["copies"] == {
        "type": "integer",
        "required": True,
        "min": 1.0,
        "max": 9.0,
    }
    before = len(h.store.load_events("ty"))
    with pytest.raises(FieldValuesError, match="copies: 12 is above the maximum 9"):
        record_decision(h.store, "ty", Decision("gate", values={"copies": "12"}))
    with pytest.raises(FieldValuesError, match="colour: no such field"):
        record_decision(h.store, "ty", Decision("gate", values={"copies": 2, "colour": 1}))
    assert len(h.store.load_events("ty")) == before  # a refused decision records nothing
    recorded = record_decision(
        h.store, "ty", Decision("gate", values={"copies": "3", "rush": "yes"})
    )
    assert recorded == {"copies": 3, "rush": True}
    second = await resume_run("ty", services=h.services)
    assert second.status == "succeeded", second.error
    assert second.step("gate").output["values"] == {"copies": 3, "rush": True}
    assert second.outputs == {"n": 6, "rush": True}


async def test_a_step_without_fields_refuses_values_and_a_rejection_needs_none(
    h: Harness,
) -> None:
    await h.run(spec(APPROVAL), run_id="nv")
    with pytest.raises(FieldValuesError, match="asks for no values"):
        record_decision(h.store, "nv", Decision("gate", values={"x": 1}))
    await h.run(spec(TYPED), run_id="tr")
    assert record_decision(h.store, "tr", Decision("gate", approved=False, comment="no")) == {}
    assert (await resume_run("tr", services=h.services)).status == "failed"
