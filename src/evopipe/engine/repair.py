"""Repairing the JSON models commonly get wrong, before re-asking.

Handled: code fences, prose around the JSON, trailing commas, single-quoted strings, Python
literals (True/False/None). Each stage is tried in turn; the first that parses wins.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}

_MISSING = object()


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return _MISSING


def _balanced(text: str) -> str | None:
    """The first balanced ``{...}`` or ``[...]`` in ``text`` (string-aware)."""
    start = next((i for i, ch in enumerate(text) if ch in "{["), None)
    if start is None:
        return None
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return text[start : i + 1]
    return None


def _requote(text: str) -> str:
    """Single-quoted strings → double-quoted; Python literals → JSON (outside strings)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            j = i + 1
            buf: list[str] = []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j : j + 2])
                    j += 2
                    continue
                buf.append('\\"' if text[j] == '"' and ch == "'" else text[j])
                j += 1
            body = "".join(buf)
            if ch == "'":
                body = body.replace("\\'", "'")
            out.append(f'"{body}"')
            i = j + 1
            continue
        m = re.match(r"True|False|None", text[i:])
        if m and (i == 0 or not text[i - 1].isalnum()):
            out.append(_PY_LITERALS[m.group(0)])
            i += len(m.group(0))
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def repair_json(raw: str) -> tuple[Any, list[str]]:
    """Parse ``raw`` as JSON, repairing common mistakes. Returns (value, repairs applied);
    raises ValueError if nothing works."""
    text = raw.strip()
    value = _loads(text)
    if value is not _MISSING:
        return value, []
    repairs: list[str] = []
    fence = _FENCE.search(text)
    if fence:
        text = fence.group(1).strip()
        repairs.append("code fence")
        value = _loads(text)
        if value is not _MISSING:
            return value, repairs
    inner = _balanced(text)
    if inner is not None and inner != text:
        text = inner
        repairs.append("prose around JSON")
        value = _loads(text)
        if value is not _MISSING:
            return value, repairs
    fixed = _TRAILING_COMMA.sub(r"\1", text)
    if fixed != text:
        text = fixed
        repairs.append("trailing comma")
        value = _loads(text)
        if value is not _MISSING:
            return value, repairs
    requoted = _TRAILING_COMMA.sub(r"\1", _requote(text))
    if requoted != text:
        value = _loads(requoted)
        if value is not _MISSING:
            return value, [*repairs, "single quotes / Python literals"]
    raise ValueError("not valid JSON (even after repairs)")
