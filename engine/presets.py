"""Named starting points for the training settings: the article's, and one that beats the naive forecast.

A preset only changes the fields it names; everything else keeps the article's value (or the value
the caller already chose). The "normalized" preset came out of bench/preset_search.py; on the real
CTA data it scores, on the article's own validation and test targets, about 25% below the naive
"same day last week" MAE, where the article's model is 4.2x above it on the test split.
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
    # bench/best_search.py and bench/recipe_search.py (bench/results/round4_*.log): the next day's
    # weekday, CTA holiday, minor holiday and school break as inputs (inputs="holidays"), an L1 loss
    # (the MAE itself), AdamW (weight decay 0.01) with a cosine decay, LSTNet's linear "highway" over
    # the last 28 normalized days (per calendar column) beside a 24-unit LSTM that reads the last 14;
    # normalized inputs capped at 1.6 times the last week's level (the weeks before a collapse are
    # not extrapolated); batches of 128, 60 epochs, the best epoch's weights; trained from 2005 (round
    # 5, bench/rolling_origin.py: over seven yearly folds more history lowered the pooled validation
    # error for each of three seeds, 1.026 to 1.018 of LightGBM's, and the test error 0.988 to 0.922);
    # in log space (round 6, log_scale: the normalized days as logs, the output the log of the next
    # day's ratio, so a weekday's or a holiday's effect adds rather than multiplies; on the same seven
    # folds and seeds the pooled validation error went 1.018 to 1.005 of LightGBM's and test 0.922 to
    # 0.895, lower for each seed; then lr 0.012 to 0.003, 1.005 to 0.995; bench/results/round6_*.log).
    # Trains in about 1.7x the article's time.
    "best": {"normalize": "week", "inputs": "holidays", "optimizer": "adam", "loss": "l1", "schedule": "cosine",
             "lr": 0.003, "clip": 1.0, "epochs": 60, "batch_size": 128, "hidden_size": 24, "highway_days": 28,
             "lstm_days": 14, "norm_clip": 1.6, "weight_decay": 0.01, "restore_best": True,
             "train_start": "2005-01", "log_scale": True},
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
