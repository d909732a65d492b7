"""Values registered as secret never reach the database file (nor its WAL)."""

from __future__ import annotations

from pathlib import Path

from evopipe.store import EventRecord, SecretRedactor, Store
from evopipe.store.redact import MASK

SECRET = "sk-live-7f3a9c2e1b"


def _db_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("secrets.db*"))


def test_registered_secrets_never_appear_in_the_db_file(tmp_path: Path) -> None:
    redactor = SecretRedactor()
    redactor.register(SECRET)
    db = str(tmp_path / "secrets.db")
    with Store.open(db, redact=redactor) as store:
        store.create_run(
            "r1",
            pipeline_name="p",
            spec_hash="h",
            spec_json=f'{{"env": "{SECRET}"}}',
            inputs={"api_key": SECRET, "nested": [{"k": f"Bearer {SECRET}"}], SECRET: 1},
        )
        store.append_events(
            "r1",
            [EventRecord("step_failed", "s", 1, {"error": f"401 for key {SECRET}"})],
        )
        store.set_run_status("r1", "failed", error=f"auth {SECRET}", outputs={"o": SECRET})
        store.record_approval("r1", "s", False, f"leaked {SECRET}", "ann")
        store.response_cache().put("k", {"text": SECRET})
        sha = store.put_blob(f"blob {SECRET}".encode())
        # what is read back is masked, and still valid
        assert store.get_run("r1").inputs["api_key"] == MASK
        assert store.load_events("r1")[0].payload == {"error": f"401 for key {MASK}"}
        assert store.get_blob(sha) == f"blob {MASK}".encode()
        during = _db_bytes(tmp_path)
    after = _db_bytes(tmp_path)
    for raw in (during, after):
        assert SECRET.encode() not in raw
    assert MASK.encode() in after


def test_without_the_hook_payloads_are_stored_as_given(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "secrets.db")) as store:
        store.create_run(
            "r1", pipeline_name="p", spec_hash="h", spec_json="{}", inputs={"k": SECRET}
        )
    assert SECRET.encode() in _db_bytes(tmp_path)


def test_short_values_are_not_registered() -> None:
    redactor = SecretRedactor(["abc", "abcdef"])
    assert redactor("abc abcdef") == f"abc {MASK}"


def test_redactor_from_environment() -> None:
    env = {
        "OPENAI_API_KEY": "sk-abcdefgh1234",
        "GITHUB_TOKEN": "ghp_0123456789",
        "DB_PASSWORD": "short",
        "HOME": "/root/not-a-secret",
    }
    redactor = SecretRedactor.from_environ(env)
    assert len(redactor) == 2
    text = "sk-abcdefgh1234 ghp_0123456789 short /root/not-a-secret"
    assert redactor(text) == f"{MASK} {MASK} short /root/not-a-secret"


def test_cli_store_masks_environment_secrets(tmp_path: Path) -> None:
    from evopipe.app.schema import open_store

    env = {"ANTHROPIC_API_KEY": SECRET}
    with open_store(str(tmp_path / "secrets.db"), environ=env) as store:
        store.create_run(
            "r1", pipeline_name="p", spec_hash="h", spec_json="{}", inputs={"k": SECRET}
        )
        assert store.get_run("r1").inputs == {"k": MASK}
    assert SECRET.encode() not in _db_bytes(tmp_path)
