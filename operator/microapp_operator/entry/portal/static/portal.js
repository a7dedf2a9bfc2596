// The portal's one script (no inline script: the Content-Security-Policy allows 'self' only).
// 1. After a failed submit the server marks the error summary (or the outcome) autofocus; this
//    moves focus there also where the browser skipped it.
// 2. What a person types into the new-app form is kept in this tab's sessionStorage, so a sign-in
//    that expired (oauth2-proxy sends them to sign in again, then back to the form by GET) does
//    not lose it. A fresh form takes it back; an app's page (after Create) forgets it.
(function () {
  "use strict";
  var PREFIX = "microapp-portal:";
  function focusAlert(root) {
    var el = (root || document).querySelector("[autofocus][tabindex='-1']");
    if (el && document.activeElement !== el) { el.focus(); }
  }
  function save(form) {
    var kept = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf" || el.name === "action" || el.name === "yaml") { return; }
      kept[el.name] = el.type === "checkbox" ? (el.checked ? "on" : "") : el.value;
    });
    try { sessionStorage.setItem(PREFIX + form.getAttribute("action"), JSON.stringify(kept)); } catch (e) { /* full or off */ }
  }
  function restore(form) {
    var text = null;
    try { text = sessionStorage.getItem(PREFIX + form.getAttribute("action")); } catch (e) { return; }
    if (!text) { return; }
    var kept = JSON.parse(text);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !Object.prototype.hasOwnProperty.call(kept, el.name)) { return; }
      if (el.type === "checkbox") { el.checked = kept[el.name] === "on"; } else { el.value = kept[el.name]; }
    });
    form.dispatchEvent(new Event("change", { bubbles: true }));  // the live panel follows
  }
  document.addEventListener("DOMContentLoaded", function () {
    focusAlert(document);
    var form = document.querySelector("form.app-form");
    if (form) {
      if (form.dataset.fresh === "true") { restore(form); }
      form.addEventListener("input", function () { save(form); });
      form.addEventListener("change", function () { save(form); });
    } else if (document.querySelector("article.app")) {
      try {
        Object.keys(sessionStorage).forEach(function (k) { if (k.indexOf(PREFIX) === 0) { sessionStorage.removeItem(k); } });
      } catch (e) { /* storage off */ }
    }
  });
})();
