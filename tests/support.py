"""Constants and helpers shared by the engine and CLI tests (import them with ``from support import ...``;
tests/conftest.py holds the fixtures). A plain module, so its name cannot clash with another conftest."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from engine.config import TrainConfig
from engine.presets import apply_preset

REAL_DATA = os.environ.get("RIDERSHIP_DATA")  # read at import, before the isolation fixture clears it
CSV_HEADER = ["service_date", "day_type", "bus", "rail_boardings", "total_rides"]

# Small enough for a few epochs in well under a second on one core; splits inside
# synthetic_csv's default date range.
SMALL = TrainConfig(
    window_length=14,
    hidden_size=8,
    batch_size=32,
    epochs=2,
    patience=2,
    factor=0.5,
    train_start="2018-01",
    train_end="2018-06",
    valid_start="2018-07",
    valid_end="2018-08",
    test_start="2018-09",
    test_end="2018-10",
    device="cpu",
)
SMALL_FIRST, SMALL_LAST = "2017-12-01", "2018-10-31"
# SMALL's size on 2016 splits (inside the synthetic frame's default range), for store and resume tests.
TINY_2016 = SMALL.replace(
    batch_size=16,
    train_start="2016-01",
    train_end="2016-04",
    valid_start="2016-05",
    valid_end="2016-06",
    test_start="2016-07",
    test_end="2016-08",
)
# The `best` preset's mechanics (calendar inputs, normalized windows, highway, capped inputs, AdamW)
# at SMALL's size: tests/engine/test_best_recipe.py and test_log_scale.py train and probe it.
SMALL_RECIPE = SMALL.replace(
    inputs="calendar",
    normalize="week",
    optimizer="adam",
    loss="l1",
    schedule="cosine",
    lr=0.01,
    clip=1.0,
    highway_days=7,
    lstm_days=10,
    restore_best=True,
    epochs=2,
    norm_clip=1.6,
    weight_decay=0.01,
)

# The `best` preset as the real-data acceptance checks train it (tests/acceptance/conftest.py's best_run).
BEST = apply_preset("best").replace(device="cpu", seed=1)


def csv_rows(frame) -> list[list[str]]:
    """Rows of a clean frame (index date; day_type, bus, rail) in the CTA file's format."""
    return [
        [f"{date:%m/%d/%Y}", row.day_type, str(int(row.bus)), str(int(row.rail)), str(int(row.bus + row.rail))]
        for date, row in frame.iterrows()
    ]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = CSV_HEADER) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def small_args(config: TrainConfig = SMALL) -> list[str]:
    """The CLI options that select ``config``'s hyperparameters and splits."""
    return [
        "--preset",
        "article",  # the mechanics under test, not the default preset's training recipe
        "--window-length",
        str(config.window_length),
        "--hidden-size",
        str(config.hidden_size),
        "--batch-size",
        str(config.batch_size),
        "--epochs",
        str(config.epochs),
        "--patience",
        str(config.patience),
        "--factor",
        str(config.factor),
        "--train-start",
        config.train_start,
        "--train-end",
        config.train_end,
        "--valid-start",
        config.valid_start,
        "--valid-end",
        config.valid_end,
        "--test-start",
        config.test_start,
        "--test-end",
        config.test_end,
        "--device",
        "cpu",
    ]


ROOT = Path(__file__).resolve().parents[1]


def isolate(monkeypatch, root: Path) -> None:
    """No $RIDERSHIP_DATA, run store, cache or home of the user's: the tests' own under ``root``
    (tests/conftest.py's autouse fixture; a module-scoped fixture runs before it and calls this)."""
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    monkeypatch.delenv("RIDERSHIP_RUNS_DB", raising=False)
    monkeypatch.setenv("RIDERSHIP_CACHE", str(root / "cache"))
    monkeypatch.setenv("RIDERSHIP_HOME", str(root / "home"))


