"""The Runs pane's view-model: what its table, status and detail lines say about recorded runs,
as pure functions of engine.store.RunRecord values (no widgets; tested without the app).
tui/widgets/runs.py draws them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import formatting
from engine.domain import format_riders
from engine.formatting import data_key, data_name
from engine.text import safe_text

from ..format import duration, middle_ellipsis

if TYPE_CHECKING:
    from engine.store import RunRecord


def local_time(iso: str | None) -> str:
    """A stored UTC timestamp as the local 'YYYY-MM-DD HH:MM' (engine.formatting). Module level, so a
    snapshot test can pin the time zone by replacing it."""
    return formatting.local_time(iso)


def setting(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"  # a learning rate of 2.0557e-06 reads 2.056e-06
    return str(value)


def origin(run: RunRecord) -> str:
    return f"{run.origin} of {run.parent_id}" if run.parent_id else run.origin


def run_seconds(run: RunRecord) -> float | None:
    """Training time summed over the run's epochs (needs them loaded)."""
    return sum(e.seconds for e in run.epochs) if run.epochs else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def score_ratio(run: RunRecord, split: str, against: str) -> float | None:
    """The kept weights' MAE on ``split`` over the naive ("naive_mae") or LightGBM ("gbm_mae") one."""
    score = (run.scores or {}).get(split) or {}
    mae, other = _finite(score.get("mae")), _finite(score.get(against))
    return mae / other if mae is not None and other else None


# column key -> (header, width or None, sort value or None, newest/largest first when first chosen?)
# The MAE columns are the scores of the weights each run kept (its best epoch's when it restores
# them, else its last): what its model forecasts with, not the best epoch it passed through.
COLUMNS: dict[str, tuple[str, int | None, Callable[[RunRecord], Any] | None, bool]] = {
    "mark": (" ", 1, None, False),
    "run": ("run", None, lambda r: r.run_id, True),
    "started": ("started", None, lambda r: (r.started_at, r.run_id), True),
    "status": ("status", None, lambda r: r.status, False),
    "data": ("data", None, lambda r: safe_text(data_name(r)), False),
    "epochs": ("epochs", None, lambda r: r.epochs_done, True),
    "valid": ("valid MAE", None, lambda r: _finite(r.valid_mae), False),
    "valid_naive": ("v/naive", None, lambda r: score_ratio(r, "valid", "naive_mae"), False),
    "valid_gbm": ("v/LGBM", None, lambda r: score_ratio(r, "valid", "gbm_mae"), False),
    "test": ("test MAE", None, lambda r: _finite(r.test_mae), False),
    "test_naive": ("t/naive", None, lambda r: score_ratio(r, "test", "naive_mae"), False),
    "test_gbm": ("t/LGBM", None, lambda r: score_ratio(r, "test", "gbm_mae"), False),
}
RATIO_COLUMNS = ("valid_naive", "valid_gbm", "test_naive", "test_gbm")
TAIL_COLUMNS = {"origin": "origin", "time": "time"}  # after the differing settings
NARROW = 100  # below this many columns the table uses short headers and dates without the year
SHORT_HEADERS = {
    "valid": "valid",
    "test": "test",
    "epochs": "ep",
    "valid_naive": "v/naive",
    "valid_gbm": "v/LGBM",
    "test_naive": "t/naive",
    "test_gbm": "t/LGBM",
}
HIDDEN_SETTINGS = {"epochs"}  # the epochs column shows it already (done/planned)
SORT_NAMES = {
    "run": "run",
    "started": "date",
    "status": "status",
    "epochs": "epochs",
    "valid": "validation MAE (kept weights)",
    "test": "test MAE",
    "valid_naive": "validation MAE / naive",
    "valid_gbm": "validation MAE / LightGBM",
    "test_naive": "test MAE / naive",
    "test_gbm": "test MAE / LightGBM",
}
SCORE_COLUMNS = ("valid", "test", *RATIO_COLUMNS)


def sort_runs(runs: list[RunRecord], key: str, reverse: bool) -> list[RunRecord]:
    """Runs ordered by a column; runs without a value (no epoch finished) last either way. By a
    score, runs on different data are never ranked against each other: each data's runs stay
    together (the data whose best run comes first leads), ranked within."""
    value = COLUMNS[key][2]
    present = sorted((r for r in runs if value(r) is not None), key=value, reverse=reverse)
    missing = sorted((r for r in runs if value(r) is None), key=lambda r: r.run_id, reverse=True)
    if key in SCORE_COLUMNS and len(data_sets(runs)) > 1:
        rank: dict[str, int] = {}
        for r in present:
            rank.setdefault(data_key(r), len(rank))
        present.sort(key=lambda r: rank[data_key(r)])  # stable: each group keeps its order
    return present + missing


def data_sets(runs: list[RunRecord]) -> dict[str, str]:
    """data_key -> data_name of the data the runs were trained on, in the runs' order."""
    out: dict[str, str] = {}
    for r in runs:
        out.setdefault(data_key(r), data_name(r))
    return out


