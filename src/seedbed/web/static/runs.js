// The runs table: filter, sort and paging travel through htmx (see experiment.html); this
// file adds what needs the browser: columns remembered per experiment, applying checkboxes
// at once, showing a malformed filter's message, and picking runs to compare.
(function () {
  "use strict";
  // Elements are looked up on each use: htmx's back-button restore replaces the whole page.
  const $ = function (selector) { return document.querySelector(selector); };
  const runBoxes = function () {
    return Array.from(document.querySelectorAll('input[name="runs"][form="compare-form"]'));
  };

  function storageKey(form) { return "seedbed.runs.columns." + form.dataset.experiment; }

  function checkedColumns(form) {
    return Array.from(form.querySelectorAll('input[name="col"]:checked')).map(function (box) {
      return box.value;
    });
  }

  // The controls as the URL says: the back button restores a page whose inputs may show
  // what was typed later.
  function syncForm() {
    const form = $("#runs-form");
    if (!form) return;
    const params = new URLSearchParams(window.location.search);
    form.elements.filter.value = params.get("filter") || "";
    form.elements.sort.value = params.get("sort") || "";
    form.elements.page_size.value = params.get("page_size") || form.elements.page_size.options[0].value;
    form.elements.diff.checked = params.has("diff");
    if (params.has("chosen")) {
      const wanted = new Set(params.getAll("col"));
      form.querySelectorAll('input[name="col"]').forEach(function (box) {
        box.checked = wanted.has(box.value);
      });
      $("#columns-chosen").disabled = false;
    }
  }

  // A URL without a column choice shows the columns this browser last chose here.
  function applyRememberedColumns() {
    const form = $("#runs-form");
    if (!form || new URLSearchParams(window.location.search).has("chosen")) return;
    const remembered = window.localStorage.getItem(storageKey(form));
    if (!remembered) return;
    const wanted = new Set(JSON.parse(remembered));
    form.querySelectorAll('input[name="col"]').forEach(function (box) {
      box.checked = wanted.has(box.value);
    });
    $("#columns-chosen").disabled = false;
    const query = new URLSearchParams(new FormData(form)).toString();
    const url = form.getAttribute("action") + "?" + query;
    // Replace, not push: Back should leave the experiment, not undo the remembered choice.
    window.htmx.ajax("GET", url, { target: "#runs-table", swap: "innerHTML" }).then(function () {
      window.history.replaceState(null, "", url);
    });
  }

  function updateSelection() {
    const button = $("#compare-button");
    const count = $("#selected-count");
    if (!button || !count) return;
    const boxes = runBoxes();
    const picked = boxes.filter(function (box) { return box.checked; }).length;
    button.disabled = picked < 2;
    count.textContent = picked === 0 ? "Tick two or more runs to compare them."
      : picked === 1 ? "1 run selected; tick one more to compare."
      : picked + " runs selected.";
    const all = $("#select-all");
    if (all) {
      all.checked = boxes.length > 0 && picked === boxes.length;
      all.indeterminate = picked > 0 && picked < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (input.id === "select-all") {
      runBoxes().forEach(function (box) { box.checked = input.checked; });
      updateSelection();
      return;
    }
    if (input.name === "runs") {
      updateSelection();
      return;
    }
    const form = input.form;
    // The filter box applies on Enter or Apply; checkboxes and selects apply at once.
    if (!form || form.id !== "runs-form" || input.type === "search") return;
    if (input.name === "col") {
      $("#columns-chosen").disabled = false;
      window.localStorage.setItem(storageKey(form), JSON.stringify(checkedColumns(form)));
    }
    form.requestSubmit();
  });

  document.addEventListener("submit", function (event) {
    if (event.target.id !== "compare-form") return;
    event.preventDefault();
    const ids = runBoxes().filter(function (box) { return box.checked; }).map(function (box) {
      return box.value;
    });
    window.location.assign("/ui/compare?runs=" + ids.map(encodeURIComponent).join(","));
  });

  // htmx leaves error answers unswapped; a 400 for the table carries the filter's error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target.id === "runs-table") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // Until a column is ticked or unticked, the URL carries no column list (the default).
  document.addEventListener("htmx:configRequest", function (event) {
    const chosen = $("#columns-chosen");
    if (event.detail.elt.id === "runs-form" && chosen && chosen.disabled) {
      delete event.detail.parameters.col;
    }
  });
  document.addEventListener("htmx:afterSwap", updateSelection);
  document.addEventListener("htmx:historyRestore", function () {
    syncForm();
    updateSelection();
  });

  syncForm();
  updateSelection();
  applyRememberedColumns();
})();
