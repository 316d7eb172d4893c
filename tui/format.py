"""How the app writes things a person reads: errors, durations, run names, run summaries, chart
ticks and date bounds. Shared by the app and every pane (panes import from here, never from each
other). Numbers of riders are written with engine.domain.format_riders.

No torch, pandas or numpy at import time: this module loads with the first screen (pandas and
numpy are imported inside the functions that need them, once data is shown).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from textual.content import Content

from engine.domain import format_riders
from engine.errors import ConfigError, RidershipError
from engine.formatting import duration, local_time, ratio, split_name  # noqa: F401 - shared with the CLI

if TYPE_CHECKING:
    import pandas as pd

    from engine.session import RunResult

HISTORY_DAYS = 8 * 7  # the last weeks of actual riders that forecast charts continue


# -- text from outside ------------------------------------------------------------------------------
def plain(text: object) -> Content:
    """Text that comes from outside the app (a file path, a CSV cell, an error message, a run's
    name) as Content shown exactly as written: never parsed as markup, so ``[/]`` or ``[bold]`` in
    a path neither raises MarkupError nor changes the style. Every Static/Label/notify that shows
    such text takes it through here (or through ``App.notify(..., markup=False)``)."""
    return Content(str(text))


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters by replacing its middle with "…" (a long path keeps
    its start and its file name)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return "…"
    keep = width - 1
    head = keep // 2
    return text[:head] + "…" + text[len(text) - (keep - head) :]


def short_path(path: str, width: int) -> str:
    """A path for a header line: the home folder as ~, the middle ellipsized to fit ``width``."""
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + os.sep)):
        path = "~" + path[len(home) :]
    return middle_ellipsis(path, width)


# -- errors -----------------------------------------------------------------------------------------
# The engine's messages name the command line's options; in the app a key does the same.
APP_WORDS = (
    ("Pass --data PATH to a local copy or set", "Press o to open a local copy, or set"),
    ("(--data PATH)", "(o opens a file)"),
)


def explain(error: BaseException | None) -> str:
    """An error as a person reads it: the engine's own message (its command-line hints put in the
    app's words); a file system error as "path: reason" (no errno); anything else as its type and
    text."""
    if isinstance(error, RidershipError):
        text = str(error)
        for cli, app in APP_WORDS:
            text = text.replace(cli, app)
        return text
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return f"{type(error).__name__}: {error}"


def device_label(info: Any) -> str:
    """engine.device.DeviceInfo in a few words for the header: "cpu", "cuda:0 NVIDIA H200", "mps"."""
    if info.kind == "cuda":
        return f"cuda:{getattr(info, 'index', 0) or 0} {info.name}"
    return info.kind


# -- runs -------------------------------------------------------------------------------------------
LOSS_NAMES = {"huber": "Huber", "l1": "L1"}


def loss_title(losses) -> str:
    """A loss chart's title for runs trained with ``losses`` (config values): named when they agree."""
    names = {LOSS_NAMES.get(str(loss), str(loss)) for loss in losses}
    return f"Training loss ({names.pop()})" if len(names) == 1 else "Training loss"


def run_title(run_id: int | None) -> str:
    """A run's name at the start of a sentence: "Run 12", or "The unrecorded run" (as
    engine.session.RunResult.name, capitalised)."""
    return f"Run {run_id}" if run_id is not None else "The unrecorded run"


def model_label(run: RunResult) -> str:
    """Whose model a forecast or backtest uses: "Run 3's model (epoch 12's weights)"."""
    return f"{run_title(run.run_id)}'s model (epoch {run.weights_epoch}'s weights)"


def backtest_label(run: RunResult, data_label: str) -> str:
    return f"Backtest of {run_title(run.run_id)} (epoch {run.weights_epoch}'s weights) on {data_label}"


def _fields(score: Any) -> dict:
    """A split's score as a dict (engine.scoring.SplitScore, or one already as a dict)."""
    return score.to_dict() if hasattr(score, "to_dict") else dict(score)


