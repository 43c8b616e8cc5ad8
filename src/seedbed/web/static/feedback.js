// Draws the feedback page's charts with Plotly: agreement per day and per segment value.
(function () {
  "use strict";
  const source = document.getElementById("feedback-data");
  if (!source || !window.Plotly) return;
  const summary = JSON.parse(source.textContent);
  const config = { displayModeBar: false, responsive: true };
  function layout(extra) {
    return Object.assign({ margin: { l: 50, r: 10, t: 10, b: 60 }, height: 260,
                           yaxis: { range: [0, 1], tickformat: ".0%", title: "marked right" },
                           paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" }, extra);
  }
  function hover(points) {
    return points.map(function (p) {
      return p.correct + " of " + p.with_verdict + " right (" + p.total + " items)";
    });
  }
  function empty(target, text) {
    target.classList.add("empty");
    target.textContent = text;
  }
  function draw(id, points, trace, extra) {
    const target = document.getElementById(id);
    if (!target) return;
    const judged = points.filter(function (p) { return p.with_verdict > 0; });
    if (!judged.length) {
      empty(target, "No verdicts yet.");
      return;
    }
    window.Plotly.newPlot(target, [Object.assign({
      x: judged.map(function (p) { return p.key; }),
      y: judged.map(function (p) { return p.agreement; }),
      text: hover(judged),
      hovertemplate: "%{x}: %{y:.0%}<br>%{text}<extra></extra>",
      marker: { color: "#2f6f4f" },
    }, trace)], layout(extra), config);
    target.dataset.drawn = "true";
  }
  draw("agreement-over-time", summary.by_day, { type: "scatter", mode: "lines+markers" },
       { xaxis: { type: "category", title: "day (UTC)" } });
  draw("agreement-by-segment", summary.by_segment, { type: "bar" },
       { xaxis: { type: "category", title: summary.segment || "" } });
})();
