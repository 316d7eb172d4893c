"""Whether this machine's cores add up: the same one-thread training (the `best` preset, 20 epochs,
the real data) alone, then two copies side by side, timed from a common start inside each process
(imports and data loading excluded).

    python -m bench.cpu_pair [REPEATS]

"pair throughput" is 2 x (alone) / (slower of the pair): 2.0 when two cores are two cores.
"""

import multiprocessing as mp
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("RIDERSHIP_DATA") or os.path.join(
    ROOT, "..", "shared", "data", "ridership", "CTA_-_Ridership_-_Daily_Boarding_Totals.csv"
)


def _one(barrier, out, seed: int) -> None:
    import torch

    torch.set_num_threads(1)
    from engine.data.sources import load_path
    from engine.presets import apply_preset
    from engine.session import start_run

    data = load_path(DATA)
    config = apply_preset("best").replace(epochs=20, device="cpu", seed=seed)
    barrier.wait()
    started = time.perf_counter()
    start_run(config, data)
    out.put(time.perf_counter() - started)


def _side_by_side(n: int) -> list[float]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_one, args=(barrier, out, i + 1)) for i in range(n)]
    for proc in procs:
        proc.start()
    times = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    return times


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        (alone,), pair = _side_by_side(1), _side_by_side(2)
        print(
            f"alone {alone:.2f} s; side by side {pair[0]:.2f} and {pair[1]:.2f} s; "
            f"pair throughput {2 * alone / max(pair):.2f}x (load {os.getloadavg()[0]:.2f})",
            flush=True,
        )
