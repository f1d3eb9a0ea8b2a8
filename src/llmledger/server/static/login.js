// Logs in through the JSON API (the session cookie comes back with the answer), then goes on.
(function () {
  "use strict";
  var form = document.getElementById("login");
  var error = document.getElementById("login-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var body = JSON.stringify({ email: form.email.value, password: form.password.value });
    fetch("/api/v1/auth/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: body,
    }).then(function (r) {
      return r.json().then(function (answer) {
        // the answer is read before leaving, so the browser never aborts it
        if (r.ok) { window.location.assign(form.dataset.next || "/"); return; }
        error.textContent = r.status === 401 ? "Wrong email or password." : answer.detail || "Could not log in.";
        error.hidden = false;
      });
    }).catch(function () {
      error.textContent = "The server did not answer; try again.";
      error.hidden = false;
    });
  });
})();
