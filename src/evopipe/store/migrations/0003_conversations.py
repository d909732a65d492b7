"""0003 conversations: persisted multi-turn conversations of the ``session`` kind.

Frozen: its table is the snapshot ``0003_conversations.json`` beside this module, never the
live ``conversation_tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "conversations"
upgrade = snapshot_migration(__file__)
