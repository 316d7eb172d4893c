"""A plotext chart whose picture is built off the UI thread.

plotext builds a chart in pure Python: 20-50 ms for a few series of a hundred points, long enough
to make the UI stutter if it ran in ``render`` once per epoch. Here ``draw`` (UI thread) only
records plain lists; one background thread builds the picture with a fresh plotext figure (no
state shared with the widget) and the widget shows the finished text. At most one build per chart
is in flight; data drawn meanwhile is picked up by the next build, so a fast run coalesces frames.
Title and labels are set once; each draw replaces the data, as with ``plt.clear_data()``.

Every chart names its series in a key line above the plot, never inside it, and sets round,
evenly spaced y ticks from the data's range (build_chart).

EpochChart adds what a training curve needs to be read: a log10 y axis drawn here (plotext's own
log scale breaks on repeated builds) with ticks a person reads (30k, 100k, 300k; 0.001, 0.01), an
optional EMA smoothing, a y-range that follows the recent epochs, and a cursor epoch (left/right)
whose values show in a line under the chart. The scale and tick logic are pure functions below.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from rich.text import Text
from textual.binding import Binding
from textual.color import Color
from textual.widget import Widget

# One thread for every chart: builds are serialised, and only one competes with training for the GIL.
_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart-build")


@dataclass(frozen=True)
class Series:
    x: Sequence[float]
    y: Sequence[float]
    label: str
    color: str
    marker: str = "braille"
    scatter: bool = False


@dataclass(frozen=True)
class ChartSpec:
    """Everything a build needs, as plain values."""

    title: str
    xlabel: str = ""
    ylabel: str = ""
    series: tuple[Series, ...] = ()
    xticks: tuple[tuple, tuple] | None = None
    xlim: tuple[float, float] | None = None
    yticks: tuple[tuple, tuple] | None = None
    ylim: tuple[float, float] | None = None
    vline: float | None = None  # a cursor: a vertical line at this x
    log_y: bool = False  # y holds log10 values: log ticks (30k, 100k), chosen for the picture's height
    plain_ticks: bool = False  # y tick labels as plain numbers (1,200, not 1.2k): the axis is in thousands
    legend_room: bool = False  # unused: the legend is a key line above the plot (build_chart)


def thin(x: Sequence[float], y: Sequence[float], limit: int) -> tuple[list, list]:
    """Every k-th point (always keeping the last) so a series has at most ``limit`` points."""
    n = len(x)
    if n <= limit:
        return list(x), list(y)
    step = -(-n // limit)
    keep = list(range(0, n, step))
    if keep[-1] != n - 1:
        keep.append(n - 1)
    return [x[i] for i in keep], [y[i] for i in keep]


# Rich names for plotext's colours, for the key line (the few plotext names Rich spells otherwise).
RICH_COLORS = {"orange": "orange1", "gray": "grey62", "grey": "grey62"}


def key_line(series: Sequence[Series], width: int) -> Text | None:
    """The chart's legend as one line under the title ("━ bus  ━ rail  ● forecast"), in each
    series' colour: outside the plot area, so it covers no data. None when nothing is named."""
    named = list(dict.fromkeys((s.label, s.color, s.scatter) for s in series if s.label and len(s.x)))
    if not named:
        return None
    line = Text(no_wrap=True, overflow="ellipsis")
    for n, (label, color, scatter) in enumerate(named):
        if n:
            line.append("  ")
        line.append("● " if scatter else "━ ", style=RICH_COLORS.get(color, color))
        line.append(label)
    line.truncate(max(width, 1), overflow="ellipsis")
    return line


def round_ticks(lo: float, hi: float, rows: int, plain: bool = False) -> tuple[list[float], list[str]]:
    """Evenly spaced round y ticks (1, 2, 2.5 or 5 times a power of ten apart) inside lo..hi, at
    least MIN_TICK_GAP rows apart on a plot ``rows`` rows tall, labelled short (300k, 0.05), or
    ``plain`` (1,200 on an axis in thousands, where 1.2k would read as 1.2k thousand): set
    explicitly, so plotext never picks uneven or crowded ones."""
    values = spaced_linear_ticks(lo, hi, rows)
    return values, [tick_label(v, plain) for v in values]


