"""Backtest pane: the model's forecasts against the actual riders over the validation and test
splits, beside the naive forecast (same day last week), and the errors per day type; under the chart,
the errors per kind of day over the whole splits (kinds_text: W, A, U, U on Monday-Friday, minor
holidays, school breaks), rail and bus, beside naive and LightGBM.

The backtest itself (a forward pass over every window of the two splits) is the app's: it runs it
in a thread worker whenever the model in use or the data changes, and when this pane asks for it
(``Requested``: b, or the command palette), then hands the result to ``show_result``. The chart
and the table show a date range the user can narrow (zoom) and widen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Select

from engine.domain import DAY_TYPE_NAMES, DAY_TYPE_ORDER, format_riders
from engine.formatting import SPLIT_LABELS

from ..format import explain, parse_bound
from . import lazy
from .charts import Chart, Series
from .inline_error import show_inline_error
from .text import Label, Static

if TYPE_CHECKING:  # numpy and pandas load with the data, after the first screen
    import numpy as np
    import pandas as pd

MAX_DAYS_UNBINNED = 200  # beyond this the chart shows 7-day means (every bin holds each weekday once)
WORST_DAYS = 3


@dataclass(frozen=True)
class Days:
    """The days of one or more splits, concatenated in date order (riders)."""

    split: np.ndarray  # split name of each day
    dates: pd.DatetimeIndex
    day_types: np.ndarray
    actual: np.ndarray  # (days, 2): rail, bus
    pred: np.ndarray
    naive: np.ndarray

    @classmethod
    def of(cls, result: dict) -> Days:
        import numpy as np
        import pandas as pd

        parts = list(result.values())

        def stack(a: str, b: str) -> np.ndarray:
            return np.column_stack(
                [np.concatenate([getattr(p, a) for p in parts]), np.concatenate([getattr(p, b) for p in parts])]
            ).astype(np.float64)

        days = cls(
            split=np.concatenate([[p.split] * len(p) for p in parts]).astype(object),
            dates=pd.DatetimeIndex(np.concatenate([p.dates for p in parts])),
            day_types=np.concatenate([p.day_types for p in parts]).astype(object),
            actual=stack("actual_rail", "actual_bus"),
            pred=stack("pred_rail", "pred_bus"),
            naive=stack("naive_rail", "naive_bus"),
        )
        order = np.argsort(days.dates.to_numpy(), kind="stable")
        return days.take(order)

    def take(self, rows) -> Days:
        return Days(
            self.split[rows],
            self.dates[rows],
            self.day_types[rows],
            self.actual[rows],
            self.pred[rows],
            self.naive[rows],
        )

    def __len__(self) -> int:
        return len(self.dates)


def error_rows(days: Days, splits: list[str]) -> list:
    """engine.scoring.ErrorSummary per split and day type (W, A, U, all) over ``days``."""
    from engine.scoring import summarize  # loaded with the backtest that produced ``days``

    rows = []
    for name in splits:
        in_split = days.split == name
        if not in_split.any():
            continue
        for kind in (*DAY_TYPE_ORDER, "all"):
            keep = in_split if kind == "all" else in_split & (days.day_types == kind)
            if keep.any():
                rows.append((name, summarize(kind, days.actual[keep], days.pred[keep], days.naive[keep])))
    return rows


def ratio_text(model: float, naive: float, width: int) -> str:
    """model/naive with a mark that does not rely on colour: ✗ where the naive forecast does better."""
    import numpy as np

    if not naive or not np.isfinite(model) or not np.isfinite(naive):
        return "n/a".rjust(width)
    ratio = model / naive
    text = f"{ratio:.2f}".rjust(width)
    return f"[$text-error]{text} ✗[/]" if ratio >= 1 else f"[$text-success]{text} ✓[/]"


def table_text(rows: list) -> str:
    # 77 columns: fits an 80-column terminal.
    head = (
        f"{'split':<5} {'day type':<16} {'days':>4} {'model MAE':>9} {'naive MAE':>9} "
        f"{'model/naive':>11} {'rail m/n':>8} {'bus m/n':>8}"
    )
    lines = [f"[b]{head}[/b]"]
    last_split = None
    for split, s in rows:
        label = "all days" if s.day_type == "all" else f"{s.day_type} {DAY_TYPE_NAMES[s.day_type]}"
        lines.append(
            f"{split if split != last_split else '':<5} {label:<16} {s.count:>4} {format_riders(s.mae):>9} "
            f"{format_riders(s.naive_mae):>9} {ratio_text(s.mae, s.naive_mae, 9)} "
            f"{ratio_text(s.rail_mae, s.naive_rail_mae, 6)} {ratio_text(s.bus_mae, s.naive_bus_mae, 6)}"
        )
        last_split = split
    return "\n".join(lines)


KIND_LABELS = {
    "W": "W weekday",
    "A": "A Saturday",
    "U": "U Sun/holiday",
    "U weekday": "U on Mon-Fri",
    "minor": "minor holiday",
    "school": "school break",
}


def kinds_text(result: dict) -> str:
    """Per split and kind of day (engine.daytypes.KINDS) over the whole splits: days, then rail and
    bus MAE each with its ratio to the naive forecast and to LightGBM ("-" without the reference)."""
    import math

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b and math.isfinite(a) and math.isfinite(b) else "-"

    lines = [
        "Errors by kind of day, whole splits (riders; /naive, /LGBM: the model's MAE over theirs)",
        f"{'split':<5} {'kind':<13} {'days':>4} {'rail MAE':>8} {'/naive':>6} {'/LGBM':>6} "
        f"{'bus MAE':>8} {'/naive':>6} {'/LGBM':>6}",
    ]
    for name, split in result.items():
        label = SPLIT_LABELS.get(name, name)[:5]
        for kind, e in getattr(split, "by_kind", {}).items():
            cells = []
            for series in ("rail", "bus"):
                mae = getattr(e, f"{series}_mae")
                cells += [
                    f"{format_riders(mae):>8}",
                    f"{ratio(mae, getattr(e, f'naive_{series}_mae')):>6}",
                    f"{ratio(mae, getattr(e, f'gbm_{series}_mae')):>6}",
                ]
            lines.append(f"{label:<5} {KIND_LABELS.get(kind, kind):<13} {e.count:>4} " + " ".join(cells))
            label = ""
    return "\n".join(lines)


def failure_text(rows: list, days: Days, series: int, series_name: str) -> str:
    """Where the model does worst: the day type with the highest model/naive ratio, and the days
    with the largest errors of the series shown."""
    import numpy as np

    typed = [(split, s) for split, s in rows if s.day_type != "all" and s.naive_mae]
    parts = []
    if typed:
        split, worst = max(typed, key=lambda r: r[1].ratio)
        parts.append(
            f"Worst day type: {split} {worst.day_type} ({DAY_TYPE_NAMES[worst.day_type]}), "
            f"{worst.ratio:.2f}x the naive error over {worst.count} days."
        )
    if len(days):
        err = np.abs(days.pred[:, series] - days.actual[:, series])
        top = np.argsort(-err, kind="stable")[:WORST_DAYS]
        listed = " · ".join(f"{days.dates[i]:%Y-%m-%d} {days.day_types[i]} {format_riders(err[i])}" for i in top)
        parts.append(f"Largest {series_name} errors: {listed}")
    return "\n".join(parts)


class BacktestPane(VerticalScroll, can_focus=True):
    """Chart (actual, model, naive) over a date range, and the errors per split and day type."""

    DEFAULT_CSS = """
    /* Scrolls (arrows, page keys) where the chart would get too small, as on 24 lines. */
    BacktestPane { height: 1fr; scrollbar-size-vertical: 1; }
    BacktestPane #bt-status { height: auto; }
    BacktestPane #bt-controls { height: 1; }
    BacktestPane #bt-controls Input { width: 12; }
    BacktestPane #bt-series { width: 12; }
    BacktestPane #bt-range-error { height: auto; }
    BacktestPane #bt-chart { height: 1fr; min-height: 12; }
    BacktestPane #bt-table { height: auto; }
    BacktestPane #bt-worst { height: auto; }
    BacktestPane #bt-kinds { height: auto; margin-top: 1; }
    """

    NO_MODEL = (
        "No trained model yet: train one first (3 opens Training, t starts a run). "
        "A backtest needs a run that finished at least one epoch."
    )

    BINDINGS = [
        Binding("b", "backtest", "Backtest"),
        Binding("v", "toggle_series", "Rail/bus"),
        Binding("z", "whole_range", "Whole range"),
    ]

    class Requested(Message):
        """Backtest the model in use again (the app answers with show_result, or says why not)."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.result: dict | None = None  # split name -> engine.scoring.SplitBacktest
        self.days: Days | None = None
        self._label = ""

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        yield Static(
            "No backtest yet: train a model (3, then t); its validation and test days show here.",
            id="bt-status",
            markup=False,
        )
        with Horizontal(id="bt-controls"):
            yield Label("Series ")
            yield Select(
                [("rail", "rail"), ("bus", "bus")], value="rail", allow_blank=False, compact=True, id="bt-series"
            )
            yield Label("  Zoom from ")
            yield Input("", placeholder="first day", id="bt-from", compact=True)
            yield Label(" to ")
            yield Input("", placeholder="last day", id="bt-to", compact=True)
            yield Label("  YYYY-MM(-DD)", classes="bt-hint")  # z, v and b: in the footer and ? help
        yield Static("", id="bt-range-error", classes="-error", markup=False)
        # The errors first: on 24 lines they are above the fold, the chart below them.
        yield Static("", id="bt-table")
        yield Static("", id="bt-worst", markup=False)
        yield Chart("Actual, model and naive forecasts", id="bt-chart", thousands=True)
        yield Static("", id="bt-kinds", markup=False)

    # -- asking the app, and its answers ----------------------------------------------------------
    def action_backtest(self) -> None:
        self.post_message(self.Requested())

    def show_status(self, text: str, error: bool = False) -> None:
        """Where the backtest stands (running, or why it cannot run)."""
        self._status(text, error)

    def show_error(self, error: BaseException | None) -> None:
        self._status(f"Could not backtest: {explain(error)}", error=True)

    def clear(self, text: str) -> None:
        """No model in use: no backtest shown, ``text`` says why."""
        self.result, self.days, self._label = None, None, ""
        self._clear_drawn()
        self._status(text)

    @lazy.drawn
    def _clear_drawn(self) -> None:
        self.query_one("#bt-table", Static).update("")
        self.query_one("#bt-worst", Static).update("")
        self.query_one("#bt-chart", Chart).draw([])

    # -- showing ------------------------------------------------------------------------------------
    def show_result(self, result: dict, label: str) -> None:
        """``result``: split name -> engine.scoring.SplitBacktest; ``label`` says whose model it is."""
        self.result = result
        self.days = Days.of(result)
        self._label = label
        spans = []
        for name, split in result.items():
            if len(split):
                spans.append(f"{name} {split.dates[0]}..{split.dates[-1]} ({len(split)} days)")
            else:
                spans.append(f"{name}: no days")
        self._status(f"{label}\n" + " · ".join(spans) + " · dates from the run's settings")
        self._kinds(kinds_text(result))
        self.redraw()

    @lazy.drawn
    def _kinds(self, text: str) -> None:
        self.query_one("#bt-kinds", Static).update(text)

    @property
    def series(self) -> str:
        return str(self.query_one("#bt-series", Select).value)

    def action_toggle_series(self) -> None:
        select = self.query_one("#bt-series", Select)
        select.value = "bus" if select.value == "rail" else "rail"

    def action_whole_range(self) -> None:
        with self.prevent(Input.Changed):
            self.query_one("#bt-from", Input).value = ""
            self.query_one("#bt-to", Input).value = ""
        self.redraw()

    def zoom(self, start: str, end: str) -> None:
        """Show ``start``..``end`` (YYYY, YYYY-MM or YYYY-MM-DD; empty: the first or last day)."""
        with self.prevent(Input.Changed):
            self.query_one("#bt-from", Input).value = start
            self.query_one("#bt-to", Input).value = end
        self.redraw()

    @on(Select.Changed, "#bt-series")
    @on(Input.Changed, "#bt-from, #bt-to")
    def _controls_changed(self, event) -> None:
        event.stop()
        self.redraw()

    def visible_days(self) -> Days:
        """The days in the zoom range; ValueError says why a range is unusable."""
        import numpy as np

        days = self.days
        if days is None or not len(days):
            raise ValueError("the backtest has no days")
        start_text = self.query_one("#bt-from", Input).value.strip()
        end_text = self.query_one("#bt-to", Input).value.strip()
        start = parse_bound(start_text, end=False) if start_text else days.dates[0]
        end = parse_bound(end_text, end=True) if end_text else days.dates[-1]
        if start > end:
            raise ValueError(f"from {start:%Y-%m-%d} is after to {end:%Y-%m-%d}")
        keep = (days.dates >= start) & (days.dates <= end)
        if not keep.any():
            raise ValueError(
                f"no backtest days between {start:%Y-%m-%d} and {end:%Y-%m-%d} (the backtest covers "
                f"{days.dates[0]:%Y-%m-%d}..{days.dates[-1]:%Y-%m-%d})"
            )
        return days.take(np.flatnonzero(keep))

    @lazy.drawn
    def redraw(self) -> None:
        if self.days is None:
            return
        error = self.query_one("#bt-range-error", Static)
        try:
            days = self.visible_days()
        except ValueError as exc:
            show_inline_error(error, exc)
            return
        show_inline_error(error, None)
        series_name = self.series
        column = 0 if series_name == "rail" else 1
        self._draw_chart(days, column, series_name)
        rows = error_rows(days, list(self.result))
        span = f"{days.dates[0]:%Y-%m-%d}..{days.dates[-1]:%Y-%m-%d}"
        zoomed = len(days) < len(self.days)
        # The table's own markup (bold header, ✓/✗ colours) around numbers and fixed words only.
        self.query_one("#bt-table", Static).update(
            Content.from_markup(
                f"Errors by day type (riders, both series), {span}{' (zoomed)' if zoomed else ''} · naive = same day "
                f"last week · ✓ beats it\n" + table_text(rows)
            )
        )
        self.query_one("#bt-worst", Static).update(failure_text(rows, days, column, series_name))

    def _draw_chart(self, days: Days, column: int, series_name: str) -> None:
        import numpy as np
        import pandas as pd

        offsets = ((days.dates - days.dates[0]) // pd.Timedelta(days=1)).to_numpy()
        values = {"naive": days.naive[:, column], "model": days.pred[:, column], "actual": days.actual[:, column]}
        # Segments end where the split changes or days are missing (a split's windows skip its first
        # days), so no line is drawn across a gap.
        breaks = np.flatnonzero((np.diff(offsets) > 1) | (days.split[1:] != days.split[:-1])) + 1
        bounds = list(zip([0, *breaks.tolist()], [*breaks.tolist(), len(days)]))
        step = 7 if len(days) > MAX_DAYS_UNBINNED else 1
        segments = []  # (x, {name: y}) per segment
        for a, b in bounds:
            if step > 1:  # weekly means (thinning would alias the weekly cycle into a false pattern),
                full = (b - a) // step * step  # in whole weeks, so every bin has each weekday once
                if not full:
                    continue
                x = offsets[a : a + full : step] + (step - 1) / 2
                ys = {k: v[a : a + full].reshape(-1, step).mean(axis=1) for k, v in values.items()}
            else:
                x, ys = offsets[a:b], {k: v[a:b] for k, v in values.items()}
            segments.append(([float(v) for v in x], ys))
        lines = []
        # The model over the actual riders (it is what is judged), the naive forecast beneath both.
        for label, color in (("naive", "gray"), ("actual", "blue"), ("model", "orange")):
            for n, (x, ys) in enumerate(segments):
                lines.append(Series(x, [float(v) / 1e3 for v in ys[label]], label if n == 0 else "", color))
        # Where a new split starts inside the range: a vertical line, named in the legend.
        drawn = [y for s in lines for y in s.y]
        for i in np.flatnonzero(days.split[1:] != days.split[:-1]) + 1:
            at = float(offsets[i])
            lines.append(
                Series(
                    [at, at],
                    [min(drawn), max(drawn)],
                    f"{SPLIT_LABELS.get(days.split[i], days.split[i])} from {days.dates[i]:%Y-%m-%d}",
                    "magenta",
                )
            )  # not the naive forecast's grey
        chart = self.query_one("#bt-chart", Chart)
        chart.set_title(
            f"{series_name.capitalize()} riders per day, thousands"
            f"{' (7-day means; zoom in for single days)' if step > 1 else ''}"
        )
        chart.draw(lines, xticks=day_ticks(days.dates[0], int((days.dates[-1] - days.dates[0]).days)))

    @lazy.drawn
    def _status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#bt-status", Static)
        widget.update(text)
        widget.set_class(error, "-error")


def day_ticks(first: pd.Timestamp, span: int, count: int = 5) -> tuple[list[float], list[str]]:
    """Ticks spread evenly over the days (not over the rows, which skip the gaps between splits)."""
    import numpy as np
    import pandas as pd

    offsets = sorted({int(round(v)) for v in np.linspace(0, span, count)})
    return [float(v) for v in offsets], [f"{first + pd.Timedelta(days=v):%Y-%m-%d}" for v in offsets]
