"""Compute device: cuda, then mps, then cpu; an explicit choice that is missing is an error."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import DeviceError


def available() -> list[str]:
    kinds = []
    if torch.cuda.is_available():
        kinds.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        kinds.append("mps")
    kinds.append("cpu")
    return kinds


def resolve_device(choice: str = "auto") -> torch.device:
    kinds = available()
    if choice == "auto":
        return torch.device(kinds[0])
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
        import platform

        name = platform.processor() or platform.machine() or "CPU"
    return DeviceInfo(device.type, name, total, used, torch.__version__, torch.get_num_threads())
