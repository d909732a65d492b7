"""JSON repair of common model mistakes (before re-asking)."""

from __future__ import annotations

import pytest

from evopipe.engine.repair import repair_json


@pytest.mark.parametrize(
    ("raw", "value", "repairs"),
    [
        ('{"a": 1}', {"a": 1}, []),
        ('```json\n{"a": [1, 2,],}\n```', {"a": [1, 2]}, ["code fence", "trailing comma"]),
        ('Sure! Here: {"a": "x}"} hope it helps', {"a": "x}"}, ["prose around JSON"]),
        (
            "{'a': 'it\\'s', 'b': True, 'c': None}",
            {"a": "it's", "b": True, "c": None},
            ["single quotes / Python literals"],
        ),
        ("The list is [1, 2, 3].", [1, 2, 3], ["prose around JSON"]),
    ],
)
def test_repairs(raw: str, value: object, repairs: list[str]) -> None:
    assert repair_json(raw) == (value, repairs)


@pytest.mark.parametrize("raw", ["nope", "{unclosed", ""])
def test_unrepairable_text_raises(raw: str) -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        repair_json(raw)
