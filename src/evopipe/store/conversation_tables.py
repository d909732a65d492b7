"""Conversation tables (created by the store's migration ``0003_conversations``).

``conversation_messages`` holds every message of every persisted conversation, keyed by
``(owner, session, seq)``; ``turn_key`` is the idempotency key of the step that appended it.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

conversation_messages = Table(
    "conversation_messages",
    metadata,
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

CONVERSATION_TABLES = (conversation_messages,)
