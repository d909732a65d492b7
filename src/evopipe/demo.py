"""``make demo``: the main job on the embedded defaults, offline, with no key.

1. generate a pipeline from a plain-language request on the embedded model (genesis);
2. validate it under the ``generated`` profile, as any untrusted pipeline;
3. run it durably on the embedded model (journal in ``.evopipe/demo/``);
4. evolve a seed pipeline briefly (``examples/evolve/counter.yaml`` on a small cut of
   ``examples/data/bbh_object_counting``) and print the lineage and the champion's gain.

Everything is written under ``.evopipe/demo/`` in the current directory.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.syntax import Syntax

from evopipe.app import App, Settings
from evopipe.app.evolve import EvalSource, EvolveArgs, EvolveConfig, Progress

LOCAL_MODEL = "local:smollm2-135m"
REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "examples" / "evolve" / "counter.yaml"
DATA = REPO / "examples" / "data" / "bbh_object_counting"
SIZES = {"train": 4, "val": 6, "test": 6}
REQUEST = "Summarise an article into a short summary with its key points"
SAMPLE_TEXT = (
    "The city council voted on Tuesday to extend the night bus network to the eastern "
    "suburbs from March. Three new lines will run every 30 minutes between midnight and 5 am. "
    "The council expects 4,000 extra riders a week and will review the service after a year."
)


async def _generate(console: Console, app: App, out_dir: Path, model: str) -> Path:
    console.print(Rule("1 · generate"))
    console.print(f"request: [bold]{REQUEST}[/]")
    started = time.monotonic()
    outcome = await app.generations.generate(
        REQUEST, model=model, output=out_dir / "generated.yaml", retrieval_fallback=True
    )
    result = outcome.result
    for failed in (r for r in result.rounds if r.error):
        console.print(
            f"note: round {failed.number} failed ({failed.error}); the next round adapted the "
            "best retrieved pattern without the model's analysis",
            markup=False,
        )
    console.print(
        f"generated in {time.monotonic() - started:.1f} s, {result.rounds_needed} round(s), "
        f"pattern {result.pattern!r}; wrote {', '.join(str(p) for p in outcome.written)}"
    )
    console.print(Syntax(result.yaml, "yaml", word_wrap=True))
    return out_dir / "generated.yaml"


def _validate(console: Console, app: App, path: Path) -> None:
    console.print(Rule("2 · validate (profile: generated, untrusted)"))
    validity = app.pipelines.assess(path, profile="generated")
    for d in validity.diagnostics:
        console.print(d.format(), markup=False)
    if not validity.valid:
        raise SystemExit(f"the generated pipeline has {len(validity.errors)} error(s)")
    console.print(f"{path}: valid ({len(validity.diagnostics)} diagnostics)")


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


async def _run(console: Console, app: App, path: Path, model: str) -> None:
    console.print(Rule("3 · run (durable journal, embedded model)"))
    inputs = _sample_inputs(app.pipelines.resolve(path).pipeline.inputs)
    console.print(f"inputs: {inputs}")
    result = await app.runs.run(path, inputs, model=model)
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


def _cut(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for split, n in SIZES.items():
        lines = (src / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        (dst / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


async def run_evolution(
    *,
    model: str = LOCAL_MODEL,
    generations: int = 2,
    out: Callable[[str], Any] = print,
    models: Any = None,
) -> dict[str, Any]:
    """Evolve the object-counting seed briefly (a temporary store); print progress, lineage and
    the champion's gain; return the run's summary. ``models`` injects a model source."""

    def hook(*, progress: Progress) -> None:
        out(
            f"  [{progress.event}] gen {progress.generation}: best {progress.best_quality:.2f}, "
            f"{progress.evaluations} candidates, {progress.calls} calls"
        )

    with tempfile.TemporaryDirectory() as tmp:
        data = _cut(DATA, Path(tmp) / "data")
        args = EvolveArgs(
            pipeline=SEED,
            source=EvalSource(
                str(data), "numeric[pick=first]", model=model, mapping={"question": "input"}
            ),
            config=EvolveConfig(
                generations=generations,
                population=2,
                offspring=2,
                seed=0,
                operators=("tool_search", "instruction"),
                feedback_size=SIZES["train"],
            ),
        )
        with App(Settings.load(db=str(Path(tmp) / "demo.db")), models=models) as app:
            result = await app.evolutions.evolve(args, hooks=[hook])
            out(app.evolutions.lineage(result.run_id, "tree"))
    s = result.summary
    out(
        f"champion {result.champion_id[:12]}: quality {s['seed_quality']:.2f} -> "
        f"{s['champion_quality']:.2f} on {SIZES['val']} val examples ({s['calls']} calls)"
    )
    return s


async def _evolve(console: Console, model: str, generations: int) -> None:
    console.print(Rule("4 · evolve (object counting, a short run)"))
    await run_evolution(
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
    async with App(Settings.load(db=str(out_dir / "demo.db"))) as app:
        path = await _generate(console, app, out_dir, model)
        _validate(console, app, path)
        await _run(console, app, path, model)
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
