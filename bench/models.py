"""Embedded model benchmark: SmolLM2-135M-Instruct (Q4_1 GGUF) via llama-cpp-python.

Measures, in one process on one loaded model:
- prompt processing and generation tokens/s (llama.cpp's own perf counters);
- p50 latency of a schema-constrained call through ``local:smollm2-135m``;
- the adapter's overhead against calling llama-cpp-python directly: the same request (temperature
  0, so both paths generate the same tokens) alternately through ``LocalModel.complete`` and
  ``Llama.create_chat_completion``, for a plain and a schema-constrained request. Goal <= 5 %.

Writes ``bench/results/models.json``.

    .venv/bin/python bench/models.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from evopipe.models import Message, ModelHub, ModelRequest
from evopipe.models.adapters.local import LocalModel, chat_kwargs

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "models.json"
SCHEMA = {
    "type": "object",
    "properties": {
        "sentiment": {"enum": ["positive", "negative", "neutral"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
    },
    "required": ["sentiment", "confidence"],
}
LONG_PROMPT = " ".join(
    f"Sentence {i}: the quick brown fox jumps over the lazy dog near the river bank."
    for i in range(24)
)


def perf(llama: Any) -> dict[str, float]:
    import llama_cpp

    data = llama_cpp.llama_perf_context(llama._ctx.ctx)
    return {
        "t_p_eval_ms": data.t_p_eval_ms,
        "n_p_eval": data.n_p_eval,
        "t_eval_ms": data.t_eval_ms,
        "n_eval": data.n_eval,
    }


def reset_perf(llama: Any) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llama._ctx.ctx)


def throughput(llama: Any, repeats: int) -> dict[str, float]:
    """Wall-clock tokens/s from llama.cpp's counters, and tokens per CPU-second of this process
    (robust when other work shares the CPU; the model runs on one thread)."""
    pp, tg, pp_cpu, tg_cpu = [], [], [], []
    for i in range(repeats):
        llama.reset()  # no KV prefix reuse: the whole prompt is processed every time
        reset_perf(llama)
        cpu = time.process_time()
        llama.create_completion(f"Run {i}. {LONG_PROMPT}", max_tokens=1, temperature=0)
        pp_cpu.append(perf(llama)["n_p_eval"] / (time.process_time() - cpu))
        p = perf(llama)
        pp.append(p["n_p_eval"] / (p["t_p_eval_ms"] / 1000))
        reset_perf(llama)
        cpu = time.process_time()
        llama.create_completion(f"Run {i}. Tell a story.", max_tokens=48, temperature=0)
        g = perf(llama)
        tg_cpu.append(g["n_eval"] / (time.process_time() - cpu))
        tg.append(g["n_eval"] / (g["t_eval_ms"] / 1000))
    return {
        "prompt_tokens": p["n_p_eval"],
        "prompt_tokens_per_s_best": max(pp),
        "prompt_tokens_per_s_median": statistics.median(pp),
        "prompt_tokens_per_cpu_s_median": statistics.median(pp_cpu),
        "generation_tokens_per_s_best": max(tg),
        "generation_tokens_per_s_median": statistics.median(tg),
        "generation_tokens_per_cpu_s_median": statistics.median(tg_cpu),
    }


def request(schema: dict[str, Any] | None, max_tokens: int) -> ModelRequest:
    return ModelRequest(
        messages=(
            Message("system", "Classify the sentiment of the review."),
            Message("user", "The food was cold and the waiter was rude."),
        ),
        output_schema=schema,
        temperature=0,
        seed=1,
        max_tokens=max_tokens,
    )


async def overhead(
    model: LocalModel, llama: Any, req: ModelRequest, repeats: int
) -> dict[str, Any]:
    """Alternate adapter and direct calls; both run in a worker thread (the adapter's way of
    not blocking the loop), so the difference is the adapter's own work."""
    kwargs = chat_kwargs(req)
    adapter, direct, adapter_cpu, direct_cpu = [], [], [], []
    texts = set()
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        response = await model.complete(req)
        adapter.append(time.perf_counter() - start)
        adapter_cpu.append(time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        result = await asyncio.to_thread(llama.create_chat_completion, **kwargs)
        direct.append(time.perf_counter() - start)
        direct_cpu.append(time.process_time() - cpu)
        texts.add((response.text, result["choices"][0]["message"]["content"]))
    a, d = statistics.median(adapter), statistics.median(direct)
    ac, dc = statistics.median(adapter_cpu), statistics.median(direct_cpu)
    return {
        "adapter_cpu_ms_median": ac * 1000,
        "direct_cpu_ms_median": dc * 1000,
        "overhead_pct_cpu_median": (ac - dc) / dc * 100,
        "adapter_ms_median": a * 1000,
        "direct_ms_median": d * 1000,
        "adapter_ms_min": min(adapter) * 1000,
        "direct_ms_min": min(direct) * 1000,
        "overhead_pct_median": (a - d) / d * 100,
        "overhead_pct_min": (min(adapter) - min(direct)) / min(direct) * 100,
        "same_output": all(x == y for x, y in texts),
    }


async def main(repeats: int) -> dict[str, Any]:
    model = ModelHub().get("local:smollm2-135m")
    assert isinstance(model, LocalModel)
    start = time.perf_counter()
    runtime = await model.runtime()
    load_s = time.perf_counter() - start
    llama = runtime.llama
    await model.complete(request(SCHEMA, 24))  # warm-up
    tp = throughput(llama, max(3, repeats // 2))
    latencies = []
    valid = 0
    for i in range(repeats):
        req = ModelRequest(
            messages=request(SCHEMA, 24).messages, output_schema=SCHEMA, max_tokens=24, seed=i
        )
        t = time.perf_counter()
        response = await model.complete(req)
        latencies.append((time.perf_counter() - t) * 1000)
        valid += response.data is not None
    return {
        "model": model.id,
        "gguf": model.path.name,
        "load_s": load_s,
        **tp,
        "schema_call_p50_ms": statistics.median(latencies),
        "schema_call_valid": f"{valid}/{repeats}",
        "overhead_plain": await overhead(model, llama, request(None, 32), repeats),
        "overhead_schema": await overhead(model, llama, request(SCHEMA, 24), repeats),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    figures = asyncio.run(main(args.repeats))
    figures.update(
        {
            "repeats": args.repeats,
            "load_average_at_start": load_before,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
