"""A template render is bounded: nested loops, padding widths, growing strings and slow loop
bodies end with a clear error (and quickly) instead of stalling the run's event loop or
filling memory; ordinary templates render as before."""

from __future__ import annotations

import time

import pytest

from evopipe.engine import template_guards
from evopipe.engine.templates import Renderer
from evopipe.spec.errors import TemplateError

BIG = "{% set a = 'x' * 1000000 %}"
REFS = "[" + ", ".join(["a"] * 100) + "]"
"""A hundred references to one large string: nothing is copied until it becomes text."""

REFUSED = {
    "nested range loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "loops ran over",
    ),
    "nested loops over data": (
        "{% for x in xs %}{% for y in xs %}{% for z in xs %}{% endfor %}{% endfor %}{% endfor %}",
        "loops ran over",
    ),
    "printf width": ("{{ '%999999999s' % 'x' }}", "format width"),
    "printf star width": ("{{ '%*s' % (999999999, 'x') }}", "format width"),
    "printf precision": ("{{ '%.999999f' % 1.5 }}", "format width"),
    "format filter width": ("{{ '%0999999d'|format(1) }}", "format width"),
    "str.format width": ("{{ '{:>999999999}'.format('x') }}", "format width"),
    "str.format nested width": ("{{ '{:>{w}}'.format('x', w=999999999) }}", "format width"),
    "str.format positional nested width": (
        "{{ '{0:{1}}'.format('x', 999999999) }}",
        "format width",
    ),
    "format_map width": ("{{ '{a:>999999}'.format_map({'a': 1}) }}", "format width"),
    "center": ("{{ 'x'|center(999999999) }}", "center width"),
    "str.ljust": ("{{ 'x'.ljust(10**9) }}", "ljust width"),
    "str.zfill": ("{{ '1'.zfill(10**9) }}", "zfill width"),
    "str.expandtabs": ("{{ 'a\\tb'.expandtabs(10**9) }}", "expandtabs width"),
    "str.replace": (BIG + "{{ a.replace('x', a) }}", "replace would produce"),
    "indent": ("{{ 'x'|indent(999999999) }}", "indent width"),
    "slice": ("{{ [1]|slice(999999999)|list }}", "slice count"),
    "replace growth": (BIG + "{{ a|replace('x', a) }}", "replace would produce"),
    "doubling a namespace": (
        "{% set ns = namespace(s='xxxxxxxxxx') %}"
        "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "'~' would produce",
    ),
    "doubling a namespace with +": (
        "{% set ns = namespace(s=[1, 2, 3, 4, 5]) %}"
        "{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        "'\\+' would produce",
    ),
    "doubling by set": (BIG + "{% set a = a ~ a %}" * 25, "'~' would produce"),
    "one ~ of many large values": ("{{ " + " ~ ".join(["big"] * 200) + " }}", "'~' would"),
    "printing a list of references": (BIG + "{{ " + REFS + " }}", "printing this value"),
    "join filter": (BIG + "{{ " + REFS + "|join }}", "join would produce"),
    "join method": (BIG + "{{ ''.join(" + REFS + ") }}", "join would produce"),
    "join separator": ("{{ xs|join(big) }}", "join would produce"),
    "tojson": (BIG + "{{ " + REFS + "|tojson }}", "tojson would produce"),
    "string filter": (BIG + "{{ (" + REFS + ")|string }}", "string would produce"),
    "repeating a list": (BIG + "{{ ([a] * 100)|length }}", "repetition would produce"),
    "an expression building a value": (
        "{{ " + REFS.replace("a", "big") + " }}",
        "this expression would produce",
    ),
    "output of prints": ("{{ big }}{{ big }}", "rendered text is over"),
    "concatenation": ("{{ big + big }}", "'\\+' would produce"),
    "output": (BIG + "{% for i in range(100) %}{{ a }}{% endfor %}", "rendered text is over"),
}


@pytest.mark.parametrize(("template", "error"), REFUSED.values(), ids=REFUSED.keys())
def test_costly_templates_are_refused_quickly_with_what_was_too_much(
    template: str, error: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError, match=f"prompt: not allowed: .*{error}"):
        Renderer().render(template, {"xs": list(range(1000)), "big": "x" * 6_000_000}, "prompt")
    assert time.perf_counter() - started < template_guards.RENDER_SECONDS


def test_lipsum_is_gone() -> None:
    with pytest.raises(TemplateError, match="'lipsum' is undefined"):
        Renderer().render("{{ lipsum(1000000) }}", {}, "prompt")


def test_a_slow_loop_stops_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_guards, "RENDER_SECONDS", 0.2)
    slow = "{% for i in range(100000) %}{% if ('x' * 999999)|length > 5 %}{% endif %}{% endfor %}"
    started = time.perf_counter()
    with pytest.raises(TemplateError, match=r"rendering took over 0\.2 s"):
        Renderer().render(slow, {}, "prompt")
    assert time.perf_counter() - started < 2.0


def test_each_render_has_its_own_budget() -> None:
    r = Renderer()
    loop = "{% for i in range(100000) %}{% for j in range(50) %}{% endfor %}{% endfor %}"
    for _ in range(3):  # 5,000,000 iterations each: under the limit every time
        assert r.render(loop, {}, "p") == ""


def test_ordinary_templates_render_as_before() -> None:
    r = Renderer()
    ns = {"xs": [1, 2, 3], "name": "ana"}
    assert r.render("{% for x in xs %}{{ x }},{% endfor %}", ns, "p") == "1,2,3,"
    assert r.render("{{ 'a%5sb' % name }}", ns, "p") == "a  anab"
    assert r.render("{{ '{:>5}|{:.2f}'.format(name, 1.234) }}", ns, "p") == "  ana|1.23"
    assert r.render("{{ name|center(7) }}", ns, "p") == "  ana  "
    assert r.render("{{ 'a\nb'|indent(2) }}", ns, "p") == "a\n  b"
    assert r.render("{{ xs|slice(2)|list }}", ns, "p") == [[1, 2], [3]]
    assert r.render("{{ name|replace('a', 'A') }}", ns, "p") == "AnA"
    assert r.render("{{ name.replace('a', 'A', 1) ~ name.rjust(5, '.') }}", ns, "p") == "Ana..ana"
    assert r.render("{{ '7'.zfill(3) }}", ns, "p") == "007"
    assert r.render("{{ 'hi %s'|format(name) }}", ns, "p") == "hi ana"
    assert r.render("{{ xs + [4] }}", ns, "p") == [1, 2, 3, 4]
    assert r.render("{{ 7 % 3 }}", ns, "p") == 1
    assert (
        r.render("{{ xs|join(', ') ~ ' ' ~ ', '.join(['a', name]) }}", ns, "p") == "1, 2, 3 a, ana"
    )
    assert (
        r.render("{{ xs|tojson }} {{ xs|string }} {{ xs }}", ns, "p")
        == "[1, 2, 3] " * 2 + "[1, 2, 3]"
    )
    assert r.render("{{ [name, name] }}", ns, "p") == ["ana", "ana"]
    assert r.render("{{ ([name] * 3)|length }}", ns, "p") == 3
    counter = (
        "{% set ns = namespace(total=0) %}"
        "{% for x in xs %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}"
    )
    assert r.render(counter, ns, "p") == "6"
    nested = "{% for x in xs %}{% for y in xs if y > x %}{{ x }}{{ y }} {% endfor %}{% endfor %}"
    assert r.render(nested, ns, "p") == "12 13 23 "
