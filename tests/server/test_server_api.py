"""The API end to end over the ASGI transport: runs through the queue and its workers,
pagination, errors as problem+json with diagnostics, credentials, body limits, rate limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from evopipe.app.ratelimit import Rate
from evopipe.app.serving import ServerOptions

PROBLEM = "application/problem+json"


async def test_health_and_openapi_are_published(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json()["authentication"] == "keys"
    doc = (await client.get("/openapi.json")).json()
    assert "/api/v1/runs/{run_id}/events" in doc["paths"]
    assert "/api/v1/runs/wait" in doc["paths"]


async def test_a_run_posted_and_waited_for_succeeds_with_its_outputs(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient, workers: None
) -> None:
    body = {"spec": specs["echo"], "inputs": {"text": "otters"}, "timeout_s": 30}
    response = await client.post("/runs/wait", json=body, headers=served.headers("a:runner"))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["done"] is True
    run = data["run"]
    assert run["status"] == "succeeded"
    assert run["tenant"] == "a"
    assert set(run["outputs"]) == {"summary"}
    again = await client.get(f"/runs/{run['run_id']}", headers=served.headers("a:viewer"))
    assert again.json()["outputs"] == run["outputs"]


async def test_runs_are_listed_newest_first_page_by_page_without_overlap(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient
) -> None:
    ids = []
    for i in range(5):
        posted = await client.post(
            "/runs",
            json={"spec": specs["echo"], "inputs": {"text": str(i)}},
            headers=served.headers("a:runner"),
        )
        assert posted.status_code == 202, posted.text
        assert posted.json()["status"] == "queued"
        ids.append(posted.json()["run_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/runs", params=params, headers=served.headers("a:viewer"))).json()
        seen += [r["run_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    queued = await client.get(
        "/runs", params={"status": "done"}, headers=served.headers("a:viewer")
    )
    assert queued.json()["items"] == []


async def test_an_invalid_spec_is_a_422_problem_with_located_diagnostics(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient
) -> None:
    bad = specs["echo"].replace("kind: llm", "kind: nosuchkind")
    response = await client.post("/runs", json={"spec": bad}, headers=served.headers("a:runner"))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    diag = problem["diagnostics"][0]
    assert diag["line"] == 7
    assert diag["column"] > 0
    assert diag["rule"]
    verdict = await client.post(
        "/pipelines/validate", json={"spec": bad}, headers=served.headers("a:viewer")
    )
    assert verdict.status_code == 200
    assert verdict.json()["valid"] is False
    assert verdict.json()["diagnostics"][0]["line"] == 7


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"pipeline": "/etc/passwd"}, 400),
        ({"pipeline": "../secrets.yaml"}, 400),
        ({"pipeline": "no-such-name"}, 404),
        ({"pipeline": "x", "spec": "ECHO"}, 400),
        ({}, 400),
        ({"spec": "ECHO", "inputs": {"text": 3, "nope": 1}}, 400),
        ({"spec": "ECHO", "strategy": "explode"}, 422),
        ({"spec": "ECHO", "surprise": 1}, 422),
    ],
)
async def test_bad_run_requests_are_4xx_problems(
    specs: dict[str, str],
    served: Any,
    client: httpx.AsyncClient,
    payload: dict[str, object],
    status: int,
) -> None:
    """(``"ECHO"`` stands for a valid spec.)"""
    payload = {k: specs["echo"] if v == "ECHO" else v for k, v in payload.items()}
    response = await client.post("/runs", json=payload, headers=served.headers("a:runner"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM


async def test_credentials_header_only_unknown_revoked_and_query_keys_refused(
    served: Any, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/runs")).status_code == 401
    bogus = {"Authorization": "Bearer evp_000000000000_" + "x" * 43}
    assert (await client.get("/runs", headers=bogus)).status_code == 401
    key = served.keys["a:viewer"]
    in_query = await client.get("/runs", params={"api_key": key})
    assert in_query.status_code == 401
    assert "query string" in in_query.json()["detail"]
    token_in_header = await client.get("/runs", headers={"X-API-Key": key})
    assert token_in_header.status_code == 200
    key_id = key.split("_")[1]
    revoked = await client.post(f"/keys/{key_id}/revoke", headers=served.headers("a:admin"))
    assert revoked.status_code == 200
    assert (await client.get("/runs", headers=served.headers("a:viewer"))).status_code == 401


async def test_a_wrong_secret_for_a_known_key_id_is_refused(
    served: Any, client: httpx.AsyncClient
) -> None:
    good = served.keys["a:viewer"]
    assert (await client.get("/runs", headers={"X-API-Key": good})).status_code == 200
    forged = good[: good.rindex("_") + 1] + "y" * 43
    assert (await client.get("/runs", headers={"X-API-Key": forged})).status_code == 401


async def test_a_body_above_the_limit_is_413(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient
) -> None:
    big = {"spec": specs["echo"], "inputs": {"text": "x" * 1_100_000}}
    response = await client.post("/runs", json=big, headers=served.headers("a:runner"))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_the_rate_limit_answers_429_with_retry_after_and_policy(served: Any) -> None:
    from evopipe.server import create_server

    tight = ServerOptions(key_rate=Rate(burst=3, per_s=0.5), tenant_rate=Rate(100, 100.0))
    api = create_server(served.app, tight, keyless=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://test/api/v1"
    ) as client:
        codes = [
            (await client.get("/runs", headers=served.headers("a:viewer"))).status_code
            for _ in range(4)
        ]
        refused = await client.get("/runs", headers=served.headers("a:viewer"))
        other_key = await client.get("/runs", headers=served.headers("a:runner"))
    assert codes == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert '"key";q=3;w=6' in refused.headers["ratelimit-policy"]
    assert refused.headers["ratelimit"].startswith('"key";r=0')
    assert other_key.status_code == 200  # another key has its own bucket


async def test_a_waiting_step_is_approved_with_a_typed_decision(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient, workers: None
) -> None:
    posted = await client.post(
        "/runs/wait",
        json={"spec": specs["gated"], "timeout_s": 30},
        headers=served.headers("a:runner"),
    )
    run = posted.json()["run"]
    assert run["status"] == "waiting", run
    bad = await client.post(
        f"/runs/{run['run_id']}/approve",
        json={"step": "review"},
        headers=served.headers("a:runner"),
    )
    assert bad.status_code == 422
    done = await client.post(
        f"/runs/{run['run_id']}/approve",
        json={"step_id": "review", "comment": "fine"},
        headers=served.headers("a:runner"),
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded"
    twice = await client.post(
        f"/runs/{run['run_id']}/reject",
        json={"step_id": "review"},
        headers=served.headers("a:runner"),
    )
    assert twice.status_code == 400


async def test_an_approval_gives_the_typed_values_its_step_asks_for(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient, workers: None
) -> None:
    posted = await client.post(
        "/runs/wait",
        json={"spec": specs["typed"], "timeout_s": 30},
        headers=served.headers("a:runner"),
    )
    run = posted.json()["run"]
    assert run["status"] == "waiting", run
    path = f"/runs/{run['run_id']}/approve"
    refused = await client.post(
        path,
        json={"step_id": "review", "values": {"copies": "12"}},
        headers=served.headers("a:runner"),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["title"] == "Invalid values"
    assert "copies: 12 is above the maximum 9" in refused.json()["detail"]
    still = await client.get(f"/runs/{run['run_id']}", headers=served.headers("a:runner"))
    assert still.json()["status"] == "waiting"  # nothing was recorded
    done = await client.post(
        path,
        json={"step_id": "review", "values": {"copies": 4}},
        headers=served.headers("a:runner"),
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded"
    assert done.json()["outputs"] == {"copies": 4}


async def test_a_queued_run_is_cancelled(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient
) -> None:
    posted = await client.post(
        "/runs", json={"spec": specs["echo"]}, headers=served.headers("a:runner")
    )
    run_id = posted.json()["run_id"]
    cancelled = await client.post(f"/runs/{run_id}/cancel", headers=served.headers("a:runner"))
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelled"


async def test_keys_are_managed_per_tenant_by_admins(
    served: Any, client: httpx.AsyncClient
) -> None:
    made = await client.post(
        "/keys", json={"role": "viewer", "name": "ci"}, headers=served.headers("a:admin")
    )
    assert made.status_code == 201
    new_key = made.json()["key"]
    assert made.json()["tenant"] == "a"
    listed = (await client.get("/keys", headers=served.headers("a:admin"))).json()
    assert {k["tenant"] for k in listed} == {"a"}
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    ok = await client.get("/runs", headers={"Authorization": f"Bearer {new_key}"})
    assert ok.status_code == 200
    other = served.keys["b:viewer"].split("_")[1]
    cross = await client.post(f"/keys/{other}/revoke", headers=served.headers("a:admin"))
    assert cross.status_code == 404
    assert (await client.get("/runs", headers=served.headers("b:viewer"))).status_code == 200


async def test_a_busy_thread_key_refuses_with_409_under_the_reject_strategy(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient
) -> None:
    body = {"spec": specs["echo"], "key": "thread-1", "strategy": "reject"}
    first = await client.post("/runs", json=body, headers=served.headers("a:runner"))
    assert first.status_code == 202
    second = await client.post("/runs", json=body, headers=served.headers("a:runner"))
    assert second.status_code == 409
    assert second.headers["content-type"] == PROBLEM
    other_tenant = await client.post("/runs", json=body, headers=served.headers("b:runner"))
    assert other_tenant.status_code == 202  # keys are per tenant


async def test_an_approval_through_the_api_continues_on_a_worker_metered(
    specs: dict[str, str], served: Any, client: httpx.AsyncClient, workers: None
) -> None:
    """The steps after an approval run on a queue worker: their model calls are ledger rows of
    the run's tenant, like the calls before it (nothing runs outside the budget)."""
    posted = await client.post(
        "/runs/wait",
        json={"spec": specs["gated"], "timeout_s": 30},
        headers=served.headers("a:runner"),
    )
    run_id = posted.json()["run"]["run_id"]
    assert [r.step_id for r in served.app.queue.costs(run_id=run_id)] == ["draft"]
    done = await client.post(
        f"/runs/{run_id}/approve",
        json={"step_id": "review", "comment": "fine"},
        headers=served.headers("a:runner"),
    )
    assert done.json()["status"] == "succeeded", done.text
    rows = served.app.queue.costs(run_id=run_id)
    assert [(r.step_id, r.tenant) for r in rows] == [("draft", "a"), ("after", "a")]
    queued = served.app.queue.get(run_id)
    assert (queued.status, queued.outcome) == ("done", "succeeded")


