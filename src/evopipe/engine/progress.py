"""A live progress display: one line per running step with its tokens and cost.

A subscriber like any other. Quiet when the stream is not a terminal (CI, pipes, ``--json``):
then it prints nothing at all.
"""

from __future__ import annotations

import time
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from evopipe.engine.budget import add_cost
from evopipe.engine.types import Event


def usd(cost: float | None) -> str:
    """A cost for people: ``$0.0012``, or ``cost unknown`` (a model without a price)."""
    return "cost unknown" if cost is None else f"${cost:.4f}"


_END = {"step_succeeded": "✓", "step_failed": "✗", "step_waiting": "⏸"}


class _Line:
    __slots__ = ("cost", "kind", "started", "tokens")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.started = time.monotonic()
        self.tokens = 0
        self.cost: float | None = 0.0


class ProgressDisplay:
    """Rich live view of a run; a no-op unless the stream is a terminal."""

    def __init__(self, stream: IO[str] | None = None, *, force: bool = False) -> None:
        self._console = Console(file=stream, stderr=stream is None)
        self.enabled = force or self._console.is_terminal
        self._live: Live | None = None
        self._running: dict[str, _Line] = {}
        self._tokens = 0
        self._cost: float | None = 0.0
        self._done = 0

    def on_event(self, *, event: Event) -> None:
        if not self.enabled:
            return
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(event)
            if self._live is not None:
                self._live.update(self._table())

    def _on_run_started(self, event: Event) -> None:
        if self._live is None:
            self._live = Live(
                self._table(), console=self._console, refresh_per_second=8, transient=True
            )
            self._live.start()

    _on_run_resumed = _on_run_started

    def _on_step_started(self, event: Event) -> None:
        self._running[str(event.step_id)] = _Line(str(event.data.get("kind", "")))

    def _on_model_call(self, event: Event) -> None:
        line = self._running.get(str(event.step_id))
        tokens = int(event.data.get("input_tokens", 0)) + int(event.data.get("output_tokens", 0))
        raw = event.data.get("cost_usd", 0.0)
        cost = None if raw is None else float(raw)
        self._tokens += tokens
        self._cost = add_cost(self._cost, cost)
        if line is not None:
            line.tokens += tokens
            line.cost = add_cost(line.cost, cost)

    def _end(self, event: Event) -> None:
        line = self._running.pop(str(event.step_id), None)
        self._done += 1
        mark = _END.get(event.type, "·")
        took = f"{(time.monotonic() - line.started) * 1000:.0f} ms" if line else ""
        extra = f"  {line.tokens} tok  {usd(line.cost)}" if line and line.tokens else ""
        self._console.print(f"{mark} {event.step_id}  {took}{extra}", highlight=False)

    _on_step_succeeded = _end
    _on_step_failed = _end
    _on_step_waiting = _end

    def _on_run_finished(self, event: Event) -> None:
        if self._live is not None and "/" not in str(event.run_id):
            self._live.stop()
            self._live = None
        self._console.print(
            f"run {event.run_id}: {event.data.get('status')}  "
            f"{self._tokens} tok  {usd(self._cost)}",
            highlight=False,
        )

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for step_id, line in list(self._running.items())[:20]:
            table.add_row(
                f"⠿ {step_id}",
                line.kind,
                f"{now - line.started:.1f}s",
                f"{line.tokens} tok",
                usd(line.cost),
            )
        table.add_row(f"{self._done} done", "", "", f"{self._tokens} tok", usd(self._cost))
        return table

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
