"""OpenTelemetry GenAI spans from engine events (opt-in: ``pip install 'evopipe[otel]'``).

:class:`OtelSubscriber` is an event subscriber: one span per run (sub-runs nest under their
parent run), one per step attempt sequence, and one per model call with the GenAI semantic
conventions (``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``); cost and cache hits are
``evopipe.*`` attributes. Inputs, prompts and outputs are never put on spans (they may hold
secrets).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, TracerProvider

from evopipe.engine.types import Event

_END_STEP = {"step_succeeded", "step_failed", "step_skipped", "step_waiting", "step_cancelled"}


def _ns(seconds: float) -> int | None:
    return int(seconds * 1e9) if seconds else None


class OtelSubscriber:
    """Turns a run tree's events into spans on ``tracer_provider`` (default: the global)."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        provider = tracer_provider or trace.get_tracer_provider()
        self._tracer = provider.get_tracer("evopipe")
        self._runs: dict[str, Span] = {}
        self._steps: dict[tuple[str, str], Span] = {}

    def on_event(self, *, event: Event) -> None:
        handler = getattr(self, f"_{event.type}", None)
        if handler is not None:
            handler(event, event.data)
        elif event.type in _END_STEP:
            self._end_step(event, event.data)

    def _parent(self, run_id: str, step_id: str | None = None) -> Any:
        span = self._steps.get((run_id, step_id or "")) or self._runs.get(run_id)
        return trace.set_span_in_context(span) if span is not None else None

    def _run_started(self, event: Event, data: Any) -> None:
        parent = self._parent(str(data.get("parent"))) if data.get("parent") else None
        span = self._tracer.start_span(
            f"evopipe.run {data.get('pipeline', '')}",
            context=parent,
            start_time=_ns(event.ts),
            attributes={
                "evopipe.run.id": event.run_id,
                "evopipe.pipeline": str(data.get("pipeline", "")),
                "evopipe.spec_hash": str(data.get("spec_hash", "")),
                "evopipe.depth": int(data.get("depth", 0)),
            },
        )
        self._runs[event.run_id] = span

    def _step_started(self, event: Event, data: Any) -> None:
        attributes: dict[str, Any] = {
            "evopipe.step.id": str(event.step_id),
            "evopipe.step.kind": str(data.get("kind", "")),
        }
        if data.get("model"):
            attributes["gen_ai.request.model"] = str(data["model"])
        self._steps[(event.run_id, str(event.step_id))] = self._tracer.start_span(
            f"evopipe.step {event.step_id}",
            context=self._parent(event.run_id),
            start_time=_ns(event.ts),
            attributes=attributes,
        )

    def _model_call(self, event: Event, data: Any) -> None:
        model = str(data.get("model", ""))
        provider = model.split(":", 1)[0] if ":" in model else model
        end = _ns(event.ts)
        latency = int(float(data.get("latency_ms") or 0) * 1e6)
        span = self._tracer.start_span(
            f"chat {model}",
            context=self._parent(event.run_id, event.step_id),
            kind=trace.SpanKind.CLIENT,
            start_time=end - latency if end is not None else None,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": int(data.get("input_tokens") or 0),
                "gen_ai.usage.output_tokens": int(data.get("output_tokens") or 0),
                "evopipe.cached": bool(data.get("cached", False)),
                **_cost(data.get("cost_usd")),
            },
        )
        span.end(end_time=end)

    def _end_step(self, event: Event, data: Any) -> None:
        key = (event.run_id, str(event.step_id))
        span = self._steps.pop(key, None)
        if span is None:  # skipped before it started
            span = self._tracer.start_span(
                f"evopipe.step {event.step_id}",
                context=self._parent(event.run_id),
                start_time=_ns(event.ts),
                attributes={"evopipe.step.id": str(event.step_id)},
            )
        status = event.type.removeprefix("step_")
        span.set_attribute("evopipe.step.status", status)
        for name in ("input_tokens", "output_tokens"):
            if data.get(name) is not None:
                span.set_attribute(f"gen_ai.usage.{name}", int(data[name]))
        if data.get("cost_usd") is not None:
            span.set_attribute("evopipe.cost_usd", float(data["cost_usd"]))
        if event.type == "step_failed":
            span.set_status(Status(StatusCode.ERROR, str(data.get("error", ""))[:200]))
        span.end(end_time=_ns(event.ts))

    def _run_finished(self, event: Event, data: Any) -> None:
        span = self._runs.pop(event.run_id, None)
        if span is None:
            return
        status = str(data.get("status", ""))
        span.set_attribute("evopipe.run.status", status)
        usage = data.get("usage")
        for name in ("input_tokens", "output_tokens"):
            value = getattr(usage, name, None) if usage is not None else None
            if isinstance(usage, dict):
                value = usage.get(name)
            if value is not None:
                span.set_attribute(f"gen_ai.usage.{name}", int(value))
        if status == "failed":
            span.set_status(Status(StatusCode.ERROR, str(data.get("error", ""))[:200]))
        span.end(end_time=_ns(event.ts))


def _cost(value: Any) -> dict[str, Any]:
    """An unknown price stays unknown: no cost attribute, and a flag saying so."""
    if value is None:
        return {"evopipe.cost_unknown": True}
    return {"evopipe.cost_usd": float(value)}
