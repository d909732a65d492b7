"""The dashboard in a real headless Chromium (Debian's), all outbound network blocked: every
page loads without a console error; the chat page starts a run whose DAG then updates live;
an approval made in the inbox resumes its run; keys, sessions, CSRF and roles; keyboard and
labels."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect
from web_served import Served

PAGES = (
    "/ui/runs",
    "/ui/approvals",
    "/ui/pipelines",
    "/ui/pipelines/triage",
    "/ui/pipelines/bbh-object-counting",
    "/ui/generations",
    "/ui/evolutions",
    "/ui/costs",
    "/ui/chat",
)


def _first_link(page: Page, prefix: str) -> str:
    href = page.locator(f"a[href^='{prefix}']").first.get_attribute("href")
    assert href is not None
    return href


def test_every_page_loads_without_console_errors(served: Served, page: Page) -> None:
    details = []
    for path in PAGES:
        response = page.goto(served.url(path))
        assert response is not None, path
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
    page.goto(served.url("/ui/runs"))
    details.append(_first_link(page, "/ui/runs/"))
    page.goto(served.url("/ui/generations"))
    details.append(_first_link(page, "/ui/generations/"))
    details.append(f"/ui/evolutions/{served.ids['evolution']}")
    for path in details:
        response = page.goto(served.url(path))
        assert response is not None, path
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
    # the genealogy and the charts were drawn (canvas elements from cytoscape and Chart.js)
    assert page.locator("#genealogy canvas").count() > 0
    assert int(page.locator("#evo-count").inner_text()) >= 4


def test_chat_starts_a_run_whose_dag_updates_live(served: Served, page: Page) -> None:
    page.goto(served.url("/ui/chat"))
    page.get_by_label("Message").fill("Triage this bug into area and severity, and draft a reply")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("I would run")).to_be_visible()
    reply = page.locator(".msg-evopipe").first.inner_text()
    assert "I would run triage@1: chosen at the retrieval stage" in reply
    page.evaluate("window.__samePage = true")
    served.gate.clear()  # the run's model calls wait until the page has shown it in progress
    try:
        page.get_by_role("button", name="Run triage@1").click()
        page.wait_for_url(re.compile(r"/ui/runs/"))
        page.evaluate("window.__samePage = 'run page'")
        dag = page.locator("#dag")
        expect(dag).to_have_attribute("data-states", re.compile(r'"(pending|running)"'))
    finally:
        served.gate.set()
    for _ in range(400):  # the rest of the statuses arrive over SSE (sim latency per step)
        states = json.loads(dag.get_attribute("data-states") or "{}")
        if states and all(s == "succeeded" for s in states.values()):
            break
        page.wait_for_timeout(25)
    assert set(json.loads(dag.get_attribute("data-states") or "{}").values()) == {"succeeded"}
    assert page.evaluate("window.__samePage") == "run page"  # updated without a reload
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#steps")).to_contain_text("reply")


def test_an_approval_in_the_inbox_resumes_the_run(served: Served, page: Page) -> None:
    page.goto(served.url("/ui/approvals"))
    card = page.locator("section.card", has_text="release-note")
    expect(card).to_have_count(1)
    run_link = card.locator("a[href^='/ui/runs/']").first.get_attribute("href")
    # the form is typed from the step's fields; a value that does not fit is refused
    expect(card.get_by_label("priority")).to_have_value("3")
    card.get_by_label("priority").fill("9")
    card.get_by_label("Reason (required to reject)").fill("looks right")
    card.get_by_role("button", name="Submit decision").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("audience: required")
    expect(alert).to_contain_text("priority: 9 is above the maximum 5")
    card = page.locator("section.card", has_text="release-note")
    expect(card.get_by_label("priority")).to_have_value("9")  # what was typed is kept
    card.get_by_label("audience (required)").select_option("staff")
    card.get_by_label("priority").fill("2")
    card.get_by_role("button", name="Submit decision").click()
    page.wait_for_url(re.compile(re.escape(run_link or "?")))
    for _ in range(200):
        if page.locator("#run-status").inner_text() == "succeeded":
            break
        page.wait_for_timeout(50)
        if _ % 20 == 19:
            page.reload()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    record = served.app.runs.get((run_link or "").rsplit("/", 1)[-1])
    review = next(s for s in record["steps"] if s["id"] == "review")
    assert review["status"] == "succeeded"
    decided = [
        e.data
        for e in served.app.journal.load_events(record["run_id"])
        if e.type == "approval_decided"
    ]
    assert decided[-1]["values"] == {"audience": "staff", "priority": 2}
    page.goto(served.url("/ui/approvals"))
    expect(page.get_by_text("Nothing is waiting for a decision.")).to_be_visible()


def test_keys_sessions_csrf_and_roles(served_keys: Served, page: Page) -> None:
    page.goto(served_keys.url("/ui/runs"))
    page.wait_for_url(re.compile(r"/ui/login\?next=/ui/runs"))
    page.get_by_label("API key").fill("evp_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    page.get_by_label("API key").fill(served_keys.keys["viewer"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/ui/runs$"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "evopipe_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert served_keys.keys["viewer"] not in cookie["value"]
    # a viewer sees the inbox but may not decide, and the run page has no action buttons
    page.goto(served_keys.url("/ui/approvals"))
    expect(page.get_by_text("may not decide")).to_be_visible()
    page.goto(served_keys.url(_first_link_of(page, served_keys)))
    expect(page.get_by_role("button", name="Fork")).to_have_count(0)
    # a form posted without its CSRF token is refused, even with the session cookie
    run_id = page.url.rsplit("/", 1)[-1]
    refused = page.request.post(served_keys.url(f"/ui/runs/{run_id}/fork"), form={"x": "1"})
    assert refused.status == 403
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/ui/login"))
    page.goto(served_keys.url("/ui/costs"))
    page.wait_for_url(re.compile(r"/ui/login"))


def _first_link_of(page: Page, served: Served) -> str:
    page.goto(served.url("/ui/runs"))
    return _first_link(page, "/ui/runs/")


LABELLED = """() => {
  const controls = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary')];
  // a radio group is one tab stop (arrow keys move within it), as browsers do it
  const groups = {};
  controls.forEach((el, i) => {
    const key = el.type === 'radio' ? 'radio:' + el.name : 'c' + i;
    if (!(key in groups)) { groups[key] = String(Object.keys(groups).length); }
    el.setAttribute('data-control', groups[key]);
  });
  const unnamed = controls.filter(el => {
    const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
    const name = (el.getAttribute('aria-label') || label || el.innerText || el.value || '').trim();
    return !name && !el.closest('label');
  }).map(el => el.outerHTML.slice(0, 80));
  return {count: Object.keys(groups).length, unnamed};
}"""
FOCUSED = "(document.activeElement.getAttribute('data-control') || '')"


def test_every_control_is_labelled_and_reachable_by_keyboard(served: Served, page: Page) -> None:
    for path in ("/ui/runs", "/ui/approvals", "/ui/chat", "/ui/pipelines", "/ui/costs"):
        page.goto(served.url(path))
        page.wait_for_load_state("networkidle")
        found = page.evaluate(LABELLED)
        assert found["unnamed"] == [], (path, found["unnamed"])
        # Tab reaches every control (a date field takes a few presses: one per part)
        visited = set()
        for _ in range(4 * found["count"]):
            page.keyboard.press("Tab")
            visited.add(page.evaluate(FOCUSED))
        missing = set(map(str, range(found["count"]))) - visited
        assert not missing, (path, sorted(missing, key=int))
