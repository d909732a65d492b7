"""DSPy's optimisers and evopipe's evolution side by side, in one run, on the same model.

The embedded model (SmolLM2-135M, ``local:smollm2-135m``, temperature 0) is served to DSPy by
an OpenAI-compatible endpoint on 127.0.0.1 (``bench/_openai_compat.py``), which counts every
call it answers. The two anchor tasks (``../shared/datasets/anchors/``, copied under
``examples/data``):

- ``object_counting``: BIG-Bench Hard; metric: the first integer of the answer equals the
  target. evopipe: one plain ``llm`` seed, evolved with ``tool_search`` and ``bootstrap`` for
  one generation (``bench/evolve_search.py``'s plan).
- ``banking10``: Banking77, ten intents (chance 10 %); metric: the intent, exactly (case and
  outer spaces aside). DSPy's signature names the ten intents (a ``Literal`` output) and its
  instructions describe them as evopipe's seed does (``examples/evolve/banking10_seed.yaml``),
  evolved with ``bootstrap`` and ``instruction`` for one generation (``bench/evolve.py``'s
  banking plan).

DSPy 3 (``Predict`` as is; ``LabeledFewShot`` (4 demos); ``BootstrapFewShot`` (up to 4
bootstrapped + 4 labelled demos); ``BootstrapFewShotWithRandomSearch`` (4 candidate programs
scored on val)) trains on train and val together where it has no separate validation. evopipe
selects on val and takes feedback from train. Everything is scored on the same 100-example
test split. Figures per task: test accuracy, optimisation calls (DSPy: counted at the endpoint;
evopipe: the evolution's own count) and wall time. Each task's entry in
``bench/results/compare_dspy.json`` is one run of both sides (a run of one task keeps the
other's entry).

    .venv/bin/python bench/compare_dspy.py [--task banking10] [--train 10 --val 20 --test 100]
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "results" / "compare_dspy.json"
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data" / "bbh_object_counting"
BANKING = ROOT / "examples" / "data" / "banking10"
BANKING_SEED = ROOT / "examples" / "evolve" / "banking10_seed.yaml"


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


def same_label(got: Any, want: Any) -> bool:
    """evopipe's ``exact`` metric: equal after case folding and trimming."""
    return str(got or "").strip().casefold() == str(want or "").strip().casefold()


@dataclass(frozen=True)
class Task:
    """One anchor task as both sides see it."""

    data: Path
    question: str
    """The input field of a row (DSPy's input field is named the same)."""
    answer: str
    """The target field of a row (DSPy's output field is named the same)."""
    correct: Callable[[Any, Any], bool]
    evopipe: Callable[[dict[str, int], Path], Awaitable[dict[str, Any]]]
    describe: str
    instructions: str = ""
    labels: tuple[str, ...] = ()

    def signature(self, dspy: Any) -> Any:
        made = dspy.Signature(f"{self.question} -> {self.answer}", self.instructions or None)
        if self.labels:
            from typing import Literal

            made = made.with_updated_fields(self.answer, type_=Literal[self.labels])  # type: ignore[valid-type]
        return made


def dspy_side(
    base_url: str,
    counter: Any,
    splits: dict[str, list[dict[str, Any]]],
    model_name: str,
    task: Task | None = None,
) -> dict[str, Any]:
    import dspy

    task = task or TASKS["object_counting"]
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
    signature = task.signature(dspy)

    def examples(split: str) -> list[Any]:
        return [
            dspy.Example(
                **{task.question: r[task.question], task.answer: str(r[task.answer])}
            ).with_inputs(task.question)
            for r in splits[split]
        ]

    train, val, test = examples("train"), examples("val"), examples("test")

    def metric(example: Any, prediction: Any, trace: Any = None) -> bool:
        return task.correct(getattr(prediction, task.answer, ""), getattr(example, task.answer))

    def score(program: Any) -> float:
        hits = 0
        for ex in test:
            # a malformed answer the adapter cannot parse counts as wrong
            with contextlib.suppress(Exception):
                hits += metric(ex, program(**{task.question: getattr(ex, task.question)}))
        return hits / len(test)

    optimisers: dict[str, Callable[[], Any]] = {
        "Predict": lambda: dspy.Predict(signature),
        "LabeledFewShot": lambda: dspy.LabeledFewShot(k=4).compile(
            dspy.Predict(signature), trainset=train + val
        ),
        "BootstrapFewShot": lambda: dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=4, max_labeled_demos=4
        ).compile(dspy.Predict(signature), trainset=train + val),
        # max_errors: a tiny model's unparsable answers are misses, not a reason to stop (DSPy
        # cancels the search after 10 by default)
        "BootstrapFewShotWithRandomSearch": lambda: dspy.BootstrapFewShotWithRandomSearch(
            metric=metric,
            max_bootstrapped_demos=4,
            num_candidate_programs=4,
            num_threads=1,
            max_errors=10_000,
        ).compile(dspy.Predict(signature), trainset=train, valset=val),
    }
    out: dict[str, Any] = {}
    for name, build in optimisers.items():
        before, t0 = counter.calls, time.perf_counter()
        try:
            program = build()
            error = None
        except Exception as exc:  # reported, not hidden: the row says the optimiser failed
            program, error = dspy.Predict(signature), f"{type(exc).__name__}: {exc}"
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


