"""Tool-program search: from <= 10 train examples of tasks this test writes, the search finds a
program of generic tools that answers >= 95 % of fresh held-out examples; the operator inserts
it as ``tool`` steps that the real engine runs; the same seed gives the same lineage."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from evolve_helpers import seed_pipeline

from evopipe.app.schema import MIGRATIONS
from evopipe.engine import Services, run_pipeline
from evopipe.evolve import loop
from evopipe.evolve.config import EvolveConfig
from evopipe.evolve.fitness import EvalRecord, ExampleResult
from evopipe.evolve.operators import OPERATORS, OperatorContext
from evopipe.evolve.operators.tool_search import ToolSearch
from evopipe.evolve.repository import EvolutionRepository
from evopipe.evolve.search import SearchBudget, mine, productions, same, search
from evopipe.evolve.validity import check_offspring
from evopipe.models import ModelHub
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError
from evopipe.spec.kinds import LlmStep, ToolStep
from evopipe.store import Store

Task = Callable[[random.Random], tuple[str, str]]
_NOUNS = [
    *("apple", "lamp", "violin", "otter", "candle", "river", "spoon", "tiger", "cactus"),
    *("mirror", "pencil", "wagon", "harp", "ladder", "bucket", "falcon", "marble", "anchor"),
]


def sum_numbers(r: random.Random) -> tuple[str, str]:
    nums = [r.randint(-20, 90) for _ in range(r.randint(2, 6))]
    body = ", ".join(str(n) for n in nums[:-1]) + f" and {nums[-1]}"
    return f"A ledger shows {body}. What do they add up to?", str(sum(nums))


def sort_words(r: random.Random) -> tuple[str, str]:
    words = r.sample(_NOUNS, r.randint(3, 8))
    return f"Put in alphabetical order. Words: {' '.join(words)}", " ".join(sorted(words))


def compare_values(r: random.Random) -> tuple[str, str]:
    a, b = r.sample(range(1, 500), 2)
    return f"Is {a} smaller than {b}? Reply yes or no.", "yes" if a < b else "no"


def count_items(r: random.Random) -> tuple[str, str]:
    words = r.sample(_NOUNS, r.randint(1, 9))
    return f"In the box: {'; '.join(words)}\nHow many things are in the box?", str(len(words))


def largest_value(r: random.Random) -> tuple[str, str]:
    nums = r.sample(range(100, 999), r.randint(2, 7))
    return f"Readings were {' | '.join(map(str, nums))} today. Highest?", str(max(nums))


TASKS: dict[str, Task] = {
    "sum_numbers": sum_numbers,
    "sort_words": sort_words,
    "compare_values": compare_values,
    "count_items": count_items,
    "largest_value": largest_value,
}


def examples(task: Task, n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [task(rng) for _ in range(n)]


@pytest.mark.parametrize("name", sorted(TASKS))
def test_search_finds_a_program_that_generalises(name: str) -> None:
    train = examples(TASKS[name], 10, seed=1)
    texts, expected = [t for t, _ in train], [a for _, a in train]
    grammar = productions(mine(texts, expected))
    found = search({"inputs.q": texts}, expected, grammar, SearchBudget(max_seconds=120))
    assert found.program is not None, name
    assert found.hits == 10
    test = examples(TASKS[name], 200, seed=2)
    right = 0
    for text, answer in test:
        with contextlib.suppress(EvopipeError):  # a tool error is a wrong answer
            right += same(found.program.run(text), answer)
    assert right / len(test) >= 0.95, (name, found.program.describe(), right)


async def run_tools(pipeline: Pipeline, question: str) -> object:
    """The pipeline's answer, run by the engine (no store, no model reachable)."""
    result = await run_pipeline(pipeline, {"question": question}, services=Services(ModelHub()))
    assert result.status == "succeeded", result.error
    return result.outputs["answer"]


def feedback(task: Task, n: int, seed: int, parent_output: str = "0") -> EvalRecord:
    rows = examples(task, n, seed)
    return EvalRecord(
        f"train[:{n}]",
        tuple(
            ExampleResult(f"e{i}", float(same(parent_output, a)), {"question": q}, parent_output, a)
            for i, (q, a) in enumerate(rows)
        ),
    )


async def test_operator_inserts_tool_steps_the_engine_runs() -> None:
    parent = seed_pipeline()
    ctx = OperatorContext(rng=random.Random(0), feedback=feedback(sum_numbers, 8, seed=3))
    child = await OPERATORS["tool_search"].apply(parent, ctx)
    assert child is not None
    assert check_offspring(child).verdict == "ok"
    assert all(isinstance(s, ToolStep) for s in child.steps)  # the llm step is gone
    assert [s.tool for s in child.steps if isinstance(s, ToolStep)] == ["regex_findall", "sum"]
    for question, answer in examples(sum_numbers, 20, seed=4):
        result = await run_tools(child, question)
        assert same(result, answer)


