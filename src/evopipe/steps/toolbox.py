"""The deterministic toolbox behind the ``tool`` step kind.

A registered table (:data:`TOOLS`) of small pure functions with typed keyword arguments. They
never touch the file system, the network or the process, so the ``tool`` kind is allowed under
the untrusted policy; the evolve layer inserts them as structure mutations (an llm step extracts
the items, then ``tool: count`` counts them exactly).

Arguments are validated against each function's signature (pydantic ``validate_call``); an
unknown tool, a missing or mistyped argument, or a value a tool cannot handle raises
:class:`ToolError` naming the tool. Inputs are size-capped and regular expressions with nested
unbounded quantifiers are refused, so a tool cannot hang the run.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, ValidationError, validate_call

from evopipe.spec.errors import EvopipeError
from evopipe.steps.toolbox_listed import count_listed
from evopipe.steps.toolbox_logic import compare, logic, select

MAX_TEXT = 1_000_000
"""Longest string a tool accepts (characters)."""
MAX_PATTERN = 500
"""Longest regular expression a tool accepts."""

Number = int | float


class ToolError(EvopipeError):
    """A tool was misused or could not compute its result."""


# -- helpers ------------------------------------------------------------------------------------


def _text(value: str, name: str = "text") -> str:
    if len(value) > MAX_TEXT:
        raise ToolError(f"{name} is longer than {MAX_TEXT} characters")
    return value


_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(_text(text))


def _fold(value: Any, case_sensitive: bool) -> Any:
    return value if case_sensitive or not isinstance(value, str) else value.casefold()


def _as_number(value: Any) -> Number:
    if isinstance(value, bool):
        raise ToolError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return parse_number(value)
    raise ToolError(f"expected a number, got {type(value).__name__} {value!r:.60}")


def _tidy(value: Number) -> Number:
    """Integral floats become ints (``6/3`` → 2), so answers compare cleanly."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


# -- the tools ----------------------------------------------------------------------------------


def count(
    items: list[Any] | None = None,
    text: str | None = None,
    of: Any = None,
    words: bool = False,
    case_sensitive: bool = True,
) -> int:
    """Count exactly. Give ``items`` (a list) or ``text`` (a string).

    - ``items`` alone: the number of items.
    - ``items`` and ``of``: how many items equal ``of``.
    - ``text`` and ``of``: non-overlapping occurrences of the substring ``of``
      (``count(text="strawberry", of="r")`` → 3).
    - ``text`` and ``words=true``: the number of words (``of`` given too: occurrences of that
      whole word).
    - ``text`` alone: the number of characters.
    ``case_sensitive=false`` folds case before comparing.
    """
    if (items is None) == (text is None):
        raise ToolError("count needs exactly one of 'items' or 'text'")
    if items is not None:
        if of is None:
            return len(items)
        target = _fold(of, case_sensitive)
        return sum(1 for x in items if _fold(x, case_sensitive) == target)
    assert text is not None
    body = _fold(_text(text), case_sensitive)
    if words:
        found = _words(body)
        return len(found) if of is None else found.count(_fold(str(of), case_sensitive))
    if of is None:
        return len(body)
    needle = _fold(str(of), case_sensitive)
    if not needle:
        raise ToolError("count: 'of' must not be empty")
    return int(body.count(needle))


def sort(
    items: list[Any] | None = None,
    text: str | None = None,
    by: Literal["auto", "alpha", "number"] = "auto",
    reverse: bool = False,
    case_sensitive: bool = False,
) -> list[Any]:
    """Sort ``items`` (a list) or the words of ``text``.

    ``by=alpha`` sorts as strings (case-insensitively unless ``case_sensitive``), ``by=number``
    as numbers (numeric strings are parsed), ``by=auto`` as numbers when every item is one, else
    alphabetically. Ties keep their input order. ``reverse=true`` sorts descending.
    """
    if (items is None) == (text is None):
        raise ToolError("sort needs exactly one of 'items' or 'text'")
    values: list[Any] = list(items) if items is not None else _words(text or "")
    if by == "auto":
        by = "number" if values and all(_is_number(v) for v in values) else "alpha"
    if by == "number":
        keyed = [(_as_number(v), v) for v in values]
        keyed.sort(key=lambda kv: kv[0], reverse=reverse)
        return [v for _, v in keyed]
    return sorted(values, key=lambda v: _fold(str(v), case_sensitive), reverse=reverse)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and _NUMBER_FULL.fullmatch(value.strip()) is not None


