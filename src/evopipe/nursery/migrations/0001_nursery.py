"""0001 nursery: certifications (each stage's gate) and factory batches (resumable).

Frozen: its tables are the snapshot ``0001_nursery.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "nursery"
upgrade = snapshot_migration(__file__)
