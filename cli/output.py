"""How the command line prints scores and tables: riders everywhere, the naive forecast beside
every MAE. Formatting only; nothing here computes."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime
from typing import Any

from engine.domain import DAY_TYPE_NAMES, finite, format_riders, unit_named
from engine.text import safe_text

SPLIT_LABELS = {"valid": "validation", "test": "test"}


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
            + (f" | LightGBM: {r(s.gbm_mae)} (rail {r(s.gbm_rail_mae)}, bus {r(s.gbm_bus_mae)}) | "
               f"model/LightGBM {s.gbm_ratio:.2f}" if math.isfinite(s.gbm_mae) else "")
        )
    return lines


def day_type_lines(tests: dict) -> list[str]:
    """Per split and day type: days, model MAE, naive MAE, model/naive (both series together)."""
    names = ", ".join(f"{k} {v}" for k, v in DAY_TYPE_NAMES.items())
    lines = [f"by day type ({names}; MAE in riders, rail and bus together):",
             f"{'':>12} {'days':>5} {'model':>9} {'naive':>9} {'model/naive':>11} {'LightGBM':>9}"]
    for name, test in tests.items():
        label = SPLIT_LABELS.get(name, name)
        for kind, e in test.by_day_type.items():
            lines.append(f"{label:>10} {kind} {e.count:>5} {format_riders(e.mae):>9} "
                         f"{format_riders(e.naive_mae):>9} {e.ratio:>11.2f} {format_riders(e.gbm_mae):>9}")
            label = ""
    return lines


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned columns; every cell escaped (safe_text): a name from the store cannot forge a row."""
    header, rows = [safe_text(c) for c in header], [[safe_text(c) for c in row] for row in rows]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header] + rows]


def when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def print_json(value: Any) -> None:
    """JSON on stdout: MAE fields named ``..._riders``; NaN and infinity written as null."""
    print(json.dumps(finite(unit_named(value)), indent=2, allow_nan=False, default=str))




def note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)
