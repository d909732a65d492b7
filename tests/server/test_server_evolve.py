"""Evolutions over HTTP: started on posted rows, followed by a progress stream replayed from
any point, owned by the tenant that started them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

ROWS = [{"text": f"item {i}", "expected": f"label {i % 2}"} for i in range(8)]


def _events(text: str) -> list[tuple[int | None, str]]:
    out = []
    for frame in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in frame.split("\n") if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            out.append((int(fields["id"]) if "id" in fields else None, fields["event"]))
    return out


async def test_an_evolution_streams_its_progress_and_replays_from_any_point(
    served: Any, client: httpx.AsyncClient, specs: dict[str, str]
) -> None:
    body = {
        "spec": specs["echo"],
        "rows": ROWS,
        "generations": 1,
        "population": 2,
        "offspring": 2,
        "budget_calls": 200,
    }
    started = await client.post("/evolutions", json=body, headers=served.headers("a:editor"))
    assert started.status_code == 202, started.text
    evolution_id = started.json()["evolution_id"]
    url = f"/evolutions/{evolution_id}"
    async with asyncio.timeout(120):
        while True:  # polling the API is what the test is about
            if (await client.get(url, headers=served.headers("a:viewer"))).json()["done"]:
                break
            await asyncio.sleep(0.2)
    final = (await client.get(url, headers=served.headers("a:viewer"))).json()
    assert final["outcome"]["status"] == "finished", final
    full = await client.get(f"{url}/events", headers=served.headers("a:viewer"))
    assert full.headers["x-accel-buffering"] == "no"
    events = _events(full.text)
    ids = [i for i, kind in events if kind == "progress"]
    assert ids == list(range(1, final["progress_events"] + 1))
    assert events[-1] == (None, "end")
    resumed = await client.get(
        f"{url}/events", headers={**served.headers("a:viewer"), "Last-Event-ID": "2"}
    )
    assert [i for i, k in _events(resumed.text) if k == "progress"] == ids[2:]
    other = await client.get(f"{url}/events", headers=served.headers("b:admin"))
    assert other.status_code == 404
    lineage = await client.get(f"{url}/lineage", headers=served.headers("a:viewer"))
    assert lineage.status_code == 200


async def test_a_runner_cannot_start_an_evolution(
    served: Any, client: httpx.AsyncClient, specs: dict[str, str]
) -> None:
    body = {"spec": specs["echo"], "rows": ROWS}
    refused = await client.post("/evolutions", json=body, headers=served.headers("a:runner"))
    assert refused.status_code == 403
