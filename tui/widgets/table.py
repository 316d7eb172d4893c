"""A read-only table of daily rows that renders only the lines on screen.

Textual's DataTable builds a Python object per row and slows down with many cells. This widget
keeps the columns as numpy arrays and formats the ~40 visible rows per paint, so a million rows
cost the same to show and scroll as a hundred.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

if TYPE_CHECKING:  # numpy and pandas load with the data, after the first screen
    import numpy as np

COLUMNS = (("date", 10), ("type", 4), ("bus", 9), ("rail", 9))  # type: the day type W/A/U
GAP = 1
WIDTH = sum(w for _, w in COLUMNS) + GAP * (len(COLUMNS) - 1) + 2


class RowTable(ScrollView, can_focus=True):
    """Rows of (date, day type, bus, rail); the header line stays on top while scrolling."""

    COMPONENT_CLASSES = {"rowtable--header", "rowtable--odd"}
    DEFAULT_CSS = """
    RowTable { width: auto; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        # numpy arrays once set_frame has run; empty sequences until then (numpy loads with the data).
        self._dates: np.ndarray | tuple = ()
        self._day_types: np.ndarray | tuple = ()
        self._bus: np.ndarray | tuple = ()
        self._rail: np.ndarray | tuple = ()

    @property
    def row_count(self) -> int:
        return len(self._dates)

    def set_frame(self, frame) -> None:
        """Take the columns of a RidershipData frame (index date; day_type, bus, rail)."""
        self._dates = frame.index.to_numpy().astype("datetime64[D]")
        self._day_types = frame["day_type"].to_numpy()
        self._bus = frame["bus"].to_numpy()
        self._rail = frame["rail"].to_numpy()
        self.virtual_size = Size(WIDTH, len(self._dates) + 1)  # +1: the header line
        self.scroll_to(0, 0, animate=False)
        self._show_position()
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._show_position()

    def on_resize(self) -> None:
        self._show_position()

    def _show_position(self) -> None:
        """Rows on screen and the total, under the table (the scrollbar alone is vague at 1M rows)."""
        n = self.row_count
        first = min(int(self.scroll_offset.y) + 1, n)
        last = min(first + max(self.scrollable_content_region.height - 2, 0), n)
        self.border_subtitle = f"{first:,}-{last:,} of {n:,}"

    def row_text(self, row: int) -> str:
        """The visible text of data row ``row`` (0-based), as painted."""
        cells = (
            str(self._dates[row]),
            str(self._day_types[row]),
            f"{int(self._bus[row]):,}",
            f"{int(self._rail[row]):,}",
        )
        return self._join(cells)

    @staticmethod
    def _join(cells) -> str:
        parts = []
        for (name, width), cell in zip(COLUMNS, cells):
            parts.append(cell.ljust(width) if name in ("date", "type") else cell.rjust(width))
        return " " + (" " * GAP).join(parts) + " "

    def header_text(self) -> str:
        return self._join([name for name, _ in COLUMNS])

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            text, style = self.header_text(), self.get_component_rich_style("rowtable--header")
        else:
            row = scroll_y + y - 1
            if row >= self.row_count:
                return Strip.blank(width, self.rich_style)
            text = self.row_text(row)
            style = self.rich_style
            if row % 2:
                style = style + self.get_component_rich_style("rowtable--odd")
        strip = Strip([Segment(text, style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    # Jump, don't glide: an animated page of a long table only delays the rows a person wants.
    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def first_visible_row(self) -> int:
        return int(self.scroll_offset.y)

    def scroll_to_date(self, date) -> bool:
        """Scroll so the row of ``date`` (or the next one after it) is the first shown."""
        import numpy as np

        if not self.row_count:
            return False
        row = int(np.searchsorted(self._dates, np.datetime64(date, "D")))
        self.scroll_to(y=min(row, self.row_count - 1), animate=False)
        return True
