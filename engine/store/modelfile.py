"""Saved models: weights, config and the facts needed to check they fit the data.

Written atomically (temporary file + rename) so a crash never leaves half a file; read with
``weights_only=True`` so loading a file cannot run code.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..data.loading import RidershipData
from ..domain import TARGETS, features_for
from ..errors import ConfigError, ModelFileError, printable, quoted
from ..model import LstmModel, model_for
from .paths import STALE_AFTER_S, TEMP_NAME, remove_stale_temporaries  # noqa: F401 (re-exported)

FORMAT = "ridership-model"
VERSION = 1


MAX_HIDDEN_SIZE = 4096


def atomic_save(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` with torch.save to a temporary beside ``path``, then rename it over ``path``.

    The file gets the usual permissions (0666 less the umask); a failure (disk full, permission
    denied) is a ModelFileError naming the path and the reason, and leaves no temporary behind.
    """
    path = Path(path).expanduser()
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temporary(path)
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) or (isinstance(exc, RuntimeError) and "writ" in str(exc).lower()):
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[0]
            raise ModelFileError(f"{printable(path)}: could not save the model ({printable(reason)})") from None
        raise
    return path


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, exclusive ".<name>.<random>.tmp" beside ``path``; mode 0666 so the umask applies."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def save_model(path, result, data: RidershipData | None = None) -> Path:
    return atomic_save(model_payload(result, data), path)


def model_payload(result, data: RidershipData | None = None) -> dict:
    """What a model file holds; a run's checkpoint (engine/store/checkpoint.py) adds to it."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": result.config.to_dict(),
        "features": list(features_for(result.config.inputs)),
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
    """Load a saved model; check it fits ``data`` when given. Returns (model, config, payload).

    Everything the file claims is checked before the model is built: the settings, a sane
    hidden_size, and each weight tensor's name, shape, dtype and finiteness against the shapes
    those settings give (computed on the meta device: no memory). Optional keys a file may lack
    (weights_epoch, best_epoch, best_valid_mae, targets, data) are filled with None or empty values.
    """
    path = Path(path).expanduser()
    name = printable(path)
    if path.is_dir():
        raise ModelFileError(
            f"{name}: is a folder; model file not found (expected a file saved by `ridership train --save`)"
        )
    if not path.is_file():
        raise ModelFileError(f"{name}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{name}: not a readable ridership model file ({printable(first[:200])})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not a ridership model file (saved by `ridership train --save`)")
    if payload.get("version") != VERSION:
        raise ModelFileError(
            f"{name}: model file version {quoted(payload.get('version'))}, this program reads {VERSION}"
        )
    payload = _check_payload(name, payload)
    try:
        config = TrainConfig.from_dict(payload["config"]).validate()
    except (ConfigError, TypeError, KeyError, ValueError) as exc:
        raise ModelFileError(f"{name}: the saved settings are invalid ({printable(exc)})") from None
    if config.hidden_size > MAX_HIDDEN_SIZE:
        raise ModelFileError(
            f"{name}: the saved settings claim hidden_size={config.hidden_size}; this program reads models "
            f"of up to {MAX_HIDDEN_SIZE} units"
        )
    if payload.get("features") != list(features_for(config.inputs)):
        raise ModelFileError(
            f"{name}: the model expects features {printable(payload.get('features'))}, this program builds "
            f"{list(features_for(config.inputs))} for inputs={config.inputs}"
        )
    if payload["targets"] != list(TARGETS):
        raise ModelFileError(
            f"{name}: the model predicts {printable(payload['targets'])}, this program {list(TARGETS)}"
        )
    _check_weights(name, payload["state_dict"], config)
    model = model_for(config)
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise ModelFileError(
            f"{name}: the weights do not fit the model ({printable(str(exc).splitlines()[0])})"
        ) from None
    if data is not None and len(data.frame) < config.window_length:
        raise ModelFileError(
            f"{name}: the model needs windows of {config.window_length} days; the data has {len(data.frame)} rows"
        )
    return model, config, payload


_OPTIONAL = {"weights_epoch": None, "best_epoch": None, "best_valid_mae": None, "targets": list(TARGETS)}
_DATA_KEYS = ("source", "fingerprint", "last_date")


def _check_payload(name: str, payload: dict) -> dict:
    """Required keys present and of the right kind; optional ones defaulted. Returns a new dict."""
    for key, kind in (("config", dict), ("state_dict", dict), ("features", list)):
        if key not in payload:
            raise ModelFileError(f"{name}: the model file has no {key!r} (saved by an incompatible program?)")
        if not isinstance(payload[key], kind):
            raise ModelFileError(
                f"{name}: the model file's {key!r} is a {type(payload[key]).__name__}, expected a {kind.__name__}"
            )
    out = dict(payload)
    for key, default in _OPTIONAL.items():
        out.setdefault(key, default)
    for key in ("weights_epoch", "best_epoch"):
        value = out[key]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ModelFileError(f"{name}: the model file's {key!r} is {quoted(value)}, expected an epoch number >= 0")
    mae = out["best_valid_mae"]
    if mae is not None and (not isinstance(mae, (int, float)) or isinstance(mae, bool)):
        raise ModelFileError(f"{name}: the model file's 'best_valid_mae' is {quoted(mae)}, expected a number")
    facts = out.get("data", {})
    if not isinstance(facts, dict):
        raise ModelFileError(f"{name}: the model file's 'data' is a {type(facts).__name__}, expected a dict")
    out["data"] = {**{k: "" for k in _DATA_KEYS}, **facts}
    return out


def _check_weights(name: str, state: dict, config: TrainConfig) -> None:
    """Every tensor the model needs, with the shape ``config`` gives, floating point and finite."""
    with torch.device("meta"):  # shapes only: nothing is allocated, whatever hidden_size claims
        expected = {k: tuple(v.shape) for k, v in model_for(config).state_dict().items()}
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        what = "; ".join(
            part
            for part in (
                f"missing {', '.join(map(printable, missing))}" if missing else "",
                f"unexpected {', '.join(map(printable, extra[:5]))}" if extra else "",
            )
            if part
        )
        raise ModelFileError(f"{name}: the weights do not fit the model ({what})")
    for key, shape in expected.items():
        tensor = state[key]
        if not isinstance(tensor, torch.Tensor):
            raise ModelFileError(
                f"{name}: the weights do not fit the model ({key} is a {type(tensor).__name__}, not a tensor)"
            )
        if tuple(tensor.shape) != shape:
            raise ModelFileError(
                f"{name}: the weights do not fit the model ({key} has shape {tuple(tensor.shape)}; "
                f"hidden_size={config.hidden_size} needs {shape})"
            )
        if not tensor.is_floating_point():
            raise ModelFileError(
                f"{name}: the weights do not fit the model ({key} holds {tensor.dtype}, not floating point)"
            )
        if not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise ModelFileError(
                f"{name}: the weights are damaged ({key} holds {bad} value{'s' if bad > 1 else ''} that {'are' if bad > 1 else 'is'} "
                "not finite: NaN or infinity); retrain or use another model file"
            )
