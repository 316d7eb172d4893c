"""Issue 20 item 4 probe: snapshot ensembles inside one training of the `best` preset (free in time).

One training per seed on the article's splits; from the same run: the best epoch's weights (the
product), the average of the predictions of the last K epochs' weights, and the weights averaged
over the last K epochs (SWA-like, no BatchNorm here so no re-estimation needed). MAE rail+bus in
riders (numpy, float64) on validation and test.

    RIDERSHIP_DATA=cta.csv python bench/probes/snapshot_ensemble.py 1 2 3
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

from engine.data.sources import load_path
from engine.data.windows import make_splits
from engine.domain import SCALE
from engine.inference import predict
from engine.presets import apply_preset
from engine.training import fit

KS = (5, 10, 20)


def mae(pred, y) -> float:
    return float(np.abs(pred - y).mean() * SCALE)


def main(seeds: list[int]) -> None:
    torch.set_num_threads(1)
    data = load_path(os.environ["RIDERSHIP_DATA"], "path")
    for seed in seeds:
        config = apply_preset("best").replace(device="cpu", seed=seed)
        splits = make_splits(data, config)
        states = []
        started = time.perf_counter()
        result = fit(config, splits, "cpu", on_state=lambda s: states.append(s["model"]))
        seconds = time.perf_counter() - started
        model = result.model
        ys = {n: splits[n].targets.numpy().astype(np.float64) for n in ("valid", "test")}

        def preds(state):
            model.load_state_dict(state)
            return {n: predict(model, splits[n].windows).numpy().astype(np.float64) for n in ys}

        best = preds(result.best_state)
        line = [
            f"seed {seed} ({seconds:.0f} s, best epoch {result.best_epoch}): best "
            + " / ".join(f"{mae(best[n], ys[n]):,.0f}" for n in ys)
        ]
        every = [preds(s) for s in states]
        for k in KS:
            ens = {n: np.mean([p[n] for p in every[-k:]], axis=0) for n in ys}
            avg = {key: torch.stack([s[key] for s in states[-k:]]).mean(0) for key in states[-1]}
            swa = preds(avg)
            line.append(
                f"last {k}: ensemble "
                + " / ".join(f"{mae(ens[n], ys[n]):,.0f}" for n in ys)
                + ", averaged weights "
                + " / ".join(f"{mae(swa[n], ys[n]):,.0f}" for n in ys)
            )
        print("; ".join(line), flush=True)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [1, 2, 3])
