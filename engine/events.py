"""What a run tells its caller as it goes: plain frozen dataclasses, no tensors, no torch import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .domain import riders


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

    @property
    def train_mae_riders(self) -> float:
        return riders(self.train_mae)

    @property
    def valid_mae_riders(self) -> float:
        return riders(self.valid_mae)

    @property
    def best_valid_mae_riders(self) -> float:
        return riders(self.best_valid_mae)

    def riders_dict(self) -> dict[str, Any]:
        """The epoch as a person reads or exports it: MAE in riders, field names with their unit.
        ``train_loss`` stays in the loss's own unit (on millions of riders, as the article)."""
        return {
            "epoch": self.epoch,
            "epochs": self.epochs,
            "train_loss": self.train_loss,
            "train_mae_riders": self.train_mae_riders,
            "valid_mae_riders": self.valid_mae_riders,
            "lr": self.lr,
            "seconds": self.seconds,
            "best_epoch": self.best_epoch,
            "best_valid_mae_riders": self.best_valid_mae_riders,
        }

    def article_line(self) -> str:
        return (
            f"Epoch {self.epoch}/{self.epochs}, train loss: {self.train_loss:.4f}, "
            f"train metric: {self.train_mae:.4f}, valid metric: {self.valid_mae:.4f}"
        )


@dataclass(frozen=True)
class RunStarted:
    """A run has validated its settings, cut its splits and (when recorded) has an id; training
    starts next. MAE in riders. ``inherited`` are the epochs a resumed run continues from."""

    run_id: int | None  # the run store's id; None when the run is not recorded
    config: Any  # TrainConfig
    device: str
    epochs: int
    naive_valid_mae: float  # riders: "same day last week" on the validation targets
    train_windows: int
    valid_windows: int
    parent_id: int | None = None
    origin: str = "new"  # new, fork, resume
    inherited: tuple = field(default=(), repr=False)  # EpochEvent


def event_from_dict(values: dict[str, Any]) -> EpochEvent:
    return EpochEvent(**{k: values[k] for k in EpochEvent.__dataclass_fields__})
