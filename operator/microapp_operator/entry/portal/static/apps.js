// My apps and an app's page (no inline script: the Content-Security-Policy allows 'self' only).
// Keeps the words beside a date fresh without asking the server: "in 2d 3h" under Lifecycle (a
// countdown, <span data-countdown="RFC 3339">) and "5m ago" in My apps (<time data-relative>).
// Without JavaScript the server's words, true when the page was drawn, stay.
(function () {
  "use strict";
  var UNITS = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  function words(seconds, parts) {
    var span = Math.abs(seconds), out = [];
    for (var i = 0; i < UNITS.length && out.length < parts; i++) {
      var n = Math.floor(span / UNITS[i][1]);
      if (n > 0 || (out.length === 0 && UNITS[i][0] === "s")) { out.push(n + UNITS[i][0]); span -= n * UNITS[i][1]; }
    }
    var text = out.join(" ");
    if (Math.abs(seconds) < 1) { return "now"; }
    return seconds < 0 ? "in " + text : text + " ago";
  }
  function tick() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), function (el) {
      var at = Date.parse(el.getAttribute("data-countdown"));
      if (!isNaN(at)) { el.textContent = words(Math.round((now - at) / 1000), 2); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("time[data-relative]"), function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = words(Math.round((now - at) / 1000), 1); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
    document.body.addEventListener("htmx:afterSwap", tick);
  });
})();
