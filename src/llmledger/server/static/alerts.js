// The alerts pages: the rule form (dollars shown, cents sent; the fields each type uses; the
// API's messages beside their fields), the test button (each channel's result), and the
// webhook signing secret shown once. Enabling, disabling and deleting are admin.js buttons.
(function () {
  "use strict";
  var L = window.llmledger;

  // "12.34" -> 1234; anything else goes to the API as typed, which names what is wrong
  function cents(text) {
    var m = /^\$?\s*(\d+)(?:\.(\d{1,2}))?$/.exec(text.replace(/,/g, ""));
    if (!m) { return text; }
    return Number(m[1]) * 100 + Number(((m[2] || "") + "00").slice(0, 2));
  }
  function number(text, whole) {
    var ok = whole ? /^-?\d+$/.test(text) : /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(text);
    return ok ? Number(text) : text;
  }

  // ---- the form ----
  var form = document.getElementById("alert-form");

  // data-types: shown only for these types; data-not-types: hidden for these (a drift rule
  // has no organisation, agent, user or model, no zone and no blocking). A hidden field is
  // disabled, so it is not sent
  function showTypeFields() {
    var type = form.elements.alertType.value;
    form.querySelectorAll("[data-types], [data-not-types]").forEach(function (label) {
      var listed = (label.dataset.types || label.dataset.notTypes).split(" ").indexOf(type) >= 0;
      var used = label.dataset.types ? listed : !listed;
      label.hidden = !used;
      label.querySelectorAll("input, select").forEach(function (input) { input.disabled = !used; });
    });
  }

  // the body of PUT/POST: a new rule leaves empty fields out (the API's defaults apply); a
  // change sends null for an emptied one (it clears it, or restores its default); a stored
  // Slack or webhook URL is kept unless a new one is typed or "remove" is ticked
  function body() {
    var editing = form.dataset.editing === "true";
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) { return; }
      var kind = el.dataset.kind;
      if (el.type === "checkbox") {
        if (kind === "flag") { if (el.checked) { out[el.name] = true; } return; }
        out[el.name] = el.checked;
        return;
      }
      var text = el.value.trim();
      if (kind === "list") {
        out[el.name] = text.split(/[\n,;]+/).map(function (s) { return s.trim(); })
          .filter(function (s) { return s; });
        return;
      }
      if (kind === "secret-url") {
        var clear = form.querySelector('[data-clear="' + el.name + '"]');
        if (clear && clear.checked) { out[el.name] = null; } else if (text) { out[el.name] = text; }
        return;
      }
      if (text === "") {
        if (editing) { out[el.name] = null; }
        return;
      }
      if (kind === "cents") { out[el.name] = cents(text); return; }
      if (kind === "int") { out[el.name] = number(text, true); return; }
      if (kind === "number") { out[el.name] = number(text, false); return; }
      out[el.name] = text;
    });
    return out;
  }

  // the API names the field first; an entry of a list ("notificationEmails.2") is its list's
  function showErrors(error) {
    var lines = (error.data && error.data.errors) || String(error.message).split("; ");
    var named = lines.map(function (line) {
      var at = line.indexOf(":");
      return at < 0 ? line : line.slice(0, at).replace(/\.\d+$/, "") + line.slice(at);
    });
    return L.fieldErrors(form, { data: { errors: named }, message: error.message });
  }

  function saved(answer) {
    var list = form.dataset.list;
    var made = form.dataset.method === "POST" ? "Alert created" : "Alert saved";
    var secret = answer.webhookSecret;
    if (secret && secret.indexOf("whsec_") === 0) {
      var box = document.getElementById("webhook-secret");
      box.querySelector("code").textContent = secret;
      box.hidden = false;
      var doneButton = box.querySelector("[data-close-secret]");
      doneButton.addEventListener("click", function (e) {
        e.stopPropagation();
        L.go(list, made);
      });
      form.hidden = true;
      L.toast(made + ": copy its webhook signing secret now");
      box.querySelector("[data-copy]").focus();
      return;
    }
    L.go(list, made);
  }

  if (form) {
    form.elements.alertType.addEventListener("change", showTypeFields);
    showTypeFields();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
      form.setAttribute("aria-busy", "true");
      L.api(form.dataset.method, form.dataset.ruleApi, body()).then(saved, function (error) {
        var shown = error.status === 422 && showErrors(error);
        L.toast((shown ? "Not saved: " : "") + error.message, "error");
      }).finally(function () { form.removeAttribute("aria-busy"); });
    });
  }

  // ---- the test button: a message marked as a test to every channel, now ----
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function showResults(box, answer) {
    box.replaceChildren();
    box.hidden = false;
    var list = el("ul", null, "channel-results");
    answer.results.forEach(function (r) {
      var item = el("li", null, r.ok ? "result-ok" : "result-failed");
      item.dataset.channel = r.channel;
      item.dataset.ok = r.ok ? "true" : "false";
      item.append(el("strong", r.channel + " " + (r.ok ? "delivered" : "failed")), " to ",
        el("code", r.target, "url"), ": " + r.detail);
      list.appendChild(item);
    });
    box.append(el("p", "Test sent " + new Date().toISOString().slice(11, 19) + " UTC:"), list);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-test-rule]");
    if (!button) { return; }
    var card = button.closest("[data-rule]");
    var box = card.querySelector("[data-test-result]");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    L.api("POST", "/api/v1/admin/llm-costs/alerts/" + button.dataset.testRule + "/test").then(function (answer) {
      showResults(box, answer);
      var failed = answer.results.filter(function (r) { return !r.ok; }).length;
      if (failed) {
        L.toast("Test: " + failed + " of " + answer.results.length + " channels failed", "error");
      } else {
        L.toast("Test delivered to " + answer.results.length + (answer.results.length === 1 ? " channel" : " channels"));
      }
    }, function (error) {
      box.hidden = false;
      box.replaceChildren(el("p", "Test not sent: " + error.message, "error"));
      L.toast("Test not sent: " + error.message, "error");
    }).finally(function () {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  });
})();
