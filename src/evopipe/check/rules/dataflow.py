"""Data-flow rules: templates and conditions parse, name only what exists, and read steps the
plan can order before them."""

from __future__ import annotations

from collections.abc import Iterator

from evopipe.check.context import Context, Read
from evopipe.check.contracts import Missing, missing_field, output_schema
from evopipe.check.graph import Edge, StepRead, explicit_deps, scope_cycles, step_reads
from evopipe.check.registry import Rule, edited, example, with_fix
from evopipe.check.scopes import Scope
from evopipe.spec.errors import Diagnostic

STEP_RECORD_FIELDS = frozenset(
    {"output", "status", "error", "attempts", "duration_ms", "cached", "input_tokens"}
    | {"output_tokens", "cost_usd", "id"}
)
"""What ``steps.<id>`` holds at run time (the engine's step record)."""
LOOP_FIELDS = frozenset({"iteration", "previous"})
JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace"})
_ONLY_INSIDE = {
    "item": "a map body (inner steps, `inputs` or `collect` of a map)",
    "index": "a map body (inner steps, `inputs` or `collect` of a map)",
    "loop": "a loop body (inner steps, `inputs` or `until` of a loop)",
    "outputs": "`collect`/`until` of a map or loop running a sub-pipeline",
}


def template_syntax(ctx: Context) -> Iterator[Diagnostic]:
    """A template does not parse (Jinja2 syntax)."""
    yield from _syntax(ctx, "template")


def condition_syntax(ctx: Context) -> Iterator[Diagnostic]:
    """A condition (`when`, `until`, a switch case) does not parse."""
    yield from _syntax(ctx, "condition")


def _syntax(ctx: Context, kind: str) -> Iterator[Diagnostic]:
    hint = (
        "conditions use ==, !=, <, <=, >, >=, and, or, not, in, field access and a few "
        "functions (see docs/format.md)"
        if kind == "condition"
        else "check the {{ ... }} and {% ... %} pairs"
    )
    for bad in ctx.bad_sites:
        if bad.site.kind == kind:
            at = ctx.locator.in_string(bad.site.where, bad.site.text, bad.index)
            yield ctx.diag(f"{kind}-syntax", bad.message, bad.site.where, hint=hint, at=at)


def template_unknown_ref(ctx: Context) -> Iterator[Diagnostic]:
    """A template or condition reads a name that is not defined where it is evaluated:
    an undeclared input, a step of another scope, an unknown root name."""
    for read in ctx.reads:
        problem = _unknown_ref(ctx, read)
        if problem is not None:
            message, hint = problem
            yield ctx.read_diag("template-unknown-ref", message, read, hint=hint)


def _unknown_ref(ctx: Context, read: Read) -> tuple[str, str] | None:
    ref, site = read.ref, read.site
    first = ref.path[0] if ref.path else None
    jinja_loop = ref.root == "loop" and "{%" in site.text
    if ref.root not in site.roots and ref.root not in JINJA_GLOBALS and not jinja_loop:
        if ref.root in _ONLY_INSIDE:
            return f"{ref.root!r} is only defined inside {_ONLY_INSIDE[ref.root]}", ""
        allowed = ", ".join(sorted(site.roots))
        return f"unknown name {ref.root!r}", f"templates may read: {allowed}"
    if ref.root == "inputs" and isinstance(first, str) and first not in site.pipeline.inputs:
        declared = ", ".join(sorted(site.pipeline.inputs)) or "none"
        return (
            f"input {first!r} is not declared",
            f"declare it under `inputs` (declared: {declared})",
        )
    loop_field = ref.root == "loop" and not jinja_loop and isinstance(first, str)
    if loop_field and first not in LOOP_FIELDS:
        return f"loop has no field {first!r}", "use loop.iteration or loop.previous"
    if ref.root == "steps" and isinstance(first, str):
        return _step_ref_problem(ctx, read, first)
    return None


