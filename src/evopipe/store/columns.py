"""Table definitions written as text, one column a line, as a ``CREATE TABLE`` reads.

Every area declares its tables on a :class:`Schema` (``schema.metadata`` holds them)::

    schema = Schema()
    runs = schema.table('''
        runs: one row per run
        run_id  str(64)  key
        error   text     null
        index ix_runs_error (error)
    ''')

The first line names the table, then (after a colon) says what a row is; the text is kept in
``table.info["about"]``. A column line is ``name type flag...``. Types: ``str(N)``
(``String(N)``), ``text``, ``int``, ``float``, ``bool``, ``bytes`` (``LargeBinary``). Flags:

* ``key``: part of the primary key; an ``int`` key is not auto-incremented unless ``auto``;
* ``auto``: an auto-incremented ``int`` key (a surrogate id);
* ``null``: the column may be NULL (a column is ``NOT NULL`` otherwise);
* ``default=V``: a value the code inserts when none is given (an int, a float, ``true`` or
  ``false``).

Other lines: ``index NAME (col, ...)``, ``unique index NAME (col, ...)`` and ``primary key
NAME (col, ...)`` (a named primary key over columns without ``key``). A line that does not
parse is refused, with its table and text, when the module is imported.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

_PLAIN_TYPES: dict[str, type[TypeEngine[Any]]] = {
    "text": Text,
    "int": Integer,
    "float": Float,
    "bool": Boolean,
    "bytes": LargeBinary,
}
_STRING = re.compile(r"^str\((\d+)\)$")
_GROUP = re.compile(r"^(unique index|index|primary key)\s+(\w+)\s*\(([\w\s,]+)\)$")
_DEFAULTS: dict[str, bool] = {"true": True, "false": False}


class ColumnSpecError(ValueError):
    """A line of a table's text that does not parse (a programming error in a ``tables.py``)."""


class Schema:
    """An area's tables: a :class:`~sqlalchemy.MetaData` and :meth:`table` to declare them."""

    def __init__(self) -> None:
        self.metadata = MetaData()

    def table(self, text: str) -> Table:
        """The table that ``text`` describes (see the module docstring), added to
        :attr:`metadata`."""
        first, *lines = [line.strip() for line in text.splitlines() if line.strip()]
        name, _, about = first.partition(":")
        name = name.strip()
        table = Table(name, self.metadata, *(_item(name, line) for line in lines))
        table.info["about"] = about.strip()
        return table


def _item(table_name: str, line: str) -> SchemaItem:
    group = _GROUP.match(line)
    if group is None:
        return _column(table_name, line)
    what, name, columns = group.groups()
    names = [c.strip() for c in columns.split(",")]
    if what == "primary key":
        return PrimaryKeyConstraint(*names, name=name)
    return Index(name, *names, unique=what == "unique index")


def _column(table_name: str, line: str) -> Column[Any]:
    words = line.split()
    if len(words) < 2:
        raise ColumnSpecError(f"table {table_name}: a column needs a name and a type: {line!r}")
    name, kind, *flags = words
    options: dict[str, Any] = {"nullable": False}
    for flag in flags:
        if flag == "key":
            options["primary_key"] = True
        elif flag == "auto":
            options["autoincrement"] = True
        elif flag == "null":
            options["nullable"] = True
        elif flag.startswith("default="):
            options["default"] = _default(flag.removeprefix("default="))
        else:
            raise ColumnSpecError(f"table {table_name}: unknown flag {flag!r} in {line!r}")
    column_type = _type(table_name, kind, line)
    if options.get("primary_key") and column_type is Integer:
        options.setdefault("autoincrement", False)
    return Column(name, column_type, **options)


def _type(table_name: str, kind: str, line: str) -> TypeEngine[Any] | type[TypeEngine[Any]]:
    string = _STRING.match(kind)
    if string:
        return String(int(string.group(1)))
    if kind in _PLAIN_TYPES:
        return _PLAIN_TYPES[kind]
    raise ColumnSpecError(f"table {table_name}: unknown type {kind!r} in {line!r}")


def _default(text: str) -> bool | int | float:
    if text in _DEFAULTS:
        return _DEFAULTS[text]
    return float(text) if "." in text else int(text)
