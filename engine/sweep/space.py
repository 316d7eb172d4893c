"""A search space over TrainConfig fields: choices, int and float ranges, log scales.

One parameter per field, written the same way on the command line (``--param``) and in a TOML
file (``[params]``)::

    lr=log:0.01:0.5            float, log-uniform in [0.01, 0.5]
    momentum=float:0.8:0.99    float, uniform
    window_length=int:28:84    int, uniform (inclusive); int:28:84:7 steps by 7; intlog:8:128 log scale
    hidden_size=16,32,64       choices (typed like the field: int, float, str or bool)
    normalize=none,week

In TOML a value is the same string, or a list of choices (``hidden_size = [16, 32, 64]``).
Every malformed spec is refused with one line naming the parameter and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import RidershipError

FIELD_TYPES = {f.name: type(f.default) for f in dataclasses.fields(TrainConfig)}
RANGE_KINDS = ("log", "float", "int", "intlog")


class SpaceError(RidershipError):
    """A search-space spec cannot be used."""


@dataclass(frozen=True)
class Param:
    """One searched field. ``kind``: choice, float or int; ``log`` for log-uniform ranges."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: int | None = None
    choices: tuple = ()

    def spec(self) -> str:
        """The spec string this parameter is parsed from (round-trips through ``parse_param``)."""
        if self.kind == "choice":
            return f"{self.name}=" + ",".join(_text(c) for c in self.choices)
        prefix = {("float", True): "log", ("float", False): "float", ("int", True): "intlog", ("int", False): "int"}[
            (self.kind, self.log)
        ]
        step = f":{self.step}" if self.step else ""
        return f"{self.name}={prefix}:{_text(self.low)}:{_text(self.high)}{step}"

    def distribution(self):
        """The optuna distribution (also what Ray's OptunaSearch takes)."""
        import optuna

        if self.kind == "choice":
            return optuna.distributions.CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return optuna.distributions.IntDistribution(
                int(self.low), int(self.high), log=self.log, step=self.step or 1
            )
        return optuna.distributions.FloatDistribution(float(self.low), float(self.high), log=self.log)


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def specs(self) -> list[str]:
        return [p.spec() for p in self.params]

    def distributions(self) -> dict:
        return {p.name: p.distribution() for p in self.params}

    def config_for(self, base: TrainConfig, values: dict[str, Any]) -> TrainConfig:
        """``base`` with the searched fields set to ``values`` (cast to each field's type)."""
        return base.replace(**{k: _cast(k, v) for k, v in values.items()})

    def check(self, base: TrainConfig) -> None:
        """Refuse a space whose corners give invalid settings (validated once, up front)."""
        for p in self.params:
            values = list(p.choices) if p.kind == "choice" else [p.low, p.high]
            for v in values:
                try:
                    self.config_for(base, {p.name: v}).validate()
                except RidershipError as exc:
                    raise SpaceError(
                        f"--param {p.spec()}: the value {_text(v)} gives invalid settings ({exc})"
                    ) from None


def parse_param(text: str) -> Param:
    """``NAME=SPEC`` (see the module's docstring) -> Param; SpaceError with one line otherwise."""
    name, sep, spec = str(text).partition("=")
    name, spec = name.strip().replace("-", "_"), spec.strip()
    if not sep or not name or not spec:
        raise SpaceError(
            f"--param {text!r}: expected NAME=SPEC, e.g. lr=log:0.01:0.5, hidden_size=16,32,64 "
            "or window_length=int:28:84"
        )
    return _param(name, spec, text)


