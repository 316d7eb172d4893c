"""How far to trust a model's forecast: its validation and test MAE beside the naive forecast and
the gradient-boosting reference, and prediction intervals with their coverage on the test split.
What the CLI prints under a forecast and the app shows beside it."""

from __future__ import annotations

from dataclasses import dataclass

from .intervals import DEFAULT_LEVEL, Intervals


@dataclass(frozen=True)
class Assessment:
    scores: dict  # SplitScore by split ("valid", "test"), in riders
    intervals: Intervals

    @property
    def worse_than_naive(self) -> list[str]:
        """The splits on which the model does worse than repeating last week."""
        return [name for name, s in self.scores.items() if s.ratio > 1]

    def to_dict(self) -> dict:
        return {
            "scores": {k: v.to_dict() for k, v in self.scores.items()},
            "intervals": self.intervals.to_dict(),
            "worse_than_naive": self.worse_than_naive,
        }


def assess(
    model, data, config, *, level: float = DEFAULT_LEVEL, horizon: int = 1, splits: dict | None = None, gbm=False
) -> Assessment:
    """Scores beside naive and LightGBM, and intervals up to ``horizon`` days ahead, on the CPU
    (``model`` must be there). ``splits`` and ``gbm`` (the reference's predictions): already computed
    (engine.predictor.Predictor keeps them), else cut and fitted here."""
    import torch

    from .data.windows import make_splits
    from .inference import cpu_threads
    from .intervals import calibrate
    from .scoring import reference_for, score_all

    splits = make_splits(data, config) if splits is None else splits
    gbm = reference_for(data, splits, config) if gbm is False else gbm
    with cpu_threads(torch.device("cpu"), config.hidden_size):
        scores = score_all(model, splits, data.feature_values(), config.batch_size, "cpu", gbm=gbm)
        intervals = calibrate(model, data, splits, config.window_length, config.inputs, level, horizon)
    return Assessment(scores, intervals)


def bounds(forecast, intervals: Intervals, horizon: int = 1) -> dict[str, float]:
    """``rail_low``, ``rail_high``, ``bus_low``, ``bus_high`` in riders for a forecast h days ahead:
    a holiday off Sunday, or a what-if never seen in training, gets at least the holidays' width."""
    from .daytypes import HOLIDAY_GROUP

    group = getattr(forecast, "group", None) or (HOLIDAY_GROUP if getattr(forecast, "unseen", False) else None)
    out = {}
    for series in ("rail", "bus"):
        value = getattr(forecast, series)
        half = intervals.half_width(horizon, series, forecast.day_type, value, group)
        out[f"{series}_low"], out[f"{series}_high"] = max(0.0, value - half), value + half
    return out
