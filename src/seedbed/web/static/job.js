// The job page's live log: ask for what was written since the last offset, once a second,
// until the job has ended and the log is read to its end. A job that ends while the page is
// open gets the page reloaded once, to show its exit code, CPU time, message and runs.
(function () {
  "use strict";
  const pre = document.getElementById("job-log");
  if (!pre) return;
  const state = document.getElementById("job-state");
  const job = pre.dataset.job;
  let offset = 0;
  let final = pre.dataset.final === "true";
  const endedWhileOpen = () => final && pre.dataset.final !== "true";
  const decoder = new TextDecoder();

  async function poll() {
    let response;
    try {
      response = await fetch(`/api/v1/jobs/${job}/logs?offset=${offset}`, { credentials: "same-origin" });
    } catch (error) {
      setTimeout(poll, 2000);
      return;
    }
    if (!response.ok) return;
    const bytes = new Uint8Array(await response.arrayBuffer());
    offset = Number(response.headers.get("x-seedbed-offset") || offset);
    const status = response.headers.get("x-seedbed-status") || "";
    if (bytes.length) {
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent += decoder.decode(bytes, { stream: true });
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    if (state && status && state.textContent !== status.replaceAll("_", " ")) {
      state.textContent = status.replaceAll("_", " ");
      state.className = `badge job-${status}`;
      if (!["queued", "running"].includes(status)) final = true;
    }
    if (bytes.length || !final) setTimeout(poll, bytes.length ? 200 : 1000);
    else if (endedWhileOpen()) window.location.reload();
  }
  poll();
})();
