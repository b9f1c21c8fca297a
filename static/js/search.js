// The search page (templates/partners/search.html).
(function () {
  "use strict";

  // The filters are folded on a phone, so that the first result shows on the first screen; on a wider
  // screen there is room: they start unfolded. Without JavaScript they stay folded (one click away).
  if (window.matchMedia("(min-width: 48em)").matches) {
    document.querySelectorAll("details[data-open-when-wide]").forEach(function (details) {
      details.open = true;
    });
  }

  // A link followed from the page wins over a search still on its way: the search's answer would push
  // its URL into the history and so cancel the navigation (leaving the place field fires a search).
  document.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      var form = document.querySelector("form.search-form");
      if (link && form && window.htmx) {
        window.htmx.trigger(form, "htmx:abort");
      }
    },
    true
  );
})();
