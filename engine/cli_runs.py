"""``ridership runs list|show|export|delete|diff|resume`` and the recording of ``ridership train``.

The run store is <home>/runs.db (engine/runs.py): ``--runs-db PATH``, else $RIDERSHIP_RUNS_DB,
else $RIDERSHIP_HOME/runs.db, else the platform's user data folder.

Resuming is one command: ``ridership runs resume RUN_ID --more N`` trains N more epochs from the
run's checkpoint as a new run whose parent it is; ``--more`` counts the added epochs, so nobody has
to work out a total.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path


def add_record_options(parser: argparse.ArgumentParser) -> None:
    """``train``'s options: it records the run unless told not to."""
    parser.add_argument("--no-record", action="store_true", help="do not record the run in the run store")
    _add_db_option(parser)


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-db", metavar="PATH",
                        help="run store database (default: $RIDERSHIP_RUNS_DB, $RIDERSHIP_HOME/runs.db "
                             "or runs.db in the user data folder)")


def add_runs_parser(sub, add_data_options) -> None:
    runs = sub.add_parser("runs", help="recorded runs: list, show, export, delete, diff, resume")
    cmds = runs.add_subparsers(dest="runs_command", metavar="{list,show,export,delete,diff,resume}", required=True)

    p = cmds.add_parser("list", help="recorded runs, newest first")
    p.add_argument("--status", choices=("running", "finished", "stopped", "failed", "interrupted"))
    p.add_argument("--limit", type=int, metavar="N", help="show the newest N runs only")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_db_option(p)

    p = cmds.add_parser("show", help="a run's settings, data, device, scores and per-epoch metrics")
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    p.add_argument("--json", action="store_true", help="print the whole record as JSON")
    _add_db_option(p)

    p = cmds.add_parser("export", help="a run's per-epoch history as CSV or its whole record as JSON")
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    p.add_argument("--format", choices=("csv", "json"), help="default: from the output's suffix, else csv")
    p.add_argument("-o", "--output", metavar="PATH", help="write to PATH (default: standard output)")
    _add_db_option(p)

    p = cmds.add_parser("delete", help="delete runs and their checkpoints")
    p.add_argument("run_ids", type=int, nargs="+", metavar="RUN_ID")
    _add_db_option(p)

    p = cmds.add_parser("diff", help="the settings that differ between runs")
    p.add_argument("run_ids", type=int, nargs="+", metavar="RUN_ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_db_option(p)

    p = cmds.add_parser("resume", help="train a finished run for more epochs, as a new child run")
    p.add_argument("run_id", type=int, metavar="RUN_ID")
    p.add_argument("--more", type=int, required=True, metavar="N", help="epochs to add")
    add_data_options(p)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                   help="device to continue on (default: the run's setting)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    _add_db_option(p)
    p.epilog = "Without --data, the run's own data file is used (the same file is required: its sha256 is checked)."


def open_store(args):
    from .runs import RunStore

    return RunStore.open(getattr(args, "runs_db", None))


def fit_and_record(args, config, data, splits, on_epoch):
    """``train``'s training step: recorded in the run store unless ``--no-record``.
    Returns (FitResult, scores, RecordedRun or None)."""
    if args.no_record:
        from .evaluate import score_all
        from .training import fit

        result = fit(config, splits, on_epoch=on_epoch)
        scores = score_all(result.model, splits, data.features().to_numpy(), config.batch_size, result.device)
        return result, scores, None
    from .runs import RunStoreError, train_recorded

    try:
        store = open_store(args)
    except RunStoreError as exc:
        raise RunStoreError(f"{exc}; pass --no-record to train without recording, or --runs-db PATH") from None
    with store:
        recorded = train_recorded(store, config, data, splits=splits, on_epoch=on_epoch)
    if not recorded.scores:  # no epoch finished: score the untrained weights, as an unrecorded run would
        from .evaluate import score_all

        recorded.scores = score_all(recorded.result.model, splits, data.features().to_numpy(),
                                    config.batch_size, recorded.result.device)
    return recorded.result, recorded.scores, recorded


def record_summary(recorded) -> dict | None:
    """The ``run`` entry of ``train --json``."""
    if recorded is None:
        return None
    return {"id": recorded.run_id, "db": str(recorded.db),
            "checkpoint": str(recorded.checkpoint) if recorded.checkpoint else None}


def record_line(recorded) -> str:
    return f"recorded as run {recorded.run_id} in {recorded.db} (ridership runs show {recorded.run_id})"


# -- the runs commands ---------------------------------------------------------------------------

def cmd_runs(args) -> int:
    return {"list": _list, "show": _show, "export": _export, "delete": _delete, "diff": _diff,
            "resume": _resume}[args.runs_command](args)


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _riders(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _data_name(run) -> str:
    return "synthetic" if run.data_source == "synthetic" else Path(run.data_path or "?").name


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header] + rows]


def _list(args) -> int:
    with open_store(args) as store:
        runs = store.list_runs(status=args.status, limit=args.limit)
        path = store.path
    if args.json:
        print(json.dumps([r.summary() for r in runs], indent=2, default=str))
        return 0
    if not runs:
        print(f"no runs recorded{' with status ' + args.status if args.status else ''} in {path}")
        return 0
    rows = [[str(r.id), r.status, _when(r.started_at), f"{r.epochs_done}/{r.epochs_planned}",
             _riders(r.best_valid_mae * 1e6 if r.best_valid_mae is not None else None),
             _riders(r.test_mae), _riders(r.test_naive_mae), _data_name(r), r.device,
             f"{r.origin} of {r.parent_id}" if r.parent_id else r.origin] for r in runs]
    header = ["id", "status", "started", "epochs", "best valid", "test MAE", "naive", "data", "device", "origin"]
    print("\n".join(_table(header, rows)))
    print(f"({len(runs)} run{'s' if len(runs) != 1 else ''} in {path}; MAE in riders)")
    return 0


