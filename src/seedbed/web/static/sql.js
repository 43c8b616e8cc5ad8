// The SQL console: runs a query through /api/v1/sql (JSON rows), shows a grid, and can
// cancel the running query by its id.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("sql-form");
  const query = document.getElementById("sql-query");
  const runButton = document.getElementById("sql-run");
  const cancelButton = document.getElementById("sql-cancel");
  const status = document.getElementById("sql-status");
  const errorBox = document.getElementById("sql-error");
  const grid = document.getElementById("sql-result");
  const gridWrap = document.getElementById("sql-result-wrap");
  let running = null;

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function render(result) {
    grid.replaceChildren();
    const head = document.createElement("thead");
    const headRow = document.createElement("tr");
    result.columns.forEach(function (name, i) {
      const th = document.createElement("th");
      th.textContent = name;
      th.title = result.types[i];
      if (result.rows.some(function (row) { return typeof row[i] === "number"; })) {
        th.className = "num";  // right-aligned over its right-aligned numbers
      }
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    const body = document.createElement("tbody");
    result.rows.forEach(function (row) {
      const tr = document.createElement("tr");
      row.forEach(function (value) {
        const td = document.createElement("td");
        td.textContent = value === null ? "NULL" : String(value);
        if (typeof value === "number") td.className = "num";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    grid.append(head, body);
    gridWrap.hidden = false;
  }

  // A failed or cancelled query leaves no result behind that could pass for its own.
  function fail(message) {
    grid.replaceChildren();
    gridWrap.hidden = true;
    errorBox.textContent = message;
    errorBox.hidden = false;
    status.textContent = "";
  }

  function run() {
    if (running) return;
    errorBox.hidden = true;
    const id = newId();
    running = id;
    runButton.disabled = true;
    cancelButton.disabled = false;
    status.textContent = "Running…";
    const started = performance.now();
    post("/api/v1/sql", {
      query: query.value,
      limit: Number(document.getElementById("sql-limit").value) || null,
      timeout_s: Number(document.getElementById("sql-timeout").value) || null,
      query_id: id,
      format: "json",
    }).then(function (response) {
      return response.json().then(function (body) {
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        if (!response.ok) {
          fail(body.error ? body.error.message : "The query failed.");
          return;
        }
        render(body);
        const count = body.rows.length;
        status.textContent = count + (count === 1 ? " row" : " rows") +
          (body.truncated ? " (row limit reached)" : "") +
          " in " + seconds + " s.";
      });
    }).catch(function () {
      fail("The server did not answer, or answered something that is not a query result.");
    }).finally(function () {
      running = null;
      runButton.disabled = false;
      cancelButton.disabled = true;
    });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); run(); }
  });
  cancelButton.addEventListener("click", function () {
    if (running) {
      status.textContent = "Cancelling…";
      post("/api/v1/sql/" + running + "/cancel");
    }
  });
})();
