// Admin pages: every change is a call to the JSON API with the session's CSRF token, so the
// page can do nothing the API would refuse. Forms and buttons say what to call:
//   <form data-api="/api/v1/..." data-method="POST" data-ok="Saved" data-done="reload">
//   <button data-api="..." data-method="DELETE" data-confirm="Revoke it?" data-done="reload">
//   <select data-api="..." data-method="PATCH" data-field="role" data-confirm="...">
// Field names may be dotted (tiers.0.inputPerMillion); data-kind="int" or "bool" types them.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var PENDING = "llmledger-toast";

  function api(method, url, body) {
    var headers = { Accept: "application/json", "X-CSRF-Token": meta ? meta.content : "" };
    var payload;
    if (body instanceof Blob) {
      headers["Content-Type"] = "application/octet-stream";
      payload = body;
    } else if (body !== undefined && body !== null) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(url, { method: method, headers: headers, body: payload, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 204) { return null; }
        return r.json().catch(function () { return { detail: r.status + " " + r.statusText }; })
          .then(function (data) {
            if (r.ok) { return data; }
            var error = new Error(typeof data.detail === "string" ? data.detail : r.statusText);
            error.status = r.status;
            error.data = data;
            throw error;
          });
      });
  }

  var region = document.createElement("div");
  region.className = "toasts";
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  document.body.appendChild(region);

  function toast(message, kind) {
    var item = document.createElement("div");
    item.className = "toast toast-" + (kind || "ok");
    item.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, kind === "error" ? 12000 : 6000);
  }

  function reload(message) {
    if (message) { sessionStorage.setItem(PENDING, message); }
    window.location.reload();
  }
  // open another page, with a notification for it to show
  function go(url, message) {
    if (message) { sessionStorage.setItem(PENDING, message); }
    window.location.assign(url);
  }
  var pending = sessionStorage.getItem(PENDING);
  if (pending) { sessionStorage.removeItem(PENDING); toast(pending); }

  // a modal question; resolves true only when the person says yes
  function confirmAction(message, yes) {
    return new Promise(function (resolve) {
      var dialog = document.createElement("dialog");
      dialog.className = "confirm";
      var text = document.createElement("p");
      text.textContent = message;
      var ok = document.createElement("button");
      ok.type = "button";
      ok.className = "danger";
      ok.textContent = yes || "Yes, do it";
      var no = document.createElement("button");
      no.type = "button";
      no.className = "ghost";
      no.textContent = "Cancel";
      var row = document.createElement("div");
      row.className = "form-actions";
      row.append(no, ok);
      dialog.append(text, row);
      document.body.appendChild(dialog);
      function finish(answer) { dialog.close(); dialog.remove(); resolve(answer); }
      ok.addEventListener("click", function () { finish(true); });
      no.addEventListener("click", function () { finish(false); });
      dialog.addEventListener("cancel", function (e) { e.preventDefault(); finish(false); });
      dialog.showModal();
      no.focus();
    });
  }

  function put(target, path, value) {
    var keys = path.split(".");
    var node = target;
    keys.forEach(function (key, i) {
      var last = i === keys.length - 1;
      var index = /^\d+$/.test(key) ? Number(key) : key;
      if (last) { node[index] = value; return; }
      if (node[index] === undefined) { node[index] = /^\d+$/.test(keys[i + 1]) ? [] : {}; }
      node = node[index];
    });
  }

  // the JSON body of a form: empty fields are left out (the API's default applies)
  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "file" || el.type === "submit") { return; }
      if (el.type === "radio" && !el.checked) { return; }
      var value;
      if (el.type === "checkbox") {
        value = el.checked;
      } else {
        value = el.value.trim();
        if (value === "") { return; }
        if (el.dataset.kind === "int") { value = Number(value); }
        if (el.dataset.kind === "bool") { value = value === "true"; }
      }
      put(body, el.name, value);
    });
    // a partly filled list item (a tier without prices) is left out as a whole
    Object.keys(body).forEach(function (key) {
      if (Array.isArray(body[key])) {
        body[key] = body[key].filter(function (item) { return item && Object.keys(item).length > 1; });
      }
    });
    return body;
  }

  // the API names the field first ("email: not an address"): show it beside that field
  function fieldErrors(form, error) {
    form.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    var lines = (error.data && error.data.errors) || String(error.message).split("; ");
    var shown = false;
    lines.forEach(function (line) {
      var name = line.split(":")[0].trim();
      var field = form.querySelector('[name="' + name.replace(/"/g, "") + '"]');
      if (!field) { return; }
      var note = document.createElement("span");
      note.className = "field-error error";
      note.textContent = line.slice(name.length + 1).trim();
      field.setAttribute("aria-invalid", "true");
      field.insertAdjacentElement("afterend", note);
      shown = true;
    });
    return shown;
  }

  var done = {
    reload: function (answer, el) { reload(el.dataset.ok || "Done"); },
    toast: function (answer, el) { toast(el.dataset.ok || "Done"); },
    // a token or key is in this answer only: show it with a copy button
    secret: function (answer, el) {
      var box = document.getElementById(el.dataset.secretBox);
      var value = answer.token || answer.key;
      box.querySelector("code").textContent = value;
      box.hidden = false;
      box.querySelector("[data-copy]").focus();
      toast(el.dataset.ok || "Created");
      if (el.reset) { el.reset(); }
    },
  };

  function run(el, method, url, body) {
    var question = el.dataset.confirm;
    var asked = question ? confirmAction(question, el.dataset.yes) : Promise.resolve(true);
    return asked.then(function (yes) {
      if (!yes) { return false; }
      el.setAttribute("aria-busy", "true");
      return api(method, url, body).then(function (answer) {
        var handler = done[el.dataset.done || "toast"];
        handler(answer, el);
        return true;
      }).catch(function (error) {
        if (!(el.tagName === "FORM" && fieldErrors(el, error))) {
          toast(error.message, "error");
        } else {
          toast("Not saved: " + error.message, "error");
        }
        throw error;
      }).finally(function () { el.removeAttribute("aria-busy"); });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset.api) { return; }
    event.preventDefault();
    run(form, form.dataset.method || "POST", form.dataset.api, formBody(form)).catch(function () {});
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-api]");
    if (button) {
      var body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
      run(button, button.dataset.method || "POST", button.dataset.api, body).catch(function () {});
      return;
    }
    var copy = event.target.closest("button[data-copy]");
    if (copy) {
      var text = document.querySelector(copy.dataset.copy).textContent;
      navigator.clipboard.writeText(text).then(
        function () { toast("Copied to the clipboard"); },
        function () { toast("Could not copy: select the text and copy it", "error"); }
      );
    }
    var closer = event.target.closest("button[data-close-secret]");
    if (closer) { reload(); }
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.tagName !== "SELECT" || !select.dataset.api) { return; }
    var before = select.dataset.was;
    var body = {};
    body[select.dataset.field] = select.value;
    run(select, select.dataset.method || "PATCH", select.dataset.api, body).then(function (ok) {
      if (ok) { select.dataset.was = select.value; } else { select.value = before; }
    }).catch(function () { select.value = before; });
  });
  document.querySelectorAll("select[data-api]").forEach(function (s) { s.dataset.was = s.value; });

  window.llmledger = {
    api: api, toast: toast, confirm: confirmAction, reload: reload, go: go, done: done,
    formBody: formBody, fieldErrors: fieldErrors,
  };
})();
