"""0002 cost_ledger: tenant budgets and one ledger row per model call.

Frozen: its tables are the snapshot ``0002_cost_ledger.json`` beside this module, never the
live ``tables.py`` (a later change to a table is a new migration).
"""

from evopipe.store.ddl import snapshot_migration

NAME = "cost_ledger"
upgrade = snapshot_migration(__file__)
