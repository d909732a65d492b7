"""0003 conversations: persisted multi-turn conversations of the ``session`` kind.

Frozen DDL (never the live :mod:`evopipe.store.conversation_tables`): one table of messages
keyed by ``(owner, session, seq)``, with the appending step's idempotency key.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Float, Index, Integer, MetaData, String, Table, Text

NAME = "conversations"

_metadata = MetaData()
_messages = Table(
    "conversation_messages",
    _metadata,
    Column("owner", String(200), primary_key=True),
    Column("session", String(200), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("role", String(32), nullable=False),
    Column("content", Text, nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("turn_key", String(300), nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_conversation_turn", "owner", "session", "turn_key"),
)


def upgrade(conn: Connection) -> None:
    """Create ``conversation_messages`` and its index."""
    _metadata.create_all(conn)
