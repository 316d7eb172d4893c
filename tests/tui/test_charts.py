"""Chart scales: log ticks a person reads, the following y-range, smoothing, the cursor readout."""

from __future__ import annotations

import math

from support import workers_ended
from textual.app import App, ComposeResult

from tui.widgets.charts import (
    Chart,
    ChartSpec,
    EpochChart,
    Series,
    build_chart,
    ema,
    follow_range,
    legend_headroom,
    log10_points,
    log_ticks,
    nice_linear_ticks,
    readout,
    round_ticks,
    short_number,
    tick_rows,
)


def labels_for(lo, hi, **kw):
    positions, labels = log_ticks(lo, hi, **kw)
    assert positions == sorted(positions)
    assert all(math.log10(lo) - 1e-9 <= p <= math.log10(hi) + 1e-9 for p in positions)
    return labels


def test_mae_ticks_over_a_decade_are_round_riders():
    labels = labels_for(25_000, 305_000)
    assert {"30k", "100k", "300k"} <= set(labels), labels
    assert len(labels) <= 8


def test_loss_ticks_are_powers_of_ten_over_many_decades():
    labels = labels_for(0.0004, 0.5)
    assert {"0.001", "0.01", "0.1"} <= set(labels), labels
    assert len(labels) <= 8
    assert (
        labels_for(1e-7, 1e3) == ["1e-7", "1e-6", "1e-5", "0.0001", "0.001", "0.01", "0.1", "1", "10", "100", "1k"][::2]
    )


def test_a_narrow_range_still_gets_ticks():
    labels = labels_for(41_000, 47_000)
    assert len(labels) >= 2 and all(label.endswith("k") for label in labels), labels
    assert log_ticks(0, 10) == ([], [])  # nothing positive to put on a log axis
    assert log_ticks(math.nan, 10) == ([], [])


def test_short_numbers():
    assert [short_number(v) for v in (30_000, 1_500_000, 300, 0.001, 2e-5, 0)] == [
        "30k",
        "1.5M",
        "300",
        "0.001",
        "2e-5",
        "0",
    ]
    assert nice_linear_ticks(41_000, 47_000) == [42_000, 44_000, 46_000]


def test_log10_points_drop_what_a_log_axis_cannot_show():
    assert log10_points([1, 2, 3, 4], [100, 0, -1, math.nan]) == ([1], [2.0])


def test_ema_smooths_and_starts_at_the_first_value():
    assert ema([10, 0, 0], alpha=0.5) == [10, 5, 2.5]
    assert ema([]) == []


def test_the_following_range_keeps_the_naive_line_in_view():
    epochs = list(range(1, 41))
    valid = [300_000 * 0.8**e + 30_000 for e in epochs]  # falls from 270k to about 30k
    naive = [42_000] * len(epochs)
    series = [Series(epochs, naive, "naive", "gray"), Series(epochs, valid, "valid", "cyan")]
    lo, hi = follow_range(series, last=10)
    assert lo < 30_000 < hi and lo < 42_000 < hi
    assert hi < 60_000  # the early epochs' huge errors no longer squash the recent ones
    # The same on a log axis, as EpochChart draws it.
    logged = [Series(*log10_points(s.x, s.y), s.label, s.color) for s in series]
    lo, hi = follow_range(logged, last=10)
    assert lo < math.log10(42_000) < hi
    assert follow_range([], last=5) is None


def test_legend_headroom_lifts_the_top_above_the_data():
    lo, hi = legend_headroom(0.0, 1.0, rows=12, entries=2)
    assert lo == 0 and hi > 1.0
    # The data's top row lies below the two legend rows (and a spare one).
    assert (1.0 - lo) / (hi - lo) * 12 <= 12 - 3 + 1e-9


def test_readout_names_each_series_at_the_cursor():
    series = [Series([1, 2, 3], [0.5, 0.25, 0.125], "train", "orange"), Series([1, 2], [9, 8], "valid", "cyan")]
    assert readout(series, 2) == "epoch 2: train 0.25 · valid 8"
    assert readout(series, 3) == "epoch 3: train 0.125"


