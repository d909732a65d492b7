"""Every ``evopipe`` command shown in README.md, docs/ and examples/ runs, as written.

Commands are read from the shell code blocks; synopsis brackets (``[--json]``) are dropped,
placeholders (``RUN_ID``, ``CANDIDATE_ID``, the ids in examples) become real ids from a small
world made first (a run waiting on an approval, an evolution, two registered versions, a
generation), and every model is the ``fake`` model (``EVOPIPE_MODEL``; documented provider
models are swapped for it). A command that serves until stopped is checked with ``--help``:
each flag it is shown with must exist (so is one shown against a Ray cluster). A documented
command that breaks fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evopipe.app import App, Settings
from evopipe.cli import build_app
from evopipe.orchestrate.registry import Registry
from evopipe.spec import loads

REPO = Path(__file__).resolve().parents[1]
DOCS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    *sorted((REPO / "examples").glob("**/*.md")),
]
SHELL = {"sh", "bash", "shell", "console", ""}
SERVES = {"serve", "worker", "scheduler", "mcp", "chat"}
"""Commands that run until stopped: their flags are checked against ``--help``."""
ON_A_CLUSTER = "--executor ray"
"""Commands shown against a Ray cluster (docs/ray.md) are checked like ``SERVES``: there is no
cluster here; tests/distributed/test_ray_cluster.py runs ``run``/``resume`` on a real one."""
MODELS = re.compile(r"\b(openai|anthropic|google|local):[\w.\-]+")
TAKES_MODEL = {"run", "resume", "approve", "eval", "evolve", "generate"}
"""Commands whose ``--model`` overrides a pipeline's own ``defaults.model`` (the examples pin
the embedded model, which is real but slow): the test adds ``--model fake`` to them."""
EXIT_OK: dict[str, set[int]] = {
    "validate": {0, 1},  # python/shell/http examples are refused under the untrusted policy
    "promote": {0, 1},  # refused unless the candidate beats the incumbent: a documented outcome
    "resume": {0, 3},  # a run waiting on an approval stays waiting
}


@dataclass(frozen=True)
class Command:
    where: str
    text: str

    @property
    def group(self) -> str:
        return self.text.split()[1]


def _blocks(path: Path) -> Iterator[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    for match in re.finditer(r"```([\w-]*)\n(.*?)```", text, re.S):
        if match.group(1) in SHELL:
            yield text[: match.start()].count("\n") + 2, match.group(2)


def documented() -> list[Command]:
    found: list[Command] = []
    for path in DOCS:
        for first, body in _blocks(path):
            body = re.sub(r"\\\n\s*", " ", body)
            for offset, line in enumerate(body.splitlines()):
                for part in _strip_comment(line.strip().removeprefix("$ ")).split(";"):
                    part = part.strip()
                    if part.startswith("evopipe "):
                        where = f"{path.relative_to(REPO)}:{first + offset}"
                        found.append(Command(where, part))
    return found


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if ch in "'\"" and (not quote or quote == ch):
            quote = "" if quote else ch
        elif ch == "#" and not quote and (i == 0 or line[i - 1] == " "):
            return line[:i]
    return line


def argv(command: Command, values: dict[str, Callable[[], str]]) -> list[str]:
    """Synopsis brackets dropped, placeholders filled, models swapped, pipes cut off."""
    text = re.sub(r"\[[^\]]*\](\.\.\.)?", "", command.text)
    text = MODELS.sub("fake", text)
    for name, make in values.items():
        while name in text:
            text = text.replace(name, make(), 1)
    words = shlex.split(text)[1:]
    for stop in ("|", ">"):
        if stop in words:
            words = words[: words.index(stop)]
    if words[0] in TAKES_MODEL and "--model" not in words and "--resume" not in words:
        words += ["--model", "fake"]
    return words


# -- the world the commands run in ----------------------------------------------------------


def _cli(args: list[str]) -> tuple[int, str]:
    """Exit code and stdout; stderr is appended when the command failed."""
    result = CliRunner().invoke(build_app(), args)
    if result.exit_code not in (0, 3):
        return result.exit_code, f"{result.stdout}\n{result.stderr}"
    return result.exit_code, result.stdout


def _world(root: Path) -> dict[str, Callable[[], str]]:
    shutil.copytree(REPO / "examples", root / "examples")
    classify = root / "examples" / "eval" / "classify.yaml"
    for name in ("classify.yaml", "a.yaml", "b.yaml", "my_variant.yaml"):
        shutil.copy(classify, root / name)
    lines = (REPO / "examples/data/banking10/val.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    (root / "data.jsonl").write_text(
        "".join(json.dumps({"question": r["text"], "label": r["intent"]}) + "\n" for r in rows)
    )
    (root / "article.txt").write_text("Otters hold hands while they sleep.\n")
    fixtures = REPO / "tests" / "fixtures" / "import"
    shutil.copy(fixtures / "pipeline_ex" / "simple_test.yaml", root / "workflow.yaml")
    shutil.copytree(fixtures / "wave" / "agents", root / ".agents")

    def waiting_run() -> str:
        code, out = _cli(["run", "examples/kinds/approval.yaml", "--json"])
        assert code == 3, out
        return str(json.loads(out)["run_id"])

    code, out = _cli([
        "evolve", "examples/evolve/counter.yaml", "--dataset", "examples/data/bbh_object_counting",
        "--map", "question=input", "--metric", "numeric[pick=first]", "--generations", "1",
        "--population", "2", "--offspring", "2", "--operators", "tool_search,params", "--json",
    ])  # fmt: skip
    assert code == 0, out
    evolution = json.loads(out)
    code, out = _cli(["generate", "Triage a bug report", "--json"])
    assert code == 0, out
    generation = str(json.loads(out)["generation_id"])[:8]
    with App(Settings.load(root)) as app:  # two promotions, so that rollback has a target
        registry = Registry(app.store)
        seed = loads((root / "examples/evolve/counter.yaml").read_text()).pipeline
        for n in (1, 2):
            registry.set_champion("bbh-object-counting", registry.add_version(
                "bbh-object-counting", f"cand{n}", seed, {}))  # fmt: skip
    champion = str(evolution["champion_id"])[:12]
    return {
        "RUN_ID": waiting_run,
        "STEP": lambda: "review",
        "PATH_OR_NAME": lambda: "examples/kinds/llm.yaml",
        "EVOLUTION_ID": lambda: evolution["run_id"],
        "evo_1a2b3c4d5e6f7a8b": lambda: evolution["run_id"],
        "<run id>": lambda: evolution["run_id"],
        "CANDIDATE_ID": lambda: champion,
        "6586383afe88": lambda: champion,
        "<champion id>": lambda: champion,
        "NAME": lambda: "bbh-object-counting",
        "3f2a9c1b": lambda: generation,
        "ID": lambda: "fake",
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Callable[[], str]]]:
    root = tmp_path_factory.mktemp("docs-world")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("EVOPIPE_MODEL", "fake")
        mp.setenv("EVOPIPE_DB", str(root / ".evopipe" / "evopipe.db"))
        mp.setenv("EVOPIPE_CONFIG", str(root / "no-user-config.toml"))
        yield _world(root)


COMMANDS = documented()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) >= 40
    assert {c.group for c in COMMANDS} >= {"run", "eval", "evolve", "generate", "validate"}


@pytest.mark.parametrize("command", COMMANDS, ids=[c.where for c in COMMANDS])
def test_documented_command_runs(command: Command, world: dict[str, Callable[[], str]]) -> None:
    args = argv(command, world)
    if command.group in SERVES or ON_A_CLUSTER in command.text:
        code, out = _cli([*args[:1], "--help"])
        assert code == 0, out
        for flag in (w.split("=")[0] for w in args if w.startswith("--")):
            assert flag in out, f"{command.where}: `{command.text}` shows {flag}, unknown"
        return
    code, out = _cli(args)
    expected = EXIT_OK.get(command.group, {0})
    assert code in expected, f"{command.where}: `{command.text}` exited {code}\n{out}"
