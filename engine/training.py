"""The article's training loop, without the DataLoader and with cancellation and best weights.

Same arithmetic as the article: HuberLoss, SGD with momentum, ReduceLROnPlateau stepped on the
validation MAE, torchmetrics' MAE. The speed comes from building every window once as a tensor
and gathering each epoch's shuffled batches in one step, from the fused LSTM core, a one-thread
CPU setting and torch's foreach SGD step.

Same shuffles as the article: each iteration of a torch DataLoader draws one int64 from the
generator (its base seed) and a shuffling RandomSampler then draws another to seed the generator
of its randperm. The validation loader's iteration draws its base seed too. We make the same draws
in the same order, from a private generator seeded like ``torch.manual_seed(seed)``, so runs in
other threads cannot disturb each other and a run can be resumed exactly.
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torchmetrics
from torch import nn

from .config import TrainConfig
from .data import FEATURES, TARGETS, RidershipData, Split, make_splits
from .device import resolve_device
from .model import LstmModel


@dataclass(frozen=True)
class EpochEvent:
    """One finished epoch. Metrics are in millions of riders, as the article prints them."""

    epoch: int
    epochs: int
    train_loss: float
    train_mae: float
    valid_mae: float
    lr: float  # the learning rate this epoch trained with
    seconds: float
    best_epoch: int
    best_valid_mae: float

    def article_line(self) -> str:
        return (
            f"Epoch {self.epoch}/{self.epochs}, train loss: {self.train_loss:.4f}, "
            f"train metric: {self.train_mae:.4f}, valid metric: {self.valid_mae:.4f}"
        )


@dataclass
class FitResult:
    model: LstmModel
    config: TrainConfig
    device: str
    history: list[EpochEvent]
    status: str  # "finished", "stopped" or "failed"
    reason: str
    best_epoch: int  # 0 when no epoch finished
    best_valid_mae: float
    weights_epoch: int  # which epoch's weights the model ends with
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    resume_state: dict[str, Any] | None = field(default=None, repr=False)  # to continue training


def seeded_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def init_model(config: TrainConfig, generator: torch.Generator) -> LstmModel:
    """Build the model with the draws ``torch.manual_seed(seed)`` + construction would make,
    taken from ``generator`` instead of the global one."""
    model = LstmModel(len(FEATURES), config.hidden_size, len(TARGETS), core=config.core,
                      normalize=config.normalize, target=config.target)
    stdv = 1.0 / math.sqrt(config.hidden_size)
    with torch.no_grad():
        for weight in model.lstm.parameters():
            weight.uniform_(-stdv, stdv, generator=generator)
        nn.init.kaiming_uniform_(model.output.weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(config.hidden_size)
        model.output.bias.uniform_(-bound, bound, generator=generator)
    return model


def _draw_base_seed(generator: torch.Generator) -> int:
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


def shuffled_order(n: int, generator: torch.Generator) -> torch.Tensor:
    """The order a shuffling DataLoader would visit ``n`` items in, with the same generator draws."""
    _draw_base_seed(generator)  # the loader iterator's base seed
    sampler = torch.Generator().manual_seed(_draw_base_seed(generator))  # RandomSampler's seed
    return torch.randperm(n, generator=sampler)


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """The index batches a shuffling DataLoader would yield, with the same generator draws."""
    return list(shuffled_order(n, generator).split(batch_size))


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


def evaluate_mae(model: nn.Module, windows: torch.Tensor, targets: torch.Tensor, batch_size: int,
                 device: torch.device) -> float:
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


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(
    config: TrainConfig,
    data: RidershipData | dict[str, Split],
    *,
    on_epoch: Callable[[EpochEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: dict[str, Any] | None = None,
) -> FitResult:
    """Train for ``config.epochs`` epochs (in total, counting a resumed run's earlier ones)."""
    config.validate()
    splits = data if isinstance(data, dict) else make_splits(data, config)
    device = resolve_device(config.device)
    should_stop = should_stop or (lambda: False)

    generator = seeded_generator(config.seed)
    model = init_model(config, generator).to(device)
    # foreach: one call per step for all parameters instead of a Python loop; the same arithmetic.
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, foreach=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", patience=config.patience, factor=config.factor
    )
    history: list[EpochEvent] = []
    best_epoch, best_mae, best_state = 0, math.inf, None
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        generator.set_state(resume["generator"])
        history = [EpochEvent(**e) for e in resume["history"]]
        best_epoch, best_mae = resume["best_epoch"], resume["best_valid_mae"]
        best_state = resume.get("best_model")

    train_X = splits["train"].windows.to(device)
    train_y = splits["train"].targets.to(device)
    valid_X = splits["valid"].windows.to(device)
    valid_y = splits["valid"].targets.to(device)
    loss_fn = nn.HuberLoss()
    metric = torchmetrics.MeanAbsoluteError().to(device)
    status, reason = "finished", f"completed {config.epochs} epochs"

    with cpu_threads(device, config.hidden_size):
        for epoch in range(len(history) + 1, config.epochs + 1):
            started = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            # One gather per epoch, then batches are views: the same rows as indexing per batch.
            order = shuffled_order(len(train_y), generator).to(device)
            batches = list(zip(train_X[order].split(config.batch_size), train_y[order].split(config.batch_size)))
            model.train()
            metric.reset()
            total_loss = 0.0
            for number, (X, y) in enumerate(batches, start=1):
                if should_stop():
                    status, reason = "stopped", f"stopped by the user during epoch {epoch}"
                    break
                y_pred = model(X)
                loss = loss_fn(y_pred, y)
                value = loss.item()
                if not math.isfinite(value):
                    status = "failed"
                    reason = (f"the loss became {value} at epoch {epoch}, batch {number}: training diverged "
                              f"(try a smaller lr than {config.lr:g})")
                    break
                total_loss += value
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                metric.update(y_pred, y)
            if status != "finished":
                break
            train_mae = metric.compute().item()
            _draw_base_seed(generator)  # the validation loader's base seed
            valid_mae = evaluate_mae(model, valid_X, valid_y, config.batch_size, device)
            scheduler.step(valid_mae)
            if valid_mae < best_mae:
                best_epoch, best_mae, best_state = epoch, valid_mae, _clone_state(model)
            event = EpochEvent(
                epoch=epoch, epochs=config.epochs, train_loss=total_loss / len(batches), train_mae=train_mae,
                valid_mae=valid_mae, lr=lr, seconds=time.perf_counter() - started,
                best_epoch=best_epoch, best_valid_mae=best_mae,
            )
            history.append(event)
            if on_epoch is not None:
                on_epoch(event)

    done = len(history)
    resume_state = {
        "epoch": done,
        "model": _clone_state(model),
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(),
        "history": [e.__dict__ for e in history],
        "best_epoch": best_epoch,
        "best_valid_mae": best_mae,
        "best_model": best_state,
    } if status == "finished" else None  # a stopped run's weights moved mid-epoch: not resumable
    # The article ends with the last epoch's weights; a stopped or failed run, or restore_best,
    # ends with the best epoch's.
    weights_epoch = done
    if best_state is not None and (config.restore_best or status != "finished"):
        model.load_state_dict(best_state)
        weights_epoch = best_epoch
    return FitResult(
        model=model, config=config, device=str(device), history=history, status=status, reason=reason,
        best_epoch=best_epoch, best_valid_mae=best_mae, weights_epoch=weights_epoch,
        best_state=best_state, resume_state=resume_state,
    )
