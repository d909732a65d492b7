// The costs page's daily chart (Chart.js, vendored).
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("cost-days").textContent);
  new window.Chart(document.getElementById("chart-days"), {
    type: "bar",
    data: { labels: data.map(function (d) { return d.key; }),
            datasets: [{ label: "USD", data: data.map(function (d) { return d.cost_usd; }), backgroundColor: "#1d4ed8" }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false },
  });
})();