def tick_label(value: float, plain: bool = False) -> str:
    """A round tick value's label with every digit it has, so a label never rounds into its
    neighbour's value (1.025 reads 1.025, not 1.02): 25k, 1.25M, 0.035; ``plain``: 1,200."""
    if value == 0:
        return "0"
    scale, suffix = 1.0, ""
    if not plain:
        if abs(value) < 1e-4:
            return short_number(value)
        scale, suffix = next(
            ((sc, sf) for sc, sf in ((1e9, "G"), (1e6, "M"), (1e3, "k")) if abs(value) >= sc), (1.0, "")
        )
    shown = value / scale
    digits = next((d for d in range(13) if abs(round(shown, d) - shown) <= 1e-9 * abs(shown)), 12)
    text = f"{shown:,.{digits}f}"
    return (text if plain else text.replace(",", "")) + suffix


MIN_TICK_GAP = 2  # rows between two y tick labels: adjacent labels read as one number
MAX_TICKS = 6


def tick_rows(values: Sequence[float], lo: float, hi: float, rows: int) -> list[int]:
    """The plot row (0: bottom) each value's tick lands on, as plotext places it
    (plotext._utility.get_matrix_data: the range's ends on the first and last rows)."""
    return [math.floor(round(0.5 + (rows - 1) * (v - lo) / (hi - lo), 8)) for v in values]


def well_spaced(values: Sequence[float], lo: float, hi: float, rows: int) -> bool:
    placed = tick_rows(values, lo, hi, rows)
    return all(b - a >= MIN_TICK_GAP for a, b in zip(placed, placed[1:]))


def spaced_linear_ticks(lo: float, hi: float, rows: int, max_ticks: int = MAX_TICKS) -> list[float]:
    """The finest round ticks inside lo..hi (1, 2, 2.5 or 5 times a power of ten apart) whose rows on
    a plot ``rows`` tall are at least MIN_TICK_GAP apart; one tick when no two fit."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    span = hi - lo
    power = 10.0 ** math.floor(math.log10(span / max(rows, 1)))
    fallback: list[float] = []  # every other tick of a finer step (100, 300 when 0 and 200 do not both fit)
    for step in (m * power * 10**k for k in range(4) for m in (1, 2, 2.5, 5)):
        values = ticks_at(lo, hi, step)
        if len(values) < 2:  # no two multiples of this step fit
            return fallback or values
        if len(values) <= max_ticks and well_spaced(values, lo, hi, rows):
            return values
        if not fallback:
            halves = [values[o::2] for o in (0, 1)]
            fallback = max(
                (h for h in halves if 2 <= len(h) <= max_ticks and well_spaced(h, lo, hi, rows)), key=len, default=[]
            )
    return fallback


def ticks_at(lo: float, hi: float, step: float) -> list[float]:
    """The multiples of ``step`` inside lo..hi, rounded so 0.1 + 0.2 reads 0.3."""
    first = math.ceil(lo / step - 1e-9) * step
    count = math.floor((hi - first) / step + 1e-9) + 1
    digits = max(0, 12 - math.floor(math.log10(step)))
    return [round(first + i * step, digits) for i in range(max(count, 0))]


_PLOTEXT_READY = False


def _plotext():
    """textual-plotext's Plot, imported on the builder thread with the first chart drawn: plotext
    takes a tenth of a second or more to import, which the first screen need not wait for."""
    global _PLOTEXT_READY
    from textual_plotext.plot import Plot

    if not _PLOTEXT_READY:
        import plotext._utility as plotext_utility

        # plotext drops duplicate points and tick labels with list(set(...)), whose order follows
        # string hashing, which Python randomises per process: the same data could place its tick
        # labels differently from one run to the next. Its own source keeps the order-preserving
        # version in a comment; use that, so the same data always draws the same picture.
        plotext_utility.no_duplicates = lambda data: list(dict.fromkeys(data))
        _PLOTEXT_READY = True
    return Plot


def theme_name(theme: str, surface: tuple[int, int, int], foreground: tuple[int, int, int]) -> str:
    """The plotext theme for the app's theme (its surface and foreground colours, as
    textual-plotext's "auto" theme), registered with plotext the first time."""
    from plotext._dict import themes
    from textual_plotext.plot import _rgbify_theme, _sequence

    name = f"textual-auto-{theme}"
    if name not in themes:
        themes[name] = _rgbify_theme(surface, surface, foreground, "default", _sequence)
    return name


