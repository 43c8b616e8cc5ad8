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
  function showDifferencesOnly() {
    document.getElementById("param-table").classList.toggle("differences-only", toggle.checked);
  }
  if (toggle) {
    toggle.addEventListener("change", showDifferencesOnly);
    showDifferencesOnly();  // the box may have been ticked before this script ran
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

  // Parallel coordinates drawn as SVG lines (Plotly's parcoords needs WebGL, which remote
  // desktops and headless browsers often lack): one axis per param, then the chosen metric,
  // each scaled to 0..1; a line per run, coloured by the metric, hover shows the values.
  const select = document.getElementById("parcoords-metric");
  const parcoords = document.getElementById("parcoords");
  const viridis = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function colour(t) {
    const x = Math.min(Math.max(t, 0), 1) * (viridis.length - 1);
    const i = Math.min(Math.floor(x), viridis.length - 2);
    const f = x - i;
    const mix = viridis[i].map(function (c, k) { return Math.round(c + (viridis[i + 1][k] - c) * f); });
    return "rgb(" + mix.join(",") + ")";
  }

  function axis(dimension) {
    // Positions in 0..1 and labels for the ticks; one category, or equal numbers, sit mid-way.
    if (dimension.ticktext) {
      const last = Math.max(dimension.ticktext.length - 1, 1);
      const at = function (v) { return dimension.ticktext.length === 1 ? 0.5 : v / last; };
      return { positions: dimension.values.map(at), text: dimension.values.map(function (v) {
                 return dimension.ticktext[v]; }),
               ticks: dimension.tickvals.map(function (v, i) { return [at(v), dimension.ticktext[i]]; }) };
    }
    const numbers = dimension.values;
    const low = Math.min.apply(null, numbers), high = Math.max.apply(null, numbers);
    const at = function (v) { return high === low ? 0.5 : (v - low) / (high - low); };
    const label = function (v) { return Number(v.toPrecision(4)).toString(); };
    return { positions: numbers.map(at), text: numbers.map(label),
             ticks: high === low ? [[0.5, label(low)]] : [[0, label(low)], [1, label(high)]] };
  }

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
    const axes = dimensions.map(axis);
    const colourBy = axes[axes.length - 1].positions;
    const xs = dimensions.map(function (_, i) { return i; });
    const traces = kept.map(function (runIndex, line) {
      return {
        type: "scatter", mode: "lines+markers", name: labels[runIndex], x: xs,
        y: axes.map(function (a) { return a.positions[line]; }),
        text: axes.map(function (a, i) { return dimensions[i].label + " = " + a.text[line]; }),
        line: { color: colour(colourBy[line]), width: 2 }, marker: { size: 6 },
        hovertemplate: labels[runIndex] + "<br>%{text}<extra></extra>",
      };
    });
    const annotations = [];
    axes.forEach(function (a, i) {
      annotations.push({ x: i, y: 1.08, text: "<b>" + dimensions[i].label + "</b>", showarrow: false,
                         xref: "x", yref: "y" });
      a.ticks.slice(0, 12).forEach(function (tick) {
        annotations.push({ x: i, y: tick[0], text: tick[1], showarrow: false, xanchor: "left",
                           xshift: 4, font: { size: 10, color: "#52606d" } });
      });
    });
    const shapes = xs.map(function (x) {
      return { type: "line", x0: x, x1: x, y0: 0, y1: 1, line: { color: "#9aa5b1", width: 1 } };
    });
    Plotly.react(parcoords, traces, layout({
      height: 380, showlegend: true, annotations: annotations, shapes: shapes,
      margin: { l: 30, r: 80, t: 40, b: 30 },
      xaxis: { visible: false, range: [-0.2, xs.length - 0.6] },
      yaxis: { visible: false, range: [-0.05, 1.15] },
      legend: { orientation: "v", x: 1, y: 1 },
    }), config);
  }
  if (select && parcoords && select.value) {
    select.addEventListener("change", drawParcoords);
    drawParcoords();
  }
})();