def _show(args) -> int:
    from .runs import history_json

    with open_store(args) as store:
        run = store.get_run(args.run_id)
    if args.json:
        print(history_json(run))
        return 0
    print(f"run {run.id}: {run.status}" + (f" ({run.reason})" if run.reason else ""))
    if run.parent_id:
        extra = f" at epoch {run.resumed_from_epoch}" if run.resumed_from_epoch else ""
        print(f"  {run.origin} of run {run.parent_id}{extra}")
    print(f"  started {_when(run.started_at)}, ended {_when(run.ended_at)} on {run.host} (pid {run.pid})")
    print(f"  data: {run.data_label}, {run.data_rows:,} rows {run.data_first}..{run.data_last}"
          + (f", sha256 {run.data_fingerprint}" if run.data_fingerprint else ""))
    print(f"  device: {run.device} ({run.device_name}), torch {run.torch_version}")
    print("  settings: " + ", ".join(f"{k}={v}" for k, v in run.config_dict.items()))
    if run.best_epoch:
        print(f"  best epoch {run.best_epoch}: valid metric {run.best_valid_mae:.4f}; "
              f"weights from epoch {run.weights_epoch}")
    for split, score in (run.scores or {}).items():
        print(f"  {split}: MAE {_riders(score['mae'])} riders, naive {_riders(score['naive_mae'])}, "
              f"model/naive {score['ratio']:.2f}")
    print(f"  checkpoint: {run.checkpoint or 'none'}")
    for event in run.epochs:
        print(event.article_line())
    return 0


def _export(args) -> int:
    from .runs import RunStoreError, export_run, history_csv, history_json

    with open_store(args) as store:
        run = store.get_run(args.run_id)
    if args.output:
        fmt = args.format or (Path(args.output).suffix.lstrip(".").lower() or "csv")
        if fmt not in ("csv", "json"):
            raise RunStoreError(f"{args.output}: cannot tell the export format from the name; pass --format csv or json")
        path = export_run(run, args.output, fmt)
        print(f"wrote run {run.id}'s {'history' if fmt == 'csv' else 'record'} to {path}", file=sys.stderr)
        return 0
    sys.stdout.write(history_json(run) + "\n" if args.format == "json" else history_csv(run))
    return 0


def _delete(args) -> int:
    with open_store(args) as store:
        for run_id in args.run_ids:
            run = store.get_run(run_id, with_epochs=False)
            store.delete_run(run_id)
            print(f"deleted run {run_id}" + (" and its checkpoint" if run.checkpoint else ""))
    return 0


def _diff(args) -> int:
    with open_store(args) as store:
        diff = store.config_diff(args.run_ids)
    if args.json:
        print(json.dumps({"runs": args.run_ids, "differ": diff}, indent=2))
        return 0
    if not diff:
        print(f"runs {', '.join(map(str, args.run_ids))} have the same settings")
        return 0
    print("\n".join(_table(["setting"] + [f"run {i}" for i in args.run_ids],
                           [[name] + [repr(v) if isinstance(v, str) else str(v) for v in values]
                            for name, values in diff.items()])))
    return 0


def _resume_data(args, parent):
    """The parent's own data file unless --data says otherwise."""
    from .cli import _load_data
    from .sources import load_path, synthetic

    if args.data or args.download:
        return _load_data(args)
    if parent.data_source == "synthetic":
        return synthetic()
    from .runs import RunStoreError

    if not parent.data_path or not Path(parent.data_path).exists():
        raise RunStoreError(f"run {parent.id} trained on {parent.data_path}, which no longer exists; "
                            "pass --data PATH to the same file")
    return load_path(parent.data_path, parent.data_source, fill_gaps=args.fill_gaps)


def _resume(args) -> int:
    from .cli import _score_lines
    from .runs import resume_run

    on_epoch = None if (args.json or args.quiet) else (lambda e: print(e.article_line(), flush=True))
    with open_store(args) as store:
        parent = store.get_run(args.run_id, with_epochs=False)
        data = _resume_data(args, parent)
        recorded = resume_run(store, args.run_id, args.more, data, device=args.device, on_epoch=on_epoch)
        path = store.path
    result = recorded.result
    if args.json:
        print(json.dumps({
            "run": {"id": recorded.run_id, "parent_id": args.run_id, "db": str(path),
                    "checkpoint": str(recorded.checkpoint) if recorded.checkpoint else None},
            "status": result.status, "reason": result.reason, "epochs": len(result.history),
            "best_epoch": result.best_epoch, "best_valid_mae": result.best_valid_mae * 1e6,
            "weights_epoch": result.weights_epoch,
            "history": [e.__dict__ for e in result.history],
            "scores": {k: v.to_dict() for k, v in recorded.scores.items()},
        }, indent=2))
        return 0 if result.status == "finished" else 1
    print(f"run {recorded.run_id} ({result.status}: {result.reason}) resumed run {args.run_id} "
          f"after its epoch {parent.epochs_done}")
    print(f"Best epoch: {result.best_epoch} (valid metric {result.best_valid_mae:.4f}); the model ends with "
          f"epoch {result.weights_epoch}'s weights")
    if "test" in recorded.scores:
        test = recorded.scores["test"].mae / 1e6
        print(f"Test MAE: {test:.6f} ({test * 1e6:.2f} riders)")
    for line in _score_lines(recorded.scores):
        print(line)
    print(f"recorded in {path} (ridership runs show {recorded.run_id})")
    return 0 if result.status == "finished" else 1
