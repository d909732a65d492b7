"""``make demo``: the main job on the embedded defaults, offline, with no key.

1. generate a pipeline from a plain-language request on the embedded model (genesis);
2. validate it under the ``generated`` profile, as any untrusted pipeline;
3. run it durably on the embedded model (journal in ``.evopipe/demo/``);
4. evolve a seed pipeline briefly and print the lineage and the champion's gain.

Everything is written under ``.evopipe/demo/`` in the current directory.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.syntax import Syntax

LOCAL_MODEL = "local:smollm2-135m"
REQUEST = "Summarise an article into a short summary with its key points"
SAMPLE_TEXT = (
    "The city council voted on Tuesday to extend the night bus network to the eastern "
    "suburbs from March. Three new lines will run every 30 minutes between midnight and 5 am. "
    "The council expects 4,000 extra riders a week and will review the service after a year."
)


async def _generate(console: Console, out_dir: Path, model: str) -> Path:
    from evopipe.genesis import agenerate

    console.print(Rule("1 · generate"))
    console.print(f"request: [bold]{REQUEST}[/]")
    started = time.monotonic()
    result = await agenerate(REQUEST, model=model, retrieval_fallback=True)
    for failed in (r for r in result.rounds if r.error):
        console.print(
            f"note: round {failed.number} failed ({failed.error}); the next round adapted the "
            "best retrieved pattern without the model's analysis",
            markup=False,
        )
    written = result.write(out_dir / "generated.yaml")
    console.print(
        f"generated in {time.monotonic() - started:.1f} s, {result.rounds_needed} round(s), "
        f"pattern {result.pattern!r}; wrote {', '.join(str(p) for p in written)}"
    )
    console.print(Syntax(result.yaml, "yaml", word_wrap=True))
    return out_dir / "generated.yaml"


def _validate(console: Console, path: Path) -> None:
    from evopipe.check import CheckOptions, check_file

    console.print(Rule("2 · validate (profile: generated, untrusted)"))
    diagnostics = check_file(path, profile="generated", options=CheckOptions(trusted=False))
    errors = [d for d in diagnostics if d.severity == "error"]
    for d in diagnostics:
        console.print(d.format(), markup=False)
    if errors:
        raise SystemExit(f"the generated pipeline has {len(errors)} error(s)")
    console.print(f"{path}: valid ({len(diagnostics)} diagnostics)")


def _sample_inputs(schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for name, spec in schema.items():
        if "default" in spec:
            continue
        kind = spec.get("type", "string")
        inputs[name] = {"array": [SAMPLE_TEXT], "integer": 3, "number": 3, "boolean": True}.get(
            str(kind), SAMPLE_TEXT
        )
    return inputs


async def _run(console: Console, path: Path, db: Path, model: str) -> None:
    from evopipe.engine import RunOptions, Services, run_pipeline
    from evopipe.models import ModelHub
    from evopipe.spec import load_file
    from evopipe.store import Store

    console.print(Rule("3 · run (durable journal, embedded model)"))
    pipeline = load_file(path).pipeline
    inputs = _sample_inputs(pipeline.inputs)
    console.print(f"inputs: {inputs}")
    with Store.open(str(db)) as store:
        services = Services(models=ModelHub(cache=store.response_cache()), store=store,
                            base_dir=path.parent)  # fmt: skip
        result = await run_pipeline(
            pipeline, inputs, services=services, options=RunOptions(model=model, source=str(path))
        )
    for step in result.steps:
        console.print(
            f"  {step.id:<24} {step.status:<10} {step.duration_ms:>8.0f} ms"
            f"{'  (cached)' if step.cached else ''}"
        )
    console.print(f"run {result.run_id}: [bold]{result.status}[/]")
    console.print(f"outputs: {result.outputs}")
    u = result.usage
    console.print(f"usage: {u.calls} calls, {u.input_tokens} in / {u.output_tokens} out tokens")
    if result.status != "succeeded":
        raise SystemExit(f"the run ended {result.status}: {result.error}")


async def _evolve(console: Console, model: str, generations: int) -> None:
    from evopipe.evolve.demo import run_demo

    console.print(Rule("4 · evolve (object counting, a short run)"))
    await run_demo(
        model=model, generations=generations, out=lambda s: console.print(s, markup=False)
    )


async def main_async(model: str, generations: int, skip_evolve: bool) -> None:
    console = Console(highlight=False)
    out_dir = Path(".evopipe") / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    console.print(
        f"[bold]evopipe demo[/] — model {model}: embedded, offline, no API key. "
        f"Files go to {out_dir}/"
    )
    started = time.monotonic()
    path = await _generate(console, out_dir, model)
    _validate(console, path)
    await _run(console, path, out_dir / "demo.db", model)
    if not skip_evolve:
        await _evolve(console, model, generations)
    console.print(Rule(f"done in {time.monotonic() - started:.0f} s"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evopipe.demo", description=__doc__)
    parser.add_argument("--model", default=LOCAL_MODEL)
    parser.add_argument("--generations", type=int, default=2)
    parser.add_argument("--skip-evolve", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.model, args.generations, args.skip_evolve))


if __name__ == "__main__":
    main()