async def test_mixed_program_keeps_the_model_and_post_processes_its_answer() -> None:
    # the model answers "The answer is N." (a weak model's prose): tools read the number out
    rows = examples(sum_numbers, 6, seed=5)
    record = EvalRecord(
        "train[:6]",
        tuple(
            ExampleResult(f"e{i}", 0.0, {"question": "?"}, f"The answer is {a}.", a)
            for i, (_q, a) in enumerate(rows)
        ),
    )
    child = await ToolSearch().apply(
        seed_pipeline(), OperatorContext(rng=random.Random(0), feedback=record)
    )
    assert child is not None
    kinds = [(s.kind, getattr(s, "tool", None)) for s in child.steps]
    assert kinds == [("llm", None), ("tool", "parse_number")]
    assert isinstance(child.steps[0], LlmStep)
    assert child.outputs["answer"] == "{{ steps.answer_parse_number.output }}"


async def test_no_offspring_without_a_program_that_beats_the_parent() -> None:
    # the parent already answers every example: nothing to gain
    rows = examples(count_items, 5, seed=6)
    record = EvalRecord(
        "train[:5]",
        tuple(ExampleResult(f"e{i}", 1.0, {"question": q}, a, a) for i, (q, a) in enumerate(rows)),
    )
    ctx = OperatorContext(rng=random.Random(0), feedback=record)
    assert await ToolSearch().apply(seed_pipeline(), ctx) is None
    assert await ToolSearch().apply(seed_pipeline(), OperatorContext(rng=random.Random(0))) is None


def test_the_budget_bounds_the_search() -> None:
    train = examples(sort_words, 10, seed=1)
    texts, expected = [t for t, _ in train], [a for _, a in train]
    grammar = productions(mine(texts, expected))
    found = search({"inputs.q": texts}, expected, grammar, SearchBudget(max_programs=15))
    assert found.tried == 15
    assert found.exhausted
    assert found.hits < 10


class TaskEvaluator:
    """Scores a pipeline by running it (tool steps only; an llm step answers "0")."""

    dataset_key = "procedural-sum"

    def __init__(self, task: Task) -> None:
        self.rows = {
            "train": examples(task, 8, seed=10),
            "val": examples(task, 12, seed=11),
        }

    def split_size(self, split: str) -> int:
        return len(self.rows[split])

    async def evaluate(
        self, pipeline: Pipeline, split: str, *, limit: int | None = None
    ) -> EvalRecord:
        rows = self.rows[split][:limit]
        out = []
        for i, (q, a) in enumerate(rows):
            calls = sum(isinstance(s, LlmStep) for s in pipeline.steps)
            got = "0"
            if not calls:
                result = await run_tools(pipeline, q)
                got = result
            out.append(
                ExampleResult(
                    f"{split}{i}", float(same(got, a)), {"question": q}, got, a, calls=calls
                )
            )
        return EvalRecord(split, tuple(out))


async def test_same_seed_same_lineage(tmp_path: Path) -> None:
    config = EvolveConfig(
        generations=2,
        population=2,
        offspring=2,
        seed=7,
        operators=("tool_search", "params", "remove"),
    )
    genealogies = []
    for k in range(2):
        with Store.open(str(tmp_path / f"evo{k}.db"), migrations=MIGRATIONS) as store:
            repo = EvolutionRepository(store)
            result = await loop.start(
                seed_pipeline(), repo=repo, evaluator=TaskEvaluator(sum_numbers), config=config
            )
            genealogies.append(
                [
                    (m.candidate_id, m.generation, m.parents, m.operators)
                    for m in repo.members(result.run_id)
                ]
            )
            assert result.summary["champion_quality"] == 1.0
            assert result.summary["seed_quality"] == 0.0
    assert genealogies[0] == genealogies[1]
    assert any("tool_search" in ops for *_, ops in genealogies[0])


EXTRACT_SEED = """\
apiVersion: evopipe/v1
kind: Pipeline
name: extractor
inputs:
  question: {type: string}
outputs:
  answer: "{{ steps.answer.output.total }}"
steps:
  - id: answer
    kind: extract
    prompt: "{{ inputs.question }}"
    output:
      schema:
        type: object
        properties: {total: {type: string}}
        required: [total]
"""


async def test_search_answers_for_a_step_whose_field_is_the_output() -> None:
    # genesis writes extract steps whose contract field is the output: both kinds of source
    parent = seed_pipeline(EXTRACT_SEED)
    ctx = OperatorContext(rng=random.Random(0), feedback=feedback(sum_numbers, 8, seed=3))
    child = await ToolSearch().apply(parent, ctx)
    assert child is not None
    assert [s.kind for s in child.steps] == ["tool", "tool"]
    assert child.outputs == {"answer": f"{{{{ steps.{child.steps[-1].id}.output }}}}"}
    assert check_offspring(child).verdict == "ok"
    rows = examples(sum_numbers, 6, seed=5)
    wordy = EvalRecord(
        "train[:6]",
        tuple(
            ExampleResult(f"e{i}", 0.0, {"question": "?"}, f"about {a} in all", a)
            for i, (_q, a) in enumerate(rows)
        ),
    )
    mixed = await ToolSearch().apply(parent, OperatorContext(rng=random.Random(0), feedback=wordy))
    assert mixed is not None
    assert [s.kind for s in mixed.steps] == ["extract", "tool"]
    tool = mixed.steps[1]
    assert isinstance(tool, ToolStep)
    assert tool.args == {"text": "{{ steps.answer.output.total }}"}
    assert check_offspring(mixed).verdict == "ok"
