"""Conversations: multi-turn message histories kept per owner, across steps and runs.

:class:`ConversationStore` is what the ``session`` kind (and, later, a chat face) needs;
``evopipe.store.conversations.StoreConversations`` implements it on the run store's database and
:class:`MemoryConversations` in memory. A conversation is keyed by ``(owner, session)``: every
read and write names the owner, so one user's messages are never visible to another, even under
the same session name. The composition root passes the implementation to runs as
``Services.hooks["conversations"]``.

A turn is appended atomically (the user message and the reply together) with a ``turn_key``
— the step's idempotency key — so a step re-run after a crash finds its turn already stored and
returns that reply instead of asking the model again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from evopipe.spec.errors import EvopipeError

MAX_NAME = 200


class ConversationError(EvopipeError):
    """A conversation was named badly or could not be stored."""


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    seq: int
    role: str
    content: str
    run_id: str | None = None
    turn_key: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    session: str
    messages: int
    updated_at: float


def check_names(owner: str, session: str) -> None:
    for label, value in (("user", owner), ("session", session)):
        if not isinstance(value, str) or not value.strip():
            raise ConversationError(f"conversation {label} must be a non-empty string")
        if len(value) > MAX_NAME:
            raise ConversationError(f"conversation {label} is longer than {MAX_NAME} characters")


@runtime_checkable
class ConversationStore(Protocol):
    def messages(
        self, owner: str, session: str, *, limit: int | None = None
    ) -> list[ConversationMessage]:
        """The last ``limit`` messages (all if None), oldest first."""
        ...

    def turn(self, owner: str, session: str, turn_key: str) -> list[ConversationMessage]:
        """The messages appended with ``turn_key`` (empty if none)."""
        ...

    def append(
        self,
        owner: str,
        session: str,
        messages: Sequence[tuple[str, str]],
        *,
        run_id: str | None = None,
        turn_key: str | None = None,
    ) -> None:
        """Append ``(role, content)`` messages in one transaction."""
        ...

    def sessions(self, owner: str) -> list[ConversationInfo]:
        """The owner's conversations, most recently updated first."""
        ...


class MemoryConversations:
    """An in-memory :class:`ConversationStore` (tests, one process)."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], list[ConversationMessage]] = {}

    def messages(
        self, owner: str, session: str, *, limit: int | None = None
    ) -> list[ConversationMessage]:
        check_names(owner, session)
        found = self._data.get((owner, session), [])
        return list(found if limit is None else found[max(0, len(found) - limit) :])

    def turn(self, owner: str, session: str, turn_key: str) -> list[ConversationMessage]:
        return [m for m in self.messages(owner, session) if m.turn_key == turn_key]

    def append(
        self,
        owner: str,
        session: str,
        messages: Sequence[tuple[str, str]],
        *,
        run_id: str | None = None,
        turn_key: str | None = None,
    ) -> None:
        check_names(owner, session)
        rows = self._data.setdefault((owner, session), [])
        now = time.time()
        for role, content in messages:
            rows.append(ConversationMessage(len(rows) + 1, role, content, run_id, turn_key, now))

    def sessions(self, owner: str) -> list[ConversationInfo]:
        found = [
            ConversationInfo(session, len(rows), rows[-1].created_at)
            for (who, session), rows in self._data.items()
            if who == owner and rows
        ]
        return sorted(found, key=lambda i: -i.updated_at)
