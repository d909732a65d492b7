"""Deterministic repairs: pure functions (raw document, diagnostics) → (new document, notes).

They run before the model is asked again, in table order; each returns the document unchanged
(and no notes) when it has nothing to fix, so running all of them is always safe. A repair
only acts where the fix is unambiguous.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evopipe.genesis import contracts
from evopipe.genesis.dataflow import (
    CONDITION_KEYS,
    Raw,
    all_steps,
    input_refs,
    output_reads,
    scopes,
    step_ids,
    step_list,
    step_reads,
)
from evopipe.genesis.graph import break_unrequired_cycles
from evopipe.genesis.keys import drop_unknown
from evopipe.spec.catalog import is_prompted, kind_info
from evopipe.spec.errors import Diagnostic

RepairFn = Callable[[Raw, Sequence[Diagnostic]], tuple[Raw, list[str]]]


@dataclass(frozen=True)
class Repair:
    """A registered repair: its name, the checker rules it addresses, and the function."""

    name: str
    rules: tuple[str, ...]
    fn: RepairFn
    doc: str


REPAIRS: dict[str, Repair] = {}


def repair(name: str, *rules: str) -> Callable[[RepairFn], RepairFn]:
    """Register a repair function under ``name`` (decorator)."""

    def wrap(fn: RepairFn) -> RepairFn:
        REPAIRS[name] = Repair(name, rules, fn, (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return wrap


@dataclass(frozen=True)
class Applied:
    """What one repair changed."""

    repair: str
    notes: list[str]


def apply_repairs(data: Raw, diagnostics: Sequence[Diagnostic] = ()) -> tuple[Raw, list[Applied]]:
    """Run every registered repair in order; the input is never modified."""
    current = copy.deepcopy(data)
    applied: list[Applied] = []
    for item in REPAIRS.values():
        current, notes = item.fn(current, diagnostics)
        if notes:
            applied.append(Applied(item.name, notes))
    return current, applied


_NAME_OK = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_ID_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def slug(text: str, default: str = "generated") -> str:
    """A valid pipeline name from free text."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    name = "-".join(words)[:60].strip("-")
    return name if name and _NAME_OK.match(name) else default


def ident(text: str, default: str = "step") -> str:
    """A valid step id from free text."""
    out = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")[:40]
    if not out:
        return default
    return out if _ID_OK.match(out) else f"s_{out}"