def summarise(run: RunResult) -> tuple[str, str]:
    """The status line and the result lines of a run that ended (engine.session.RunResult)."""
    name = run_title(run.run_id)
    if run.status == "finished":
        status = f"{name} finished: {run.reason} on {run.device}."
    elif run.status == "stopped":
        status = f"{name} {run.reason}; its history stays on the charts."
    else:
        status = f"{name} failed: {run.reason}."
    if run.model is None:
        return status, "No epoch finished, so there is no model to score or forecast with."
    last = run.weights_epoch == run.epochs_done
    which = "the last epoch" if last else "the best validation epoch"
    # The totals first: on a 24-line terminal the result block shows its first lines only.
    totals, details = [], []
    for split, label in (("valid", "validation"), ("test", "test")):
        score = (run.scores or {}).get(split)
        if not score:
            continue
        s = _fields(score)
        totals.append(
            f"{label:>10} MAE {format_riders(s['mae']):>9} riders · naive "
            f"{format_riders(s['naive_mae']):>9} · model/naive {s['ratio']:.2f}"
        )
        for series in ("rail", "bus"):  # each series beside its own naive error
            mae, naive = s.get(f"{series}_mae"), s.get(f"naive_{series}_mae")
            if mae is not None and naive:
                details.append(
                    f"{label[:5]:>5} {series:>4} MAE {format_riders(mae):>9} riders · naive "
                    f"{format_riders(naive):>9} · model/naive {mae / naive:.2f}"
                )
    lines = [
        *totals,
        f"Scores use epoch {run.weights_epoch}'s weights ({which}); naive = same day last week.",
        *details,
    ]
    if run.run_id is not None:
        lines.append(f"Recorded as run {run.run_id} with its checkpoint (6 Runs: compare, fork, resume, export).")
    lines += [f"Warning: {warning}" for warning in run.warnings]
    return status, "\n".join(lines)


def beside_naive(mae: float, naive: float) -> str:
    """The naive forecast's MAE on the same targets, and the ratio (nothing while it is unknown)."""
    if not math.isfinite(naive) or not naive:
        return ""
    return f" (naive {format_riders(naive)}, model/naive {mae / naive:.2f})"


# -- dates ------------------------------------------------------------------------------------------
def parse_bound(text: str, end: bool) -> pd.Timestamp:
    """A date or a partial date (YYYY, YYYY-MM, YYYY-MM-DD), read as the split dates of the
    settings are (engine.config): its first day, or its last with ``end``. ValueError says why not."""
    from engine.config import _period  # the settings' own date check, so both accept the same dates

    try:
        period = _period("date", text)
    except ConfigError as exc:
        raise ValueError(exc.reason) from None
    return (period.end_time if end else period.start_time).normalize()


# -- chart ticks ------------------------------------------------------------------------------------
def epoch_ticks(epochs: list[int], count: int = 6) -> tuple[list[int], list[str]]:
    """Whole-number epoch ticks (plotext would label 1.0, 3.8, 6.5...)."""
    if not epochs:
        return [], []
    first, last = epochs[0], epochs[-1]
    step = max(1, -(-(last - first) // (count - 1)))
    ticks = list(range(first, last + 1, step))
    if ticks[-1] != last:
        ticks.append(last)
    return ticks, [str(t) for t in ticks]


def date_ticks(dates: pd.DatetimeIndex, count: int = 4) -> tuple[list[int], list[str]]:
    """Ticks at row positions, labelled with those rows' dates."""
    import numpy as np

    positions = sorted({int(round(p)) for p in np.linspace(0, len(dates) - 1, count)})
    return positions, [f"{dates[p]:%Y-%m-%d}" for p in positions]


def trust_summary(trust) -> str:
    """One or two lines under a forecast: validation and test MAE beside naive and LightGBM, interval coverage, and a
    plain warning when the model is worse than repeating last week (engine.assessment.Assessment)."""
    from engine.domain import format_riders

    parts, scores = [], []
    for split in ("valid", "test"):
        score = trust.scores.get(split)
        if score is not None:
            gbm = f", LightGBM {format_riders(score.gbm_mae)}" if score.gbm_mae == score.gbm_mae else ""
            scores.append(f"{split} {format_riders(score.mae)} (naive {format_riders(score.naive_mae)}{gbm})")
    if scores:
        parts.append("MAE " + ", ".join(scores))
    cov = trust.intervals.coverage
    if cov:
        parts.append(
            f"{trust.intervals.level:.0%} intervals covered {cov['rail']:.0%} rail, {cov['bus']:.0%} bus of test days"
        )
    line = "Trust: " + "; ".join(parts)
    worse = trust.worse_than_naive
    if worse:
        line += (
            "\nWarning: worse than repeating last week on the "
            + " and ".join("validation" if w == "valid" else w for w in worse)
            + " split"
        )
    return line
