"""Using a trained model: one object that holds the weights, their settings and the data they run on.

The CLI (``evaluate``, ``forecast``) and the app (its forecast and backtest workers) go through a
Predictor instead of composing scoring, the LightGBM reference, intervals and forecasts themselves:

    p = Predictor.from_file("m.pt", data)          # or from_run(store, "latest", data), from_result(run, data)
    p.score()                                      # SplitScore per split, beside naive and LightGBM
    p.backtest()                                   # SplitBacktest per split: every day, per day type and kind
    p.assess(level=0.8, horizon=3)                 # scores + prediction intervals (cached)
    p.forecast(days=3, overrides={1: "U"})         # ForecastTable: forecasts, their bounds, the assessment
    p.rolling_origin("folds/", "2013-2019")       # the settings retrained on seven yearly folds, a report
    p.live_score()                                 # the model on the days after those it was scored on (cached)

Everything runs on the CPU thread policy of engine.inference.cpu_threads. The splits, the
reference's predictions and the assessment are computed once per Predictor.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import torch

from .assessment import Assessment, assess, bounds
from .config import TrainConfig
from .data.loading import RidershipData
from .daytypes import DayInputs, seen_in
from .forecast import Forecast, forecast_days
from .intervals import DEFAULT_LEVEL
from .scoring import SplitBacktest, SplitScore, backtest, reference_for, score_all


@dataclass(frozen=True)
class ForecastTable:
    """Forecasts of the days after the data, each with its interval (riders) and how far to trust them."""

    forecasts: list[Forecast]
    bands: list[dict[str, float]]  # rail_low, rail_high, bus_low, bus_high per day
    trust: Assessment

    def rows(self) -> list[dict]:
        """JSON-ready rows: day number, the forecast, its bounds rounded to riders."""
        return [
            {"day": n, **f.to_dict(), **{k: round(v) for k, v in band.items()}}
            for n, (f, band) in enumerate(zip(self.forecasts, self.bands), start=1)
        ]


@dataclass
class Predictor:
    model: Any  # engine.model.LstmModel
    config: TrainConfig
    data: RidershipData
    label: str = "the model"  # how a person names it: a path, "run 7"
    device: str = "cpu"
    weights_epoch: int | None = None
    payload: dict = field(default_factory=dict, repr=False)  # a model file's facts (weights_epoch, data...)
    trained_last: str | None = None  # the last day of the data it was trained on, where known
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _splits: dict | None = field(default=None, repr=False)
    _reference: Any = field(default=False, repr=False)  # False: not computed yet; None: lightgbm missing
    _assessment: tuple[float, int, Assessment] | None = field(default=None, repr=False)
    _train_frame: pd.DataFrame | None = field(default=None, repr=False)
    _live: dict = field(default_factory=dict, repr=False)  # level -> engine.livescore.LiveScore | None
    _holidays: Any = field(default=None, repr=False)  # engine.holiday_range.HolidayTable
    _predicted_as: dict = field(default_factory=dict, repr=False)  # (split, day type) -> riders

    # -- building one ---------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path, data: RidershipData) -> Predictor:
        """A saved model file (``train --save``) or a run's checkpoint."""
        from .store.modelfile import load_model

        model, config, payload = load_model(path, data)
        return cls(
            model.eval(),
            config,
            data,
            label=str(path),
            weights_epoch=payload.get("weights_epoch"),
            payload=payload,
            trained_last=(payload.get("data") or {}).get("last_date"),
        )

    @classmethod
    def from_run(cls, store, ref: str | int, data: RidershipData) -> Predictor:
        """A recorded run's kept model: ``ref`` is its id or "latest"."""
        from .session import load_recorded_run

        run = load_recorded_run(store, ref, data)
        return cls.from_result(run, data, trained_last=trained_last_of(store, run.run_id))

    @classmethod
    def from_result(cls, run, data: RidershipData, trained_last: str | None = None) -> Predictor:
        """An engine.session.RunResult (a run just trained, or loaded from the store); ``trained_last``:
        the last day of the data it was trained on (engine.predictor.trained_last_of), where known."""
        if run.model is None:
            from .errors import RidershipError

            raise RidershipError(f"{run.name} has no model: no epoch finished")
        return cls(
            run.model,
            run.config,
            data,
            label=run.name,
            device=run.device,
            weights_epoch=run.weights_epoch,
            payload={"weights_epoch": run.weights_epoch},
            trained_last=trained_last,
        )

    # -- what it is computed from ----------------------------------------------------------------
    def _threads(self):
        from .inference import cpu_threads

        return cpu_threads(torch.device(self.device), self.config.hidden_size)

    @property
    def splits(self) -> dict:
        if self._splits is None:
            from .data.windows import make_splits

            self._splits = make_splits(self.data, self.config)
        return self._splits

    def reference(self) -> dict | None:
        """LightGBM's predictions on the validation and test targets (None without lightgbm)."""
        if self._reference is False:
            self._reference = reference_for(self.data, self.splits, self.config)
        return self._reference

    def _cpu_model(self):
        return self.model if self.device == "cpu" else copy.deepcopy(self.model).cpu()

    # -- what it offers ------------------------------------------------------------------------
    def score(self, names=("valid", "test")) -> dict[str, SplitScore]:
        """MAE per split in riders, beside the naive forecast and the LightGBM reference."""
        with self._threads():
            return score_all(
                self.model,
                self.splits,
                self.data.feature_values(),
                self.config.batch_size,
                self.device,
                names,
                gbm=self.reference(),
            )

    def backtest(self, names=("valid", "test")) -> dict[str, SplitBacktest]:
        """Every day of the named splits, with errors per day type and per kind of day."""
        with self._threads():
            return backtest(
                self.model, self.data, self.config, names, self.device, made=self.splits, gbm=self.reference()
            )

    def assess(self, level: float = DEFAULT_LEVEL, horizon: int = 1) -> Assessment:
        """Scores and prediction intervals up to ``horizon`` days ahead, on the CPU; kept while the
        level is the same (one made for a longer horizon serves a shorter one)."""
        with self._lock:  # two forecasts asked at once assess once
            kept = self._assessment
            if kept is not None and kept[0] == level and kept[1] >= horizon:
                return kept[2]
            result = assess(
                self._cpu_model(),
                self.data,
                self.config,
                level=level,
                horizon=horizon,
                splits=self.splits,
                gbm=self.reference(),
            )
            self._assessment = (level, horizon, result)
            return result

    def seen(self, day: DayInputs) -> int:
        """Training days with ``day``'s weekday and day type (0: the forecast extrapolates)."""
        if self._train_frame is None:
            start, end = self.config.split_bounds()["train"]
            frame = self.data.frame
            self._train_frame = frame.loc[start:end] if end is not None else frame.loc[start:]
        return seen_in(self._train_frame, day)

    def forecasts(self, days: int = 1, overrides: dict | None = None) -> list[Forecast]:
        """The ``days`` days after the data (engine.forecast.forecast_days), without intervals; an
        ordinary weekday run as U held to the real holidays of the training split (``holiday_table``)."""
        holidays = self.holiday_table()
        with self._threads():
            return forecast_days(
                self.model,
                self.data,
                self.config.window_length,
                days,
                overrides,
                self.device,
                seen=self.seen,
                holidays=holidays,
            )

    def forecast(self, days: int = 1, overrides: dict | None = None, level: float = DEFAULT_LEVEL) -> ForecastTable:
        """The ``days`` days after the data with their intervals and the assessment. ``overrides``:
        ``{date or day number: day type}``; a single day is the first row of a longer forecast.
        A weekday run as U and held to real holidays' range gets the weekday forecast's interval
        times that range (engine.holiday_range)."""
        forecasts = self.forecasts(days, overrides)
        trust = self.assess(level, horizon=len(forecasts))
        bands = []
        for n, f in enumerate(forecasts, start=1):
            if f.held is not None and f.held.range is not None:
                weekday = replace(f, day_type="W", group=None, seen=None, **f.held.weekday)
                bands.append(f.held.band(bounds(weekday, trust.intervals, n)))
            else:
                bands.append(bounds(f, trust.intervals, n))
        forecasts = [replace(f, band=band) for f, band in zip(forecasts, bands)]
        return ForecastTable(forecasts, bands, trust)

    def rolling_origin(
        self, out, years: str = "2013-2019", seeds=(1, 2, 3), kinds: bool = True, log=print
    ) -> list[str]:
        """engine.rolling_origin: retrain these settings on each yearly fold x seed (results kept in
        the folder ``out``: a fold already there is not retrained), and the report's lines."""
        from pathlib import Path

        from .rolling_origin import load_cells, report, run_folds, years_of

        run_folds(self.data, self.config, Path(out), years_of(years), list(seeds), log=log)
        return report(load_cells(Path(out)), f"rolling origin of {self.label}", kinds=kinds)

    def live_score(self, level: float = DEFAULT_LEVEL):
        """engine.livescore.LiveScore: the model on the days after its test split (or after the data
        it was trained on), on the CPU; None when the data holds no such days. Kept per level."""
        from .livescore import live_score, seen_until

        with self._lock:
            if level not in self._live:
                since = seen_until(self.config, self.trained_last)
                self._live[level] = live_score(self._cpu_model(), self.data, self.config, since, level=level)
            return self._live[level]

    def kept_live_score(self, level: float = DEFAULT_LEVEL):
        """The live score computed already at ``level`` (None when not computed, or none)."""
        return self._live.get(level)

    def learn_trained_last(self, last: str | None) -> None:
        """The last day of the data it was trained on, learnt later (from a run store): live scores
        kept from before are dropped, as they may have started from the test split's end."""
        if last and last != self.trained_last:
            with self._lock:
                self.trained_last = last
                self._live.clear()

    def predicted_as(self, name: str, day_type: str | None):
        """engine.whatif.predict_as: split ``name``'s days forecast as ``day_type`` (riders), kept
        (the counterfactual and the held check ask for the same ones)."""
        if (name, day_type) not in self._predicted_as:
            from .whatif import predict_as

            self._predicted_as[name, day_type] = predict_as(self, name, day_type)
        return self._predicted_as[name, day_type]

    def holiday_table(self):
        """engine.holiday_range.holiday_table of the real weekday holidays in this config's training
        split (computed once)."""
        if self._holidays is None:
            from .holiday_range import holiday_table

            start, end = self.config.split_bounds()["train"]
            frame = self.data.frame
            self._holidays = holiday_table(
                frame, frame.index[0] if start is None else start, frame.index[-1] if end is None else end
            )
        return self._holidays


def trained_last_of(store, run_id: int | None) -> str | None:
    """The last day of the data a recorded run was trained on (None when the store does not say)."""
    from .errors import RidershipError

    if store is None or run_id is None:
        return None
    try:
        return store.get_run(run_id, with_epochs=False).data_last
    except RidershipError:
        return None
