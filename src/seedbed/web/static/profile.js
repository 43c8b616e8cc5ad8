// Draws the histograms and the correlation matrix of a dataset profile with Plotly.
(function () {
  "use strict";
  const profile = JSON.parse(document.getElementById("profile-data").textContent);
  // A new layout for every plot: Plotly writes each plot's axis ranges into the object it
  // is given, and a shared one would draw every chart on the first chart's axes.
  function layout(extra) {
    return Object.assign({ margin: { l: 40, r: 10, t: 10, b: 40 }, height: 220, bargap: 0.05,
                           paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" }, extra);
  }
  const config = { displayModeBar: false, responsive: true };
  profile.columns.forEach(function (column, index) {
    const target = document.getElementById("histogram-" + index);
    if (!target || !column.histogram) return;
    const edges = column.histogram.edges;
    const centres = column.histogram.counts.map(function (_, i) {
      const low = edges[i], high = edges[i + 1];
      return typeof low === "number" ? (low + high) / 2 : low;
    });
    window.Plotly.newPlot(target, [{ type: "bar", x: centres, y: column.histogram.counts,
      marker: { color: "#2f6f4f" },
      hovertemplate: "%{x}: %{y}<extra></extra>" }], layout(), config);
  });
  const correlations = document.getElementById("correlations");
  if (correlations && profile.correlations) {
    const names = profile.correlations.columns;
    const side = 48 * Math.max(names.length, 3);  // square cells of about 48 px
    window.Plotly.newPlot(correlations, [{ type: "heatmap", x: names, y: names,
      z: profile.correlations.matrix, zmin: -1, zmax: 1, colorscale: "RdBu",
      hovertemplate: "%{y} × %{x}: %{z:.3f}<extra></extra>" }],
      layout({ height: side + 130, width: Math.min(correlations.clientWidth, side + 240),
               margin: { l: 120, r: 10, t: 10, b: 120 } }),
      { displayModeBar: false });
  }
})();
