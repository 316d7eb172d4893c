"""A run's history as CSV or its whole record as JSON: MAE in riders, field names with their unit."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import stat
import tempfile
from pathlib import Path

from ..domain import finite
from .runstore import RunRecord, RunStoreError

# EpochEvent.riders_dict's keys: MAE in riders, seconds of wall time, the loss in its own unit.
CSV_COLUMNS = (
    "epoch",
    "epochs",
    "train_loss",
    "train_mae_riders",
    "valid_mae_riders",
    "lr",
    "seconds",
    "best_epoch",
    "best_valid_mae_riders",
)


def history_csv(run: RunRecord) -> str:
    """The run's per-epoch metrics as CSV; the column names say their unit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in run.epochs:
        row = event.riders_dict()
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def history_json(run: RunRecord) -> str:
    """The whole run (settings, data, device, scores, epochs) as JSON."""
    return json.dumps(finite(run.to_dict()), indent=2, allow_nan=False)


def export_run(run: RunRecord, path: str | Path, fmt: str | None = None) -> Path:
    """Write the run's history to ``path`` as csv or json (from the suffix when ``fmt`` is None):
    a file atomically (see ``write_export``), a terminal or pipe through."""
    path = Path(path).expanduser()
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "json"):
        raise RunStoreError(f"{path}: cannot tell the export format; use a .csv or .json name (or --format)")
    write_export(path, history_csv(run) if fmt == "csv" else history_json(run))
    return path


def write_export(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, whatever is there (or planted there) already.

    - A terminal, ``/dev/null`` or a named pipe (also through a symlink, as ``/dev/stdout``) is
      written through, never replaced by a file; a pipe nobody reads is refused (it would block).
    - A file is replaced atomically: the text goes to a temp file of an unpredictable name,
      created exclusively (mkstemp) in the target's own folder, then renamed over the target. A
      symlink at the target is followed (its target file is the one replaced) and stays a symlink;
      nothing planted at a guessable temp name can redirect the write.
    - A folder, a disk (block device) or a socket is refused, in one line.
    """
    try:
        info = os.stat(path)  # follows symlinks: what a write would reach
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_through(path, text, info.st_mode)
        return
    target = Path(os.path.realpath(path))  # a symlink's target file, replaced in its own folder
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), stat.S_IMODE(info.st_mode) if info is not None else _new_file_mode())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _write_through(path: Path, text: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise RunStoreError(f"{path}: is a folder; give a file name such as {Path(path) / 'run.csv'}")
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        kind = "a disk device" if stat.S_ISBLK(mode) else "not a file, terminal or pipe"
        raise RunStoreError(f"{path}: is {kind}; refusing to write the export there")
    try:
        # Non-blocking open: a pipe with no reader fails at once (ENXIO) instead of hanging.
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise RunStoreError(f"{path}: is a named pipe that nobody reads; start its reader first") from None
        raise RunStoreError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    try:
        os.set_blocking(fd, True)  # then write it all, at the reader's pace
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _new_file_mode() -> int:
    """0o666 less the process's umask, read without changing it (os.umask would, for all threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644
