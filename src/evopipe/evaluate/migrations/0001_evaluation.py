"""0001 evaluation: datasets, evaluation runs and their per-example results.

Frozen: its tables are the snapshot ``0001_evaluation.json`` beside this module, never the live
``tables.py``.
"""

from evopipe.store.ddl import snapshot_migration

NAME = "evaluation"
upgrade = snapshot_migration(__file__)
