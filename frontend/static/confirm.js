// Dangerous actions ask first. Without JavaScript their button opens a
// confirmation page; with it, the same question opens in a <dialog> here.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-confirm]");
    if (opener) {
      var d = document.getElementById(opener.getAttribute("data-confirm"));
      if (d && typeof d.showModal === "function") {
        e.preventDefault();
        d.showModal();
      }
      return;
    }
    var closer = e.target.closest("dialog [data-close]");
    if (closer) {
      e.preventDefault();
      closer.closest("dialog").close();
    }
  });
})();
