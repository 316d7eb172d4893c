"""Compute device: an explicit choice (an error when missing), or ``auto``.

``auto`` without a model size in mind prefers cuda, then mps, then cpu. With the run's settings it
picks the device *measured* faster for that model size: this model is small (24-32 hidden units,
batches of 32-128 windows), and for it a GPU's kernel launches cost about what the CPU's arithmetic
does (bench/results/gpu_check_h200.log: an article epoch took 0.077 s on an H200 and 0.072 s on
that box's 16 CPU threads); a larger hidden size or batch tips it to the GPU.
The measurement (a few training steps on random data of the run's shapes, on each device) is
made once per model shape and device set, and remembered in memory and in
``<home>/device-choice.json``, so it costs about a second the first time and nothing after.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import torch

from .errors import DeviceError
from .lean_imports import without_compiler_import

MEASURE_STEPS = 5  # timed training steps per device (after two to warm up)
_measured: dict[str, str] = {}  # shape key -> the device kind measured fastest (this process)
_measuring = threading.Lock()


def available() -> list[str]:
    kinds = []
    if torch.cuda.is_available():
        kinds.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        kinds.append("mps")
    kinds.append("cpu")
    return kinds


def resolve_device(choice: str = "auto", config=None) -> torch.device:
    """The device for ``choice``; with ``config`` (a TrainConfig), ``auto`` is the device measured
    fastest for its model size (only measured when there is more than one to choose from)."""
    kinds = available()
    if choice == "auto":
        if config is None or len(kinds) == 1:
            return torch.device(kinds[0])
        return torch.device(fastest_device(config, kinds))
    if choice not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {choice!r} is not known (expected auto, cpu, cuda or mps)")
    if choice not in kinds:
        raise DeviceError(f"device {choice!r} is not available on this machine (available: {', '.join(kinds)})")
    return torch.device(choice)


@dataclass(frozen=True)
class DeviceInfo:
    kind: str
    name: str
    memory_total: int | None  # bytes
    memory_used: int | None  # bytes allocated by torch
    torch_version: str
    threads: int

    def lines(self) -> list[str]:
        def gib(n):
            return f"{n / 2**30:.2f} GiB"

        rows = [f"device: {self.kind} ({self.name})", f"torch: {self.torch_version}", f"CPU threads: {self.threads}"]
        if self.memory_used is not None:
            total = f" of {gib(self.memory_total)}" if self.memory_total else ""
            rows.insert(1, f"memory in use by torch: {gib(self.memory_used)}{total}")
        return rows


def cpu_name() -> str:
    """The CPU's model name, read from /proc/cpuinfo where there is one. Not platform.processor():
    on Linux it runs ``uname -p`` in a subprocess (an extra process under every browser page's app)
    and answers "" or "x86_64" anyway."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.machine() or "CPU"


def describe(device: torch.device | str) -> DeviceInfo:
    device = torch.device(device)
    total = used = None
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        name, total, used = props.name, props.total_memory, torch.cuda.memory_allocated(index)
    elif device.type == "mps":
        name = "Apple GPU (Metal)"
        try:
            used = torch.mps.current_allocated_memory()
        except (AttributeError, RuntimeError):
            used = None
    else:
        name = cpu_name()
    return DeviceInfo(device.type, name, total, used, torch.__version__, torch.get_num_threads())


def shape_key(config, kinds: list[str]) -> str:
    """What the speed of a training step depends on (not the learning rate or the dates)."""
    from .domain import features_for

    return (
        f"{'+'.join(kinds)}|in{len(features_for(config.inputs))}|h{config.hidden_size}|w{config.window_length}"
        f"|b{config.batch_size}|{config.core}|{config.normalize}|hw{config.highway_days}|l{config.lstm_days}"
    )


def fastest_device(config, kinds: list[str], *, measure=None, cache_file=None) -> str:
    """The kind in ``kinds`` whose training step is fastest for ``config``'s model (remembered)."""
    key = shape_key(config, kinds)
    with _measuring:  # sweep trials in threads measure once
        if key in _measured:
            return _measured[key]
        path = cache_file if cache_file is not None else _cache_file()
        remembered = _read_cache(path)
        if remembered.get(key) in kinds:
            _measured[key] = remembered[key]
            return _measured[key]
        seconds = {kind: (measure or step_seconds)(torch.device(kind), config) for kind in kinds}
        best = min(seconds, key=seconds.get)
        _measured[key] = best
        remembered[key] = best
        _write_cache(path, remembered)
        return best


def step_seconds(device: torch.device, config) -> float:
    """Mean seconds of one training step (forward, L1 loss, backward, Adam) of ``config``'s model on
    ``device``, on random data of the run's shapes."""
    from .domain import TARGETS, features_for
    from .model import model_for

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(config.batch_size, config.window_length, len(features_for(config.inputs)), generator=generator)
    y = torch.rand(config.batch_size, len(TARGETS), generator=generator)
    model = model_for(config).to(device)
    x, y = x.to(device), y.to(device)
    optimizer = without_compiler_import(torch.optim.Adam)(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        loss = torch.nn.functional.l1_loss(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(MEASURE_STEPS):
        step()
    _sync(device)
    return (time.perf_counter() - started) / MEASURE_STEPS


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _cache_file():
    from .store.paths import home_dir

    return home_dir() / "device-choice.json"


def _read_cache(path) -> dict:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(raw, dict) else {}


def _write_cache(path, values: dict) -> None:
    """Best effort: a folder that cannot be written means measuring again next time, nothing worse."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{threading.get_ident():x}.tmp")
        temporary.write_text(json.dumps(values, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass
