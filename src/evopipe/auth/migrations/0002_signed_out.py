"""0002 signed_out: dashboard sessions signed out before they lapsed.

Frozen: its tables are the snapshot ``0002_signed_out.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "signed_out"
upgrade = snapshot_migration(__file__)