def _param(name: str, spec: Any, text: str) -> Param:
    if name not in FIELD_TYPES:
        raise SpaceError(f"--param {text!r}: {name!r} is not a training setting (one of {', '.join(FIELD_TYPES)})")
    if isinstance(spec, (list, tuple)):
        return _choices(name, list(spec), text)
    head, colon, rest = spec.partition(":")
    if colon and head.strip().lower() in RANGE_KINDS:
        return _range(name, head.strip().lower(), rest.split(":"), text)
    if colon:
        raise SpaceError(
            f"--param {text!r}: unknown range kind {head!r}; use log:, float:, int: or intlog: "
            "(LOW:HIGH), or a comma-separated list of choices"
        )
    return _choices(name, [c.strip() for c in spec.split(",")], text)


def _range(name: str, kind: str, parts: list[str], text: str) -> Param:
    field_type = FIELD_TYPES[name]
    is_int = kind in ("int", "intlog")
    if field_type not in (int, float):
        raise SpaceError(
            f"--param {text!r}: {name} is {field_type.__name__}; give a list of choices (e.g. {name}=a,b), not a range"
        )
    if is_int != (field_type is int):
        want = "an int: or intlog:" if field_type is int else "a log: or float:"
        raise SpaceError(f"--param {text!r}: {name} is {field_type.__name__}; use {want} range, not {kind}:")
    if len(parts) != 2 and not (kind == "int" and len(parts) == 3):
        raise SpaceError(f"--param {text!r}: expected {kind}:LOW:HIGH" + ("[:STEP]" if kind == "int" else ""))
    try:
        nums = [int(p) if is_int else float(p) for p in parts]
    except ValueError:
        raise SpaceError(
            f"--param {text!r}: LOW and HIGH must be {'whole ' if is_int else ''}numbers, got {':'.join(parts)!r}"
        ) from None
    low, high, step = nums[0], nums[1], (nums[2] if len(nums) == 3 else None)
    if not all(math.isfinite(v) for v in nums):
        raise SpaceError(f"--param {text!r}: LOW and HIGH must be finite numbers")
    if low >= high:
        raise SpaceError(f"--param {text!r}: LOW ({_text(low)}) must be below HIGH ({_text(high)})")
    log = kind in ("log", "intlog")
    if log and low <= 0:
        raise SpaceError(f"--param {text!r}: a log range needs LOW > 0, got {_text(low)}")
    if step is not None and (step <= 0 or (high - low) % step):
        raise SpaceError(f"--param {text!r}: STEP must be > 0 and divide HIGH - LOW ({high - low}), got {step}")
    return Param(name, "int" if is_int else "float", low, high, log=log, step=step)


def _choices(name: str, raw: list, text: str) -> Param:
    if not raw or any(isinstance(c, str) and not c for c in raw):
        raise SpaceError(f"--param {text!r}: an empty choice; expected e.g. {name}=a,b,c")
    if not all(isinstance(c, (str, int, float, bool)) for c in raw):
        raise SpaceError(f"--param {text!r}: each choice must be one value (text or a number), not a list or table")
    values = tuple(_cast(name, c, text) for c in raw)
    if len(set(values)) != len(values):
        raise SpaceError(f"--param {text!r}: a choice is listed twice")
    return Param(name, "choice", choices=values)


