// Drawing graphs with cytoscape + dagre (both vendored): the run DAG and the genealogy tree.
"use strict";
window.evopipeGraph = function (container, nodes, edges, options) {
  if (window.cytoscapeDagre && !window.evopipeGraph.registered) {
    window.cytoscape.use(window.cytoscapeDagre);
    window.evopipeGraph.registered = true;
  }
  const opts = options || {};
  const large = nodes.length > 300;
  return window.cytoscape({
    container: container,
    elements: {
      nodes: nodes.map(function (n) { return { data: n }; }),
      edges: edges.map(function (e, i) {
        return { data: Object.assign({ id: "e" + i }, e) };
      }),
    },
    layout: { name: "dagre", rankDir: opts.rankDir || "LR", nodeSep: 12, rankSep: 40, animate: false },
    textureOnViewport: large,
    hideEdgesOnViewport: large,
    pixelRatio: large ? 1 : "auto",
    maxZoom: 1.4,
    minZoom: 0.05,
    style: [
      { selector: "node", style: {
          "label": "data(label)", "font-size": 10, "text-valign": "center", "text-halign": "center",
          "background-color": "#d0d4da", "shape": "round-rectangle",
          "width": function (ele) { return 12 + 6 * String(ele.data("label")).length; },
          "height": 22, "padding": "6px", "border-width": 1, "border-color": "#6b7280" } },
      { selector: "edge", style: {
          "width": 1, "line-color": "#9ca3af", "target-arrow-color": "#9ca3af",
          "target-arrow-shape": "triangle", "curve-style": large ? "haystack" : "bezier",
          "label": opts.edgeLabels ? "data(label)" : "", "font-size": 8, "color": "#374151" } },
      { selector: "node[status = 'running']", style: { "background-color": "#93c5fd" } },
      { selector: "node[status = 'succeeded']", style: { "background-color": "#86efac" } },
      { selector: "node[status = 'failed']", style: { "background-color": "#fca5a5" } },
      { selector: "node[status = 'waiting']", style: { "background-color": "#fde68a" } },
      { selector: "node[status = 'skipped']", style: { "background-color": "#e5e7eb", "border-style": "dashed" } },
      { selector: "node[status = 'not_run']", style: { "background-color": "#f3f4f6", "border-style": "dotted", "color": "#6b7280" } },
      { selector: "node[status = 'cancelled']", style: { "background-color": "#c4b5fd" } },
      { selector: "node[?champion]", style: { "border-width": 4, "border-color": "#b45309" } },
    ],
  });
};
