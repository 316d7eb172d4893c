"""Multi-day forecast: the next k days (1..28) after the data, each forecast fed back as the next
window's last day, with the calendar's day types unless the user sets a day's type.

A table lists the days (date, weekday, day type, rail, bus) and a chart continues the last eight
weeks of actual riders with the forecast. The forecast itself is the app's: this view asks for it
(``Requested``, with the days and the day types chosen) and the app runs it in a thread worker with
the model in use, then hands the days to ``show_forecasts``. The app tells the view whether there
is a model (``set_model``) and which data follows (``set_data``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from engine.domain import MAX_FORECAST_DAYS, format_riders

from ..format import HISTORY_DAYS, date_ticks, explain
from . import lazy
from .charts import Chart, Series
from .inline_error import show_inline_error
from .text import Label, Static

if TYPE_CHECKING:  # numpy and pandas load with the data, after the first screen
    import pandas as pd

    from engine.data import RidershipData

DEFAULT_DAYS = 7
NARROW = 100  # columns: below this the summary under the controls is one row a line
OVERRIDE_KEYS = Binding.Group("Row's type", compact=True)  # short: the footer holds 80 columns


def parse_days(text: str) -> int:
    """The number of days typed, or ValueError with the reason shown under the field."""
    text = text.strip()
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"days must be a whole number from 1 to {MAX_FORECAST_DAYS}, got {text!r}") from None
    if not 1 <= days <= MAX_FORECAST_DAYS:
        raise ValueError(
            f"days must be from 1 to {MAX_FORECAST_DAYS} (beyond four weeks the forecasts feed almost "
            f"only on earlier forecasts), got {days}"
        )
    return days


class MultiDayView(Vertical):
    """Days field, the table of days, and the chart; w a u c set the day type of the selected row."""

    DEFAULT_CSS = """
    MultiDayView { height: 1fr; }
    MultiDayView #md-controls { height: 1; }
    MultiDayView #md-days { width: 6; }
    MultiDayView #md-error { height: auto; }
    MultiDayView #md-status { height: auto; }
    MultiDayView #md-body { height: 1fr; }
    MultiDayView #md-table { width: 47; height: 1fr; margin-right: 1; }
    MultiDayView #md-chart { width: 1fr; height: 1fr; min-height: 6; }
    """

    BINDINGS = [
        Binding("f", "forecast", "Forecast days"),
        Binding("m", "app.forecast_view('next')", "Next day"),  # back to the Forecast pane's next day
        Binding("w", "set_type('W')", "Weekday", group=OVERRIDE_KEYS),
        Binding("a", "set_type('A')", "Saturday", group=OVERRIDE_KEYS),
        Binding("u", "set_type('U')", "Sunday/holiday", group=OVERRIDE_KEYS),
        Binding("c", "set_type('calendar')", "Calendar's", group=OVERRIDE_KEYS),
    ]

    NO_MODEL = (
        "No trained model yet: train one first (3 opens Training, t starts a run). "
        "A forecast needs a run that finished at least one epoch."
    )

    class Requested(Message):
        """Forecast ``days`` days with the model in use; ``overrides``: YYYY-MM-DD -> the day type
        chosen for that day (the others: the calendar's)."""

        def __init__(self, days: int, overrides: dict[str, str]) -> None:
            super().__init__()
            self.days = days
            self.overrides = overrides

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.model: str | None = None  # the model in use, in words (format.model_label); None: none yet
        self.data: RidershipData | None = None
        self.days = DEFAULT_DAYS
        self.dates: list[pd.Timestamp] = []
        self.calendar: list[str] = []  # the calendar's day type of each date
        self.overrides: dict[str, str] = {}  # YYYY-MM-DD -> the day type the user chose
        self.forecasts: list = []  # engine.forecast.Forecast of the days shown, once forecast
        self.bands: list[dict[str, float]] = []  # each forecast's interval (rail_low ... bus_high, riders)
        self.trust = None  # engine.assessment.Assessment of the model in use (level, coverage)
        self._model_said = ""  # whose model made the forecasts shown
        self._why = ""  # why there is no model in use (the app's words; "" before it said)

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        with Horizontal(id="md-controls"):
            yield Label("Days ")
            yield Input(str(DEFAULT_DAYS), id="md-days", compact=True)
            # One line at 80 columns; the keys are in the footer and the help screen (?).
            yield Label(f"  1..{MAX_FORECAST_DAYS} · Enter: forecast · w a u c: a row's type", classes="md-hint")
        yield Static("", id="md-error", classes="-error", markup=False)
        yield Static(
            "No multi-day forecast yet: train a model (3, then t), then press f here.", id="md-status", markup=False
        )
        with Horizontal(id="md-body"):
            table = DataTable(id="md-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield Chart(
                f"Last {HISTORY_DAYS // 7} weeks and the forecast, riders, thousands", id="md-chart", thousands=True
            )

    @lazy.drawn
    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("date", 10), ("day", 3), ("type", 4), ("rail", 9), ("bus", 9)):
            table.add_column(
                Text(label, justify="right") if label in ("rail", "bus") else label, width=width, key=label
            )
        self.query_one("#md-error", Static).display = False

    # -- inputs from the app -----------------------------------------------------------------------
    def set_data(self, data: RidershipData) -> None:
        """New data: the forecast starts the day after it; the chart shows its last weeks."""
        self.data = data
        self.forecasts, self.bands = [], []
        self._lay_out_days()
        if self.model is not None:
            self.action_forecast()
        else:
            self._draw_chart()

    def set_model(self, label: str | None, why: str = "") -> None:
        """The model in use changed (``label``: whose it is; None: no model, ``why`` says so in the
        app's words): forecast with it."""
        self.model = label
        self._why = why
        if label is not None:
            self.action_forecast()
            return
        # No model: another model's forecast must not stay on screen, and the line says why.
        self.forecasts, self.bands = [], []
        self._fill_table()
        self._draw_chart()
        self.show_status(why or self.NO_MODEL)

    # -- days and day types ---------------------------------------------------------------------------
    @on(Input.Changed, "#md-days")
    def _days_changed(self, event: Input.Changed) -> None:
        """Check as the user types; the days change on Enter (or f), not at every keystroke."""
        event.stop()
        self._checked_days()

    def _checked_days(self) -> int | None:
        if not lazy.is_built(self):
            return self.days  # the field holds them until the user can type there
        error = self.query_one("#md-error", Static)
        try:
            days = parse_days(self.query_one("#md-days", Input).value)
        except ValueError as exc:
            show_inline_error(error, exc)
            return None
        show_inline_error(error, None)
        return days

    @on(Input.Submitted, "#md-days")
    def _days_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_forecast()

    def _lay_out_days(self) -> None:
        """Dates and calendar day types of the days asked for (the table before any forecast)."""
        import pandas as pd

        if self.data is None:
            return
        first = self.data.last_date + pd.Timedelta(days=1)
        self.dates = list(pd.date_range(first, periods=self.days, freq="D"))
        from engine.data.calendar import infer_day_types

        self.calendar = infer_day_types(self.dates)
        shown = {f"{f.date:%Y-%m-%d}": f for f in self.forecasts}
        self.forecasts = [shown[k] for k in (f"{d:%Y-%m-%d}" for d in self.dates) if k in shown]
        self._fill_table()

    def day_type(self, number: int) -> tuple[str, bool]:
        """Day ``number``'s (1-based) type and whether the user chose it."""
        key = f"{self.dates[number - 1]:%Y-%m-%d}"
        chosen = self.overrides.get(key)
        return (chosen, True) if chosen else (self.calendar[number - 1], False)

    def action_set_type(self, value: str) -> None:
        """Set the selected row's day type (``calendar``: the calendar's again) and forecast again."""
        if not self.dates:
            return
        table = self.query_one(DataTable)
        row = min(max(table.cursor_row, 0), len(self.dates) - 1)
        key = f"{self.dates[row]:%Y-%m-%d}"
        if value == "calendar" or value == self.calendar[row]:
            self.overrides.pop(key, None)
        else:
            self.overrides[key] = value
        self._fill_table()
        if self.model is not None:
            self.action_forecast()

    def overrides_in_range(self) -> dict[str, str]:
        keys = {f"{d:%Y-%m-%d}" for d in self.dates}
        return {k: v for k, v in self.overrides.items() if k in keys}

    # -- forecasting --------------------------------------------------------------------------------
    def action_forecast(self) -> None:
        """Forecast the days in the field (laying out their dates first, model or not)."""
        days = self._checked_days()
        if days is None:
            return  # the line under the field says what is wrong
        if days != self.days:
            self.days = days
            self._lay_out_days()
        if self.model is None:
            self.show_status(self._why or self.NO_MODEL, error=True)
            return
        self.post_message(self.Requested(self.days, self.overrides_in_range()))

    @lazy.drawn
    def show_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#md-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    def show_error(self, error: BaseException | None) -> None:
        self.show_status(f"Could not forecast: {explain(error)}", error=True)

    # -- showing --------------------------------------------------------------------------------------
    def show_forecasts(
        self, forecasts: list, model: str, bands: list[dict[str, float]] | None = None, trust=None
    ) -> None:
        """``forecasts``: engine.forecast.Forecast per day, in order, from the day after the data;
        ``model``: whose model made them (format.model_label); ``bands``: each day's interval
        (engine.assessment.bounds) and ``trust`` the assessment they come from (level, coverage)."""
        self.forecasts = list(forecasts)
        self.bands = list(bands or [])
        self.trust = trust
        self._model_said = model
        self._show_summary()
        self._fill_table()
        self._draw_chart()

    @lazy.drawn
    def _show_summary(self) -> None:
        """Two lines: what was forecast, and the highlighted day's interval. Under 100 columns each
        is worded to fit one row, so an 80x24 terminal keeps its chart (the long form takes five rows)."""
        forecasts = self.forecasts
        if not forecasts:
            return
        narrow = 0 < self.size.width < NARROW
        chosen = sum(not f.inferred for f in forecasts)
        days = f"{len(forecasts)} day{'s' if len(forecasts) != 1 else ''}"
        if narrow:
            lines = [
                f"{self._model_said}: {days} from {forecasts[0].date:%m-%d}; calendar types"
                f"{f', * {chosen} yours' if chosen else ''}"
            ]
        else:
            lines = [
                f"{self._model_said}: {days} from {forecasts[0].date:%Y-%m-%d}, each forecast fed back as the "
                f"next day's input. Day types from the calendar{f'; * {chosen} chosen by you' if chosen else ''}."
            ]
        band = self.highlighted_band()
        if band is not None and self.trust is not None:
            level, coverage = self.trust.intervals.level, self.trust.intervals.coverage
            date, values = band
            rail = f"{format_riders(values['rail_low'])}..{format_riders(values['rail_high'])}"
            bus = f"{format_riders(values['bus_low'])}..{format_riders(values['bus_high'])}"
            if narrow:
                covered = f"; test {coverage['rail']:.0%}/{coverage['bus']:.0%}" if coverage else ""
                lines.append(f"{level:.0%} {date:%a %m-%d}: rail {rail} bus {bus}{covered}")
            else:
                covered = (
                    (
                        f" (next-day intervals covered {coverage['rail']:.0%} rail, {coverage['bus']:.0%} bus "
                        "of test days)"
                    )
                    if coverage
                    else ""
                )
                lines.append(
                    f"{level:.0%} interval, {date:%a %Y-%m-%d}: rail {rail}, bus {bus}; dotted on the chart{covered}"
                )
                made = self.forecasts[self.query_one(DataTable).cursor_row]
                if made.note():  # a chosen type: how its inputs were formed (engine.daytypes)
                    lines.append(f"How formed: {made.note()}")
        status = self.query_one("#md-status", Static)
        status.update("\n".join(lines))
        status.set_class(False, "-error")

    def on_resize(self) -> None:
        self._show_summary()  # the long or the short form, for the new width

    def highlighted_band(self):
        """(date, interval) of the forecast on the highlighted row, or None."""
        if not self.bands:
            return None
        row = self.query_one(DataTable).cursor_row
        if not 0 <= row < len(self.forecasts) or row >= len(self.bands):
            return None
        return self.forecasts[row].date, self.bands[row]

    @on(DataTable.RowHighlighted, "#md-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.forecasts and self.bands:
            self._show_summary()

    @lazy.drawn
    def _fill_table(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        by_date = {f"{f.date:%Y-%m-%d}": f for f in self.forecasts}
        table.clear()
        for number, date in enumerate(self.dates, start=1):
            kind, chosen = self.day_type(number)
            made = by_date.get(f"{date:%Y-%m-%d}")
            # A forecast made with another day type than the row now has is stale until redone.
            fresh = made is not None and made.day_type == kind
            table.add_row(
                f"{date:%Y-%m-%d}",
                f"{date:%a}",
                f"{kind}{'*' if chosen else ''}",
                format_riders(made.rail).rjust(9) if fresh else "…".rjust(9) if made else "—".rjust(9),
                format_riders(made.bus).rjust(9) if fresh else "…".rjust(9) if made else "—".rjust(9),
                key=f"{date:%Y-%m-%d}",
            )
        if self.dates:
            table.move_cursor(row=min(max(cursor, 0), len(self.dates) - 1), animate=False)

    @lazy.drawn
    def _draw_chart(self) -> None:
        import pandas as pd

        if self.data is None:
            return
        history = self.data.frame.iloc[-HISTORY_DAYS:]
        n = len(history)
        forecasts = self.forecasts
        dates = history.index.append(pd.DatetimeIndex([f.date for f in forecasts])) if forecasts else history.index
        K = 1e3  # thousands of riders: the unit of the axis (the table and text say riders)
        x = list(range(n))
        lines = [
            Series(x, list(history["bus"] / K), "bus", "blue"),
            Series(x, list(history["rail"] / K), "rail", "red"),
        ]
        if forecasts:
            # Each forecast line starts at the last actual day, so it continues the actual line.
            fx = list(range(n - 1, n + len(forecasts)))
            lines += [
                Series(fx, [history["bus"].iloc[-1] / K] + [f.bus / K for f in forecasts], "bus forecast", "cyan"),
                Series(fx, [history["rail"].iloc[-1] / K] + [f.rail / K for f in forecasts], "rail forecast", "orange"),
            ]
            if len(self.bands) == len(forecasts):  # each day's interval, dotted in its forecast's colour
                bx = list(range(n, n + len(forecasts)))
                lines += [
                    Series(bx, [b[f"{series}_{side}"] / K for b in self.bands], "", color, marker="·")
                    for series, color in (("bus", "cyan"), ("rail", "orange"))
                    for side in ("low", "high")
                ]
        chart = self.query_one("#md-chart", Chart)
        ahead = (
            "no forecast yet"
            if not forecasts
            else "the next day"
            if len(forecasts) == 1
            else f"the next {len(forecasts)} days"
        )
        chart.set_title(f"Last {n // 7} weeks and {ahead}, riders, thousands")
        chart.draw(lines, xticks=date_ticks(dates), xlim=(-1, len(dates) + 1))
