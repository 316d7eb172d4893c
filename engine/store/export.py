"""A run's history as CSV or its whole record as JSON: MAE in riders, field names with their unit."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path

from ..domain import finite
from .runstore import RunRecord, RunStoreError

# EpochEvent.riders_dict's keys: MAE in riders, seconds of wall time, the loss in its own unit.
CSV_COLUMNS = ("epoch", "epochs", "train_loss", "train_mae_riders", "valid_mae_riders", "lr", "seconds",
               "best_epoch", "best_valid_mae_riders")


def history_csv(run: RunRecord) -> str:
    """The run's per-epoch metrics as CSV; the column names say their unit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in run.epochs:
        row = event.riders_dict()
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def history_json(run: RunRecord) -> str:
    """The whole run (settings, data, device, scores, epochs) as JSON."""
    return json.dumps(finite(run.to_dict()), indent=2, allow_nan=False)




def export_run(run: RunRecord, path: str | Path, fmt: str | None = None) -> Path:
    """Write the run's history to ``path`` as csv or json (from the suffix when ``fmt`` is None),
    atomically."""
    path = Path(path).expanduser()
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "json"):
        raise RunStoreError(f"{path}: cannot tell the export format; use a .csv or .json name (or --format)")
    text = history_csv(run) if fmt == "csv" else history_json(run)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what failed
            tmp.unlink(missing_ok=True)
        raise RunStoreError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    return path
