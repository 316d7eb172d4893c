"""Forecast pane: pick a day type, forecast the day after the data with the trained model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Select

from engine.domain import DAY_TYPE_NAMES

from ..format import date_ticks
from . import lazy
from .charts import Chart, Series
from .text import Label, Static

if TYPE_CHECKING:  # numpy and pandas load with the data, after the first screen
    import pandas as pd

CALENDAR = "calendar"
K = 1e3  # the chart is in thousands of riders (the text says riders)
DAY_KEYS = Binding.Group("Day type", compact=True)


class ForecastPane(Vertical, can_focus=True):
    BINDINGS = [
        Binding("w", "pick('W')", "Weekday", group=DAY_KEYS),
        Binding("a", "pick('A')", "Saturday", group=DAY_KEYS),
        Binding("u", "pick('U')", "Sunday/holiday", group=DAY_KEYS),
        Binding("c", "pick('calendar')", "Calendar", group=DAY_KEYS),
        Binding("f", "forecast", "Forecast"),
        Binding("m", "app.forecast_view('multiday')", "Several days"),  # tui/widgets/multiday.py
    ]

    class Requested(Message):
        """Forecast with this day type (None: the calendar's)."""

        def __init__(self, day_type: str | None) -> None:
            super().__init__()
            self.day_type = day_type

    _history: pd.DataFrame | None = None  # the last weeks of the data, drawn before any forecast

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        with Horizontal(id="forecast-controls"):
            yield Label("Day type ")
            yield Select(self._options(None), value=CALENDAR, allow_blank=False, compact=True, id="day-type")
            yield Label("  w a u c: forecast · m: days")
        # The text scrolls in its own box on a short terminal rather than push the chart off (app.tcss).
        with VerticalScroll(id="forecast-text"):  # Tab reaches it: its arrows scroll a text cut short
            yield Static("No forecast yet. Train a model (3, then t), then pick a day type here.", id="forecast-result")
        yield Chart("Last 8 weeks and the forecast, riders, thousands", id="forecast-chart", thousands=True)

    @staticmethod
    def _options(calendar_type: str | None) -> list[tuple[str, str]]:
        guess = f" ({calendar_type}, {DAY_TYPE_NAMES[calendar_type]})" if calendar_type else ""
        return [(f"calendar{guess}", CALENDAR)] + [(f"{k} {v}", k) for k, v in DAY_TYPE_NAMES.items()]

    @lazy.drawn
    def set_calendar_guess(self, day_type: str) -> None:
        select = self.query_one("#day-type", Select)
        value = select.value
        select.set_options(self._options(day_type))
        # Setting the value it already has would not repaint the new label: go through another.
        select.value = "W" if value == CALENDAR else CALENDAR
        select.value = value

    @property
    def day_type(self) -> str | None:
        value = self.query_one("#day-type", Select).value
        return None if value == CALENDAR else str(value)

    def action_pick(self, value: str) -> None:
        self.query_one("#day-type", Select).value = value
        self.action_forecast()

    def action_forecast(self) -> None:
        self.post_message(self.Requested(self.day_type))

    @lazy.drawn
    def show_message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#forecast-result", Static)
        widget.update(text)
        widget.set_class(error, "-error")

    def model_changed(self, label: str | None, text: str = "") -> None:
        """The model in use changed (``label``: whose, format.model_label; None: none, ``text``
        says why): a forecast shown is another model's, so it goes."""
        if label is not None:
            text = f"{label} is in use: w a u c pick a day type and forecast (f: again)."
        self.show_message(text)
        if self._history is not None:
            self.show_history(self._history)

    def show_history(self, history: pd.DataFrame) -> None:
        """The last weeks of the data (index date; bus, rail), before any forecast."""
        self._history = history
        x = list(range(len(history)))
        self._draw(
            [Series(x, list(history["bus"] / K), "bus", "blue"), Series(x, list(history["rail"] / K), "rail", "red")],
            xticks=date_ticks(history.index),
            xlim=(-1, len(history) + 2),
        )

    @lazy.drawn
    def _draw(self, series: list[Series], **options) -> None:
        """The chart: the last weeks, or the last weeks and the forecast."""
        self.query_one(Chart).draw(series, **options)

    def show_forecast(
        self,
        text: str,
        history: pd.DataFrame,
        date: pd.Timestamp,
        rail: float,
        bus: float,
        bounds: dict[str, float] | None = None,
    ) -> None:
        """``history``: the last rows of the data (index date; bus, rail); ``bounds``: the interval
        (rail_low, rail_high, bus_low, bus_high, riders), drawn as a band at the forecast day."""
        import pandas as pd

        self.show_message(text)
        dates = history.index.append(pd.DatetimeIndex([date]))
        n = len(history)
        x = list(range(n))
        # The forecast continues each actual line from the last day (a segment, not a lone dot at
        # the edge), in its own colour, with its interval as a vertical bar on the forecast day.
        seg = [n - 1, n]
        self._draw(
            [
                Series(x, list(history["bus"] / K), "bus", "blue"),
                Series(x, list(history["rail"] / K), "rail", "red"),
                Series(seg, [history["bus"].iloc[-1] / K, bus / K], "bus forecast", "cyan"),
                Series(seg, [history["rail"].iloc[-1] / K, rail / K], "rail forecast", "orange"),
                *[
                    Series([n, n], [bounds[f"{s}_low"] / K, bounds[f"{s}_high"] / K], "", color)
                    for s, color in (("bus", "cyan"), ("rail", "orange"))
                    if bounds
                ],
            ],
            xticks=date_ticks(dates),
            xlim=(-1, n + 2),  # room around the forecast day at the right edge
        )
