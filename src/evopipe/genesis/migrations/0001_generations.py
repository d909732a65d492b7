"""0001 generations: every ``evopipe generate`` with its rounds (drafts and diagnostics).

Frozen: its tables are the snapshot ``0001_generations.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "generations"
upgrade = snapshot_migration(__file__)
