"""0001 evolution: evolution runs, candidate specs and evaluations, members, proposals, state.

Frozen: its tables are the snapshot ``0001_evolution.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "evolution"
upgrade = snapshot_migration(__file__)
