"""Forward-only, named schema migrations, one module each: ``NNNN_name.py``.

Each module defines ``NAME: str`` and ``upgrade(conn: sqlalchemy.Connection) -> None`` using
SQLAlchemy Core DDL that works on SQLite and PostgreSQL. Numbers are pre-assigned by area:
0001 core (store), 0002 generations (genesis), 0003 evaluation, 0004 evolution + registry.
Dropping a module here is all it takes; the runner in :mod:`evopipe.store.migrate` finds it.
"""
