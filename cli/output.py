"""How the command line prints scores and tables: riders everywhere, the naive forecast beside
every MAE. Formatting only; nothing here computes."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from engine.domain import DAY_TYPE_NAMES, finite, format_riders, unit_named
from engine.formatting import SPLIT_LABELS, local_time  # shared with the app
from engine.text import safe_text


def score_lines(scores: dict) -> list[str]:
    """One line per split: the model's MAE per series beside the naive forecast's, and the ratio."""
    r = format_riders
    lines = []
    for s in scores.values():
        name = SPLIT_LABELS.get(s.split, s.split)
        lines.append(
            f"{name:>10}: model MAE {r(s.mae)} riders (rail {r(s.rail_mae)}, bus {r(s.bus_mae)}) | "
            f"naive same-day-last-week: {r(s.naive_mae)} (rail {r(s.naive_rail_mae)}, "
            f"bus {r(s.naive_bus_mae)}) | model/naive {s.ratio:.2f}"
            + (
                f" | LightGBM: {r(s.gbm_mae)} (rail {r(s.gbm_rail_mae)}, bus {r(s.gbm_bus_mae)}) | "
                f"model/LightGBM {s.gbm_ratio:.2f}"
                if math.isfinite(s.gbm_mae)
                else ""
            )
        )
    return lines


def day_type_lines(tests: dict) -> list[str]:
    """Per split and day type: days, model MAE, naive MAE, model/naive (both series together)."""
    names = ", ".join(f"{k} {v}" for k, v in DAY_TYPE_NAMES.items())
    lines = [
        f"by day type ({names}; MAE in riders, rail and bus together):",
        f"{'':>12} {'days':>5} {'model':>9} {'naive':>9} {'model/naive':>11} {'LightGBM':>9}",
    ]
    for name, test in tests.items():
        label = SPLIT_LABELS.get(name, name)
        for kind, e in test.by_day_type.items():
            lines.append(
                f"{label:>10} {kind} {e.count:>5} {format_riders(e.mae):>9} "
                f"{format_riders(e.naive_mae):>9} {e.ratio:>11.2f} {format_riders(e.gbm_mae):>9}"
            )
            label = ""
    return lines


def kind_lines(tests: dict) -> list[str]:
    """Per split and kind of day (engine.daytypes.KINDS): days, then rail and bus MAE each beside the
    naive forecast's and LightGBM's, as ratios."""
    from engine.daytypes import KIND_NAMES

    lines = [
        "by kind of day (MAE in riders; ratios: model/naive and model/LightGBM):",
        f"{'':>10} {'kind':<10} {'days':>5} {'rail':>9} {'/naive':>6} {'/LGBM':>6} "
        f"{'bus':>9} {'/naive':>6} {'/LGBM':>6}",
    ]
    for name, test in tests.items():
        label = SPLIT_LABELS.get(name, name)
        for kind, e in test.by_kind.items():
            cells = []
            for series in ("rail", "bus"):
                mae = getattr(e, f"{series}_mae")
                cells += [
                    f"{format_riders(mae):>9}",
                    f"{_ratio(mae, getattr(e, f'naive_{series}_mae')):>6}",
                    f"{_ratio(mae, getattr(e, f'gbm_{series}_mae')):>6}",
                ]
            lines.append(f"{label:>10} {kind:<10} {e.count:>5} " + " ".join(cells))
            label = ""
    lines.append("  kinds: " + "; ".join(f"{k}: {v}" for k, v in KIND_NAMES.items()))
    return lines


def _ratio(model: float, other: float) -> str:
    return f"{model / other:.2f}" if other and math.isfinite(other) and math.isfinite(model) else "-"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned columns; every cell escaped (safe_text): a name from the store cannot forge a row."""
    header, rows = [safe_text(c) for c in header], [[safe_text(c) for c in row] for row in rows]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header] + rows]


def when(iso: str | None) -> str:
    return local_time(iso)


def print_json(value: Any) -> None:
    """JSON on stdout: MAE fields named ``..._riders``; NaN and infinity written as null."""
    print(json.dumps(finite(unit_named(value)), indent=2, allow_nan=False, default=str))


def note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)
