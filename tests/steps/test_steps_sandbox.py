"""The sandbox: unsafe kinds refused when untrusted, workspace confinement, secret-free shell
environments, templates that cannot reach Python internals."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from evopipe.engine.policy import Policy, PolicyError
from evopipe.engine.templates import Renderer
from evopipe.spec.errors import TemplateError
from evopipe.spec.kinds import HttpStep, PythonStep, ShellStep
from evopipe.steps import http, python, shell
from evopipe.steps.workspace import WorkspaceError, ensure_workspace, resolve_in_workspace

# -- unsafe kinds under the untrusted policy --------------------------------------------------


async def test_untrusted_refuses_python(ctx: Any) -> None:
    config = PythonStep(id="p", function="json:dumps", args={"obj": 1})
    with pytest.raises(PolicyError) as info:
        await python.run(ctx, config)
    assert "'s'" in str(info.value)
    assert "'python' is not allowed in an untrusted pipeline" in str(info.value)


async def test_untrusted_refuses_shell_before_running_anything(ctx: Any, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config = ShellStep(id="sh", command=["touch", str(marker)])
    with pytest.raises(PolicyError) as info:
        await shell.run(ctx, config)
    assert "'shell' is not allowed" in str(info.value)
    assert not marker.exists()


async def test_untrusted_refuses_http(ctx: Any) -> None:
    config = HttpStep(id="h", url="https://example.com/")
    ctx.hooks["http_transport"] = _explode_transport()
    with pytest.raises(PolicyError) as info:
        await http.run(ctx, config)
    assert "'http' is not allowed" in str(info.value)


def _explode_transport() -> Any:
    import httpx2

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("no request may be sent")

    return httpx2.MockTransport(handler)


async def test_trusting_policy_still_needs_the_allowlist(trusted_ctx: Any) -> None:
    config = PythonStep(id="p", function="json:dumps", args={"obj": 1})
    with pytest.raises(PolicyError, match="not in the allowlist"):
        await python.run(trusted_ctx, config)


async def test_shell_can_be_disabled_in_a_trusting_policy(trusted_ctx: Any) -> None:
    trusted_ctx.policy = trusted_ctx.policy.replace(shell_allowed=False)
    with pytest.raises(PolicyError, match="disabled"):
        await shell.run(trusted_ctx, ShellStep(id="sh", command=["true"]))


def test_as_untrusted_keeps_caps_and_drops_allowlists() -> None:
    parent = Policy.trusting(
        python_allow={"json:dumps"},
        http_allow_hosts={"api.example.com"},
        env_passthrough={"HOME"},
        max_output_bytes=1000,
        max_map_items=50,
    )
    child = parent.as_untrusted()
    assert not child.trusted
    assert child.python_allow == frozenset()
    assert child.http_allow_hosts == frozenset()
    assert not child.shell_allowed
    assert child.env_passthrough == frozenset()
    assert (child.max_output_bytes, child.max_map_items) == (1000, 50)


# -- workspace confinement --------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "../outside.txt",
        "a/../../outside.txt",
        "a/b/../../../x",
        "/etc/passwd",
        "//etc/passwd",
        "C:\\Windows\\system.ini",
        "\\\\server\\share",
        "..\\x",
        "",
        "a\x00b",
    ],
)
def test_artifact_paths_cannot_escape(tmp_path: Path, bad: str) -> None:
    root = ensure_workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError):
        resolve_in_workspace(root, bad, step_id="save")


def test_artifact_paths_inside_are_resolved(tmp_path: Path) -> None:
    root = ensure_workspace(tmp_path / "ws")
    assert resolve_in_workspace(root, "out/report.md") == root / "out" / "report.md"
    assert resolve_in_workspace(root, "./a.txt") == root / "a.txt"


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    root = ensure_workspace(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "file_link").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        resolve_in_workspace(root, "link/stolen.txt", step_id="save")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        resolve_in_workspace(root, "file_link", step_id="save")


def test_symlink_inside_is_fine(tmp_path: Path) -> None:
    root = ensure_workspace(tmp_path / "ws")
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real")
    assert resolve_in_workspace(root, "alias/x") == root / "real" / "x"


def test_error_names_the_step(tmp_path: Path) -> None:
    root = ensure_workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match="step 'save'"):
        resolve_in_workspace(root, "../x", step_id="save")


# -- the shell environment carries no secrets -------------------------------------------------


async def test_shell_inherits_no_secrets(trusted_ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted-0123456789")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-planted")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "planted")
    monkeypatch.setenv("HOME_OK", "passthrough-value")
    trusted_ctx.policy = trusted_ctx.policy.replace(env_passthrough=frozenset({"HOME_OK"}))
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    config = ShellStep(id="env", command=[sys.executable, "-c", dump], env={"MINE": "1"})
    result = await shell.run(trusted_ctx, config)
    env = json.loads(result.output["stdout"])
    assert "OPENAI_API_KEY" not in env
    assert "ANTHROPIC_API_KEY" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "sk-test-planted" not in result.output["stdout"]
    assert env["HOME_OK"] == "passthrough-value"
    assert env["MINE"] == "1"
    assert env["EVOPIPE_RUN_ID"] == "run-1"
    allowed = {"PATH", "LANG", "HOME_OK", "MINE", "EVOPIPE_RUN_ID", "EVOPIPE_IDEMPOTENCY_KEY"}
    # the interpreter may add a few of its own (e.g. LC_CTYPE on some platforms)
    assert set(env) - allowed <= {"LC_CTYPE", "PWD", "SHLVL", "_"}
    assert env.get("PATH") == os.environ.get("PATH")


# -- templates cannot reach Python internals --------------------------------------------------

ESCAPES = [
    "{{ x.__class__ }}",
    "{{ x.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ f.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ '{0.__class__}'.format(x) }}",
    "{{ '{0.__class__.__mro__}'.format(x) }}",
    "{{ '{x.__class__}'.format_map({'x': x}) }}",
    "{{ '%s' % x.__class__ }}",
    "{{ x['__class__'] }}",
    "{{ x|attr('__class__') }}",
    "{{ self.__init__.__globals__ }}",
    "{{ request.application.__globals__ }}",
    "{{ config.items() }}",
    "{% for c in x.__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ d.update({'a': 1}) }}",
    "{{ l.append(1) }}",
    "{{ l.pop() }}",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_template_escapes_are_refused(template: str) -> None:
    ns = {"x": "s", "f": test_template_escapes_are_refused, "d": {"k": 1}, "l": [1, 2]}
    with pytest.raises(TemplateError):
        Renderer().render(template, ns, "prompt")
    assert ns["d"] == {"k": 1}
    assert ns["l"] == [1, 2]


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'ab' * 10**6 }}",
        "{{ x * 10**9 }}",
        "{{ [0] * 10**8 }}",
        "{{ 10**7 * 'a' }}",
        "{{ (2 ** 1000) ** 10000 }}",
        "{{ 2.0 ** 5000 }}",
    ],
)
def test_template_arithmetic_cannot_build_huge_values(template: str) -> None:
    with pytest.raises(TemplateError, match="not allowed"):
        Renderer().render(template, {"x": [0]}, "prompt")


def test_template_arithmetic_still_works() -> None:
    r = Renderer()
    assert r.render("{{ 'ab' * 3 }}", {}, "p") == "ababab"
    assert r.render("{{ x * 2 }}", {"x": [1]}, "p") == [1, 1]
    assert r.render("{{ 2 ** 10 * 3 }}", {}, "p") == 3072
