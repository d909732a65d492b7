"""shell, python and http under a trusting policy: behaviour, limits and failure paths."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from evopipe.engine.policy import PolicyError
from evopipe.models.base import RateLimitedError, ServerError
from evopipe.spec.kinds import HttpStep, PythonStep, ShellStep
from evopipe.steps import http, python, shell
from evopipe.steps.base import StepFailed

PY = sys.executable


def _same_path(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


# -- shell -------------------------------------------------------------------------------------


async def test_shell_runs_in_the_workspace(trusted_ctx: Any) -> None:
    trusted_ctx.namespace = {"inputs": {"name": "world"}}
    config = ShellStep(
        id="sh",
        command=[
            PY,
            "-c",
            "import os, sys; print(os.getcwd()); print(sys.argv[1])",
            "{{ inputs.name }}",
        ],
    )
    result = await shell.run(trusted_ctx, config)
    cwd, arg = result.output["stdout"].splitlines()
    assert _same_path(cwd, trusted_ctx.workspace)
    assert arg == "world"
    assert result.output["exit_code"] == 0
    assert result.output["stderr"] == ""


async def test_shell_arguments_are_never_shell_syntax(trusted_ctx: Any) -> None:
    trusted_ctx.namespace = {"inputs": {"evil": "$(touch pwned); rm -rf x"}}
    config = ShellStep(id="sh", command=["echo", "{{ inputs.evil }}"])
    result = await shell.run(trusted_ctx, config)
    assert result.output["stdout"].strip() == "$(touch pwned); rm -rf x"
    assert not (trusted_ctx.workspace / "pwned").exists()


async def test_shell_stdin(trusted_ctx: Any) -> None:
    config = ShellStep(
        id="sh", command=[PY, "-c", "import sys; print(sys.stdin.read().upper())"], stdin="hello"
    )
    assert (await shell.run(trusted_ctx, config)).output["stdout"].strip() == "HELLO"


async def test_shell_nonzero_exit_fails_with_stderr(trusted_ctx: Any) -> None:
    config = ShellStep(
        id="sh", command=[PY, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"]
    )
    with pytest.raises(StepFailed) as info:
        await shell.run(trusted_ctx, config)
    assert "exited with code 3" in str(info.value)
    assert "boom" in str(info.value)


async def test_shell_missing_program(trusted_ctx: Any) -> None:
    with pytest.raises(StepFailed, match="cannot start 'no-such-program-xyz'"):
        await shell.run(trusted_ctx, ShellStep(id="sh", command=["no-such-program-xyz"]))


async def test_shell_timeout_kills_the_process_group(trusted_ctx: Any) -> None:
    pidfile = trusted_ctx.workspace / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([{PY!r}, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    config = ShellStep(id="sh", command=[PY, "-c", script], timeout_s=1.0)
    with pytest.raises(StepFailed, match=r"timed out after 1\.0s"):
        await shell.run(trusted_ctx, config)
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _alive(grandchild), "the grandchild survived the timeout"


async def test_shell_cancellation_kills_the_process_group(trusted_ctx: Any) -> None:
    pidfile = trusted_ctx.workspace / "child.pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    task = asyncio.ensure_future(
        shell.run(trusted_ctx, ShellStep(id="sh", command=[PY, "-c", script]))
    )
    for _ in range(200):
        if _has_text(pidfile):
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(int(pidfile.read_text()))


def _has_text(path: Path) -> bool:
    return path.exists() and bool(path.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_shell_output_cap_fails_naming_the_limit(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(max_output_bytes=10_000)
    config = ShellStep(
        id="sh", command=[PY, "-c", "import sys\nwhile True: sys.stdout.write('x' * 4096)"]
    )
    with pytest.raises(StepFailed, match="max_output_bytes=10000"):
        await shell.run(trusted_ctx, config)


async def test_shell_big_output_within_the_cap(trusted_ctx: Any) -> None:
    config = ShellStep(id="sh", command=[PY, "-c", "print('y' * 200000)"])
    result = await shell.run(trusted_ctx, config)
    assert len(result.output["stdout"].strip()) == 200_000


async def test_shell_arg_must_be_scalar(trusted_ctx: Any) -> None:
    trusted_ctx.namespace = {"inputs": {"xs": [1, 2]}}
    with pytest.raises(StepFailed, match=r"command\[1\] must render to a string"):
        await shell.run(trusted_ctx, ShellStep(id="sh", command=["echo", "{{ inputs.xs }}"]))


# -- python ------------------------------------------------------------------------------------


async def test_python_calls_an_allowlisted_function(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(python_allow=frozenset({"json:dumps"}))
    trusted_ctx.namespace = {"inputs": {"v": [1, 2]}}
    config = PythonStep(id="p", function="json:dumps", args={"obj": "{{ inputs.v }}"})
    assert (await python.run(trusted_ctx, config)).output == "[1, 2]"


async def test_python_awaits_async_functions(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(python_allow=frozenset({"asyncio:sleep"}))
    config = PythonStep(
        id="p", function="asyncio:sleep", args={"delay": 0, "result": {"a": (1, 2)}}
    )
    assert (await python.run(trusted_ctx, config)).output == {"a": [1, 2]}


async def test_python_result_must_be_json(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(python_allow=frozenset({"datetime:date"}))
    config = PythonStep(id="p", function="datetime:date", args={"year": 2020, "month": 1, "day": 2})
    with pytest.raises(StepFailed, match="not JSON-serialisable"):
        await python.run(trusted_ctx, config)


async def test_python_result_size_is_capped(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(
        python_allow=frozenset({"json:dumps"}), max_output_bytes=1000
    )
    config = PythonStep(id="p", function="json:dumps", args={"obj": "{{ 'x' * 5000 }}"})
    with pytest.raises(StepFailed, match="max_output_bytes=1000"):
        await python.run(trusted_ctx, config)
    trusted_ctx.policy = trusted_ctx.policy.replace(python_allow=frozenset({"asyncio:sleep"}))
    nested = PythonStep(
        id="p", function="asyncio:sleep", args={"delay": 0, "result": {"a": "{{ 'x' * 2000 }}"}}
    )
    with pytest.raises(StepFailed, match="bytes of JSON"):
        await python.run(trusted_ctx, nested)


async def test_python_exception_names_function(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(python_allow=frozenset({"json:loads"}))
    config = PythonStep(id="p", function="json:loads", args={"s": "{bad"})
    with pytest.raises(StepFailed, match="json:loads raised JSONDecodeError"):
        await python.run(trusted_ctx, config)


async def test_python_unknown_module_or_attr(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(
        python_allow=frozenset({"no_such_mod_xyz:f", "json:nope"})
    )
    with pytest.raises(StepFailed, match="cannot import module"):
        await python.run(trusted_ctx, PythonStep(id="p", function="no_such_mod_xyz:f"))
    with pytest.raises(StepFailed, match="not a callable"):
        await python.run(trusted_ctx, PythonStep(id="p", function="json:nope"))


async def test_python_allowlist_is_exact(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(python_allow=frozenset({"json:dumps"}))
    with pytest.raises(PolicyError, match="not in the allowlist"):
        await python.run(trusted_ctx, PythonStep(id="p", function="json:loads", args={"s": "1"}))


# -- http --------------------------------------------------------------------------------------


def _with_http(ctx: Any, handler: Any, hosts: set[str] | None = None) -> list[httpx2.Request]:
    seen: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    ctx.hooks["http_transport"] = httpx2.MockTransport(record)
    ctx.policy = ctx.policy.replace(
        http_allow_hosts=frozenset(hosts if hosts is not None else {"api.example.com"})
    )
    return seen


async def test_http_get_json(trusted_ctx: Any) -> None:
    seen = _with_http(trusted_ctx, lambda r: httpx2.Response(200, json={"ok": True}))
    trusted_ctx.namespace = {"inputs": {"q": "cats"}}
    config = HttpStep(id="h", url="https://api.example.com/search?q={{ inputs.q }}")
    result = await http.run(trusted_ctx, config)
    assert result.output["status"] == 200
    assert result.output["json"] == {"ok": True}
    assert result.output["headers"]["content-type"] == "application/json"
    assert str(seen[0].url) == "https://api.example.com/search?q=cats"
    assert seen[0].headers["idempotency-key"] == "run-1:s"


async def test_http_post_json_body_and_text_response(trusted_ctx: Any) -> None:
    seen = _with_http(trusted_ctx, lambda r: httpx2.Response(201, text="created"))
    trusted_ctx.namespace = {"inputs": {"n": 3}}
    config = HttpStep.model_validate(
        {
            "id": "h",
            "url": "https://API.example.com/x",
            "method": "POST",
            "json": {"n": "{{ inputs.n }}"},
        }
    )
    result = await http.run(trusted_ctx, config)
    assert result.output == {"status": 201, "headers": result.output["headers"], "text": "created"}
    assert json.loads(seen[0].content) == {"n": 3}


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://evil.example.com/", "not in the http allowlist"),
        ("https://api.example.com.evil.net/", "not in the http allowlist"),
        ("https://127.0.0.1/", "IP literal"),
        ("http://[::1]/", "IP literal"),
        ("http://169.254.169.254/latest/meta-data", "IP literal"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://api.example.com/", "only http and https"),
    ],
)
async def test_http_refuses_hosts_off_the_allowlist(
    trusted_ctx: Any, url: str, fragment: str
) -> None:
    seen = _with_http(trusted_ctx, lambda r: httpx2.Response(200))
    with pytest.raises((StepFailed, PolicyError)) as info:
        await http.run(trusted_ctx, HttpStep(id="h", url=url))
    assert fragment in str(info.value)
    assert seen == []


async def test_http_redirect_to_other_host_is_refused(trusted_ctx: Any) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(302, headers={"location": "https://evil.example.com/steal"})

    seen = _with_http(trusted_ctx, handler)
    with pytest.raises(PolicyError, match=r"evil\.example\.com"):
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))
    assert [r.url.host for r in seen] == ["api.example.com"]


async def test_http_redirect_within_allowlist_is_followed(trusted_ctx: Any) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.example.com":
            return httpx2.Response(301, headers={"location": "https://cdn.example.com/final"})
        return httpx2.Response(200, json=[1])

    seen = _with_http(trusted_ctx, handler, {"api.example.com", "cdn.example.com"})
    result = await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/start"))
    assert result.output["json"] == [1]
    assert [str(r.url) for r in seen] == [
        "https://api.example.com/start",
        "https://cdn.example.com/final",
    ]


async def test_http_redirect_loop_is_bounded(trusted_ctx: Any) -> None:
    _with_http(trusted_ctx, lambda r: httpx2.Response(302, headers={"location": "/again"}))
    with pytest.raises(StepFailed, match="more than 5 redirects"):
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))


async def test_http_response_size_cap(trusted_ctx: Any) -> None:
    _with_http(trusted_ctx, lambda r: httpx2.Response(200, content=b"x" * 50_000))
    trusted_ctx.policy = trusted_ctx.policy.replace(max_output_bytes=10_000)
    with pytest.raises(StepFailed, match="max_output_bytes=10000"):
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))


async def test_http_status_errors(trusted_ctx: Any) -> None:
    _with_http(trusted_ctx, lambda r: httpx2.Response(429, headers={"retry-after": "2"}))
    with pytest.raises(RateLimitedError) as info:
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))
    assert info.value.retry_after_s == 2.0
    _with_http(trusted_ctx, lambda r: httpx2.Response(503, text="down"))
    with pytest.raises(ServerError, match="HTTP 503"):
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))
    _with_http(trusted_ctx, lambda r: httpx2.Response(404, text="nope"))
    with pytest.raises(StepFailed, match="HTTP 404"):
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))


async def test_http_connection_error_is_retryable(trusted_ctx: Any) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    _with_http(trusted_ctx, handler)
    with pytest.raises(ServerError, match="connection failed"):
        await http.run(trusted_ctx, HttpStep(id="h", url="https://api.example.com/"))


async def test_http_host_header_cannot_be_set(trusted_ctx: Any) -> None:
    _with_http(trusted_ctx, lambda r: httpx2.Response(200))
    config = HttpStep(id="h", url="https://api.example.com/", headers={"Host": "internal"})
    with pytest.raises(StepFailed, match="'Host' may not be set"):
        await http.run(trusted_ctx, config)


async def test_shell_100mb_output_fails_cleanly_in_bounded_memory(trusted_ctx: Any) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    script = "import sys\nfor _ in range(100): sys.stdout.write('x' * 1_000_000)"
    with pytest.raises(StepFailed, match="max_output_bytes=1000000"):
        await shell.run(trusted_ctx, ShellStep(id="big", command=[PY, "-c", script]))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 50, f"peak RSS grew by {grown_mib:.0f} MiB reading a capped stream"