def test_build_chart_draws_log_ticks_and_a_cursor():
    spec = ChartSpec(
        "MAE",
        "epoch",
        series=(Series([1, 2, 3], [math.log10(v) for v in (200e3, 90e3, 40e3)], "valid", "cyan"),),
        yticks=log_ticks(40e3, 200e3),
        vline=2,
    )
    picture = build_chart(spec, 60, 16, "clear").plain
    assert "100k" in picture and "50k" in picture


class Charts(App):
    def compose(self) -> ComposeResult:
        yield EpochChart("MAE, riders", "epoch", id="mae")
        yield Chart("Plain", id="plain")


async def test_the_cursor_moves_with_the_arrow_keys_and_reads_the_values():
    app = Charts()
    async with app.run_test(size=(80, 40)) as pilot:
        chart = app.query_one(EpochChart)
        epochs = list(range(1, 11))
        chart.draw(
            [
                Series(epochs, [100_000 / e for e in epochs], "valid", "cyan"),
                Series(epochs, [42_000] * 10, "naive (valid)", "gray"),
            ]
        )
        chart.focus()
        await pilot.pause()
        assert chart.cursor_epoch == 10
        assert chart.readout_text() == "epoch 10: valid 10,000 · naive (valid) 42,000"
        await pilot.press("left", "left")
        assert chart.cursor_epoch == 8
        assert chart.readout_text().startswith("epoch 8: valid 12,500")
        await pilot.press("home")
        assert chart.cursor_epoch == 1
        await pilot.press("right", "end")
        assert chart.cursor is None and chart.cursor_epoch == 10
        await pilot.press("e", "f")
        assert chart.smoothing and chart.follow
        assert chart._spec.ylim is not None and chart._spec.log_y  # log ticks: chosen for the height at build
        # Raw values in the readout, smoothed or not; the plain Chart's API is unchanged.
        assert chart.readout_text() == "epoch 10: valid 10,000 · naive (valid) 42,000"
        await workers_ended(app)
        await pilot.pause()
        text = chart.render().plain
        assert text.splitlines()[-1].startswith("epoch 10: valid 10,000")
        assert "[log, EMA, follow]" in text
        assert any(label in text for label in ("10k", "20k", "30k", "50k"))
        app.query_one("#plain", Chart).draw([Series([1, 2], [1, 2], "a", "red")], xticks=([1, 2], ["1", "2"]))


def tick_lines(picture: str) -> list[tuple[int, float]]:
    """(line number, value) of each y tick label in a built chart."""
    found = []
    for n, line in enumerate(picture.splitlines()):
        head, bar, _ = line.partition("┤")
        if bar and head.strip():
            label = head.strip().replace(",", "")
            scale = {"k": 1e3, "M": 1e6}.get(label[-1], 1)
            found.append((n, float(label.rstrip("kM")) * scale))
    return found


def sine(lo: float, hi: float, n: int = 40) -> list[float]:
    return [lo + (hi - lo) * (0.5 + 0.5 * math.sin(i / 3)) for i in range(n)]


def test_y_ticks_are_round_evenly_spaced_and_two_rows_apart_at_every_height():
    # Ranges the issue met: a loss near 0.03, riders in thousands on 4 plot rows, sweep MAEs in k.
    for lo, hi in ((0.0241, 0.0382), (130, 440), (21.2, 25.6), (15_228, 1_588_000), (0, 1), (0.97, 1.07)):
        for height in range(6, 22, 3):
            spec = ChartSpec("t", series=(Series(list(range(40)), sine(lo, hi), "a", "blue"),))
            ticks = tick_lines(build_chart(spec, 50, height, "clear").plain)
            assert ticks, (lo, hi, height)
            rows = [n for n, _ in ticks]
            assert all(b - a >= 2 for a, b in zip(rows, rows[1:])), (lo, hi, height, ticks)
            values = sorted(v for _, v in ticks)
            steps = {round(b - a, 9) for a, b in zip(values, values[1:])}
            assert len(steps) <= 1, (lo, hi, height, values)  # evenly spaced
            for v in values:  # round: 1, 2, 2.5 or 5 times a power of ten, times an integer
                assert lo - 1e-9 <= v <= hi + 1e-9


