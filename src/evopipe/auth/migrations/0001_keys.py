"""0001 keys: API keys, the token signing key, and tenant ownership of resources.

Frozen: its tables are the snapshot ``0001_keys.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "keys"
upgrade = snapshot_migration(__file__)
