"""A gradient-boosting reference beside the naive one: LightGBM on the same windows and targets.

A cheap, strong model that a user comparing tools would try first; every MAE the product shows has
it beside it, so nobody has to wonder whether the LSTM is worth its training. Fixed settings:

- inputs per target day, per series: the window's rail and bus divided by that series' mean over
  the window's last 7 days, the target day's CTA day type and weekday (categorical), and the log of
  the level; the target is the next day divided by the level;
- one model per series, objective L1, 600 trees, 15 leaves, learning rate 0.03, one thread, seed 0;
- trained on the run's own training split (its dates and window length), so it sees what the
  LSTM sees.

Predictions are cached per data file (sha256, or the synthetic series), split dates and window, in
memory and in the cache folder, so it costs seconds once. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .domain import SEASON, millions

SETTINGS = {"objective": "l1", "num_leaves": 15, "learning_rate": 0.03, "rounds": 600, "version": 1}
DAY_CODE = {"A": 0, "U": 1, "W": 2}
_memory: dict[str, dict[str, np.ndarray]] = {}
_lock = threading.Lock()


def available() -> bool:
    """Whether lightgbm is installed, without importing it (0.4 s): a cached reference needs only numpy."""
    from importlib.util import find_spec

    return find_spec("lightgbm") is not None


def reference_predictions(
    data, splits: dict, window_length: int, names=("valid", "test"), cache_dir: Path | None = None
) -> dict[str, np.ndarray] | None:
    """LightGBM's predictions (rows, 2) in millions (the model's unit) for each named split's
    targets, trained on ``splits["train"]``; None when lightgbm is not installed."""
    if not available():
        return None
    key = _key(data, splits, window_length, names)
    with _lock:
        if key in _memory:
            return _memory[key]
        path = (cache_dir or _cache_dir()) / f"{key}.npz"
        with _file_lock(path):  # a sweep's workers start together: one fits, the others read it
            try:
                with np.load(path) as saved:
                    out = {name: saved[name] for name in names}
            except (OSError, KeyError, ValueError):
                out = _fit(data, splits, window_length, names)
                _save(path, out)
        _memory[key] = out
        return out


@contextmanager
def _file_lock(path: Path):
    """Held by one process at a time (POSIX advisory lock beside the cache file). Best effort, as
    the cache: without a lock (no fcntl, a folder that cannot be written) each process fits alone."""
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(f".{path.name}.lock"), "a")  # noqa: SIM115 - closed below
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # releases the lock


def _cache_dir() -> Path:
    from .data.sources import cache_dir

    return cache_dir() / "reference"


def _save(path: Path, out: dict[str, np.ndarray]) -> None:
    """Best effort: a cache that cannot be written only costs the next run a refit."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, **out)
        tmp.replace(path)
    except OSError:
        pass


def _key(data, splits: dict, window_length: int, names) -> str:
    identity = data.fingerprint or f"{data.source.kind}:{len(data.frame)}:{data.first_date}:{data.last_date}"
    spans = {name: (int(s.start), int(s.stop)) for name, s in splits.items()}
    text = json.dumps([identity, spans, window_length, list(names), SETTINGS], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _inputs(
    riders: np.ndarray, day_types: np.ndarray, weekdays: np.ndarray, positions: np.ndarray, window_length: int
) -> tuple[np.ndarray, np.ndarray]:
    window = riders[positions[:, None] + np.arange(-window_length, 0)[None, :]]  # (N, window, 2)
    level = np.maximum(window[:, -SEASON:, :].mean(axis=1), 1.0)  # (N, 2), riders
    scaled = window / level[:, None, :]
    codes = np.array([DAY_CODE.get(d, 2) for d in day_types[positions]], dtype=np.float64)
    X = np.hstack(
        [
            scaled[:, :, 0],
            scaled[:, :, 1],
            codes[:, None],
            weekdays[positions].astype(np.float64)[:, None],
            np.log(level),
        ]
    )
    return X, level


def _fit(data, splits: dict, window_length: int, names) -> dict[str, np.ndarray]:
    import lightgbm as lgb

    frame = data.frame
    riders = frame[["rail", "bus"]].to_numpy(dtype=np.float64)
    day_types = frame["day_type"].to_numpy()
    weekdays = frame.index.day_of_week.to_numpy()
    train_at = splits["train"].target_positions
    X, level = _inputs(riders, day_types, weekdays, train_at, window_length)
    y = riders[train_at] / level
    params = {
        "objective": SETTINGS["objective"],
        "num_leaves": SETTINGS["num_leaves"],
        "learning_rate": SETTINGS["learning_rate"],
        "num_threads": 1,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }
    categorical = [2 * window_length, 2 * window_length + 1]
    models = [
        lgb.train(
            {**params, "seed": s},
            lgb.Dataset(X, y[:, s], categorical_feature=categorical),
            num_boost_round=SETTINGS["rounds"],
        )
        for s in range(2)
    ]
    out = {}
    for name in names:
        at = splits[name].target_positions
        X, level = _inputs(riders, day_types, weekdays, at, window_length)
        out[name] = millions(np.stack([m.predict(X) for m in models], axis=1) * level)
    return out
