"""Screenshots of every dashboard page, from a seeded demo store (fake model: no network, no
cost), written to ``docs/screenshots/``: ``python scripts/screenshots.py``.

The store holds finished runs, a run waiting for an approval, a short evolution whose champion
is registered, registered versions and a generation (``evopipe.app.demo_store``). The pages
are served by ``evopipe serve``'s own loop on 127.0.0.1 and photographed in Debian's Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))  # web_served: seeding and serving

from web_served import CHROMIUM, FLAGS, start_served  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        served_iter = start_served(Path(tmp), model="fake")
        served = next(served_iter)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(served.url("/ui/runs"))
                run = page.locator("a[href^='/ui/runs/']").nth(2).get_attribute("href")
                page.goto(served.url("/ui/generations"))
                generation = page.locator("a[href^='/ui/generations/']").first.get_attribute("href")
                shots = {
                    "runs": "/ui/runs",
                    "run": run,
                    "approvals": "/ui/approvals",
                    "pipelines": "/ui/pipelines",
                    "pipeline": "/ui/pipelines/bbh-object-counting",
                    "generation": generation,
                    "evolution": f"/ui/evolutions/{served.ids['evolution']}",
                    "costs": "/ui/costs",
                }
                for name, path in shots.items():
                    page.goto(served.url(str(path)))
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                page.goto(served.url("/ui/chat"))
                page.get_by_label("Message").fill(
                    "Triage this bug into area and severity, and draft a reply"
                )
                page.get_by_role("button", name="Send").click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / "chat.png"), full_page=True)
                browser.close()
        finally:
            served_iter.close()
    print(f"wrote {len(list(OUT.glob('*.png')))} screenshots to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
