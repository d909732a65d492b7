"""Frozen schema snapshots: a migration's tables as data (``NNNN_name.json`` beside it).

A migration that creates tables carries them as a snapshot taken when it was written, so it is
history, not a view of today's ``tables.py``. :func:`snapshot` turns SQLAlchemy tables into the
JSON form; :func:`create_snapshot` builds them back and creates them. Only the column types the
areas use are known; anything else is refused rather than guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from evopipe.store.errors import MigrationError

TYPES: dict[str, Any] = {
    "Boolean": Boolean,
    "Float": Float,
    "Integer": Integer,
    "LargeBinary": LargeBinary,
    "String": String,
    "Text": Text,
}


def snapshot(tables: Iterable[Table]) -> dict[str, Any]:
    """The JSON-able form of ``tables`` (what a migration's ``.json`` file holds)."""
    return {"tables": [_table(t) for t in tables]}


def _table(table: Table) -> dict[str, Any]:
    columns = []
    for col in table.columns:
        kind = type(col.type).__name__
        if kind not in TYPES:
            raise MigrationError(f"{table.name}.{col.name}: type {kind} has no snapshot form")
        entry: dict[str, Any] = {"name": col.name, "type": kind, "nullable": bool(col.nullable)}
        length = getattr(col.type, "length", None)
        if length is not None:
            entry["length"] = length
        if col.primary_key:
            entry["primary_key"] = True
        if col.autoincrement is False:
            entry["autoincrement"] = False
        columns.append(entry)
    indexes = [
        {"name": ix.name, "columns": [c.name for c in ix.columns], "unique": bool(ix.unique)}
        for ix in sorted(table.indexes, key=lambda i: str(i.name))
    ]
    return {"name": table.name, "columns": columns, "indexes": indexes}


def tables_from(data: Mapping[str, Any], metadata: MetaData) -> list[Table]:
    """Rebuild the tables of a snapshot into ``metadata``."""
    return [_build(t, metadata) for t in data["tables"]]


def _build(spec: Mapping[str, Any], metadata: MetaData) -> Table:
    columns: list[Any] = []
    for col in spec["columns"]:
        kind = TYPES.get(col["type"])
        if kind is None:
            raise MigrationError(f"{spec['name']}.{col['name']}: unknown type {col['type']!r}")
        type_ = kind(col["length"]) if "length" in col else kind
        auto: Any = False if col.get("autoincrement") is False else "auto"
        columns.append(
            Column(
                col["name"],
                type_,
                primary_key=col.get("primary_key", False),
                nullable=col["nullable"],
                autoincrement=auto,
            )
        )
    indexes = [Index(ix["name"], *ix["columns"], unique=ix["unique"]) for ix in spec["indexes"]]
    return Table(spec["name"], metadata, *columns, *indexes)


def snapshot_migration(module_file: str) -> Callable[[Connection], None]:
    """The ``upgrade`` of a migration that creates the tables of its snapshot."""
    return lambda conn: create_snapshot(conn, module_file)


def create_snapshot(conn: Connection, module_file: str) -> None:
    """Create the tables of the snapshot beside ``module_file`` (``NNNN_name.json``)."""
    path = Path(module_file).with_suffix(".json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MigrationError(f"cannot read the schema snapshot {path}: {exc}") from exc
    metadata = MetaData()
    metadata.create_all(conn, tables=tables_from(data, metadata), checkfirst=False)
