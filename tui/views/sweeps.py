"""The Sweeps pane's view-model: the sweep followed (its events applied), the leaderboard's rows,
columns and cells, and the status line, as pure functions and dataclasses (no widgets; tested
without the app). tui/widgets/sweeps.py draws them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.domain import format_riders
from engine.formatting import ratio
from engine.text import safe_text

if TYPE_CHECKING:
    from engine.sweep import events as ev
    from engine.sweep.records import SweepSummary, TrialRow

NARROW = 100  # below this many columns: short headers


def default_name() -> str:
    return f"sweep-{datetime.now():%m%d-%H%M%S}"


def clock(seconds: float) -> str:
    """1:02, 12:30, 1:05:00."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def value_text(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


@dataclass
class Row:
    """One trial as the leaderboard shows it (MAE in riders)."""

    trial: int
    run_id: int | None
    status: str  # running | finished | pruned | stopped | failed | interrupted
    params: dict[str, Any]
    objective: float | None = None
    valid: float | None = None
    test: float | None = None
    naive_ratio: float | None = None
    gbm_ratio: float | None = None
    epochs: str = "-"
    checkpoint: bool = False
    reason: str = ""


def trial_row(t: TrialRow) -> Row:
    d, run = t.to_dict(), t.run
    valid = finite(d["valid_mae_riders"])
    gbm = finite(((run.scores or {}).get("valid") or {}).get("gbm_mae"))
    return Row(
        t.trial,
        run.run_id,
        t.status,
        dict(t.params),
        finite(t.value),
        valid,
        finite(d["test_mae_riders"]),
        finite(d["valid_ratio"]),
        valid / gbm if valid is not None and gbm else None,
        f"{d['epochs_done']}/{d['epochs_planned']}",
        run.checkpoint is not None,
        run.reason or "",
    )


@dataclass
class Live:
    """A trial this app's sweep runs now, from its events."""

    params: dict[str, Any]
    started: float  # time.monotonic()
    epoch: int = 0
    epochs: int = 0
    valid: float | None = None  # riders, the latest epoch's


@dataclass
class Progress:
    """The sweep this pane follows: its budget, and the trials of this session as they end."""

    name: str
    objective: str
    trials: int | None
    workers: int
    started: float = field(default_factory=time.monotonic)
    done_before: int = 0
    done: int = 0  # trials of this session that ended and count (complete, pruned, failed)
    durations: list[float] = field(default_factory=list)
    live: dict[int, Live] = field(default_factory=dict)
    status: str = "starting"  # starting | running | stopping | finished | stopped | failed
    ended_at: float | None = None
    recorded: bool = False  # a sweep found in the store, not one this app runs
    why: str = ""  # why it failed, kept in the status line (a notification goes away)

    def line(self) -> str:
        ended = self.done_before + self.done
        of = f"/{self.trials}" if self.trials else ""
        if self.recorded:
            return f"{ended}{of} trials ended (recorded; g starts a new sweep)"
        now = self.ended_at or time.monotonic()
        parts = [f"trial {ended}{of} done", f"{len(self.live)} running", f"elapsed {clock(now - self.started)}"]
        if self.status in ("starting", "running") and self.trials:
            left = max(self.trials - ended, 0)
            if self.durations:
                mean = sum(self.durations) / len(self.durations)
                parts.append(f"ETA ~{clock(mean * left / max(self.workers, 1))}")
            elif left:
                parts.append("ETA after the first trial")
        return ", ".join(parts)

    def apply(self, event: ev.SweepEvent, now: float | None = None) -> bool:
        """Follow one of the sweep's events (engine.sweep.events); True when the stored board
        should be read again (a trial's run was recorded, or a trial ended)."""
        from engine.sweep import events as ev  # with the first event, not with the first screen

        now = time.monotonic() if now is None else now
        if isinstance(event, ev.SweepStarted):
            self.status, self.done_before = "running", event.done_before
            self.workers = event.workers or self.workers
        elif isinstance(event, ev.TrialStarted):
            self.live[event.trial] = Live(dict(event.params or {}), now)
        elif isinstance(event, ev.TrialEpoch):
            live = self.live.get(event.trial)
            if live is not None:
                first = not live.epoch  # its run is recorded by now: read the board for its id
                live.epoch, live.epochs, live.valid = event.epoch, event.epochs, finite(event.valid_mae)
                return first
        elif isinstance(event, ev.TrialDone):
            live = self.live.pop(event.trial, None)
            if event.state != "stopped":  # a trial the stop cut short does not count
                self.done += 1
                if live is not None:
                    self.durations.append(now - live.started)
            return True
        elif isinstance(event, ev.SweepStopping):
            self.status = "stopping"
        elif isinstance(event, ev.SweepDone):
            self.live.clear()
        return False


