"""Secret inputs in the engine: masked in every event and in the run's record, never in what
the steps see; a resumed run needs them again and gets them back in replayed outputs."""

from __future__ import annotations

import dataclasses
import json

import pytest
from engine_helpers import Harness, spec

from evopipe.engine.control import Decision, record_decision
from evopipe.engine.replay import ResumeRefused
from evopipe.engine.runner import resume_run
from evopipe.engine.secrets import Masker, mask_of, secret_inputs
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel

KEY = "key-5c2e0b7d9a41"
PIPE = """
inputs:
  key: {type: string, writeOnly: true}
  pin: {type: string, writeOnly: true}
  who: {type: string}
steps:
  - {id: call, kind: llm, model: echo, prompt: "auth {{ inputs.key }} for {{ inputs.who }}"}
  - {id: gate, kind: approval, message: "go?", needs: [call]}
  - {id: last, kind: llm, model: echo, prompt: "again {{ steps.call.output }}", needs: [gate]}
outputs: {last: "{{ steps.last.output }}", pin: "{{ inputs.pin }}"}
"""


def _echo(seen: list[str]) -> FunctionModel:
    def answer(request: ModelRequest) -> str:
        seen.append(request.messages[-1].content)
        return request.messages[-1].content

    return FunctionModel(answer, model_id="echo")


async def test_secrets_reach_the_steps_but_no_event_or_record(h: Harness) -> None:
    seen: list[str] = []
    h.add(_echo(seen))
    result = await h.run(spec(PIPE), {"key": KEY, "pin": "12", "who": "ana"}, run_id="r1")
    assert result.status == "waiting"
    assert seen == [f"auth {KEY} for ana"]  # the step used the real value
    journal = json.dumps([e.to_json() for e in h.store.load_events("r1")])
    subscribers = json.dumps([e.to_json() for e in h.events.events])
    record = json.dumps(h.store.get_run("r1").inputs)
    for written in (journal, subscribers, record):
        assert KEY not in written
        assert mask_of("key") in written
    assert '"pin": "12"' in record  # too short to mask (it would mask unrelated text)


async def test_resume_needs_the_secrets_and_replays_outputs_with_them(h: Harness) -> None:
    seen: list[str] = []
    h.add(_echo(seen))
    await h.run(spec(PIPE), {"key": KEY, "pin": "12", "who": "ana"}, run_id="r1")
    record_decision(h.store, "r1", Decision("gate", True))
    with pytest.raises(ResumeRefused, match=r"secret inputs that were not stored \(key\)"):
        await resume_run("r1", services=h.services)
    with pytest.raises(ResumeRefused, match="only secret inputs can be given"):
        await resume_run("r1", services=h.services, inputs={"key": KEY, "who": "bob"})
    result = await resume_run("r1", services=h.services, inputs={"key": KEY})
    assert result.status == "succeeded", result.error
    # the replayed output of `call` had the secret back, so `last` saw what it would have seen
    assert seen[-1] == f"again auth {KEY} for ana"
    assert result.outputs == {"last": f"again auth {KEY} for ana", "pin": "12"}
    assert KEY not in json.dumps([e.to_json() for e in h.store.load_events("r1")])


def test_masks_are_per_input_and_undone_only_for_known_secrets() -> None:
    pipeline = spec(PIPE)
    assert secret_inputs(pipeline) == {"key", "pin"}
    masker = Masker({"key": KEY, "pin": "9999"})
    masked = masker.value({"a": [f"x{KEY}y", "9999"], KEY: 1})
    assert masked == {"a": [f"x{mask_of('key')}y", mask_of("pin")], mask_of("key"): 1}
    assert masker.unmask(masked) == {"a": [f"x{KEY}y", "9999"], KEY: 1}
    assert Masker.for_inputs(pipeline, {"key": "abc", "who": KEY}) is None


async def test_a_call_holding_a_secret_is_kept_out_of_the_response_cache(h: Harness) -> None:
    from evopipe.models.cache import InMemoryCache
    from evopipe.models.hub import ModelHub

    seen: list[str] = []
    h.hub = ModelHub(allow_network=False, cache=InMemoryCache())
    h.services = dataclasses.replace(h.services, models=h.hub)
    h.add(_echo(seen))
    pipe = spec(
        """
inputs: {key: {type: string, writeOnly: true}}
steps:
  - {id: plain, kind: llm, model: echo, prompt: "hello", temperature: 0}
  - {id: keyed, kind: llm, model: echo, prompt: "auth {{ inputs.key }}", temperature: 0}
"""
    )
    for _ in range(2):
        result = await h.run(pipe, {"key": KEY})
        assert result.status == "succeeded", result.error
    assert seen == ["hello", f"auth {KEY}", f"auth {KEY}"]  # `plain` came from the cache