def build_chart(
    spec: ChartSpec,
    width: int,
    height: int,
    theme: str,
    colors: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None,
) -> Text:
    """The chart as rich Text: a key line (the legend, outside the plot) and the plotext picture.
    Runs in the builder thread; touches no widget. ``theme``: a plotext theme, or the app's theme
    name with ``colors`` (its surface and foreground) to make one from."""
    Plot = _plotext()  # noqa: N806 - a class
    if colors is not None:
        theme = theme_name(theme, *colors)
    key = key_line(spec.series, width)
    if key is not None:
        height -= 1
    plt = Plot()
    plt.plotsize(width, height)
    plt._set_size(width, height)  # as textual-plotext's own render does (its issue 5)
    plt.theme(theme)
    if spec.xlabel:
        plt.xlabel(spec.xlabel)
    if spec.ylabel:
        plt.ylabel(spec.ylabel)
    limit = max(2 * width, 20)  # braille has two dots per column: more points add nothing
    for s in spec.series:
        if not len(s.x):
            continue
        x, y = thin(s.x, s.y, limit)
        if s.scatter:  # no label: the key line above names the series, plotext's legend would cover data
            plt.scatter(x, y, color=s.color, marker=s.marker)
        else:
            plt.plot(x, y, color=s.color, marker=s.marker)
    if spec.xticks is not None:
        plt.xticks(list(spec.xticks[0]), list(spec.xticks[1]))
    if spec.xlim is not None:
        plt.xlim(*spec.xlim)
    ylim, yticks = spec.ylim, spec.yticks
    ys = [v for s in spec.series for v in s.y if math.isfinite(v)]
    if yticks is None and ys:  # the range of the data, with round evenly spaced ticks inside it
        lo, hi = ylim if ylim is not None else (min(ys), max(ys))
        if spec.log_y:
            yticks = log_ticks(10**lo, 10**hi, rows=plot_rows(height, spec))
        elif hi > lo:
            yticks = round_ticks(lo, hi, plot_rows(height, spec), plain=spec.plain_ticks)
    if yticks is not None and len(yticks[0]):
        plt.yticks(list(yticks[0]), list(yticks[1]))
    # plotext drops a title wider than the plot area without a word: shorten it instead.
    room = width - 3 - max((len(label) for label in yticks[1]), default=6) if yticks is not None else width - 9
    plt.title(spec.title if len(spec.title) <= room else spec.title[: max(room - 1, 1)].rstrip() + "…")
    if ylim is not None:
        plt.ylim(*ylim)
    if spec.vline is not None:
        plt.vline(spec.vline, "gray")
    picture = Text.from_ansi(plt.build())
    if key is None:
        return picture
    if spec.title:  # under the title line
        lines = picture.split("\n", include_separator=False)
        return Text("\n").join([lines[0], key, *lines[1:]])
    return Text("\n").join([key, picture])


REBUILD_EVERY_S = 0.25


