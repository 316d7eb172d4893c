"""What training commands share: loading the data, stopping on Ctrl+C or SIGTERM, reporting a run."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager

from engine.domain import millions, riders

from .output import note, print_json, score_lines


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-db",
        metavar="PATH",
        help="run store database (default: $RIDERSHIP_RUNS_DB, $RIDERSHIP_HOME/runs.db "
        "or runs.db in the user data folder)",
    )


def open_store(args, hint: bool = False):
    from engine.store.runstore import RunStore, RunStoreError

    try:
        return RunStore.open(getattr(args, "runs_db", None))
    except RunStoreError as exc:
        if not hint:
            raise
        raise RunStoreError(f"{exc}; pass --no-record to train without recording, or --runs-db PATH") from None


def load_data(args):
    from engine.data.sources import resolve

    progress = None if args.json else _progress
    data = resolve(args.data, allow_download=args.download, fill_gaps=args.fill_gaps, progress=progress)
    if data.is_synthetic and not args.json:
        note(
            "no data file found; using the synthetic demo series (not the CTA's numbers). "
            "Pass --data PATH, set RIDERSHIP_DATA or use --download."
        )
    if data.filled_dates and not args.json:
        note(f"filled {len(data.filled_dates)} missing dates by interpolation")
    return data


def _progress(done: int, total: int | None) -> None:
    share = f" ({done / total:.0%})" if total else ""
    print(f"\rdownloading: {done / 1e6:.1f} MB{share}", end="", file=sys.stderr, flush=True)


@contextmanager
def stop_on_signals():
    """Ctrl+C, SIGTERM or SIGHUP during a run stops it within one batch, like the app's `s`: the run ends
    "stopped" with its best weights scored, saved and recorded. A second Ctrl+C interrupts at once."""
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        try:  # after a hang-up the terminal may be gone: stopping matters, the message does not
            print(
                f"\nridership: {signal.Signals(signum).name} received: stopping after this batch "
                "(Ctrl+C again to interrupt at once)",
                file=sys.stderr,
                flush=True,
            )
        except (OSError, ValueError):
            pass

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    # SIGHUP: the terminal was closed; the run (or sweep) ends as after Ctrl+C, recorded "stopped".
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    before = {s: signal.signal(s, handler) for s in signals}
    try:
        yield stop
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def report_run(args, run, data, *, save: str | None = None) -> int:
    """Print a finished, stopped or failed run (train and runs resume); save its model if asked."""
    for warning in run.warnings:
        note(warning)
    saved = None
    if run.model is None:  # diverged (or stopped) in epoch 1: no weights worth scoring or saving
        if args.json:
            print_json(
                {
                    "status": run.status,
                    "reason": run.reason,
                    "config": run.config.to_dict(),
                    "history": [],
                    "run": _record_summary(run),
                }
            )
        else:
            print(f"run {run.status}: {run.reason}; no epoch finished, so nothing is scored or saved")
        return 1
    save_error = None
    if save:
        from engine.errors import RidershipError
        from engine.store.modelfile import save_model

        try:
            saved = str(save_model(save, run.fit, data))
        except RidershipError as exc:  # disk full, no permission: the run itself is not lost
            kept = (
                f"; the model is kept as run {run.run_id} (ridership runs show {run.run_id}; "
                f"--run {run.run_id} where --model is taken)"
                if run.run_id is not None and run.checkpoint
                else "; the run was not recorded, so this model is lost"
            )
            save_error = f"{exc}{kept}"
    code = _report(args, run, data, saved)
    if save_error:
        print(f"ridership: error: {save_error}", file=sys.stderr)
        return 2
    return code


def _report(args, run, data, saved: str | None) -> int:
    if args.json:
        print_json(
            {
                "status": run.status,
                "reason": run.reason,
                "preset": getattr(args, "preset", None) or _preset(run.config),
                "config": run.config.to_dict(),
                "data": {"source": data.source.kind, "path": data.source.path, "synthetic": data.is_synthetic},
                "device": run.device,
                "epochs": len(run.history),
                "best_epoch": run.best_epoch,
                "best_valid_mae": run.best_valid_mae,
                "weights_epoch": run.weights_epoch,
                "history": [e.riders_dict() for e in run.history],
                "scores": {k: v.to_dict() for k, v in run.scores.items()},
                "saved": saved,
                "run": _record_summary(run),
                "warnings": run.warnings,
            }
        )
        return 0 if run.status == "finished" else 1
    if run.status != "finished":
        print(f"run {run.status}: {run.reason}")
    which = "last" if run.weights_epoch == len(run.history) else "best"
    print(
        f"Best epoch: {run.best_epoch} (valid metric {millions(run.best_valid_mae):.4f} = "
        f"{run.best_valid_mae:,.0f} riders); the model ends with epoch {run.weights_epoch}'s "
        f"weights ({which}), and the scores below come from them"
    )
    if "test" in run.scores:
        test_mae = millions(run.scores["test"].mae)  # the article's own line: millions, then riders
        print(f"Test MAE: {test_mae:.6f} ({riders(test_mae):.2f} riders)")
    for line in score_lines(run.scores):
        print(line)
    if saved:
        print(f"saved model to {saved}")
    if run.run_id is not None:
        print(f"recorded as run {run.run_id} in {run.store_path} (ridership runs show {run.run_id})")
    return 0 if run.status == "finished" else 1


def _preset(config) -> str | None:
    from engine.presets import preset_of

    return preset_of(config)


def _record_summary(run) -> dict | None:
    if run.run_id is None:
        return None
    return {
        "run_id": run.run_id,
        "parent_id": run.parent_id,
        "origin": run.origin,
        "db": str(run.store_path),
        "checkpoint": str(run.checkpoint) if run.checkpoint else None,
    }


def load_predictor(args, data):
    """``--model PATH`` or ``--run ID|latest``: an engine.predictor.Predictor on ``data``."""
    from engine.predictor import Predictor

    if args.model:
        return Predictor.from_file(args.model, data)
    with open_store(args) as store:
        return Predictor.from_run(store, args.run, data)
