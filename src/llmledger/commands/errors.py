"""How the command line reports a mistake: one line, exit code 2, naming what to change (the
``LLMLEDGER_*`` variable, or the flag), never a traceback."""

from __future__ import annotations

from typing import Any

import click
from click.exceptions import NoArgsIsHelpError


class SettingError(click.ClickException):
    """A setting that cannot be used; printed as ``Error: <message>`` on one line."""

    exit_code = 2


class OneLineGroup(click.Group):
    """A command group whose usage errors (a bad flag or argument here or in any subcommand)
    print on one line, with the command whose ``--help`` tells more, instead of click's usage
    block."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None


def _one_line(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, NoArgsIsHelpError):  # a bare group shows its help, as it should
        return exc
    message = exc.format_message()
    if exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    return click.UsageError(message)  # no context: click prints only the error line (exit 2)
