"""The event bus: one per run tree; subscribers are one-method classes.

A subscriber implements ``on_event(self, *, event: Event) -> None`` (keyword-only). The journal
writer, the progress display, JSON lines output and (later) the HTTP server are subscribers.
Subscribers must be fast and must not raise; an exception from one is reported once on stderr
and that subscriber is dropped, so a broken display never breaks a run.

Event types (``Event.type``) and their ``data`` (declared as TypedDicts in
:mod:`evopipe.engine.event_types`, whose JSON Schema ships as ``schemas/events-v1.json``):

==================== =====================================================================
run_started          pipeline, spec_hash, inputs, depth, parent (run id or None)
step_started         attempt=1, idempotency_key, kind, model (when the kind uses one)
step_attempt_started attempt (≥ 2), model, reason (the previous attempt's error)
step_retry           attempt, error, delay_s (a retryable error; backing off)
step_succeeded       output, attempts, input_tokens, output_tokens, cost_usd, cached,
                     duration_ms, meta
step_failed          error, attempts, duration_ms
step_skipped         reason
step_waiting         message (approval), duration_ms
step_cancelled       (none)
model_call           model, input_tokens, output_tokens, cost_usd, cached, latency_ms
run_finished         status, outputs, usage, error, budget, waiting_on
==================== =====================================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import IO, Any, Protocol

from evopipe.engine.event_types import Event


class Subscriber(Protocol):
    def on_event(self, *, event: Event) -> None: ...


class EventBus:
    """Fan events out to subscribers, in order, synchronously."""

    __slots__ = ("_subscribers",)

    def __init__(self, subscribers: list[Subscriber] | None = None) -> None:
        self._subscribers: list[Subscriber] = list(subscribers or [])

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def on_event(self, *, event: Event) -> None:
        """A bus is itself a subscriber (a run's bus forwards to the services' bus)."""
        self.publish(event)

    def __bool__(self) -> bool:
        return bool(self._subscribers)

    def publish(self, event: Event) -> None:
        for sub in self._subscribers:
            try:
                sub.on_event(event=event)
            except Exception as exc:  # a broken subscriber must not break the run
                print(
                    f"evopipe: event subscriber {sub!r} failed and was removed: {exc}",
                    file=sys.stderr,
                )
                self.unsubscribe(sub)


class CollectingSubscriber:
    """Keeps every event in a list (tests, in-process tools)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, *, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


class JsonLinesSubscriber:
    """Writes one JSON object per event (``evopipe run --events jsonl``)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def on_event(self, *, event: Event) -> None:
        self._stream.write(json.dumps(event.to_json(), default=str) + "\n")
        self._stream.flush()


class RedactingSubscriber:
    """Passes every event on to ``inner`` with each string of its ``data`` (keys included)
    passed through ``redact``; faces wrap what they print or stream with it."""

    def __init__(self, inner: Subscriber, redact: Callable[[str], str]) -> None:
        self._inner = inner
        self._redact = redact

    def on_event(self, *, event: Event) -> None:
        self._inner.on_event(event=replace(event, data=self._mask(dict(event.data))))

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {self._mask(k): self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value
