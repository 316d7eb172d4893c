"""The system sampler's numbers, and the sparkline widget that shows them."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Sparkline

from tui.system_metrics import Sample, SystemSampler, rss_bytes
from tui.widgets.sparklines import SystemSparklines


def test_a_sample_has_sane_numbers():
    sampler = SystemSampler(gpu=False)
    time.sleep(0.05)
    s = sampler.sample()
    assert s.cpu_percent >= 0
    assert s.rss_bytes is not None and s.rss_bytes > 10 * 2**20  # a Python with textual loaded
    assert s.gpu_util_percent is None and s.gpu_source is None
    assert rss_bytes() > 0


def test_cpu_percent_rises_while_a_busy_loop_runs():
    """The real clocks: the share of a core the process used since the last sample. On a crowded
    machine a busy loop gets less than a core (once 9% at a load of 11), so the number is checked
    against what the process was given over the same time, not against a fixed share."""
    sampler = SystemSampler(gpu=False)
    time.sleep(0.3)
    idle = sampler.sample().cpu_percent
    wall, cpu = time.monotonic(), time.process_time()
    end = cpu + 0.2
    while time.process_time() < end:  # busy until the process has used 0.2 s of CPU, however long that takes
        pass
    loaded = sampler.sample().cpu_percent
    given = (time.process_time() - cpu) / (time.monotonic() - wall) * 100
    assert loaded == pytest.approx(given, rel=0.2), (loaded, given)
    assert loaded > idle, (idle, loaded)


def test_cpu_percent_from_injected_clocks():
    wall, cpu = [0.0], [0.0]
    sampler = SystemSampler(gpu=False, clock=lambda: wall[0], cpu_clock=lambda: cpu[0])
    wall[0], cpu[0] = 2.0, 3.0  # 3 s of CPU in 2 s: two threads at 75%
    assert sampler.sample().cpu_percent == 150.0
    assert sampler.sample().cpu_percent == 0.0  # no wall time passed: no division by zero


def test_history_is_bounded():
    sampler = SystemSampler(history=5, gpu=False)
    for _ in range(12):
        sampler.sample()
    assert len(sampler.history["cpu_percent"]) == 5
    assert len(sampler.history["rss_bytes"]) == 5
    assert len(sampler.history["gpu_util_percent"]) == 0


def test_sampling_never_imports_torch():
    code = (
        "import sys; from tui.system_metrics import SystemSampler; s = SystemSampler(); s.sample(); "
        "assert 'torch' not in sys.modules, 'torch imported'; assert 'textual' not in sys.modules, 'textual'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


class MetricsApp(App):
    def compose(self) -> ComposeResult:
        yield SystemSparklines(history=10, id="metrics")


async def test_the_widget_shows_each_value_and_its_history():
    app = MetricsApp()
    async with app.run_test(size=(80, 10)) as pilot:
        widget = app.query_one(SystemSparklines)
        for i, cpu in enumerate([10.0, 50.0, 87.0]):
            widget.add_sample(Sample(float(i), cpu, 412 * 2**20))
        await pilot.pause()
        text = widget.text()
        assert "CPU" in text and "87%" in text
        assert "RSS" in text and "412 MB" in text
        assert "GPU" not in text  # no GPU readings: the GPU rows stay hidden
        assert list(app.query_one("#spark-cpu_percent", Sparkline).data) == [0.0, 10.0, 50.0, 87.0]
        spark = app.query_one("#spark-cpu_percent", Sparkline)
        bars = "".join(seg.text for seg in app.console.render(spark.render())).strip()
        # From the zero anchor (lowest bar) up to 87% (full bar), 50% in between.
        assert bars[0] == "▁" and bars[-1] == "█" and "▅" in bars, bars
        assert set(bars.strip()) <= set("▁▂▃▄▅▆▇█"), bars

        widget.add_sample(Sample(3.0, 5.0, 413 * 2**20, 42.0, 3 * 2**30, 140 * 2**30, "nvml"))
        await pilot.pause()
        text = widget.text()
        assert "GPU" in text and "42%" in text
        assert "3,072 MB of 140.0 GB" in text
        for _ in range(20):
            widget.add_sample(Sample(4.0, 1.0, 1))
        assert len(widget.values["cpu_percent"]) == 10