@dataclass(frozen=True)
class Curve:
    """One run's per-epoch history as plain values, for the charts (MAE in riders)."""

    run_id: int
    color: str
    epoch: tuple[int, ...]
    train_loss: tuple[float, ...]
    valid_mae: tuple[float, ...]
    naive_valid_mae: float | None = None  # riders, from the run's scores


def curve(run: RunRecord, color: str) -> Curve:
    e = run.epochs
    return Curve(
        run.run_id,
        color,
        tuple(x.epoch for x in e),
        tuple(x.train_loss for x in e),
        tuple(x.valid_mae_riders for x in e),
        run.valid_naive_mae,
    )


def run_cells(run: RunRecord, shown_settings: list[str], narrow: bool = False) -> list[str]:
    """The row's plain cells after the run and status columns: started, epochs, the scores and
    ratios (2 decimals), the settings shown, origin and training time."""
    seconds = run_seconds(run)
    started = local_time(run.started_at)
    if narrow and len(started) == 16:  # "2026-11-29 11:19" -> "11-29 11:19"
        started = started[5:]
    ratios = [score_ratio(run, key.split("_")[0], f"{key.split('_')[1]}_mae") for key in RATIO_COLUMNS]
    valid_naive, valid_gbm, test_naive, test_gbm = (formatting.ratio(r) for r in ratios)
    return [
        started,
        middle_ellipsis(safe_text(data_name(run)), 14 if narrow else 24),
        f"{run.epochs_done}/{run.epochs_planned}",
        format_riders(run.valid_mae),
        valid_naive,
        valid_gbm,
        format_riders(run.test_mae),
        test_naive,
        test_gbm,
        *(setting(run.config_dict.get(name)) for name in shown_settings),
        origin(run),
        duration(seconds) if seconds is not None else "-",
    ]


def order_text(sort_by: str, reverse: bool) -> str:
    """How the table is sorted, in words."""
    if sort_by == "started":
        return "newest first" if reverse else "oldest first"
    if sort_by in SCORE_COLUMNS:
        return f"by {SORT_NAMES[sort_by]}, {'highest' if reverse else 'lowest'} first"
    return f"by {SORT_NAMES[sort_by]}, {'descending' if reverse else 'ascending'}"


def status_text(
    path: Any,
    runs: list[RunRecord],
    sort_by: str,
    reverse: bool,
    picked: int,
    diff: dict,
    basis: list[RunRecord] | None = None,
) -> str:
    """The status line above the table; ``basis``: the runs ``diff`` compares (the picked ones, or
    all): a difference in their data is named first."""
    n = len(runs)
    if not n:
        return f"No runs recorded yet in {path}. Runs started here (t) or with `ridership train` appear here."
    sets = data_sets(runs)
    order = order_text(sort_by, reverse)
    if len(sets) > 1 and sort_by in SCORE_COLUMNS:
        order += " within each data (scores on different data do not compare)"
    parts = [f"{n} run{'s' if n != 1 else ''} in {path}"]
    if len(sets) > 1:
        parts.append(f"{len(sets)} data: {', '.join(sets.values())}")
    parts += [order, f"{picked} picked"]
    if n > 1:
        k, which = len(diff), "them" if picked >= 2 else "all runs"
        differ = f"{k} setting{'s differ' if k != 1 else ' differs'} between {which}"
        if len(data_sets(basis if basis is not None else runs)) > 1:  # named first: scores do not compare
            differ = (
                f"the data differs between {which}, no setting does"
                if not k
                else f"the data and {k} setting{'s' if k != 1 else ''} differ between {which}"
            )
        parts.append(differ)
    return " · ".join(parts)


def detail_text(run: RunRecord, in_use: bool) -> str:
    """Three lines about the run under the cursor: status and lineage, scores, data and device."""
    line1 = (
        f"Run {run.run_id}"
        + (" (its model is in use)" if in_use else "")
        + f" · {run.status}"
        + (f": {run.reason}" if run.reason else "")
    )
    if run.parent_id:
        at = f" after its epoch {run.resumed_from_epoch}" if run.resumed_from_epoch else ""
        line1 += f" · {run.origin} of run {run.parent_id}{at}"
    scores = []
    for split in ("valid", "test"):
        s = (run.scores or {}).get(split)
        if s:
            scores.append(
                f"{split} {format_riders(s['mae'])} vs naive {format_riders(s['naive_mae'])} ({s['ratio']:.2f}x)"
            )
    weights = f"epoch {run.weights_epoch}'s weights" if run.weights_epoch else "no weights"
    if run.best_epoch and run.best_valid_mae is not None and run.weights_epoch != run.best_epoch:
        weights += f" (best epoch {run.best_epoch}: valid {format_riders(run.best_valid_mae)})"
    line2 = " · ".join([("MAE in riders: " + " · ".join(scores)) if scores else "no scores", weights])
    data = "synthetic data" if run.data_source == "synthetic" else safe_text(Path(run.data_path or "?").name)
    rows = f", {run.data_rows:,} days {run.data_first}..{run.data_last}" if run.data_rows else ""
    device = safe_text(f"{run.device} ({run.device_name})" if run.device_name else run.device)
    line3 = f"{data}{rows} · {device} · " + ("checkpoint kept" if run.checkpoint else "no checkpoint")
    return f"{line1}\n{line2}\n{line3}"
