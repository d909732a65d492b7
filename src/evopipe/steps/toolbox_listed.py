"""``count_listed``: count the things an English enumeration lists (a toolbox function).

Kept apart from :mod:`evopipe.steps.toolbox` (which registers it): it carries its own word
tables. Errors are ``ValueError``; the toolbox turns them into ``ToolError`` naming the tool.
"""

from __future__ import annotations

import re

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_QUANTITY: dict[str, int] = {
    **{w: i for i, w in enumerate(_UNITS)},
    **{w: 20 + 10 * i for i, w in enumerate(_TENS)},
    "a": 1,
    "an": 1,
    "single": 1,
    "pair": 2,
    "couple": 2,
    "dozen": 12,
}
_LIST_VERB = re.compile(r"\b(?:have|has|had|own|owns|got|there (?:is|are|were|was))\s", re.I)
_SENTENCE = re.compile(r"[^.!?]*[.!?]?")
_ITEM_SEP = re.compile(r",|;|\band\b|&", re.I)
MAX_LISTED = 10_000
"""Longest text :func:`count_listed` reads (characters): enumerations are short."""


def _quantity(item: str) -> int:
    """The leading quantity of one listed item (``two pianos`` → 2, ``a flute`` → 1); an item
    without one counts 1."""
    first = item.split(maxsplit=1)[0].casefold().strip("'\"()")
    if first.isdigit() and len(first) <= 6:
        return int(first)
    tens, _, unit = first.partition("-")
    if unit and tens in _TENS and unit in _UNITS[1:10]:
        return _QUANTITY[tens] + _QUANTITY[unit]
    return _QUANTITY.get(first, 1)


def count_listed(text: str) -> int:
    """Count the things an English enumeration lists, summing their quantity words.

    Reads each sentence that states a list after a verb such as *have*, *has* or *there are*
    (questions, ending in ``?``, are skipped), splits the list on commas, semicolons and *and*,
    and adds every item's leading quantity: *a*/*an*/*one* → 1, *two* … *ninety*, compounds
    such as *twenty-one*, digits; an item without one counts 1.
    ``"I have a flute, two pianos, and a trombone. How many instruments do I have?"`` → 4.
    It does not judge which items belong to a category: everything listed is counted.
    Text longer than 10,000 characters is refused.
    """
    if len(text) > MAX_LISTED:
        raise ValueError(f"text longer than {MAX_LISTED} characters")
    total = 0
    for sentence in _SENTENCE.findall(text):
        if sentence.rstrip().endswith("?"):
            continue
        verb = _LIST_VERB.search(sentence)
        if verb is None:
            continue
        body = sentence[verb.end() :].rstrip(" .!")
        total += sum(_quantity(part) for part in _ITEM_SEP.split(body) if part.strip())
    return total
