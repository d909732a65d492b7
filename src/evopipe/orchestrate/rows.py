"""Turning orchestrator table rows into plain JSON-ready dicts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row


def with_json(rows: Iterable[Row[Any]], column: str, key: str) -> list[dict[str, Any]]:
    """Each row as a dict, its JSON text ``column`` parsed and put under ``key`` instead."""
    out = []
    for row in rows:
        item = dict(row._mapping)
        item[key] = json.loads(item.pop(column))
        out.append(item)
    return out
