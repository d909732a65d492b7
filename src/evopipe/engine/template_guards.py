"""Bounds on what one template render may cost: time, loop iterations, output and widths.

Generated pipelines are untrusted, and their templates render on the run's event loop, so a
template must not be able to stall it or fill memory. Jinja's sandbox stops attribute escapes
and caps ``range`` at 100,000 items; it does not bound nested loops, padding widths or
growing strings. Here every render gets a :class:`RenderBudget` (a deadline and an iteration
count, in a context variable so that concurrent renders do not share one):

- every ``{% for %}`` loop counts its iterations (the template's syntax tree is rewritten so
  that each loop's iterable passes through :func:`counted`), and the deadline is checked as
  it goes — nested loops, even with empty bodies, end at the limit;
- a template's output is collected chunk by chunk and stops at :data:`MAX_RENDER_CHARS`;
- printf (``%``, ``|format``) and ``str.format`` widths and precisions, ``center``/``indent``
  widths, ``str.ljust``/``rjust``/``center``/``zfill``/``expandtabs`` widths and ``slice``
  counts are capped at :data:`MAX_TEMPLATE_WIDTH`; ``replace`` (filter or method), ``+`` and
  ``namespace`` values may not grow past :data:`MAX_RENDER_CHARS`; ``lipsum`` is gone.

- a value becomes text only if it comes to at most :data:`MAX_RENDER_CHARS` characters
  (:func:`text_weight`: strings' lengths summed through lists and mappings, counted before
  anything is built): ``~``, printing ``{{ x }}``, ``join`` (filter or method), ``tojson``,
  ``string`` and ``pprint`` check first, ``*`` checks what it would repeat, and an
  expression that builds a value (anything but a plain reference) checks its result — so
  ``{% set a = a ~ a %}`` repeated, or a list of a thousand references to one large value
  printed or joined, stops with an error instead of filling memory.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import (
    do_center,
    do_format,
    do_indent,
    do_pprint,
    do_replace,
    sync_do_join,
    sync_do_slice,
)
from jinja2.nodes import EvalContext
from jinja2.utils import Namespace

RENDER_SECONDS = 5.0
"""Wall time one template render may take."""
MAX_LOOP_ITERATIONS = 10_000_000
"""Loop iterations (all ``for`` loops together, nested ones included) in one render."""
MAX_RENDER_CHARS = 10_000_000
"""Characters one rendered template may produce; largest string ``replace`` or a
``namespace`` may hold."""
MAX_TEMPLATE_WIDTH = 10_000
"""Largest padding width or precision (``%``, ``format``, ``center``, ``indent``) and
``slice`` count."""

LOOP_HOOK = "evopipe_counted_loop"
"""The global every rewritten ``for`` loop calls on its iterable."""

_CHECK_EVERY = 32
"""Loop iterations (and output chunks) between two looks at the clock."""


class RenderBudget:
    """The time and iterations left to one render."""

    __slots__ = ("deadline", "iterations")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.iterations = 0

    def charge(self, n: int) -> None:
        self.iterations += n
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise SecurityError(f"loops ran over {MAX_LOOP_ITERATIONS} iterations (nested loops?)")
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise SecurityError(f"rendering took over {RENDER_SECONDS:g} s")


_current: ContextVar[RenderBudget | None] = ContextVar("evopipe_render_budget", default=None)


def guarded(render: Callable[[], Any]) -> Any:
    """Call ``render`` under a fresh :class:`RenderBudget`."""
    token = _current.set(RenderBudget())
    try:
        return render()
    finally:
        _current.reset(token)


def collect(chunks: Iterable[str]) -> str:
    """Join a template's output, stopping at :data:`MAX_RENDER_CHARS` or the deadline."""
    budget = _current.get()
    out: list[str] = []
    size = 0
    for i, chunk in enumerate(chunks):
        size += len(chunk)
        if size > MAX_RENDER_CHARS:
            raise SecurityError(f"the rendered text is over {MAX_RENDER_CHARS} characters")
        out.append(chunk)
        if budget is not None and i % _CHECK_EVERY == 0:
            budget.check_time()
    return "".join(out)


