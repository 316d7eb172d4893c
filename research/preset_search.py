"""The search behind the "better" preset (engine/presets.py): train candidate configurations on the
real CTA data and score each on the article's validation and test splits beside the naive
"same day last week" forecast on the same targets.

    RIDERSHIP_DATA=path/to/cta.csv python -m research.preset_search            # every candidate
    RIDERSHIP_DATA=... python -m research.preset_search norm_wc norm_wc_long   # some of them
    RIDERSHIP_DATA=... python -m research.preset_search normalize=window,lr=0.2  # ad hoc settings

Each run is seeded (TrainConfig.seed), so a row is reproducible. Results are printed, not stored.
"""

from __future__ import annotations

import os
import sys
import time

from engine.config import TrainConfig
from engine.data import make_splits
from engine.data.sources import load_path
from engine.presets import PRESETS
from engine.scoring import score_all
from engine.training import fit

BASE = TrainConfig(device="cpu")
NORM = {"normalize": "window"}  # level = mean of the whole window
WEEK = {"normalize": "week"}  # level = mean of the window's last 7 days
WC = {"target": "weekly_change"}
LONG = {"train_start": "2010-01"}

# name -> (what it tries, overrides of the article's settings), in the order they were tried.
CANDIDATES = {
    "article": ("the article's settings", {}),
    "norm": ("window level", NORM),
    "wc": ("predict the change from last week", WC),
    "norm_wc": ("window level + weekly change", {**NORM, **WC}),
    "norm_wc_lr0.01": ("window level + weekly change, lr 0.01", {**NORM, **WC, "lr": 0.01}),
    "norm_wc_best": ("window level + weekly change, best epoch", {**NORM, **WC, "restore_best": True}),
    "norm_wc_lr0.2": ("window level + weekly change, lr 0.2", {**NORM, **WC, "lr": 0.2}),
    "norm_wc_lr0.5": ("window level + weekly change, lr 0.5", {**NORM, **WC, "lr": 0.5}),
    "norm_wc_lr1": ("window level + weekly change, lr 1", {**NORM, **WC, "lr": 1.0}),
    "norm_lr0.01": ("window level, lr 0.01", {**NORM, "lr": 0.01}),
    "norm_lr0.1": ("window level, lr 0.1", {**NORM, "lr": 0.1}),
    "norm_lr0.2": ("window level, lr 0.2", {**NORM, "lr": 0.2}),
    "norm_lr0.3": ("window level, lr 0.3", {**NORM, "lr": 0.3}),
    "norm_lr0.5": ("window level, lr 0.5", {**NORM, "lr": 0.5}),
    "norm_lr0.2_best": ("window level, lr 0.2, best epoch", {**NORM, "lr": 0.2, "restore_best": True}),
    "norm_lr0.2_e100": ("window level, lr 0.2, 100 epochs", {**NORM, "lr": 0.2, "epochs": 100}),
    "norm_lr0.2_2010": ("window level, lr 0.2, train from 2010", {**NORM, **LONG, "lr": 0.2}),
    "norm_wc_lr0.5_2010": ("window level + weekly change, lr 0.5, train from 2010", {**NORM, **WC, **LONG, "lr": 0.5}),
    "week_lr0.2": ("week level, lr 0.2", {**WEEK, "lr": 0.2}),
    "week_lr0.2_s1": ("week level, lr 0.2, seed 1", {**WEEK, "lr": 0.2, "seed": 1}),
    "week_lr0.2_s2": ("week level, lr 0.2, seed 2", {**WEEK, "lr": 0.2, "seed": 2}),
    "week_lr0.1_2010": ("week level, lr 0.1, train from 2010", {**WEEK, **LONG, "lr": 0.1}),
    "week_lr0.2_2010": ("week level, lr 0.2, train from 2010 (the preset)", {**WEEK, **LONG, "lr": 0.2}),
    "week_lr0.2_2010_s1": ("the preset, seed 1", {**WEEK, **LONG, "lr": 0.2, "seed": 1}),
    "week_lr0.2_2010_s2": ("the preset, seed 2", {**WEEK, **LONG, "lr": 0.2, "seed": 2}),
    "week_lr0.2_2010_s3": ("the preset, seed 3", {**WEEK, **LONG, "lr": 0.2, "seed": 3}),
    "week_lr0.3_2010": ("week level, lr 0.3, train from 2010", {**WEEK, **LONG, "lr": 0.3}),
    "week_lr0.2_2010_e30": ("the preset, 30 epochs", {**WEEK, **LONG, "lr": 0.2, "epochs": 30}),
    "week_lr0.2_2010_h64": ("the preset, hidden 64", {**WEEK, **LONG, "lr": 0.2, "hidden_size": 64}),
    "week_lr0.2_2001": ("week level, lr 0.2, train from 2001", {**WEEK, "train_start": "2001-01", "lr": 0.2}),
    "week_wc_lr0.2_2010": ("week level + weekly change, lr 0.2, train from 2010", {**WEEK, **WC, **LONG, "lr": 0.2}),
    "week_wc_lr0.5_2010": ("week level + weekly change, lr 0.5, train from 2010", {**WEEK, **WC, **LONG, "lr": 0.5}),
    # Window 28 moves every split's first target, so its naive baseline is on other targets.
    "week_lr0.2_2010_w28": ("the preset, window 28 (other targets!)", {**WEEK, **LONG, "lr": 0.2, "window_length": 28}),
}
assert CANDIDATES["week_lr0.2_2010"][1] == PRESETS["normalized"]


