// Draws the histograms and the correlation matrix of a dataset profile with Plotly.
(function () {
  "use strict";
  const profile = JSON.parse(document.getElementById("profile-data").textContent);
  const layout = { margin: { l: 40, r: 10, t: 10, b: 40 }, height: 220, bargap: 0.05,
                   paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" };
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
      hovertemplate: "%{x}: %{y}<extra></extra>" }], layout, config);
  });
  const correlations = document.getElementById("correlations");
  if (correlations && profile.correlations) {
    const names = profile.correlations.columns;
    window.Plotly.newPlot(correlations, [{ type: "heatmap", x: names, y: names,
      z: profile.correlations.matrix, zmin: -1, zmax: 1, colorscale: "RdBu" }],
      Object.assign({}, layout, { height: 120 + 28 * names.length,
                                  margin: { l: 120, r: 10, t: 10, b: 120 } }), config);
  }
})();
