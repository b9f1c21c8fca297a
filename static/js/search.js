// The search page's filters are folded on a phone, so that the first result shows on the first screen;
// on a wider screen there is room: they start unfolded. Without JavaScript they stay folded (one click).
(function () {
  "use strict";
  if (!window.matchMedia("(min-width: 48em)").matches) {
    return;
  }
  document.querySelectorAll("details[data-open-when-wide]").forEach(function (details) {
    details.open = true;
  });
})();
