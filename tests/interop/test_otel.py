"""OpenTelemetry spans from a run on the fake model: tree shape and GenAI attributes."""

from __future__ import annotations

from pathlib import Path

from interop_needs import need_module

need_module("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from evopipe.app.api import load
from evopipe.interop.otel import OtelSubscriber

KINDS = Path(__file__).resolve().parents[2] / "examples" / "kinds"


def _spans(example: str) -> list:  # type: ignore[type-arg]
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handle = load(KINDS / example)
    handle.subscribers.append(OtelSubscriber(provider))
    result = handle.run_sync(model="fake", cache=False)
    assert result.status == "succeeded"
    return list(exporter.get_finished_spans())


def test_one_span_per_run_step_and_model_call_with_genai_attributes() -> None:
    spans = _spans("extract.yaml")
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"evopipe.run kinds-extract", "evopipe.step read", "chat fake"}
    run, step, call = (
        by_name[n] for n in ("evopipe.run kinds-extract", "evopipe.step read", "chat fake")
    )
    assert run.parent is None
    assert step.parent.span_id == run.context.span_id
    assert call.parent.span_id == step.context.span_id
    assert call.attributes["gen_ai.operation.name"] == "chat"
    assert call.attributes["gen_ai.request.model"] == "fake"
    assert call.attributes["gen_ai.usage.input_tokens"] > 0
    assert call.attributes["gen_ai.usage.output_tokens"] > 0
    assert "evopipe.cost_usd" in call.attributes
    assert step.attributes["evopipe.step.kind"] == "extract"
    assert step.attributes["evopipe.step.status"] == "succeeded"
    assert run.attributes["evopipe.run.status"] == "succeeded"
    assert run.start_time <= step.start_time <= call.start_time <= call.end_time <= run.end_time


def test_map_items_and_set_steps_get_their_own_spans() -> None:
    spans = _spans("map.yaml")
    steps = [s for s in spans if s.name.startswith("evopipe.step")]
    calls = [s for s in spans if s.name.startswith("chat ")]
    assert len(calls) == 3  # one model call per word
    step_ids = {s.span_id for s in (x.context for x in steps)}
    assert all(c.parent.span_id in step_ids for c in calls)
