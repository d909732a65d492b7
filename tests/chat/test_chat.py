"""The router agent's conversation (``app.chat``): routing with its reasons, proposals that
wait for a yes, outcomes recorded, conversations isolated per user; and ``evopipe chat`` used
as a person would, in a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evopipe.app import App, Settings
from evopipe.app.chat import ChatError
from evopipe.app.demo_store import CHAIN, GATED, load_pipeline_text

ENV = {"EVOPIPE_CONFIG": "/nonexistent/evopipe.toml"}


def _app(db: Path) -> App:
    return App(Settings.load(db.parent, environ=ENV, db=str(db), default_model="fake"), environ=ENV)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "evopipe.db"
    with _app(path) as app:
        for text in (CHAIN, GATED):
            pipeline = load_pipeline_text(text)
            app.routing.register(pipeline.name, pipeline, reason="test")
    return path


async def test_a_request_is_routed_explained_and_waits_for_a_yes(db: Path) -> None:
    with _app(db) as app:
        reply = await app.chat.say("ann", "s", "Triage this bug into area and severity")
        proposal = reply.proposal
        assert proposal is not None
        assert (proposal.action, proposal.target) == ("run", "triage@1")
        assert proposal.why["stage"] == "retrieval"
        assert "retrieval stage" in reply.text
        assert proposal.inputs == {"report": "Triage this bug into area and severity"}
        assert app.runs.list() == []  # nothing ran
        taken = app.chat.confirm("ann", "s", {"report": "the export crashes"})
        assert taken.inputs == {"report": "the export crashes"}
        assert app.chat.pending("ann", "s") is None
        with pytest.raises(ChatError, match="nothing to confirm"):
            app.chat.confirm("ann", "s")


async def test_conversations_of_two_users_never_mix(db: Path) -> None:
    with _app(db) as app:
        await app.chat.say("ann", "same-name", "Triage this bug into area and severity")
        await app.chat.say("bob", "same-name", "Draft a release note and have it approved")
        ann = [m["content"] for m in app.chat.history("ann", "same-name") if m["role"] == "user"]
        bob = [m["content"] for m in app.chat.history("bob", "same-name") if m["role"] == "user"]
        assert ann == ["Triage this bug into area and severity"]
        assert bob == ["Draft a release note and have it approved"]
        app.chat.decline("bob", "same-name")
        assert app.chat.pending("bob", "same-name") is None
        assert app.chat.pending("ann", "same-name") is not None


async def test_no_match_proposes_a_generation_that_registers_a_pipeline(db: Path) -> None:
    with _app(db) as app:
        reply = await app.chat.say("ann", "s", "qwertyuiop zxcvbnm")
        assert reply.proposal is not None
        assert reply.proposal.action == "generate"
        taken = app.chat.confirm("ann", "s")
        made = await app.chat.generate("ann", "s", taken.request)
        assert made.proposal is not None
        target = made.proposal.target or ""
        assert re.fullmatch(r"[a-z0-9-]+@1", target), target
        assert app.pipelines.resolve(target).pipeline.name == target.split("@")[0]


class Terminal:
    """A program on a pseudo-terminal, read and typed into like a person would."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        # a wide window, so that readline shows a long question on one line
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"never saw {pattern!r}; the screen:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the program ended before {pattern!r}:\n{self.seen}")
                self.seen += chunk.decode(errors="replace")
        return self.seen

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        code = self.proc.wait(30)
        os.close(self.master)
        return code


@pytest.fixture
def terminal(db: Path) -> Iterator[Terminal]:
    env = {**os.environ, **ENV, "TERM": "dumb"}
    argv = [sys.executable, "-m", "evopipe", "chat", "--db", str(db), "--model", "fake"]
    term = Terminal(argv, env)
    yield term
    if term.proc.poll() is None:
        term.proc.kill()
        term.proc.wait(10)


def test_evopipe_chat_in_a_terminal(terminal: Terminal, db: Path) -> None:
    terminal.expect(r"you> ")
    terminal.type("Triage this bug into area and severity, and draft a reply")
    terminal.expect(r"I would run triage@1: chosen at the retrieval stage")
    terminal.expect(r"Run triage@1 with report=.*\? \[y/N\] ")
    terminal.type("y")
    terminal.expect(r"· reply: done")
    terminal.expect(r"succeeded: \{\"reply\": \"fake-")
    terminal.type("Draft a release note and have a human approve it")
    terminal.expect(r"Run release-note@1 .*\[y/N\] ")
    terminal.type("y")
    screen = terminal.expect(r"waiting for approval at review: /approve (\S+) STEP")
    run_id = re.findall(r"/approve (\S+) STEP", screen)[-1]
    terminal.expect(r"review asks for: audience \(everyone\|staff\), priority \(integer")
    terminal.type(f"/approve {run_id} review looks good")
    terminal.expect(r"audience: required")
    terminal.type(f"/approve {run_id} review audience=staff looks good")
    terminal.expect(rf"run {re.escape(run_id)} is succeeded")
    terminal.type("/runs 5")
    terminal.expect(r"succeeded\s+release-note")
    terminal.type("/quit")
    terminal.expect("bye")
    assert terminal.close() == 0
    with _app(db) as app:
        outcomes = [
            m["content"]
            for m in app.chat.history(os.environ.get("USER") or _user(), "terminal")
            if m["role"] == "outcome"
        ]
    assert outcomes[-1] == "succeeded"


def _user() -> str:
    import getpass

    return getpass.getuser()


def test_a_run_started_from_the_chat_is_a_real_run(db: Path) -> None:
    async def go() -> str:
        with _app(db) as app:
            await app.chat.say("ann", "s", "Triage this bug into area and severity")
            taken = app.chat.confirm("ann", "s")
            result = await app.runs.run(str(taken.target), taken.inputs)
            app.chat.ran("ann", "s", result.run_id, result.status)
            return result.status

    assert asyncio.run(go()) == "succeeded"
