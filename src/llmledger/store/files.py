"""The files of the database on disk, private to the user that runs llmledger.

The SQLite database holds password, token and session hashes and every tenant's events. Its
file is made mode 0600 before SQLite opens it, whatever the umask; SQLite gives the ``-wal``
and ``-shm`` files it makes the database file's mode. Files made earlier are left as they are
(the operator may have reasons), but a server start warns about any that others can read.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from llmledger.settings import Settings

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def create_private_file(path: str | Path) -> None:
    """Make an empty file of mode 0600 unless one exists (or its directory does not: then
    SQLite reports the problem as it always has)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except (FileExistsError, FileNotFoundError):
        return
    try:
        os.fchmod(fd, PRIVATE_FILE)  # the umask may have taken away the owner's bits, too
    finally:
        os.close(fd)


def _private_paths(settings: Settings) -> list[Path]:
    from llmledger.store.engine import sqlite_file  # engine imports this module

    paths = [settings.data_dir, settings.data_dir / "secret_key"]
    database = sqlite_file(settings.resolved_database_url)
    if database is not None:
        paths.append(Path(database))
        paths += [Path(database + suffix) for suffix in SQLITE_SIDE_FILES]
    return paths


def exposed_files(settings: Settings) -> list[tuple[Path, int]]:
    """The data directory and database files that users other than the owner may access,
    with their modes."""
    found = []
    for path in _private_paths(settings):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # not there (yet): nothing to warn about
        if mode & 0o077:
            found.append((path, mode))
    return found


def warn_if_exposed(settings: Settings) -> None:
    for path, mode in exposed_files(settings):
        fix = "700" if path.is_dir() else "600"
        log.warning(
            "%s is open to other users (mode %04o), but it holds password hashes and every "
            "tenant's data: chmod %s it",
            path,
            mode,
            fix,
        )
