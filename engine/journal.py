"""The forecast journal: every forecast made is recorded in the run store, and once the data holds the
actual riders of its day, scored: its error, whether its interval held the actual value, and per
model the MAE and interval coverage over the days it forecast, beside the naive forecast on the
same days.

The naive forecast a model is compared with is the one that could have been made at the same
moment: the last known same weekday (7 days before the target for forecasts 1..7 days ahead, 14 for
8..14 days ahead, ...), the "repeat last week" baseline of engine/scoring.py for one day ahead.
All values are riders.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import pandas as pd

from .domain import format_riders

SERIES = ("rail", "bus")


def record_forecast(
    store,
    run_id: int | None,
    forecasts,
    bands=None,
    *,
    data_last,
    model: str = "",
    level: float | None = None,
    origin: str = "cli",
    made_at: str | None = None,
) -> list[int]:
    """Record ``forecasts`` (engine.forecast.Forecast, day 1 first) with their intervals ``bands``
    (engine.assessment.bounds per day) in one transaction; return the journal ids. A forecast
    already recorded (same model, data, day, day type and values) is not recorded twice."""
    made_at = made_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    data_last = pd.Timestamp(data_last)
    bands = list(bands or [{}] * len(forecasts))
    ids = []
    with store._write() as conn:  # the store's one-transaction writer (engine/store/runstore.py)
        for f, band in zip(forecasts, bands):
            key = (
                model or (f"run {run_id}" if run_id is not None else ""),
                f"{data_last:%Y-%m-%d}",
                f"{f.date:%Y-%m-%d}",
                f.day_type,
                float(f.rail),
                float(f.bus),
            )
            same = conn.execute(  # the same forecast made again (the app re-forecasts on each view) is kept once
                "SELECT id FROM forecasts WHERE model = ? AND data_last = ? AND target_date = ? AND day_type = ? "
                "AND rail = ? AND bus = ?",
                key,
            ).fetchone()
            if same:
                ids.append(same[0])
                continue
            cur = conn.execute(
                "INSERT INTO forecasts (made_at, run_id, model, origin, data_last, target_date, horizon, day_type, "
                "rail, bus, level, rail_low, rail_high, bus_low, bus_high) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    made_at,
                    run_id,
                    model or (f"run {run_id}" if run_id is not None else ""),
                    origin,
                    f"{data_last:%Y-%m-%d}",
                    f"{f.date:%Y-%m-%d}",
                    int((f.date - data_last).days),
                    f.day_type,
                    float(f.rail),
                    float(f.bus),
                    level,
                    *(band.get(k) for k in ("rail_low", "rail_high", "bus_low", "bus_high")),
                ),
            )
            ids.append(cur.lastrowid)
    return ids


def recorded(store) -> list[dict]:
    """Every journal row, oldest first."""
    return store._read("SELECT * FROM forecasts ORDER BY made_at, id")


@dataclass(frozen=True)
class Entry:
    """One forecast day and, once known, how it turned out (riders; None while the day is not in the data)."""

    id: int
    made_at: str
    run_id: int | None
    model: str
    origin: str
    data_last: str
    target_date: str
    horizon: int
    day_type: str
    forecast: dict  # rail, bus
    interval: dict  # rail_low, rail_high, bus_low, bus_high (empty when none was recorded)
    level: float | None
    actual: dict | None = None
    error: dict | None = None  # forecast - actual
    held: dict | None = None  # series -> the interval held the actual value
    naive: dict | None = None  # the naive forecast of the same day, made with the same data

    @property
    def model_key(self) -> str:
        return self.model or (f"run {self.run_id}" if self.run_id is not None else "?")


@dataclass(frozen=True)
class ModelScore:
    model: str
    days: int  # forecasts with an actual value
    pending: int  # forecasts whose day is not in the data yet
    mae: float  # both series together, riders
    rail_mae: float
    bus_mae: float
    naive_mae: float  # on the same days
    coverage: float | None  # share of (day, series) the interval held; None without intervals

    @property
    def ratio(self) -> float:
        return self.mae / self.naive_mae if self.naive_mae else math.nan

    def line(self) -> str:
        """One line: e.g. "run 3: 11 days: MAE 12,345 (rail .., bus ..), naive 15,000 on the same days
        (model/naive 0.82); intervals held 86% of 22 values"."""
        r = format_riders
        if not self.days:
            return f"{self.model}: no day known yet ({self.pending} pending)"
        cov = f"; intervals held {self.coverage:.0%} of {2 * self.days} values" if self.coverage is not None else ""
        ratio = f" (model/naive {self.ratio:.2f})" if not math.isnan(self.ratio) else ""
        pending = f", {self.pending} pending" if self.pending else ""
        worse = "; worse than naive" if self.ratio > 1 else ""
        return (
            f"{self.model}: {self.days} day{'s' if self.days != 1 else ''}{pending}: MAE {r(self.mae)} "
            f"(rail {r(self.rail_mae)}, bus {r(self.bus_mae)}), naive {r(self.naive_mae)} on the same days"
            f"{ratio}{cov}{worse}"
        )