def parse(spec: str) -> dict:
    """``field=value,field=value`` -> overrides, typed like the field's default."""
    out = {}
    for item in spec.split(","):
        key, _, text = item.partition("=")
        kind = type(getattr(BASE, key))
        out[key] = text.lower() in ("1", "true") if kind is bool else kind(text)
    return out


def run(name: str, data) -> dict:
    what, overrides = CANDIDATES[name] if name in CANDIDATES else ("ad hoc", parse(name))
    config = BASE.replace(**overrides).validate()
    splits = make_splits(data, config)
    started = time.perf_counter()
    result = fit(config, splits)
    seconds = time.perf_counter() - started
    scores = score_all(result.model, splits, data.features().to_numpy(), config.batch_size, result.device)
    return {"name": name, "what": what, "seconds": seconds, "status": result.status, "scores": scores}


def main(names: list[str]) -> int:
    path = os.environ.get("RIDERSHIP_DATA")
    if not path:
        print("set RIDERSHIP_DATA to the CTA CSV", file=sys.stderr)
        return 2
    data = load_path(path)
    unknown = [n for n in names if n not in CANDIDATES and "=" not in n]
    if unknown:
        print(f"unknown candidates {unknown}; known: {', '.join(CANDIDATES)}", file=sys.stderr)
        return 2
    print(
        f"{'candidate':<22} {'valid':>8} {'naive':>8} {'ratio':>6} {'test':>8} {'naive':>8} {'ratio':>6} "
        f"{'rail/n':>6} {'bus/n':>6} {'s':>5}  what"
    )
    for name in names or list(CANDIDATES):
        row = run(name, data)
        v, t = row["scores"]["valid"], row["scores"]["test"]
        print(
            f"{name[:22]:<22} {v.mae:8.0f} {v.naive_mae:8.0f} {v.ratio:6.3f} {t.mae:8.0f} {t.naive_mae:8.0f} "
            f"{t.ratio:6.3f} {t.rail_mae / t.naive_rail_mae:6.3f} {t.bus_mae / t.naive_bus_mae:6.3f} "
            f"{row['seconds']:5.1f}  {row['what']}" + ("" if row["status"] == "finished" else f" [{row['status']}]"),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
