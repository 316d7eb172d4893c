"""Saved models: weights, config and the facts needed to check they fit the data.

Written atomically (temporary file + rename) so a crash never leaves half a file; read with
``weights_only=True`` so loading a file cannot run code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig
from .data import FEATURES, TARGETS, RidershipData
from .errors import ConfigError, ModelFileError
from .model import LstmModel

FORMAT = "ridership-model"
VERSION = 1


def atomic_save(obj: Any, path: str | Path) -> Path:
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_model(path, result, data: RidershipData | None = None) -> Path:
    return atomic_save(model_payload(result, data), path)


def model_payload(result, data: RidershipData | None = None) -> dict:
    """What a model file holds; a run's checkpoint (engine/checkpoint.py) adds to it."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": result.config.to_dict(),
        "features": list(FEATURES),
        "targets": list(TARGETS),
        "state_dict": {k: v.detach().cpu() for k, v in result.model.state_dict().items()},
        "weights_epoch": result.weights_epoch,
        "best_epoch": result.best_epoch,
        "best_valid_mae": result.best_valid_mae,
        "data": {
            "source": data.source.kind if data else "",
            "fingerprint": data.fingerprint if data else "",
            "last_date": f"{data.last_date:%Y-%m-%d}" if data else "",
        },
    }


def load_model(path, data: RidershipData | None = None) -> tuple[LstmModel, TrainConfig, dict]:
    """Load a saved model; check it fits ``data`` when given. Returns (model, config, payload)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{path}: not a readable ridership model file ({first[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a ridership model file (saved by `ridership train --save`)")
    if payload.get("version") != VERSION:
        raise ModelFileError(f"{path}: model file version {payload.get('version')!r}, this program reads {VERSION}")
    try:
        config = TrainConfig.from_dict(payload["config"]).validate()
    except (ConfigError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{path}: the saved settings are invalid ({exc})") from None
    if payload.get("features") != list(FEATURES):
        raise ModelFileError(f"{path}: the model expects features {payload.get('features')}, this data has {list(FEATURES)}")
    model = LstmModel(len(FEATURES), config.hidden_size, len(TARGETS), core=config.core,
                      normalize=config.normalize, target=config.target)
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise ModelFileError(f"{path}: the weights do not fit the model ({str(exc).splitlines()[0]})") from None
    if data is not None and len(data.frame) < config.window_length:
        raise ModelFileError(
            f"{path}: the model needs windows of {config.window_length} days; the data has {len(data.frame)} rows"
        )
    return model, config, payload
