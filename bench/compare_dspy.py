"""DSPy's optimisers and evopipe's evolution side by side, in one run, on the same model.

The embedded model (SmolLM2-135M, ``local:smollm2-135m``, temperature 0) is served to DSPy by
an OpenAI-compatible endpoint on 127.0.0.1 (``bench/_openai_compat.py``), which counts every
call it answers. Task: BIG-Bench Hard ``object_counting`` (``examples/data/bbh_object_counting``,
the anchor splits), metric: the first integer of the answer equals the target.

- DSPy 3 (``question -> answer``): ``Predict`` as is; ``LabeledFewShot`` (4 demos);
  ``BootstrapFewShot`` (up to 4 bootstrapped + 4 labelled demos); ``BootstrapFewShotWithRandom
  Search`` (4 candidate programs scored on val). DSPy trains on train and val together (its
  own selection uses val where it has one).
- evopipe: one plain ``llm`` seed, evolved with ``tool_search`` and ``bootstrap`` for one
  generation (``bench/evolve_search.py``'s plan), selected on val, feedback from train.

Everything is scored on the same 100-example test split. Figures: test accuracy, optimisation
calls (DSPy: counted at the endpoint; evopipe: the evolution's own count) and wall time; the
ratio of test accuracies is the figure to compare. Writes ``bench/results/compare_dspy.json``.

    .venv/bin/python bench/compare_dspy.py [--train 10 --val 20 --test 100] [--model ID]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "results" / "compare_dspy.json"
DATA = Path(__file__).resolve().parents[1] / "examples" / "data" / "bbh_object_counting"


def offline_env(cache: Path) -> None:
    """DSPy and LiteLLM: no model-price download, caches in a temporary folder, no telemetry."""
    os.environ.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        DSPY_CACHEDIR=str(cache),
        DSP_CACHEDIR=str(cache),
        LITELLM_TELEMETRY="False",
    )


def rows(split: str, n: int, data: Path = DATA) -> list[dict[str, Any]]:
    lines = (data / f"{split}.jsonl").read_text().splitlines()[:n]
    return [json.loads(line) for line in lines]


def first_int(text: Any) -> str | None:
    found = re.search(r"-?\d+", str(text or ""))
    return found.group(0) if found else None


def dspy_side(
    base_url: str, counter: Any, splits: dict[str, list[dict[str, Any]]], model_name: str
) -> dict[str, Any]:
    import dspy

    lm = dspy.LM(
        f"openai/{model_name}",
        api_base=base_url,
        api_key="local",
        temperature=0.0,
        max_tokens=64,
        cache=False,
        num_retries=0,
    )
    dspy.configure(lm=lm)

    def examples(split: str) -> list[Any]:
        return [
            dspy.Example(question=r["input"], answer=str(r["target"])).with_inputs("question")
            for r in splits[split]
        ]

    train, val, test = examples("train"), examples("val"), examples("test")

    def metric(example: Any, prediction: Any, trace: Any = None) -> bool:
        return first_int(getattr(prediction, "answer", "")) == first_int(example.answer)

    def score(program: Any) -> float:
        hits = 0
        for ex in test:
            # a malformed answer the adapter cannot parse counts as wrong
            with contextlib.suppress(Exception):
                hits += metric(ex, program(question=ex.question))
        return hits / len(test)

    optimisers: dict[str, Callable[[], Any]] = {
        "Predict": lambda: dspy.Predict("question -> answer"),
        "LabeledFewShot": lambda: dspy.LabeledFewShot(k=4).compile(
            dspy.Predict("question -> answer"), trainset=train + val
        ),
        "BootstrapFewShot": lambda: dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=4, max_labeled_demos=4
        ).compile(dspy.Predict("question -> answer"), trainset=train + val),
        "BootstrapFewShotWithRandomSearch": lambda: dspy.BootstrapFewShotWithRandomSearch(
            metric=metric, max_bootstrapped_demos=4, num_candidate_programs=4, num_threads=1
        ).compile(dspy.Predict("question -> answer"), trainset=train, valset=val),
    }
    out: dict[str, Any] = {}
    for name, build in optimisers.items():
        before, t0 = counter.calls, time.perf_counter()
        try:
            program = build()
            error = None
        except Exception as exc:  # reported, not hidden: the row says the optimiser failed
            program, error = dspy.Predict("question -> answer"), f"{type(exc).__name__}: {exc}"
        optimise_calls, optimise_s = counter.calls - before, time.perf_counter() - t0
        t1 = time.perf_counter()
        accuracy = score(program)
        out[name] = {
            "test_accuracy": accuracy,
            "optimisation_calls": optimise_calls,
            "optimisation_wall_s": round(optimise_s, 1),
            "test_wall_s": round(time.perf_counter() - t1, 1),
            "error": error,
        }
        print(f"dspy {name}: {accuracy:.2f} ({optimise_calls} optimisation calls)", flush=True)
    return out


async def evopipe_side(sizes: dict[str, int], work: Path) -> dict[str, Any]:
    from evolve_search import Plan, measure

    from evopipe.models import ModelHub

    entry = await measure("object_counting", work, sizes, ModelHub(), Plan())
    keep = (
        "seed_test",
        "champion_test",
        "evolution_calls",
        "evolution_wall_s",
        "test_wall_s",
        "champion_operators",
        "champion_steps",
        "champion_tools",
        "paired_bootstrap",
    )
    return {k: entry[k] for k in keep}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10)
    parser.add_argument("--val", type=int, default=20)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--model", default="local:smollm2-135m")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sizes = {"train": args.train, "val": args.val, "test": args.test}
    with tempfile.TemporaryDirectory() as tmp:
        offline_env(Path(tmp) / "dspy-cache")
        from _openai_compat import serving

        from evopipe.models import ModelHub

        splits = {k: rows(k, n) for k, n in sizes.items()}
        started = time.perf_counter()
        model = ModelHub().get(args.model)
        with serving(model) as (base_url, counter):
            dspy = dspy_side(base_url, counter, splits, args.model.replace(":", "-"))
        evopipe = asyncio.run(evopipe_side(sizes, Path(tmp)))
        total = time.perf_counter() - started
    best_dspy = max(v["test_accuracy"] for v in dspy.values())
    report = {
        "benchmark": "compare_dspy",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": args.model,
        "task": "bbh object_counting (examples/data/bbh_object_counting)",
        "splits": sizes,
        "dspy": dspy,
        "evopipe": evopipe,
        "best_dspy_test": best_dspy,
        "evopipe_champion_test": evopipe["champion_test"],
        "ratio_evopipe_to_best_dspy": (
            round(evopipe["champion_test"] / best_dspy, 2) if best_dspy else None
        ),
        "total_wall_s": round(total, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("best_dspy_test", "evopipe_champion_test")}))


if __name__ == "__main__":
    main()
