"""The ``session`` kind: conversations kept across steps and runs, persisted, per user."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents_helpers import run_agent

from evopipe.engine.conversations import ConversationStore, MemoryConversations
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.store import Store
from evopipe.store.conversations import StoreConversations

TWO_TURNS = """
inputs: {user: {type: string}, first: {type: string}, second: {type: string}}
steps:
  - {id: one, kind: session, user: "{{ inputs.user }}", session: help, prompt: "{{ inputs.first }}"}
  - id: two
    kind: session
    user: "{{ inputs.user }}"
    session: help
    system: be brief
    prompt: "{{ inputs.second }} (after {{ steps.one.output }})"
"""


def echo() -> FunctionModel:
    """Replies with what it was sent: the conversation as the model saw it."""

    def fn(request: ModelRequest) -> str:
        said = [m.content for m in request.messages if m.role == "user"]
        return f"reply#{len(request.messages)} to {said[-1]}"

    return FunctionModel(fn, model_id="agentmodel")


@pytest.fixture(params=["sqlite", "memory"])
def conversations(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConversationStore]:
    if request.param == "memory":
        yield MemoryConversations()
        return
    with Store.open(str(tmp_path / "c.db")) as store:
        yield StoreConversations(store)


async def _say(store: ConversationStore, ws: Path, user: str, first: str, second: str) -> Any:
    inputs = {"user": user, "first": first, "second": second}
    return await run_agent(TWO_TURNS, ws, echo(), inputs=inputs, hooks={"conversations": store})


def _seen(store: ConversationStore, user: str) -> list[str]:
    return [m.content for m in store.messages(user, "help")]


async def test_a_conversation_continues_across_steps_and_runs(
    conversations: ConversationStore, ws: Path
) -> None:
    first = await _say(conversations, ws, "alice", "hi", "how are you")
    assert first.ok, first.error
    assert first.step("one").output == "reply#1 to hi"
    # the second step saw the first exchange (system + 2 history + prompt = 4 messages)
    assert first.step("two").output == "reply#4 to how are you (after reply#1 to hi)"
    again = await _say(conversations, ws, "alice", "back", "bye")
    assert again.step("one").output == "reply#5 to back"  # 4 earlier messages + the prompt
    assert len(_seen(conversations, "alice")) == 8


async def test_two_users_never_see_each_others_messages(
    conversations: ConversationStore, ws: Path
) -> None:
    await _say(conversations, ws, "alice", "my password hint is tulip", "ok")
    model = echo()
    inputs = {"user": "bob", "first": "hello", "second": "what did alice say?"}
    result = await run_agent(
        TWO_TURNS, ws, model, inputs=inputs, hooks={"conversations": conversations}
    )
    assert result.ok
    sent = "\n".join(m.content for r in model.calls for m in r.messages)
    assert "tulip" not in sent
    assert result.step("one").output == "reply#1 to hello"  # no history: a fresh conversation
    assert not any("tulip" in text for text in _seen(conversations, "bob"))
    assert [s.session for s in conversations.sessions("bob")] == ["help"]
    assert [s.messages for s in conversations.sessions("alice")] == [4]
    assert conversations.sessions("mallory") == []


async def test_a_stored_turn_is_not_asked_again(conversations: ConversationStore, ws: Path) -> None:
    conversations.append(
        "alice", "help", [("user", "hi"), ("assistant", "stored")], turn_key="run-x:one"
    )
    model = echo()
    inputs = {"user": "alice", "first": "hi", "second": "next"}
    result = await run_agent(
        TWO_TURNS,
        ws,
        model,
        inputs=inputs,
        hooks={"conversations": conversations},
        run_id="run-x",
    )
    assert result.step("one").output == "stored"
    assert len(model.calls) == 1  # only step "two" asked the model


async def test_without_a_conversation_store_the_step_fails_clearly(ws: Path) -> None:
    inputs = {"user": "a", "first": "b", "second": "c"}
    result = await run_agent(TWO_TURNS, ws, echo(), inputs=inputs)
    assert result.status == "failed"
    assert "no conversation store" in (result.error or "")


async def test_empty_user_is_refused(ws: Path) -> None:
    inputs = {"user": " ", "first": "b", "second": "c"}
    result = await run_agent(
        TWO_TURNS, ws, echo(), inputs=inputs, hooks={"conversations": MemoryConversations()}
    )
    assert "user must be a non-empty string" in (result.error or "")


def test_conversation_table_is_pinned(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    Store.open(str(db)).close()
    with sqlite3.connect(db) as conn:
        cols = [
            (r[1], r[2], not r[3], r[5])
            for r in conn.execute("PRAGMA table_info(conversation_messages)")
        ]
        migrations = conn.execute("SELECT area, version, name FROM schema_migrations").fetchall()
    conn.close()
    assert cols == [
        ("owner", "VARCHAR(200)", False, 1),
        ("session", "VARCHAR(200)", False, 2),
        ("seq", "INTEGER", False, 3),
        ("role", "VARCHAR(32)", False, 0),
        ("content", "TEXT", False, 0),
        ("run_id", "VARCHAR(64)", True, 0),
        ("turn_key", "VARCHAR(300)", True, 0),
        ("created_at", "FLOAT", False, 0),
    ]
    assert ("store", 3, "conversations") in migrations


async def test_the_app_persists_conversations_across_sessions_of_the_app(tmp_path: Path) -> None:
    from evopipe.app import App, Settings

    (tmp_path / "chat.yaml").write_text(
        "apiVersion: evopipe/v1\nname: chat\ndescription: one turn\n"
        "inputs: {user: {type: string}, text: {type: string}}\n"
        "outputs: {reply: '{{ steps.say.output }}'}\n"
        "steps:\n"
        "  - {id: say, kind: session, user: '{{ inputs.user }}', session: s, "
        "prompt: '{{ inputs.text }}'}\n"
    )

    def app() -> App:
        settings = Settings.load(tmp_path, environ={}, db=str(tmp_path / "a.db"), model="fake")
        return App(settings)

    async with app() as first:
        await first.runs.run(tmp_path / "chat.yaml", {"user": "ann", "text": "hello"})
    async with app() as second:  # a new process would see the same
        await second.runs.run(tmp_path / "chat.yaml", {"user": "ann", "text": "again"})
        texts = [m.content for m in second.conversations.messages("ann", "s")]
        assert texts[0] == "hello"
        assert texts[2] == "again"
        assert len(texts) == 4
        assert second.conversations.messages("bob", "s") == []
