"""A run's checkpoint: a model file (engine/store/modelfile.py) plus what it takes to continue training.

It holds the weights the run ended with (``state_dict``, the ones its scores come from), the best
epoch's weights, the settings, the data's scaling facts (features, SCALE, window) and the run's
``FitResult.resume_state`` (model, optimizer with its momentum buffers, ReduceLROnPlateau state,
the private generator's state, the history). Because it is a model file too, ``ridership evaluate
--model`` and ``forecast --model`` read it as is.

Written atomically (modelfile.atomic_save) and read with ``weights_only=True``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..data.loading import RidershipData
from ..domain import SCALE
from ..errors import ModelFileError
from ..events import EpochEvent
from ..model import LstmModel, model_for
from .modelfile import atomic_save, load_model, model_payload

KIND = "run-checkpoint"
RESUME_KEYS = ("epoch", "model", "optimizer", "scheduler", "generator", "history", "best_epoch", "best_valid_mae")


@dataclass
class Checkpoint:
    path: Path
    model: LstmModel  # with the weights the run ended with
    config: TrainConfig
    payload: dict[str, Any]

    @property
    def run_id(self) -> int | None:
        return self.payload.get("run_id")

    @property
    def resume_state(self) -> dict[str, Any] | None:
        return self.payload.get("resume")

    @property
    def epochs_done(self) -> int:
        state = self.resume_state
        return int(state["epoch"]) if state else int(self.payload.get("weights_epoch") or 0)


def _cpu(value: Any) -> Any:
    """Tensors moved to the CPU, so a checkpoint written on a GPU box loads anywhere."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


def save_checkpoint(path: str | Path, result, data: RidershipData, run_id: int | None = None) -> Path:
    """Write ``result`` (a FitResult) as a checkpoint; ``resume`` is None for a run that cannot be
    continued (stopped mid-epoch or failed)."""
    payload = model_payload(result, data)
    payload["data"].update(path=data.source.path, rows=len(data.frame))
    payload.update(
        kind=KIND,
        run_id=run_id,
        scale=SCALE,
        window_length=result.config.window_length,
        best_state_dict=_cpu(result.best_state),
        resume=_cpu(result.resume_state),
    )
    return atomic_save(payload, path)


def save_state(
    path: str | Path, config: TrainConfig, state: dict, data: RidershipData, run_id: int | None = None
) -> Path:
    """A checkpoint written mid-run from ``fit``'s state after an epoch: the model it holds has the
    best epoch's weights (what a run that ended now would keep), and it resumes from that epoch."""
    model = model_for(config)
    best = state.get("best_model")
    model.load_state_dict(best if best is not None else state["model"])
    snapshot = _Snapshot(
        model=model,
        config=config,
        best_epoch=state["best_epoch"],
        best_valid_mae=state["best_valid_mae"],
        weights_epoch=state["best_epoch"] if best is not None else state["epoch"],
        best_state=best,
        resume_state=state,
    )
    return save_checkpoint(path, snapshot, data, run_id=run_id)


@dataclass
class _Snapshot:
    """The fields of training.FitResult that a checkpoint holds (the store does not import training)."""

    model: LstmModel
    config: TrainConfig
    best_epoch: int
    best_valid_mae: float
    weights_epoch: int
    best_state: dict | None
    resume_state: dict | None


def load_checkpoint(path: str | Path, data: RidershipData | None = None, *, for_resume: bool = False) -> Checkpoint:
    """Read a checkpoint; check that it fits ``data`` (features, scale, window; for a resume, the
    very same data) and, with ``for_resume``, that its training state is complete."""
    path = Path(path).expanduser()
    model, config, payload = load_model(path, data)  # format, version, settings, features, weights, window
    if payload.get("kind") != KIND:
        raise ModelFileError(f"{path}: a saved model, not a run's checkpoint (it holds no training state)")
    if payload.get("scale") != SCALE or payload.get("window_length") != config.window_length:
        raise ModelFileError(
            f"{path}: the checkpoint's scaling (scale {payload.get('scale')!r}, window {payload.get('window_length')!r}) "
            f"does not match this program's (scale {SCALE:g}, window {config.window_length})"
        )
    checkpoint = Checkpoint(path, model, config, payload)
    if for_resume:
        _check_resume(checkpoint)
        if data is not None:
            _check_same_data(checkpoint, data)
    return checkpoint


def _check_resume(checkpoint: Checkpoint) -> None:
    path, state = checkpoint.path, checkpoint.resume_state
    if state is None:
        raise ModelFileError(
            f"{path}: this run cannot be resumed: it did not finish (a stopped run's weights moved mid-epoch); "
            "fork it instead to start a new run from its settings"
        )
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise ModelFileError(f"{path}: the training state is incomplete (missing {', '.join(missing)})")
    history = state["history"]
    keys = {f.name for f in fields(EpochEvent)}
    if (
        not isinstance(history, list)
        or len(history) != state["epoch"]
        or any(not isinstance(e, dict) or set(e) != keys for e in history)
        or [e["epoch"] for e in history] != list(range(1, len(history) + 1))
    ):
        raise ModelFileError(f"{path}: the training history is damaged (expected epochs 1..{state['epoch']})")
    generator = state["generator"]
    if not isinstance(generator, torch.Tensor) or generator.dtype != torch.uint8:
        raise ModelFileError(f"{path}: the random generator's state is damaged")
    try:
        copy.deepcopy(checkpoint.model).load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ModelFileError(
            f"{path}: the training weights do not fit the model ({str(exc).splitlines()[0]})"
        ) from None


def _check_same_data(checkpoint: Checkpoint, data: RidershipData) -> None:
    """Continuing on other data would not be the same run: refuse, naming both."""
    saved = checkpoint.payload.get("data", {})
    was_synthetic, is_synthetic = saved.get("source") == "synthetic", data.is_synthetic
    same = (was_synthetic and is_synthetic) or (
        not was_synthetic and not is_synthetic and saved.get("fingerprint") == data.fingerprint
    )
    if not same:

        def describe(kind, path, fingerprint):
            return "the synthetic demo series" if kind == "synthetic" else f"{path} (sha256 {fingerprint[:12]}…)"

        raise ModelFileError(
            f"{checkpoint.path}: the run trained on {describe(saved.get('source'), saved.get('path'), saved.get('fingerprint', ''))}"
            f", not on {describe(data.source.kind, data.source.path, data.fingerprint)}; resume it with the same data "
            "(--data PATH) or fork it to train on this data"
        )
