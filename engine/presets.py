"""Named starting points for the training settings: the article's, and one that beats the naive forecast.

A preset only changes the fields it names; everything else keeps the article's value (or the value
the caller already chose). What each preset scores on the real data, and how `normalized` and
`best` were found: research/RESULTS.md.
"""

from __future__ import annotations

from typing import Any

from .config import TrainConfig
from .errors import ConfigError

DEFAULT_PRESET = "best"  # what `ridership train` and the app start from; TrainConfig() stays the article

PRESETS: dict[str, dict[str, Any]] = {
    "article": {},
    # Each window divided by its last week's mean level, so the model learns the weekly shape and
    # the 2020 collapse stays in range; a larger learning rate because the normalised errors are
    # small; training from 2010 (more holidays to learn from). Validation and test are the article's.
    "normalized": {"normalize": "week", "lr": 0.2, "train_start": "2010-01"},
    # The next day's calendar, minor holidays and school breaks as inputs, windows scaled by their last
    # week's level (capped at 1.6x) in log space, a 28-day linear "highway" beside a 24-unit LSTM over
    # 14 days, L1, AdamW with a cosine decay, trained from 2005. How each setting was found and what
    # it bought, round by round: research/RESULTS.md. Trains in about 1.7x the article's time.
    "best": {
        "normalize": "week",
        "inputs": "holidays",
        "optimizer": "adam",
        "loss": "l1",
        "schedule": "cosine",
        "lr": 0.003,
        "clip": 1.0,
        "epochs": 60,
        "batch_size": 128,
        "hidden_size": 24,
        "highway_days": 28,
        "lstm_days": 14,
        "norm_clip": 1.6,
        "weight_decay": 0.01,
        "restore_best": True,
        "train_start": "2005-01",
        "log_scale": True,
    },
}

PRESET_HELP = {
    "article": "the article's settings, unchanged (test MAE about 4x the naive forecast)",
    "normalized": "windows scaled by their last week's level, lr 0.2, training from 2010-01 "
    "(beats the naive forecast by about 25%; same validation and test splits)",
    "best": "windows scaled by their last week's level (capped at 1.6x), calendar, minor-holiday and "
    "school-break inputs, in log space, a 4-week linear path beside a small LSTM, L1, AdamW, 60 epochs "
    "from 2005-01",
}


def apply_preset(name: str, config: TrainConfig | None = None) -> TrainConfig:
    """``config`` (default: the article's) with the preset's fields set; raises ConfigError for an unknown name."""
    if name not in PRESETS:
        raise ConfigError("preset", f"{name!r} is not a preset; choose one of {', '.join(PRESETS)}")
    return (config or TrainConfig()).replace(**PRESETS[name])


def preset_of(config: TrainConfig) -> str | None:
    """The preset whose fields ``config`` matches exactly (others at the article's values), or None."""
    # The core and the device do not change what is learned, so they do not count.
    plain = config.replace(device=TrainConfig.device, core=TrainConfig.core)
    for name in PRESETS:
        if plain == apply_preset(name):
            return name
    return None
