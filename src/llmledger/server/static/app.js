// Small enhancements; every page works without them.
(function () {
  "use strict";
  // selects marked data-autosubmit apply at once (the button beside them does it without JS)
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  var logout = document.getElementById("logout");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  if (logout && csrf) {
    logout.addEventListener("click", function () {
      fetch("/api/v1/auth/logout", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf.content },
      }).finally(function () { window.location.assign("/login"); });
    });
  }
})();
