"""A short evolution for ``make demo``: object counting on the embedded model, a few minutes.

``python -m evopipe.evolve.demo`` (or ``evopipe.demo`` calling :func:`run_demo`) evolves
``examples/evolve/counter.yaml`` on a small cut of ``examples/data/bbh_object_counting`` for
one or two generations, then prints the lineage and the champion's gain on the cut.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evopipe.evolve import service
from evopipe.evolve.config import EvolveConfig, Progress
from evopipe.evolve.lineage import lineage, render_tree
from evopipe.evolve.repository import EvolutionRepository

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "examples" / "evolve" / "counter.yaml"
DATA = REPO / "examples" / "data" / "bbh_object_counting"
SIZES = {"train": 4, "val": 6, "test": 6}


def _cut(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for split, n in SIZES.items():
        lines = (src / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        (dst / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


async def run_demo(
    *,
    model: str = "local:smollm2-135m",
    generations: int = 2,
    out: Callable[[str], Any] = print,
    hub: Any = None,
) -> dict[str, Any]:
    """Evolve the counter seed briefly; print progress, lineage and gain; return the summary."""

    def hook(*, progress: Progress) -> None:
        out(
            f"  [{progress.event}] gen {progress.generation}: best {progress.best_quality:.2f}, "
            f"{progress.evaluations} candidates, {progress.calls} calls"
        )

    with tempfile.TemporaryDirectory() as tmp:
        data = _cut(DATA, Path(tmp) / "data")
        args = service.EvolveArgs(
            pipeline=SEED,
            source=service.EvalSource(
                str(data), "numeric[pick=first]", model=model, mapping={"question": "input"}
            ),
            config=EvolveConfig(
                generations=generations,
                population=2,
                offspring=2,
                seed=0,
                operators=("insert_tool", "instruction"),
                feedback_size=SIZES["train"],
            ),
        )
        with service.open_store(str(Path(tmp) / "demo.db")) as store:
            result = await service.evolve(args, hub=hub, store=store, hooks=[hook])
            out(render_tree(lineage(EvolutionRepository(store), result.run_id)))
    s = result.summary
    out(
        f"champion {result.champion_id[:12]}: quality {s['seed_quality']:.2f} -> "
        f"{s['champion_quality']:.2f} on {SIZES['val']} val examples ({s['calls']} calls)"
    )
    return s


if __name__ == "__main__":
    asyncio.run(run_demo())
