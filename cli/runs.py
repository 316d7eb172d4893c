"""``ridership runs list|show|export|delete|diff|resume`` and the recording of ``ridership train``.

The run store is <home>/runs.db (engine/store/runstore.py): ``--runs-db PATH``, else $RIDERSHIP_RUNS_DB,
else $RIDERSHIP_HOME/runs.db, else the platform's user data folder.

Resuming is one command: ``ridership runs resume RUN_ID --more N`` trains N more epochs from the
run's checkpoint as a new run whose parent it is; ``--more`` counts the added epochs, so nobody has
to work out a total.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.domain import format_riders
from engine.formatting import data_key, data_name, ratio_of
from engine.store.runstore import STATUSES
from engine.text import check_label, safe_text

from .options import bounded
from .output import note, print_json, table, when
from .running import add_db_option, open_store


def add_runs_parser(sub, add_data_options) -> None:
    runs = sub.add_parser("runs", help="recorded runs: list, show, export, delete, diff, resume")
    cmds = runs.add_subparsers(dest="runs_command", metavar="{list,show,export,delete,diff,resume,label}")
    runs.set_defaults(runs_command="list", status=None, limit=None, json=False, filter=None, tag=None)

    p = cmds.add_parser("list", help="recorded runs, newest first")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=_positive, metavar="N", help="show the newest N runs only (N >= 1)")
    p.add_argument("--filter", metavar="TEXT", help="runs whose name, tags, note, preset or status contain TEXT")
    p.add_argument("--tag", metavar="TAG", help="runs with this tag")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_db_option(p)

    p = cmds.add_parser("show", help="a run's settings, data, device, scores and per-epoch metrics")
    p.add_argument("run_id", type=_run_id, metavar="RUN_ID")
    p.add_argument("--json", action="store_true", help="print the whole record as JSON")
    add_db_option(p)

    p = cmds.add_parser("export", help="a run's per-epoch history as CSV or its whole record as JSON")
    p.add_argument("run_id", type=_run_id, metavar="RUN_ID")
    p.add_argument("--format", choices=("csv", "json"), help="default: from the output's suffix, else csv")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write to PATH, atomically (- or none: standard output; a terminal or pipe is written through)",
    )
    add_db_option(p)

    p = cmds.add_parser("delete", help="delete runs and their checkpoints")
    p.add_argument("run_ids", type=_run_id, nargs="+", metavar="RUN_ID")
    add_db_option(p)

    p = cmds.add_parser("diff", help="the settings that differ between runs")
    p.add_argument("run_ids", type=_run_id, nargs="+", metavar="RUN_ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_db_option(p)

    p = cmds.add_parser("label", help="name, tag or annotate a run")
    p.add_argument("run_id", type=_run_id, metavar="RUN_ID")
    p.add_argument("--name", help="a short name for the run (empty: none)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable)")
    p.add_argument("--untag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    p.add_argument("--note", help="a note (empty: none)")
    add_db_option(p)

    p = cmds.add_parser("resume", help="train a finished run for more epochs, as a new child run")
    p.add_argument("run_id", type=_run_id, metavar="RUN_ID")
    p.add_argument("--more", type=int, required=True, metavar="N", help="epochs to add")
    add_data_options(p)
    p.add_argument(
        "--device", choices=("auto", "cpu", "cuda", "mps"), help="device to continue on (default: the run's setting)"
    )
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    add_db_option(p)
    p.epilog = "Without --data, the run's own data file is used (the same file is required: its sha256 is checked)."


# -- the runs commands ---------------------------------------------------------------------------


def cmd_runs(args) -> int:
    return {
        "list": _list,
        "show": _show,
        "export": _export,
        "delete": _delete,
        "diff": _diff,
        "resume": _resume,
        "label": _label,
    }[args.runs_command](args)


def _data_name(run) -> str:
    return "synthetic" if run.data_source == "synthetic" else Path(run.data_path or "?").name


def _preset_name(run) -> str:
    from engine.presets import preset_of

    try:
        return preset_of(run.config) or "custom"
    except Exception:  # a stored config this version cannot read
        return "?"


def _matches(run, text: str | None, tag: str | None) -> bool:
    if tag and tag not in run.tags:
        return False
    if not text:
        return True
    haystack = " ".join([run.name, ",".join(run.tags), run.note, _preset_name(run), run.status]).lower()
    return text.lower() in haystack


def _ratio(mae: float | None, naive: float | None) -> str:
    return ratio_of(mae, naive)


def _list(args) -> int:
    with open_store(args) as store:
        runs = store.list_runs(
            status=args.status, limit=args.limit, on_damaged=lambda run_id, why: note(f"skipped {why}")
        )
        path = store.path
    runs = [r for r in runs if _matches(r, args.filter, args.tag)]
    if args.json:
        print_json([r.summary() for r in runs])
        return 0
    if not runs:
        print(
            f"no runs recorded{' with status ' + args.status if args.status else ''}"
            f"{' matching the filter' if args.filter or args.tag else ''} in {path}"
        )
        return 0
    # Runs on different data never share a table: their MAE do not compare. One table per data
    # (synthetic, or each file by its content fingerprint), the data of the newest run first.
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(data_key(r), []).append(r)
    # The scores of the weights each run kept (what its model forecasts with), not its best epoch's.
    header = [
        "id",
        "name",
        "status",
        "started",
        "epochs",
        "preset",
        "lr",
        "valid MAE",
        "valid/naive",
        "test MAE",
        "test/naive",
        "tags",
        "origin",
    ]
    for n, group in enumerate(groups.values()):
        if len(groups) > 1:
            print(
                ("\n" if n else "")
                + f"data: {safe_text(data_name(group[0]))} ({len(group)} run{'s' if len(group) != 1 else ''})"
            )
        rows = [
            [
                str(r.run_id),
                r.name or "-",
                r.status,
                when(r.started_at),
                f"{r.epochs_done}/{r.epochs_planned}",
                _preset_name(r),
                _lr(r.config_dict.get("lr")),
                format_riders(r.valid_mae),
                _ratio(r.valid_mae, r.valid_naive_mae),
                format_riders(r.test_mae),
                _ratio(r.test_mae, r.test_naive_mae),
                ",".join(r.tags) or "-",
                f"{r.origin} of {r.parent_id}" if r.parent_id else r.origin,
            ]
            for r in group
        ]
        print("\n".join(table(header, rows)))
    if len(groups) == 1:
        data = f"; data: {safe_text(_data_name(runs[0]))}"
    else:
        data = f"; {len(groups)} data sets, listed apart: MAE compare only within one"
    print(f"({len(runs)} run{'s' if len(runs) != 1 else ''} in {path}; MAE in riders{data})")
    return 0


def _lr(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "?"


def _label(args) -> int:
    from engine.store.runstore import RunStoreError

    if args.name and not args.name.strip():  # "" clears the name; spaces only are a slip
        raise RunStoreError(f"--name {args.name!r} is blank; give words, or --name '' to remove the name")
    for what, values in (("name", [args.name]), ("tag", args.tag), ("note", [args.note])):
        for value in values:
            if value is not None:
                check_label(value, f"runs label: the {what}")
    with open_store(args) as store:
        run = store.label_run(args.run_id, name=args.name, add_tags=args.tag, remove_tags=args.untag, note=args.note)
    print(
        f"run {run.run_id}: name {safe_text(run.name or '-')}, tags {safe_text(','.join(run.tags) or '-')}, "
        f"note {safe_text(run.note or '-')}"
    )
    return 0


def _show(args) -> int:
    from engine.store.export import history_json

    with open_store(args) as store:
        run = store.get_run(args.run_id)
    if args.json:
        print(history_json(run))
        return 0
    print(f"run {run.run_id}: {run.status}" + (f" ({safe_text(run.reason)})" if run.reason else ""))
    if run.name or run.tags or run.note:
        print(
            f"  name: {safe_text(run.name or '-')}; tags: {safe_text(', '.join(run.tags) or '-')}; "
            f"note: {safe_text(run.note or '-')}"
        )
    if run.parent_id:
        extra = f" at epoch {run.resumed_from_epoch}" if run.resumed_from_epoch else ""
        print(f"  {run.origin} of run {run.parent_id}{extra}")
    print(f"  started {when(run.started_at)}, ended {when(run.ended_at)} on {run.host} (pid {run.pid})")
    print(
        f"  data: {safe_text(run.data_label)}, {run.data_rows:,} rows {run.data_first}..{run.data_last}"
        + (f", sha256 {run.data_fingerprint}" if run.data_fingerprint else "")
    )
    print(f"  device: {run.device} ({safe_text(run.device_name)}), torch {safe_text(run.torch_version)}")
    print("  settings: " + safe_text(", ".join(f"{k}={v}" for k, v in run.config_dict.items())))
    if run.best_epoch:
        print(
            f"  best epoch {run.best_epoch}: validation MAE {format_riders(run.best_valid_mae)} riders; "
            f"weights from epoch {run.weights_epoch}"
        )
    for split, score in (run.scores or {}).items():
        print(
            f"  {split}: MAE {format_riders(score['mae'])} riders, naive {format_riders(score['naive_mae'])}, "
            f"model/naive {score['ratio']:.2f}"
        )
    print(f"  checkpoint: {run.checkpoint or 'none'}")
    for event in run.epochs:
        print(event.article_line())
    return 0


def _export(args) -> int:
    from engine.store.export import export_run, history_csv, history_json
    from engine.store.runstore import RunStoreError

    with open_store(args) as store:
        run = store.get_run(args.run_id)
    if args.output and args.output != "-":  # "-": standard output, as without -o
        fmt = args.format or (Path(args.output).suffix.lstrip(".").lower() or "csv")
        if fmt not in ("csv", "json"):
            raise RunStoreError(
                f"{args.output}: cannot tell the export format from the name; pass --format csv or json"
            )
        path = export_run(run, args.output, fmt)
        print(f"wrote run {run.run_id}'s {'history' if fmt == 'csv' else 'record'} to {path}", file=sys.stderr)
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


RESULTS = (
    ("best valid", "best_valid_mae"),
    ("valid MAE", "valid_mae"),
    ("valid naive", "valid_naive_mae"),
    ("test MAE", "test_mae"),
    ("test naive", "test_naive_mae"),
)


def _diff(args) -> int:
    with open_store(args) as store:
        diff = store.config_diff(args.run_ids)
        runs = [store.get_run(i, with_epochs=False) for i in args.run_ids]
    results = {label: [getattr(r, key) for r in runs] for label, key in RESULTS}
    results["test/naive"] = [r.test_mae / r.test_naive_mae if r.test_mae and r.test_naive_mae else None for r in runs]
    if args.json:
        if len({data_key(r) for r in runs}) > 1:
            diff = {"data": [data_name(r) for r in runs], **diff}
        print_json(
            {
                "runs": args.run_ids,
                "differ": diff,
                "results_riders": {k.replace(" ", "_"): v for k, v in results.items()},
            }
        )
        return 0
    rows = [[name] + [repr(v) if isinstance(v, str) else str(v) for v in values] for name, values in diff.items()]
    if len({data_key(r) for r in runs}) > 1:  # first: their scores are on different data
        rows.insert(0, ["data"] + [data_name(r) for r in runs])
        print(
            f"runs {', '.join(map(str, args.run_ids))} were trained and scored on different data: "
            "their MAE do not compare"
        )
    if not diff:
        print(f"runs {', '.join(map(str, args.run_ids))} have the same settings")
    rows += [
        [label]
        + [(f"{v:.2f}" if label == "test/naive" else format_riders(v)) if v is not None else "-" for v in values]
        for label, values in results.items()
    ]
    print("\n".join(table(["setting / result (riders)"] + [f"run {i}" for i in args.run_ids], rows)))
    return 0


def _resume_data(args, parent):
    """The parent's own data file unless --data says otherwise."""
    from engine.data.sources import load_path, synthetic
    from engine.store.runstore import RunStoreError

    from .running import load_data

    if args.data or args.download:
        return load_data(args)
    if parent.data_source == "synthetic":
        return synthetic()
    if not parent.data_path or not Path(parent.data_path).exists():
        raise RunStoreError(
            f"run {parent.run_id} trained on {parent.data_path}, which no longer exists; "
            "pass --data PATH to the same file"
        )
    return load_path(parent.data_path, parent.data_source, fill_gaps=args.fill_gaps)


def _resume(args) -> int:
    from engine import session

    from .running import report_run, stop_on_signals

    on_epoch = None if (args.json or args.quiet) else (lambda e: print(e.article_line(), flush=True))
    with open_store(args) as store:
        parent = store.get_run(args.run_id, with_epochs=False)
        data = _resume_data(args, parent)
        with stop_on_signals() as stop:
            run = session.resume_run(
                store, args.run_id, args.more, data, device=args.device, on_epoch=on_epoch, should_stop=stop.is_set
            )
    if not args.json:
        print(
            f"run {run.run_id} ({run.status}: {run.reason}) resumed run {args.run_id} "
            f"after its epoch {run.config.epochs - args.more}"
        )
    return report_run(args, run, data)


_positive = bounded(int, 1, what="a whole number >= 1", hint=" (omit --limit to list every run)")
# A run id is SQLite's integer: a bigger number is no run, said in one line rather than overflowing.
_run_id = bounded(int, 1, 2**63 - 1, what="a run id (a whole number from 1 to 2**63 - 1)")
