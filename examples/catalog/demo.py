"""The catalog end to end on the example service (``python examples/catalog/demo.py``).

1. registers the catalog's pipelines (development, testing, deployment, monitoring), each
   tagged with its category;
2. runs the hotfix workflow for release 1.0.0: tests, package, deploy, verify — succeeds;
3. runs it again for a deliberately broken release 1.0.1: the deployed release fails its
   health check, so the chain compensates — the rollback pipeline restores 1.0.0;
4. schedules the three monitors (every 5 / 15 / 5 minutes).

Side effects stay in ``--state`` (default ``examples/service/.state``); shell steps run under
the trusted policy. No model is called (the hotfix workflow has no model step).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from evopipe.app import App, Settings

HERE = Path(__file__).resolve().parent
OPS = HERE.parent / "service" / "ops.py"
MONITORS = {
    "monitor-health": "*/5 * * * *",
    "monitor-performance": "*/15 * * * *",
    "monitor-errors": "*/5 * * * *",
}


def fresh(state: Path) -> Path:
    """An empty state directory (the releases, logs and the demo's store go there)."""
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    return state


async def demo(state: Path, *, python: str = sys.executable) -> dict[str, Any]:
    """Deploy a good release with the hotfix workflow, then roll a broken one back; ``state``
    must exist and be empty (see :func:`fresh`)."""
    settings = Settings.load(db=str(state / "evopipe.db"), trust=True)
    inputs = {"ops": str(OPS), "state": str(state), "python": python}
    async with App(settings) as app:
        registered = [
            app.catalog.register_file(p) for p in sorted((HERE / "pipelines").glob("*.yaml"))
        ]
        hotfix = HERE / "workflows" / "hotfix.chain.yml"
        good = await app.chains.run(hotfix, {**inputs, "version": "1.0.0"})
        bad = await app.chains.run(hotfix, {**inputs, "version": "1.0.1", "broken": "true"})
        for name, cron in MONITORS.items():
            app.scheduling.add(
                name, cron, str(HERE / "pipelines" / f"{name}.yaml"), inputs, replace=True
            )
    current = (state / "releases" / "CURRENT").read_text(encoding="utf-8").strip()
    return {
        "registered": [f"{n} v{v}" for n, v in registered],
        "good_release": {"chain": good.chain_id, "status": good.status, "outputs": good.outputs},
        "broken_release": {
            "chain": bad.chain_id,
            "status": bad.status,
            "events": [f"{e['stage'] or '-'}: {e['action']}" for e in bad.events],
        },
        "current_release": current,
        "schedules": sorted(MONITORS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, default=HERE.parent / "service" / ".state")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(demo(fresh(args.state.resolve()))), indent=2))


if __name__ == "__main__":
    main()