@dataclass
class Journal:
    entries: list[Entry]
    models: list[ModelScore] = field(default_factory=list)

    def to_dict(self) -> dict:
        def clean(d: dict) -> dict:
            return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}

        return {
            "forecasts": [asdict(e) for e in self.entries],
            "models": [clean({**asdict(m), "ratio": m.ratio}) for m in self.models],
        }


def naive_lag(horizon: int) -> int:
    """Days back to the last same weekday known when a forecast ``horizon`` days ahead was made."""
    return 7 * max(1, math.ceil(horizon / 7))


def evaluate(rows: list[dict], frame: pd.DataFrame) -> Journal:
    """Score the journal's rows against the actual riders in ``frame`` (index date; bus, rail)."""
    entries = []
    for row in rows:
        target = pd.Timestamp(row["target_date"])
        forecast = {s: row[s] for s in SERIES}
        interval = {k: row[k] for k in ("rail_low", "rail_high", "bus_low", "bus_high") if row.get(k) is not None}
        extra = {}
        if target in frame.index:
            actual = {s: float(frame.at[target, s]) for s in SERIES}
            extra["actual"] = actual
            extra["error"] = {s: forecast[s] - actual[s] for s in SERIES}
            if len(interval) == 4:
                extra["held"] = {s: bool(interval[f"{s}_low"] <= actual[s] <= interval[f"{s}_high"]) for s in SERIES}
            before = target - pd.Timedelta(days=naive_lag(int(row["horizon"])))
            if before in frame.index:
                extra["naive"] = {s: float(frame.at[before, s]) for s in SERIES}
        entries.append(
            Entry(
                id=row["id"],
                made_at=row["made_at"],
                run_id=row["run_id"],
                model=row["model"],
                origin=row["origin"],
                data_last=row["data_last"],
                target_date=row["target_date"],
                horizon=int(row["horizon"]),
                day_type=row["day_type"],
                forecast=forecast,
                interval=interval,
                level=row["level"],
                **extra,
            )
        )
    return Journal(entries, summarize(entries))


def summarize(entries: list[Entry]) -> list[ModelScore]:
    """Per model (in order of first forecast): MAE and coverage over its forecast days with an actual
    value and a naive forecast, beside the naive MAE on the same days."""
    order: dict[str, list[Entry]] = {}
    for e in entries:
        order.setdefault(e.model_key, []).append(e)
    out = []
    for model, group in order.items():
        scored = [e for e in group if e.actual is not None and e.naive is not None]
        pending = sum(e.actual is None for e in group)
        if not scored:
            out.append(ModelScore(model, 0, pending, math.nan, math.nan, math.nan, math.nan, None))
            continue
        per = {s: sum(abs(e.error[s]) for e in scored) / len(scored) for s in SERIES}
        naive = sum(abs(e.naive[s] - e.actual[s]) for e in scored for s in SERIES) / (2 * len(scored))
        held = [v for e in scored if e.held for v in e.held.values()]
        out.append(
            ModelScore(
                model,
                len(scored),
                pending,
                (per["rail"] + per["bus"]) / 2,
                per["rail"],
                per["bus"],
                naive,
                sum(held) / len(held) if held else None,
            )
        )
    return out


def journal(store, frame: pd.DataFrame) -> Journal:
    return evaluate(recorded(store), frame)