def _step_ref_problem(ctx: Context, read: Read, step_id: str) -> tuple[str, str] | None:
    chain = read.site.chain
    if not any(step_id in scope.ids for scope, _ in chain):
        if step_id in ctx.analysis.all_ids:
            return (
                f"step {step_id!r} is not visible here (it belongs to another scope)",
                "a body sees its own steps and those of enclosing scopes; an inline "
                "sub-pipeline sees only its inputs",
            )
        return None  # unknown-step reports it
    if len(read.ref.path) > 1:
        field = read.ref.path[1]
        if field not in STEP_RECORD_FIELDS:
            return (
                f"steps.{step_id} has no field {field!r}",
                f"the step's result is steps.{step_id}.output"
                + (f".{field}" if isinstance(field, str) else f"[{field}]"),
            )
    return None


def template_field_not_in_contract(ctx: Context) -> Iterator[Diagnostic]:
    """A template reads `steps.x.output.y` (or `inputs.z.y`) but x's output contract (or z's
    schema) has no field y."""
    memo: dict[tuple[int, str, tuple[str | int, ...]], Missing] = {}
    for sr in step_reads(ctx):
        path = sr.read.ref.path
        if sr.scope is None or len(path) < 3 or path[1] != "output":
            continue
        step = sr.scope.steps[sr.scope.ids[sr.target]]
        schema = output_schema(ctx, step)
        if schema is None:
            continue
        memo_key = (id(sr.scope), sr.target, path[2:])
        if memo_key not in memo:
            memo[memo_key] = missing_field(schema, path[2:])
        missing = memo[memo_key]
        if missing is not None:
            prefix = _dotted(f"steps.{sr.target}.output", missing[0])
            yield ctx.read_diag(
                "template-field-not-in-contract",
                f"{prefix} {missing[1]}",
                sr.read,
                hint=f"add the field to the output contract of {sr.target!r} or fix the name",
            )
    for read in ctx.reads:
        path = read.ref.path
        if read.ref.root != "inputs" or len(path) < 2 or not isinstance(path[0], str):
            continue
        schema = read.site.pipeline.inputs.get(path[0])
        missing = missing_field(schema, path[1:]) if isinstance(schema, dict) else None
        if missing is not None:
            prefix = _dotted(f"inputs.{path[0]}", missing[0])
            yield ctx.read_diag(
                "template-field-not-in-contract",
                f"{prefix} {missing[1]}",
                read,
                hint=f"add the field to the schema of input {path[0]!r} or fix the name",
            )


def _dotted(head: str, path: tuple[str | int, ...]) -> str:
    return head + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def undeclared_dependency(ctx: Context) -> Iterator[Diagnostic]:
    """A template or condition reads a step the plan cannot run before it: the reader itself,
    or a step that (through `needs`, switch routes or other reads) depends on the reader.

    Reads of any other step are fine: the planner adds them as dependencies (see
    docs/decisions/0001-format-v1.md)."""
    by_scope: dict[int, list[StepRead]] = {}
    for sr in step_reads(ctx):
        if sr.scope is not None and sr.reader is not None:
            by_scope.setdefault(id(sr.scope), []).append(sr)
    for scope in ctx.analysis.scopes:
        reads = by_scope.get(id(scope), [])
        if reads:
            yield from _cycles_through_reads(ctx, scope, reads)


def _cycles_through_reads(
    ctx: Context, scope: Scope, reads: list[StepRead]
) -> Iterator[Diagnostic]:
    """Add implied edges in file order; an edge that would close a cycle is reported."""
    deps = explicit_deps(ctx, scope)
    if scope_cycles(ctx, scope):
        return  # dag-cycle reports the written cycle; implied edges add nothing clear
    pos = scope.ids
    forward = all(pos[d] < pos[s] for s, edges in deps.items() for d, _ in edges)
    if forward and all(pos[sr.target] < pos[sr.reader] for sr in reads if sr.reader):
        return  # every dependency points back in the file: no cycle is possible
    ancestors = _ancestors(deps, pos)
    for sr in reads:
        reader = sr.reader
        assert reader is not None
        bit = 1 << pos[reader]
        if reader == sr.target or ancestors[sr.target] & bit:
            what = "its own output" if reader == sr.target else f"steps.{sr.target}"
            yield ctx.read_diag(
                "undeclared-dependency",
                f"step {reader!r} reads {what}, which cannot run before it"
                + ("" if reader == sr.target else f" ({sr.target!r} depends on {reader!r})"),
                sr.read,
                hint="a step may read only steps that can run before it",
            )
            continue
        add = ancestors[sr.target] | (1 << pos[sr.target])
        for sid, anc in ancestors.items():
            if sid == reader or anc & bit:
                ancestors[sid] = anc | add


