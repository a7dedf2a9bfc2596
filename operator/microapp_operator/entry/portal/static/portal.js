// The portal's one script (no inline script: the Content-Security-Policy allows 'self' only).
// After a failed submit the server marks the error summary (or the outcome) autofocus; this moves
// focus there also where the browser skipped it, and after htmx swaps that bring one in.
(function () {
  "use strict";
  function focusAlert(root) {
    var el = (root || document).querySelector("[autofocus][tabindex='-1']");
    if (el && document.activeElement !== el) { el.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusAlert(document); });
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail && ev.detail.target && ev.detail.target.id !== "panel") { focusAlert(ev.detail.target); }
  });
})();
