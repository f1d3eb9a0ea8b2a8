"""``llmledger users``: people who log in to the dashboard and API. Every change is audited
(as ``cli:<login name>``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from llmledger.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Connection

ROLES = ("admin", "org_admin", "viewer")


@click.group(name="users")
def group() -> None:
    """Users: admins (every organisation), org admins and viewers (one organisation)."""


@contextmanager
def _changing(ctx: click.Context) -> Iterator[tuple[Connection, Settings]]:
    """A write transaction on the database, with click errors for refused changes."""
    from llmledger.auth.passwords import WeakPassword
    from llmledger.auth.users import UserError
    from llmledger.auth.writing import writing
    from llmledger.commands.environment import open_ledger

    settings: Settings = ctx.obj
    ledger = open_ledger(settings)
    try:
        with writing(ledger.engine) as conn:
            yield conn, settings
    except (UserError, WeakPassword) as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        ledger.close()


def _hashed(settings: Settings, password: str) -> str:
    """The password's hash, made before the write transaction (argon2 is slow and must not
    hold SQLite's write lock, which a running server's ingest needs)."""
    from llmledger.auth.passwords import WeakPassword, hash_password, hasher_for

    try:
        return hash_password(hasher_for(settings), password)
    except WeakPassword as exc:
        raise click.UsageError(str(exc)) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _check_org(role: str, org_id: str | None) -> None:
    """An admin sees every organisation: ``--org`` with it is refused, never dropped."""
    if role == "admin" and org_id is not None:
        raise click.UsageError(
            "--org does not go with the admin role (an admin sees every organisation); "
            "for one organisation's user, give the org_admin or viewer role"
        )


def _find(conn: Connection, email: str) -> dict[str, Any]:
    from llmledger.auth.users import get_user_by_email

    user = get_user_by_email(conn, email)
    if user is None:
        raise click.UsageError(f"no user with email {email}")
    return user


@group.command("create")
@click.option("--email", required=True, help="Their email (the login name).")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What they may do.")
@click.option("--org", "org_id", default=None, help="Organisation of an org_admin or viewer.")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@click.option("--no-password", is_flag=True, help="No password: API tokens only.")
@click.pass_context
def create(
    ctx: click.Context,
    email: str,
    role: str,
    org_id: str | None,
    name: str,
    password_stdin: bool,
    no_password: bool,
) -> None:
    """Create a user; the password is prompted for (or read from stdin)."""
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.users import create_user

    if password_stdin and no_password:
        raise click.UsageError("--password-stdin and --no-password contradict each other")
    _check_org(role, org_id)
    digest = None if no_password else _hashed(ctx.obj, _password(password_stdin))
    with _changing(ctx) as (conn, _):
        user = create_user(
            conn,
            email=email,
            role=role,
            org_id=org_id,
            name=name,
            password_hash=digest,
        )
        record_audit(
            conn,
            actor=cli_actor(),
            action="user.create",
            target=f"user:{user['id']}",
            after=user,
            org_id=user["orgId"],
        )
    click.echo(f"created {user['role']} {user['email']} (id {user['id']})")


@group.command("list")
@click.option("--org", "org_id", default=None, help="Only this organisation's users.")
@click.pass_context
def list_(ctx: click.Context, org_id: str | None) -> None:
    """List users: id, email, role, organisation, active."""
    from llmledger.auth.users import list_users
    from llmledger.commands.environment import open_ledger

    ledger = open_ledger(ctx.obj)
    try:
        with ledger.engine.connect() as conn:
            found = list_users(conn, org_id=org_id)
    finally:
        ledger.close()
    for u in found:
        state = "active" if u["active"] else "inactive"
        click.echo(f"{u['id']}\t{u['email']}\t{u['role']}\t{u['orgId'] or '-'}\t{state}")


def _update(ctx: click.Context, email: str, action: str, **changes: Any) -> dict[str, Any]:
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.sessions import end_user_sessions
    from llmledger.auth.users import update_user

    with _changing(ctx) as (conn, _):
        user = _find(conn, email)
        found = update_user(conn, user["id"], **changes)
        assert found is not None
        before, after = found
        if not after["active"]:
            end_user_sessions(conn, user["id"])
        record_audit(
            conn,
            actor=cli_actor(),
            action=action,
            target=f"user:{user['id']}",
            before=before,
            after=after,
            org_id=after["orgId"] or before["orgId"],
        )
    return after


@group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--org", "org_id", default=None, help="Organisation for org_admin and viewer.")
@click.pass_context
def set_role(ctx: click.Context, email: str, role: str, org_id: str | None) -> None:
    """Change a user's role (and organisation)."""
    _check_org(role, org_id)
    changes: dict[str, Any] = {"role": role}
    if org_id is not None:
        changes["org_id"] = org_id
    after = _update(ctx, email, "user.update", **changes)
    click.echo(f"{after['email']} is now {after['role']} {after['orgId'] or ''}".rstrip())


@group.command("deactivate")
@click.argument("email")
@click.pass_context
def deactivate(ctx: click.Context, email: str) -> None:
    """Deactivate a user: their sessions end and their API tokens are revoked, for good."""
    after = _update(ctx, email, "user.update", active=False)
    click.echo(f"deactivated {after['email']}")


@group.command("activate")
@click.argument("email")
@click.pass_context
def activate(ctx: click.Context, email: str) -> None:
    """Let a deactivated user in again."""
    after = _update(ctx, email, "user.update", active=True)
    click.echo(f"activated {after['email']}")


@group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@click.pass_context
def set_password(ctx: click.Context, email: str, password_stdin: bool) -> None:
    """Set a user's password (prompted for); their sessions end."""
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.sessions import end_user_sessions
    from llmledger.auth.users import set_password as store

    digest = _hashed(ctx.obj, _password(password_stdin))
    with _changing(ctx) as (conn, _):
        user = _find(conn, email)
        store(conn, user["id"], digest)
        end_user_sessions(conn, user["id"])
        record_audit(
            conn,
            actor=cli_actor(),
            action="user.password",
            target=f"user:{user['id']}",
            after={"password": "set at the command line"},
            org_id=user["orgId"],
        )
    click.echo(f"password of {user['email']} set")