def _cast(name: str, value: Any, text: str | None = None) -> Any:
    kind = FIELD_TYPES[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in ("true", "yes", "1"):
                return True
            if low in ("false", "no", "0"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, bool):
                raise ValueError(value)
            return int(str(value).strip()) if not isinstance(value, int) else value
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        return str(value).strip()
    except (TypeError, ValueError):
        raise SpaceError(f"--param {text or name!r}: {value!r} is not a valid {kind.__name__} for {name}") from None


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_space(specs: list[str]) -> SearchSpace:
    """Several ``--param`` specs; a field given twice is refused."""
    params = [parse_param(s) for s in specs]
    seen: set[str] = set()
    for p in params:
        if p.name in seen:
            raise SpaceError(f"--param: {p.name} is given twice")
        seen.add(p.name)
    if not params:
        raise SpaceError("no parameter to search: give at least one --param NAME=SPEC (or a [params] table in --space)")
    return SearchSpace(tuple(params))


def load_toml(path: str | Path) -> tuple[SearchSpace, dict[str, Any]]:
    """A TOML file: a ``[params]`` table (NAME = "SPEC" or NAME = [choices]) and optional sweep
    settings at the top level or under ``[sweep]`` (trials, timeout, objective, workers, preset,
    sampler, pruner, and fixed training settings under ``[base]``). Returns (space, settings)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise SpaceError(f"{path}: reading TOML needs Python 3.11 or `pip install tomli`") from None
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SpaceError(f"{path}: cannot read the space file ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{path}: not valid TOML ({exc})") from None
    params = doc.get("params")
    if not isinstance(params, dict) or not params:
        raise SpaceError(f'{path}: expected a [params] table, e.g. lr = "log:0.01:0.5"')
    parsed = []
    for name, spec in params.items():
        if not isinstance(spec, (str, list)):
            raise SpaceError(f"{path}: params.{name} must be a string spec or a list of choices, got {spec!r}")
        parsed.append(_param(name.replace("-", "_"), spec, f"{name}={spec}"))
    settings = {k: v for k, v in doc.items() if k not in ("params", "sweep")}
    if "sweep" in doc and not isinstance(doc["sweep"], dict):
        raise SpaceError(f"{path}: sweep must be a [sweep] table of settings, got {doc['sweep']!r}")
    settings.update(doc.get("sweep", {}))
    return SearchSpace(tuple(parsed)), check_settings(settings, path)


MAX_TRIALS = 2**63 - 1  # SQLite's largest integer: the sweeps table stores the budget
SETTINGS = ("trials", "timeout", "objective", "workers", "preset", "sampler", "pruner", "base")


def check_settings(settings: dict[str, Any], where: str | Path) -> dict[str, Any]:
    """The space file's sweep settings, each checked (SpaceError naming the key and what was
    expected); ``base`` values cast to their training setting's type."""
    from ..presets import PRESETS

    unknown = [k for k in settings if k not in SETTINGS]
    if unknown:
        raise SpaceError(
            f"{where}: unknown setting {unknown[0]!r}; expected [params] and any of "
            f"{', '.join(SETTINGS)} (at the top or under [sweep])"
        )
    out = dict(settings)
    for key in ("trials", "workers"):
        if key in out:
            value = out[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TRIALS:
                raise SpaceError(f"{where}: {key} must be a whole number >= 1, got {value!r}")
    if "timeout" in out:
        value = out["timeout"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise SpaceError(f"{where}: timeout must be a number of seconds > 0, got {value!r}")
        out["timeout"] = float(value)
    choices = {"sampler": ("tpe", "random"), "pruner": ("median", "none"), "preset": tuple(PRESETS)}
    for key, allowed in choices.items():
        if key in out and out[key] not in allowed:
            raise SpaceError(f"{where}: {key} must be one of {', '.join(allowed)}, got {out[key]!r}")
    if "objective" in out and not isinstance(out["objective"], str):
        raise SpaceError(f'{where}: objective must be text such as "valid", got {out["objective"]!r}')
    if "base" in out:
        base = out["base"]
        if not isinstance(base, dict):
            raise SpaceError(f"{where}: base must be a [base] table of training settings, got {base!r}")
        for name, value in base.items():
            if name not in FIELD_TYPES:
                raise SpaceError(f"{where}: base.{name} is not a training setting (one of {', '.join(FIELD_TYPES)})")
            if not isinstance(value, (str, int, float, bool)):
                raise SpaceError(f"{where}: base.{name} must be one value, got {value!r}")
        cast = {}
        for name, value in base.items():
            try:
                cast[name] = _cast(name, value)
            except SpaceError:
                raise SpaceError(
                    f"{where}: base.{name} = {value!r} is not a valid {FIELD_TYPES[name].__name__}"
                ) from None
        out["base"] = cast
    return out
