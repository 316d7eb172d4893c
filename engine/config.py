"""Training settings. Defaults are the article's; ``validate`` names the field at fault."""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import math
import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # pandas loads inside the functions that use it: the app's first screen needs
    import pandas as pd  # TrainConfig (its form) but not pandas.

CORES = ("fused", "cell")
DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_EPOCHS = 1_000_000  # a bigger number is a typo, not a plan (and overflows a progress bar)
FLOAT32_MAX = 3.4028234663852886e38  # torch applies lr to float32 weights; larger cannot convert
NORMALIZE = ("none", "window", "week")  # see engine/model.py
TARGET_KINDS = ("level", "weekly_change")
INPUTS = ("article", "calendar", "holidays")
OPTIMIZERS = ("sgd", "adam")
LOSSES = ("huber", "l1")
SCHEDULES = ("plateau", "cosine")


def setting(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A TrainConfig field with its help text and choices: the one source for the CLI's options
    (cli/options.py) and the app's form (tui/widgets/hyperparams.py). A field added with this
    shows up in both with no other edit."""
    metadata = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class TrainConfig:
    window_length: int = setting(56, "days in each input window")
    hidden_size: int = setting(32, "LSTM hidden units")
    batch_size: int = setting(32, "windows per training batch")
    lr: float = setting(0.05, "learning rate of the optimizer (> 0)")
    momentum: float = setting(0.95, "SGD momentum, in [0, 1) (Adam ignores it)")
    epochs: int = setting(50, "training epochs")
    patience: int = setting(20, "epochs without improvement before the LR drops")
    factor: float = setting(0.1, "LR multiplier on a plateau, in (0, 1)")
    seed: int = setting(42, "seed for the initial weights and the shuffles")
    train_start: str = setting("2016-01", "first month/day of the training split (YYYY-MM or YYYY-MM-DD)")
    train_end: str = setting("2018-12", "last month/day of the training split")
    valid_start: str = setting("2019-01", "first month/day of the validation split")
    valid_end: str = setting("2019-05", "last month/day of the validation split")
    test_start: str = setting("2019-06", "first month/day of the test split")
    test_end: str = setting("", "last month/day of the test split (empty: to the end of the data)")
    core: str = setting("fused", "recurrent core: fused (nn.LSTM) or cell (LSTMCell unrolled, as the article)", CORES)
    device: str = setting("auto", "auto, cpu, cuda or mps", DEVICES)
    # The article ends with the last epoch's weights; True ends with the best validation epoch's.
    restore_best: bool = setting(False, "end with the best validation epoch's weights instead of the last")
    # Reframings inside the model (engine/model.py); the defaults are the article's.
    normalize: str = setting(
        "none",
        "none (the article), window or week: divide each window by its mean level (all of it, or its last 7 days)",
        NORMALIZE,
    )
    target: str = setting(
        "level", "level (the article) or weekly_change: predict the change from the same day last week", TARGET_KINDS
    )
    # Beyond the article (the "best" preset, engine/presets.py); the defaults keep the article's run.
    inputs: str = setting(
        "article",
        "article (rail, bus, next day's type), calendar (also the next day's "
        "weekday and CTA holiday flag) or holidays (also minor holidays and school "
        "breaks)",
        INPUTS,
    )
    optimizer: str = setting("sgd", "sgd (with momentum, the article) or adam", OPTIMIZERS)
    loss: str = setting("huber", "training loss: huber (the article) or l1 (the MAE itself)", LOSSES)
    schedule: str = setting(
        "plateau",
        "plateau (the article: lr times factor after patience epochs without "
        "improvement) or cosine (lr decays to 0 over the run, per batch)",
        SCHEDULES,
    )
    clip: float = setting(0.0, "clip the gradient norm to this (0: no clipping, the article)")
    highway_days: int = setting(
        0,
        "a linear path over the last N normalized days, weighted per next-day "
        "calendar column, added to the LSTM's output (0: none; needs normalize)",
    )
    lstm_days: int = setting(0, "the LSTM reads only the window's last N days (0: all of it)")
    norm_clip: float = setting(
        0.0,
        "cap the normalized rail and bus inputs at this many times the window's "
        "level, so days before a collapse are not extrapolated (0: no cap; needs "
        "normalize)",
    )
    weight_decay: float = setting(0.0, "decoupled weight decay (AdamW; L2 with sgd) (0: none, the article)")
    log_scale: bool = setting(
        False,
        "read the normalized days as logs and predict the log of the next day's "
        "ratio to the level, so weekly and holiday effects add up rather than "
        "multiply (needs normalize)",
    )

    @classmethod
    def settings(cls) -> tuple[dataclasses.Field, ...]:
        """The fields, each with ``metadata["help"]`` (and ``["choices"]`` where the value is one of a set)."""
        return fields(cls)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], "is not a training setting")
        return cls(**values)

    def split_bounds(self) -> dict[str, tuple[pd.Timestamp | None, pd.Timestamp | None]]:
        """Each split's first and last instant, resolving partial dates like pandas slicing."""
        out = {}
        for split in ("train", "valid", "test"):
            start = getattr(self, f"{split}_start")
            end = getattr(self, f"{split}_end")
            out[split] = (
                _period(f"{split}_start", start).start_time if start else None,
                _period(f"{split}_end", end).end_time if end else None,
            )
        return out

    def _split_days(self) -> dict[str, tuple[datetime.date | None, datetime.date | None]]:
        """Each split's first and last day, as split_bounds resolves them but without pandas:
        validate runs as the app's form is first drawn, and importing pandas costs a second there."""
        out = {}
        for split in ("train", "valid", "test"):
            start = getattr(self, f"{split}_start")
            end = getattr(self, f"{split}_end")
            out[split] = (
                _days(f"{split}_start", start)[0] if start else None,
                _days(f"{split}_end", end)[1] if end else None,
            )
        return out

    def validate(self) -> TrainConfig:
        """Raise ConfigError naming the first invalid field; return self when all is well."""
        _positive_int(self, "window_length")
        _positive_int(self, "hidden_size")
        _positive_int(self, "batch_size")
        _positive_int(self, "epochs")
        if not 0 <= _int(self, "seed") < 2**63:  # torch's generator takes a 64-bit seed
            raise ConfigError("seed", f"must be a whole number from 0 to 2**63 - 1, got {self.seed!r}")
        if self.epochs > MAX_EPOCHS:
            raise ConfigError("epochs", f"must be at most {MAX_EPOCHS:,}, got {self.epochs!r}")
        if not isinstance(self.patience, int) or isinstance(self.patience, bool) or self.patience < 0:
            raise ConfigError("patience", f"must be a whole number >= 0, got {self.patience!r}")
        if not _finite(self.lr) or not 0 < self.lr <= FLOAT32_MAX:
            raise ConfigError("lr", f"must be a number > 0 and at most {FLOAT32_MAX:.3g}, got {self.lr!r}")
        if not _finite(self.momentum) or not 0 <= self.momentum < 1:
            raise ConfigError("momentum", f"must be in [0, 1), got {self.momentum!r}")
        if not _finite(self.factor) or not 0 < self.factor < 1:
            raise ConfigError("factor", f"must be strictly between 0 and 1, got {self.factor!r}")
        if self.core not in CORES:
            raise ConfigError("core", f"must be one of {', '.join(CORES)}, got {self.core!r}")
        if self.device not in DEVICES:
            raise ConfigError("device", f"must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.normalize not in NORMALIZE:
            raise ConfigError("normalize", f"must be one of {', '.join(NORMALIZE)}, got {self.normalize!r}")
        if self.target not in TARGET_KINDS:
            raise ConfigError("target", f"must be one of {', '.join(TARGET_KINDS)}, got {self.target!r}")
        for name, choices in (("inputs", INPUTS), ("optimizer", OPTIMIZERS), ("loss", LOSSES), ("schedule", SCHEDULES)):
            if getattr(self, name) not in choices:
                raise ConfigError(name, f"must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if not _finite(self.clip) or self.clip < 0:
            raise ConfigError("clip", f"must be a number >= 0 (0: no clipping), got {self.clip!r}")
        for name in ("norm_clip", "weight_decay"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise ConfigError(name, f"must be a number >= 0 (0: off), got {value!r}")
        if self.norm_clip and self.normalize == "none":
            raise ConfigError("norm_clip", "needs normalize window or week (it caps the normalized inputs)")
        for name in ("highway_days", "lstm_days"):  # more than the window means the whole window
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
                raise ConfigError(name, f"must be a whole number from 0 to 10000 (0: off), got {value!r}")
        if not isinstance(self.log_scale, bool):
            raise ConfigError("log_scale", f"must be true or false, got {self.log_scale!r}")
        if self.log_scale and self.normalize == "none":
            raise ConfigError("log_scale", "needs normalize window or week (it takes the log of the normalized days)")
        if self.highway_days and self.normalize == "none":
            raise ConfigError("highway_days", "needs normalize window or week (the path reads normalized days)")
        if self.target == "weekly_change" and self.window_length < 7:
            raise ConfigError(
                "window_length",
                f"must be at least 7 with target weekly_change (the same day "
                f"last week must be in the window), got {self.window_length}",
            )
        for name in ("train_start", "train_end", "valid_start", "valid_end", "test_start"):
            if not getattr(self, name):
                raise ConfigError(name, "is required (a date such as 2019-01 or 2019-01-15)")
        bounds = self._split_days()
        order = [("train", "valid"), ("valid", "test")]
        for split, (start, end) in bounds.items():
            if end is not None and start > end:
                raise ConfigError(f"{split}_end", f"{_day(end)} is before {split}_start {_day(start)}")
        for first, second in order:
            if bounds[first][1] >= bounds[second][0]:
                raise ConfigError(
                    f"{second}_start",
                    f"{_day(bounds[second][0])} must come after {first}_end {_day(bounds[first][1])}"
                    " (splits must be in order and not overlap)",
                )
        return self


# pandas alone reads almost anything as a period ("January" is 0001-01), so check the form first.
_DATE_FORM = re.compile(r"\d{4}(-\d{1,2}(-\d{1,2})?)?")


def _days(field: str, text: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day of a date or partial date (what pd.Period(text) spans), or
    ConfigError. Years 1..9999, months 1..12 and days of the month, as pandas accepts them."""
    try:
        if not _DATE_FORM.fullmatch(str(text).strip()):
            raise ValueError(text)
        parts = [int(p) for p in str(text).strip().split("-")]
        year, month, day = parts + [None] * (3 - len(parts))
        if day is not None:
            first = last = datetime.date(year, month, day)
        elif month is not None:
            first = datetime.date(year, month, 1)
            last = datetime.date(year, month, calendar.monthrange(year, month)[1])
        else:
            first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    except (ValueError, TypeError):
        raise ConfigError(field, f"{text!r} is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)") from None
    return first, last


def _period(field: str, text: str) -> pd.Period:
    import pandas as pd

    _days(field, text)  # the same dates accepted with or without pandas
    return pd.Period(str(text).strip())


def _day(ts: pd.Timestamp | datetime.date) -> str:
    return ts.strftime("%Y-%m-%d")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int(cfg: TrainConfig, name: str) -> int:
    value = getattr(cfg, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(name, f"must be a whole number, got {value!r}")
    return value


def _positive_int(cfg: TrainConfig, name: str) -> None:
    if _int(cfg, name) <= 0:
        raise ConfigError(name, f"must be a whole number > 0, got {getattr(cfg, name)!r}")


# One line of help per setting, by name (derived from the fields' metadata).
FIELD_HELP = {f.name: f.metadata["help"] for f in fields(TrainConfig)}
