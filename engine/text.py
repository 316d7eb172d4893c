"""Names, tags and notes people type: refused with control characters, escaped when shown.

A sweep name, a run's name, tag or note is stored once and printed by ``runs list``, ``sweep
list/show``, the sweep's progress lines and the app's panes. Raw, an escape sequence in it drives
the terminal (retitles it, clears the screen) and a newline forges a row of a table. So:
- ``check_label`` refuses them on input (one line naming the field and the character), and
- ``safe_text`` escapes them on output (``\\x1b``, ``\\n``, ``\\u202e``), which also covers stores
  written before the check existed.
"""

from __future__ import annotations

from .errors import RidershipError, printable, quoted


def safe_text(text: object) -> str:
    """``text`` as one line that cannot drive a terminal: every non-printable character (C0/C1
    controls, line breaks, bidi overrides) written as its Python escape, the rest kept."""
    return printable(text)


def check_label(text: str, what: str) -> str:
    """``text`` unchanged if every character is printable; else a RidershipError naming ``what``
    (e.g. "sweep name") and the first offending character."""
    bad = next((c for c in text if not c.isprintable() and c != " "), None)
    if bad is not None:
        raise RidershipError(
            f"{what} {quoted(text)}: contains the control character {printable(bad)}; use printable characters only"
        )
    return text
