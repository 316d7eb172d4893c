"""Notice when the terminal has gone away, so the app can exit instead of spinning.

When an SSH connection dies without a SIGHUP reaching the app (or the program that owned the
pseudo-terminal simply closes it), Textual's input thread reads EOF forever at 100% of a core
(Textualize/textual PR 6690, open). A GPU box then keeps a ghost process, holding the training
thread and its memory, until someone kills it. The pseudo-terminal's device node is removed when
its other end closes, so a link count of 0 on our stdin means nobody can ever type here again.
"""

from __future__ import annotations

import os
import stat
import sys

CHECK_EVERY_S = 2.0


def terminal_gone(fd: int | None = None) -> bool:
    """True when stdin is a terminal device that no longer exists (or stdin is closed)."""
    try:
        fd = sys.__stdin__.fileno() if fd is None else fd
        info = os.fstat(fd)
    except (OSError, ValueError, AttributeError):
        return True
    return stat.S_ISCHR(info.st_mode) and info.st_nlink == 0
