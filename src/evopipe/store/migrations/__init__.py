"""The store's own forward-only migrations (area ``store``), one module each: ``NNNN_name.py``.

Each module defines ``NAME: str`` and ``upgrade(conn: sqlalchemy.Connection) -> None`` and
carries its own DDL (frozen SQLAlchemy Core tables or explicit statements that work on SQLite
and PostgreSQL): never the live :mod:`evopipe.store.tables`. Other areas keep theirs in their
own ``<area>/migrations`` packages; :data:`evopipe.store.migrate.CORE` describes this one.
"""
