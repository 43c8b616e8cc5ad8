// The evaluation report's charts, drawn with Plotly from one run's curves.json and
// importance.json (embedded in the page): ROC, precision-recall, calibration and the
// confusion matrix for classifiers, residuals for regressors, permutation importance.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("charts-data").textContent);
  const Plotly = window.Plotly;
  const config = { displayModeBar: false, responsive: true };
  function layout(extra) {
    return Object.assign({ margin: { l: 50, r: 10, t: 10, b: 45 }, height: 280,
                           paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" }, extra);
  }
  // The first of several names a field may go by.
  function pick(object, names) {
    if (!object) return undefined;
    for (const name of names) if (object[name] !== undefined) return object[name];
    return undefined;
  }
  function draw(id, traces, extra) {
    const target = document.getElementById(id);
    if (!target) return;
    if (!traces) { target.closest("figure").hidden = true; return; }
    Plotly.newPlot(target, traces, layout(extra), config);
  }
  function line(x, y, name) { return { type: "scatter", mode: "lines", x: x, y: y, name: name }; }
  const diagonal = { type: "scatter", mode: "lines", x: [0, 1], y: [0, 1], name: "chance",
                     line: { dash: "dot", color: "#999" } };
  const curves = data.curves || {};
  const roc = pick(curves, ["roc", "roc_curve"]);
  draw("chart-roc", roc && [line(pick(roc, ["fpr", "x"]), pick(roc, ["tpr", "y"]), "ROC"), diagonal],
       { xaxis: { title: { text: "false positive rate" } }, yaxis: { title: { text: "true positive rate" } }, showlegend: false });
  const pr = pick(curves, ["pr", "precision_recall", "pr_curve"]);
  draw("chart-pr", pr && [line(pick(pr, ["recall", "x"]), pick(pr, ["precision", "y"]), "PR")],
       { xaxis: { title: { text: "recall" } }, yaxis: { title: { text: "precision" } } });
  const calibration = pick(curves, ["calibration", "calibration_curve"]);
  draw("chart-calibration", calibration && [
    Object.assign(line(pick(calibration, ["mean_predicted", "predicted", "prob_pred", "x"]),
                       pick(calibration, ["fraction_positive", "observed", "prob_true", "y"]), "model"),
                  { mode: "lines+markers" }), diagonal],
       { xaxis: { title: { text: "predicted probability" } }, yaxis: { title: { text: "observed frequency" } }, showlegend: false });
  let confusion = pick(curves, ["confusion_matrix", "confusion"]);
  if (confusion) {
    const matrix = Array.isArray(confusion) ? confusion : pick(confusion, ["matrix", "values", "z"]);
    const labels = (Array.isArray(confusion) ? null : pick(confusion, ["labels", "classes"])) ||
                   matrix.map(function (_, i) { return String(i); });
    const names = labels.map(String);
    confusion = [{ type: "heatmap", x: names, y: names, z: matrix, colorscale: "Greens", reversescale: true, showscale: false,
                   text: matrix, texttemplate: "%{text}",
                   hovertemplate: "actual %{y}, predicted %{x}: %{z}<extra></extra>" }];
  }
  draw("chart-confusion", confusion, { xaxis: { title: { text: "predicted" }, type: "category" },
                                      yaxis: { title: { text: "actual" }, type: "category", autorange: "reversed" } });
  // regression: a histogram of actual - predicted, and a sample of (predicted, residual)
  const residuals = pick(curves, ["residuals"]);
  const sample = pick(curves, ["sample"]);
  let residualTraces = null;
  if (residuals && residuals.edges && residuals.counts) {
    const centres = residuals.counts.map(function (_, i) { return (residuals.edges[i] + residuals.edges[i + 1]) / 2; });
    residualTraces = [{ type: "bar", x: centres, y: residuals.counts, name: "rows", marker: { color: "#2f6f4f" } }];
  }
  draw("chart-residuals", residualTraces, { bargap: 0.05, xaxis: { title: { text: "actual − predicted" } }, yaxis: { title: { text: "rows" } } });
  if (sample && sample.actual) {
    const figure = document.getElementById("chart-residuals").closest("figure");
    const extra = document.createElement("div");
    extra.className = "chart";
    extra.id = "chart-residual-scatter";
    figure.appendChild(extra);
    draw("chart-residual-scatter", [{ type: "scatter", mode: "markers", marker: { size: 4, opacity: 0.5 },
      x: sample.predicted, y: sample.actual.map(function (a, i) { return a - sample.predicted[i]; }) }],
      { xaxis: { title: { text: "predicted" } }, yaxis: { title: { text: "actual − predicted" } } });
  }
  let importance = data.importance;
  if (importance) {
    let listed = Array.isArray(importance) ? importance : importance.features;
    if (!Array.isArray(listed)) {
      listed = Object.keys(importance).map(function (k) { return { feature: k, mean: importance[k] }; });
    }
    const rows = listed.map(function (r) { return [pick(r, ["feature", "name"]), pick(r, ["mean", "importance"]) || 0, pick(r, ["std"]) || 0]; });
    rows.sort(function (a, b) { return a[1] - b[1]; });
    importance = rows.length ? [{ type: "bar", orientation: "h", y: rows.map(function (r) { return r[0]; }),
                    x: rows.map(function (r) { return r[1]; }),
                    error_x: { type: "data", array: rows.map(function (r) { return r[2]; }) },
                    marker: { color: "#2f6f4f" } }] : null;
  }
  draw("chart-importance", importance, { margin: { l: 130, r: 10, t: 10, b: 45 },
                                         xaxis: { title: { text: "drop in score when shuffled" } } });
})();