def join_text(chunks: Iterable[str]) -> str:
    """:func:`collect` without the clock, for a template with no loop (a fixed number of
    chunks, each already checked by :func:`finalize`)."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDER_CHARS:
            raise SecurityError(f"the rendered text is over {MAX_RENDER_CHARS} characters")
        out.append(chunk)
    return "".join(out)


def counted(iterable: Any) -> Iterator[Any]:
    """Iterate ``iterable``, charging the current render's budget."""
    budget = _current.get()
    if budget is None:
        yield from iterable
        return
    n = 0
    for item in iterable:
        n += 1
        if n == _CHECK_EVERY:
            budget.charge(n)
            n = 0
        yield item
    budget.charge(n)


def count_loops(tree: nodes.Template) -> nodes.Template:
    """Rewrite every ``for`` loop of ``tree`` to iterate through :func:`counted`."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(
            nodes.Name(LOOP_HOOK, "load", lineno=loop.lineno),
            [loop.iter],
            [],
            None,
            None,
            lineno=loop.lineno,
        )
    return tree


# -- sizes of values turned into text ---------------------------------------------------------


def text_weight(value: Any, limit: int = MAX_RENDER_CHARS) -> int:
    """About how many characters ``value`` comes to as text: strings' lengths, plus one per
    item, through lists, tuples, sets and mappings. Counting stops once past ``limit`` (so it
    costs at most about ``limit`` steps, and builds nothing)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, Mapping):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            stack.extend(item)
        else:
            total += 1
        if total > limit:
            break
    return total


def check_size(value: Any, what: str) -> Any:
    """``value``, if it comes to at most :data:`MAX_RENDER_CHARS` characters as text."""
    if not isinstance(value, (int, float)) and text_weight(value) > MAX_RENDER_CHARS:
        raise SecurityError(f"{what} would produce over {MAX_RENDER_CHARS} characters")
    return value


def bounded_concat(values: tuple[Any, ...]) -> str:
    """What ``a ~ b ~ c`` makes, refused over :data:`MAX_RENDER_CHARS` characters."""
    total = 0
    for value in values:
        total += text_weight(value, MAX_RENDER_CHARS - total)
        if total > MAX_RENDER_CHARS:
            raise SecurityError(f"'~' would produce over {MAX_RENDER_CHARS} characters")
    return "".join(map(str, values))


CONCAT_HOOK = "evopipe_bounded_concat"
"""The environment attribute the generated code calls for ``~``."""