def unique(items: list[Any], case_sensitive: bool = True) -> list[Any]:
    """Drop repeated items, keeping the first occurrence and the input order."""
    seen: list[Any] = []
    out: list[Any] = []
    hashed: set[Any] = set()
    for item in items:
        key = _fold(item, case_sensitive)
        try:
            if key in hashed:
                continue
            hashed.add(key)
        except TypeError:  # unhashable (dict, list): compare by value
            if key in seen:
                continue
            seen.append(key)
        out.append(item)
    return out


def arithmetic(expression: str) -> Number:
    """Evaluate a numeric expression with ``+ - * / ( )``, unary signs and decimals.

    Parsed by a tiny recursive-descent parser (never ``eval``): ``"(3 + 4) * 2 / 7"`` → 2.
    Division by zero, unknown characters and expressions over 1,000 characters or 100 levels
    of nesting raise an error. Integral results are returned as integers.
    """
    return _tidy(_Arith(expression).parse())


class _Arith:
    """Recursive descent over ``expr := term (('+'|'-') term)*``,
    ``term := unary (('*'|'/') unary)*``, ``unary := ('+'|'-') unary | atom``,
    ``atom := NUMBER | '(' expr ')'``."""

    _TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<op>[-+*/()]))")

    def __init__(self, text: str) -> None:
        if len(text) > 1000:
            raise ToolError("arithmetic: expression longer than 1000 characters")
        self.tokens: list[str] = []
        pos, text = 0, text.replace("\u00d7", "*").replace("\u00f7", "/").replace("\u2212", "-")
        while pos < len(text.rstrip()):
            m = self._TOKEN.match(text, pos)
            if m is None:
                raise ToolError(
                    f"arithmetic: unexpected character {text[pos:].strip()[:1]!r}"
                    f" at position {pos} in {text!r:.80}"
                )
            self.tokens.append(m.group("num") or m.group("op"))
            pos = m.end()
        self.pos = 0
        self.depth = 0

    def parse(self) -> Number:
        if not self.tokens:
            raise ToolError("arithmetic: empty expression")
        value = self._expr()
        if self.pos != len(self.tokens):
            raise ToolError(f"arithmetic: unexpected {self.tokens[self.pos]!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        tok = self._peek()
        if tok is None:
            raise ToolError("arithmetic: expression ends too early")
        self.pos += 1
        return tok

    def _expr(self) -> Number:
        value = self._term()
        while self._peek() in ("+", "-"):
            op, rhs = self._next(), self._term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def _term(self) -> Number:
        value = self._unary()
        while self._peek() in ("*", "/"):
            op, rhs = self._next(), self._unary()
            if op == "*":
                value = value * rhs
            elif rhs == 0:
                raise ToolError("arithmetic: division by zero")
            else:
                value = value / rhs
        return value

    def _unary(self) -> Number:
        if self._peek() in ("+", "-"):
            self._enter()
            sign = -1 if self._next() == "-" else 1
            value = sign * self._unary()
            self.depth -= 1
            return value
        return self._atom()

    def _atom(self) -> Number:
        tok = self._next()
        if tok == "(":
            self._enter()
            value = self._expr()
            if self._next() != ")":
                raise ToolError("arithmetic: missing ')'")
            self.depth -= 1
            return value
        if tok in "+-*/)":
            raise ToolError(f"arithmetic: unexpected {tok!r}")
        return float(tok) if "." in tok else int(tok)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > 100:
            raise ToolError("arithmetic: nesting deeper than 100 levels")


def sum_(items: list[Any]) -> Number:
    """Add up numbers (numeric strings such as ``"1,200"`` or ``"$3.50"`` are parsed)."""
    total: Number = 0
    for item in items:
        total += _as_number(item)
    return _tidy(total)


def check_pattern(pattern: str) -> re.Pattern[str]:
    if len(pattern) > MAX_PATTERN:
        raise ToolError(f"regular expression longer than {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"bad regular expression {pattern!r}: {exc}") from None
    if _nested_repeat(_SRE.parse(pattern).data, inside=False):
        raise ToolError(
            f"regular expression {pattern!r} nests unbounded quantifiers "
            "(it could take exponential time); simplify it"
        )
    return compiled


_SRE: Any = importlib.import_module("re._parser")
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _nested_repeat(items: Any, *, inside: bool) -> bool:
    """True when an unbounded repeat contains another unbounded repeat (``(a+)+``)."""
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            _lo, hi, sub = arg
            unbounded = hi == _SRE.MAXREPEAT or hi > 100
            if unbounded and inside:
                return True
            if _nested_repeat(sub, inside=inside or unbounded):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(arg[-1], inside=inside):
                return True
        elif name == "BRANCH":
            if any(_nested_repeat(alt, inside=inside) for alt in arg[1]):
                return True
        elif name in {"ASSERT", "ASSERT_NOT"} and _nested_repeat(arg[1], inside=inside):
            return True
    return False


def _pick(match: re.Match[str], group: int | str) -> str | None:
    try:
        return match.group(group)
    except IndexError:
        raise ToolError(f"no group {group!r} in the pattern") from None


def regex_extract(
    text: str, pattern: str, group: int | str = 0, default: str | None = None
) -> str | None:
    """The first match of ``pattern`` in ``text`` (``group`` selects a capture group by number
    or name); ``default`` when nothing matches (null unless given)."""
    m = check_pattern(pattern).search(_text(text))
    return default if m is None else _pick(m, group)


def regex_findall(text: str, pattern: str, group: int | str = 0) -> list[str | None]:
    """Every non-overlapping match of ``pattern`` in ``text``, as a list of strings
    (``group`` selects a capture group; at most 100,000 matches)."""
    out: list[str | None] = []
    for m in check_pattern(pattern).finditer(_text(text)):
        out.append(_pick(m, group))
        if len(out) >= 100_000:
            break
    return out


def split(
    text: str,
    sep: str | None = None,
    maxsplit: int = -1,
    strip: bool = True,
    drop_empty: bool = True,
) -> list[str]:
    """Split ``text`` on ``sep`` (any whitespace when null). Pieces are stripped and empty ones
    dropped unless ``strip``/``drop_empty`` are false (``"a, b,,c"`` on ``","`` → a, b, c)."""
    if sep == "":
        raise ToolError("split: 'sep' must not be empty (use null for whitespace)")
    parts = _text(text).split(sep, maxsplit)
    if strip:
        parts = [p.strip() for p in parts]
    return [p for p in parts if p] if drop_empty else parts


def regex_split(text: str, pattern: str, strip: bool = True, drop_empty: bool = True) -> list[str]:
    """Split ``text`` wherever ``pattern`` matches (``"a, b and c"`` on ``",\\s*|\\s+and\\s+"``
    → a, b, c). Pieces are stripped and empty ones dropped unless told otherwise."""
    parts = check_pattern(pattern).split(_text(text))
    pieces = [p.strip() if strip else p for p in parts if isinstance(p, str)]
    return [p for p in pieces if p] if drop_empty else pieces


def filter_(items: list[Any], pattern: str, invert: bool = False) -> list[Any]:
    """The items (as strings) in which ``pattern`` is found, in input order; ``invert=true``
    keeps the others (``filter(["a1", "b", "c2"], "\\d")`` → a1, c2)."""
    compiled = check_pattern(pattern)
    return [x for x in items if (compiled.search(str(x)) is None) == invert]


def join(items: list[Any], sep: str = " ") -> str:
    """Join items (converted to strings) with ``sep``."""
    return sep.join(x if isinstance(x, str) else json.dumps(x) for x in items)


def lower(text: str) -> str:
    """``text`` in lower case."""
    return _text(text).lower()


def upper(text: str) -> str:
    """``text`` in upper case."""
    return _text(text).upper()


def strip(text: str) -> str:
    """``text`` without leading and trailing whitespace."""
    return _text(text).strip()


_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(?P<body>.*?)\n?\s*```\s*$", re.DOTALL)


def json_parse(text: str) -> Any:
    """Parse JSON text (a surrounding Markdown code fence is removed first)."""
    body = _text(text)
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ToolError(
            f"json_parse: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def length(value: str | list[Any] | dict[str, Any]) -> int:
    """The number of characters of a string, items of a list or keys of a mapping."""
    return len(value)


_NUMBER = re.compile(r"[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_NUMBER_FULL = re.compile(
    r"[-+\u2212]?[$€£]?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?%?"
)


def parse_number(text: str) -> Number:
    """The first number written in ``text``: ``"The answer is 1,234.5."`` → 1234.5,
    ``"-7 apples"`` → -7. Thousands separators are removed; integers stay integers."""
    m = _NUMBER.search(_text(text))
    if m is None:
        raise ToolError(f"parse_number: no number in {text!r:.80}")
    raw = m.group(0).replace(",", "").replace("\u2212", "-")
    try:
        value: Number = int(raw) if re.fullmatch(r"[-+]?\d+", raw) else float(raw)
    except ValueError:
        raise ToolError(f"parse_number: cannot read {raw!r} as a number") from None
    return value


def minimum(items: list[Any]) -> Number:
    """The smallest number in ``items`` (numeric strings are parsed)."""
    if not items:
        raise ToolError("min of an empty list")
    return min(_as_number(x) for x in items)


def maximum(items: list[Any]) -> Number:
    """The largest number in ``items`` (numeric strings are parsed)."""
    if not items:
        raise ToolError("max of an empty list")
    return max(_as_number(x) for x in items)


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tool:
    """One toolbox entry: a name, its validated callable and its documentation."""

    name: str
    fn: Callable[..., Any]
    doc: str

    def __call__(self, args: dict[str, Any]) -> Any:
        try:
            return self.fn(**args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise ToolError(f"tool {self.name!r}: bad arguments: {problems}") from None
        except ToolError as exc:
            raise ToolError(f"tool {self.name!r}: {exc}") from None
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise ToolError(f"tool {self.name!r}: {exc}") from None


_CONFIG = ConfigDict(arbitrary_types_allowed=False)


def _tool(name: str, fn: Callable[..., Any]) -> Tool:
    return Tool(name, validate_call(config=_CONFIG)(fn), (fn.__doc__ or "").strip())


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        _tool("count", count),
        _tool("sort", sort),
        _tool("unique", unique),
        _tool("arithmetic", arithmetic),
        _tool("sum", sum_),
        _tool("min", minimum),
        _tool("max", maximum),
        _tool("regex_extract", regex_extract),
        _tool("regex_findall", regex_findall),
        _tool("split", split),
        _tool("regex_split", regex_split),
        _tool("filter", filter_),
        _tool("select", select),
        _tool("compare", compare),
        _tool("logic", logic),
        _tool("join", join),
        _tool("lower", lower),
        _tool("upper", upper),
        _tool("strip", strip),
        _tool("json_parse", json_parse),
        _tool("length", length),
        _tool("parse_number", parse_number),
        _tool("count_listed", count_listed),
    )
}
"""Tool name → tool. Names are what a ``tool`` step's ``tool:`` field says."""


def call_tool(name: str, args: dict[str, Any]) -> Any:
    """Run the tool ``name`` with keyword ``args``; :class:`ToolError` if unknown or misused."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"unknown tool {name!r}; known tools: {', '.join(sorted(TOOLS))}")
    return tool(args)
