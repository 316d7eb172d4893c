"""Rolling-origin evaluation: seven yearly folds, the model beside LightGBM and the naive forecast.

One fold per year Y: train from the settings' train_start to December of Y-1, validate on
January-June of Y (the best epoch is chosen there), test on July of Y to June of Y+1. The folds'
test periods do not overlap, nor do their validation periods, so the days can be pooled. For each
fold and seed the model is trained as the product trains it (engine.training.fit, CPU) and compared
with the LightGBM reference trained on the same training split (engine/reference.py) and with the
naive forecast, day by day.

``run_folds`` trains and saves one .npz per fold and seed; ``report`` reads a folder of them and
gives, per fold, each seed's MAE (rail + bus) over LightGBM's on validation and test, the pooled
ratio over all folds with a 90% interval from a paired bootstrap over weeks (days within a week are
not independent), how many fold x seed cells beat LightGBM, and the pooled errors per kind of day
(engine.daytypes.KINDS). ``engine.predictor.Predictor.rolling_origin`` runs both for a model's
settings; ``bench/rolling_origin.py`` is the command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .domain import riders

NAMES = ("valid", "test")
YEARS = "2013-2019"


def fold_dates(year: int) -> dict:
    return dict(
        train_end=f"{year - 1}-12",
        valid_start=f"{year}-01",
        valid_end=f"{year}-06",
        test_start=f"{year}-07",
        test_end=f"{year + 1}-06",
    )


def years_of(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def train_fold(data, config, augment: Callable | None = None) -> dict:
    """Train ``config`` (its split dates set to a fold's) as the product does; the model's, LightGBM's
    and the naive forecast's predictions for each named split, its targets and dates, and the seconds.
    ``augment(splits) -> splits``: a research hook (bench/probes) run on the splits before training."""
    from .data.windows import make_splits
    from .inference import predict
    from .scoring import naive_predictions, reference_for
    from .training import fit

    splits = make_splits(data, config)
    if augment is not None:
        splits = augment(splits)
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


def run_folds(
    data,
    base,
    out: Path,
    years: list[int],
    seeds: list[int],
    augment: Callable | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Train each fold x seed of ``base`` (a TrainConfig) not yet saved in ``out`` (one .npz each)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for year in years:
        for seed in seeds:
            path = out / f"{year}_{seed}.npz"
            if path.exists():
                continue
            config = base.replace(device="cpu", seed=seed, **fold_dates(year))
            saved = train_fold(data, config, augment)
            np.savez(path, **saved)
            log(
                f"{year} seed {seed}: valid/gbm {ratio(saved, 'valid'):.3f} test/gbm {ratio(saved, 'test'):.3f} "
                f"({saved['seconds']:.1f} s)"
            )


def day_errors(saved, name: str, what: str, pred: np.ndarray | None = None) -> np.ndarray:
    """Each day's absolute error, rail + bus, in riders, of the saved ``what`` predictions (or ``pred``)."""
    pred = saved[f"{name}_{what}"] if pred is None else pred
    return riders(np.abs(pred - saved[f"{name}_y"]).sum(axis=1))


def bootstrap_ratio(
    model: np.ndarray, ref: np.ndarray, weeks: np.ndarray, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A 90% interval for sum(model) / sum(ref), resampling whole weeks, paired."""
    rng = np.random.default_rng(seed)
    ids, inverse = np.unique(weeks, return_inverse=True)
    m = np.bincount(inverse, model)
    r = np.bincount(inverse, ref)
    picks = rng.integers(0, len(ids), size=(draws, len(ids)))
    ratios = m[picks].sum(axis=1) / r[picks].sum(axis=1)
    return float(np.quantile(ratios, 0.05)), float(np.quantile(ratios, 0.95))


def load_cells(out: Path, ref: Path | None = None) -> dict:
    """The saved fold x seed results of ``out``: {(year, seed): arrays}; ``ref``: take LightGBM's
    predictions from this folder's seed-1 files (e.g. trained from 2010 while the model trained from 2005)."""
    out = Path(out)
    files = sorted(out.glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"{out}: no fold results")
    cells, refs = {}, {}
    for path in files:
        year, seed = (int(x) for x in path.stem.split("_"))
        with np.load(path) as saved:
            cells[year, seed] = {k: saved[k] for k in saved.files}
        if ref:
            if year not in refs:
                with np.load(Path(ref) / f"{year}_1.npz") as other:
                    refs[year] = {k: other[k] for k in other.files}
            for name in NAMES:
                assert (refs[year][f"{name}_dates"] == cells[year, seed][f"{name}_dates"]).all()
                cells[year, seed][f"{name}_gbm"] = refs[year][f"{name}_gbm"]
    return cells


def report(cells: dict, title: str, kinds: bool = False) -> list[str]:
    """The report's lines for ``load_cells``' results (``kinds``: add the pooled errors per kind of day)."""
    years = sorted({y for y, _ in cells})
    seeds = sorted({s for _, s in cells})
    lines = [
        f"# {title}: {len(years)} folds x {len(seeds)} seeds",
        "# fold Y: train to Y-1 December, valid Jan-Jun Y, test Jul Y-Jun Y+1; MAE is rail + bus, in riders;",
        "# ratios are model/LightGBM; the ensemble column averages the seeds' predictions",
        f"{'fold':<5} {'split':<6} {'days':>4} {'gbm':>7} {'naive':>7}  "
        + " ".join(f"seed {s:>2}" for s in seeds)
        + "  ensemble",
    ]
    # per split: each fold x seed cell's day errors (model, LightGBM) and weeks, for the paired bootstrap;
    # each seed's sums over folds; the seeds' averaged prediction and LightGBM over each fold's days once
    acc = {
        name: {
            "model": [],
            "gbm": [],
            "weeks": [],
            "seed": {s: [0.0, 0.0] for s in seeds},
            "ens": [0.0, 0.0],
            "beat": 0,
        }
        for name in NAMES
    }
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
            lines.append(
                f"{year:<5} {name:<6} {len(gbm):>4} {gbm.mean() / 2:7.0f} {naive.mean() / 2:7.0f}  "
                + " ".join(f"{r:7.3f}" for r in ratios)
                + f"  {ens.sum() / gbm.sum():8.3f}"
            )
    for name, a in acc.items():
        model, gbm, weeks = (np.concatenate(a[k]) for k in ("model", "gbm", "weeks"))
        lo, hi = bootstrap_ratio(model, gbm, weeks)
        lines.append(
            f"# pooled {name}: model/LightGBM {model.sum() / gbm.sum():.3f} (90% interval "
            f"{lo:.3f}-{hi:.3f}, paired bootstrap over weeks), per seed "
            + " ".join(f"{m / g:.3f}" for m, g in a["seed"].values())
            + f"; seeds' ensemble {a['ens'][0] / a['ens'][1]:.3f}; "
            f"fold x seed cells beating LightGBM: {a['beat']} of {len(cells)}"
        )
    if kinds:
        lines += kind_lines(cells)
    return lines


def kind_lines(cells: dict) -> list[str]:
    """Pooled over folds and seeds, per split and kind of day: days (per seed), the model's MAE per
    series in riders and its ratio to naive and LightGBM."""
    import pandas as pd

    from .data.calendar import infer_day_types
    from .daytypes import kinds_of

    lines = [
        "# by kind of day, pooled over folds and seeds (MAE per series in riders; model/naive, model/LightGBM)",
        f"{'split':<6} {'kind':<10} {'days':>5} {'rail':>7} {'/naive':>6} {'/gbm':>6} {'bus':>7} {'/naive':>6} "
        f"{'/gbm':>6}",
    ]
    for name in NAMES:
        sums: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for (_year, _seed), saved in sorted(cells.items()):
            dates = pd.DatetimeIndex(saved[f"{name}_dates"].astype("datetime64[D]"))
            frame = pd.DataFrame({"day_type": infer_day_types(dates)}, index=dates)
            y = saved[f"{name}_y"]
            errors = {w: riders(np.abs(saved[f"{name}_{w}"] - y)) for w in ("model", "naive", "gbm")}
            for kind, rows in kinds_of(frame).items():
                sums.setdefault(kind, np.zeros((3, 2)))
                sums[kind] += np.stack([errors[w][rows].sum(axis=0) for w in ("model", "naive", "gbm")])
                counts[kind] = counts.get(kind, 0) + int(rows.sum())
        seeds = len({s for _, s in cells})
        for kind, total in sums.items():
            if not counts[kind]:
                continue
            mae = total / counts[kind]
            cells_text = " ".join(
                f"{mae[0, s]:7.0f} {mae[0, s] / mae[1, s]:6.2f} {mae[0, s] / mae[2, s]:6.2f}" for s in range(2)
            )
            lines.append(f"{name:<6} {kind:<10} {counts[kind] // seeds:>5} {cells_text}")
    return lines
