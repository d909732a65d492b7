"""Generated over every operation of the published OpenAPI document:

- tenant A's admin key on each of tenant B's resources answers 404 (as for a resource that does
  not exist), while B's own key reaches it; operations without a resource in the path leak none
  of B's identifiers to A;
- a viewer cannot mutate: every operation that changes something answers 403 to a viewer, and
  nothing changed.

A new operation is covered automatically (the test fails if it cannot classify one).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from evopipe.auth import ownership
from evopipe.orchestrate.registry import Registry
from evopipe.spec import loads

READ_ONLY_POSTS = {"/api/v1/pipelines/validate", "/api/v1/tokens"}
"""POST operations that change nothing (a check; minting a token for one's own key)."""
PUBLIC = {"/api/v1/health"}
CONTROLLED = {"run_id", "name", "key_id", "decision"}
"""Path parameters whose resources are real, so B's own key must reach them (a control)."""


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _body(method: str, path: str, specs: dict[str, str], ids: dict[str, str]) -> Any:
    if method != "POST":
        return None
    bodies: dict[str, Any] = {
        "/api/v1/runs": {"spec": specs["echo"]},
        "/api/v1/runs/wait": {"spec": specs["echo"], "timeout_s": 0.01},
        "/api/v1/pipelines/validate": {"spec": specs["echo"]},
        "/api/v1/keys": {"role": "viewer"},
        "/api/v1/generations": {"request": "summarise a text", "max_rounds": 1},
        "/api/v1/evaluations": {
            "pipeline": ids["name"],
            "rows": [{"text": "x", "expected": "y"}],
        },
        "/api/v1/registry/promote": {"candidate": ids["candidate"]},
        "/api/v1/evolutions": {
            "spec": specs["echo"],
            "rows": [{"text": "x", "expected": "y"}] * 4,
            "generations": 0,
        },
    }
    if path.endswith("/{decision}"):
        return {"step_id": "review"}
    return bodies.get(path, {})


async def _tenant_resources(
    served: Any, client: httpx.AsyncClient, tenant: str, spec: str
) -> dict[str, str]:
    """A run, a registered name, a generation, an evolution and a key of ``tenant``."""
    posted = await client.post(
        "/runs", json={"spec": spec}, headers=served.headers(f"{tenant}:runner")
    )
    assert posted.status_code == 202, posted.text
    store = served.app.store
    name = f"{tenant}-pipe"
    registry = Registry(store)
    registry.add_version(name, f"cand{tenant}000000", loads(spec).pipeline, {"why": "test"})
    ownership.claim(store, "registry", name, tenant)
    ownership.claim(store, "generation", f"gen-{tenant}", tenant)
    ownership.claim(store, "evolution", f"evo-{tenant}", tenant)
    return {
        "run_id": posted.json()["run_id"],
        "name": name,
        "generation_id": f"gen-{tenant}",
        "evolution_id": f"evo-{tenant}",
        "key_id": served.keys[f"{tenant}:viewer"].split("_")[1],
        "candidate": f"cand{tenant}000000",
        "decision": "approve",
    }


def _url(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path).removeprefix("/api/v1")


async def test_no_operation_crosses_tenants(
    served: Any, client: httpx.AsyncClient, specs: dict[str, str]
) -> None:
    ids_a = await _tenant_resources(served, client, "a", specs["echo"])
    ids_b = await _tenant_resources(served, client, "b", specs["echo"])
    doc = (await client.get("/openapi.json")).json()
    checked = 0
    for method, path, _op in _operations(doc):
        if path in PUBLIC:
            continue
        params = re.findall(r"\{(\w+)\}", path)
        body = _body(method, path, specs, ids_b)
        url = _url(path, ids_b)
        cross = await client.request(method, url, json=body, headers=served.headers("a:admin"))
        names_b = any(v in str(body) for v in ids_b.values())
        if params or names_b:
            assert cross.status_code == 404, (method, path, cross.status_code, cross.text)
            assert cross.headers["content-type"] == "application/problem+json"
            if params and set(params) <= CONTROLLED:
                own = await client.request(
                    method, url, json=body, headers=served.headers("b:admin")
                )
                assert own.status_code != 404, (method, path, own.text)
        else:
            for secret in (ids_b["run_id"], ids_b["name"], ids_b["key_id"], "gen-b"):
                assert secret not in cross.text, (method, path)
        checked += 1
    assert checked >= 20
    # and A still sees its own
    listed = await client.get("/runs", headers=served.headers("a:viewer"))
    assert ids_a["run_id"] in listed.text


async def test_a_viewer_cannot_mutate(
    served: Any, client: httpx.AsyncClient, specs: dict[str, str]
) -> None:
    ids = await _tenant_resources(served, client, "a", specs["echo"])
    doc = (await client.get("/openapi.json")).json()

    def state() -> tuple[Any, ...]:
        app = served.app
        return (
            [r.run_id for r in app.queue.list(tenant="a", limit=100).items],
            [(r.run_id, r.status) for r in app.queue.list(limit=100).items],
            Registry(app.store).names(),
        )

    before = state()
    mutating = [(m, p) for m, p, _ in _operations(doc) if m != "GET" and p not in READ_ONLY_POSTS]
    assert len(mutating) >= 10
    for method, path in mutating:
        body = _body(method, path, specs, ids)
        response = await client.request(
            method, _url(path, ids), json=body, headers=served.headers("a:viewer")
        )
        assert response.status_code == 403, (method, path, response.status_code, response.text)
    assert state() == before

    assert all(k.revoked_at is None for k in served.app.auth.list_keys("a"))


@pytest.mark.parametrize("who", ["a:viewer", "a:runner", "a:editor", "a:admin"])
async def test_reads_are_open_to_every_role(
    served: Any, client: httpx.AsyncClient, who: str
) -> None:
    for url in ("/runs", "/pipelines", "/registry", "/models", "/generations"):
        assert (await client.get(url, headers=served.headers(who))).status_code == 200, url
