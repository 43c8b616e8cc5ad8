// The evaluation report's charts, drawn with Plotly from the chosen runs' curves.json and
// importance.json (embedded in the page): ROC, precision-recall and calibration overlay
// every chosen run; the confusion matrix, residuals, importance and cluster sizes are the
// first chosen run's that has them. Field names follow seedbed.evaluation.metrics.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("charts-data").textContent);
  const runs = data.runs || [];
  const Plotly = window.Plotly;
  const config = { displayModeBar: false, responsive: true };
  function layout(extra) {
    return Object.assign({ margin: { l: 50, r: 10, t: 10, b: 45 }, height: 280,
                           legend: { orientation: "h", y: -0.3 },
                           paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" }, extra);
  }
  function draw(id, traces, extra) {
    const target = document.getElementById(id);
    if (!target) return;
    if (!traces || !traces.length) { target.closest("figure").hidden = true; return; }
    Plotly.newPlot(target, traces, layout(extra), config);
  }
  function curve(run, name) { return run.curves && run.curves[name]; }
  function first(pick) {
    for (const run of runs) { const found = pick(run); if (found) return found; }
    return null;
  }
  const diagonal = { type: "scatter", mode: "lines", x: [0, 1], y: [0, 1], name: "chance",
                     line: { dash: "dot", color: "#999" }, showlegend: false };
  function overlay(name, x, y, extra) {
    const traces = runs.filter(function (run) { return curve(run, name); }).map(function (run) {
      const c = curve(run, name);
      return Object.assign({ type: "scatter", mode: "lines", name: run.label, x: c[x], y: c[y] }, extra || {});
    });
    return traces;
  }
  const roc = overlay("roc", "fpr", "tpr");
  draw("chart-roc", roc.length ? roc.concat([diagonal]) : null,
       { xaxis: { title: { text: "false positive rate" } }, yaxis: { title: { text: "true positive rate" } } });
  draw("chart-pr", overlay("pr", "recall", "precision"),
       { xaxis: { title: { text: "recall" } }, yaxis: { title: { text: "precision" } } });
  const calibration = overlay("calibration", "mean_predicted", "observed", { mode: "lines+markers", connectgaps: true });
  draw("chart-calibration", calibration.length ? calibration.concat([diagonal]) : null,
       { xaxis: { title: { text: "predicted probability" } }, yaxis: { title: { text: "observed frequency" } } });

  const confusion = first(function (run) { return curve(run, "confusion") && { run: run, c: curve(run, "confusion") }; });
  draw("chart-confusion", confusion && [{ type: "heatmap", x: confusion.c.labels, y: confusion.c.labels,
        z: confusion.c.matrix, colorscale: "Greens", reversescale: true, showscale: false,
        text: confusion.c.matrix, texttemplate: "%{text}", name: confusion.run.label,
        hovertemplate: "actual %{y}, predicted %{x}: %{z}<extra></extra>" }],
       { xaxis: { title: { text: "predicted (" + (confusion ? confusion.run.label : "") + ")" }, type: "category" },
         yaxis: { title: { text: "actual" }, type: "category", autorange: "reversed" } });

  // regression: a histogram of actual - predicted, and a sample of (predicted, residual)
  const residuals = first(function (run) { return curve(run, "residuals"); });
  let histogram = null;
  if (residuals && residuals.edges && residuals.counts && residuals.counts.length) {
    const centres = residuals.counts.map(function (_, i) { return (residuals.edges[i] + residuals.edges[i + 1]) / 2; });
    histogram = [{ type: "bar", x: centres, y: residuals.counts, name: "rows", marker: { color: "#2f6f4f" } }];
  }
  draw("chart-residuals", histogram, { bargap: 0.05, xaxis: { title: { text: "actual − predicted" } }, yaxis: { title: { text: "rows" } } });
  const sample = first(function (run) { return curve(run, "sample"); });
  if (histogram && sample && sample.actual) {
    const extra = document.createElement("div");
    extra.className = "chart";
    extra.id = "chart-residual-scatter";
    document.getElementById("chart-residuals").closest("figure").appendChild(extra);
    draw("chart-residual-scatter", [{ type: "scatter", mode: "markers", marker: { size: 4, opacity: 0.5 },
      x: sample.predicted, y: sample.actual.map(function (a, i) { return a - sample.predicted[i]; }) }],
      { xaxis: { title: { text: "predicted" } }, yaxis: { title: { text: "actual − predicted" } } });
  }

  const importance = first(function (run) { return run.importance && run.importance.features && run.importance.features.length && run.importance; });
  let bars = null;
  if (importance) {
    const rows = importance.features.slice().sort(function (a, b) { return (a.mean || 0) - (b.mean || 0); });
    bars = [{ type: "bar", orientation: "h", y: rows.map(function (r) { return r.feature; }),
              x: rows.map(function (r) { return r.mean || 0; }),
              error_x: { type: "data", array: rows.map(function (r) { return r.std || 0; }) },
              marker: { color: "#2f6f4f" } }];
  }
  draw("chart-importance", bars, { margin: { l: 130, r: 10, t: 10, b: 45 },
       xaxis: { title: { text: "worsening of " + (importance ? importance.metric : "the score") + " when shuffled" } } });

  const clusters = first(function (run) { return curve(run, "clusters"); });
  const sizes = clusters && clusters.sizes;
  draw("chart-clusters", sizes && [{ type: "bar", x: Object.keys(sizes), y: Object.values(sizes),
                                     marker: { color: "#2f6f4f" } }],
       { xaxis: { title: { text: "cluster" }, type: "category" }, yaxis: { title: { text: "rows" } } });
})();
