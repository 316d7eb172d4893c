"""The README's tables of measured numbers, computed from the code as it is now, so they cannot drift.

    RIDERSHIP_DATA=cta.csv python -m research.report                      # every table (12 trainings)
    RIDERSHIP_DATA=cta.csv python -m research.report --tables presets     # one of: presets, lightgbm, intervals
    RIDERSHIP_DATA=cta.csv python -m research.report --epochs 2 --seeds 1  # a quick check that it runs
    python -m research.report --rolling DIR                               # the rolling-origin rows, from
                                                                          # `python -m research.rolling_origin run --out DIR`

Each model is trained as the product trains it (``engine.session.start_run``, CPU, not recorded) and
scored beside the naive forecast and LightGBM (engine/reference.py) on the same days. The tables are
printed as Markdown, in the README's layout, to paste into README.md ("What the numbers are") and
research/RESULTS.md; ``--out FILE`` also writes them there. ``--epochs`` and ``--seeds`` shorten the
run for a check of the script itself: numbers from such a run are not the README's.

A full run trains 12 models (a model two tables read is trained once; a `best` one takes 15-60 s on
one core): 389 s on this 2-core machine on 2026-12-03 under a load average of 8-10 from other work.
The rolling origin (63 trainings, about 2 hours) is a
separate step: research/rolling_origin.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

TABLES = ("presets", "lightgbm", "intervals")


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


_runs: dict = {}  # config -> its run: a model two tables read is trained once


def _train(config, data):
    from engine.session import start_run

    if config not in _runs:
        run = start_run(config, data)
        if run.status != "finished":
            raise SystemExit(f"a {config.to_dict()} run ended {run.status}: {run.reason}")
        _runs[config] = run
    return _runs[config]


def _config(preset: str, seed: int, epochs: int | None, **dates):
    from engine.presets import apply_preset

    config = apply_preset(preset).replace(device="cpu", seed=seed, **dates)
    return config.replace(epochs=epochs) if epochs else config


def _riders(values: list[float]) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


def _span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}-{hi:.2f}"


def presets_table(data, seeds: list[int], epochs: int | None) -> list[str]:
    """The presets on the article's splits (seed 42, the default), and `best` with other seeds."""
    rows = [
        ("`article` (train 2016-2018)", "article", [42]),
        ("`normalized` (train from 2010)", "normalized", [42]),
        ("`best` (the default, train from 2005; seed 42, the default)", "best", [42]),
    ]
    if seeds:
        rows.append((f"`best`, seeds {' / '.join(map(str, seeds))}", "best", seeds))
    lines = [
        "| preset | validation | test | model/naive (valid, test) | model/LightGBM (valid, test) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, preset, row_seeds in rows:
        runs = [_train(_config(preset, seed, epochs), data) for seed in row_seeds]
        valid = [r.scores["valid"] for r in runs]
        test = [r.scores["test"] for r in runs]
        lines.append(
            f"| {label} | {_riders([s.mae for s in valid])} | {_riders([s.mae for s in test])} | "
            f"{_span([s.ratio for s in valid])}, {_span([s.ratio for s in test])} | "
            f"{_span([s.gbm_ratio for s in valid])}, {_span([s.gbm_ratio for s in test])} |"
        )
    return lines


def _gbm_mae_from(data, config, train_start: str) -> dict[str, float]:
    """LightGBM trained from ``train_start`` on ``config``'s validation and test days: its MAE in riders."""
    from engine.data import make_splits
    from engine.domain import SCALE
    from engine.scoring import reference_for

    other = config.replace(train_start=train_start)
    splits = make_splits(data, other)
    gbm = reference_for(data, splits, other)
    return {name: float(np.abs(gbm[name] - splits[name].targets.numpy()).mean()) * SCALE for name in gbm}


def lightgbm_table(data, seeds: list[int], epochs: int | None) -> list[str]:
    """`best` against LightGBM on three date splits: trained on the run's own split, and from 2010."""
    from research.best_search import SPLITS

    names = {
        "article": "article (2018; 2019-01..05; 2019-06..2021-11)",
        "2017": "2017 (2016; 2017-01..06; 2017-07..2018-06)",
        "2020": "2020 (2019-06; 2019-07..12; 2020-01..2021-11)",
    }
    lines = [
        "| split (train to; validation; test) | validation, same-split LightGBM | validation, LightGBM from 2010 "
        "| test, same-split | test, from 2010 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split, dates in SPLITS.items():
        cells: dict[str, list[float]] = {"v": [], "v10": [], "t": [], "t10": []}
        from_2010 = None
        for seed in seeds:
            config = _config("best", seed, epochs, **dates)
            run = _train(config, data)
            from_2010 = from_2010 or _gbm_mae_from(data, config, "2010-01")
            valid, test = run.scores["valid"], run.scores["test"]
            cells["v"].append(valid.gbm_ratio)
            cells["v10"].append(_ratio(valid.mae, from_2010["valid"]))
            cells["t"].append(test.gbm_ratio)
            cells["t10"].append(_ratio(test.mae, from_2010["test"]))
        lines.append(
            f"| {names[split]} | "
            + " | ".join(" / ".join(f"{v:.3f}" for v in cells[k]) for k in ("v", "v10", "t", "t10"))
            + " |"
        )
    return lines


def intervals_table(data, epochs: int | None) -> list[str]:
    """The `best` model's (seed 42) 80% intervals: how often they covered the article's test days."""
    from engine.assessment import assess

    config = _config("best", 42, epochs)
    run = _train(config, data)
    intervals = assess(run.model, data, config).intervals
    return [
        f"The `best` model's {intervals.level:.0%} intervals covered {intervals.coverage['rail']:.1%} of rail "
        f"days and {intervals.coverage['bus']:.1%} of bus days ({intervals.coverage_days} days; seed 42)."
    ]


def rolling_rows(folder: str) -> None:
    """The rolling origin's report (research/rolling_origin.py) on folds already trained into ``folder``."""
    from research import rolling_origin

    rolling_origin.report_step(argparse.Namespace(out=folder, log=None, ref=None, kinds=False))  # prints its own lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RIDERSHIP_DATA"))
    parser.add_argument("--tables", default=",".join(TABLES), help=f"some of {', '.join(TABLES)}")
    parser.add_argument("--seeds", default="1,2,3", help="the seeds besides 42 (the default seed)")
    parser.add_argument("--epochs", type=int, help="shorter trainings, to check the script (not the README's numbers)")
    parser.add_argument("--rolling", metavar="DIR", help="also report the rolling origin's folds saved in DIR")
    parser.add_argument("--out", help="also write the tables to this file")
    args = parser.parse_args(argv)
    tables = [t for t in args.tables.split(",") if t]
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {', '.join(unknown)}; choose from {', '.join(TABLES)}")
    if tables and not args.data:
        parser.error("give --data or set RIDERSHIP_DATA (the CTA ridership CSV)")
    seeds = [int(s) for s in args.seeds.split(",") if s]

    import torch

    from engine.data.sources import load_path

    torch.set_num_threads(1)  # as the product trains a small model; two reports can share 2 cores
    out: list[str] = []

    def say(lines: list[str]) -> None:
        print("\n".join(lines) + "\n", flush=True)
        out.extend([*lines, ""])

    data = load_path(args.data, "path") if tables else None
    started = time.perf_counter()
    header = (
        f"<!-- python -m research.report --tables {','.join(tables)} --seeds {args.seeds}"
        + (f" --epochs {args.epochs}" if args.epochs else "")
        + " -->"
    )
    say([header])
    if "presets" in tables:
        say(presets_table(data, seeds, args.epochs))
    if "lightgbm" in tables:
        say(lightgbm_table(data, seeds, args.epochs))
    if "intervals" in tables:
        say(intervals_table(data, args.epochs))
    if args.rolling:
        rolling_rows(args.rolling)
    say([f"<!-- {time.perf_counter() - started:.0f} s -->"])
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
