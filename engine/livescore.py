"""How the model in use does on days it never saw: after an update brings days past the data it was
trained on (or past its test split's end, when the split has one), it is scored on those days
beside the naive forecast and the LightGBM reference on the same days, with its intervals' coverage.

The days are cut as a test split that starts ``window_length`` days before the first new day, so
its first target is that day; the machinery is engine.assessment's, so the numbers mean the same as
the trust line's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

FORK_AFTER_DAYS = 60  # this many new days make a fork on splits moved forward worth offering


@dataclass(frozen=True)
class LiveScore:
    since: pd.Timestamp  # the last day the model had seen
    days: int  # days scored after it
    score: object  # engine.scoring.SplitScore on those days (riders)
    intervals: object  # engine.intervals.Intervals: coverage on those days

    @property
    def worse_than_naive(self) -> bool:
        return self.score.ratio > 1

    @property
    def fork_worthwhile(self) -> bool:
        return self.days > FORK_AFTER_DAYS

    def line(self) -> str:
        from .domain import format_riders as r

        s = self.score
        gbm = f", LightGBM {r(s.gbm_mae)} (model/LightGBM {s.gbm_ratio:.2f})" if s.gbm_mae == s.gbm_mae else ""
        cov = self.intervals.coverage
        covered = (
            f"; {self.intervals.level:.0%} intervals covered rail {cov['rail']:.0%} and bus {cov['bus']:.0%}"
            if cov
            else ""
        )
        return (
            f"on the {self.days:,} days since {self.since:%Y-%m-%d} (never seen in training): model {r(s.mae)}, "
            f"naive {r(s.naive_mae)} (model/naive {s.ratio:.2f}){gbm}{covered}"
        )

    def warning(self) -> str:
        if not self.worse_than_naive:
            return ""
        return f"since {self.since:%Y-%m-%d} this model does worse than repeating last week; do not plan with it" + (
            " (train it again on splits moved forward: F in the app)" if self.fork_worthwhile else ""
        )

    def to_dict(self) -> dict:
        return {
            "since": f"{self.since:%Y-%m-%d}",
            "days": self.days,
            "score": self.score.to_dict(),
            "intervals": self.intervals.to_dict(),
            "worse_than_naive": self.worse_than_naive,
        }


def seen_until(config, trained_last: str | None) -> pd.Timestamp | None:
    """The last day the model's splits reached: its test split's end, else the last day of the data it
    was trained on (None when neither is known)."""
    if config.test_end:
        end = config.split_bounds()["test"][1]
        return pd.Timestamp(end).normalize()
    return pd.Timestamp(trained_last) if trained_last else None


def live_score(model, data, config, since, *, level: float = 0.8) -> LiveScore | None:
    """The model on the days after ``since`` (None when the data holds none)."""
    from .assessment import assess

    if since is None:
        return None
    since = pd.Timestamp(since).normalize()
    days = int((data.frame.index > since).sum())
    if days <= 0:
        return None
    start = since + pd.Timedelta(days=1) - pd.Timedelta(days=config.window_length)
    live = config.replace(test_start=f"{start:%Y-%m-%d}", test_end="")
    trust = assess(model, data, live, level=level)
    return LiveScore(since, days, trust.scores["test"], trust.intervals)


def moved_forward(config, live: LiveScore):
    """``config`` with every split bound moved forward by the days scored live, so that the splits end
    where the data ends now (the fork a model that aged is offered). Bounds become YYYY-MM-DD."""
    shift = pd.Timedelta(days=live.days)
    changes = {}
    for split, (start, end) in config.split_bounds().items():
        if start is not None:
            changes[f"{split}_start"] = f"{start.normalize() + shift:%Y-%m-%d}"
        if end is not None and getattr(config, f"{split}_end"):
            changes[f"{split}_end"] = f"{end.normalize() + shift:%Y-%m-%d}"
    return config.replace(**changes)
