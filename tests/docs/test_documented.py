"""Docs are tested: every setting, command and route is documented, every documented command
runs as written, and every documented setting refuses a bad value in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import click
from click.testing import CliRunner
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from llmledger.cli import main
from llmledger.commands.environment import allowed
from llmledger.server.app import create_app
from llmledger.settings import Settings
from tests.auth.routes import endpoints

DOCS = Path(__file__).resolve().parents[2] / "docs"
SECRET = SecretStr("docs-test-secret-key")


def _all_docs() -> str:
    return "\n".join(p.read_text() for p in DOCS.glob("*.md"))


def test_every_setting_is_in_settings_md():
    text = (DOCS / "settings.md").read_text()
    missing = [
        f"LLMLEDGER_{name.upper()}"
        for name in Settings.model_fields
        if f"`LLMLEDGER_{name.upper()}`" not in text
    ]
    assert not missing, f"undocumented settings: {missing}"


def _settings_rows() -> dict[str, list[str]]:
    """The rows of settings.md's table of server settings: variable → its cells."""
    text = (DOCS / "settings.md").read_text()
    table = text.split("## The server and the command line", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        m = re.match(r"\| `(LLMLEDGER_\w+)` \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [cell.strip() for cell in m.group(2).split(" | ")]
    return rows


def _field(var: str) -> FieldInfo:
    return Settings.model_fields[var.removeprefix("LLMLEDGER_").lower()]


def test_settings_md_gives_what_each_setting_allows():
    """The "Allowed" column says what the one-line error says (both come from the field)."""
    rows = _settings_rows()
    assert set(rows) == {f"LLMLEDGER_{n.upper()}" for n in Settings.model_fields}
    says = {var: allowed(_field(var)) for var in rows}
    wrong = {var: (cells[1], says[var]) for var, cells in rows.items() if cells[1] != says[var]}
    assert not wrong, f"settings.md's Allowed column differs from the settings: {wrong}"


#: bad values of settings whose type alone does not make one (the rest: see ``_bad_value``)
BAD_VALUES = {
    "LLMLEDGER_DATABASE_URL": "garbage",
    "LLMLEDGER_HOST": "not a host",
    "LLMLEDGER_SECRET_KEY": "short",
    "LLMLEDGER_ADMIN_EMAIL": "not-an-email",
    "LLMLEDGER_ADMIN_PASSWORD": "short",
    "LLMLEDGER_LITELLM_URL": "ftp://example.com/prices.json",
    "LLMLEDGER_OPENAI_ADMIN_URL": "api.openai.com/v1",
    "LLMLEDGER_ANTHROPIC_ADMIN_URL": "ftp://api.anthropic.com",
    "LLMLEDGER_GROQ_METRICS_URL": "api.groq.com/v1/metrics/prometheus",
    "LLMLEDGER_FORWARDED_ALLOW_IPS": "10.0.0.1,proxy.example",
    "LLMLEDGER_OTLP_ATTRIBUTE_MAP": "app.customer=customer",
    "LLMLEDGER_METRICS_TOKEN": "short",
    "LLMLEDGER_PUBLIC_URL": "llmledger.example.com",
    "LLMLEDGER_SMTP_HOST": "smtp example com",
    "LLMLEDGER_SMTP_PORT": "0",
    "LLMLEDGER_SMTP_USERNAME": "u" * 257,
    "LLMLEDGER_SMTP_PASSWORD": "pass\nword",
    "LLMLEDGER_SMTP_FROM": "not-an-email",
}
#: more cases a user met, beyond one bad value per setting
MORE_BAD_VALUES = [
    ("LLMLEDGER_PORT", "abc"),
    ("LLMLEDGER_PORT", "70000"),
    ("LLMLEDGER_MAX_BATCH_EVENTS", "x"),
    ("LLMLEDGER_MAX_REQUEST_BYTES", "600"),
    ("LLMLEDGER_WRITER", "bogus"),
    ("LLMLEDGER_LOG_LEVEL", "bogus"),
    ("LLMLEDGER_DATA_DIR", "/proc/nope"),
    # nothing listens on port 1: an unreachable PostgreSQL (its password is never printed)
    ("LLMLEDGER_DATABASE_URL", "postgresql+psycopg://llmledger:hunter2pw@127.0.0.1:1/nope"),
]


def _bad_value(var: str, field: FieldInfo, tmp: Path) -> str:
    if var in BAD_VALUES:
        return BAD_VALUES[var]
    kind = field.annotation
    if var == "LLMLEDGER_DATA_DIR":
        blocker = tmp / "a-file"
        blocker.write_text("not a directory")
        return str(blocker)
    bounds = {type(m).__name__: m for m in field.metadata}
    if get_origin(kind) is Literal:
        return "bogus"
    if bool in (kind, *get_args(kind)):
        return "maybe"
    if kind in (int, float, Decimal) and "Ge" in bounds:
        return str(bounds["Ge"].ge - 1)
    if kind in (int, float, Decimal) and "Gt" in bounds:
        return str(bounds["Gt"].gt)
    if kind in (int, float, Decimal):
        return "not-a-number"
    raise AssertionError(f"{var}: add a bad value to BAD_VALUES")


#: the installed command, as a user runs it
LLMLEDGER = str(Path(sys.executable).with_name("llmledger"))


def _llmledger(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LLMLEDGER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _in_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``llmledger args`` run by click in this process with ``env``'s ``LLMLEDGER_*`` settings
    (and no others): the same command, its exit code and its output, a hundred times faster
    than a new interpreter. An exception escaping the command is a traceback a user would see:
    it is kept in ``stderr``. The environment is the process's: one call at a time."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LLMLEDGER_")}
    overrides.update({k: v for k, v in env.items() if k.startswith("LLMLEDGER_")})
    done = CliRunner(env=overrides).invoke(main, args, prog_name="llmledger")
    stderr = done.stderr
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        stderr += "".join(traceback.format_exception(done.exception))
    return subprocess.CompletedProcess(args, done.exit_code, done.stdout, stderr)


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMLEDGER_")}
    env["LLMLEDGER_DATA_DIR"] = str(tmp / "data")
    return env


def test_every_documented_setting_refuses_a_bad_value_in_one_line(tmp_path: Path):
    """As a user meets it: ``llmledger db upgrade`` with one bad ``LLMLEDGER_*`` value prints
    one line naming the variable (and the value, unless it is a secret), exit code 2, and no
    traceback; with none, it works. The installed command runs the first case and the good one;
    the rest run in this process (the same click command, without an interpreter each)."""
    cases = [(var, _bad_value(var, _field(var), tmp_path)) for var in _settings_rows()]
    cases += MORE_BAD_VALUES

    def attempt(
        numbered: tuple[int, tuple[str, str]],
    ) -> tuple[str, str, subprocess.CompletedProcess[str]]:
        n, (var, value) = numbered
        home = tmp_path / f"case-{n}"
        home.mkdir()
        env = _clean_env(home)
        env[var] = value
        run = _llmledger if n == 0 else _in_process
        return var, value, run(["db", "upgrade"], env)

    results = [attempt(case) for case in enumerate(cases)]
    failures = []
    for var, value, done in results:
        lines = done.stderr.strip().splitlines()
        secret = SecretStr in (_field(var).annotation, *get_args(_field(var).annotation))
        shown = "hidden value" if secret else value.split("hunter2pw")[0]
        if not (
            done.returncode == 2
            and len(lines) == 1
            and lines[0].startswith(f"Error: {var} is ")
            and shown in lines[0]
            and "hunter2pw" not in lines[0]
            and not done.stdout
        ):
            failures.append(f"{var}={value!r}: exit {done.returncode}, {done.stderr!r}")
    assert not failures, "\n".join(failures)
    assert _llmledger(["db", "upgrade"], _clean_env(tmp_path)).returncode == 0


def test_a_bad_setting_is_refused_even_for_help(tmp_path: Path):
    env = {**_clean_env(tmp_path), "LLMLEDGER_PORT": "abc"}
    done = _llmledger(["serve", "--help"], env)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Error: LLMLEDGER_PORT is 'abc'; it must be a whole number from 1 to 65535"
    )
    assert not (tmp_path / "data").exists()  # nothing was made before the check


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, full + " ")
        else:
            out.append(full)
    return out


def test_every_command_is_in_cli_md():
    text = (DOCS / "cli.md").read_text()
    missing = [c for c in _commands(main) if f"llmledger {c}" not in text]
    assert not missing, f"undocumented commands: {missing}"


def _documented_commands() -> list[tuple[str, list[str]]]:
    """Each command of cli.md's table (its words) and the flags its row's first cell gives."""
    found = []
    for line in (DOCS / "cli.md").read_text().splitlines():
        if not line.startswith("| `llmledger "):
            continue
        usage = line.split(" | ", 1)[0]
        words = _command_words(usage.split("`")[1].split()[1:])
        flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-v)\b", usage)))
        found.append((" ".join(words), flags))
    return found


