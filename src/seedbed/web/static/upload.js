// The upload page: stream the file with a progress bar, let the user edit the inferred
// column names and types, then publish. Talks to /api/v1/uploads.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  const progress = document.getElementById("upload-progress");
  const bar = document.getElementById("progress-bar");
  const label = document.getElementById("progress-label");
  const errorBox = document.getElementById("upload-error");
  const form = document.getElementById("publish-form");
  const table = document.getElementById("preview-table");
  let staged = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function messageOf(xhrOrResponse, body) {
    try {
      return JSON.parse(body).error.message;
    } catch (e) {
      return "The server answered " + xhrOrResponse.status + ".";
    }
  }

  function upload(file) {
    errorBox.hidden = true;
    form.hidden = true;
    progress.hidden = false;
    bar.value = 0;
    label.textContent = "Uploading " + file.name + "…";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads?filename=" + encodeURIComponent(file.name));
    xhr.setRequestHeader("x-csrf-token", csrf);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        bar.value = Math.round((100 * event.loaded) / event.total);
        label.textContent = "Uploading " + file.name + ": " + bar.value + "%";
      }
    };
    xhr.onload = function () {
      if (xhr.status !== 201) {
        progress.hidden = true;
        showError(messageOf(xhr, xhr.responseText));
        return;
      }
      bar.value = 100;
      label.textContent = file.name + " uploaded.";
      staged = JSON.parse(xhr.responseText);
      showPreview(staged, file.name);
    };
    xhr.onerror = function () {
      progress.hidden = true;
      showError("The upload failed before the server answered; check the connection and try again.");
    };
    xhr.send(file);
  }

  function cell(tag, text) {
    const element = document.createElement(tag);
    element.textContent = text === null || text === undefined ? "" : String(text);
    return element;
  }

  function showPreview(upload, filename) {
    const detected = [upload.format.toUpperCase(), upload.size_bytes.toLocaleString() + " bytes"];
    if (upload.encoding) detected.push("encoding " + upload.encoding);
    if (upload.delimiter) detected.push("delimiter " + JSON.stringify(upload.delimiter));
    document.getElementById("detected").textContent = "Detected: " + detected.join(", ") + ".";
    const stem = filename.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
    document.getElementById("dataset-name").value = stem || "dataset";
    table.replaceChildren();
    const head = document.createElement("thead");
    const names = document.createElement("tr");
    const options = document.getElementById("type-options").innerHTML;
    // One header cell per column holds its name and its type, so the sticky header is one row.
    upload.columns.forEach(function (column, index) {
      const nameCell = document.createElement("th");
      const nameInput = document.createElement("input");
      nameInput.value = column.name;
      nameInput.required = true;
      nameInput.setAttribute("aria-label", "Name of column " + (index + 1));
      nameInput.className = "column-name";
      nameCell.appendChild(nameInput);
      names.appendChild(nameCell);
      const select = document.createElement("select");
      select.innerHTML = options;
      if (![...select.options].some(function (o) { return o.value === column.type; })) {
        select.appendChild(new Option(column.type, column.type));
      }
      select.value = column.type;
      select.setAttribute("aria-label", "Type of column " + column.name);
      select.className = "column-type";
      select.title = "Inferred: " + column.type;
      select.addEventListener("change", function () {
        select.classList.toggle("edited", select.value !== column.type);
      });
      nameCell.appendChild(select);
    });
    head.appendChild(names);
    const body = document.createElement("tbody");
    upload.preview.forEach(function (row) {
      const tr = document.createElement("tr");
      row.forEach(function (value) { tr.appendChild(cell("td", value)); });
      body.appendChild(tr);
    });
    table.append(head, body);
    form.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    const names = [...table.querySelectorAll("input.column-name")].map(function (i) { return i.value; });
    const types = [...table.querySelectorAll("select.column-type")].map(function (s) { return s.value; });
    const columns = names.map(function (name, i) { return { name: name, type: types[i] }; });
    const name = document.getElementById("dataset-name").value;
    const button = document.getElementById("publish-button");
    button.disabled = true;
    fetch("/api/v1/uploads/" + staged.id + "/publish", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({ name: name, columns: columns,
                             description: document.getElementById("dataset-description").value }),
    }).then(function (response) {
      return response.text().then(function (body) {
        button.disabled = false;
        if (!response.ok) {
          showError(messageOf(response, body));
          return;
        }
        const answer = JSON.parse(body);
        const published = answer.version;
        // Identical content adds no version: the dataset page says so.
        window.location.assign("/ui/data/datasets/" + encodeURIComponent(published.dataset) +
                               "?version=" + published.version +
                               (answer.created ? "" : "&unchanged=1"));
      });
    }).catch(function () {
      button.disabled = false;
      showError("The server did not answer; check the connection and publish again.");
    });
  });

  input.addEventListener("change", function () {
    if (input.files.length) upload(input.files[0]);
  });
  // The drop zone is focusable: Enter or Space opens the file chooser.
  zone.addEventListener("keydown", function (event) {
    if (event.target === zone && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      input.click();
    }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
})();
