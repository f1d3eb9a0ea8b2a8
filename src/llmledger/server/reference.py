"""``GET /api/reference``: the OpenAPI description as one self-contained HTML page.

FastAPI's ``/docs`` loads Swagger UI from a CDN; this page needs nothing from outside (no
external script, style or font), so it works where the server has no internet access. It reads
``/openapi.json`` and builds the page with DOM calls (text is never parsed as HTML).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["reference"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llmledger API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 2rem;color:#222}
h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
.op{margin:1.2rem 0;padding:.6rem 1rem;border:1px solid #e3e3e3;border-radius:6px}
.m{font-weight:700;display:inline-block;min-width:3.5rem}
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #e3e3e3;padding:.2rem .5rem;
text-align:left;vertical-align:top}.muted{color:#777}ul{margin:.2rem 0}
</style></head><body><h1>llmledger API reference</h1>
<p class="muted">Rendered from <a href="/openapi.json">/openapi.json</a>.</p>
<div id="ops">Loading…</div>
<script>
"use strict";
function el(tag, text, cls) {
  const n = document.createElement(tag);
  if (text !== undefined) n.textContent = text;
  if (cls) n.className = cls;
  return n;
}
function resolve(spec, s) {
  let guard = 0;
  while (s && s.$ref && guard++ < 20) {
    s = s.$ref.split("/").slice(1).reduce((o, k) => o[k], spec);
  }
  return s || {};
}
function typeOf(spec, s) {
  s = resolve(spec, s);
  if (s.anyOf) return s.anyOf.map(x => typeOf(spec, x)).join(" | ");
  if (s.enum) return s.enum.map(v => JSON.stringify(v)).join(" | ");
  if (s.type === "array") return typeOf(spec, s.items) + "[]";
  if (s.const !== undefined) return JSON.stringify(s.const);
  return s.title && s.properties ? s.title : (s.type || "any");
}
function fields(spec, s, depth) {
  s = resolve(spec, s);
  if (s.type === "array") s = resolve(spec, s.items);
  if (s.anyOf) s = resolve(spec, s.anyOf.find(x => resolve(spec, x).properties) || {});
  const ul = el("ul");
  for (const [name, sub] of Object.entries(s.properties || {})) {
    const li = el("li");
    li.append(el("code", name), " ", el("span", typeOf(spec, sub), "muted"));
    const inner = resolve(spec, sub);
    const nested = inner.properties || (inner.items && resolve(spec, inner.items).properties)
      || (inner.anyOf && inner.anyOf.some(x => resolve(spec, x).properties));
    if (nested && depth < 4) li.append(fields(spec, sub, depth + 1));
    ul.append(li);
  }
  return ul;
}
function render(spec) {
  const root = document.getElementById("ops");
  root.textContent = "";
  const groups = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      (groups[tag] = groups[tag] || []).push([path, method, op]);
    }
  }
  for (const [tag, ops] of Object.entries(groups)) {
    root.append(el("h2", tag));
    for (const [path, method, op] of ops) {
      const box = el("div", undefined, "op");
      const head = el("div");
      head.append(el("span", method.toUpperCase(), "m"), el("code", path));
      box.append(head);
      if (op.description || op.summary) box.append(el("p", op.description || op.summary));
      if (op.parameters && op.parameters.length) {
        const t = el("table");
        const hr = el("tr");
        const heads = ["parameter", "in", "type", "required", "limits", "description"];
        heads.forEach(h => hr.append(el("th", h)));
        t.append(hr);
        for (const p of op.parameters) {
          const s = resolve(spec, p.schema);
          const tr = el("tr");
          const limits = ["minimum", "maximum", "minLength", "maxLength"]
            .filter(k => s[k] !== undefined).map(k => k + " " + s[k]).join(", ");
          [p.name, p.in, typeOf(spec, p.schema), p.required ? "yes" : "", limits,
           p.description || s.description || ""].forEach(v => tr.append(el("td", String(v))));
          t.append(tr);
        }
        box.append(t);
      }
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) { box.append(el("div", "Body:")); box.append(fields(spec, body.schema, 0)); }
      const ok = (op.responses || {})["200"];
      const json = ok && ok.content && ok.content["application/json"];
      if (json && json.schema) {
        box.append(el("div", "Answer (200):"));
        box.append(fields(spec, json.schema, 0));
      } else if (ok && ok.content) {
        box.append(el("div", "Answer (200): " + Object.keys(ok.content).join(", ")));
      }
      root.append(box);
    }
  }
}
fetch("/openapi.json").then(r => r.json()).then(render).catch(e => {
  document.getElementById("ops").textContent = "Could not load /openapi.json: " + e;
});
</script></body></html>
"""


@router.get("/api/reference", response_class=HTMLResponse, include_in_schema=False)
def reference() -> HTMLResponse:
    """The API reference as a self-contained page (no CDN)."""
    return HTMLResponse(
        _PAGE,
        headers={
            "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'"
        },
    )
