"""``llmledger tokens``: API tokens (shown once; only a hash is stored). Audited as
``cli:<login name>``."""

from __future__ import annotations

import click


@click.group(name="tokens")
def group() -> None:
    """API tokens (shown once; only a hash is stored)."""


@group.command("create")
@click.option("--user", "email", default=None, help="A token of this user, with their rights.")
@click.option("--admin", "role", flag_value="admin", help="A user-less token with admin rights.")
@click.option(
    "--viewer", "role", flag_value="viewer", help="A user-less read-only token for one org."
)
@click.option("--org", "org_id", default=None, help="Organisation of a --viewer token.")
@click.option("--name", default="cli", show_default=True, help="A label to recognise it by.")
@click.pass_context
def create(
    ctx: click.Context, email: str | None, role: str | None, org_id: str | None, name: str
) -> None:
    """Create an API token and print it once."""
    from llmledger.auth.audit import cli_actor, record_audit
    from llmledger.auth.credentials import get_api_token
    from llmledger.auth.tokens import create_api_token
    from llmledger.auth.users import get_user_by_email
    from llmledger.auth.writing import writing
    from llmledger.ledger import Ledger

    if (role is None) == (email is None):
        raise click.UsageError("say which kind: --user EMAIL, --admin, or --viewer --org ORG")
    ledger = Ledger.open(ctx.obj)
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


@group.command("list")
@click.option("--user", "email", default=None, help="Only this user's tokens.")
@click.option("--revoked", is_flag=True, help="Include revoked tokens.")
@click.pass_context
def list_(ctx: click.Context, email: str | None, revoked: bool) -> None:
    """List tokens: id, prefix, name, role, organisation, owner, last used."""
    from llmledger.auth.credentials import list_api_tokens
    from llmledger.auth.users import get_user_by_email
    from llmledger.ledger import Ledger

    ledger = Ledger.open(ctx.obj)
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
    from llmledger.ledger import Ledger

    ledger = Ledger.open(ctx.obj)
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
