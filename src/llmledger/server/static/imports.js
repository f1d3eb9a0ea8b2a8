// The imports page. Run now is POST /api/v1/admin/imports/{provider}/run, whose answer comes
// when the import is done: the card shows that it runs and for how long, then the run or the
// API's error as the API words it (409: another import runs; 422: a bad range or no key; 502:
// the provider refused or kept failing), and the key state and the runs table are fetched
// again. The key form and its Remove button are admin.js's (data-api); what their answers do
// is here: the password field is emptied, and the key never comes back into the page.
(function () {
  "use strict";
  var L = window.llmledger;
  var REFUSED = {
    409: "Not run: another import of this provider is running",
    422: "Not run",
    502: "Failed: the provider refused or kept failing",
  };

  function card(el) { return el.closest(".import-provider"); }

  function say(el, message, failed) {
    var box = card(el).querySelector("[data-result]");
    box.classList.toggle("error", Boolean(failed));
    box.querySelector("[data-result-text]").textContent = message;
    return box;
  }

  // the parts of the page marked data-swap, as the server shows them now
  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("the page answered " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-swap]").forEach(function (old) {
          var next = fresh.querySelector('[data-swap="' + old.getAttribute("data-swap") + '"]');
          if (next) { old.replaceWith(document.importNode(next, true)); }
        });
        document.querySelectorAll("[data-swap] select[data-autosubmit]").forEach(function (s) {
          s.addEventListener("change", function () { s.form.submit(); });
        });
      })
      .catch(function (error) { L.toast("Could not refresh the page: " + error.message, "error"); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.run) { return; }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var started = Date.now();
    var box = say(form, "");
    var bar = box.querySelector("progress");
    function tick() {
      var seconds = Math.round((Date.now() - started) / 1000);
      say(form, "Importing " + form.dataset.label + "… " + seconds + " s");
    }
    tick();
    var timer = setInterval(tick, 1000);
    bar.hidden = false;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    L.api("POST", form.dataset.run, L.formBody(form)).then(function (run) {
      say(form, "Run " + run.id + " " + run.state + ": " + run.startDate + " to " + run.endDate +
        ", " + run.usageRows + " usage rows, " + run.costRows + " cost rows" +
        (run.metricRows ? ", " + run.metricRows + " metric rows." : "."));
    }).catch(function (error) {
      var lead = REFUSED[error.status] || (error.status ? "Failed (" + error.status + ")" : "Failed");
      say(form, lead + ": " + error.message, true);
    }).finally(function () {
      clearInterval(timer);
      bar.hidden = true;
      button.disabled = false;
      form.removeAttribute("aria-busy");
      refresh();
    });
  });

  L.done["key-saved"] = function (answer, form) {
    form.reset();
    say(form, "Key stored: it ends in …" + answer.lastFour + "; set by " + answer.setBy + ".");
    L.toast(form.dataset.ok || "Key stored");
    refresh();
  };
  L.done["key-removed"] = function (answer, button) {
    say(button, "Stored key removed; imports use the environment variable if it is set.");
    L.toast(button.dataset.ok || "Key removed");
    refresh();
  };
})();
