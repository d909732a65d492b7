"""One event type for every subscriber, with a JSON Schema that real runs satisfy."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import jsonschema
import pytest
from engine_helpers import Harness, spec

from evopipe.engine.event_types import EVENT_DATA, Event, event_json_schema

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "evopipe" / "schemas" / "events-v1.json"


def _validator() -> jsonschema.Draft202012Validator:
    schema = event_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert json.loads(SHIPPED.read_text(encoding="utf-8")) == event_json_schema()


async def test_every_event_of_real_runs_matches_the_schema(h: Harness) -> None:
    pipeline = spec(
        """
        inputs: {xs: {type: array, default: [1, 2]}}
        steps:
          - {id: a, kind: set, values: {v: 1}}
          - id: fan
            kind: map
            over: "{{ inputs.xs }}"
            steps:
              - {id: say, kind: llm, model: fake, prompt: "item {{ item }}"}
          - id: again
            kind: loop
            until: "false"
            max_iterations: 2
            steps:
              - {id: t, kind: tool, tool: count, args: {items: [1, 2, 3]}}
          - {id: never, kind: set, when: "steps.a.output.v == 2", values: {v: 2}}
          - {id: bad, kind: tool, needs: [a], tool: count, args: {items: "{{ steps.a.output.v }}"}}
        """
    )
    await h.run(pipeline)
    events = h.events.events
    types = {e.type for e in events}
    assert {"run_started", "step_succeeded", "model_call", "step_skipped"} <= types
    assert {"step_failed", "loop_exhausted", "run_finished"} <= types
    validator = _validator()
    for event in events:
        document = json.loads(json.dumps(event.to_json(), default=str))
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], (event.type, errors)
        assert event.type in EVENT_DATA, event.type
        assert pickle.loads(pickle.dumps(event)) == event  # events cross processes too


@pytest.mark.parametrize(
    ("event", "ok"),
    [
        (Event("step_failed", "r", 1, "s", {"error": "boom", "attempts": 1}), True),
        (Event("step_failed", "r", 1, "s", {"error": 3}), False),
        (Event("run_finished", "r", 2, None, {"status": "succeeded", "outputs": []}), False),
        (Event("my_kind_said", "r", 3, "s", {"anything": [1]}), True),
    ],
)
def test_the_schema_constrains_the_payload_of_known_types(event: Event, ok: bool) -> None:
    assert _validator().is_valid(event.to_json()) is ok


def test_an_event_without_data_pickles() -> None:
    bare = Event("step_cancelled", "r", 4, "s")
    assert pickle.loads(pickle.dumps(bare)) == bare
    assert _validator().is_valid(bare.to_json())
