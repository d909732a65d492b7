"""Benchmark: validate 1,000 generated pipelines of 50 steps each (target: at most 5 s).

Each pipeline is YAML text with a realistic mix of kinds (llm, extract with contracts, set,
switch with cases, map with inner steps, conditions) and templates that read earlier steps'
contract fields, so every rule has work to do. ``seconds`` (the target) is what
``evopipe validate DIR`` takes on the files: reading, YAML parsing, schema validation and every
rule of the default profile, one worker process per core; ``seconds_one_process`` is the same
work in one process.
``seconds_checks_only`` runs the rules on already loaded pipelines (what evolution does for
each offspring).

    python bench/validate.py [--pipelines N] [--steps N]

Writes ``bench/results/validate.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from evopipe.check import check_pipeline, check_text
from evopipe.check.report import validate_paths
from evopipe.spec import loads

RESULTS = Path(__file__).resolve().parent / "results" / "validate.json"
TARGET_S = 5.0


def _contract(rng: random.Random) -> dict[str, Any]:
    fields = rng.sample(["label", "score", "summary", "title", "tags", "reason"], 3)
    props: dict[str, Any] = {f: {"type": "string"} for f in fields}
    return {"schema": {"type": "object", "properties": props, "required": fields[:1]}}


def _step(i: int, rng: random.Random, fields: dict[str, list[str]]) -> dict[str, Any]:
    sid = f"s{i}"
    earlier = [f"s{j}" for j in range(max(0, i - 6), i)]
    shape = i % 10
    if shape == 9 and i + 2 < 50:
        return {
            "id": sid,
            "kind": "switch",
            "cases": [{"when": f'inputs.mode == "m{i}"', "then": [f"s{i + 1}"]}],
            "default": [f"s{i + 2}"],
        }
    if shape == 5:
        inner = [
            {"id": "a", "kind": "llm", "prompt": "Item {{ index }}: {{ item }}"},
            {"id": "b", "kind": "set", "values": {"v": "{{ steps.a.output }}"}},
        ]
        return {"id": sid, "kind": "map", "over": "{{ inputs.items }}", "steps": inner}
    if shape == 3:
        return {"id": sid, "kind": "set", "values": {"n": i, "text": "{{ inputs.topic }}"}}
    reads = [f"{{{{ steps.{e}.output.{fields[e][0]} }}}}" for e in earlier if fields.get(e)][:2]
    step: dict[str, Any] = {
        "id": sid,
        "kind": "extract" if shape in (0, 4, 8) else "llm",
        "prompt": f"Step {i} about {{{{ inputs.topic }}}}. " + " ".join(reads),
    }
    if shape in (0, 4, 8) or rng.random() < 0.3:
        step["output"] = _contract(rng)
        fields[sid] = list(step["output"]["schema"]["properties"])
    if rng.random() < 0.2 and earlier:
        step["when"] = f'len(inputs.topic) > {i} and inputs.mode != "off"'
    return step


def make_pipeline(n: int, steps: int, seed: int) -> str:
    rng = random.Random(seed)
    fields: dict[str, list[str]] = {}
    doc = {
        "apiVersion": "evopipe/v1",
        "name": f"bench-{n}",
        "description": "Benchmark pipeline.",
        "inputs": {
            "topic": {"type": "string"},
            "mode": {"type": "string", "default": "m"},
            "items": {"type": "array", "items": {"type": "string"}},
        },
        "defaults": {"model": "fake"},
        "limits": {"max_steps": 200},
        "outputs": {"last": f"{{{{ steps.s{steps - 1}.output }}}}"},
        "steps": [_step(i, rng, fields) for i in range(steps)],
    }
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, width=100)


def run(pipelines: int, steps: int) -> dict[str, Any]:
    texts = [make_pipeline(n, steps, seed=n) for n in range(pipelines)]
    problems = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for n, text in enumerate(texts):
        problems += len(check_text(text, f"bench-{n}.yaml"))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    loaded = [loads(text, f"bench-{n}.yaml") for n, text in enumerate(texts)]
    start = time.perf_counter()
    for item in loaded:
        check_pipeline(item.pipeline, item.source)
    seconds_loaded = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        for n, text in enumerate(texts):
            Path(tmp, f"bench-{n:04d}.yaml").write_text(text, encoding="utf-8")
        start = time.perf_counter()
        reports = validate_paths([tmp])
        seconds_files = time.perf_counter() - start
    if len(reports) != pipelines or sum(len(r.diagnostics) for r in reports) != problems:
        raise RuntimeError("the parallel path disagrees with the in-process check")
    return {
        "benchmark": "validate",
        "pipelines": pipelines,
        "steps_per_pipeline": steps,
        "seconds": round(seconds_files, 3),
        "seconds_what": "evopipe validate DIR: files read and checked by one worker per core",
        "workers": os.cpu_count(),
        "seconds_one_process": round(seconds, 3),
        "cpu_seconds_one_process": round(cpu, 3),
        "seconds_checks_only": round(seconds_loaded, 3),
        "pipelines_per_second": round(pipelines / seconds_files, 1),
        "yaml_lines_per_pipeline": round(sum(t.count("\n") for t in texts) / len(texts)),
        "target_seconds": TARGET_S,
        "within_target": seconds_files <= TARGET_S,
        "diagnostics": problems,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipelines", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    result = run(args.pipelines, args.steps)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["within_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
