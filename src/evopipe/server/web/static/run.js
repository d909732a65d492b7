// A run's page: draw the DAG, then follow the run's event stream (replayed from the journal)
// and recolour steps as they change; the steps table is refreshed from the server.
"use strict";
(function () {
  const box = document.getElementById("dag");
  if (!box) { return; }
  const graph = JSON.parse(document.getElementById("graph-data").textContent);
  const statuses = JSON.parse(document.getElementById("step-status").textContent);
  const byId = {};
  graph.nodes.forEach(function (n, i) {
    n.label = n.id + " · " + n.kind;
    n.status = statuses[i] || "pending";
    byId[n.id] = n;
  });
  const cy = window.evopipeGraph(box, graph.nodes, graph.edges, {});
  const STATUS = {
    step_started: "running", step_attempt_started: "running", step_succeeded: "succeeded",
    step_failed: "failed", step_skipped: "skipped", step_waiting: "waiting",
    step_cancelled: "cancelled",
  };
  const runId = box.dataset.run;
  function publish() {  // the statuses, readable by tests and assistive tools
    const states = {};
    cy.nodes().forEach(function (n) { states[n.id()] = n.data("status"); });
    box.dataset.states = JSON.stringify(states);
    box.setAttribute("aria-label", "Steps: " + Object.keys(states).map(function (k) {
      return k + " " + states[k];
    }).join(", "));
  }
  publish();
  box.dataset.ready = "1";
  let pending = null;
  function refreshSteps() {
    if (pending) { return; }
    pending = setTimeout(function () {
      pending = null;
      window.htmx.ajax("GET", "/ui/runs/" + runId + "/steps", { target: "#steps", swap: "innerHTML" });
    }, 250);
  }
  const ENDED_EARLY = { failed: true, budget_exceeded: true, cancelled: true };
  function finish(status) {
    const badge = document.getElementById("run-status");
    badge.textContent = status;
    badge.className = "status s-" + status;
    if (ENDED_EARLY[status]) {  // steps the run never got to did not run (they wait no more)
      cy.nodes("[status = 'pending']").forEach(function (n) { n.data("status", "not_run"); });
      publish();
    }
  }
  let url = "/api/v1/runs/" + encodeURIComponent(runId) + "/events";
  if (box.dataset.token) { url += "?access_token=" + encodeURIComponent(box.dataset.token); }
  const source = new EventSource(url);
  source.onmessage = null;
  Object.keys(STATUS).forEach(function (type) {
    source.addEventListener(type, function (msg) {
      const event = JSON.parse(msg.data);
      const top = (event.step_id || "").split(/[/.[]/)[0];
      const node = cy.getElementById(top);
      if (node && node.length && event.step_id === top) { node.data("status", STATUS[type]); publish(); }
      box.dataset.updates = String(Number(box.dataset.updates || 0) + 1);
      refreshSteps();
    });
  });
  source.addEventListener("run_started", function () { finish("running"); });
  source.addEventListener("run_finished", function (msg) {
    finish(JSON.parse(msg.data).data.status || "finished");
    refreshSteps();
  });
  source.addEventListener("end", function (msg) {
    const run = JSON.parse(msg.data);
    if (run && run.status) { finish(run.status); }
    source.close();
    refreshSteps();
  });
  source.onerror = function () { /* the browser reconnects with Last-Event-ID by itself */ };
})();
