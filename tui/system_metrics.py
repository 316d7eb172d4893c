"""What this process costs the machine, sampled on demand: CPU, resident memory, and the GPU's
utilisation and memory when they can be read cheaply.

Plain Python with no textual import (the Device pane shows the samples; a bench or the CLI could
log them). Sampling never imports torch or starts CUDA: the GPU is read through NVML (pynvml) when
that is installed, else through torch only if torch is already imported and CUDA already
initialised, else not at all.

A sampler is not thread-safe; call ``sample()`` from one thread (the app's timer, or a worker).
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

HISTORY = 120  # samples kept per metric: two minutes at one a second
METRICS = ("cpu_percent", "rss_bytes", "gpu_util_percent", "gpu_mem_used")


@dataclass(frozen=True)
class Sample:
    """One reading. None: not available here (no GPU, no NVML, torch not loaded...)."""

    time: float  # time.monotonic() when taken
    cpu_percent: float  # this process's CPU time over wall time since the last sample, % of one core
    rss_bytes: int | None  # resident memory of this process
    gpu_util_percent: float | None = None  # % of time the GPU was busy (NVML only)
    gpu_mem_used: int | None = None  # bytes in use on the GPU (whole device with NVML; this process's with torch)
    gpu_mem_total: int | None = None
    gpu_source: str | None = None  # "nvml", "torch" or None


def rss_bytes() -> int | None:
    """Resident set size now: /proc/self/statm on Linux, else the peak from getrusage."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere
    except (ImportError, OSError):
        return None


class _Nvml:
    """NVML through pynvml, opened once; unusable (``ok`` False) when pynvml or the driver is missing."""

    def __init__(self, index: int = 0) -> None:
        self.ok = False
        try:
            import pynvml  # nvidia-ml-py: a thin ctypes binding, no CUDA context

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self.ok = True
        except Exception:  # ImportError, NVMLError (no driver, no device)
            pass

    def read(self) -> tuple[float | None, int | None, int | None]:
        nv = self._nvml
        util = nv.nvmlDeviceGetUtilizationRates(self._handle).gpu
        mem = nv.nvmlDeviceGetMemoryInfo(self._handle)
        return float(util), int(mem.used), int(mem.total)


def torch_gpu() -> tuple[None, int, int | None] | None:
    """(None, bytes torch has allocated, device total) if torch is imported and CUDA is initialised.

    Never imports torch and never initialises CUDA (mem_get_info would create a context)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        cuda = torch.cuda
        if not cuda.is_initialized():
            return None
        used = int(cuda.memory_allocated())
        try:
            _free, total = cuda.mem_get_info()
        except Exception:
            total = None
        return None, used, (int(total) if total is not None else None)
    except Exception:
        return None


class SystemSampler:
    """Takes a Sample per ``sample()`` call and keeps the last ``history`` values of each metric.

    CPU % is this process's CPU time (all its threads) over the wall time since the previous
    sample (or since the sampler was made): 100 is one core busy, more with several threads.
    """

    def __init__(
        self,
        history: int = HISTORY,
        *,
        gpu: bool = True,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self._clock, self._cpu_clock = clock, cpu_clock
        self._last_wall, self._last_cpu = clock(), cpu_clock()
        self._gpu = gpu
        self._nvml: _Nvml | None = None
        self.history: dict[str, deque] = {name: deque(maxlen=history) for name in METRICS}
        self.last: Sample | None = None

    def _read_gpu(self) -> tuple[tuple[Any, ...] | None, str | None]:
        if not self._gpu:
            return None, None
        if self._nvml is None:
            self._nvml = _Nvml()
        if self._nvml.ok:
            try:
                return self._nvml.read(), "nvml"
            except Exception:
                self._nvml.ok = False  # the driver went away: stop asking
        reading = torch_gpu()
        return (reading, "torch") if reading is not None else (None, None)

    def sample(self) -> Sample:
        wall, cpu = self._clock(), self._cpu_clock()
        elapsed = wall - self._last_wall
        percent = max(0.0, (cpu - self._last_cpu) / elapsed * 100) if elapsed > 0 else 0.0
        self._last_wall, self._last_cpu = wall, cpu
        gpu, source = self._read_gpu()
        util, used, total = gpu if gpu is not None else (None, None, None)
        s = Sample(wall, percent, rss_bytes(), util, used, total, source)
        for name in METRICS:
            value = getattr(s, name)
            if value is not None:
                self.history[name].append(value)
        self.last = s
        return s


def as_dict(sample: Sample) -> dict[str, Any]:
    """A sample as plain values (for JSON logs)."""
    return {f.name: getattr(sample, f.name) for f in fields(sample)}