def _ancestors(deps: dict[str, list[Edge]], pos: dict[str, int]) -> dict[str, int]:
    """Bitmask of every transitive dependency of each step (graph known to be acyclic)."""
    out: dict[str, int] = {}

    def visit(sid: str) -> int:
        if sid in out:
            return out[sid]
        stack = [sid]
        while stack:
            top = stack[-1]
            pending = [d for d, _ in deps[top] if d not in out]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            mask = 0
            for d, _ in deps[top]:
                mask |= out[d] | (1 << pos[d])
            out[top] = mask
        return out[sid]

    for sid in deps:
        visit(sid)
    return out


_GREET = example(
    """
    apiVersion: evopipe/v1
    name: greet
    inputs:
      who: {type: string}
    steps:
      - id: greet
        kind: llm
        prompt: "Say hello to {{ inputs.who }}"
    """
)
"""The good example the template and condition rules' mistakes are made in."""

RULES = (
    Rule(
        "template-syntax",
        "A template does not parse (Jinja2 syntax).",
        template_syntax,
        edited(_GREET, ("{{ inputs.who }}", "{{ inputs.who }"), line=8, column=14),
        _GREET,
    ),
    Rule(
        "condition-syntax",
        "A condition (`when`, `until`, a switch case) does not parse.",
        condition_syntax,
        *with_fix(
            edited(
                _GREET,
                ("kind: llm\n", 'kind: llm\n    when: inputs.who = "Ada"\n'),
                line=8,
                column=22,
            ),
            ("inputs.who = ", "inputs.who == "),
        ),
    ),
    Rule(
        "template-unknown-ref",
        "A template or condition reads a name that is not defined where it is evaluated: "
        "an undeclared input, a step of another scope, an unknown root name.",
        template_unknown_ref,
        edited(_GREET, ("{{ inputs.who }}", "{{ inputs.name }}"), line=8, column=30),
        _GREET,
    ),
    Rule(
        "template-field-not-in-contract",
        "A template reads `steps.x.output.y` (or `inputs.z.y`) but x's output contract "
        "(or z's schema) has no field y.",
        template_field_not_in_contract,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: triage
                inputs:
                  text: {type: string}
                steps:
                  - id: classify
                    kind: extract
                    prompt: "Classify this issue: {{ inputs.text }}"
                    output:
                      schema:
                        type: object
                        properties:
                          label: {type: string, enum: [bug, feature]}
                        required: [label]
                  - id: reply
                    kind: llm
                    prompt: "Reply to a {{ steps.classify.output.category }} report."
                """,
                17,
                28,
            ),
            (
                'prompt: "Reply to a {{ steps.classify.output.category }} report."',
                'prompt: "Reply to a {{ steps.classify.output.label }} report."',
            ),
        ),
    ),
    Rule(
        "undeclared-dependency",
        "A template or condition reads a step that cannot run before it: itself, or a step "
        "that depends on the reader (the implied dependency would close a cycle).",
        undeclared_dependency,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: essay
                steps:
                  - id: outline
                    kind: llm
                    prompt: "Outline an essay like this one: {{ steps.essay.output }}"
                  - id: essay
                    kind: llm
                    needs: [outline]
                    prompt: "Write the essay: {{ steps.outline.output }}"
                """,
                6,
                49,
            ),
            (
                'prompt: "Outline an essay like this one: {{ steps.essay.output }}"',
                "prompt: Outline an essay about tides.",
            ),
        ),
    ),
)
