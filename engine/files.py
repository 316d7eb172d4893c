"""Files that are not files: a named pipe, /dev/zero, a terminal where a data, space or state file
is expected. Reading one blocks forever (a pipe with no writer) or never ends (/dev/zero), and an
app whose worker thread is stuck there cannot even quit. Everything that reads a file a person
names checks it here first and refuses, in one line, what is not a regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import printable

KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a device (such as /dev/zero or a terminal)"),
    (stat.S_ISBLK, "a disk device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def not_a_file(path: str | Path) -> str | None:
    """Why ``path`` cannot be read as a file ("a named pipe"...), or None: a regular file, or
    nothing there (the caller's own "file not found" applies). Follows symlinks; never opens."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in KINDS if test(mode)), "not a regular file")


def refusal(path: str | Path, expected: str, *, pipes: bool = False) -> str | None:
    """The one-line refusal for ``path`` when it is not a regular file, else None. ``pipes``: a
    named pipe is accepted (``cat data.csv | ridership train --data /dev/stdin``), a device never."""
    kind = not_a_file(path)
    if kind is None or (pipes and kind == "a named pipe"):
        return None
    return f"{printable(path)}: is {kind}, not a file; expected {expected}"


def read_small_text(path: str | Path, limit: int = 1 << 20) -> str:
    """A small regular file's text, read without ever blocking on what is not one: opened
    non-blocking (a named pipe with no writer opens at once), checked with fstat (no race with a
    swap after a stat), and cut at ``limit`` bytes (OSError with a reason otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((what for test, what in KINDS if test(mode)), "not a regular file")
            raise OSError(f"is {kind}, not a file")
        os.set_blocking(fd, True)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"larger than {limit:,} bytes")
    return data.decode("utf-8")