SECRET_GATED = (Path(__file__).parents[1] / "fixtures" / "secret-gated.yaml").read_text()


async def test_an_approval_gives_a_runs_secret_inputs_again(
    served: Any, client: httpx.AsyncClient, workers: None
) -> None:
    token = "tok-server-0b7e3d51a9"
    posted = await client.post(
        "/runs/wait",
        json={"spec": SECRET_GATED, "inputs": {"token": token}, "timeout_s": 30},
        headers=served.headers("a:runner"),
    )
    run = posted.json()["run"]
    assert run["status"] == "waiting", run
    path = f"/runs/{run['run_id']}/approve"
    headers = served.headers("a:runner")
    refused = await client.post(path, json={"step_id": "review"}, headers=headers)
    assert refused.status_code == 400
    assert "secret inputs that were not stored (token)" in refused.text
    done = await client.post(
        path, json={"step_id": "review", "secrets": {"token": token}}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded"
    assert done.json()["outputs"] == {"ok": True}  # the resumed step had the real token
    app = served.app
    assert app.queue.rq.get(run["run_id"]).inputs == {"token": "[REDACTED:token]"}
    assert token not in json.dumps(app.runs.get(run["run_id"]))
    assert token not in json.dumps([e.to_json() for e in app.journal.load_events(run["run_id"])])
