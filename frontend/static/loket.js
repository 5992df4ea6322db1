// Loket: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Print buttons (hidden without JavaScript: use the browser's print).
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  // Copy buttons copy their data-copy text and say so in the status region.
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    if (!navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(b.getAttribute("data-copy")).then(function () {
        var out = b.parentNode.querySelector("[data-copied]");
        if (out) { out.textContent = out.getAttribute("data-copied"); }
      });
    });
  });
})();
