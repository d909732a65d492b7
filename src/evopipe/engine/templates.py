"""Rendering templates in Jinja2's immutable sandbox, with ``StrictUndefined``.

An unresolved reference is an error, never an empty string. A string that is exactly one
``{{ expr }}`` keeps the JSON type of its value (a list stays a list). Compiled templates are
cached per :class:`Renderer` (one per run tree), so a template used by a 1,000-item map is
compiled once. Every render is bounded in time, loop iterations, output and widths
(:mod:`evopipe.engine.template_guards`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from evopipe.engine.template_guards import (
    FILTERS,
    LOOP_HOOK,
    MAX_RENDER_CHARS,
    BoundedNamespace,
    GuardedCodeGenerator,
    bounded_concat,
    check_call,
    check_printf,
    check_size,
    check_str_format,
    collect,
    count_loops,
    counted,
    finalize,
    guarded,
    is_plain_reference,
    join_text,
    text_weight,
)
from evopipe.spec.errors import TemplateError
from evopipe.spec.templates import single_expression

Compiled = Callable[[Mapping[str, Any]], Any]


def _tojson(value: Any) -> str:
    return json.dumps(check_size(value, "tojson"), ensure_ascii=False, default=str)


class _DataEnvironment(ImmutableSandboxedEnvironment):
    """Pipeline data is JSON: ``inputs.items`` / ``x.values`` mean the keys, not the dict
    methods of the same names. Mapping keys win over attributes for dotted access."""

    # ``*``, ``**``, ``+`` and ``%`` go through :meth:`call_binop` (this also stops Jinja from
    # folding ``[0] * 10**9`` into a constant at compile time), so a template cannot build
    # huge values.
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = GuardedCodeGenerator

    def evopipe_bounded_concat(self, values: tuple[Any, ...]) -> str:
        return bounded_concat(values)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "+":
            _check_concat(left, right)
        elif operator == "%":
            check_printf(left, right)
        try:
            return super().call_binop(context, operator, left, right)
        except OverflowError as exc:
            raise SecurityError(f"'{operator}' overflowed: {exc}") from None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return count_loops(super()._parse(source, name, filename))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        by_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if by_map and args and isinstance(args[0], Mapping):
                check_str_format(fmt, (), dict(args[0]))
            else:
                check_str_format(fmt, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        check_call(obj, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)


MAX_TEMPLATE_VALUE = 1_000_000
"""Most characters or items a template's ``*`` may produce; most bits a ``**`` may produce."""


def _check_repeat(seq: Any, times: Any) -> None:
    sized = isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int)
    if sized and len(seq) * times > MAX_TEMPLATE_VALUE:
        raise SecurityError(
            f"repetition would produce {len(seq) * times} items "
            f"(templates may build at most {MAX_TEMPLATE_VALUE})"
        )
    if sized and isinstance(seq, (list, tuple)) and times > 0:
        _check_repeated_text(seq, times)


def _check_repeated_text(seq: list[Any] | tuple[Any, ...], times: int) -> None:
    if text_weight(seq, MAX_RENDER_CHARS // times) * times > MAX_RENDER_CHARS:
        raise SecurityError(f"repetition would produce over {MAX_RENDER_CHARS} characters")


def _check_concat(left: Any, right: Any) -> None:
    sized = isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple))
    if sized and len(left) + len(right) > MAX_RENDER_CHARS:
        raise SecurityError(f"'+' would produce over {MAX_RENDER_CHARS} items")


def _check_power(base: Any, exponent: Any) -> None:
    ints = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if ints and exponent * base.bit_length() > MAX_TEMPLATE_VALUE:
        raise SecurityError(f"'**' would produce over {MAX_TEMPLATE_VALUE} bits")


def make_environment() -> ImmutableSandboxedEnvironment:
    env = _DataEnvironment(undefined=StrictUndefined, autoescape=False, finalize=finalize)
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    env.filters.update(FILTERS)
    env.globals[LOOP_HOOK] = counted
    env.globals["namespace"] = BoundedNamespace
    env.globals.pop("lipsum", None)
    return env


def has_template(value: Any) -> bool:
    """Whether a (nested) value contains a template string."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_template(v) for v in value)
    return False


class Renderer:
    """Compiles and caches templates; renders nested values against a namespace."""

    __slots__ = ("_cache", "_env", "_static")

    def __init__(self) -> None:
        self._env = make_environment()
        self._cache: dict[str, Compiled] = {}
        self._static: dict[int, tuple[Any, bool]] = {}

    def _is_static(self, value: Any) -> bool:
        """Whether a dict/list (from a frozen spec) holds no template; memoised by identity."""
        hit = self._static.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        static = not has_template(value)
        if len(self._static) > 50_000:
            self._static.clear()
        self._static[id(value)] = (value, static)
        return static

    def compile(self, text: str) -> Compiled:
        fn = self._cache.get(text)
        if fn is None:
            fn = self._compile(text)
            self._cache[text] = fn
        return fn

    def _compile(self, text: str) -> Compiled:
        try:
            expr = single_expression(text)
            if expr is not None:
                compiled_expr = self._env.compile_expression(expr, undefined_to_none=False)

                builds = not is_plain_reference(expr)

                def run_expr(ns: Mapping[str, Any]) -> Any:
                    value = compiled_expr(**ns)  # no loops: nothing to count
                    if isinstance(value, Undefined):
                        str(value)  # raises UndefinedError with the missing name
                    if builds:  # a value the expression made (a reference is already there)
                        check_size(value, "this expression")
                    return value

                return run_expr
            template = self._env.from_string(text)
            if "{%" not in text or "for" not in text:  # no loop: nothing to count or time
                return lambda ns: join_text(template.generate(ns))
            return lambda ns: guarded(lambda: collect(template.generate(ns)))
        except JinjaTemplateError as exc:
            raise TemplateError(f"template syntax error: {exc}") from None

    def render(self, value: Any, namespace: Mapping[str, Any], where: str = "") -> Any:
        """Render every template inside ``value``; errors name ``where`` (``prompt``,
        ``values.title``)."""
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value:
                return value
            try:
                return self.compile(value)(namespace)
            except TemplateError as exc:
                raise TemplateError(f"{where or 'template'}: {exc}") from None
            except UndefinedError as exc:
                raise TemplateError(f"{where or 'template'}: undefined: {exc.message}") from None
            except SecurityError as exc:
                raise TemplateError(f"{where or 'template'}: not allowed: {exc}") from None
            except JinjaTemplateError as exc:
                raise TemplateError(f"{where or 'template'}: {exc}") from None
            except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
                raise TemplateError(f"{where or 'template'}: {type(exc).__name__}: {exc}") from None
        if isinstance(value, (dict, list, tuple)) and self._is_static(value):
            return value
        if isinstance(value, dict):
            return {
                k: self.render(v, namespace, f"{where}.{k}" if where else str(k))
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.render(v, namespace, f"{where}[{i}]") for i, v in enumerate(value)]
        return value
