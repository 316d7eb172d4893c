"""Trials per minute of a local sweep with 1 worker and with 2 workers, measured in one run on the
same data, space and budget; prints both rates, the ratio and the load average before and after.

    PYTHONPATH=. python bench/bench_sweep.py [--data PATH] [--trials 6] [--epochs 5]

Each measurement is a fresh sweep in a temporary run store, no pruning, and both run the very same
trials: the parameter sets are drawn once (seeded) and queued in each study before it starts
(Optuna serves queued trials first), so neither run is helped by a cheaper mix of settings. Worker start-up (spawn + imports) is included: it is part of
what a sweep costs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    from engine.data.sources import load_path, synthetic
    from engine.presets import apply_preset
    from engine.sweep.local import SweepPlan, run_local
    from engine.sweep.space import parse_space

    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--trials", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    data = load_path(args.data, "path") if args.data else synthetic()
    base = apply_preset("normalized").replace(epochs=args.epochs, device="cpu")
    space = parse_space(["lr=log:0.05:0.5", "hidden_size=16,32", "window_length=int:28:84:7"])
    import optuna

    from engine.sweep.local import quiet_optuna, storage

    quiet_optuna()
    sampler = optuna.samplers.RandomSampler(seed=1)
    draw = optuna.create_study(sampler=sampler)
    trials = [draw.ask(space.distributions()).params for _ in range(args.trials)]
    print("trials (the same in both runs):", *trials, sep="\n  ")
    rates = {}
    print(f"load average before: {os.getloadavg()}")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as home:
            plan = SweepPlan(f"bench{workers}", space, base, trials=args.trials, sampler="random", pruner="none",
                             seed=1)
            queued = optuna.create_study(study_name=plan.name, storage=storage(os.path.join(home, "runs.db")),
                                         direction="minimize")
            for params in trials:
                queued.enqueue_trial(params)
            started = time.perf_counter()
            out = run_local(plan, data, os.path.join(home, "runs.db"), workers=workers)
            seconds = time.perf_counter() - started
            rates[workers] = len(out.ran) / seconds * 60
            print(f"{workers} worker{'s' if workers > 1 else ''}: {len(out.ran)} trials in {seconds:.1f} s = "
                  f"{rates[workers]:.2f} trials/min (load average {os.getloadavg()[0]:.2f})", flush=True)
    print(f"2 workers / 1 worker: {rates[2] / rates[1]:.2f}x (cores: {os.cpu_count()}); "
          f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