def test_nice_ticks_keep_their_ends_and_have_no_float_noise():
    assert nice_linear_ticks(0.03, 0.045, count=4) == [0.03, 0.035, 0.04, 0.045]
    assert nice_linear_ticks(0.0241, 0.0382) == [0.025, 0.03, 0.035]
    assert round_ticks(0.1, 0.5, rows=13) == (
        [0.1, 0.2, 0.3, 0.4, 0.5],
        ["0.1", "0.2", "0.3", "0.4", "0.5"],
    )  # no 0.30000000000000004
    assert round_ticks(0.97, 1.07, rows=10)[1] == ["0.975", "1", "1.025", "1.05"]  # never rounded into 1.02
    assert round_ticks(130, 440, rows=2)[0] in ([200.0], [250.0], [400.0])  # one when two do not fit


def test_log_ticks_follow_the_height():
    positions, _ = log_ticks(25_000, 305_000)
    assert len(positions) >= 5  # 30k 50k 100k 200k 300k on a tall chart
    for rows in (3, 5, 8):
        positions, labels = log_ticks(25_000, 305_000, rows=rows)
        placed = tick_rows(positions, math.log10(25_000), math.log10(305_000), rows)
        assert all(b - a >= 2 for a, b in zip(placed, placed[1:])), (rows, labels)
        assert labels, rows
    spec = ChartSpec(
        "MAE",
        "epoch",
        series=(Series([1, 2, 3], [math.log10(v) for v in (200e3, 90e3, 40e3)], "v", "cyan"),),
        log_y=True,
    )
    short = tick_lines(build_chart(spec, 40, 10, "clear").plain)  # 4 plot rows
    assert len(short) >= 2 and all(b[0] - a[0] >= 2 for a, b in zip(short, short[1:])), short


def test_a_chart_in_thousands_reads_plain_numbers():
    spec = ChartSpec(
        "Riders per day, thousands",
        series=(Series(list(range(40)), sine(300, 1_400), "bus", "blue"),),
        plain_ticks=True,
    )
    labels = [
        line.partition("┤")[0].strip() for line in build_chart(spec, 50, 14, "clear").plain.splitlines() if "┤" in line
    ]
    assert "1,000" in labels and not any(label.endswith(("k", "M")) for label in labels), labels


def test_a_title_wider_than_the_plot_is_shortened_not_dropped():
    spec = ChartSpec("valid, k riders by hidden_size (p: next)", series=(Series([8, 16], [41.0, 33.0], "", "red"),))
    first = build_chart(spec, 38, 12, "clear").plain.splitlines()[0].strip()
    assert first.startswith("valid, k riders by") and first.endswith("…"), first
    assert build_chart(spec, 60, 12, "clear").plain.splitlines()[0].strip() == spec.title


class HiddenChart(App):
    def compose(self) -> ComposeResult:
        chart = Chart("Plain", id="plain")
        chart.display = False  # as a pane's chart before the pane is first shown
        yield chart


async def test_a_chart_first_shown_after_a_hidden_pass_is_built_at_once(monkeypatch):
    """A build asked for while the chart is hidden (no room) draws nothing, so it must not hold back
    the build its showing asks for: the rebuild interval is made an hour here, and the picture must
    still come (it came REBUILD_EVERY_S late on every pane's first showing)."""
    import asyncio

    import tui.widgets.charts as charts

    monkeypatch.setattr(charts, "REBUILD_EVERY_S", 3600.0)
    app = HiddenChart()
    async with app.run_test(size=(80, 40)) as pilot:
        chart = app.query_one("#plain", Chart)
        chart.draw([Series([1, 2, 3], [1, 3, 2], "a", "red")])  # hidden: a pass that builds nothing
        await pilot.pause()
        await workers_ended(app)
        assert chart.render() == ""
        chart.display = True
        await pilot.pause()
        await asyncio.wait_for(workers_ended(app), timeout=60)  # an hour's wait would fail here
        assert "Plain" in chart.render().plain
