"""How numbers, times and names read, for every front end: the CLI (cli/output.py) and the app
(tui/format.py, tui/views) print them the same way. Plain strings, no terminal library.

- riders: ``31,660`` (engine.domain.format_riders); "-" for missing or not finite.
- ratios: two decimals (``0.97``, never ``0.9`` or ``1.0`` for 1.04): a ratio near 1 is read
  against 1, and one decimal would round a win into a tie.
- times: stored UTC timestamps in the local zone, ``YYYY-MM-DD HH:MM``; durations ``12.3 s``,
  ``4 min 05 s``.
- split names: ``validation``, ``test``.
"""

from __future__ import annotations

import math
from datetime import datetime

from .domain import format_riders as riders  # noqa: F401 - one name for riders in both front ends

SPLIT_LABELS = {"train": "training", "valid": "validation", "test": "test"}


def split_name(split: str) -> str:
    return SPLIT_LABELS.get(split, split)


def ratio(value: float | None) -> str:
    """A ratio (model MAE over naive or LightGBM) with two decimals; "-" when there is none."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2f}"


def ratio_of(numerator: float | None, denominator: float | None) -> str:
    """``numerator / denominator`` as ``ratio`` reads it; "-" when either is missing or zero."""
    if not numerator or not denominator:
        return "-"
    return ratio(numerator / denominator)


def local_time(iso: str | None) -> str:
    """A stored UTC timestamp as the local 'YYYY-MM-DD HH:MM'; "-" when there is none."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"


def data_key(run) -> str:
    """Which data a recorded run (engine.store.RunRecord) was trained and scored on: "synthetic",
    or the file's content fingerprint (the same file renamed is the same data; an updated file is
    other data). Scores compare only between runs with the same key."""
    if run.data_source == "synthetic":
        return "synthetic"
    return run.data_fingerprint or f"path:{run.data_path}"


def data_name(run) -> str:
    """The data of ``run`` in a few words: "synthetic", or the file's name and the start of its
    fingerprint ("CTA_-_Ridership.csv 3f2a9c1b")."""
    if run.data_source == "synthetic":
        return "synthetic"
    from pathlib import Path

    name = Path(run.data_path or "?").name
    return f"{name} {run.data_fingerprint[:8]}" if run.data_fingerprint else name
