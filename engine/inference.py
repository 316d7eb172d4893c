"""Running a trained model: predictions, the article's MAE, and the CPU thread policy.

Everything that only runs a model (scoring, backtests, forecasts) imports this, not the training
loop.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from .lean_imports import import_torchmetrics

torchmetrics = import_torchmetrics()


@contextmanager
def cpu_threads(device: torch.device, hidden_size: int):
    """Small recurrent steps run fastest on one thread (measured: 1.55x at hidden 32 on 2 cores),
    which also leaves a core to the UI. Larger models keep torch's default."""
    before = torch.get_num_threads()
    if device.type == "cpu" and hidden_size <= 128:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def evaluate_mae(
    model: nn.Module, windows: torch.Tensor, targets: torch.Tensor, batch_size: int, device: torch.device
) -> float:
    """torchmetrics' MAE over batches in order, exactly as the article's ``evaluate_tm``."""
    metric = torchmetrics.MeanAbsoluteError().to(device)
    model.eval()
    with torch.no_grad():
        for X, y in zip(windows.split(batch_size), targets.split(batch_size)):
            metric.update(model(X), y)
    return metric.compute().item()


def predict(model: nn.Module, windows: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(X) for X in windows.split(batch_size)]) if len(windows) else windows.new_zeros((0, 2))
