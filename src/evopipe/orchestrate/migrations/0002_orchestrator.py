"""0002 orchestrator: aliases, tags and the undoable change log of the registry; routing
decisions; chains; schedules and their fires; concurrency leases; canaries.

Frozen: its tables are the snapshot ``0002_orchestrator.json`` beside this module, never the
live ``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "orchestrator"
upgrade = snapshot_migration(__file__)
