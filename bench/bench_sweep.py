"""Trials per minute of a local sweep in several setups (device and workers; by default the CPU
with 1 worker and with 2), measured in one run on the same data, space and budget; prints each
rate, its ratio to the first setup's, and the load average before and after.

    python -m bench.bench_sweep [--data PATH] [--trials 8] [--epochs 5] [--setups cpu:1,cpu:2]
    python -m bench.bench_sweep --preset best --space 'lr=log:0.001:0.01' --setups cpu-alone:1,cpu-packed:4
    python -m bench.bench_sweep --cli --data PATH [--trials 8] [--epochs 20] [--workers 1,2] [--device cpu]
    python -m bench.bench_sweep --cli --data PATH --workers 1:1,1:4,2:1      (WORKERS:PACK)

``--cli`` times the user's command itself, wall clock from the shell's point of view:
``python -m cli sweep --preset best --sampler random --pruner none --trials T --epochs E --workers N
--pack P`` (worker start-up, every trial's scoring and the last unpaired trial included), the same
trials in each (queued in the sweep's study before the command starts), and prints each setup's time
as a ratio of the first's.

On a GPU box, e.g. ``--setups cpu:8,cuda:8,cuda:16``: several trials in worker processes share the
one GPU (each its own CUDA context), against the same trials on the CPU cores.

Training only, in this process (no run store, no scoring; see engine/packed_training.py):
``cpu-alone:1`` / ``gpu-alone:1`` train the trials one after another with engine.training.fit;
``cpu-packed:N`` / ``gpu-packed:N`` train them with fit_packed, N trials of one shape at a time
(trials are grouped by shape first: give a space that keeps the shape, e.g.
``--space lr=log:0.001:0.01``, or the groups stay small). Compare these with each other; the
``device:workers`` setups also pay for worker start-up, scoring and the store.

Each measurement is a fresh sweep in a temporary run store, no pruning, and both run the very same
trials: the parameter sets are drawn once (seeded) and queued in each study before it starts
(Optuna serves queued trials first), so neither run is helped by a cheaper mix of settings. Worker start-up (spawn + imports) is included: it is part of
what a sweep costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

CLI_SPACE = ["lr=log:0.001:0.01"]  # one shape (the best preset's), so the setups differ only in workers


def sweep_command(name, db, *, trials, epochs, workers, data=None, device="cpu") -> list[str]:
    """The user's `ridership sweep` timed here and by bench/sweep_phases.py: the `best` preset, random
    sampler, no pruning, CLI_SPACE; without ``data``, the synthetic series."""
    return [
        *(sys.executable, "-m", "cli", "sweep", "--name", name, "--preset", "best"),
        *("--sampler", "random", "--pruner", "none", "--trials", str(trials), "--epochs", str(epochs)),
        *("--workers", str(workers), *(["--data", data] if data else []), "--runs-db", db, "--device", device),
        *[x for spec in CLI_SPACE for x in ("--param", spec)],
    ]


def cli_main(args) -> None:
    """Wall clock of ``ridership sweep`` with 1, 2, ... workers on the same queued trials."""
    import shlex
    import subprocess

    import optuna

    from engine.store import RunStore
    from engine.sweep import records
    from engine.sweep.local import quiet_optuna
    from engine.sweep.space import parse_space
    from engine.sweep.study import storage

    quiet_optuna()
    space = parse_space(CLI_SPACE)
    draw = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trials = [draw.ask(space.distributions()).params for _ in range(args.trials)]
    print("trials (the same for every worker count):", *trials, sep="\n  ")
    seconds = {}
    for setup in args.workers.split(","):
        workers, _, pack = setup.partition(":")
        workers, pack = int(workers), int(pack or 1)
        label = f"{workers} worker{'s' if workers > 1 else ''}" + (f", --pack {pack}" if ":" in setup else "")
        with tempfile.TemporaryDirectory() as home:
            db = os.path.join(home, "runs.db")
            name = f"bench-{workers}-{pack}"
            # queued in the study file the sweep itself opens (engine.sweep.study.storage of its store)
            queued = optuna.create_study(study_name=name, storage=storage(db), direction="minimize")
            for params in trials:
                queued.enqueue_trial(params)
            cmd = sweep_command(
                name, db, trials=args.trials, epochs=args.epochs, workers=workers, data=args.data, device=args.device
            )
            cmd += ["--pack", str(pack)]
            print(f"$ {shlex.join(cmd)}", flush=True)
            load = os.getloadavg()[0]
            started = time.perf_counter()
            # a fresh cache each: every setup fits the LightGBM reference once (engine/reference.py)
            env = {**os.environ, "RIDERSHIP_CACHE": os.path.join(home, "cache")}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            seconds[label] = took = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(done.stdout + done.stderr)
            with RunStore.open(db) as store:
                ran = sorted(t.params["lr"] for t in records.sweep_summary(store, name).trials)
            if ran != sorted(t["lr"] for t in trials):  # else the setups would not compare like with like
                raise SystemExit(f"the sweep ran other trials than those queued: {ran}")
            print(
                f"{label}: {took:.1f} s wall clock (load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)",
                flush=True,
            )
    first = next(iter(seconds))
    for label, took in list(seconds.items())[1:]:
        print(f"{label} / {first}: {took / seconds[first]:.3f} of the time ({seconds[first] / took:.2f}x)")
    print(f"cores: {os.cpu_count()}")


TRAIN_ONLY = ("cpu-alone", "gpu-alone", "cpu-packed", "gpu-packed")


def train_only(setup: str, group: int, configs: list, data) -> float:
    """Seconds to train ``configs`` in this process: one after another with fit (``*-alone``), or
    packed ``group`` at a time among the configs of one shape (``*-packed``); splits cut per shape
    inside the timing, as a worker would. One CPU thread, as a sweep worker."""
    import torch

    from engine.data import make_splits
    from engine.packed_training import fit_packed, pack_key
    from engine.training import fit

    device = "cuda" if setup.startswith("gpu") else "cpu"
    torch.set_num_threads(1)
    shapes: dict = {}
    for config in configs:
        shapes.setdefault(pack_key(config), []).append(config.replace(device=device))
    warm = configs[0].replace(epochs=1, device=device)  # first-call costs (CUDA context, kernels) out of the timing
    fit(warm, make_splits(data, warm), device)
    fit_packed([warm, warm], make_splits(data, warm), device)
    started = time.perf_counter()
    for members in shapes.values():
        splits = make_splits(data, members[0])
        if setup.endswith("-alone"):
            for config in members:
                fit(config, splits, device)
        else:
            for start in range(0, len(members), group):
                fit_packed(members[start : start + group], splits, device)
    if device == "cuda":
        torch.cuda.synchronize()
    print(f"  {setup}: {len(shapes)} shape{'s' if len(shapes) > 1 else ''}, {len(configs)} trials", flush=True)
    return time.perf_counter() - started


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
    ap.add_argument(
        "--space",
        default="lr=log:0.05:0.5;hidden_size=16,32;window_length=int:28:84:7",
        help="the searched parameters, --param specs separated by ';'",
    )
    ap.add_argument("--cli", action="store_true", help="time `ridership sweep` itself (--data: the real file)")
    ap.add_argument(
        "--workers", default="1,2", help="--cli: worker counts, comma-separated; WORKERS:PACK adds --pack PACK"
    )
    ap.add_argument("--device", default="cpu", help="--cli: the sweep's --device")
    args = ap.parse_args()
    if args.cli:
        return cli_main(args)
    setups = [(device, int(workers)) for device, workers in (s.split(":") for s in args.setups.split(","))]
    for device, _ in setups:
        if device not in ("cpu", "cuda", "mps", *TRAIN_ONLY):
            raise SystemExit(f"unknown setup {device!r}: use cpu, cuda, mps or one of {', '.join(TRAIN_ONLY)}")
    data = load_path(args.data, "path") if args.data else synthetic()
    base = apply_preset(args.preset).replace(epochs=args.epochs)
    space = parse_space([spec for spec in args.space.split(";") if spec.strip()])
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
        if device in TRAIN_ONLY:
            seconds = train_only(device, workers, [space.config_for(base, params) for params in trials], data)
            rates[device, workers] = rate = len(trials) / seconds * 60
            print(
                f"{device}, groups of {workers}: {len(trials)} trials trained in {seconds:.1f} s "
                f"= {rate:.2f} trials/min (training only; load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )
            continue
        with tempfile.TemporaryDirectory() as home:
            plan = SweepPlan(
                f"bench-{device}-{workers}",
                space,
                base.replace(device=device),
                trials=args.trials,
                sampler="random",
                pruner="none",
                seed=1,
            )
            queued = optuna.create_study(
                study_name=plan.name, storage=storage(os.path.join(home, "runs.db")), direction="minimize"
            )
            for params in trials:
                queued.enqueue_trial(params)
            started = time.perf_counter()
            out = run_local(plan, data, os.path.join(home, "runs.db"), workers=workers)
            seconds = time.perf_counter() - started
            rates[device, workers] = rate = len(out.ran) / seconds * 60
            print(
                f"{device}, {workers} worker{'s' if workers > 1 else ''}: {len(out.ran)} trials in {seconds:.1f} s "
                f"= {rate:.2f} trials/min (load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    (first_device, first_workers), first = setups[0], rates[setups[0]]
    for (device, workers), rate in list(rates.items())[1:]:
        print(f"{device} x{workers} / {first_device} x{first_workers}: {rate / first:.2f}x")
    print(f"cores: {os.cpu_count()}; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
