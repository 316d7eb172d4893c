"""The app trains and resumes through engine.session, the one orchestration the CLI uses too
(tests/cli has the CLI half): with start_run and resume_run replaced by recording fakes, t and the
Runs pane's resume reach them, with the app's data, settings and run store, and the app shows what
they report."""

from __future__ import annotations

import math

import pytest
from support import workers_done

import engine.session
from engine.events import EpochEvent, RunStarted
from engine.session import RunResult
from tui.messages import EpochCompleted, TrainingStarted
from tui.widgets.confirm import PromptScreen


class FakeSession:
    """start_run and resume_run that record their calls, report one epoch and end at once."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.calls: list[tuple[str, tuple, dict]] = []

    def _run(self, config, on_start, on_epoch, parent_id=None, origin="new") -> RunResult:
        on_start(
            RunStarted(
                run_id=self.run_id,
                config=config,
                device="cpu",
                epochs=config.epochs,
                naive_valid_mae=31_000.0,
                train_windows=100,
                valid_windows=20,
                parent_id=parent_id,
                origin=origin,
            )
        )
        event = EpochEvent(1, config.epochs, 0.05, 0.04, 0.03, config.lr, 0.1, 1, 0.03)
        on_epoch(event)
        return RunResult(
            run_id=self.run_id,
            status="stopped",
            reason="stopped by the fake",
            config=config,
            device="cpu",
            data_label="fake",
            history=[event],
            best_epoch=1,
            best_valid_mae=30_000.0,
            weights_epoch=1,
            model=None,
            parent_id=parent_id,
            origin=origin,
        )

    def start_run(self, config, data, **kw) -> RunResult:
        self.calls.append(("start_run", (config, data), kw))
        return self._run(config, kw["on_start"], kw["on_epoch"], kw.get("parent_id"), kw.get("origin", "new"))

    def resume_run(self, store, run_id, more, data, **kw) -> RunResult:
        self.calls.append(("resume_run", (store, run_id, more, data), kw))
        config = store.get_config(run_id)
        return self._run(config.replace(epochs=config.epochs + more), kw["on_start"], kw["on_epoch"], run_id, "resume")


@pytest.fixture
def fake_session(monkeypatch) -> FakeSession:
    fake = FakeSession(run_id=41)
    monkeypatch.setattr(engine.session, "start_run", fake.start_run)
    monkeypatch.setattr(engine.session, "resume_run", fake.resume_run)
    return fake


def text(app, selector: str) -> str:
    return str(app.query_one(selector).render())


async def test_t_starts_the_run_with_engine_session_start_run(
    make_test_app, tui_data, tui_config, fake_session, settle
):
    seen = []
    app = make_test_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("t")
        await settle(app, "train")
        await pilot.pause()
        [(name, (config, data), kw)] = fake_session.calls
        assert name == "start_run" and config == tui_config and data is tui_data
        assert kw["store"] is app.store and kw["parent_id"] is None and kw["origin"] == "new"
        assert all(callable(kw[k]) for k in ("on_start", "on_epoch", "should_stop", "abandoned"))
        assert not kw["should_stop"]() and not kw["abandoned"]()
        # What the session reported reaches the app as messages in riders, with the store's id.
        [started] = {id(m): m for m in seen if isinstance(m, TrainingStarted)}.values()
        assert (started.job, started.run_id, started.naive_valid_mae) == (1, 41, 31_000.0)
        [epoch] = {id(m): m for m in seen if isinstance(m, EpochCompleted)}.values()
        assert (epoch.job, epoch.run_id) == (1, 41)
        assert math.isclose(epoch.valid_mae, 30_000.0) and math.isclose(epoch.train_mae, 40_000.0)
        # The session's RunResult is what the app shows (and keeps no other result type).
        assert app.job == 1 and app.run_id == 41 and not app.training
        assert "Run 41 stopped by the fake" in text(app, "#run-status")
        assert app.active is None  # no model: nothing to forecast with


async def test_the_runs_panes_resume_goes_through_engine_session_resume_run(
    make_test_app, tui_data, tui_config, fake_session, settle, until
):
    seen = []
    app = make_test_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        # A recorded run with a checkpoint file: what the Runs pane offers to resume.
        await until(pilot, lambda: app.store is not None, what="the run store")  # opened in a worker
        store = app.store
        parent = store.start_run(tui_config, tui_data, "cpu", torch_version="2.x (test)")
        store.log_epoch(parent, EpochEvent(1, tui_config.epochs, 0.05, 0.04, 0.03, 0.05, 0.1, 1, 0.03))
        checkpoint = store.checkpoint_path(parent)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_bytes(b"weights")
        store.finish_run(
            parent,
            "stopped",
            "stopped by the user",
            checkpoint=checkpoint,
            best_epoch=1,
            best_valid_mae=0.03,
            weights_epoch=1,
        )
        await pilot.press("6")
        await workers_done(pilot, rounds=4)
        await pilot.press("r")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("ctrl+u", "3", "enter")
        await settle(app, "train")
        await pilot.pause()
        [(name, (got_store, run_id, more, data), kw)] = fake_session.calls
        assert name == "resume_run" and (got_store, run_id, more, data) == (store, parent, 3, tui_data)
        assert all(callable(kw[k]) for k in ("on_start", "on_epoch", "should_stop", "abandoned"))
        [started] = {id(m): m for m in seen if isinstance(m, TrainingStarted)}.values()
        assert (started.job, started.run_id) == (1, 41)
        assert "Run 41 stopped by the fake" in text(app, "#run-status")