def _command_words(words: list[str]) -> list[str]:
    """``serve [--host H]`` → ``serve``; ``prices set MODEL`` → ``prices set``."""
    out = []
    for w in words:
        if not re.fullmatch(r"[a-z][a-z-]*", w):
            break
        out.append(w)
    return out


def test_every_documented_command_runs_with_help_and_has_its_flags(tmp_path: Path):
    """Every ``llmledger`` command in cli.md, run as a user would with ``--help``, succeeds
    and offers every flag its row names."""
    documented = _documented_commands()
    assert len(documented) >= len(_commands(main))
    env = _clean_env(tmp_path)

    def attempt(item: tuple[str, list[str]], run: Any = _in_process) -> str | None:
        command, flags = item
        done = run([*command.split(), "--help"], env)
        if done.returncode != 0 or not done.stdout.startswith(f"Usage: llmledger {command} "):
            return f"llmledger {command} --help: exit {done.returncode}: {done.stderr.strip()}"
        absent = [f for f in flags if f not in done.stdout]
        return f"llmledger {command} has no {absent}" if absent else None

    # the installed command for the first, the same click commands in this process for the rest
    problems = [attempt(documented[0], _llmledger)]
    problems += [attempt(item) for item in documented[1:]]
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


def test_every_route_is_documented():
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    # the OpenAPI description lists every operation, including those of included routers
    paths = list(app.openapi()["paths"])
    assert "/api/v1/events" in paths and "/api/v1/admin/llm-costs/global" in paths
    text = _all_docs()
    missing = []
    for path in paths:
        short = path.removeprefix("/api/v1/admin/llm-costs")
        if path not in text and f"`{short}" not in text and f"{short}`" not in text:
            missing.append(path)
    assert not missing, f"undocumented routes: {missing}"


