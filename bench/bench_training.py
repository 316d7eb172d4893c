"""The article's training loop as written against the engine's default path, side by side.

One process, one run: the article's loop (bench/article_loop.py: DataLoader + LSTMCell unrolled
in Python, torch's default thread count) and ``engine.training.fit`` (fused core, the engine's
own thread setting) train on the same file, with the same settings, for the same epochs. Prints
both mean epoch times, their ratio, and whether the per-epoch metrics agree.

    python -m bench.bench_training                        # $RIDERSHIP_DATA if set, else synthetic
    python -m bench.bench_training --data path/to/cta.csv --epochs 50
    python -m bench.bench_training --epochs 5 --device cpu

Synthetic data (engine/data/synthetic.py) is written to a temporary CSV in the CTA's format, so both
loops read a file the same way. The article's default splits are used either way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from bench import article_loop
from engine.config import TrainConfig
from engine.data import make_splits
from engine.data.sources import ENV_VAR, load_path
from engine.data.synthetic import synthetic_frame
from engine.device import resolve_device
from engine.training import evaluate_mae, fit

DIGITS = 4  # the article prints its metrics to 4 decimals


def write_synthetic_csv(folder: Path) -> Path:
    """The synthetic series in the CTA file's columns and date format."""
    frame = synthetic_frame()
    out = frame.reset_index()
    out = out.assign(
        service_date=out["date"].dt.strftime("%m/%d/%Y"),
        rail_boardings=out["rail"],
        total_rides=out["bus"] + out["rail"],
    )[["service_date", "day_type", "bus", "rail_boardings", "total_rides"]]
    path = folder / "synthetic_ridership.csv"
    out.to_csv(path, index=False)
    return path


def run_article(path: Path, epochs: int, device: str, threads: int | None) -> tuple[list[float], list[tuple], float]:
    article_loop.device = device  # the article moves its model and batches to this module-level device
    times: list[float] = []
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        history, test_mae = article_loop.run_article(str(path), n_epochs=epochs, verbose=False, epoch_times=times)
    finally:
        torch.set_num_threads(before)
    rows = list(zip(history["train_losses"], history["train_metrics"], history["valid_metrics"]))
    return times, rows, test_mae


def run_engine(path: Path, epochs: int, device: str, core: str) -> tuple[list[float], list[tuple], float]:
    data = load_path(path)
    config = TrainConfig(epochs=epochs, device=device, core=core)
    splits = make_splits(data, config)
    result = fit(config, splits)
    if result.status != "finished":
        raise SystemExit(f"engine run {result.status}: {result.reason}")
    rows = [(e.train_loss, e.train_mae, e.valid_mae) for e in result.history]
    test = splits["test"]
    dev = torch.device(result.device)
    test_mae = evaluate_mae(result.model, test.windows.to(dev), test.targets.to(dev), config.batch_size, dev)
    return [e.seconds for e in result.history], rows, test_mae


def compare(article: list[tuple], engine: list[tuple], article_test: float, engine_test: float) -> bool:
    """Print how closely the engine's metrics match the article's; True when equal to the printed digits."""
    names = ("train loss", "train metric", "valid metric")
    exact = article == engine and article_test == engine_test
    printed = all(f"{a:.{DIGITS}f}" == f"{b:.{DIGITS}f}" for ra, rb in zip(article, engine) for a, b in zip(ra, rb))
    printed = printed and f"{article_test:.6f}" == f"{engine_test:.6f}" and len(article) == len(engine)
    worst = {n: max(abs(ra[i] - rb[i]) for ra, rb in zip(article, engine)) for i, n in enumerate(names)}
    print(f"metrics bit-identical: {'yes' if exact else 'no'}")
    print(
        f"metrics identical to the printed digits ({DIGITS} decimals per epoch, test MAE to 6 decimals): "
        f"{'yes' if printed else 'NO'}"
    )
    print(
        "largest per-epoch difference: "
        + ", ".join(f"{n} {d:.2e}" for n, d in worst.items())
        + f"; test MAE {abs(article_test - engine_test) * 1e6:.3f} riders"
    )
    last_a, last_e = article[-1], engine[-1]
    print(
        f"last epoch  article: loss {last_a[0]:.4f} train {last_a[1]:.4f} valid {last_a[2]:.4f} "
        f"test MAE {article_test * 1e6:.2f} riders"
    )
    print(
        f"last epoch  engine:  loss {last_e[0]:.4f} train {last_e[1]:.4f} valid {last_e[2]:.4f} "
        f"test MAE {engine_test * 1e6:.2f} riders"
    )
    return printed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=f"CTA CSV (default: ${ENV_VAR}, else the synthetic series)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs for each loop (default: 10)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--core", default="fused", choices=("fused", "cell"), help="the engine's core (default: fused)")
    parser.add_argument(
        "--article-threads",
        type=int,
        default=None,
        help="CPU threads for the article's loop (default: torch's default, as the article runs)",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    device = str(resolve_device(args.device))

    with tempfile.TemporaryDirectory() as tmp:
        given = args.data or os.environ.get(ENV_VAR)
        path = Path(given) if given else write_synthetic_csv(Path(tmp))
        print(f"data: {path if given else 'synthetic series (engine/data/synthetic.py)'}")
        print(
            f"device: {device}, epochs: {args.epochs}, torch {torch.__version__}, "
            f"article threads {args.article_threads or torch.get_num_threads()} (torch default "
            f"{torch.get_num_threads()}), engine threads: its own setting (engine/training.py cpu_threads)"
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        if load > 0.5:
            # Other processes on the CPUs slow a multi-threaded loop far more than a one-thread one.
            print(
                f"warning: load average {load:.1f} on {os.cpu_count()} CPUs before the run: timings are noisy"
                + (
                    "; a multi-threaded article loop suffers most (compare --article-threads 1)"
                    if (args.article_threads or torch.get_num_threads()) > 1
                    else ""
                )
            )
        a_times, a_rows, a_test = run_article(path, args.epochs, device, args.article_threads)
        e_times, e_rows, e_test = run_engine(path, args.epochs, device, args.core)

    a_mean, e_mean = statistics.fmean(a_times), statistics.fmean(e_times)
    print(
        f"article loop (DataLoader + LSTMCell): mean epoch {a_mean:.4f} s (median {statistics.median(a_times):.4f} s)"
    )
    print(
        f"engine fit ({args.core} core):{' ' * (10 - len(args.core))}mean epoch {e_mean:.4f} s "
        f"(median {statistics.median(e_times):.4f} s)"
    )
    print(f"speed-up (article / engine mean epoch): {a_mean / e_mean:.2f}x")
    same = compare(a_rows, e_rows, a_test, e_test)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
