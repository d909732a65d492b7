"""0001 registry: promoted versions, the champion pointer and its history.

Frozen: its tables are the snapshot ``0001_registry.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "registry"
upgrade = snapshot_migration(__file__)
