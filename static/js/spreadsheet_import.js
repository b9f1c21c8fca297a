// Progress of a spreadsheet import (admin): polls the progress URL, reloads the page when the work is done.
(function () {
  "use strict";
  function start() {
    const box = document.getElementById("import-progress");
    if (!box) {
      return;
    }
    const bar = document.getElementById("import-progress-bar");
    const text = document.getElementById("import-progress-text");
    const status = document.getElementById("import-status");
    function poll() {
      fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data) {
            return;
          }
          if (!data.running || data.stalled) {
            window.location.reload();
            return;
          }
          bar.value = data.percent;
          bar.textContent = data.percent + " %";
          status.textContent = data.status_label;
          text.textContent =
            data.rows_total && data.rows_done >= data.rows_total && data.status === "importing"
              ? "Écriture en base…"
              : data.rows_done + " ligne(s) sur " + data.rows_total;
          window.setTimeout(poll, 1500);
        })
        .catch(function () {
          window.setTimeout(poll, 5000);
        });
    }
    window.setTimeout(poll, 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
