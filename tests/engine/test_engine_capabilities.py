"""The engine acts on what kinds declare (``kind_info``), not on lists of kind names."""

from __future__ import annotations

import asyncio

from engine_helpers import Harness, spec


async def test_a_container_holds_no_slot_so_a_map_finishes_under_max_concurrency_1(
    h: Harness,
) -> None:
    # Before kinds declared `container` in one place, no kind module set the flag: the map
    # held the run's only slot while its items waited for one, and the run hung.
    pipeline = spec(
        """
        steps:
          - id: fan
            kind: map
            over: "{{ [1, 2, 3] }}"
            steps:
              - {id: say, kind: llm, model: fake, prompt: "item {{ item }}"}
        """
    )
    result = await asyncio.wait_for(h.run(pipeline, max_concurrency=1), timeout=10)
    assert result.ok, result.error
    assert len(result.step("fan").output) == 3


async def test_an_instant_kind_is_recorded_by_one_event(h: Harness) -> None:
    pipeline = spec(
        """
        steps:
          - {id: n, kind: tool, tool: count, args: {items: [1, 2]}}
          - {id: say, kind: llm, model: fake, prompt: "{{ steps.n.output }}"}
        """
    )
    result = await h.run(pipeline)
    assert result.ok
    assert h.types("n") == ["step_succeeded"]
    assert h.types("say")[0] == "step_started"
