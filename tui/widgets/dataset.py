"""Dataset pane: the rows as a table, a chart of a date range, and where the data comes from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input

from engine.config import TrainConfig

from ..format import date_ticks, parse_bound
from .charts import Chart, Series
from .inline_error import show_inline_error
from .table import RowTable
from .text import Label, Static

if TYPE_CHECKING:  # numpy and pandas load with the data, after the first screen
    from engine.data import RidershipData

ARTICLE_RANGE = ("2021-03", "2021-05")  # the article's plot
MAX_DAYS_UNBINNED = 400


def split_lines(data: RidershipData, config: TrainConfig) -> list[str]:
    """Each split's first and last date in the data and its number of days."""
    index = data.frame.index
    lines = []
    for name, (start, end) in config.split_bounds().items():
        # Day resolution: the index is daily, and its unit may not hold the bounds' nanoseconds.
        first = int(index.searchsorted(start.normalize(), side="left"))
        stop = int(index.searchsorted(end.normalize(), side="right")) if end is not None else len(index)
        if stop <= first:
            lines.append(f"{name:<5} no rows in {start:%Y-%m-%d}..{'end' if end is None else f'{end:%Y-%m-%d}'}")
        else:
            lines.append(f"{name:<5} {index[first]:%Y-%m-%d}..{index[stop - 1]:%Y-%m-%d} {stop - first:>6,}")
    return lines


class DatasetPane(Horizontal):
    """Table on the left; source, size, splits and the chart on the right."""

    BINDINGS = [  # the app's keys (they work in every pane), listed in this pane's footer
        Binding("o", "app.open_file", "Open"),
        Binding("d", "app.download", "Download"),
        Binding("U", "app.update_data", "Update"),
        Binding("j", "app.journal", "Journal"),
    ]

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.data: RidershipData | None = None
        self.config: TrainConfig | None = TrainConfig()

    def compose(self) -> ComposeResult:
        yield RowTable(id="rows")
        with Vertical(id="dataset-side"):
            yield Static("Loading data…", id="data-info")
            yield Static("", id="data-status", classes="-empty")
            with Horizontal(id="range-row"):
                yield Label("Chart from ")
                yield Input(ARTICLE_RANGE[0], id="chart-from", compact=True)
                yield Label(" to ")
                yield Input(ARTICLE_RANGE[1], id="chart-to", compact=True)
            yield Static("", id="range-error")
            # legend_room: the legend (top left) sits above the data, never on it.
            chart = Chart("Riders per day, thousands", id="data-chart", legend_room=True, thousands=True)
            # Hidden until there is data to draw: an empty chart drawn for the first screen would
            # import plotext (a builder thread holding the GIL) while that screen is painted.
            chart.display = False
            yield chart

    # -- data ---------------------------------------------------------------------------------
    def show_data(self, data: RidershipData) -> None:
        import pandas as pd

        self.data = data
        self.query_one(RowTable).set_frame(data.frame)
        if not self._range_in_data(*ARTICLE_RANGE):
            last = data.last_date
            self.query_one("#chart-from", Input).value = f"{last - pd.Timedelta(days=90):%Y-%m-%d}"
            self.query_one("#chart-to", Input).value = f"{last:%Y-%m-%d}"
        self._show_info()
        self.draw_chart()

    def show_splits(self, config: TrainConfig | None) -> None:
        """Split boundaries of the form's current settings (kept as they were while it is invalid)."""
        if config is not None:
            self.config = config
            self._show_info()

    def show_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#data-status", Static)
        status.update(text)
        status.set_class(error, "-error")
        status.set_class(not text, "-empty")

    def _range_in_data(self, start: str, end: str) -> bool:
        data = self.data
        return (
            data is not None
            and parse_bound(start, False) >= data.first_date
            and parse_bound(end, True) <= data.last_date
        )

    def _show_info(self) -> None:
        data = self.data
        if data is None:
            return
        from engine.data.freshness import age_words  # pandas: loaded with the data, not before the first screen

        lines = [
            data.source.label,
            f"{len(data.frame):,} days, {data.first_date:%Y-%m-%d}..{data.last_date:%Y-%m-%d}",
            f"last day {data.last_date:%Y-%m-%d}: {age_words(data.last_date)}",
        ]
        if data.filled_dates:
            lines.append(f"{len(data.filled_dates)} missing dates filled by interpolation")
        if self.config is not None:
            lines += [f"{'Splits (pane 2)':<31}days", *split_lines(data, self.config)]
        self.query_one("#data-info", Static).update("\n".join(lines))

    # -- chart --------------------------------------------------------------------------------
    @on(Input.Changed, "#chart-from, #chart-to")
    def _range_changed(self) -> None:
        self.draw_chart()

    def draw_chart(self) -> None:
        data = self.data
        if data is None:  # the range fields' first Changed comes before the data: no numpy yet
            return
        import numpy as np

        error = self.query_one("#range-error", Static)
        try:
            start = parse_bound(self.query_one("#chart-from", Input).value, end=False)
            end = parse_bound(self.query_one("#chart-to", Input).value, end=True)
            if start > end:
                raise ValueError(f"from {start:%Y-%m-%d} is after to {end:%Y-%m-%d}")
            rows = data.frame.loc[start:end]
            if rows.empty:
                raise ValueError(
                    f"no rows between {start:%Y-%m-%d} and {end:%Y-%m-%d} "
                    f"(the data covers {data.first_date:%Y-%m-%d} .. {data.last_date:%Y-%m-%d})"
                )
        except ValueError as exc:
            show_inline_error(error, exc)
            return
        show_inline_error(error, None)
        step = -(-len(rows) // MAX_DAYS_UNBINNED)
        if step > 1:  # long ranges: means over step days (thinning would alias the weekly cycle)
            groups = np.arange(len(rows)) // step
            binned = rows[["bus", "rail"]].groupby(groups).mean()
            dates = rows.index[::step]
            bus, rail = binned["bus"].to_numpy(), binned["rail"].to_numpy()
        else:
            dates, bus, rail = rows.index, rows["bus"].to_numpy(), rows["rail"].to_numpy()
        x = list(range(len(dates)))
        chart = self.query_one(Chart)
        chart.display = True
        chart.set_title(f"Riders per day, thousands{f' ({step}-day means)' if step > 1 else ''}")
        chart.draw(
            [Series(x, list(bus / 1e3), "bus", "blue"), Series(x, list(rail / 1e3), "rail", "red")],
            xticks=date_ticks(dates),
        )
