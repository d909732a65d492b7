"""0001 memory: the pattern DB, the failure museum and the innovation gallery.

Frozen: its tables are the snapshot ``0001_memory.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "memory"
upgrade = snapshot_migration(__file__)