def cli_env() -> dict:
    """The environment for ``python -m cli`` run from the repository root in a subprocess."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def ridership(*args, timeout: float = 300, cwd=ROOT, env: dict | None = None, input: str | None = None):
    """``ridership ARGS`` (``python -m cli`` from ``cwd``) in a process of its own, text output
    captured: a subprocess.CompletedProcess. The process is forked from one that has imported
    what the commands import (tests/forked_cli.py); ``env`` is its whole environment (cli_env()
    when not given)."""
    import forked_cli

    return forked_cli.run(list(args), cwd=cwd, env=cli_env() if env is None else env, input=input, timeout=timeout)


def usage_error(proc, option: str) -> str:
    """argparse's refusal: the usage, then one line naming the option; exit 2."""
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and f"error: argument {option}" in last and "Traceback" not in proc.stderr, (
        proc.returncode,
        proc.stderr,
    )
    return last


def fit(config: TrainConfig, data_or_splits, **kwargs):
    """engine.training.fit on a RidershipData or on splits already cut (the loop itself takes splits;
    engine.session cuts them for real runs)."""
    from engine.data import make_splits
    from engine.training import fit as fit_loop

    splits = data_or_splits if isinstance(data_or_splits, dict) else make_splits(data_or_splits, config)
    return fit_loop(config, splits, config.device if config.device != "auto" else "cpu", **kwargs)


def _refuse_to_load():
    raise RuntimeError("this object cannot be loaded in another process")


class BreaksInAWorker:
    """A trial hook that cannot be unpickled: a sweep worker given it dies before its first trial
    (as one would in a broken environment)."""

    def __reduce__(self):
        return (_refuse_to_load, ())

    def __call__(self, trial: int, params: dict) -> None:
        pass


@contextmanager
def shared_folder(tmp_path_factory, name: str):
    """``with shared_folder(tmp_path_factory, "best") as (folder, fresh):`` a folder shared by every
    xdist worker of this session (and by a run without xdist): the first to arrive holds a lock
    while it fills the folder (``fresh`` is True: build, then write nothing else after leaving);
    the others wait on the lock, a state, and find it built (``fresh`` False). A build that failed
    leaves no ``.done`` mark, so the next one to arrive builds again and fails the same way, in
    its own test. Expensive things every reader only reads (a real-data model) are made once."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # xdist: the workers' common parent
    folder = root / f"shared-{name}"
    folder.mkdir(exist_ok=True)
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = folder / ".done"
            fresh = not done.exists()
            yield folder, fresh
            if fresh:
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def still_running(procs: dict[int, float]) -> list[int]:
    """The pids of ``procs`` (pid -> create time, as psutil gives it) that still run as the same
    process: a pid reused by a newer process, or a zombie, does not count."""
    import psutil

    alive = []
    for pid, created in procs.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


async def paste(pilot, text: str) -> None:
    """``text`` into the focused widget as a terminal delivers a paste (one bracketed-paste event),
    rather than typed a key at a time: Pilot waits for the app to go idle after every key (40 ms at
    least, up to 2 s while a worker computes), so typing a file path took seconds of a test. The
    field sees the same edit either way (Input.Changed, its check)."""
    from textual import events

    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def workers_ended(app, group: str | None = None) -> None:
    """Every worker the app has now (of ``group``, or all) has ended: done, failed or cancelled. A worker is cancelled when
    a newer one of its group supersedes it (the next key a user presses, say); Textual's
    ``workers.wait_for_complete`` raises for that, a race once keys follow each other without a
    wait for an idle CPU (tests/tui/conftest.py ``settled``)."""
    import asyncio

    workers = [worker for worker in app.workers if group is None or worker.group == group]
    await asyncio.gather(*(worker.wait() for worker in workers), return_exceptions=True)


async def workers_done(pilot, rounds: int = 3) -> None:
    """``rounds`` times: the app handles what is queued, then every worker it has ends; one round
    per link of a chain of workers that start workers (a pane's store read, then its curves)."""
    for _ in range(rounds):
        await pilot.pause()
        await workers_ended(pilot.app)
    await pilot.pause()
