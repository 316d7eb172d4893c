"""Live system metrics for the Device pane: one labelled sparkline per metric with its value now.

The widget starts no thread and no timer: the app hands it tui.system_metrics.Sample values with
``add_sample`` (e.g. from the Device pane's one-second timer). GPU rows stay hidden until a sample
carries GPU readings.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline

from ..system_metrics import HISTORY, Sample
from .text import Static


def megabytes(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n < 10 * 2**30 else f"{n / 2**30:.1f} GB"


# key, label, how the value reads, the Sample field
ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("cpu_percent", "CPU", lambda v: f"{v:.0f}%"),
    ("rss_bytes", "RSS", megabytes),
    ("gpu_util_percent", "GPU", lambda v: f"{v:.0f}%"),
    ("gpu_mem_used", "GPU mem", megabytes),
)


def value_text(label: str, text: str) -> str:
    return f"{label:<8}{text:>9}"


class SystemSparklines(Vertical):
    """CPU, resident memory and (when known) GPU use of this process, the last ``history`` samples."""

    DEFAULT_CSS = """
    SystemSparklines { height: auto; }
    SystemSparklines > Horizontal { height: 1; }
    SystemSparklines > Horizontal.-hidden { display: none; }
    SystemSparklines .metric-value { width: auto; min-width: 18; margin-right: 1; }
    SystemSparklines Sparkline { width: 1fr; max-width: 60; }
    """

    def __init__(self, history: int = HISTORY, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.values: dict[str, deque] = {key: deque(maxlen=history) for key, _, _ in ROWS}
        self.last: Sample | None = None

    def compose(self) -> ComposeResult:
        for key, label, _ in ROWS:
            with Horizontal(id=f"row-{key}", classes="-hidden" if key.startswith("gpu") else ""):
                yield Static(value_text(label, "…"), id=f"value-{key}", classes="metric-value")
                yield Sparkline([], id=f"spark-{key}")

    def add_sample(self, sample: Sample, draw: bool = True) -> None:
        """Append one sample and show it (UI thread). ``draw`` False: kept for when the pane is
        shown (a run samples every second whichever pane is on screen; hidden, nothing is drawn)."""
        self.last = sample
        for key, _, _ in ROWS:
            value = getattr(sample, key)
            if value is not None:
                self.values[key].append(float(value))
        if draw:
            self.draw()

    def draw(self) -> None:
        """Show the last sample's values and the sparklines of every sample kept."""
        sample = self.last
        if sample is None:
            return
        for key, label, fmt in ROWS:
            value = getattr(sample, key)
            if value is None:
                if self.values[key]:
                    self.query_one(f"#value-{key}", Static).update(value_text(label, "n/a"))
                continue
            self.query_one(f"#row-{key}", Horizontal).remove_class("-hidden")
            text = fmt(value)
            if key == "gpu_mem_used" and sample.gpu_mem_total:
                text += f" of {megabytes(sample.gpu_mem_total)}"
            self.query_one(f"#value-{key}", Static).update(value_text(label, text))
            # A leading 0 anchors the scale at zero: Sparkline scales to the data's min..max, which
            # would blow up a wobble of RSS 412.0..412.3 MB into full-height bars.
            self.query_one(f"#spark-{key}", Sparkline).data = [0.0, *self.values[key]]

    def text(self) -> str:
        """The value column as plain text, one metric a line (for tests and status lines)."""
        return "\n".join(
            str(self.query_one(f"#value-{key}", Static).render())
            for key, _, _ in ROWS
            if not self.query_one(f"#row-{key}").has_class("-hidden")
        )
