"""Write report files atomically and readable by their owner only."""

from __future__ import annotations

import contextlib
import datetime
import os
import tempfile
from pathlib import Path


class SaveError(Exception):
    """A report cannot be written where asked; the message says why in plain words."""


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step (no half-written file), mode 0600.

    A symbolic link is followed to the file it names. Anything that exists but is not a
    regular file (a device, a pipe, a folder) is refused: replacing it would destroy it.
    """
    path = path.resolve() if path.is_symlink() else path
    if path.exists() and not path.is_file():
        raise SaveError(
            f"{path} exists and is not a regular file; name a file (or redirect stdout instead)"
        )
    if not path.parent.is_dir():
        raise SaveError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise SaveError(f"cannot write in {path.parent}: {exc.strerror}") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def report_stem(now: datetime.datetime | None = None) -> str:
    moment = now or datetime.datetime.now(datetime.UTC)
    return f"syntask-doctor-{moment.strftime('%Y%m%dT%H%M%SZ')}"
