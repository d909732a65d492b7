"""Orchestrator rows: plain JSON-ready dicts out of them, the id an insert gave one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import CursorResult, Row


def with_json(rows: Iterable[Row[Any]], column: str, key: str) -> list[dict[str, Any]]:
    """Each row as a dict, its JSON text ``column`` parsed and put under ``key`` instead."""
    out = []
    for row in rows:
        item = dict(row._mapping)
        item[key] = json.loads(item.pop(column))
        out.append(item)
    return out


def inserted_id(result: CursorResult[Any]) -> int:
    """The id (a one-column primary key) of the row the insert ``result`` added."""
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])
