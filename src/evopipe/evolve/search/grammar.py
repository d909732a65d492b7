"""The typed grammar the program search enumerates: productions over the toolbox.

A :class:`Production` is one toolbox call with its constants, typed by what it takes (the
piped value's type) — ``text``, ``list``, ``num`` or ``bool``. Constants are mined from the
feedback examples (:func:`mine`): markers every source text contains (``List:`` → the text
after it), the sources' common prefix and suffix (stripped), the separators every text uses,
and the answer vocabulary (two distinct answers such as ``Yes``/``No`` become the values a
comparison returns). No production is specific to a task; every one is a generic tool.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evopipe.evolve.search.program import Call

TYPES = ("text", "list", "num", "bool")
ANSWER_TYPES = frozenset({"text", "num", "bool"})
"""Types a program may end with (a list is never an answer)."""

NUMBER_PATTERN = r"-?\d+(?:\.\d+)?"
WORD_PATTERN = r"[A-Za-z]+(?:['-][A-Za-z]+)*"
CONJUNCTION_PATTERN = r"\s*[,;]\s*(?:and\s+)?|\s+and\s+"
"""Splits an English enumeration: ``a, b, and c`` / ``a and b``."""
SEPARATORS = (",", ";", "\n", "|")
MAX_MARKERS = 4
_MARKER = re.compile(r"[A-Za-z][^\n:.?!]{0,38}:")
_TEMPLATE_SYNTAX = ("{{", "{%", "{#", "}}", "%}", "#}")


@dataclass(frozen=True)
class Production:
    """A toolbox call the search may append to a program whose value has a type in ``takes``."""

    call: Call
    takes: frozenset[str]


@dataclass(frozen=True)
class Mined:
    """Constants found in the feedback examples."""

    markers: tuple[str, ...] = ()
    prefix: str = ""
    suffix: str = ""
    separators: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()
    """The two distinct non-numeric expected answers, when there are exactly two."""


def mine(texts: Sequence[str], expected: Sequence[Any]) -> Mined:
    """Constants shared by every source text, and the answer vocabulary."""
    if not texts:
        return Mined()
    markers = [m for m in _markers(texts[0]) if all(m in t for t in texts[1:])]
    prefix = _word_prefix(texts) if len(texts) > 1 else ""
    suffix = _word_suffix(texts) if len(texts) > 1 else ""
    seps = tuple(s for s in SEPARATORS if all(s in t for t in texts))
    answers = sorted({str(e).strip() for e in expected if e is not None})
    vocab = tuple(answers) if len(answers) == 2 and not any(_numeric(a) for a in answers) else ()
    return Mined(
        markers=tuple(_safe(markers))[:MAX_MARKERS],
        prefix=prefix if _safe([prefix]) else "",
        suffix=suffix if _safe([suffix]) else "",
        separators=seps,
        vocabulary=vocab if _safe(vocab) else (),
    )


def _markers(text: str) -> list[str]:
    found: list[str] = []
    for m in _MARKER.finditer(text):
        marker = m.group(0).strip()
        tail = marker.rsplit(". ", 1)[-1]
        for cand in (marker, tail.split()[-1] if tail.split() else ""):
            if len(cand) > 1 and cand not in found:
                found.append(cand)
    return found


def _common_prefix(texts: Sequence[str]) -> str:
    first = min(texts, key=len)
    for i, ch in enumerate(first):
        if any(t[i] != ch for t in texts):
            return first[:i]
    return first


def _word_prefix(texts: Sequence[str]) -> str:
    common = _common_prefix(texts)
    cut = max(common.rfind(" "), common.rfind("\n"))
    return common[: cut + 1].strip() if cut >= 0 else ""


def _word_suffix(texts: Sequence[str]) -> str:
    reversed_common = _common_prefix([t[::-1] for t in texts])
    common = reversed_common[::-1]
    cut = min((i for i in (common.find(" "), common.find("\n")) if i >= 0), default=-1)
    return common[cut:].strip() if cut >= 0 else ""


def _numeric(text: str) -> bool:
    return re.fullmatch(NUMBER_PATTERN, text) is not None


def _safe(values: Sequence[str]) -> list[str]:
    """Constants that cannot be read as template syntax once written into a step's args."""
    return [v for v in values if not any(s in v for s in _TEMPLATE_SYNTAX)]


