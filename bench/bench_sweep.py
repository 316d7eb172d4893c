"""Trials per minute of a local sweep in several setups (device and workers; by default the CPU
with 1 worker and with 2), measured in one run on the same data, space and budget; prints each
rate, its ratio to the first setup's, and the load average before and after.

    python -m bench.bench_sweep [--data PATH] [--trials 8] [--epochs 5] [--setups cpu:1,cpu:2]

On a GPU box, e.g. ``--setups cpu:8,cuda:8,cuda:16``: several trials in worker processes share the
one GPU (each its own CUDA context), against the same trials on the CPU cores.

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
    ap.add_argument("--setups", default="cpu:1,cpu:2", help="device:workers, comma-separated")
    ap.add_argument("--preset", default="normalized")
    args = ap.parse_args()
    setups = [(device, int(workers)) for device, workers in (s.split(":") for s in args.setups.split(","))]
    data = load_path(args.data, "path") if args.data else synthetic()
    base = apply_preset(args.preset).replace(epochs=args.epochs)
    space = parse_space(["lr=log:0.05:0.5", "hidden_size=16,32", "window_length=int:28:84:7"])
    import optuna

    from engine.sweep.local import quiet_optuna, storage

    quiet_optuna()
    sampler = optuna.samplers.RandomSampler(seed=1)
    draw = optuna.create_study(sampler=sampler)
    trials = [draw.ask(space.distributions()).params for _ in range(args.trials)]
    print("trials (the same in every setup):", *trials, sep="\n  ")
    rates = {}
    print(f"load average before: {os.getloadavg()}")
    for device, workers in setups:
        with tempfile.TemporaryDirectory() as home:
            plan = SweepPlan(f"bench-{device}-{workers}", space, base.replace(device=device), trials=args.trials,
                             sampler="random", pruner="none", seed=1)
            queued = optuna.create_study(study_name=plan.name, storage=storage(os.path.join(home, "runs.db")),
                                         direction="minimize")
            for params in trials:
                queued.enqueue_trial(params)
            started = time.perf_counter()
            out = run_local(plan, data, os.path.join(home, "runs.db"), workers=workers)
            seconds = time.perf_counter() - started
            rates[device, workers] = rate = len(out.ran) / seconds * 60
            print(f"{device}, {workers} worker{'s' if workers > 1 else ''}: {len(out.ran)} trials in {seconds:.1f} s "
                  f"= {rate:.2f} trials/min (load average {os.getloadavg()[0]:.2f})", flush=True)
    (first_device, first_workers), first = setups[0], rates[setups[0]]
    for (device, workers), rate in list(rates.items())[1:]:
        print(f"{device} x{workers} / {first_device} x{first_workers}: {rate / first:.2f}x")
    print(f"cores: {os.cpu_count()}; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