class Chart(Widget):
    """A line chart with a fixed title and axis labels, in the app theme's colours (as
    textual-plotext's PlotextPlot, without importing plotext before the first chart is drawn)."""

    DEFAULT_CSS = """
    Chart { width: 1fr; height: 1fr; }
    """

    def __init__(
        self,
        title: str,
        xlabel: str = "",
        ylabel: str = "",
        *,
        id: str | None = None,  # noqa: A002
        legend_room: bool = False,
        thousands: bool = False,
    ) -> None:
        """``thousands``: the values are thousands of riders (the title says so); the ticks read
        1,200 rather than 1.2k."""
        super().__init__(id=id)
        self._spec = ChartSpec(title, xlabel, ylabel, legend_room=legend_room, plain_ticks=thousands)
        self._picture: Text | None = None
        self._building = False
        self._stale = False
        self._built_at = -math.inf  # the event loop's time of the last build's start
        self.points: dict[str, int] = {}  # label -> points drawn, for tests and status lines

    @property
    def chart_title(self) -> str:
        return self._spec.title

    def set_title(self, title: str) -> None:
        self._spec = replace(self._spec, title=title)

    def set_xlabel(self, xlabel: str) -> None:
        self._spec = replace(self._spec, xlabel=xlabel)

    def draw(
        self,
        series: Sequence[Series],
        *,
        xticks: tuple[Sequence, Sequence] | None = None,
        xlim: tuple[float, float] | None = None,
    ) -> None:
        series = tuple(Series(list(s.x), list(s.y), s.label, s.color, s.marker, s.scatter) for s in series)
        self._spec = replace(
            self._spec,
            series=series,
            xticks=(tuple(xticks[0]), tuple(xticks[1])) if xticks is not None else None,
            xlim=xlim,
        )
        self.points = point_counts(series)
        self._schedule()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._schedule())

    def on_resize(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self._building:
            self._stale = True
            return
        if not self.is_mounted:
            return
        self._building = True
        # The method, not a coroutine: called when the worker starts, so none is left un-awaited
        # when the app ends first (a RuntimeWarning seen in a test).
        self.run_worker(self._build, group="chart", exit_on_error=False)

    async def _build(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                # Redraws coalesce to at most one per REBUILD_EVERY_S: a run of short epochs asks
                # for one per epoch, more than an eye can follow, and each build shares the GIL with
                # the event loop (p99 timer lateness during training: bench/bench_ui.py).
                wait = self._built_at + REBUILD_EVERY_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._stale = False
                width, height = self._picture_size()
                if width < 10 or height < 5:  # hidden (another pane) or too small: build on resize
                    return  # nothing built, so the next build (the resize) need not wait
                self._built_at = loop.time()
                variables = self.app.theme_variables
                colors = (Color.parse(variables.get("surface")).rgb, Color.parse(variables.get("foreground")).rgb)
                self._picture = await loop.run_in_executor(
                    _BUILDER, build_chart, self._spec, width, height, self.app.theme, colors
                )
                self.refresh()
                if not self._stale:
                    return
        finally:
            self._building = False

    def _picture_size(self) -> tuple[int, int]:
        """The size the picture is built at (a subclass may keep lines for itself)."""
        return self.size.width, self.size.height

    def render(self):
        return self._picture if self._picture is not None else ""


def point_counts(series: Sequence[Series]) -> dict[str, int]:
    """Points drawn per legend label (for tests and status lines); unnamed series add up under ""."""
    counts: dict[str, int] = {}
    for s in series:
        if len(s.x):
            counts[s.label] = counts.get(s.label, 0) + len(s.x)
    return counts


def headroom(chart: Chart, lines: list[Series]) -> list[Series]:
    """Nothing any more: the legend is a key line above the plot (build_chart), so the y-range
    follows the data alone. Kept so callers need not change."""
    return []


# -- scales and ticks (pure) ---------------------------------------------------------------------


def plot_rows(height: int, spec: ChartSpec) -> int:
    """How many rows of a picture ``height`` lines high hold the data, as plotext lays it out (its
    _build.py: the frame's two lines, the x tick labels, the title line, the axis labels' line)."""
    return max(height - 3 - (1 if spec.title else 0) - (1 if spec.xlabel or spec.ylabel else 0), 1)


def legend_headroom(lo: float, hi: float, rows: int, entries: int) -> tuple[float, float]:
    """A y-range whose top ``entries`` rows (plotext's legend, top left) lie above every data point."""
    span = hi - lo or abs(hi) or 1.0
    free = max(rows - entries - 1, 1)  # rows left for the data, one spare under the legend
    return lo, hi + span * (entries + 1) / free


def short_number(value: float) -> str:
    """A tick label: 30k, 1.5M, 300, 0.001, 2e-05."""
    a = abs(value)
    if a == 0:
        return "0"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{value / scale:.3g}{suffix}"
    if a >= 1e-4:
        return f"{value:.3g}"
    return f"{value:.0e}".replace("e-0", "e-")


def log_ticks(lo: float, hi: float, max_ticks: int = 8, rows: int | None = None) -> tuple[list[float], list[str]]:
    """Ticks for values lo..hi (> 0) on a log10 axis: (log10 positions, labels).

    1-2-3-5 steps in each decade for a short range, 1-3 for a few decades, powers of ten beyond; a
    range too short for any of those gets evenly spaced round numbers. ``rows``: the plot's height,
    whose ticks must lie MIN_TICK_GAP rows apart (the finest set that does; fewer on a short chart).
    """
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    lo, hi = min(lo, hi), max(lo, hi)
    span = (math.log10(lo), math.log10(hi))

    def fits(values: list[float]) -> bool:
        if len(values) > max_ticks:
            return False
        return rows is None or span[1] <= span[0] or well_spaced([math.log10(v) for v in values], *span, rows)

    def inside(mantissas: tuple[int, ...]) -> list[float]:
        decades = range(math.floor(span[0]), math.ceil(span[1]) + 1)
        values = [m * 10.0**e for e in decades for m in mantissas]
        return [round(v, 12) for v in values if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]

    for mantissas in ((1, 2, 3, 5), (1, 2, 5), (1, 3), (1,)):
        values = inside(mantissas)
        k = 1  # powers of ten over many decades: every k-th
        while len(values[::k]) > 1 and not fits(values[::k]):
            k += 1
        if len(values[::k]) >= 2 and (mantissas == (1,) or k == 1):
            values = values[::k]
            break
    else:
        # Not two of a set fit the rows: the lowest and highest of the 1-2-3-5 values (0.005 and
        # 0.05 on four rows); on a narrow range (41k..47k) round linear steps; else one tick.
        values = inside((1, 2, 3, 5))
        if len(values) >= 2 and fits([values[0], values[-1]]):
            values = [values[0], values[-1]]
        else:
            linear = [v for v in nice_linear_ticks(lo, hi) if v > 0]
            while len(linear) > 1 and not fits(linear):  # every other one until they fit the rows
                linear = linear[::2]
            values = linear if len(linear) >= 2 or not values else values[len(values) // 2 : len(values) // 2 + 1]
    return [math.log10(v) for v in values], [short_number(v) for v in values]


def nice_linear_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of ten apart) inside lo..hi, at most ``count``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    return ticks_at(lo, hi, step)


def ema(values: Sequence[float], alpha: float = 0.3) -> list[float]:
    """Exponential moving average (alpha: weight of the newest value); non-finite values pass through."""
    out: list[float] = []
    level = math.nan
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        level = v if not math.isfinite(level) else alpha * v + (1 - alpha) * level
        out.append(level)
    return out


def log10_points(x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    """The points with a positive finite y, as (x, log10 y); the others cannot be drawn on a log axis."""
    keep = [(a, math.log10(b)) for a, b in zip(x, y) if b is not None and math.isfinite(b) and b > 0]
    return [a for a, _ in keep], [b for _, b in keep]


def follow_range(series: Sequence[Series], last: int, margin: float = 0.08) -> tuple[float, float] | None:
    """The y-range (as drawn, e.g. log10) of every series over the last ``last`` x values, with a margin.

    Every series counts, baselines included, so a flat naive line inside those epochs stays in view.
    """
    xs = [a for s in series for a in s.x]
    if not xs:
        return None
    start = max(xs) - last + 1
    ys = [b for s in series for a, b in zip(s.x, s.y) if a >= start and math.isfinite(b)]
    if not ys:
        return None
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * margin or abs(hi) * 0.05 or 0.5
    return lo - pad, hi + pad


def value_at(s: Series, x: float) -> float | None:
    """The series' y at exactly x, if it has that point."""
    for a, b in zip(s.x, s.y):
        if a == x:
            return b
    return None


def readout(series: Sequence[Series], x: float, fmt=short_number) -> str:
    """One line: the cursor epoch and each series' value there."""
    parts = [f"{s.label} {fmt(v)}" for s in series if (v := value_at(s, x)) is not None and s.label]
    return f"epoch {x:g}: " + (" · ".join(parts) if parts else "no values")


def precise(value: float) -> str:
    """A readout value: 4 significant digits (0.01234, 45,210, 1.234M)."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.4g}M"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


class EpochChart(Chart, can_focus=True):
    """A per-epoch chart (loss, MAE) with a log scale, smoothing, a following y-range and a cursor.

    A drop-in for Chart: ``draw(series, xticks=..., xlim=...)`` takes the raw values. Keys while
    focused: left/right move the cursor epoch (right past the last one follows the newest again),
    e toggles EMA smoothing, f toggles the y-range following the last ``follow_last`` epochs.
    The line under the chart reads the raw (unsmoothed) values at the cursor epoch.
    """

    BINDINGS = [
        Binding("left", "cursor(-1)", "Epoch -1", show=False),
        Binding("right", "cursor(1)", "Epoch +1", show=False),
        Binding("home", "cursor_to('first')", "First epoch", show=False),
        Binding("end", "cursor_to('last')", "Last epoch", show=False),
        Binding("e", "toggle_smoothing", "Smooth"),
        Binding("f", "toggle_follow", "Follow"),
    ]

    def __init__(
        self,
        title: str,
        xlabel: str = "",
        ylabel: str = "",
        *,
        id: str | None = None,  # noqa: A002
        log: bool = True,
        smoothing: bool = False,
        alpha: float = 0.3,
        follow: bool = False,
        follow_last: int = 20,
        legend_room: bool = True,
    ) -> None:
        super().__init__(title, xlabel, ylabel, id=id, legend_room=legend_room)
        self.log_scale, self.smoothing, self.alpha = log, smoothing, alpha
        self.follow, self.follow_last = follow, follow_last
        self.cursor: float | None = None  # None: the newest epoch
        self.raw: tuple[Series, ...] = ()
        self._xticks: tuple[Sequence, Sequence] | None = None
        self._xlim: tuple[float, float] | None = None

    # -- data -------------------------------------------------------------------------------------
    def draw(
        self,
        series: Sequence[Series],
        *,
        xticks: tuple[Sequence, Sequence] | None = None,
        xlim: tuple[float, float] | None = None,
    ) -> None:
        self.raw = tuple(Series(list(s.x), list(s.y), s.label, s.color, s.marker, s.scatter) for s in series)
        self._xticks, self._xlim = xticks, xlim
        self._redraw()

    @property
    def epochs(self) -> list[float]:
        return sorted({a for s in self.raw for a in s.x})

    @property
    def cursor_epoch(self) -> float | None:
        epochs = self.epochs
        if not epochs:
            return None
        if self.cursor is None or self.cursor not in epochs:
            return epochs[-1]
        return self.cursor

    def readout_text(self, width: int | None = None) -> str:
        """The cursor epoch's raw values; shorter (3 digits, labels' first words) when the full line
        does not fit ``width``."""
        x = self.cursor_epoch
        if x is None:
            return ""
        line = readout(self.raw, x, precise)
        if width is not None and len(line) > width:
            short = [replace(s, label=s.label.split(" ")[0]) for s in self.raw]
            line = readout(short, x, short_number).replace("epoch ", "", 1).replace(" · ", " ")
        return line

    def _redraw(self) -> None:
        shown = [replace(s, y=ema(s.y, self.alpha)) if self.smoothing else s for s in self.raw]
        if self.log_scale:
            shown = [replace(s, x=xy[0], y=xy[1]) for s in shown for xy in [log10_points(s.x, s.y)]]
        ylim = follow_range(shown, self.follow_last) if self.follow else None
        spec = self._spec
        self._spec = replace(
            spec,
            log_y=self.log_scale,  # its ticks are chosen for the height at build time (build_chart)
            ylim=ylim,
            vline=self.cursor if self.cursor is not None and self.cursor in self.epochs else None,
        )
        super().draw(shown, xticks=self._xticks, xlim=self._xlim)
        self.points = point_counts(self.raw)

    # -- keys -------------------------------------------------------------------------------------
    def action_cursor(self, step: int) -> None:
        epochs = self.epochs
        if not epochs:
            return
        i = epochs.index(self.cursor_epoch) + step
        self.cursor = None if i >= len(epochs) - 1 and step > 0 else epochs[max(0, min(i, len(epochs) - 1))]
        self._redraw()

    def action_cursor_to(self, where: str) -> None:
        epochs = self.epochs
        self.cursor = epochs[0] if where == "first" and epochs else None
        self._redraw()

    def action_toggle_smoothing(self) -> None:
        self.smoothing = not self.smoothing
        self._redraw()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._redraw()

    # -- picture ------------------------------------------------------------------------------------
    def _picture_size(self) -> tuple[int, int]:
        return self.size.width, self.size.height - 1  # the last line is the readout

    def render(self):
        picture = self._picture if self._picture is not None else Text("")
        if picture.plain.endswith("\n"):  # plotext ends with a newline: the readout must be the last line
            picture = picture[:-1]
        flags = [name for name, on in (("log", self.log_scale), ("EMA", self.smoothing), ("follow", self.follow)) if on]
        width = self.size.width
        line = self.readout_text(width)
        if line and flags and len(line) + 5 + len(", ".join(flags)) <= width:
            line += f"   [{', '.join(flags)}]"
        readout_line = Text(line, style="dim" if self.cursor is None else "", no_wrap=True, overflow="ellipsis")
        readout_line.truncate(max(width, 1), overflow="ellipsis")
        return Text("\n").join([picture, readout_line])
