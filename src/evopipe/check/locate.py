"""Positions inside string scalars: the column of a reference within a template or condition.

The loader knows where each scalar starts. A diagnostic about one reference in a long template
should point at that reference, so we map an index into the (decoded) string back onto the
file: directly for plain and quoted one-line scalars and literal blocks (``|``), by searching
for the text otherwise, and the scalar's start when all else fails.
"""

from __future__ import annotations

import re

from evopipe.spec.loader import PathKey, Source


class Locator:
    """Line/column lookups for one source (line offsets computed once, lazily)."""

    def __init__(self, source: Source | None) -> None:
        self.source = source
        self._lines: list[str] | None = None
        self._offsets: list[int] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.source.text.split("\n") if self.source else []
        return self._lines

    def node(self, where: PathKey, *, key: bool = False) -> tuple[int, int]:
        """Start of the node at ``where`` (its key when ``key``); (0, 0) without a source."""
        if self.source is None:
            return 0, 0
        return self.source.locate(where, key=key)

    def in_string(self, where: PathKey, value: str, index: int) -> tuple[int, int]:
        """Position of ``value[index]`` where ``value`` is the string scalar at ``where``."""
        line, col = self.node(where)
        index = min(index, len(value.rstrip()))  # "end of text" errors: after the last character
        if self.source is None or line == 0 or index < 0:
            return line, col
        head = self.lines[line - 1][col - 1 :] if line <= len(self.lines) else ""
        k = value.count("\n", 0, index)
        within = index - (value.rfind("\n", 0, index) + 1)
        if head[:1] == "|":
            return self._literal_block(line, k, within)
        if k == 0 and "\n" not in value[:index]:
            offset = 1 if head[:1] in ("'", '"') else 0
            if head[offset : offset + index] == value[:index]:
                return line, col + offset + index
        return self._search(line, col, value, index)

    def _literal_block(self, line: int, k: int, within: int) -> tuple[int, int]:
        target = line + 1 + k
        if target > len(self.lines):
            return line, 1
        indent = _indent_of_block(self.lines, line)
        return target, indent + within + 1

    def _search(self, line: int, col: int, value: str, index: int) -> tuple[int, int]:
        """Find the text from ``index`` to the end of its line after the scalar's start."""
        snippet = value[index:].split("\n", 1)[0][:40]
        if not snippet.strip():
            return line, col
        start = self._offset(line, col)
        text = self.source.text if self.source else ""
        found = text.find(snippet, start, start + 4 * len(value) + 200)
        if found < 0:
            return line, col
        return self._position(found)

    def _offset(self, line: int, col: int) -> int:
        if self._offsets is None:
            offsets, total = [], 0
            for text_line in self.lines:
                offsets.append(total)
                total += len(text_line) + 1
            self._offsets = offsets
        return self._offsets[line - 1] + col - 1

    def _position(self, offset: int) -> tuple[int, int]:
        assert self._offsets is not None
        lo, hi = 0, len(self._offsets) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._offsets[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._offsets[lo] + 1


def _indent_of_block(lines: list[str], header_line: int) -> int:
    for text in lines[header_line:]:
        if text.strip():
            return len(text) - len(text.lstrip(" "))
    return 0


def ref_pattern(root: str, path: tuple[str | int, ...]) -> re.Pattern[str]:
    """Regex matching ``root.a[0]["b"]`` written in any of the usual spellings."""
    parts = [rf"(?<![\w.]){re.escape(root)}\b"]
    for key in path:
        k = re.escape(str(key))
        parts.append(rf"(?:\s*\.\s*{k}\b|\s*\[\s*(?:'{k}'|\"{k}\"|{k})\s*\])")
    return re.compile("".join(parts))


def find_ref(text: str, root: str, path: tuple[str | int, ...]) -> int:
    """Index of the first spelling of a reference in ``text`` (0 when not found)."""
    for cut in range(len(path), -1, -1):
        m = ref_pattern(root, path[:cut]).search(text)
        if m:
            return m.start()
    return 0