def test_every_page_is_documented():
    """Web pages are not in the API description: each path under ``/admin/`` is named,
    in backticks, in the docs (docs/dashboard.md lists them)."""
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    pages = {e.path for e in endpoints(app) if e.method == "GET" and e.path.startswith("/admin/")}
    assert "/admin/llm-costs/forecast" in pages
    # a path parameter is named as the API names it (``{orgId}``), whatever the code calls it
    text = re.sub(r"\{[^}]*\}", "{}", _all_docs())
    missing = sorted(p for p in pages if "`" + re.sub(r"\{[^}]*\}", "{}", p) + "`" not in text)
    assert not missing, f"undocumented pages: {missing}"


def _names(spec: dict[str, Any], node: Any, seen: set[str]) -> set[str]:
    """Every property name and enum value reachable from ``node`` of an OpenAPI description."""
    out: set[str] = set()
    if isinstance(node, list):
        for item in node:
            out |= _names(spec, item, seen)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            target: Any = spec
            for key in ref.split("/")[1:]:
                target = target[key]
            out |= _names(spec, target, seen)
        out |= set(node.get("properties", {}))
        out |= {str(v) for v in node.get("enum", [])}
        for value in node.values():
            out |= _names(spec, value, seen)
    return out


def test_fields_the_route_tables_name_exist():
    """A camelCase name in a route's row of the docs (a field of its answer or body, or a
    parameter) is one the route has: a renamed or missing field fails here."""
    spec = create_app(Settings(database_url="sqlite://", secret_key=SECRET)).openapi()
    problems = []
    for doc in sorted(DOCS.glob("*.md")):
        for line in doc.read_text().splitlines():
            m = re.match(r"\| `(GET|POST|PUT|PATCH|DELETE) (\S+)` \| (.*) \|$", line)
            if not m:
                continue
            method, path, what = m.groups()
            path = path.split("?")[0]
            if not path.startswith(("/api/", "/healthz", "/readyz", "/v1/", "/metrics")):
                path = "/api/v1/admin/llm-costs" + path
            op = spec["paths"].get(path, {}).get(method.lower())
            if op is None:
                problems.append(f"{doc.name}: {method} {path} is not a route")
                continue
            known = _names(spec, op, set()) | {p["name"] for p in op.get("parameters", [])}
            named = set(re.findall(r"`([a-z]+[A-Z][A-Za-z0-9]*)`", what))
            named |= set(re.findall(r'"([a-z]+[A-Z][A-Za-z0-9]*)"', what))
            if named - known:
                problems.append(f"{doc.name}: {method} {path}: no {sorted(named - known)}")
    assert not problems, "\n".join(problems)


def test_docs_page_needs_nothing_from_the_internet():
    from fastapi.testclient import TestClient

    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    with TestClient(app) as c:
        r = c.get("/docs", follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == "/api/reference"
        assert c.get("/redoc").status_code in (401, 404)
        # the reference is the API description: it holds no data and needs no sign-in
        assert c.get("/api/reference").status_code == 200
