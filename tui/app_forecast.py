"""Forecasts and backtests, for RidershipApp (tui/app.py): the Forecast pane's next-day request,
the multi-day view's request, the Backtest pane's request, and their workers' endings. Each runs the
model in use (``self.active``) on the data loaded (``self.data``).

A mixin of RidershipApp (it uses the app's state and ``_start``); its workers end in the app's
``_worker_state``, through ``WORKER_GROUPS``. Its handlers are name-based
(``on_forecast_pane_requested``), not ``@on``, which a mixin cannot use: see tui/app.py's docstring.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from engine.domain import DAY_TYPE_NAMES, format_riders

from . import jobs
from .format import HISTORY_DAYS, backtest_label, explain, model_label, run_title, trust_summary
from .messages import pane_may_be_gone
from .widgets.backtest import BacktestPane
from .widgets.forecast import ForecastPane
from .widgets.multiday import MultiDayView


class ForecastMixin:
    WORKER_GROUPS = {"forecast": "_forecast_worker", "multiday": "_multiday_worker", "backtest": "_backtest_worker"}

    def _missing_for_a_forecast(self, no_model: str) -> str:
        """Why the model in use cannot forecast or backtest now ("" when it can): ``no_model`` is the
        pane's own words for "no model yet"."""
        if self.active is None:
            return no_model
        return "The data is still loading." if self.data is None else ""

    @pane_may_be_gone
    def on_forecast_pane_requested(self, msg: ForecastPane.Requested) -> None:
        pane = self.query_one(ForecastPane)
        missing = self._missing_for_a_forecast(MultiDayView.NO_MODEL)  # the same words in both views
        if missing:
            pane.show_message(missing, error=True)
            return
        run, data, day_type, store = self.active, self.data, msg.day_type, self.store

        def work():
            from engine.assessment import bounds

            result, trust = jobs.forecast(run, data, day_type)
            jobs.record_forecasts(store, run, data, [result], [bounds(result, trust.intervals)], trust)  # the journal
            live = jobs.live_score(store, run, data)  # days it never saw, when the data holds some
            return (result, trust), run, data, live

        self._start(work, group="forecast")

    def _forecast_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(ForecastPane)
        if state == WorkerState.ERROR:
            pane.show_message(f"Could not forecast: {explain(worker.error)}", error=True)
        elif state == WorkerState.SUCCESS:
            (result, trust), run, data, live = worker.result
            self.live_score = live  # F forks on splits moved forward (tui/app_portal.py)
            from engine.assessment import bounds
            from engine.data.freshness import last_day_line, stale_note

            how = "from the calendar" if result.inferred else "chosen"
            band = bounds(result, trust.intervals)
            level = f"{trust.intervals.level:.0%}"
            text = (f"{result.date:%Y-%m-%d} ({result.date:%A}), day type {result.day_type} "
                    f"({DAY_TYPE_NAMES[result.day_type]}, {how})\n"
                    f"rail {format_riders(result.rail)} ({level}: {format_riders(band['rail_low'])}.."
                    f"{format_riders(band['rail_high'])})   bus {format_riders(result.bus)} "
                    f"({format_riders(band['bus_low'])}..{format_riders(band['bus_high'])}) riders\n"
                    + trust_summary(trust) + "\n"
                    + (f"Since: {live.line()}\n" + (f"Warning: {live.warning()}\n" if live.warning() else "")
                       + (f"F trains the same settings on splits moved forward {live.days:,} days\n"
                          if live.fork_worthwhile else "")
                       if live else "")
                    + (stale_note(data.last_date, result.date) or last_day_line(data.last_date)) + "\n"
                    f"Model of {run.name}: epoch {run.weights_epoch}'s weights, trained on {run.data_label}")
            pane.show_forecast(text, data.frame.iloc[-HISTORY_DAYS:], result.date, result.rail, result.bus, band)

    @pane_may_be_gone
    def on_multi_day_view_requested(self, msg: MultiDayView.Requested) -> None:
        view = self.query_one(MultiDayView)
        missing = self._missing_for_a_forecast(view.NO_MODEL)
        if missing:
            view.show_status(missing, error=True)
            return
        run, data, days, overrides, store = self.active, self.data, msg.days, msg.overrides, self.store

        def work():
            made = jobs.forecast_days(run, data, days, overrides)
            jobs.record_forecasts(store, run, data, made.forecasts, made.bands, made.trust)  # the journal
            return run, made

        self._start(work, group="multiday")

    def _multiday_worker(self, worker: Worker, state: WorkerState) -> None:
        view = self.query_one(MultiDayView)
        if state == WorkerState.ERROR:
            view.show_error(worker.error)
        elif state == WorkerState.SUCCESS:
            run, days = worker.result
            view.show_forecasts(days.forecasts, model_label(run), days.bands, days.trust)

    # -- backtest -------------------------------------------------------------------------------
    @pane_may_be_gone
    def on_backtest_pane_requested(self, msg: BacktestPane.Requested) -> None:
        self._backtest()

    def _backtest(self) -> None:
        """Backtest the model in use on its own validation and test splits (in a worker)."""
        pane = self.query_one(BacktestPane)
        missing = self._missing_for_a_forecast(pane.NO_MODEL)
        if missing:
            pane.show_status(missing, error=True)
            return
        run, data = self.active, self.data
        pane.show_status(f"Backtesting {run_title(run.run_id)} on its validation and test splits…")
        self._start(lambda: (run, data, jobs.backtest(run, data)), group="backtest")

    def _backtest_worker(self, worker: Worker, state: WorkerState) -> None:
        pane = self.query_one(BacktestPane)
        if state == WorkerState.ERROR:
            pane.show_error(worker.error)
        elif state == WorkerState.SUCCESS:
            run, data, result = worker.result
            pane.show_result(result, backtest_label(run, data.source.label))

