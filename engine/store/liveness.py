"""Is the process that started a run still alive? Same host, and a process with the recorded pid
whose start time (Linux: boot id + start tick from /proc, which survives pid reuse) matches."""

from __future__ import annotations

import os
from pathlib import Path


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_token(pid: int) -> str:
    """Boot id + start tick of ``pid`` (Linux), "" where /proc is missing or the pid is gone or a zombie.

    A pid can be reused after its process ends; the start tick cannot (within one boot)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    rest = stat[stat.rfind(")") + 2 :].split()  # the command name may contain spaces and ')'
    if len(rest) < 20 or rest[0] in ("Z", "X"):  # zombie or dead: it will never log again
        return ""
    return f"{_boot_id()}:{rest[19]}"


def process_alive(pid: int, token: str) -> bool:
    if token and Path("/proc").is_dir():
        return process_token(pid) == token
    if os.name == "nt":  # os.kill would terminate the process there: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