def _p(tool: str, arg: str, takes: str, **consts: Any) -> Production:
    return Production(Call(tool, arg, tuple(consts.items())), frozenset(takes.split()))


def productions(mined: Mined) -> list[Production]:
    """Every production for these constants, in a fixed order (cheap, general ones first)."""
    return [*_text_productions(mined), *_list_productions(mined), *_answer_productions(mined)]


def _text_productions(mined: Mined) -> list[Production]:
    out = [
        _p("parse_number", "text", "text"),
        _p("count_listed", "text", "text"),
        _p("logic", "expression", "text"),
        _p("arithmetic", "expression", "text"),
        _p("count", "text", "text", words=True),
        _p("regex_findall", "text", "text", pattern=NUMBER_PATTERN),
        _p("regex_findall", "text", "text", pattern=WORD_PATTERN),
        _p("sort", "text", "text"),
        _p("split", "text", "text"),
        _p("regex_split", "text", "text", pattern=CONJUNCTION_PATTERN),
    ]
    out += [_p("split", "text", "text", sep=s) for s in mined.separators]
    for marker in mined.markers:
        pattern = re.escape(marker) + r"\s*(.*)"
        out.append(_p("regex_extract", "text", "text", pattern=pattern, group=1))
    if mined.prefix:
        pattern = r"(?s)^" + re.escape(mined.prefix) + r"\s*(.*)$"
        out.append(_p("regex_extract", "text", "text", pattern=pattern, group=1))
    if mined.suffix:
        pattern = r"(?s)^(.*?)\s*" + re.escape(mined.suffix) + r"$"
        out.append(_p("regex_extract", "text", "text", pattern=pattern, group=1))
    out.append(_p("regex_extract", "text", "text", pattern=r"(?s)^(.*?)[.?!]?\s*$", group=1))
    out.append(_p("lower", "text", "text"))
    return out


def _list_productions(mined: Mined) -> list[Production]:
    out = [
        _p("count", "items", "list"),
        _p("sum", "items", "list"),
        _p("min", "items", "list"),
        _p("max", "items", "list"),
        _p("sort", "items", "list"),
        _p("sort", "items", "list", reverse=True),
        _p("unique", "items", "list"),
        _p("select", "items", "list", index=0),
        _p("select", "items", "list", index=-1),
        _p("join", "items", "list", sep=" "),
        _p("join", "items", "list", sep=", "),
        _p("filter", "items", "list", pattern=r"\d"),
        _p("filter", "items", "list", pattern=r"\d", invert=True),
    ]
    yes, no = (True, False) if not mined.vocabulary else _yes_no(mined.vocabulary)
    for op in ("<", ">", "==", "<=", ">=", "!="):
        out.append(_p("compare", "items", "list", op=op, yes=yes, no=no))
    return out


def _answer_productions(mined: Mined) -> list[Production]:
    """Map a boolean onto the two answers seen (``True`` → ``Yes``), both ways round."""
    if not mined.vocabulary:
        return []
    a, b = mined.vocabulary
    return [
        _p("compare", "a", "bool", b=True, op="==", yes=a, no=b),
        _p("compare", "a", "bool", b=True, op="==", yes=b, no=a),
    ]


def _yes_no(vocabulary: tuple[str, ...]) -> tuple[str, str]:
    """The affirmative answer first when one looks affirmative (Yes/True/valid...)."""
    a, b = vocabulary
    positive = {"yes", "true", "valid", "correct", "y", "t", "1", "right", "a"}
    return (b, a) if b.casefold() in positive and a.casefold() not in positive else (a, b)


def value_type(value: Any) -> str | None:
    """The grammar type of a computed value, or None for values no production takes."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "num"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list) and all(
        isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in value
    ):
        return "list"
    return None
