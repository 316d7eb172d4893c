"""Device pane: which device runs the model, its memory in use by torch, torch and CPU threads."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from . import lazy
from .sparklines import SystemSparklines
from .text import Static


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


class DevicePane(Vertical, can_focus=True):
    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        # Made now: the app samples the process every second during a run (SystemSparklines.add_sample,
        # kept undrawn) whether or not this pane was ever shown.
        self.sparklines = SystemSparklines(id="system-metrics")

    def compose(self) -> ComposeResult:
        if lazy.is_held(self):  # built when first shown (tui/widgets/lazy.py)
            return
        yield Static("Compute device", id="device-title")
        yield Static("Loading torch to look at the devices…", id="device-info")
        yield Static("", id="device-note")
        yield Static("This process, sampled every second while this pane is shown or a run trains", id="system-title")
        yield self.sparklines

    @lazy.drawn
    def show(self, info, available: list[str], choice: str, training: bool) -> None:
        """``info`` is an engine.device.DeviceInfo (plain fields)."""
        if info.memory_used is None:
            memory = f"not reported by the {info.kind} backend"
        else:
            memory = gib(info.memory_used) + (f" of {gib(info.memory_total)}" if info.memory_total else "")
        rows = [
            ("In use", f"{info.kind}" + (f"  (device setting: {choice})" if choice != info.kind else "")),
            ("Name", info.name),
            ("Memory in use by torch", memory),
            ("torch", info.torch_version),
            ("CPU threads", f"{info.threads} (torch.get_num_threads)"),
            ("Available", ", ".join(available)),
        ]
        width = max(len(k) for k, _ in rows)
        self.query_one("#device-info", Static).update("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
        self.query_one("#device-note", Static).update(
            "Memory refreshed every second while a run is training."
            if training
            else "Memory refreshed every second during a run. The device setting is on the Hyperparameters pane."
        )
        self.query_one("#device-info").set_class(False, "-error")

    @lazy.drawn
    def show_error(self, text: str) -> None:
        widget = self.query_one("#device-info", Static)
        widget.update(text)
        widget.set_class(True, "-error")
