"""0001 core: runs (with ``last_seq``, dropped by 0002), events, approvals, cache and blobs.

Frozen: its tables are the snapshot ``0001_core.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "core"
upgrade = snapshot_migration(__file__)
