"""``llmledger tokens``: API tokens (shown once; only a hash is stored). Audited as
``cli:<login name>``."""

from __future__ import annotations

import click


@click.group(name="tokens")
def group() -> None:
    """API tokens (shown once; only a hash is stored)."""


@group.command("create")
@click.option("--user", "email", default=None, help="A token of this user, with their rights.")
@click.option("--admin", is_flag=True, help="A user-less token with admin rights (every org).")
@click.option("--viewer", is_flag=True, help="A user-less read-only token for one org (--org).")
@click.option("--org", "org_id", default=None, help="Organisation of a --viewer token.")
@click.option("--name", default="cli", show_default=True, help="A label to recognise it by.")
@click.pass_context
def create(
    ctx: click.Context,
    email: str | None,
    admin: bool,
    viewer: bool,
    org_id: str | None,
    name: str,
) -> None:
    """Create an API token and print it once."""
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.credentials import get_api_token
    from llmledger.auth.tokens import create_api_token
    from llmledger.auth.users import get_user_by_email
    from llmledger.auth.writing import writing
    from llmledger.commands.environment import open_ledger

    role = _kind(email, admin=admin, viewer=viewer, org_id=org_id)
    ledger = open_ledger(ctx.obj)
    try:
        with writing(ledger.engine) as conn:
            user_id = None
            if email is not None:
                user = get_user_by_email(conn, email)
                if user is None or not user["active"]:
                    raise click.UsageError(f"no active user with email {email}")
                role, org_id, user_id = user["role"], user["orgId"], user["id"]
            assert role is not None
            token_id, secret = create_api_token(
                conn, role=role, name=name, org_id=org_id, user_id=user_id
            )
            record_audit(
                conn,
                actor=cli_actor(),
                action="token.create",
                target=f"token:{token_id}",
                after=get_api_token(conn, token_id),
                org_id=org_id,
            )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        ledger.close()
    click.echo(secret)


def _kind(email: str | None, *, admin: bool, viewer: bool, org_id: str | None) -> str | None:
    """The role of a user-less token (``None``: a token of ``--user``); refuses flags that
    contradict each other rather than dropping one."""
    kinds = (("--user", email is not None), ("--admin", admin), ("--viewer", viewer))
    given = [flag for flag, on in kinds if on]
    if not given:
        raise click.UsageError("say which kind: --user EMAIL, --admin, or --viewer --org ORG")
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} contradict each other: give one of them")
    if org_id is not None and admin:
        raise click.UsageError(
            "--admin and --org contradict each other: an admin token reads every organisation; "
            "for one organisation's read-only token give --viewer --org ORG"
        )
    if org_id is not None and email is not None:
        raise click.UsageError(
            "--user and --org contradict each other: a user's token has the user's organisation"
        )
    if viewer and not (org_id or "").strip():
        raise click.UsageError("--viewer needs --org ORG: the organisation it may read")
    return "admin" if admin else "viewer" if viewer else None


@group.command("list")
@click.option("--user", "email", default=None, help="Only this user's tokens.")
@click.option("--revoked", is_flag=True, help="Include revoked tokens.")
@click.pass_context
def list_(ctx: click.Context, email: str | None, revoked: bool) -> None:
    """List tokens: id, prefix, name, role, organisation, owner, last used."""
    from llmledger.auth.credentials import list_api_tokens
    from llmledger.auth.users import get_user_by_email
    from llmledger.commands.environment import open_ledger

    ledger = open_ledger(ctx.obj)
    try:
        with ledger.engine.connect() as conn:
            user_id = None
            if email is not None:
                user = get_user_by_email(conn, email)
                if user is None:
                    raise click.UsageError(f"no user with email {email}")
                user_id = user["id"]
            found = list_api_tokens(conn, user_id=user_id, include_revoked=revoked)
    finally:
        ledger.close()
    for tk in found:
        cols = [tk["id"], tk["prefix"], tk["name"], tk["role"], tk["orgId"] or "-"]
        cols += [tk["userEmail"] or "-", tk["lastUsedAt"] or "never"]
        if tk["revokedAt"]:
            cols.append(f"revoked {tk['revokedAt']}")
        click.echo("\t".join(str(c) for c in cols))


@group.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke a token by id; it stops working at once."""
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.credentials import get_api_token
    from llmledger.auth.tokens import revoke_api_token
    from llmledger.auth.writing import writing
    from llmledger.commands.environment import open_ledger

    ledger = open_ledger(ctx.obj)
    try:
        with writing(ledger.engine) as conn:
            before = get_api_token(conn, token_id)
            if before is None or not revoke_api_token(conn, token_id):
                raise click.UsageError(f"no live token with id {token_id}")
            record_audit(
                conn,
                actor=cli_actor(),
                action="token.revoke",
                target=f"token:{token_id}",
                before=before,
                after=get_api_token(conn, token_id),
                org_id=before["orgId"],
            )
    finally:
        ledger.close()
    click.echo(f"revoked token {token_id}")
