"""0005 conversations: persisted multi-turn conversations of the ``session`` kind."""

from __future__ import annotations

from sqlalchemy import Connection

from evopipe.store import conversation_tables as tables

NAME = "conversations"


def upgrade(conn: Connection) -> None:
    """Create the conversation tables (see :mod:`evopipe.store.conversation_tables`)."""
    tables.metadata.create_all(conn, tables=list(tables.CONVERSATION_TABLES))
