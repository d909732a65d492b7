"""`personas.*.tools` did nothing at run time; it is now refused with a located diagnostic
(issue 20, item 10)."""

from __future__ import annotations

from evopipe.check import check_text

TEXT = """\
apiVersion: evopipe/v1
name: helper
personas:
  clerk:
    system: You file reports.
    tools: [search]
steps:
  - {id: file, kind: llm, persona: clerk, prompt: File the report.}
"""


def test_persona_tools_are_refused_where_they_are_written() -> None:
    found = [d for d in check_text(TEXT, "p.yaml") if d.rule == "persona-tools-unsupported"]
    assert [(d.severity, d.line, d.column) for d in found] == [("error", 6, 12)]
    assert "clerk" in found[0].message


def test_a_persona_without_tools_is_fine() -> None:
    text = TEXT.replace("    tools: [search]\n", "")
    assert not [d for d in check_text(text, "p.yaml") if d.severity == "error"]