KEEP = (
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


async def evopipe_counting(sizes: dict[str, int], work: Path) -> dict[str, Any]:
    from evolve_search import Plan, measure

    from evopipe.models import ModelHub

    entry = await measure("object_counting", work, sizes, ModelHub(), Plan())
    return {k: entry[k] for k in KEEP}


async def evopipe_banking(sizes: dict[str, int], work: Path) -> dict[str, Any]:
    from evolve import BankingOptions, _banking
    from evopipe.models import ModelHub

    plan = BankingOptions(seed=BANKING_SEED, operators=("bootstrap", "instruction"), generations=1)
    entry = await _banking(work, sizes, ModelHub(), plan, BANKING_SEED.read_text())
    return {k: entry[k] for k in KEEP}


def _banking_task() -> Task:
    labels = tuple(json.loads((BANKING / "labels.json").read_text())["labels"])
    seed = BANKING_SEED.read_text()
    block = seed[seed.index("Intents:") : seed.index("Message:")]
    described = "\n".join(line.strip() for line in block.splitlines() if line.strip())
    return Task(
        data=BANKING,
        question="text",
        answer="intent",
        correct=same_label,
        evopipe=evopipe_banking,
        describe="Banking77, 10 intents (examples/data/banking10)",
        instructions="Pick the one intent that fits the customer's message best.\n" + described,
        labels=labels,
    )


TASKS: dict[str, Task] = {
    "object_counting": Task(
        data=DATA,
        question="input",
        answer="target",
        correct=lambda got, want: first_int(got) == first_int(want),
        evopipe=evopipe_counting,
        describe="bbh object_counting (examples/data/bbh_object_counting)",
    ),
    "banking10": _banking_task(),
}


def compare(task_name: str, sizes: dict[str, int], model_id: str, tmp: Path) -> dict[str, Any]:
    """One task, both sides, in one run."""
    from _openai_compat import serving

    from evopipe.models import ModelHub

    task = TASKS[task_name]
    splits = {k: rows(k, n, task.data) for k, n in sizes.items()}
    started = time.perf_counter()
    with serving(ModelHub().get(model_id)) as (base_url, counter):
        dspy = dspy_side(base_url, counter, splits, model_id.replace(":", "-"), task)
    evopipe = asyncio.run(task.evopipe(sizes, tmp / task_name))
    best_dspy = max(v["test_accuracy"] for v in dspy.values())
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "task": task.describe,
        "splits": sizes,
        "dspy": dspy,
        "evopipe": evopipe,
        "best_dspy_test": best_dspy,
        "evopipe_champion_test": evopipe["champion_test"],
        "ratio_evopipe_to_best_dspy": (
            round(evopipe["champion_test"] / best_dspy, 2) if best_dspy else None
        ),
        "total_wall_s": round(time.perf_counter() - started, 1),
    }


def _kept(out: Path) -> dict[str, Any]:
    """The tasks already in the results file (a file of one task, from before there were two,
    is read as the object_counting entry)."""
    if not out.exists():
        return {}
    report = json.loads(out.read_text())
    if "tasks" in report:
        return dict(report["tasks"])
    old = {k: v for k, v in report.items() if k not in ("benchmark", "model")}
    return {"object_counting": old}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", choices=sorted(TASKS))
    parser.add_argument("--train", type=int, default=10)
    parser.add_argument("--val", type=int, default=20)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--model", default="local:smollm2-135m")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sizes = {"train": args.train, "val": args.val, "test": args.test}
    tasks = _kept(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        offline_env(Path(tmp) / "dspy-cache")
        for name in args.task or sorted(TASKS):
            tasks[name] = compare(name, sizes, args.model, Path(tmp))
            brief = {k: tasks[name][k] for k in ("best_dspy_test", "evopipe_champion_test")}
            print(name, json.dumps(brief), flush=True)
            report = {"benchmark": "compare_dspy", "model": args.model, "tasks": tasks}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
