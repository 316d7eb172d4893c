"""The preset selector of the Hyperparameters pane, and the naive baseline beside every MAE shown."""

from __future__ import annotations

import math

from textual.widgets import Select

from engine.config import TrainConfig
from engine.presets import DEFAULT_PRESET, PRESET_HELP, PRESETS, apply_preset
from engine.session import RunResult
from tui.format import summarise


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


async def choose_preset(pilot, name: str) -> None:
    pilot.app.query_one("#preset", Select).value = name
    for _ in range(3):
        await pilot.pause()


async def test_the_form_offers_the_presets_and_fills_the_fields_from_them(make_test_app, tui_config):
    app = make_test_app()  # the tests' small config: no preset
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        select = app.query_one("#preset", Select)
        assert [value for _, value in select._options if value is not Select.NULL] == list(PRESETS)
        assert select.value is Select.NULL and "custom" in text(app, "#help-preset")
        await choose_preset(pilot, "normalized")
        expected = apply_preset("normalized").replace(device=tui_config.device, core=tui_config.core)
        assert app.form.config == expected
        assert app.query_one("#field-lr").value == "0.2"
        assert app.query_one("#field-normalize", Select).value == "week"
        assert app.query_one("#field-train_start").value == "2010-01"
        assert app.query_one("#field-epochs").value == str(TrainConfig.epochs)  # the article's, not the tests'
        assert text(app, "#help-preset") == PRESET_HELP["normalized"]
        # Any field changed by hand makes it custom; back to the preset's value, it is the preset again.
        app.form.focus_field("lr")
        await pilot.press("end", "ctrl+u", *"0.3")
        await pilot.pause()
        assert select.value is Select.NULL and app.form.config.lr == 0.3
        await pilot.press("end", "ctrl+u", *"0.2")
        await pilot.pause()
        assert select.value == "normalized"
        await choose_preset(pilot, "article")
        assert app.form.config == TrainConfig(device=tui_config.device)
        await pilot.press("escape", "r")  # the defaults are the default preset's (what the app starts from)
        await pilot.pause()
        assert select.value == DEFAULT_PRESET and app.form.config == apply_preset(DEFAULT_PRESET)


async def test_normalize_and_target_are_choices(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        from engine.config import NORMALIZE, TARGET_KINDS

        for name, choices in (("normalize", NORMALIZE), ("target", TARGET_KINDS)):
            select = app.query_one(f"#field-{name}", Select)
            assert [v for _, v in select._options if v is not Select.NULL] == list(choices)


def finished_run(scores) -> RunResult:
    """A run of four epochs that ended with these scores (engine.scoring.SplitScore by split)."""
    return RunResult(
        run_id=1,
        status="finished",
        reason="completed 4 epochs",
        config=TrainConfig(),
        device="cpu",
        data_label="synthetic",
        history=[object()] * 4,
        best_epoch=4,
        best_valid_mae=30_000.0,
        weights_epoch=4,
        scores=scores,
        model=object(),
    )


def test_the_run_summary_puts_each_mae_beside_the_naive_one_per_series_too():
    from engine.scoring import SplitScore

    score = dict(
        mae=30_000.0,
        naive_mae=40_000.0,
        rail_mae=20_000.0,
        bus_mae=40_000.0,
        naive_rail_mae=25_000.0,
        naive_bus_mae=55_000.0,
    )
    _, result = summarise(
        finished_run(
            {
                "valid": SplitScore(**score, split="valid"),
                "test": SplitScore(**{**score, "mae": 50_000.0}, split="test"),
            }
        )
    )
    lines = result.splitlines()
    assert "validation MAE    30,000 riders · naive    40,000 · model/naive 0.75" in lines
    assert "valid rail MAE    20,000 riders · naive    25,000 · model/naive 0.80" in lines
    assert "valid  bus MAE    40,000 riders · naive    55,000 · model/naive 0.73" in lines
    assert " test rail MAE    20,000 riders · naive    25,000 · model/naive 0.80" in lines
    assert "      test MAE    50,000 riders · naive    40,000 · model/naive 1.25" in lines
    assert lines[:2] == [  # the totals first: a 24-line terminal shows the first lines of the block
        "validation MAE    30,000 riders · naive    40,000 · model/naive 0.75",
        "      test MAE    50,000 riders · naive    40,000 · model/naive 1.25",
    ]
    assert sum("naive" in line for line in lines) == 1 + 6  # the heading, then every MAE line


async def test_a_real_runs_summary_and_epoch_line_show_the_naive_mae(make_test_app, settle):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await settle(app, "train")
        await pilot.pause()
        scores = app.active.scores
        result = text(app, "#run-result")
        for name in ("valid", "test"):
            for series in ("rail", "bus"):
                mae, naive = getattr(scores[name], f"{series}_mae"), getattr(scores[name], f"naive_{series}_mae")
                assert f"naive {naive:>9,.0f} · model/naive {mae / naive:.2f}" in result
        epoch = text(app, "#run-epoch")
        naive = app.query_one("#training-pane").history.naive_valid_mae  # from TrainingStarted
        assert math.isfinite(naive) and f"(naive {naive:,.0f}, model/naive " in epoch


async def test_the_forms_rows_are_built_when_first_shown_with_what_was_set_before(make_test_app, tui_config):
    """The rows are about half the app's widgets, so they are built when the pane is first shown;
    settings given before that (a fork, a remembered form) are what the rows show, and the config
    and its errors hold all along."""
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert not app.form.has_rows and not app.query("#field-lr")
        app.form.set_config(tui_config.replace(lr=0.5, window_length=100000))
        assert app.form.config is None and "window_length" in app.form.errors  # checked without rows
        await pilot.press("2")
        await pilot.pause()
        assert app.query_one("#field-lr").value == "0.5"
        assert app.query_one("#field-window_length").has_class("-invalid")
        assert "invalid setting" in text(app, "#form-error")


async def test_a_click_on_the_tab_builds_the_forms_rows(make_test_app):
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.click("#--content-tab-hyperparams")
        for _ in range(3):
            await pilot.pause()
        assert app.form.has_rows and app.query_one("#field-lr").region.height == 1


async def test_settings_given_while_the_rows_mount_are_the_ones_they_show(make_test_app, tui_config):
    """A Select takes a value only once mounted: settings given between the rows' building and their
    mounting must still be what the selectors show and what the form holds. Seen in tmux (a real
    terminal's order of mounting): the preset selector said "custom" beside the `best` preset's own
    help text. Under Pilot the rows' own Changed messages set it again after mounting, so this
    passes on the code before the fix too; the browser test (tests/tui/test_browser.py, a real
    driver) is the one that failed on it, 3 runs of 3."""
    app = make_test_app()
    async with app.run_test(size=(120, 40)) as pilot:
        wanted = apply_preset("normalized").replace(device=tui_config.device, core=tui_config.core)
        app.form.show_rows()
        app.form.set_config(wanted)  # the same tick: the rows are not mounted yet
        await pilot.press("2")
        for _ in range(3):
            await pilot.pause()
        assert app.query_one("#preset", Select).value == "normalized"
        assert app.query_one("#field-normalize", Select).value == "week"
        assert app.form.config == wanted
