"""Conversations on the run store's database (the ``ConversationStore`` of
:mod:`evopipe.engine.conversations`). Message text passes through the store's redactor."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, select

from evopipe.engine.conversations import ConversationInfo, ConversationMessage, check_names
from evopipe.store.conversation_tables import conversation_messages as t
from evopipe.store.store import Store


def _message(row: Sequence[Any]) -> ConversationMessage:
    return ConversationMessage(int(row[0]), str(row[1]), str(row[2]), row[3], row[4], float(row[5]))


_COLUMNS = (t.c.seq, t.c.role, t.c.content, t.c.run_id, t.c.turn_key, t.c.created_at)


class StoreConversations:
    """Persisted conversations, isolated per owner (every query filters on it)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _key(self, owner: str, session: str) -> ColumnElement[bool]:
        check_names(owner, session)
        return and_(t.c.owner == owner, t.c.session == session)

    def messages(
        self, owner: str, session: str, *, limit: int | None = None
    ) -> list[ConversationMessage]:
        query = select(*_COLUMNS).where(self._key(owner, session)).order_by(t.c.seq.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._store.begin() as conn:
            rows = conn.execute(query).all()
        return [_message(r) for r in reversed(rows)]

    def turn(self, owner: str, session: str, turn_key: str) -> list[ConversationMessage]:
        query = (
            select(*_COLUMNS)
            .where(self._key(owner, session), t.c.turn_key == turn_key)
            .order_by(t.c.seq)
        )
        with self._store.begin() as conn:
            return [_message(r) for r in conn.execute(query).all()]

    def append(
        self,
        owner: str,
        session: str,
        messages: Sequence[tuple[str, str]],
        *,
        run_id: str | None = None,
        turn_key: str | None = None,
    ) -> None:
        key = self._key(owner, session)
        now = time.time()
        with self._store.begin() as conn:
            last = conn.execute(select(func.max(t.c.seq)).where(key)).scalar() or 0
            rows = [
                {
                    "owner": owner,
                    "session": session,
                    "seq": last + i,
                    "role": role,
                    "content": self._store._text(content) or "",
                    "run_id": run_id,
                    "turn_key": turn_key,
                    "created_at": now,
                }
                for i, (role, content) in enumerate(messages, 1)
            ]
            if rows:
                conn.execute(insert(t), rows)

    def sessions(self, owner: str) -> list[ConversationInfo]:
        check_names(owner, "-")
        query = (
            select(t.c.session, func.count(), func.max(t.c.created_at))
            .where(t.c.owner == owner)
            .group_by(t.c.session)
            .order_by(func.max(t.c.created_at).desc(), t.c.session)
        )
        with self._store.begin() as conn:
            return [ConversationInfo(r[0], int(r[1]), float(r[2])) for r in conn.execute(query)]
