"""Structural rules: step ids, references between steps, cycles, steps that can never run."""

from __future__ import annotations

from collections.abc import Iterator

from evopipe.check.context import Context
from evopipe.check.graph import route_entries, scope_cycles, step_reads, visible
from evopipe.check.registry import Rule, example, with_fix
from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import ConditionError, Diagnostic
from evopipe.spec.kinds import SwitchStep
from evopipe.spec.loader import PathKey


def duplicate_step_id(ctx: Context) -> Iterator[Diagnostic]:
    """Two steps of one scope share an id."""
    for at in ctx.analysis.steps:
        first = at.scope.ids[at.step.id]
        if first != at.index:
            yield ctx.diag(
                "duplicate-step-id",
                f"step id {at.step.id!r} is already used by steps[{first}] in this scope",
                (*at.where, "id"),
                hint="give every step of a scope its own id",
            )


def unknown_step(ctx: Context) -> Iterator[Diagnostic]:
    """``needs``, a switch's ``then``/``default``, or a template names a step that does not
    exist."""
    for at in ctx.analysis.steps:
        for j, need in enumerate(at.step.needs):
            if not visible(at.scope, need):
                yield _unknown(ctx, need, (*at.where, "needs", j), "needs")
        if isinstance(at.step, SwitchStep):
            for target, where in route_entries(at.step, at.where):
                if target not in at.scope.ids:
                    yield _unknown(ctx, target, where, "switch routes to")
    for sr in step_reads(ctx):
        if sr.target not in ctx.analysis.all_ids:
            yield ctx.read_diag(
                "unknown-step",
                f"{sr.read.site.kind} reads steps.{sr.target}, but there is no step {sr.target!r}",
                sr.read,
                hint=_suggest(ctx, sr.target),
            )


def _unknown(ctx: Context, name: str, where: PathKey, what: str) -> Diagnostic:
    return ctx.diag(
        "unknown-step", f"{what} unknown step {name!r}", where, hint=_suggest(ctx, name)
    )


def _suggest(ctx: Context, name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(ctx.analysis.all_ids), n=1)
    return f"did you mean {close[0]!r}?" if close else "check the step ids"


def dag_cycle(ctx: Context) -> Iterator[Diagnostic]:
    """Steps depend on each other in a circle (through ``needs`` or switch routes)."""
    for scope in ctx.analysis.scopes:
        for ids, where in scope_cycles(ctx, scope):
            yield ctx.diag(
                "dag-cycle",
                "dependency cycle: " + " → ".join(ids),
                where,
                hint="remove one of these dependencies; steps must form a DAG",
            )


def unreachable_step(ctx: Context) -> Iterator[Diagnostic]:
    """A step can never run: its ``when`` is always false, or no switch case can route to it."""
    for at in ctx.analysis.steps:
        if at.step.when is not None and _constant(at.step.when) is False:
            yield ctx.diag(
                "unreachable-step",
                f"step {at.step.id!r} never runs: its condition is always false",
                (*at.where, "when"),
                hint="remove the step or give it a condition that can hold",
            )
        if isinstance(at.step, SwitchStep):
            yield from _dead_routes(ctx, at.step, at.where, at.scope.ids)


def _dead_routes(
    ctx: Context, step: SwitchStep, where: PathKey, ids: dict[str, int]
) -> Iterator[Diagnostic]:
    """Targets listed only under cases that can never be chosen (first true case wins)."""
    live: set[str] = set()
    dead: list[tuple[str, PathKey, str]] = []
    decided = False  # an earlier case is always true: nothing after it is chosen
    for i, case in enumerate(step.cases):
        value = _constant(case.when)
        why = "an earlier case always holds" if decided else "its condition is always false"
        chosen = not decided and value is not False
        for j, target in enumerate(case.then):
            if chosen:
                live.add(target)
            else:
                dead.append((target, (*where, "cases", i, "then", j), why))
        decided = decided or value is True
    for j, target in enumerate(step.default):
        if decided:
            dead.append((target, (*where, "default", j), "a case always holds"))
        else:
            live.add(target)
    seen: set[str] = set()
    for target, loc, why in dead:
        if target in live or target in seen or target not in ids:
            continue
        seen.add(target)
        yield ctx.diag(
            "unreachable-step",
            f"step {target!r} never runs: switch {step.id!r} never routes to it ({why})",
            loc,
            hint="fix the case conditions or remove the step",
        )


def _constant(text: str) -> bool | None:
    """True/False for a condition that reads nothing, else None (also when it does not parse)."""
    try:
        cond = parse_condition(text)
        if not cond.is_constant():
            return None
        return bool(cond.evaluate({}))
    except ConditionError:
        return None


RULES = (
    Rule(
        "duplicate-step-id",
        "Two steps of one scope share an id.",
        duplicate_step_id,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: poems
                steps:
                  - id: draft
                    kind: llm
                    prompt: Write a haiku about rain.
                  - id: draft
                    kind: llm
                    prompt: Write a limerick about rain.
                """,
                7,
                9,
            ),
            ("id: draft", "id: haiku"),
            ("id: draft", "id: limerick"),
        ),
    ),
    Rule(
        "unknown-step",
        "`needs`, a switch's `then`/`default`, or a template names a step that does not exist.",
        unknown_step,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: summarise
                steps:
                  - id: facts
                    kind: llm
                    prompt: List three facts about otters.
                  - id: summary
                    kind: llm
                    needs: [fatcs]
                    prompt: "Summarise: {{ steps.facts.output }}"
                """,
                9,
                13,
            ),
            ("needs: [fatcs]", "needs: [facts]"),
        ),
    ),
    Rule(
        "dag-cycle",
        "Steps depend on each other in a circle (through `needs` or switch routes).",
        dag_cycle,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: chicken-and-egg
                steps:
                  - id: chicken
                    kind: llm
                    needs: [egg]
                    prompt: Which came first?
                  - id: egg
                    kind: llm
                    needs: [chicken]
                    prompt: Which came second?
                """,
                10,
                13,
            ),
            ("    needs: [egg]\n", ""),
        ),
    ),
    Rule(
        "unreachable-step",
        "A step can never run: its `when` is always false, or no switch case can route to it.",
        unreachable_step,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: triage
                inputs:
                  text: {type: string}
                steps:
                  - id: route
                    kind: switch
                    cases:
                      - when: "true"
                        then: [answer]
                      - when: "len(inputs.text) > 500"
                        then: [summarise]
                  - id: answer
                    kind: llm
                    prompt: "Answer: {{ inputs.text }}"
                  - id: summarise
                    kind: llm
                    prompt: "Summarise: {{ inputs.text }}"
                """,
                12,
                16,
            ),
            ('      - when: "true"\n        then: [answer]\n', ""),
            ("then: [summarise]\n", "then: [summarise]\n    default: [answer]\n"),
        ),
    ),
)
