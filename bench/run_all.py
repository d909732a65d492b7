"""Run every benchmark in ``bench/`` (``make bench``).

Each ``bench/NAME.py`` runs as a script with its default arguments (its ``__main__`` block),
one after the other so that they do not disturb each other's timings; each writes its own
``bench/results/NAME.json``. Adding a benchmark is dropping a file here. ``chaos.py`` has its
own target (``make chaos``); files starting with ``_`` are helpers.

    python bench/run_all.py            # all of them
    python bench/run_all.py validate   # only some

Exit status: 0 if every benchmark exited 0, else 1. A summary goes to
``bench/results/run_all.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
EXCLUDED = frozenset({"run_all", "chaos"})


def discover(names: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, sorted; ``names`` selects some (without ``.py``)."""
    found = sorted(
        p for p in BENCH_DIR.glob("*.py") if p.stem not in EXCLUDED and not p.stem.startswith("_")
    )
    if names:
        wanted = set(names)
        missing = wanted - {p.stem for p in found}
        if missing:
            raise SystemExit(f"no such benchmark: {', '.join(sorted(missing))}")
        found = [p for p in found if p.stem in wanted]
    return found


def run_one(script: Path) -> dict[str, object]:
    print(f"== {script.stem}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent, check=False)
    seconds = round(time.perf_counter() - start, 2)
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    print(f"== {script.stem}: {status} in {seconds} s", flush=True)
    return {"benchmark": script.stem, "exit_code": proc.returncode, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    results = [run_one(script) for script in discover(args)]
    out = BENCH_DIR / "results" / "run_all.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"runs": results}, indent=2) + "\n", encoding="utf-8")
    failed = [r["benchmark"] for r in results if r["exit_code"] != 0]
    print(f"{len(results) - len(failed)}/{len(results)} benchmarks passed", flush=True)
    if failed:
        print("failed: " + ", ".join(map(str, failed)), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
