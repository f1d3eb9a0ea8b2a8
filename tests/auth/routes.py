"""Every route of the app, enumerated (so a new endpoint is covered without anyone adding it to a
list), with its parameters from the OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from starlette.routing import BaseRoute

#: paths anyone may call (see docs/access.md): login, health, the API description
PUBLIC = {
    "/healthz",
    "/readyz",
    "/api/v1/auth/login",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
}
PUBLIC |= {"/redoc", "/api/reference"}
# the web login page, the icon browsers fetch on their own, and / (a redirect to the
# dashboard or to the login page) hold no data
PUBLIC |= {"/login", "/favicon.ico", "/"}
PUBLIC_PREFIXES = ("/static/",)
#: paths machines read (a Prometheus scraper): closed like the API (401), never a login page
MACHINE = {"/metrics"}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "query" | "path"
    required: bool
    schema: dict[str, Any]

    @property
    def kind(self) -> str:
        """``integer``, ``number``, ``boolean``, ``string`` or ``enum`` (of the first choice)."""
        schema = self.schema
        for option in schema.get("anyOf", []):
            if option.get("type") != "null":
                schema = option
        if "enum" in schema:
            return "enum"
        return str(schema.get("type", "string"))

    @property
    def choices(self) -> list[Any]:
        for option in [self.schema, *self.schema.get("anyOf", [])]:
            if "enum" in option:
                return list(option["enum"])
        return []


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: BaseRoute
    params: list[Param] = field(default_factory=list)
    body_schema: dict[str, Any] | None = None

    @property
    def public(self) -> bool:
        return self.path in PUBLIC or self.path.startswith(PUBLIC_PREFIXES)

    @property
    def self_service(self) -> bool:
        extra = getattr(self.route, "openapi_extra", None) or {}
        return bool(extra.get("x-self-service"))

    @property
    def changes_state(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _routes(app: FastAPI) -> Iterator[tuple[str, BaseRoute]]:
    # FastAPI >= 0.16x keeps included routers nested; iter_route_contexts flattens them
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            yield getattr(route, "path", ""), route
        return
    for ctx in iterate(app.routes):
        yield ctx.path or "", ctx.original_route


_SPECS: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}


def spec_of(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI description; it depends only on the routes, and takes a second to
    build, so apps with the same routes share one."""
    key = tuple(sorted((p, ",".join(sorted(getattr(r, "methods", ())))) for p, r in _routes(app)))
    if key not in _SPECS:
        _SPECS[key] = app.openapi()
    return _SPECS[key]


def endpoints(app: FastAPI) -> list[Endpoint]:
    spec = spec_of(app)
    out = []
    for path, route in _routes(app):
        for method in sorted(getattr(route, "methods", None) or ()):
            if method == "HEAD":
                continue
            op = spec["paths"].get(path, {}).get(method.lower(), {})
            params = [
                Param(p["name"], p["in"], p.get("required", False), p.get("schema", {}))
                for p in op.get("parameters", [])
                if p["in"] in ("query", "path")
            ]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            schema = _resolve(spec, body["schema"]) if body else None
            out.append(Endpoint(method, path, route, params, schema))
    # the enumeration must see what the API description sees (and more, never less)
    seen = {(e.method.lower(), e.path) for e in out}
    for path, ops in spec["paths"].items():
        for method in ops:
            assert (method, path) in seen, f"route enumeration missed {method} {path}"
    return out


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def fill_path(path: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def sample_body(spec_schema: dict[str, Any], spec: dict[str, Any], values: dict[str, Any]) -> Any:
    """A small valid instance of a JSON schema; ``values`` gives values by property name."""
    schema = _resolve(spec, spec_schema)
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if options:
        return sample_body(options[0], spec, values)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if kind == "object":
        out = {}
        for name, sub in schema.get("properties", {}).items():
            if name in values:
                out[name] = values[name]
            elif name in schema.get("required", []):
                out[name] = sample_body(sub, spec, values)
        return out
    if kind == "array":
        return [sample_body(schema.get("items", {}), spec, values)]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1.0, float(schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    return "x" * max(1, int(schema.get("minLength", 1)))
