// The compare page: param differences only, metric curves overlaid (one chart per metric,
// a line per run, from the server's downsampled history) and parallel coordinates.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const Plotly = window.Plotly;
  const MAX_POINTS = 500;
  const palette = ["#2f6f4e", "#1f77b4", "#d62728", "#ff7f0e", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const config = { displayModeBar: false, responsive: true };

  // Two runs may share a name; the legend tells them apart by the start of their ids.
  const counts = {};
  data.runs.forEach(function (run) { counts[run.name] = (counts[run.name] || 0) + 1; });
  const labels = data.runs.map(function (run) {
    return counts[run.name] > 1 ? run.name + " (" + run.id.slice(0, 6) + ")" : run.name;
  });

  function layout(extra) {
    return Object.assign({ margin: { l: 50, r: 10, t: 10, b: 40 }, height: 260,
                           paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
                           legend: { orientation: "h", y: -0.25 } }, extra);
  }

  const toggle = document.getElementById("params-differences-only");
  if (toggle) {
    toggle.addEventListener("change", function () {
      document.getElementById("param-table").classList.toggle("differences-only", toggle.checked);
    });
  }

  function history(runId, key) {
    const url = "/api/v1/runs/" + encodeURIComponent(runId) + "/metrics/" +
      encodeURIComponent(key) + "?max_points=" + MAX_POINTS;
    return fetch(url, { credentials: "same-origin" }).then(function (answer) {
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      return answer.json();
    });
  }

  function drawCurve(target) {
    const key = target.dataset.key;
    Promise.all(data.runs.map(function (run) { return history(run.id, key); }))
      .then(function (histories) {
        const traces = [];
        histories.forEach(function (points, index) {
          if (!points.length) return;  // this run never logged the metric
          traces.push({
            type: "scatter", mode: points.length > 1 ? "lines" : "markers", name: labels[index],
            x: points.map(function (p) { return p.step; }),
            y: points.map(function (p) { return p.value; }),
            line: { color: palette[index % palette.length], width: 2 },
            marker: { color: palette[index % palette.length] },
            hovertemplate: labels[index] + " · step %{x}: %{y:.4g}<extra></extra>",
          });
        });
        Plotly.newPlot(target, traces, layout({ showlegend: true, xaxis: { title: { text: "step" } } }),
                       config);
      })
      .catch(function (error) {
        target.classList.add("failed");
        target.textContent = "The history of " + key + " could not be loaded (" + error.message + ").";
      });
  }

  document.querySelectorAll(".chart.curve").forEach(drawCurve);

  const select = document.getElementById("parcoords-metric");
  const parcoords = document.getElementById("parcoords");
  function drawParcoords() {
    const key = select.value;
    const values = data.metrics[key];
    // Only runs that logged the metric get a line; a missing value has no place on an axis.
    const kept = values.map(function (v, i) { return v === null ? -1 : i; })
      .filter(function (i) { return i >= 0; });
    const pick = function (list) { return kept.map(function (i) { return list[i]; }); };
    const dimensions = data.dimensions.map(function (d) {
      return Object.assign({}, d, { values: pick(d.values) });
    });
    dimensions.push({ label: key, values: pick(values) });
    Plotly.react(parcoords, [{
      type: "parcoords", dimensions: dimensions,
      line: { color: pick(values), colorscale: "Viridis", showscale: true,
              colorbar: { title: { text: key } } },
    }], layout({ height: 380, margin: { l: 70, r: 90, t: 50, b: 30 } }), config);
  }
  if (select && parcoords && select.value) {
    select.addEventListener("change", drawParcoords);
    drawParcoords();
  }
})();
