"""Issue 9: a preset (or overrides of it) against the LightGBM reference on several date splits.

Each run goes through the engine as the product runs it (engine.session.start_run, CPU, one torch
thread by the engine's own policy); its scores carry the model's MAE, the naive "same day last week"
MAE and LightGBM's MAE (engine/reference.py, trained on the run's own training split) in riders.

    RIDERSHIP_DATA=path/to/cta.csv python -m research.best_search [--preset best] \
        [--splits article,2017,2020] [--seeds 1,2,3] [--no-article-time] [--log FILE] [key=value ...]

key=value overrides any TrainConfig field on top of the preset (e.g. ``highway_days=21 epochs=60``).
A split sets train_end, valid and test dates; train_start stays the preset's. Prints per split and
seed: valid, valid/naive, valid/LightGBM, test, test/naive, test/LightGBM, training seconds (the
epochs' own time) and the ratio to the article preset's training time, measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from engine.config import TrainConfig
from engine.data.sources import load_path
from engine.presets import PRESETS, apply_preset
from engine.session import start_run

# Split dates (train_start is the preset's): the article's, one two years earlier, one across 2020.
SPLITS = {
    "article": dict(train_end="2018-12", valid_start="2019-01", valid_end="2019-05", test_start="2019-06", test_end=""),
    "2017": dict(
        train_end="2016-12", valid_start="2017-01", valid_end="2017-06", test_start="2017-07", test_end="2018-06"
    ),
    "2020": dict(train_end="2019-06", valid_start="2019-07", valid_end="2019-12", test_start="2020-01", test_end=""),
}


def parse_overrides(items: list[str]) -> dict:
    kinds = {f.name: type(f.default) for f in dataclasses.fields(TrainConfig)}
    out = {}
    for item in items:
        key, _, text = item.partition("=")
        if key not in kinds:
            raise SystemExit(f"{key!r} is not a TrainConfig field")
        kind = kinds[key]
        if kind is bool:
            out[key] = text.lower() in ("1", "true", "yes", "on")
        else:
            out[key] = kind(text)
    return out


def train_seconds(run) -> float:
    return sum(e.seconds for e in run.history)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RIDERSHIP_DATA"))
    parser.add_argument("--preset", default="best", choices=list(PRESETS))
    parser.add_argument("--splits", default="article,2017,2020")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--no-article-time", action="store_true", help="skip timing the article preset")
    parser.add_argument("--log", help="also append the output to this file")
    parser.add_argument("overrides", nargs="*", help="key=value TrainConfig fields over the preset")
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data or set RIDERSHIP_DATA")
    overrides = parse_overrides(args.overrides)
    splits = args.splits.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    log = open(args.log, "a") if args.log else None

    def say(text: str = "") -> None:
        print(text, flush=True)
        if log:
            log.write(text + "\n")
            log.flush()

    data = load_path(args.data, "path")
    base = apply_preset(args.preset).replace(device="cpu", **overrides)
    changed = {k: v for k, v in base.to_dict().items() if v != getattr(TrainConfig, k) and k != "device"}
    say(
        f"# python -m research.best_search --preset {args.preset} --splits {args.splits} --seeds {args.seeds} "
        + " ".join(args.overrides)
    )
    say(f"# config (fields not at the article's values): {changed}")
    article_s = float("nan")
    if not args.no_article_time:
        started = time.perf_counter()
        run = start_run(TrainConfig(device="cpu"), data)
        article_s = train_seconds(run)
        say(f"# article preset: training {article_s:.1f} s ({time.perf_counter() - started:.1f} s with scoring)")
    say(
        f"{'split':<8} {'seed':>4} {'valid':>7} {'v/nv':>6} {'v/gbm':>6} {'test':>7} {'t/nv':>6} {'t/gbm':>6} "
        f"{'train_s':>7} {'x_art':>5} best_ep"
    )
    times = []
    for split in splits:
        gbm_done = False
        for seed in seeds:
            config = base.replace(seed=seed, **SPLITS[split])
            run = start_run(config, data)
            v, t = run.scores["valid"], run.scores["test"]
            if not gbm_done:
                say(
                    f"{split:<8} {'gbm':>4} {v.gbm_mae:7.0f} {v.gbm_mae / v.naive_mae:6.3f} {'':>6} "
                    f"{t.gbm_mae:7.0f} {t.gbm_mae / t.naive_mae:6.3f} {'':>6}   naive valid {v.naive_mae:.0f} "
                    f"test {t.naive_mae:.0f}"
                )
                gbm_done = True
            seconds = train_seconds(run)
            if split == "article":
                times.append(seconds)
            say(
                f"{split:<8} {seed:>4} {v.mae:7.0f} {v.ratio:6.3f} {v.gbm_ratio:6.3f} {t.mae:7.0f} {t.ratio:6.3f} "
                f"{t.gbm_ratio:6.3f} {seconds:7.1f} {seconds / article_s:5.2f} {run.weights_epoch}"
            )
    if times and article_s == article_s:
        mean = sum(times) / len(times)
        say(
            f"# article split: mean training {mean:.1f} s = {mean / article_s:.2f}x the article preset ({article_s:.1f} s)"
        )
    if log:
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
