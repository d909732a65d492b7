"""Operations on the example service, called by the catalog's pipelines (shell steps).

Everything happens under ``--state`` (default: ``.state`` next to this file): builds in
``build/VERSION``, installed releases in ``releases/VERSION``, the live one named in
``releases/CURRENT``, the previous ones in ``releases/HISTORY``. Each command prints one JSON
object and exits 0 on success, 1 on failure.

    python ops.py test | integration | perf [--requests N] | package VERSION [--broken true]
                | deploy VERSION | rollback | health | errors [--window S]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@contextmanager
def serving(release: Path, log: Path) -> Iterator[str]:
    """Start ``release/service.py`` on a free loopback port, logging to ``log``; yield its
    base URL."""
    port = _free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SERVICE_LOG": str(log)}
    proc = subprocess.Popen([sys.executable, str(release / "service.py"), str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(_out({"error": "the service did not start"}, 1)) from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _out(data: dict[str, Any], code: int = 0) -> int:
    print(json.dumps(data))
    return code


def _current(state: Path) -> Path:
    name = (state / "releases" / "CURRENT").read_text(encoding="utf-8").strip()
    return state / "releases" / name


def cmd_test(state: Path, args: argparse.Namespace) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", str(HERE / "tests")],
        capture_output=True,
        text=True,
        check=False,
    )
    last = (proc.stderr.strip().splitlines() or [""])[-1]
    return _out({"passed": proc.returncode == 0, "summary": last}, 0 if proc.returncode == 0 else 1)


def cmd_integration(state: Path, args: argparse.Namespace) -> int:
    with serving(HERE / "src", state / "dev.log") as base:
        health = _get(f"{base}/health")
        added = _get(f"{base}/add?a=20&b=22")
    ok = health[0] == 200 and added == (200, {"sum": 42})
    return _out({"passed": ok, "health": health[1], "add": added[1]}, 0 if ok else 1)


def _load(base: str, requests: int) -> dict[str, Any]:
    times, errors = [], 0
    for i in range(requests):
        started = time.perf_counter()
        code, _ = _get(f"{base}/add?a={i}&b=1")
        times.append((time.perf_counter() - started) * 1000)
        errors += code != 200
    times.sort()
    return {
        "requests": requests,
        "errors": errors,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def cmd_perf(state: Path, args: argparse.Namespace) -> int:
    release = _current(state) if args.current else HERE / "src"
    log = release / "service.log" if args.current else state / "dev.log"
    with serving(release, log) as base:
        report = _load(base, args.requests)
    return _out(report, 0 if report["errors"] == 0 else 1)


def cmd_package(state: Path, args: argparse.Namespace) -> int:
    target = state / "build" / args.version
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(HERE / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.log"))
    (target / "VERSION").write_text(args.version, encoding="utf-8")
    if args.broken == "true":
        (target / "BROKEN").write_text("deliberately broken release\n", encoding="utf-8")
    return _out({"artifact": str(target), "version": args.version})


def cmd_deploy(state: Path, args: argparse.Namespace) -> int:
    build = state / "build" / args.version
    if not build.is_dir():
        return _out({"error": f"no build {args.version}"}, 1)
    releases = state / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(releases / args.version, ignore_errors=True)
    shutil.copytree(build, releases / args.version)
    current = releases / "CURRENT"
    if current.exists():
        with (releases / "HISTORY").open("a", encoding="utf-8") as history:
            history.write(current.read_text(encoding="utf-8").strip() + "\n")
    current.write_text(args.version, encoding="utf-8")
    with serving(releases / args.version, releases / args.version / "service.log") as base:
        code, body = _get(f"{base}/health")
    return _out({"release": args.version, "health_code": code, "health": body})


def cmd_rollback(state: Path, args: argparse.Namespace) -> int:
    releases = state / "releases"
    path = releases / "HISTORY"
    history = path.read_text(encoding="utf-8").split() if path.exists() else []
    if not history:
        return _out({"error": "no earlier release to roll back to"}, 1)
    previous = history.pop()
    path.write_text("".join(f"{h}\n" for h in history), encoding="utf-8")
    broken = (releases / "CURRENT").read_text(encoding="utf-8").strip()
    (releases / "CURRENT").write_text(previous, encoding="utf-8")
    return _out({"restored": previous, "removed": broken})


def cmd_health(state: Path, args: argparse.Namespace) -> int:
    release = _current(state)
    with serving(release, release / "service.log") as base:
        code, body = _get(f"{base}/health")
    return _out({"healthy": code == 200, "code": code, **body}, 0 if code == 200 else 1)


def cmd_errors(state: Path, args: argparse.Namespace) -> int:
    log = _current(state) / "service.log"
    since = time.time() - args.window
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    errors = [json.loads(line) for line in lines if line.strip()]
    recent = [e for e in errors if e.get("level") == "error" and e.get("at", 0) >= since]
    return _out({"errors": len(recent), "checked": len(errors)}, 0 if not recent else 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ops.py")
    parser.add_argument("--state", type=Path, default=HERE / ".state")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("test")
    sub.add_parser("integration")
    perf = sub.add_parser("perf")
    perf.add_argument("--requests", type=int, default=200)
    perf.add_argument("--current", action="store_true", help="load the deployed release")
    package = sub.add_parser("package")
    package.add_argument("version")
    package.add_argument("--broken", choices=["true", "false"], default="false")
    deploy = sub.add_parser("deploy")
    deploy.add_argument("version")
    sub.add_parser("rollback")
    sub.add_parser("health")
    errors = sub.add_parser("errors")
    errors.add_argument("--window", type=float, default=300.0)
    args = parser.parse_args(argv)
    handler = globals()[f"cmd_{args.command}"]
    return int(handler(args.state.resolve(), args))


if __name__ == "__main__":
    sys.exit(main())
