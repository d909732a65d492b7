"""Export a pipeline as Python code that builds a LangGraph graph.

The written module is plain, readable LangGraph: a ``State`` with the inputs and the step
records (parallel writes merged by a reducer), one node per step, an edge from ``START`` to
every step without dependencies, an edge from the dependencies of every other step (a list:
the node waits for all of them) and to ``END`` from every step nothing depends on. Each node
runs its step with evopipe's kind implementation (:mod:`evopipe.interop.lg_runtime`), so the
graph gives the same outputs as ``evopipe run`` for the same model answers.
"""

from __future__ import annotations

import json

from evopipe.engine.plan import build_plan
from evopipe.interop.lg_runtime import SUPPORTED_KINDS
from evopipe.spec.canonical import canonical_data
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.pipeline import Pipeline

FORMAT = "langgraph"

_HEAD = '''\
"""LangGraph graph for the evopipe pipeline {name!r}.

Exported by `evopipe export langgraph` from {path}. Run it:

    python {module}.py '{{"input": "value"}}' [--model fake]
"""

import asyncio
import json
import sys
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from evopipe.interop.lg_runtime import Runtime, merge_steps

SPEC: dict[str, Any] = json.loads({spec})
"""The pipeline, as evopipe's canonical JSON."""


class State(TypedDict):
    inputs: dict[str, Any]
    steps: Annotated[dict[str, Any], merge_steps]


def build_graph(rt: Runtime) -> Any:
    graph = StateGraph(State)
'''

_TAIL = '''\
    return graph.compile()


async def run(inputs: dict[str, Any], *, model: str | None = None, models: Any = None) -> Any:
    """Run the graph; return the pipeline's outputs."""
    rt = Runtime(SPEC, model=model, models=models)
    state = await build_graph(rt).ainvoke(rt.start(inputs))
    return rt.outputs(state)


if __name__ == "__main__":
    args = sys.argv[1:]
    chosen = args[args.index("--model") + 1] if "--model" in args else None
    given = json.loads(args[0]) if args and not args[0].startswith("--") else {}
    print(json.dumps(asyncio.run(run(given, model=chosen)), indent=2, default=str))
'''


def _refuse_unsupported(pipeline: Pipeline, path: str) -> None:
    problems = [
        Diagnostic(
            "export-unsupported",
            f"step {s.id!r}: kind {s.kind!r} cannot be exported to LangGraph "
            f"(supported: {', '.join(sorted(SUPPORTED_KINDS))})",
            path=path,
            where=f"steps[{i}]",
        )
        for i, s in enumerate(pipeline.steps)
        if s.kind not in SUPPORTED_KINDS
    ]
    if problems:
        raise SpecError(problems)


def export(pipeline: Pipeline, pipeline_path: str) -> str:
    """The Python module text (raises :class:`SpecError` for kinds a node cannot run)."""
    _refuse_unsupported(pipeline, pipeline_path)
    plan = build_plan(pipeline)
    spec = json.dumps(canonical_data(pipeline), ensure_ascii=False, sort_keys=True)
    module = pipeline.name.replace("-", "_").replace(".", "_")
    lines = [_HEAD.format(name=pipeline.name, path=pipeline_path, module=module, spec=repr(spec))]
    for sid in plan.order:
        step = plan.steps[sid]
        lines.append(
            f"    graph.add_node({sid!r}, rt.node({sid!r}, deps={list(step.deps)!r}, "
            f"gates={list(step.gates)!r}))\n"
        )
    for sid in plan.order:
        deps = list(plan.steps[sid].deps)
        source = "START" if not deps else repr(deps[0] if len(deps) == 1 else deps)
        lines.append(f"    graph.add_edge({source}, {sid!r})\n")
    for sid in plan.order:
        if not plan.steps[sid].dependants:
            lines.append(f"    graph.add_edge({sid!r}, END)\n")
    lines.append(_TAIL)
    return "".join(lines)
