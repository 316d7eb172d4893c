"""Issue 9, "on other split choices too": a rolling-origin comparison of a preset with LightGBM.

The evaluation itself lives in the engine (engine/rolling_origin.py; a model's settings can run it
as ``Predictor.rolling_origin``); this is its command line, with the research probes' hook:

    RIDERSHIP_DATA=cta.csv python -m research.rolling_origin run --years 2013-2019 --seeds 1,2,3 \
        --out DIR [key=value ...]          # one .npz per fold and seed (run two at a time on 2 cores)
    python -m research.rolling_origin report --out DIR [--log FILE] [--ref DIR] [--kinds]

The report prints, per fold, each seed's MAE (rail + bus, the product's combined MAE) over LightGBM's
on validation and test, then the pooled ratio over all folds with a 90% interval from a paired
bootstrap over weeks (days within a week are not independent), and how many fold x seed cells beat
LightGBM; ``--kinds`` adds the pooled errors per kind of day (W, A, U, U on a weekday, minor
holidays, school breaks).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Re-exported for research/recipe_search.py. No torch at import: the report step stays light.
from engine.rolling_origin import (  # noqa: F401
    NAMES,
    bootstrap_ratio,
    day_errors,
    fold_dates,
    load_cells,
    ratio,
    report,
    run_folds,
    train_fold,
    years_of,
)


def _probe_augment(data):
    """With $PROBE set, a research/probes/variants.py model variant installed on each fold's splits."""
    if not os.environ.get("PROBE"):
        return None
    from research.probes import variants

    def augment(splits):
        splits = variants.augment(splits, data.frame.index)
        variants.install(splits)
        return splits

    return augment


def run(args) -> None:
    import torch

    from engine.data.sources import load_path
    from engine.presets import apply_preset
    from research.best_search import parse_overrides

    torch.set_num_threads(1)
    data = load_path(args.data, "path")
    base = apply_preset(args.preset).replace(**parse_overrides(args.overrides))
    run_folds(
        data,
        base,
        Path(args.out),
        years_of(args.years),
        [int(s) for s in args.seeds.split(",")],
        _probe_augment(data),
        log=lambda line: print(line, flush=True),
    )


def report_step(args) -> None:
    try:
        cells = load_cells(Path(args.out), args.ref)
    except FileNotFoundError as exc:
        raise SystemExit(f"{exc.args[0]}; run the 'run' step first") from None
    text = "\n".join(report(cells, f"python -m research.rolling_origin report --out {args.out}", kinds=args.kinds))
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
    p.add_argument("--kinds", action="store_true", help="add the pooled errors per kind of day")
    args = parser.parse_args(argv)
    if args.step == "run":
        if not args.data:
            parser.error("give --data or set RIDERSHIP_DATA")
        run(args)
    else:
        report_step(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
