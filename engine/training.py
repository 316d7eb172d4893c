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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .config import TrainConfig
from .data.windows import Split
from .events import EpochEvent
from .inference import evaluate_mae, torchmetrics
from .lean_imports import without_compiler_import
from .model import LstmModel, build_model


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


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(
    config: TrainConfig,
    splits: dict[str, Split],
    device: torch.device | str = "cpu",
    *,
    on_epoch: Callable[[EpochEvent], None] | None = None,
    should_stop: Callable[[], bool | str] | None = None,
    resume: dict[str, Any] | None = None,
    on_state: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train for ``config.epochs`` epochs (in total, counting a resumed run's earlier ones).

    The loop only: ``config`` is already validated, ``splits`` cut and ``device`` resolved by the
    caller (engine/session.py). ``should_stop`` is checked every batch (a string it returns is the stop's reason); ``on_state`` gets, after
    each epoch, the state to continue from (for checkpoints)."""
    device = torch.device(device)
    should_stop = should_stop or (lambda: False)

    generator = seeded_generator(config.seed)
    model = build_model(config, generator).to(device)
    optimizer = make_optimizer(config, model)
    per_batch = config.schedule == "cosine"
    batches_per_epoch = math.ceil(len(splits["train"]) / config.batch_size)
    scheduler = make_scheduler(config, optimizer, batches_per_epoch)
    history: list[EpochEvent] = []
    best_epoch, best_mae, best_state = 0, math.inf, None
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        if per_batch:
            stretch_cosine(scheduler, optimizer, batches_per_epoch * config.epochs)
        generator.set_state(resume["generator"])
        history = [EpochEvent(**e) for e in resume["history"]]
        best_epoch, best_mae = resume["best_epoch"], resume["best_valid_mae"]
        best_state = resume.get("best_model")

    def boundary_state() -> dict[str, Any]:
        """Everything needed to continue from the end of the last finished epoch."""
        return {
            "epoch": len(history),
            "model": _clone_state(model),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(),
            "history": [dict(e.__dict__) for e in history],
            "best_epoch": best_epoch,
            "best_valid_mae": best_mae,
            "best_model": best_state,
        }

    # A stopped or failed run is resumable from its last finished epoch: keep that state (cheap
    # for models this size) rather than the weights that moved mid-epoch.
    resume_state = boundary_state() if history else None
    train_X = splits["train"].windows.to(device)
    train_y = splits["train"].targets.to(device)
    valid_X = splits["valid"].windows.to(device)
    valid_y = splits["valid"].targets.to(device)
    loss_fn = nn.HuberLoss() if config.loss == "huber" else nn.L1Loss()
    metric = torchmetrics.MeanAbsoluteError().to(device)
    status, reason = "finished", f"completed {config.epochs} epochs"
    lowest_loss = min((e.train_loss for e in history), default=math.inf)  # for divergence by growth

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
            if why := should_stop():  # True, or a string naming who stopped it (a closed browser page)
                status, reason = (
                    "stopped",
                    (
                        f"stopped: {why} during epoch {epoch}"
                        if isinstance(why, str)
                        else f"stopped by the user during epoch {epoch}"
                    ),
                )
                break
            y_pred = model(X)
            loss = loss_fn(y_pred, y)
            value = loss.item()
            lowest_loss = min(lowest_loss, value)
            diverged = _divergence(value, lowest_loss)
            if diverged:
                status = "failed"
                reason = (
                    f"the loss {diverged} at epoch {epoch}, batch {number}: training diverged "
                    f"(try a smaller lr than {config.lr:g})"
                )
                break
            total_loss += value
            loss.backward()
            if config.clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            optimizer.zero_grad()
            if per_batch:
                scheduler.step()
            metric.update(y_pred, y)
        if status != "finished":
            break
        train_mae = metric.compute().item()
        _draw_base_seed(generator)  # the validation loader's base seed
        valid_mae = evaluate_mae(model, valid_X, valid_y, config.batch_size, device)
        if not math.isfinite(valid_mae):
            status = "failed"
            reason = (
                f"the validation MAE became {valid_mae} at epoch {epoch}: training diverged "
                f"(try a smaller lr than {config.lr:g})"
            )
            break
        if not per_batch:
            scheduler.step(valid_mae)
        if valid_mae < best_mae:
            best_epoch, best_mae, best_state = epoch, valid_mae, _clone_state(model)
        event = EpochEvent(
            epoch=epoch,
            epochs=config.epochs,
            train_loss=total_loss / len(batches),
            train_mae=train_mae,
            valid_mae=valid_mae,
            lr=lr,
            seconds=time.perf_counter() - started,
            best_epoch=best_epoch,
            best_valid_mae=best_mae,
        )
        history.append(event)
        resume_state = boundary_state()
        if on_epoch is not None:
            on_epoch(event)
        if on_state is not None:
            on_state(resume_state)

    # The article ends with the last epoch's weights; a stopped or failed run, or restore_best,
    # ends with the best epoch's.
    weights_epoch = len(history)
    if best_state is not None and (config.restore_best or status != "finished"):
        model.load_state_dict(best_state)
        weights_epoch = best_epoch
    elif status != "finished":
        weights_epoch = 0  # no epoch finished: the weights are half an epoch's, not a model
    return FitResult(
        model=model,
        config=config,
        device=str(device),
        history=history,
        status=status,
        reason=reason,
        best_epoch=best_epoch,
        best_valid_mae=best_mae,
        weights_epoch=weights_epoch,
        best_state=best_state,
        resume_state=resume_state,
    )


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        if config.weight_decay:  # decoupled from the gradient's scale, as AdamW
            adamw = without_compiler_import(torch.optim.AdamW)
            return adamw(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, foreach=True)
        return without_compiler_import(torch.optim.Adam)(model.parameters(), lr=config.lr, foreach=True)
    # foreach: one call per step for all parameters instead of a Python loop; the same arithmetic.
    # weight_decay 0 (the article) skips the decay term: the article's arithmetic, unchanged.
    return without_compiler_import(torch.optim.SGD)(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, foreach=True
    )


def stretch_cosine(scheduler, optimizer, total_steps: int) -> None:
    """A resumed cosine run decays over its new length: the restored schedule ended at the old
    total, and past it the cosine would climb back to the full learning rate. From the step reached,
    the learning rate is what a cosine over ``total_steps`` has there, and it reaches 0 at the end."""
    scheduler.T_max = max(1, total_steps)
    step = scheduler.last_epoch
    for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = (
            scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * step / scheduler.T_max)) / 2
        )
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


def make_scheduler(config: TrainConfig, optimizer, batches_per_epoch: int):
    """The article's ReduceLROnPlateau on the validation MAE, or a cosine decay to 0 per batch."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, batches_per_epoch * config.epochs))
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", patience=config.patience, factor=config.factor
    )


# A batch loss this many times the lowest seen so far is divergence even while it is finite
# (lr 1e6 "finished" with an MAE of 6e12 riders before). Ordinary noise stays within ~10x.
DIVERGENCE_GROWTH = 1e4


def _divergence(value: float, lowest: float) -> str | None:
    """Why the loss counts as diverged (a phrase), or None."""
    if not math.isfinite(value):
        return f"became {value}"
    if lowest > 0 and value > DIVERGENCE_GROWTH * lowest and value > 1.0:
        return f"grew to {value:.3g}, {value / lowest:.0f} times its lowest ({lowest:.3g})"
    return None
