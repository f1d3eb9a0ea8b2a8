"""What every command starts from: the settings read from the ``LLMLEDGER_*`` variables, and
the opened database. A value that cannot be used stops the command with one line naming the
variable, its value and what it may be (``docs/settings.md`` lists the same)."""

from __future__ import annotations

import decimal
import pathlib
import re
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo

from llmledger.commands.errors import SettingError
from llmledger.settings import Settings

if TYPE_CHECKING:
    from llmledger.ledger import Ledger

ENV_PREFIX = "LLMLEDGER_"


def env_var(name: str) -> str:
    return f"{ENV_PREFIX}{name.upper()}"


def load_settings() -> Settings:
    """The settings, or a ``SettingError`` naming every variable with a value not allowed."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors()]
        raise SettingError("; ".join(problems)) from None


def _problem(err: Any) -> str:
    name = str(err["loc"][0]) if err["loc"] else ""
    field = Settings.model_fields.get(name)
    if field is None:  # a rule over several settings
        return str(err["msg"])
    reason = ""
    if err["type"] == "value_error":
        reason = f" ({err['ctx']['error']})"
    return f"{env_var(name)} is {shown_value(name, err['input'])}{reason}; {must(name)}"


def must(name: str) -> str:
    """``it must be ...``: what setting ``name`` may be."""
    return f"it must be {allowed(Settings.model_fields[name])}"


def shown_value(name: str, value: object) -> str:
    """The value as it may be printed: secrets hidden, a database password masked."""
    text = str(value)
    if _is_secret(Settings.model_fields[name]):
        return f"a hidden value of {len(text)} characters"
    if name == "database_url":
        text = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", text)
    return repr(text)


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in _types(field.annotation)


def _types(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def allowed(field: FieldInfo) -> str:
    """What a setting may be, in words: from its ``allowed`` note, else its type and bounds."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "allowed" in extra:
        return str(extra["allowed"])
    (kind,) = _types(field.annotation)
    bounds = {type(m).__name__: getattr(m, _BOUND[type(m).__name__]) for m in field.metadata}
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(kind))
    if kind is bool:
        return "true or false"
    if kind is pathlib.Path:
        return "a directory this user can create and write to"
    if kind in (str, SecretStr):
        low, high = bounds.get("MinLen"), bounds.get("MaxLen")
        if low and high:
            return f"text of {low} to {high} characters"
        if low:
            return f"text of at least {low} characters"
        return f"text of at most {high} characters" if high else "text"
    noun = {int: "a whole number", float: "a number", decimal.Decimal: "a decimal number"}[kind]
    low, high = bounds.get("Ge"), bounds.get("Le")
    if "Gt" in bounds:
        return f"{noun} greater than {bounds['Gt']}" + (f" and at most {high}" if high else "")
    if low is not None and high is not None:
        return f"{noun} from {low} to {high}"
    if low is not None:
        return f"{noun} of at least {low}"
    return noun


_BOUND = {
    "Ge": "ge",
    "Gt": "gt",
    "Le": "le",
    "Lt": "lt",
    "MinLen": "min_length",
    "MaxLen": "max_length",
}


def open_ledger(settings: Settings, *, upgrade: bool = True) -> Ledger:
    """The ledger of ``settings``: its database opened (and migrated unless ``upgrade=False``).
    A data directory or database that cannot be used is a ``SettingError``."""
    from llmledger.ledger import Ledger

    with setting_errors(settings):
        return Ledger.open(settings, upgrade=upgrade)


@contextmanager
def setting_errors(settings: Settings) -> Iterator[None]:
    """Turn a data directory or database that cannot be used into a ``SettingError``."""
    from sqlalchemy import exc as sa

    try:
        yield
    except OSError as exc:
        path = pathlib.Path(str(exc.filename or ""))
        if not _under(path, settings.data_dir):
            raise
        raise SettingError(
            f"LLMLEDGER_DATA_DIR is {shown_value('data_dir', settings.data_dir)} "
            f"({path}: {exc.strerror or exc}); {must('data_dir')}"
        ) from None
    except (sa.OperationalError, sa.InterfaceError, sa.ArgumentError, sa.NoSuchModuleError) as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()
        reason = detail[0] if detail else type(e).__name__
        if settings.database_url is None:  # the SQLite file in the data directory
            raise SettingError(
                f"LLMLEDGER_DATA_DIR is {shown_value('data_dir', settings.data_dir)} (its "
                f"database cannot be opened: {reason}); {must('data_dir')}"
            ) from None
        raise SettingError(
            f"LLMLEDGER_DATABASE_URL is {shown_value('database_url', settings.database_url)} "
            f"(the database cannot be opened: {reason})"
        ) from None


def _under(path: pathlib.Path, directory: pathlib.Path) -> bool:
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except (OSError, RuntimeError):
        return False
