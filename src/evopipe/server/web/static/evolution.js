// An evolution's page: genealogy (cytoscape + dagre) and charts (Chart.js), refreshed every
// two seconds while the evolution runs; new candidates appear without a reload.
"use strict";
(function () {
  const box = document.getElementById("genealogy");
  if (!box) { return; }
  let view = JSON.parse(document.getElementById("evolution-data").textContent);
  const charts = {};
  let cy = null;

  function nodesOf(v) {
    return v.nodes.map(function (n) {
      const q = n.quality === null ? "?" : n.quality.toFixed(2);
      return { id: n.id, label: n.id.slice(0, 8) + " · " + q + " · g" + n.generation,
               champion: n.id === v.champion_id, status: n.id === v.champion_id ? "succeeded" : "" };
    });
  }
  function drawGraph(v) {
    if (cy) { cy.destroy(); }
    cy = window.evopipeGraph(box, nodesOf(v), v.edges, { rankDir: "TB", edgeLabels: v.nodes.length <= 200 });
    box.dataset.nodes = String(v.nodes.length);
    box.dataset.ready = "1";
  }
  function chart(id, config) {
    if (charts[id]) { charts[id].destroy(); }
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    charts[id] = new window.Chart(document.getElementById(id), config);
  }
  function drawCharts(v) {
    const gens = v.generations.map(function (g) { return "g" + g.generation; });
    chart("chart-fitness", { type: "line", data: { labels: gens, datasets: [
      { label: "best", data: v.generations.map(function (g) { return g.best; }), borderColor: "#15803d" },
      { label: "median", data: v.generations.map(function (g) { return g.median; }), borderColor: "#1d4ed8" },
    ] }, options: { scales: { y: { min: 0, max: 1 } } } });
    const points = function (key) {
      return v.pareto.filter(function (p) { return p[key] !== null && p[key] !== undefined; })
        .map(function (p) { return { x: p[key], y: p.quality }; });
    };
    chart("chart-pareto-cost", { type: "scatter", data: { datasets: [{ label: "candidates", data: points("cost"), backgroundColor: "#7c3aed" }] },
      options: { scales: { x: { title: { display: true, text: "cost per example (USD)" } }, y: { title: { display: true, text: "quality" } } } } });
    chart("chart-pareto-latency", { type: "scatter", data: { datasets: [{ label: "candidates", data: points("latency"), backgroundColor: "#b45309" }] },
      options: { scales: { x: { title: { display: true, text: "median latency (ms)" } }, y: { title: { display: true, text: "quality" } } } } });
    chart("chart-spend", { type: "bar", data: { labels: v.spend.map(function (s) { return "g" + s.generation; }),
      datasets: [{ label: "calls (cumulative)", data: v.spend.map(function (s) { return s.calls; }), backgroundColor: "#0f766e" }] } });
  }
  function draw(v) {
    drawGraph(v);
    drawCharts(v);
    document.getElementById("evo-count").textContent = String(v.nodes.length);
    const badge = document.getElementById("evo-status");
    badge.textContent = v.status;
    badge.className = "status s-" + v.status;
  }
  draw(view);
  if (box.dataset.live !== "yes") { return; }
  const timer = setInterval(function () {
    fetch("/ui/evolutions/" + encodeURIComponent(box.dataset.evolution) + "/view.json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (next) {
        if (!next) { return; }
        if (next.nodes.length !== view.nodes.length || next.status !== view.status) { view = next; draw(view); }
        if (next.status !== "running") { clearInterval(timer); }
      });
  }, 2000);
})();
