"""0001 run_queue: submitted runs, leased by workers.

Frozen: its table is the snapshot ``0001_run_queue.json`` beside this module, never the live
``tables.py`` (a later change to a table is a new migration).
"""

from evopipe.store.ddl import snapshot_migration

NAME = "run_queue"
upgrade = snapshot_migration(__file__)
