"""One reader of a run's journal per process, shared by every follower of that run.

An event stream needs the run's events as they are journaled. Runs execute in worker sessions
(possibly other processes), so a follower must look at the journal; with a hundred followers
on one run, each looking on its own would multiply the queries by a hundred. A tail reads the
journal once every ``poll_s`` for all of them and keeps the events it read; each follower
walks that list at its own pace (a slow follower holds no one up, and nothing is dropped for
it). The tail stops, and its events are released, when its last follower leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["JournalTails"]

ACTIVE = frozenset({"running", "queued", "pending"})


class _Tail:
    def __init__(self) -> None:
        self.events: list[Any] = []  # seq 1, 2, 3, ... (events[i].seq == i + 1)
        self.finished = False
        self.followers = 0
        self.error: BaseException | None = None
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()  # waiters hold the one that was just set

    @property
    def changed(self) -> asyncio.Event:
        """Set at the next change (take it before looking, then wait on it)."""
        return self._changed


class JournalTails:
    def __init__(self, app: App, poll_s: float = 0.02) -> None:
        self.app = app
        self.poll_s = poll_s
        self._tails: dict[str, _Tail] = {}

    async def follow(self, run_id: str, *, after: int = 0) -> AsyncIterator[Any]:
        """The run's events with ``seq > after`` in order, then new ones until it ends (a run
        still waiting in the queue: from its first event; one dropped before it started:
        nothing)."""
        tail = self._tails.get(run_id)
        if tail is None:
            tail = self._tails[run_id] = _Tail()
            tail.task = asyncio.ensure_future(self._read(run_id, tail))
        tail.followers += 1
        try:
            pos = after
            while True:
                changed = tail.changed
                while pos < len(tail.events):
                    pos += 1
                    yield tail.events[pos - 1]
                if tail.error is not None:
                    raise tail.error
                if tail.finished and pos >= len(tail.events):
                    return
                await changed.wait()
        finally:
            tail.followers -= 1
            if tail.followers == 0:
                self._tails.pop(run_id, None)
                if tail.task is not None:
                    tail.task.cancel()

    async def _read(self, run_id: str, tail: _Tail) -> None:
        try:
            while True:
                if self._step(run_id, tail):
                    break
                await asyncio.sleep(self.poll_s)
        except Exception as exc:  # surfaced to every follower
            tail.error = exc
        tail.finished = True
        tail.notify()

    def _step(self, run_id: str, tail: _Tail) -> bool:
        """Read what is new; True once the run can have no more events."""
        store = self.app.store
        record = store.find_run(run_id)
        if record is None:
            with contextlib.suppress(Exception):
                return bool(self.app.queue.get(run_id).status == "done")
            return False
        batch = store.load_events(run_id, len(tail.events))
        if batch:
            tail.events.extend(batch)
            tail.notify()
            return False
        if record.status in ACTIVE:
            return False
        late = store.load_events(run_id, len(tail.events))  # written while we looked
        tail.events.extend(late)
        return True