class GuardedCodeGenerator(CodeGenerator):
    """Jinja's code generator with ``~`` going through :func:`bounded_concat`."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write(f"environment.{CONCAT_HOOK}((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def finalize(value: Any) -> Any:
    """Applied to every ``{{ x }}`` before it becomes text."""
    if type(value) is str:  # the usual case, and already text (printing it copies nothing)
        return value
    return check_size(value, "printing this value")


_PLAIN_REFERENCE = re.compile(
    r"""\s*[A-Za-z_]\w*(?:\s*(?:\.\s*\w+|\[\s*(?:\d+|'[^']*'|"[^"]*")\s*\]))*\s*"""
)


def is_plain_reference(expr: str) -> bool:
    """Whether an expression only names a value (``steps.a.output[0]``): it builds nothing."""
    return _PLAIN_REFERENCE.fullmatch(expr) is not None


# -- widths and sizes -----------------------------------------------------------------------

_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _too_wide(number: str | None) -> bool:
    return number is not None and number.isdigit() and int(number) > MAX_TEMPLATE_WIDTH


def _ints(values: Iterable[Any]) -> Iterator[int]:
    return (v for v in values if isinstance(v, int) and not isinstance(v, bool))


def check_printf(fmt: Any, args: Any) -> None:
    """Refuse a printf format whose width or precision is over :data:`MAX_TEMPLATE_WIDTH`."""
    if not isinstance(fmt, str):
        return
    starred = False
    for width, precision in _PRINTF.findall(fmt):
        if _too_wide(width) or _too_wide(precision):
            raise SecurityError(f"a format width over {MAX_TEMPLATE_WIDTH}")
        starred = starred or "*" in (width, precision)
    values = args if isinstance(args, tuple) else (args,)
    if starred and any(abs(v) > MAX_TEMPLATE_WIDTH for v in _ints(values)):
        raise SecurityError(f"a format width over {MAX_TEMPLATE_WIDTH}")


def check_str_format(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The same for ``str.format``: digits in a field's spec, or the arguments a nested spec
    (``{:{w}}``) takes its width from."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format itself will say what is wrong
    for _literal, _name, spec, _conversion in fields:
        if not spec:
            continue
        if any(int(d) > MAX_TEMPLATE_WIDTH for d in re.findall(r"\d+", spec)):
            raise SecurityError(f"a format width over {MAX_TEMPLATE_WIDTH}")
        nested = "{" in spec
        if nested and any(abs(v) > MAX_TEMPLATE_WIDTH for v in _ints([*args, *kwargs.values()])):
            raise SecurityError(f"a format width over {MAX_TEMPLATE_WIDTH}")


def _width(value: Any, what: str) -> None:
    too_long = isinstance(value, str) and len(value) > MAX_TEMPLATE_WIDTH
    if too_long or (isinstance(value, int) and abs(value) > MAX_TEMPLATE_WIDTH):
        raise SecurityError(f"{what} over {MAX_TEMPLATE_WIDTH}")


def _center(value: Any, width: int = 80) -> str:
    _width(width, "a center width")
    return do_center(value, width)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _width(width, "an indent width")
    return do_indent(s, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    check_printf(str(value), kwargs or args)
    return do_format(value, *args, **kwargs)


def _check_replace(text: str, old: str, new: str, count: int | None) -> None:
    hits = len(text) + 1 if not old else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > MAX_RENDER_CHARS:
        raise SecurityError(f"replace would produce over {MAX_RENDER_CHARS} characters")


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    _check_replace(str(s), str(old), str(new), count)
    return do_replace(eval_ctx, s, old, new, count)


_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


def check_call(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Check a call of a ``str`` method that pads (``ljust``, ``zfill``, …) or grows
    (``replace``) before it runs."""
    text = getattr(fn, "__self__", None)
    if not isinstance(text, str):
        return
    name = getattr(fn, "__name__", "")
    if name in _WIDTH_METHODS:
        for value in _ints([*args, *kwargs.values()]):
            _width(value, f"a {name} width")
    elif name == "join" and args:
        check_size(args[0], "join")
        parts = args[0]
        if isinstance(parts, (list, tuple)) and len(text) * len(parts) > MAX_RENDER_CHARS:
            raise SecurityError(f"join would produce over {MAX_RENDER_CHARS} characters")
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count")
        _check_replace(text, str(args[0]), str(args[1]), count)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    _width(slices, "a slice count")
    return sync_do_slice(value, slices, fill_with)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Any, d: str = "", attribute: Any = None) -> str:
    check_size(value, "join")
    if isinstance(value, (list, tuple)) and len(str(d)) * len(value) > MAX_RENDER_CHARS:
        raise SecurityError(f"join would produce over {MAX_RENDER_CHARS} characters")
    return sync_do_join(eval_ctx, value, d, attribute)


def _string(value: Any) -> str:
    return str(check_size(value, "string"))


def _pprint(value: Any) -> str:
    return do_pprint(check_size(value, "pprint"))


class BoundedNamespace(Namespace):
    """``namespace()`` whose values cannot grow past :data:`MAX_RENDER_CHARS` (a loop
    doubling ``ns.s ~ ns.s`` would otherwise fill memory in 40 iterations)."""

    def __setitem__(self, name: str, value: Any) -> None:
        if isinstance(value, (str, list, tuple)) and len(value) > MAX_RENDER_CHARS:
            raise SecurityError(f"a namespace value over {MAX_RENDER_CHARS} items")
        super().__setitem__(name, value)


FILTERS: dict[str, Callable[..., Any]] = {
    "center": _center,
    "indent": _indent,
    "format": _format,
    "replace": _replace,
    "slice": _slice,
    "join": _join,
    "string": _string,
    "pprint": _pprint,
}
"""Filters that replace Jinja's own, with their sizes checked first."""
