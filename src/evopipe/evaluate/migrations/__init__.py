"""The evaluate area's forward-only migrations, one module each: ``NNNN_name.py``.

Each carries its own frozen DDL (never :mod:`evopipe.evaluate.tables`); the composition root
hands :data:`MIGRATIONS` to the store (see :mod:`evopipe.app.schema`). Version 1 stands for
the first release's global migration 0003_evaluation.
"""

from evopipe.store.migrate import MigrationSet

MIGRATIONS = MigrationSet("evaluate", __name__, legacy={1: (3, "evaluation")})

__all__ = ["MIGRATIONS"]