@repair("normalise-document", "missing-field", "bad-type")
def normalise_document(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Fill apiVersion/kind, make the name and step ids valid identifiers, wrap lone needs."""
    notes: list[str] = []
    if data.get("apiVersion") != "evopipe/v1":
        data["apiVersion"] = "evopipe/v1"
        notes.append("set apiVersion: evopipe/v1")
    if data.get("kind") != "Pipeline":
        data["kind"] = "Pipeline"
        notes.append("set kind: Pipeline")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME_OK.match(name) or len(name) > 100:
        data["name"] = slug(str(name or data.get("description") or ""))
        notes.append(f"renamed the pipeline to {data['name']!r}")
    for i, step in enumerate(all_steps(data)):
        sid = step.get("id")
        if not isinstance(sid, str) or not _ID_OK.match(sid):
            step["id"] = ident(str(sid or ""), f"step_{i + 1}")
            notes.append(f"step id {sid!r} → {step['id']!r}")
        if isinstance(step.get("needs"), str):
            step["needs"] = [step["needs"]]
            notes.append(f"{step['id']}: needs made a list")
        if kind_info(str(step.get("kind"))) is None and isinstance(step.get("prompt"), str):
            notes.append(f"{step['id']}: unknown kind {step.get('kind')!r} → 'extract'")
            step["kind"] = "extract"
    return data, notes


DEFAULT_LIMITS = {"max_tokens": 40000, "timeout_s": 600}


@repair("add-description-and-budget", "description-required", "budget-required")
def add_description_and_budget(
    data: Raw, diagnostics: Sequence[Diagnostic]
) -> tuple[Raw, list[str]]:
    """Generated pipelines must say what they do and bound their cost: fill ``description``
    (from the request) and ``limits.max_tokens`` when absent."""
    notes: list[str] = []
    if not str(data.get("description") or "").strip():
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        data["description"] = str((meta or {}).get("request") or data.get("name") or "")[:300]
        notes.append("added a description")
    raw_limits = data.get("limits")
    limits: dict[str, object] = raw_limits if isinstance(raw_limits, dict) else {}
    if limits.get("max_tokens") is None and limits.get("max_cost_usd") is None:
        data["limits"] = {**limits, **{k: v for k, v in DEFAULT_LIMITS.items() if k not in limits}}
        notes.append(f"added limits.max_tokens: {DEFAULT_LIMITS['max_tokens']}")
    return data, notes


@repair("drop-unknown-keys", "unknown-key")
def drop_unknown_keys(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Remove keys the format does not know (everywhere, inner steps included)."""
    notes = drop_unknown(data)
    return data, [f"dropped unknown key {where}" for where in notes]


@repair("drop-persona-tools", "persona-tools-unsupported")
def drop_persona_tools(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Remove ``personas.*.tools``: no step kind gives them to the model."""
    personas = data.get("personas")
    notes: list[str] = []
    for name, persona in personas.items() if isinstance(personas, dict) else ():
        if isinstance(persona, dict) and "tools" in persona:
            del persona["tools"]
            notes.append(f"personas.{name}: dropped tools (unsupported)")
    return data, notes


@repair("strip-condition-braces", "condition-syntax")
def strip_condition_braces(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Conditions are expressions, not templates: strip ``{{ }}`` around them."""
    notes: list[str] = []

    def strip(value: str) -> str:
        return re.sub(r"^\s*{{\s*(.*?)\s*}}\s*$", r"\1", value, flags=re.DOTALL)

    for step in all_steps(data):
        for key in CONDITION_KEYS:
            value = step.get(key)
            if isinstance(value, str) and "{{" in value and strip(value) != value:
                step[key] = strip(value)
                notes.append(f"{step.get('id')}.{key}: stripped {{{{ }}}}")
        cases = step.get("cases")
        for case in cases if isinstance(cases, list) else []:
            value = case.get("when") if isinstance(case, dict) else None
            if isinstance(value, str) and "{{" in value and strip(value) != value:
                case["when"] = strip(value)
                notes.append(f"{step.get('id')}.cases.when: stripped {{{{ }}}}")
    return data, notes


@repair("rename-duplicate-ids", "duplicate-step-id")
def rename_duplicate_ids(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Rename the second and later steps sharing an id (``x`` → ``x_2``); redirect a read of
    ``steps.x.output.f`` to the renamed step only when just that step's contract has ``f``."""
    notes: list[str] = []
    for steps in scopes(data):
        seen: dict[str, Raw] = {}
        taken = set(step_ids(steps))
        for step in steps:
            sid = step.get("id")
            if not isinstance(sid, str):
                continue
            if sid not in seen:
                seen[sid] = step
                continue
            n = 2
            while f"{sid}_{n}" in taken:
                n += 1
            new = f"{sid}_{n}"
            taken.add(new)
            step["id"] = new
            notes.append(f"duplicate id {sid!r} → {new!r}")
            notes += contracts.redirect_reads(data, steps, sid, seen[sid], step)
    return data, notes


@repair("fix-unknown-step-refs", "unknown-step", "template-unknown-ref")
def fix_unknown_step_refs(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Point ``steps.typo`` / ``needs: [typo]`` at the one existing id it closely matches; drop
    ``needs`` entries that match nothing."""
    notes: list[str] = []
    for steps in scopes(data):
        ids = step_ids(steps)
        outer = set(step_ids(step_list(data.get("steps"))))
        known = set(ids) | outer
        for step in steps:
            needs = step.get("needs")
            if isinstance(needs, list):
                kept: list[object] = []
                for need in needs:
                    if not isinstance(need, str):
                        notes.append(f"{step.get('id')}.needs: dropped non-id {need!r}")
                        continue
                    if need in known:
                        kept.append(need)
                        continue
                    match = _close(str(need), ids)
                    if match and match != step.get("id"):
                        kept.append(match)
                        notes.append(f"{step.get('id')}.needs: {need!r} → {match!r}")
                    else:
                        notes.append(f"{step.get('id')}.needs: dropped unknown {need!r}")
                step["needs"] = list(dict.fromkeys(kept))
            for read in step_reads(step):
                if read.step in known:
                    continue
                match = _close(read.step, ids)
                if match and match != step.get("id"):
                    contracts.rename_step_refs(step, read.step, match)
                    notes.append(f"{step.get('id')}: steps.{read.step} → steps.{match}")
    for read in output_reads(data):
        top = step_ids(step_list(data.get("steps")))
        if read.step not in top and (match := _close(read.step, top)):
            contracts.rename_step_refs(data, read.step, match, keys=("outputs",))
            notes.append(f"outputs: steps.{read.step} → steps.{match}")
    return data, notes


_close = contracts.close_name


@repair("declare-inputs", "template-unknown-ref")
def declare_inputs(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Declare every ``inputs.z`` that templates read but the pipeline does not declare — unless
    ``z`` is a near miss of a declared input (a typo): then the reference is corrected."""
    declared = data.get("inputs")
    if not isinstance(declared, dict):
        declared = {}
    notes: list[str] = []
    for name in input_refs(data):
        match = None if name in declared else contracts.close_name(name, list(declared))
        if match is not None:
            pattern = re.compile(rf"(?<![\w.])inputs\.{re.escape(name)}\b")
            contracts.rename_refs(data, pattern, f"inputs.{match}")
            notes.append(f"inputs.{name} → inputs.{match} (a declared input)")
        elif name not in declared:
            declared[name] = {"type": "string", "description": f"The {name.replace('_', ' ')}."}
            notes.append(f"declared input {name!r} (string)")
    for name, schema in list(declared.items()):
        if not isinstance(schema, dict):
            declared[name] = {"type": "string"}
            notes.append(f"input {name!r}: schema replaced by {{type: string}}")
    data["inputs"] = declared
    return data, notes


@repair("connect-inputs-outputs", "genesis-no-input-read", "genesis-no-outputs")
def connect_inputs_outputs(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """When no step reads an input, feed the declared inputs (or a new ``text`` input) to the
    first model step; when there are no outputs, expose the last step's output."""
    notes: list[str] = []
    steps = step_list(data.get("steps"))
    model_steps = [s for s in steps if is_prompted(s.get("kind"))]
    if model_steps and not input_refs(data):
        declared = data.get("inputs") if isinstance(data.get("inputs"), dict) else None
        if not declared:
            declared = {"text": {"type": "string", "description": "The material to work on."}}
            data["inputs"] = declared
        first = model_steps[0]
        block = "\n".join(f"{n.upper()}:\n{{{{ inputs.{n} }}}}" for n in declared)
        first["prompt"] = f"{str(first.get('prompt') or '').rstrip()}\n\n{block}"
        notes.append(f"{first.get('id')}: reads inputs {', '.join(declared)}")
    outputs = data.get("outputs")
    last = steps[-1].get("id") if steps else None
    if not outputs and isinstance(last, str):
        data["outputs"] = {"result": f"{{{{ steps.{last}.output }}}}"}
        notes.append(f"outputs: result = steps.{last}.output")
    return data, notes


@repair("add-implied-needs", "undeclared-dependency")
def add_implied_needs(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Add to ``needs`` every sibling step that a step's templates or conditions read."""
    notes: list[str] = []
    for steps in scopes(data):
        ids = set(step_ids(steps))
        for step in steps:
            raw_needs = step.get("needs")
            needs: list[object] = raw_needs if isinstance(raw_needs, list) else []
            for read in step_reads(step):
                if read.step in ids and read.step != step.get("id") and read.step not in needs:
                    needs.append(read.step)
                    notes.append(f"{step.get('id')}: needs {read.step!r}")
            if needs:
                step["needs"] = needs
    return data, notes


@repair("break-cycles", "dag-cycle")
def break_cycles(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Break a dependency cycle by removing a ``needs`` edge that no template requires; leave
    cycles made only of data reads (those need the model)."""
    notes: list[str] = []
    for steps in scopes(data):
        notes += break_unrequired_cycles(steps)
    return data, notes


@repair(
    "generate-contracts",
    "output-contract-required",
    "extract-without-contract",
    "template-field-not-in-contract",
)
def generate_contracts(data: Raw, diagnostics: Sequence[Diagnostic]) -> tuple[Raw, list[str]]:
    """Give model steps without a contract an object schema built from the fields later steps
    read (``steps.x.output.a.b`` → x: {a: {b}}); add read fields missing from a contract."""
    return data, contracts.ensure_contracts(data)
