// The pricing page: inline edits (a manual override through PUT /models/{id}), a model's
// history, deleting manual rows, LiteLLM syncs with their preview, and re-pricing runs
// followed through the job status API.
(function () {
  "use strict";
  var L = window.llmledger;
  var BASE = "/api/v1/admin/pricing";
  var SOURCES = { bundled: "Bundled", litellm: "LiteLLM", manual: "Manual", fallback: "Fallback" };
  var FIELDS = [
    ["inputPerMillion", "Input"], ["outputPerMillion", "Output"], ["cacheReadPerMillion", "Cache read"],
    ["cacheWrite5mPerMillion", "Cache write 5m"], ["cacheWrite1hPerMillion", "Cache write 1h"],
    ["reasoningPerMillion", "Reasoning"], ["inputAudioPerMillion", "Input audio"],
    ["outputAudioPerMillion", "Output audio"], ["perRequest", "Per request"],
  ];

  // as the server shows an exact amount: at least cents once there is a fraction ($0.60, $8)
  function money(value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    var text = String(value);
    var parts = text.split(".");
    if (parts.length === 2) { text = parts[0] + "." + (parts[1].replace(/0+$/, "") + "00").slice(0, Math.max(2, parts[1].replace(/0+$/, "").length)); }
    return text.charAt(0) === "-" ? "-$" + text.slice(1) : "$" + text;
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function day(text) { return text ? text.slice(0, 10) : "—"; }
  function today() { return new Date().toISOString().slice(0, 10); }

  function table(caption, heads, rows) {
    var t = el("table");
    t.appendChild(el("caption", caption));
    var head = el("tr");
    heads.forEach(function (h) { var th = el("th", h); th.scope = "col"; head.appendChild(th); });
    var thead = el("thead");
    thead.appendChild(head);
    var body = el("tbody");
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (c) { tr.appendChild(c instanceof Node ? c : el("td", c)); });
      body.appendChild(tr);
    });
    t.append(thead, body);
    var wrap = el("div", null, "table-wrap");
    wrap.appendChild(t);
    return wrap;
  }

  // ---- re-pricing: start a job, then follow it until it is done ----
  function showJob(box, job) {
    box.hidden = false;
    box.replaceChildren();
    var state = job.state === "running" ? "Re-pricing… " + Math.round(job.progress * 100) + "%" :
      job.state === "done" ? "Re-pricing done" : "Re-pricing failed: " + (job.error || "");
    box.appendChild(el("p", state, "job-state"));
    var bar = el("progress");
    bar.max = 1;
    bar.value = job.progress;
    bar.setAttribute("aria-label", "progress");
    box.appendChild(bar);
    var facts = el("dl", null, "facts");
    [["Events in scope", job.eventsInScope], ["Events scanned", job.eventsScanned],
     ["Events changed", job.eventsChanged], ["Cost before", money(job.costBeforeUsd)],
     ["Cost after", money(job.costAfterUsd)], ["Difference", money(job.costDeltaUsd)]]
      .forEach(function (f) {
        facts.append(el("dt", f[0]), el("dd", String(f[1])));
      });
    facts.lastChild.dataset.delta = job.costDeltaUsd;
    box.appendChild(facts);
    box.dataset.state = job.state;
  }

  function follow(box, job) {
    showJob(box, job);
    if (job.state !== "running") {
      L.toast(job.state === "done" ? "Re-priced " + job.eventsChanged + " events (" + money(job.costDeltaUsd) + ")" :
        "Re-pricing failed: " + job.error, job.state === "done" ? "ok" : "error");
      return;
    }
    setTimeout(function () {
      L.api("GET", BASE + "/reprice/" + job.jobId).then(function (next) { follow(box, next); },
        function (e) { L.toast(e.message, "error"); });
    }, 500);
  }

  function reprice(body, box) {
    return L.api("POST", BASE + "/reprice", body).then(function (job) {
      follow(box, job);
      box.scrollIntoView({ block: "nearest" });
    }, function (e) { L.toast("Re-pricing refused: " + e.message, "error"); });
  }

  function repriceOffer(box, suggestion, row) {
    if (!suggestion) {
      box.appendChild(el("p", "No stored event is priced by this from " + day(row.effectiveFrom) +
        " on, so there is nothing to re-price.", "note"));
      return;
    }
    var offer = el("div", null, "offer");
    offer.appendChild(el("p", suggestion.events + " stored events of " + suggestion.model +
      (suggestion.since ? " since " + day(suggestion.since) : "") + " were priced before this change." +
      (suggestion.hint ? " " + suggestion.hint + "." : "")));
    var go = el("button", "Re-price history");
    go.type = "button";
    go.dataset.repriceNow = "";
    var status = el("div");
    status.hidden = true;
    go.addEventListener("click", function () {
      go.disabled = true;
      var start = day(suggestion.since || row.effectiveFrom);
      reprice({ startDate: start, endDate: today(), provider: row.provider, model: row.model }, status);
    });
    offer.append(go, status);
    box.appendChild(offer);
  }

  // ---- the history of one model ----
  function historyTable(history) {
    var rows = history.rows.slice().reverse().map(function (r) {
      var tag = el("td");
      tag.appendChild(el("span", SOURCES[r.source] || r.source, "tag tag-" + r.source));
      if (r.inForce) { tag.appendChild(el("strong", " in force")); }
      return [tag, day(r.effectiveFrom), r.effectiveTo ? day(r.effectiveTo) : "—"]
        .concat(FIELDS.slice(0, 3).map(function (f) { return money(r[f[0]]); }))
        .concat([r.changedBy || "—"]);
    });
    var node = table("History of " + history.provider + "/" + history.model + " (newest first)",
      ["Source", "From", "Until", "Input", "Output", "Cache read", "By"], rows);
    node.classList.add("history");
    node.dataset.historyOf = history.model;
    return node;
  }

  function showHistory(tr, id) {
    var next = tr.nextElementSibling;
    if (next && next.classList.contains("history-row")) { next.remove(); return Promise.resolve(); }
    return L.api("GET", BASE + "/models/" + id + "/history").then(function (history) {
      var row = el("tr", null, "history-row");
      var cell = el("td");
      cell.colSpan = tr.children.length;
      cell.appendChild(historyTable(history));
      row.appendChild(cell);
      tr.after(row);
    }, function (e) { L.toast(e.message, "error"); });
  }

  // ---- inline editing ----
  function startEdit(tr) {
    if (tr.dataset.editing) { return; }
    tr.dataset.editing = "true";
    tr.querySelectorAll("td[data-field]").forEach(function (td) {
      var input = el("input");
      input.value = td.dataset.value;
      input.name = td.dataset.field;
      input.inputMode = "decimal";
      input.size = 7;
      input.setAttribute("aria-label", td.dataset.field + " of " + tr.dataset.model);
      td.dataset.shown = td.textContent;
      td.replaceChildren(input);
    });
    var updated = tr.querySelector('[data-cell="updated"]');
    updated.dataset.shown = updated.textContent;
    var from = el("input");
    from.type = "date";
    from.name = "effectiveFrom";
    from.setAttribute("aria-label", "effective from (empty: now) for " + tr.dataset.model);
    updated.replaceChildren(from);
    var actions = tr.querySelector(".actions");
    Array.prototype.forEach.call(actions.children, function (b) { b.hidden = true; });
    var save = el("button", "Save", "small");
    save.type = "button";
    save.dataset.save = "";
    var cancel = el("button", "Cancel", "small ghost");
    cancel.type = "button";
    cancel.dataset.cancel = "";
    actions.append(save, cancel);
    tr.querySelector("td[data-field] input").focus();
  }

  function endEdit(tr, row) {
    tr.querySelectorAll("td[data-field]").forEach(function (td) {
      if (row) {
        var value = row[td.dataset.field];
        td.dataset.value = value || "";
        td.textContent = money(value);
      } else {
        td.textContent = td.dataset.shown;
      }
    });
    var updated = tr.querySelector('[data-cell="updated"]');
    updated.textContent = row ? day(row.changedAt) : updated.dataset.shown;
    var actions = tr.querySelector(".actions");
    actions.querySelectorAll("[data-save], [data-cancel]").forEach(function (b) { b.remove(); });
    Array.prototype.forEach.call(actions.children, function (b) { b.hidden = false; });
    delete tr.dataset.editing;
  }

  function save(tr) {
    var body = {};
    tr.querySelectorAll("td[data-field] input, input[name=effectiveFrom]").forEach(function (input) {
      if (input.value.trim() !== "") { body[input.name] = input.value.trim(); }
    });
    return L.api("PUT", BASE + "/models/" + tr.dataset.id, body).then(function (row) {
      endEdit(tr, row);
      tr.dataset.id = row.id;
      tr.dataset.source = row.source;
      var tag = tr.querySelector('[data-cell="source"]');
      tag.textContent = SOURCES[row.source];
      tag.className = "tag tag-" + row.source;
      if (!tr.querySelector("[data-delete]")) {
        var del = el("button", "Delete", "small danger");
        del.type = "button";
        del.dataset.delete = "";
        tr.querySelector(".actions").appendChild(del);
      }
      L.toast("Saved: a manual price for " + row.model + " is in force from " + day(row.effectiveFrom));
      var next = tr.nextElementSibling;
      if (next && next.classList.contains("history-row")) { next.remove(); }
      var result = document.getElementById("edit-result");
      result.replaceChildren(el("h3", "Saved " + row.provider + "/" + row.model));
      result.hidden = false;
      repriceOffer(result, row.repriceSuggested, row);
      return showHistory(tr, row.id);
    }, function (e) { L.toast("Not saved: " + e.message, "error"); });
  }

  var models = document.getElementById("table-models");
  if (models) {
    models.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      var tr = button && button.closest("tr[data-id]");
      if (!tr) { return; }
      if (button.matches("[data-history]")) { showHistory(tr, tr.dataset.id); }
      if (button.matches("[data-edit]")) { startEdit(tr); }
      if (button.matches("[data-cancel]")) { endEdit(tr, null); }
      if (button.matches("[data-save]")) { save(tr); }
      if (button.matches("[data-delete]")) {
        L.confirm("Delete the manual price of " + tr.dataset.model + "? The catalog price applies again.", "Delete")
          .then(function (yes) {
            if (!yes) { return; }
            L.api("DELETE", BASE + "/models/" + tr.dataset.id).then(function (answer) {
              var now = answer.inForceNow;
              L.reload("Manual price deleted; " + (now ? SOURCES[now.source] + " price in force" : "no price in force"));
            }, function (e) { L.toast(e.message, "error"); });
          });
      }
    });
    models.addEventListener("keydown", function (event) {
      var tr = event.target.closest("tr[data-editing]");
      if (!tr) { return; }
      if (event.key === "Enter") { event.preventDefault(); save(tr); }
      if (event.key === "Escape") { endEdit(tr, null); }
    });
  }

  // ---- a manual entry's answer: the row in force and the re-price offer ----
  L.done["price-change"] = function (row, form) {
    var box = document.getElementById("add-result");
    box.replaceChildren(el("h3", "In force: " + row.provider + "/" + row.model));
    var facts = el("dl", null, "facts");
    FIELDS.forEach(function (f) {
      if (row[f[0]] !== null) { facts.append(el("dt", f[1]), el("dd", money(row[f[0]]))); }
    });
    facts.append(el("dt", "From"), el("dd", day(row.effectiveFrom)));
    box.appendChild(facts);
    repriceOffer(box, row.repriceSuggested, row);
    box.hidden = false;
    form.reset();
    L.toast("Manual price added for " + row.model);
  };

  // ---- fallback-priced models: add a price, re-price their history ----
  var unpriced = document.getElementById("table-unpriced");
  if (unpriced) {
    unpriced.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      var tr = button && button.closest("tr[data-model]");
      if (!tr) { return; }
      if (button.matches("[data-add-price]")) {
        var add = document.getElementById("add-manual");
        add.open = true;
        add.querySelector('[name="provider"]').value = tr.dataset.provider;
        add.querySelector('[name="model"]').value = tr.dataset.model;
        add.querySelector('[name="effectiveFrom"]').value = "";
        add.scrollIntoView({ block: "start" });
        add.querySelector('[name="inputPerMillion"]').focus();
      }
      if (button.matches("[data-reprice-model]")) {
        var status = document.getElementById("reprice-status");
        reprice({ startDate: button.dataset.start, endDate: button.dataset.end || today(),
          provider: tr.dataset.provider, model: tr.dataset.model }, status);
      }
    });
  }

  var repriceForm = document.getElementById("reprice-form");
  if (repriceForm) {
    repriceForm.addEventListener("submit", function (event) {
      event.preventDefault();
      reprice(L.formBody(repriceForm), document.getElementById("reprice-status"));
    });
  }

  // ---- LiteLLM sync: preview the difference, then apply the same input ----
  function syncCall(form, path) {
    var fromFile = form.querySelector('[name="from"]:checked').value === "file";
    var force = form.querySelector('[name="force"]').checked;
    if (fromFile) {
      var file = form.querySelector('[name="file"]').files[0];
      if (!file) { return Promise.reject(new Error("choose a catalog file first")); }
      return L.api("POST", BASE + path + "?source=litellm" + (force ? "&force=true" : ""), file);
    }
    return L.api("POST", BASE + path, { source: "litellm", force: force });
  }

  function names(list, limit) {
    var shown = list.slice(0, limit).map(function (m) { return m.provider + "/" + m.model; });
    return shown.join(", ") + (list.length > limit ? " and " + (list.length - limit) + " more" : "");
  }

  function showPreview(box, plan, form) {
    box.replaceChildren();
    box.hidden = false;
    var c = plan.counts;
    box.appendChild(el("h3", "Preview of " + plan.location));
    var facts = el("dl", null, "facts sync-counts");
    [["Added", c.added], ["Changed", c.changed], ["Unchanged", c.unchanged], ["Removed", c.missing],
     ["Skipped", c.skipped]].forEach(function (f) {
      var dd = el("dd", String(f[1]));
      dd.dataset.count = f[0].toLowerCase();
      facts.append(el("dt", f[0]), dd);
    });
    box.appendChild(facts);
    if (plan.added.length) {
      box.appendChild(table("Added (" + plan.added.length + ")", ["Model", "Provider", "Input", "Output"],
        plan.added.slice(0, 200).map(function (m) {
          return [m.model, m.provider, money(m.inputPerMillion), money(m.outputPerMillion)];
        })));
    }
    if (plan.changed.length) {
      box.appendChild(table("Changed (" + plan.changed.length + ")", ["Model", "Provider", "Input", "Output"],
        plan.changed.slice(0, 200).map(function (m) {
          return [m.model, m.provider, money(m.before.inputPerMillion) + " → " + money(m.after.inputPerMillion),
            money(m.before.outputPerMillion) + " → " + money(m.after.outputPerMillion)];
        })));
    }
    if (plan.missing.length) {
      box.appendChild(el("p", "Removed from the catalog (their rows end): " + names(plan.missing, 20), "note"));
    }
    var apply = el("button", "Apply this sync");
    apply.type = "button";
    apply.dataset.applySync = "";
    apply.addEventListener("click", function () {
      apply.disabled = true;
      syncCall(form, "/sync").then(function (done) {
        var d = done.counts;
        L.reload("Synced: " + d.added + " added, " + d.changed + " changed, " + d.missing + " removed");
      }, function (e) { apply.disabled = false; L.toast("Sync refused: " + e.message, "error"); });
    });
    box.appendChild(apply);
  }

  var syncForm = document.getElementById("sync-form");
  if (syncForm) {
    syncForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("sync-preview");
      syncForm.setAttribute("aria-busy", "true");
      syncCall(syncForm, "/sync/preview").then(function (plan) { showPreview(box, plan, syncForm); },
        function (e) { L.toast("Preview refused: " + e.message, "error"); })
        .finally(function () { syncForm.removeAttribute("aria-busy"); });
    });
    syncForm.querySelector('[name="file"]').addEventListener("change", function () {
      syncForm.querySelector('[name="from"][value="file"]').checked = true;
    });
  }
})();
