"""Schema drift: how a migrated database differs from the live table definitions.

The migrations carry frozen DDL and the code queries the live ``tables.py`` of each area; the
two must describe the same schema. :func:`schema_drift` compares a database (built by the
migrations) with a set of live ``Table`` objects: tables, columns, generic types, nullability,
primary keys and indexes, in words. The drift test in ``tests/store`` runs it on a fresh
database; an empty list means no drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Float, Table, inspect
from sqlalchemy.engine import Inspector
from sqlalchemy.types import TypeEngine


def type_key(type_: TypeEngine[Any]) -> str:
    """A dialect-neutral name of a column type: the generic type and its length, if any
    (``DOUBLE PRECISION`` reflected from PostgreSQL and a declared ``Float`` agree)."""
    try:
        generic = type_.as_generic()
    except NotImplementedError:
        generic = type_
    length = getattr(generic, "length", None)
    name = "Float" if isinstance(generic, Float) else type(generic).__name__  # Double too
    return f"{name}({length})" if length else name


def _reflected(inspector: Inspector, name: str) -> dict[str, Any]:
    columns = {
        c["name"]: (type_key(c["type"]), bool(c["nullable"])) for c in inspector.get_columns(name)
    }
    indexes = {
        str(ix["name"]): (tuple(ix["column_names"]), bool(ix["unique"]))
        for ix in inspector.get_indexes(name)
    }
    pk = tuple(inspector.get_pk_constraint(name)["constrained_columns"])
    return {"columns": columns, "indexes": indexes, "pk": pk}


def _declared(table: Table) -> dict[str, Any]:
    columns = {c.name: (type_key(c.type), bool(c.nullable)) for c in table.columns}
    indexes = {
        str(ix.name): (tuple(c.name for c in ix.columns), bool(ix.unique)) for ix in table.indexes
    }
    pk = tuple(c.name for c in table.primary_key.columns)
    return {"columns": columns, "indexes": indexes, "pk": pk}


def _table_drift(name: str, have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for col in sorted(set(have["columns"]) | set(want["columns"])):
        got, exp = have["columns"].get(col), want["columns"].get(col)
        if got is None:
            out.append(f"{name}.{col}: defined {_col(exp)}, missing from the database")
        elif exp is None:
            out.append(f"{name}.{col}: in the database {_col(got)}, not defined")
        elif got != exp:
            out.append(f"{name}.{col}: database {_col(got)}, definition {_col(exp)}")
    if have["pk"] != want["pk"]:
        pks = f"{list(have['pk'])} in the database, {list(want['pk'])} defined"
        out.append(f"{name}: primary key {pks}")
    for ix in sorted(set(have["indexes"]) | set(want["indexes"])):
        got, exp = have["indexes"].get(ix), want["indexes"].get(ix)
        if got != exp:
            out.append(f"{name}: index {ix} is {got} in the database, {exp} defined")
    return out


def _col(spec: tuple[str, bool] | None) -> str:
    if spec is None:
        return "absent"
    return f"{spec[0]} {'NULL' if spec[1] else 'NOT NULL'}"


def schema_drift(bind: Engine | Connection, tables: Iterable[Table]) -> list[str]:
    """Every difference between the database at ``bind`` and ``tables`` (empty: none)."""
    inspector = inspect(bind)
    wanted = {t.name: t for t in tables}
    present = set(inspector.get_table_names())
    out = [f"{n}: in the database, not defined" for n in sorted(present - set(wanted))]
    for name in sorted(wanted):
        if name not in present:
            out.append(f"{name}: defined, not created by any migration")
            continue
        out += _table_drift(name, _reflected(inspector, name), _declared(wanted[name]))
    return out
