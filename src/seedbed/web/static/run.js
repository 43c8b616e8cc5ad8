// The run page's metric charts: each metric's points, thinned on the server, drawn with Plotly.
// The x axis switches between step, wall-clock time and time since the run started.
(function () {
  "use strict";
  const container = document.getElementById("charts");
  if (!container || !window.Plotly) return;
  const start = Number(container.dataset.start);
  const limit = Number(container.dataset.maxPoints) || 1000;
  const config = { displayModeBar: false, responsive: true };
  const series = new Map();  // figure element -> the points the server sent

  function mode() {
    const checked = document.querySelector('input[name="chart-x"]:checked');
    return checked ? checked.value : "step";
  }

  function xValues(data, how) {
    if (how === "time") return data.timestamps;
    if (how === "relative") return data.timestamps.map(function (t) { return (t - start) / 1000; });
    return data.steps;
  }

  function axis(how) {
    if (how === "time") return { title: { text: "time (UTC)" }, type: "date" };
    if (how === "relative") return { title: { text: "seconds since the run started" }, type: "linear" };
    return { title: { text: "step" }, type: "linear" };
  }

  function draw(figure) {
    const data = series.get(figure);
    const how = mode();
    const plot = figure.querySelector(".plot");
    // SVG lines, not WebGL: the server never sends more than about 1,000 points.
    const trace = { type: "scatter", mode: data.values.length > 1 ? "lines" : "markers",
                    x: xValues(data, how), y: data.values, name: data.key,
                    line: { color: "#2f6f4e", width: 1.5 }, connectgaps: false,
                    hovertemplate: "%{x}: %{y}<extra></extra>" };
    const layout = { height: 260, margin: { l: 56, r: 12, t: 8, b: 44 }, xaxis: axis(how),
                     yaxis: { automargin: true }, paper_bgcolor: "rgba(0,0,0,0)",
                     plot_bgcolor: "rgba(0,0,0,0)", showlegend: false };
    window.Plotly.react(plot, [trace], layout, config);
  }

  function load(figure) {
    const plot = figure.querySelector(".plot");
    const points = Math.max(10, Math.min(limit, Math.round(plot.clientWidth || limit)));
    const url = container.dataset.src + "?key=" + encodeURIComponent(figure.dataset.key) +
      "&max_points=" + points;
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.json();
      })
      .then(function (data) {
        series.set(figure, data);
        plot.textContent = "";
        const note = figure.querySelector(".sampled");
        if (data.values.length < data.total) {
          note.textContent = "showing " + data.values.length.toLocaleString() + " of " +
            data.total.toLocaleString() + " points";
        } else {
          note.textContent = data.total.toLocaleString() + " points";
        }
        draw(figure);
      })
      .catch(function (error) {
        plot.textContent = "Could not load this metric: " + error.message;
        plot.classList.add("failed");
      });
  }

  container.querySelectorAll("figure.chart").forEach(load);
  document.querySelectorAll('input[name="chart-x"]').forEach(function (input) {
    input.addEventListener("change", function () { series.forEach(function (_, figure) { draw(figure); }); });
  });
})();
