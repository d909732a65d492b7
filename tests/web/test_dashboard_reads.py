"""The dashboard's read models and forms without a browser: keyset pages over many runs
(each run once, newest first, filters applied), the spend groups, typed forms, and the pages'
HTTP behaviour (errors as pages, login redirects, CSRF)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_served import make_app

from evopipe.app import App, EvopipeError
from evopipe.app.dashboard import RunFilter
from evopipe.app.demo_store import ECHO, GATED, load_pipeline_text
from evopipe.server import create_server
from evopipe.server.web.forms import coerce, fields


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with make_app(tmp_path / "evopipe.db", "fake") as app:
        yield app


def _runs(app: App, n: int) -> list[str]:
    pipeline = load_pipeline_text(ECHO)

    async def go() -> list[str]:
        return [(await app.runs.run(pipeline, {"text": f"t{i}"})).run_id for i in range(n)]

    return asyncio.run(go())


def test_keyset_pages_cover_every_run_once_newest_first(app: App) -> None:
    made = _runs(app, 23)
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        page = app.dashboard.runs(RunFilter(), limit=5, cursor=cursor)
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(r["run_id"] for r in seen) == sorted(made)
    stamps = [(r["created_at"], r["run_id"]) for r in seen]
    assert stamps == sorted(stamps, reverse=True)
    assert app.dashboard.runs(RunFilter(pipeline="nope")).items == []
    assert len(app.dashboard.runs(RunFilter(status="succeeded"), limit=100).items) == 23
    assert app.dashboard.runs(RunFilter(tenant="default"), limit=1).next_cursor is not None
    with pytest.raises(EvopipeError, match="invalid page cursor"):
        app.dashboard.runs(RunFilter(), cursor="garbage")


def test_costs_group_by_tenant_pipeline_model_and_day(app: App) -> None:
    _runs(app, 3)
    grouped = app.dashboard.costs(None)
    assert [(r["key"], r["runs"]) for r in grouped["pipeline"]] == [("summarise", 3)]
    assert [(r["key"], r["runs"]) for r in grouped["tenant"]] == [("default", 3)]
    assert grouped["model"][0]["key"] == "fake"
    assert grouped["model"][0]["calls"] == 3
    assert sum(r["tokens"] for r in grouped["day"]) == grouped["model"][0]["tokens"] > 0


def test_a_waiting_step_is_in_the_inbox_with_its_message(app: App) -> None:
    asyncio.run(app.runs.run(load_pipeline_text(GATED), {}))
    waiting = app.dashboard.waiting(None)
    assert [(w["pipeline_name"], w["step"]["id"]) for w in waiting] == [("release-note", "review")]
    assert waiting[0]["step"]["message"].startswith("Publish this note?")
    assert app.dashboard.waiting("another-tenant") == []


def test_typed_forms_read_values_back_as_their_types() -> None:
    schema = {
        "n": {"type": "integer"},
        "x": {"type": "number", "default": 0.5},
        "ok": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "tags": {"type": "array"},
    }
    names = [f["widget"] for f in fields(schema)]
    assert names == ["number", "number", "checkbox", "select", "json"]
    form = {"p_n": "3", "p_x": "", "p_ok": "on", "p_mode": "slow", "p_tags": '["a"]'}
    assert coerce(schema, form, "p_") == {
        "n": 3,
        "x": 0.5,
        "ok": True,
        "mode": "slow",
        "tags": ["a"],
    }
    with pytest.raises(EvopipeError, match="field 'n'"):
        coerce(schema, {"p_n": "three"}, "p_")
    with pytest.raises(EvopipeError, match="not one of"):
        coerce(schema, {"p_mode": "medium"}, "p_")


async def test_pages_answer_errors_as_pages_and_refuse_forms_without_csrf(app: App) -> None:
    api = create_server(app, keyless=True)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        missing = await c.get("/ui/runs/no-such-run")
        assert missing.status_code == 404
        assert "text/html" in missing.headers["content-type"]
        assert "no run" in missing.text
        assert (
            (await c.get("/api/v1/runs/no-such-run"))
            .headers["content-type"]
            .startswith("application/problem+json")
        )
        refused = await c.post("/ui/chat", data={"message": "hi"})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        page = await c.get("/ui/chat")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert token is not None
        ok = await c.post("/ui/chat", data={"csrf": token.group(1), "message": "hi"})
        assert ok.status_code == 200


async def test_with_keys_every_page_asks_for_a_session(app: App) -> None:
    key = app.auth.create_key(tenant="acme", role="viewer", name="v")[0]
    api = create_server(app, keyless=False)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for path in ("/ui/runs", "/ui/approvals", "/ui/costs", "/ui/evolutions"):
            r = await c.get(path)
            assert r.status_code == 303
            assert r.headers["location"].startswith("/ui/login?next=")
        bad = await c.post("/ui/login", data={"key": "evp_wrong", "next": "/ui/costs"})
        assert "not valid" in bad.text
        assert "evopipe_session" not in bad.headers.get("set-cookie", "")
        good = await c.post("/ui/login", data={"key": key, "next": "https://evil.example/"})
        assert good.status_code == 303
        assert good.headers["location"] == "/ui/runs"
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert key not in cookie
        page = await c.get("/ui/runs")
        assert page.status_code == 200
        assert "acme · viewer" in page.text


BROKEN = """apiVersion: evopipe/v1
name: broken
inputs: {obj: {type: object}}
steps:
  - {id: a, kind: set, values: {x: 1}}
  - {id: b, kind: set, values: {y: "{{ inputs.obj.missing }}"}}
  - {id: c, kind: set, values: {z: "{{ steps.b.output.y }}"}}
"""


def test_steps_a_failed_run_never_got_to_show_as_not_run_a_waiting_run_s_as_pending(
    app: App,
) -> None:
    failed = asyncio.run(app.runs.run(load_pipeline_text(BROKEN), {"obj": {"present": 1}}))
    assert failed.status == "failed"
    view = app.dashboard.run(failed.run_id)
    assert [(s["id"], s["status"]) for s in view["steps"]] == [
        ("a", "succeeded"),
        ("b", "failed"),
        ("c", "not_run"),
    ]
    waiting = asyncio.run(app.runs.run(load_pipeline_text(GATED), {}))
    statuses = {s["id"]: s["status"] for s in app.dashboard.run(waiting.run_id)["steps"]}
    assert statuses["review"] == "waiting"
    assert "pending" in statuses.values()
    assert "not_run" not in statuses.values()


SECRET_GATED = (Path(__file__).parents[1] / "fixtures" / "secret-gated.yaml").read_text()


async def test_the_inbox_asks_for_a_runs_secret_inputs_again(app: App) -> None:
    token = "tok-inbox-5e8a20c4d1"
    run = await app.runs.run(load_pipeline_text(SECRET_GATED), {"token": token})
    assert run.status == "waiting"
    api = create_server(app, keyless=True)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        page = await c.get("/ui/approvals")
        assert 'type="password"' in page.text
        assert 'name="secret.token"' in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "decision": "approve"}
        without = await c.post(f"/ui/approvals/{run.run_id}/review", data=form)
        assert "secret inputs that were not stored (token)" in without.text
        assert app.runs.get(run.run_id)["status"] == "waiting"  # nothing recorded
        given = await c.post(
            f"/ui/approvals/{run.run_id}/review", data={**form, "secret.token": token}
        )
        assert given.status_code == 303
        for _ in range(100):  # the run continues in the background
            if app.runs.get(run.run_id)["status"] != "waiting":
                break
            await asyncio.sleep(0.05)
    assert app.runs.get(run.run_id)["outputs"] == {"ok": True}
