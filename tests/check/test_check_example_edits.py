"""Rule examples written as edits of one another (check/registry.py)."""

from __future__ import annotations

import pytest

from evopipe.check.registry import edited, example, with_fix

BASE = example(
    """
    name: a
    steps:
      - id: x
      - id: x
    """,
    files={"f.txt": "  one\n"},
)


def test_edits_apply_in_order_to_first_occurrences() -> None:
    out = edited(BASE, ("id: x", "id: y"), ("id: x", "id: z"), line=3, column=5)
    assert out.text == "name: a\nsteps:\n  - id: y\n  - id: z\n"
    assert (out.line, out.column) == (3, 5)
    assert out.files == {"f.txt": "one\n"}
    assert BASE.text.count("id: x") == 2  # the base is unchanged


def test_with_fix_gives_the_bad_and_the_fixed_example() -> None:
    bad, good = with_fix(edited(BASE, line=4, column=5), ("  - id: x\n", ""), trusted=True)
    assert (bad.line, good.line) == (4, 0)
    assert good.text == "name: a\nsteps:\n  - id: x\n"
    assert good.trusted
    assert not bad.trusted


def test_an_edit_that_does_not_apply_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not occur"):
        edited(BASE, ("id: w", "id: v"))