def live_row(trial: int, live: Live, run_id: int | None) -> Row:
    return Row(
        trial,
        run_id,
        "running",
        live.params,
        valid=live.valid,
        epochs=f"{live.epoch}/{live.epochs}" if live.epochs else "-",
    )


def board_rows(board: SweepSummary | None, live: dict[int, Live]) -> list[Row]:
    """The leaderboard, best objective first (engine.sweep.records.leaderboard), with the running
    trials as their events last said (newer than the store), then those not stored yet."""
    from engine.sweep.records import leaderboard

    rows, seen = [], set()
    for t in leaderboard(board) if board else []:
        seen.add(t.trial)
        rows.append(live_row(t.trial, live[t.trial], t.run.run_id) if t.trial in live else trial_row(t))
    rows += [live_row(n, lv, None) for n, lv in sorted(live.items()) if n not in seen]
    return rows


def searched_names(rows: list[Row]) -> list[str]:
    """The searched settings, in the order the trials name them."""
    out: list[str] = []
    for row in sorted(rows, key=lambda r: r.trial):
        out += [k for k in row.params if k not in out]
    return out


def columns(rows: list[Row], objective: str, narrow: bool) -> list[tuple[str, str]]:
    """The leaderboard's (key, header) columns."""
    names = searched_names(rows)
    cols = [("trial", "#" if narrow else "trial"), ("run", "run"), ("status", "status")]
    if narrow:  # on 80 columns the last column may be cut: the epochs come first there
        cols.append(("epochs", "ep"))
    cols += [(f"p:{n}", n.replace("_size", "").replace("_length", "") if narrow else n) for n in names]
    if objective != "valid":  # "valid" is the valid MAE column itself
        cols.append(("objective", "obj" if narrow else objective))
    cols += [
        ("valid", "valid" if narrow else "valid MAE"),
        ("test", "test" if narrow else "test MAE"),
        ("naive", "v/naive" if narrow else "valid/naive"),
    ]
    if any(r.gbm_ratio is not None for r in rows):
        cols.append(("gbm", "v/LGBM" if narrow else "valid/LightGBM"))
    if not narrow:
        searched = "epochs" in names  # then "epochs" names the searched setting's column
        cols.append(("epochs", "done" if searched else "epochs"))
    return cols


def objective_text(value: float | None, objective: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if objective.endswith("ratio") else format_riders(value)


def cell_texts(row: Row, keys: list[str], objective: str) -> list[str]:
    """The row's cells for the columns ``keys``: MAE in riders, ratios with 2 decimals."""
    values = {
        "trial": str(row.trial),
        "run": str(row.run_id) if row.run_id is not None else "-",
        "status": row.status,
        "objective": objective_text(row.objective, objective),
        "valid": format_riders(row.valid) if row.valid is not None else "-",
        "test": format_riders(row.test) if row.test is not None else "-",
        "naive": ratio(row.naive_ratio),
        "gbm": ratio(row.gbm_ratio),
        "epochs": row.epochs,
    }
    out = []
    for key in keys:
        if key.startswith("p:"):
            v = row.params.get(key[2:])
            out.append(value_text(v) if v is not None else "-")
        else:
            out.append(values[key])
    return out


def status_text(p: Progress | None, rows: list[Row], idle: str) -> str:
    if p is None:
        return idle
    state = {"starting": "starting (the trial processes load torch)", "stopping": "stopping"}.get(p.status, p.status)
    text = f"Sweep {safe_text(p.name)} {state}: {p.line()}"  # a name from the store: escaped
    best = min((r for r in rows if r.objective is not None), key=lambda r: r.objective, default=None)
    if best is not None:
        text += f" · best trial {best.trial} (run {best.run_id}): {p.objective} {objective_text(best.objective, p.objective)}"
    if p.status == "failed" and p.why:
        text += f" · {safe_text(p.why)}"
    return text
