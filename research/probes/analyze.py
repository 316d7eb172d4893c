"""Round 4 probe harness: train the `best` preset with overrides (and a PROBE variant, variants.py)
for the given seeds on one split of research/best_search.py, then compare its errors with LightGBM's by
day type, series and worst days. Sums rail + bus per day (twice the combined MAE the product shows).

    RIDERSHIP_DATA=cta.csv [PROBE=level|levhead|sorted|nolstm|perseries] [SWA=k] \
        python -m research.probes.analyze SPLIT SEEDS [key=value ...]
"""

import os
import sys
import time

import numpy as np
import pandas as pd
import torch

from engine.data.sources import load_path
from engine.data.windows import make_splits
from engine.inference import predict
from engine.presets import apply_preset
from engine.scoring import reference_for
from engine.training import fit
from research.best_search import SPLITS, parse_overrides
from research.probes import variants

torch.set_num_threads(1)
data = load_path(os.environ["RIDERSHIP_DATA"], "path")
split = sys.argv[1]
seeds = [int(s) for s in sys.argv[2].split(",")]
over = parse_overrides(sys.argv[3:])
preds = {"valid": [], "test": []}
for seed in seeds:
    cfg = apply_preset("best").replace(device="cpu", seed=seed, **SPLITS[split], **over)
    splits = make_splits(data, cfg)
    if os.environ.get(
        "DUP_FROM"
    ):  # recency weighting by repetition: windows whose target is on or after DUP_FROM count twice
        import dataclasses

        tr = splits["train"]
        keep = np.flatnonzero(np.asarray(tr.target_dates >= pd.Timestamp(os.environ["DUP_FROM"])))
        reps = int(os.environ.get("DUP_TIMES", "1"))
        idx = torch.as_tensor(np.concatenate([np.arange(len(tr))] + [keep] * reps))
        splits = dict(
            splits,
            train=dataclasses.replace(
                tr, windows=tr.windows[idx], targets=tr.targets[idx], target_positions=tr.target_positions[idx.numpy()]
            ),
        )
    splits = variants.augment(splits, data.frame.index)
    variants.install(splits) if variants.PROBE != "perseries" else variants.install2()
    SWA = int(os.environ.get("SWA", "0"))
    kept = []

    def on_state(st):
        if SWA and st["epoch"] > cfg.epochs - SWA:
            kept.append({k: v.clone() for k, v in st["model"].items()})

    t = time.time()
    r = fit(cfg, splits, "cpu", on_state=on_state)
    if SWA:
        avg = {k: sum(s[k] for s in kept) / len(kept) for k in kept[0]}
        r.model.load_state_dict(avg)
    for n in preds:
        preds[n].append(predict(r.model, splits[n].windows).numpy())
    print(f"seed {seed} {time.time() - t:.1f}s best_ep {r.best_epoch}", flush=True)
gbm = reference_for(data, splits, cfg)
frame = data.frame
for n in ("valid", "test"):
    s = splits[n]
    y = s.targets.numpy() * 1e6
    at = s.target_positions
    dates = frame.index[at]
    dt = frame["day_type"].to_numpy()[at]
    prevdt = frame["day_type"].to_numpy()[at - 1]
    hol_adj = (prevdt == "U") & (dt == "W")
    lstm = np.mean(preds[n], axis=0) * 1e6
    g = gbm[n] * 1e6

    def mae(p, m=slice(None)):
        return np.abs(p[m] - y[m]).sum(1).mean()

    singles = [mae(p * 1e6) for p in preds[n]]
    print(
        f"{n}: singles {[round(x) for x in singles]} ens {mae(lstm):.0f} gbm {mae(g):.0f} avg(lstm,gbm) {mae((lstm + g) / 2):.0f}"
    )
    for name, m in [
        ("W", dt == "W"),
        ("A", dt == "A"),
        ("U", dt == "U"),
        ("W after U", hol_adj),
        ("Mon", dates.day_of_week == 0),
    ]:
        print(
            f"   {name:10s} n={m.sum():4d} lstm {mae(lstm, m):7.0f} gbm {mae(g, m):7.0f}  share-of-gap {(np.abs(lstm[m] - y[m]).sum() - np.abs(g[m] - y[m]).sum()) / len(y):7.0f}"
        )
    # rail vs bus
    print(
        f"   rail lstm {np.abs(lstm[:, 0] - y[:, 0]).mean():.0f} gbm {np.abs(g[:, 0] - y[:, 0]).mean():.0f}; bus lstm {np.abs(lstm[:, 1] - y[:, 1]).mean():.0f} gbm {np.abs(g[:, 1] - y[:, 1]).mean():.0f}"
    )
    err = np.abs(lstm - y).sum(1) - np.abs(g - y).sum(1)
    worst = np.argsort(-err)[:8]
    print("   worst days (lstm-gbm):", [(str(dates[i].date()), dt[i], int(err[i])) for i in worst])
np.savez(
    os.path.join(os.environ.get("PROBE_OUT", "."), f"last_{split}.npz"),
    **{f"{n}_lstm": np.mean(preds[n], axis=0) for n in preds},
    **{f"{n}_singles": np.stack(preds[n]) for n in preds},
    **{f"{n}_gbm": gbm[n] for n in preds},
    **{f"{n}_y": splits[n].targets.numpy() for n in preds},
    **{f"{n}_at": splits[n].target_positions for n in preds},
)
