"""Issue 9, "on other split choices too": a rolling-origin comparison of a preset with LightGBM.

One fold per year Y: train from the preset's train_start to December of Y-1, validate on January-June
of Y (the best epoch is chosen there), test on July of Y to June of Y+1. The folds' test periods do
not overlap, nor do their validation periods, so the days can be pooled. For each fold and seed the
model is trained as the product trains it (engine.training.fit, CPU, one thread) and compared with
the LightGBM reference trained on the same training split (engine/reference.py) and with the naive
forecast, day by day.

    RIDERSHIP_DATA=cta.csv python -m research.rolling_origin run --years 2013-2019 --seeds 1,2,3 \
        --out DIR [key=value ...]          # one .npz per fold and seed (run two at a time on 2 cores)
    python -m research.rolling_origin report --out DIR [--log FILE]

The report prints, per fold, each seed's MAE (rail + bus, the product's combined MAE) over LightGBM's
on validation and test, then the pooled ratio over all folds with a 90% interval from a paired
bootstrap over weeks (days within a week are not independent), and how many fold x seed cells beat
LightGBM.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from engine.domain import SCALE  # no torch: the report step stays light

NAMES = ("valid", "test")


def fold_dates(year: int) -> dict:
    return dict(train_end=f"{year - 1}-12", valid_start=f"{year}-01", valid_end=f"{year}-06",
                test_start=f"{year}-07", test_end=f"{year + 1}-06")


def years_of(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def train_fold(data, config) -> dict:
    """Train ``config`` (its split dates set to a fold's) as the product does; the model's, LightGBM's
    and the naive forecast's predictions for each named split, its targets and dates, and the seconds."""
    from engine.data.windows import make_splits
    from engine.inference import predict
    from engine.scoring import naive_predictions, reference_for
    from engine.training import fit

    splits = make_splits(data, config)
    if os.environ.get("PROBE"):  # a research/probes/variants.py model variant
        from research.probes import variants

        splits = variants.augment(splits, data.frame.index)
        variants.install(splits)
    started = time.perf_counter()
    result = fit(config, splits, "cpu")
    saved = {"seconds": time.perf_counter() - started}
    gbm = reference_for(data, splits, config)
    values = data.feature_values()
    for name in NAMES:
        s = splits[name]
        saved[f"{name}_y"] = s.targets.numpy()
        saved[f"{name}_model"] = predict(result.model, s.windows).numpy()
        saved[f"{name}_gbm"] = gbm[name]
        saved[f"{name}_naive"] = naive_predictions(values, s)  # the same day last week
        saved[f"{name}_dates"] = s.target_dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    return saved


def ratio(saved, name: str) -> float:
    """The model's MAE over LightGBM's on one split of one fold."""
    return float(day_errors(saved, name, "model").sum() / day_errors(saved, name, "gbm").sum())


def run(args) -> None:
    import torch

    from research.best_search import parse_overrides
    from engine.data.sources import load_path
    from engine.presets import apply_preset

    torch.set_num_threads(1)
    data = load_path(args.data, "path")
    overrides = parse_overrides(args.overrides)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for year in years_of(args.years):
        for seed in [int(s) for s in args.seeds.split(",")]:
            path = out / f"{year}_{seed}.npz"
            if path.exists():
                continue
            config = apply_preset(args.preset).replace(device="cpu", seed=seed, **fold_dates(year), **overrides)
            saved = train_fold(data, config)
            np.savez(path, **saved)
            print(f"{year} seed {seed}: valid/gbm {ratio(saved, 'valid'):.3f} test/gbm {ratio(saved, 'test'):.3f} "
                  f"({saved['seconds']:.1f} s)", flush=True)


def day_errors(saved, name: str, what: str, pred: np.ndarray | None = None) -> np.ndarray:
    """Each day's absolute error, rail + bus, in riders, of the saved ``what`` predictions (or ``pred``)."""
    pred = saved[f"{name}_{what}"] if pred is None else pred
    return np.abs(pred - saved[f"{name}_y"]).sum(axis=1) * SCALE


def bootstrap_ratio(model: np.ndarray, ref: np.ndarray, weeks: np.ndarray, draws: int = 2000,
                    seed: int = 0) -> tuple[float, float]:
    """A 90% interval for sum(model) / sum(ref), resampling whole weeks, paired."""
    rng = np.random.default_rng(seed)
    ids, inverse = np.unique(weeks, return_inverse=True)
    m = np.bincount(inverse, model)
    r = np.bincount(inverse, ref)
    picks = rng.integers(0, len(ids), size=(draws, len(ids)))
    ratios = m[picks].sum(axis=1) / r[picks].sum(axis=1)
    return float(np.quantile(ratios, 0.05)), float(np.quantile(ratios, 0.95))


def report(args) -> None:
    out = Path(args.out)
    files = sorted(out.glob("*.npz"))
    if not files:
        raise SystemExit(f"{out}: no fold results; run the 'run' step first")
    cells = {}
    refs = {}  # LightGBM from another run's folds, one file a year (e.g. trained from 2010 while the model trained from 2005)
    for path in files:
        year, seed = (int(x) for x in path.stem.split("_"))
        with np.load(path) as saved:
            cells[year, seed] = {k: saved[k] for k in saved.files}
        if args.ref:
            if year not in refs:
                with np.load(Path(args.ref) / f"{year}_1.npz") as ref:
                    refs[year] = {k: ref[k] for k in ref.files}
            for name in NAMES:
                assert (refs[year][f"{name}_dates"] == cells[year, seed][f"{name}_dates"]).all()
                cells[year, seed][f"{name}_gbm"] = refs[year][f"{name}_gbm"]
    years = sorted({y for y, _ in cells})
    seeds = sorted({s for _, s in cells})
    lines = [f"# python -m research.rolling_origin report --out {args.out}: {len(years)} folds x {len(seeds)} seeds",
             "# fold Y: train to Y-1 December, valid Jan-Jun Y, test Jul Y-Jun Y+1; MAE is rail + bus, in riders;",
             "# ratios are model/LightGBM; the ensemble column averages the seeds' predictions",
             f"{'fold':<5} {'split':<6} {'days':>4} {'gbm':>7} {'naive':>7}  "
             + " ".join(f"seed {s:>2}" for s in seeds) + "  ensemble"]
    # per split: each fold x seed cell's day errors (model, LightGBM) and weeks, for the paired bootstrap;
    # each seed's sums over folds; the seeds' averaged prediction and LightGBM over each fold's days once
    acc = {name: {"model": [], "gbm": [], "weeks": [], "seed": {s: [0.0, 0.0] for s in seeds},
                  "ens": [0.0, 0.0], "beat": 0} for name in NAMES}
    for year in years:
        present = [s for s in seeds if (year, s) in cells]
        first = cells[year, present[0]]
        for name in NAMES:
            a = acc[name]
            gbm = day_errors(first, name, "gbm")
            naive = day_errors(first, name, "naive")
            ratios = []
            for s in present:
                e = day_errors(cells[year, s], name, "model")
                ratios.append(e.sum() / gbm.sum())
                a["beat"] += e.sum() < gbm.sum()
                a["seed"][s][0] += e.sum()
                a["seed"][s][1] += gbm.sum()
                a["model"].append(e)
                a["gbm"].append(gbm)
                a["weeks"].append(first[f"{name}_dates"] // 7)
            ens = day_errors(first, name, "model", np.mean([cells[year, s][f"{name}_model"] for s in present], axis=0))
            a["ens"][0] += ens.sum()
            a["ens"][1] += gbm.sum()
            lines.append(f"{year:<5} {name:<6} {len(gbm):>4} {gbm.mean() / 2:7.0f} {naive.mean() / 2:7.0f}  "
                         + " ".join(f"{r:7.3f}" for r in ratios) + f"  {ens.sum() / gbm.sum():8.3f}")
    for name, a in acc.items():
        model, gbm, weeks = (np.concatenate(a[k]) for k in ("model", "gbm", "weeks"))
        lo, hi = bootstrap_ratio(model, gbm, weeks)
        lines.append(f"# pooled {name}: model/LightGBM {model.sum() / gbm.sum():.3f} (90% interval "
                     f"{lo:.3f}-{hi:.3f}, paired bootstrap over weeks), per seed "
                     + " ".join(f"{m / g:.3f}" for m, g in a["seed"].values())
                     + f"; seeds' ensemble {a['ens'][0] / a['ens'][1]:.3f}; "
                     f"fold x seed cells beating LightGBM: {a['beat']} of {len(cells)}")
    text = "\n".join(lines)
    print(text)
    if args.log:
        with open(args.log, "a") as log:
            log.write(text + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    r = sub.add_parser("run")
    r.add_argument("--data", default=os.environ.get("RIDERSHIP_DATA"))
    r.add_argument("--preset", default="best")
    r.add_argument("--years", default="2013-2019")
    r.add_argument("--seeds", default="1,2,3")
    r.add_argument("--out", required=True)
    r.add_argument("overrides", nargs="*")
    p = sub.add_parser("report")
    p.add_argument("--out", required=True)
    p.add_argument("--log")
    p.add_argument("--ref", help="take LightGBM's predictions from this results folder (seed 1 files)")
    args = parser.parse_args(argv)
    if args.step == "run":
        if not args.data:
            parser.error("give --data or set RIDERSHIP_DATA")
        run(args)
    else:
        report(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
