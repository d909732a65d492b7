"""Conversation tables (created by the store's migration ``0003_conversations``).

``conversation_messages`` holds every message of every persisted conversation, keyed by
``(owner, session, seq)``; ``turn_key`` is the idempotency key of the step that appended it.
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

conversation_messages = schema.table("""
    conversation_messages: every message of every persisted conversation
    owner       str(200)  key
    session     str(200)  key
    seq         int       key
    role        str(32)
    content     text
    run_id      str(64)   null
    turn_key    str(300)  null
    created_at  float
    index ix_conversation_turn (owner, session, turn_key)
""")

CONVERSATION_TABLES = (conversation_messages,)
