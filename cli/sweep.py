"""``ridership sweep``: search training settings in parallel, on this machine or a Ray cluster.

    ridership sweep --name NAME --param lr=log:0.01:0.5 --param hidden_size=16,32,64 [--trials N]
                    [--timeout S] [--workers N] [--objective valid|test|best_valid|SPLIT.KEY]
                    [--preset P] [training options: the fixed settings] [data options]
                    [--backend local|ray [--address HOST:PORT] [--gpus-per-trial X]]
                    [--pack N: trials of one shape trained as one batched model per worker]
    ridership sweep --continue NAME [--trials N] [--workers N]   (or the same --name again)
    ridership sweep list
    ridership sweep show NAME

Every trial is a recorded run (``ridership runs show ID``); the sweep's Optuna study lives beside
the run store, so a sweep stopped (Ctrl+C, SIGTERM) or killed can be continued.
"""

from __future__ import annotations

import argparse
import math
import sys

from engine.domain import format_riders
from engine.errors import RidershipError
from engine.files import refusal
from engine.formatting import ratio
from engine.text import check_label, safe_text

from .options import add_config_options, bounded, given_settings
from .output import print_json, table, when
from .running import add_db_option, open_store, stop_on_signals

ACTIONS = ("list", "show")


def add_sweep_parser(sub, add_data_options) -> None:
    from engine.presets import DEFAULT_PRESET, PRESETS

    p = sub.add_parser(
        "sweep",
        help="search training settings in parallel (list / show NAME / start or continue)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "action",
        nargs="*",
        metavar="list | show NAME",
        help="nothing: start or continue a sweep; list: every sweep; show NAME: its leaderboard",
    )
    p.add_argument("--name", help="the sweep's name (a recorded name continues that sweep)")
    p.add_argument(
        "--continue",
        dest="continue_name",
        metavar="NAME",
        help="continue sweep NAME with its recorded space, settings and data",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a searched setting: lr=log:0.01:0.5, momentum=float:0.8:0.99, window_length=int:28:84[:STEP], "
        "hidden_size=intlog:8:128, hidden_size=16,32,64 (choices); repeatable",
    )
    p.add_argument("--space", metavar="FILE", help="a TOML file with a [params] table (and optional [sweep] settings)")
    p.add_argument(
        "--trials",
        type=_positive_int,
        metavar="N",
        help="trials in all, earlier sessions of the sweep included (default 20 unless --timeout)",
    )
    p.add_argument("--timeout", type=_positive_float, metavar="SECONDS", help="start no trial after this long")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="trials at once (default: one per core)")
    p.add_argument(
        "--pack",
        type=_pack,
        metavar="N",
        help="local: each worker trains up to N trials of one shape as one batched model, each its own "
        "trial and run; helps on a GPU (default: 8 when the trials train on cuda, else 1: on a CPU, "
        "packing measured slower than one worker per core); kept by --continue",
    )
    p.add_argument(
        "--objective",
        default=None,
        help="what to minimise: valid (validation MAE in riders, default), test, best_valid, "
        "or SPLIT.KEY (KEY mae|rail_mae|bus_mae|ratio)",
    )
    p.add_argument("--sampler", choices=("tpe", "random"), default=None, help="Optuna sampler (default tpe)")
    p.add_argument(
        "--pruner",
        choices=("median", "none"),
        default=None,
        help="stop trials whose validation MAE is worse than the median at the same epoch (default median)",
    )
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: worker processes here (default); ray: Ray actors, started here or on --address",
    )
    p.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="Ray: the cluster's head to join, as `ray start --head` prints it, or auto (default: start Ray here)",
    )
    p.add_argument("--gpus-per-trial", type=_gpus, default=0.0, metavar="X", help="Ray: GPUs per trial, e.g. 0.25")
    p.add_argument("--cpus-per-trial", type=_cpus, default=1.0, metavar="X", help="Ray: CPUs per trial")
    p.add_argument("--top", type=_positive_int, metavar="K", help="show: the best K trials only")
    p.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=None,
        help=f"the fixed settings to start from (default: {DEFAULT_PRESET}); training options override them",
    )
    add_data_options(p)
    add_config_options(p)
    add_db_option(p)


def cmd_sweep(args) -> int:
    action = list(args.action)
    if not action:
        from engine.sweep.local import end_forkserver

        try:
            return _start(args)
        finally:
            end_forkserver()  # the workers' server, if _start started one: not left behind by the command
    if action[0] == "list" and len(action) == 1:
        return _list(args)
    if action[0] == "show" and len(action) == 2:
        return _show(args, action[1])
    raise RidershipError(
        f"sweep {' '.join(action)}: expected `sweep list`, `sweep show NAME`, or options "
        "to start one (--name NAME --param ...)"
    )


# -- start / continue -------------------------------------------------------------------------------


def _plan(args, store):
    """The sweep to run: a new one from the options, or a recorded one to continue."""
    from engine.presets import DEFAULT_PRESET, apply_preset
    from engine.sweep import records
    from engine.sweep.local import DEFAULT_TRIALS, SweepPlan
    from engine.sweep.space import SearchSpace, load_toml, parse_param, parse_space
    from engine.sweep.trial import parse_objective

    name = args.continue_name or args.name
    if name is not None and not name.strip():
        raise RidershipError(f"sweep: the name {name!r} is blank; give a name with letters or digits")
    if not name:
        raise RidershipError("sweep: give --name NAME to start a sweep (or --continue NAME)")
    check_label(name, "sweep: the sweep name")
    if args.continue_name and args.name and args.name != args.continue_name:
        raise RidershipError(f"sweep: --name {args.name} and --continue {args.continue_name} disagree; give one")
    recorded = records.get_sweep(store, name)
    settings: dict = {}
    space = None
    if args.space:
        if why := refusal(args.space, "a TOML space file"):  # a named pipe or /dev/zero would hang here
            raise RidershipError(f"sweep: --space {why}")
        space, settings = load_toml(args.space)
    if args.param:
        extra = parse_space(args.param)
        space = SearchSpace((space.params if space else ()) + extra.params) if space else extra
        if len(set(space.names)) != len(space.names):
            raise RidershipError("sweep: a setting is given both in --space and as --param")
    if args.continue_name and recorded is None:
        raise RidershipError(f"sweep {name!r} is not recorded in {store.path} (`ridership sweep list` shows them)")
    if recorded is not None:
        if space is not None and space.specs() != recorded.space:
            raise RidershipError(
                f"sweep {name!r} exists with another space ({' '.join(recorded.space)}); "
                "use --continue NAME without --param, or a new --name"
            )
        if args.objective and parse_objective(args.objective) != recorded.objective:
            raise RidershipError(f"sweep {name!r} optimises {recorded.objective}; its objective cannot change")
        if given_settings(args) or args.preset:  # the same settings again are fine; others are not
            # Compared with what the sweep recorded: a preset names every setting, options only theirs.
            wanted = (
                apply_preset(args.preset).replace(**given_settings(args)).to_dict()
                if args.preset
                else {**recorded.base.to_dict(), **given_settings(args)}
            )
            searched = {s.split("=")[0] for s in recorded.space}
            differ = [k for k, v in recorded.base.to_dict().items() if k not in searched and wanted.get(k) != v]
            if differ:
                raise RidershipError(
                    f"sweep {name!r} exists with other fixed settings ({', '.join(differ)}); "
                    "they cannot change on continue: drop those options, or use a new --name"
                )
        space = SearchSpace(tuple(parse_param(s) for s in recorded.space))
        rec = recorded.settings
        trials = args.trials or recorded.trials
        timeout = args.timeout if args.timeout is not None else recorded.timeout_s
        return SweepPlan(
            name,
            space,
            recorded.base,
            recorded.objective,
            trials,
            timeout,
            args.sampler or rec.get("sampler", "tpe"),
            args.pruner or rec.get("pruner", "median"),
            int(rec.get("seed", 0)),
            args.pack or rec.get("pack"),
        ), recorded
    if space is None:
        raise RidershipError("sweep: give at least one --param NAME=SPEC (or --space FILE) to search")
    preset = args.preset or settings.get("preset") or DEFAULT_PRESET
    base = apply_preset(preset)
    base_table = settings.get("base", {})
    if base_table:
        base = base.replace(**{k: v for k, v in base_table.items()})
    base = base.replace(**given_settings(args)).validate()
    trials = args.trials or settings.get("trials")
    timeout = args.timeout if args.timeout is not None else settings.get("timeout")
    if trials is None and timeout is None:
        trials = DEFAULT_TRIALS
    objective = parse_objective(args.objective or settings.get("objective", "valid"))
    return SweepPlan(
        name,
        space,
        base,
        objective,
        trials,
        timeout,
        args.sampler or settings.get("sampler", "tpe"),
        args.pruner or settings.get("pruner", "median"),
        pack=args.pack,
    ), None


def _data_for(args, recorded):
    from engine.data.sources import load_path, synthetic

    from .running import load_data

    if recorded is not None and not (args.data or args.download):
        if recorded.data_source == "synthetic":
            return synthetic()
        if recorded.data_path:
            return load_path(recorded.data_path, recorded.data_source, fill_gaps=args.fill_gaps)
    return load_data(args)


def _start(args) -> int:
    from engine.sweep import records

    if args.backend == "ray":
        from engine.sweep.ray_backend import parse_address

        parse_address(args.address)  # a malformed address is refused before anything runs
    store = open_store(args)
    try:
        plan, recorded = _plan(args, store)
        store_path = store.path
        workers_ahead = False
        if args.backend == "local":
            from engine.sweep.local import may_need_workers

            workers_ahead = may_need_workers(store, plan)
    finally:
        store.close()
    if workers_ahead:
        from engine.sweep.local import start_worker_server

        # Its imports overlap loading the data. Started with the store closed: a process that
        # holds an SQLite file open cannot be copied (engine/sweep/forked_server.py).
        start_worker_server()
    data = _data_for(args, recorded)
    workers = _workers(args)
    if args.backend == "ray" and plan.pack and plan.pack > 1:
        print("note: --pack applies to the local backend; Ray trials train one at a time", file=sys.stderr)
    printer = _Printer(args, plan)
    if not args.json:
        verb = "continuing" if recorded else "starting"
        budget = " and ".join(
            x
            for x in (f"{plan.trials} trials" if plan.trials else "", f"{plan.timeout_s:g} s" if plan.timeout_s else "")
            if x
        )
        print(
            f"sweep {safe_text(plan.name)}: {verb}; {budget} in all, objective {plan.objective}, on {data.source.label}; "
            f"searching {' '.join(plan.space.specs())}",
            flush=True,
        )
    from engine.sweep.runner import run_sweep

    with stop_on_signals() as stop:
        outcome = run_sweep(
            plan,
            data,
            store_path,
            backend=args.backend,
            workers=workers,
            address=args.address,
            gpus_per_trial=args.gpus_per_trial,
            cpus_per_trial=args.cpus_per_trial,
            on_event=printer,
            should_stop=stop.is_set,
        )
    from engine.store.runstore import RunStore

    with RunStore.open(store_path) as store:
        summary = records.sweep_summary(store, plan.name)
    if args.json:
        print_json(
            {
                "name": plan.name,
                "status": outcome.status,
                "ran": [t.to_event() for t in outcome.ran],
                "done_before": outcome.done_before,
                "interrupted": outcome.interrupted,
                **_summary_json(summary),
            }
        )
        return 1 if outcome.status == "failed" else 0
    print(
        f"sweep {safe_text(plan.name)} {outcome.status}: {len(outcome.ran)} trial{'s' if len(outcome.ran) != 1 else ''} "
        f"this time, {outcome.done_before} before"
    )
    _print_board(summary, top=10)
    if outcome.status == "failed":
        last = outcome.ran[-1]
        why = f"`ridership runs show {last.run_id}` says why" if last.run_id is not None else last.reason
        print(
            f"ridership: error: every trial of sweep {safe_text(plan.name)} failed this time ({why})", file=sys.stderr
        )
    return 1 if outcome.status == "failed" else 0


def _workers(args) -> int | None:
    """--workers, else the space file's ``workers``; at most one per core here (each trial is a
    torch process: more only share the cores and add memory), with a warning when capped."""
    import os

    workers = args.workers or _space_settings(args).get("workers") or getattr(args, "_workers_default", None)
    cores = os.cpu_count() or 1
    if workers and workers > cores and args.backend == "local":
        print(
            f"note: {workers} workers asked for, but this machine has {cores} core{'s' if cores != 1 else ''}: "
            f"using {cores}",
            file=sys.stderr,
        )
        workers = cores
    return workers


def _space_settings(args) -> dict:
    """The --space file's sweep settings (empty without one)."""
    from engine.sweep.space import load_toml

    return load_toml(args.space)[1] if args.space else {}


class _Printer:
    """Progress lines for the trials as they end."""

    def __init__(self, args, plan) -> None:
        self.args, self.plan, self.done, self.remaining = args, plan, 0, None

    def __call__(self, event: dict) -> None:
        if self.args.json:
            return
        kind = event["kind"]
        if kind == "sweep_started":
            self.remaining = event["remaining"]
            if event["interrupted"]:
                print(
                    f"note: trial(s) {', '.join(map(str, event['interrupted']))} were left running by a sweep that "
                    "was killed: marked failed (not counted)",
                    file=sys.stderr,
                )
            if event.get("resumed"):
                print(
                    "resuming "
                    + ", ".join(
                        f"trial {j['trial']} (run {j['run_id']}, {j['epochs_done']} epochs done, {j['more']} to go)"
                        for j in event["resumed"]
                    )
                    + " from their checkpoints before new trials",
                    flush=True,
                )
            if event["remaining"] == 0:
                print(
                    f"sweep {safe_text(event['name'])}: its {event['done_before']} trials are done "
                    "(pass a larger --trials to run more)"
                )
            else:
                packs = f", packs of up to {self.plan.pack}" if (self.plan.pack or 1) > 1 else ""
                print(
                    f"{event['workers']} worker{'s' if event['workers'] != 1 else ''}{packs}"
                    + (f"; {event['done_before']} trials done before" if event["done_before"] else ""),
                    flush=True,
                )
        elif kind == "trial_done":
            self.done += 1
            of = f"/{self.remaining}" if self.remaining is not None else ""
            value = (
                f"{self.plan.objective} {_fmt(event['value'], self.plan.objective)}"
                if event["value"] is not None
                else ""
            )
            params = " ".join(f"{k}={_value(v)}" for k, v in event["params"].items())
            print(
                f"[{self.done}{of}] trial {event['trial']} (run {event['run_id']}): {event['state']} "
                f"{value} {safe_text(params)}"
                + ("" if event["state"] == "complete" else f" ({safe_text(event['reason'])})"),
                flush=True,
            )
        elif kind == "worker_died":
            print(
                f"note: a worker died (exit code {event['exitcode']}) during trial {event['trial']}; "
                "recorded failed, the sweep goes on",
                file=sys.stderr,
            )
        elif kind == "stopping":
            print("stopping the sweep: the running trials stop within a batch", file=sys.stderr, flush=True)


# -- list / show ------------------------------------------------------------------------------------


def _list(args) -> int:
    from engine.sweep import records

    with open_store(args) as store:
        sweeps = records.list_sweeps(store)
        path = store.path
    if args.json:
        print_json([_summary_json(s) for s in sweeps])
        return 0
    if not sweeps:
        print(f"no sweeps recorded in {path}")
        return 0
    rows = []
    for s in sweeps:
        r, best, counts = s.record, s.best, s.counts()
        rows.append(
            [
                r.name,
                r.status,
                when(r.created_at),
                f"{len(s.trials)}/{r.trials or '-'}",
                ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "-",
                r.objective,
                _fmt(best.value, r.objective) if best else "-",
                f"{best.trial} (run {best.run.run_id})" if best else "-",
                r.backend,
            ]
        )
    print(
        "\n".join(
            table(
                ["sweep", "status", "started", "trials", "states", "objective", "best", "best trial", "backend"], rows
            )
        )
    )
    print(f"({len(sweeps)} sweep{'s' if len(sweeps) != 1 else ''} in {path}; MAE in riders)")
    return 0


def _show(args, name: str) -> int:
    from engine.sweep import records

    with open_store(args) as store:
        summary = records.sweep_summary(store, name)
    if args.json:
        print_json(_summary_json(summary, top=args.top))
        return 0
    r = summary.record
    print(
        f"sweep {safe_text(r.name)}: {r.status}, {r.backend}, objective {r.objective}, started {when(r.created_at)}; "
        f"data {safe_text(r.data_path or r.data_source)}"
    )
    print(f"  space: {safe_text(' '.join(r.space))}")
    fixed = {k: v for k, v in r.base_config.items() if k not in {s.split("=")[0] for s in r.space}}
    print("  fixed: " + safe_text(", ".join(f"{k}={v}" for k, v in fixed.items())))
    _print_board(summary, top=args.top)
    return 0


def _print_board(summary, top: int | None = None) -> None:
    from engine.sweep.records import leaderboard, varying

    trials = leaderboard(summary, top)
    if not trials:
        print("  no trials yet")
        return
    names = varying(summary)
    header = [
        "trial",
        "run",
        "status",
        *names,
        summary.record.objective,
        "valid MAE",
        "test MAE",
        "valid/naive",
        "test/naive",
        "epochs",
    ]
    rows = []
    for t in trials:
        d = t.to_dict()
        rows.append(
            [
                str(t.trial),
                str(t.run.run_id),
                t.status,
                *[_value(t.params.get(n, "")) for n in names],
                _fmt(t.value, summary.record.objective),
                format_riders(d["valid_mae_riders"]),
                format_riders(d["test_mae_riders"]),
                _ratio(d["valid_ratio"]),
                _ratio(d["test_ratio"]),
                f"{d['epochs_done']}/{d['epochs_planned']}",
            ]
        )
    print("\n".join(table(header, rows)))
    best = summary.best
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts().items()))
    print(
        f"({len(summary.trials)} trials: {counts}; MAE in riders"
        + (
            f"; best: trial {best.trial}, run {best.run.run_id} — `ridership forecast --run {best.run.run_id}` uses it)"
            if best
            else ")"
        )
    )


def _summary_json(summary, top: int | None = None) -> dict:
    from engine.sweep.records import leaderboard

    best = summary.best
    return {
        **summary.record.to_dict(),
        "counts": summary.counts(),
        "best": best.to_dict() if best else None,
        "trials": [t.to_dict() for t in leaderboard(summary, top)],
    }


def _fmt(value, objective: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}" if objective.endswith("ratio") else format_riders(value)


def _ratio(value) -> str:
    return ratio(value)


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


_positive_int = bounded(int, 1, 2**63 - 1, what="a whole number >= 1 (at most 2**63 - 1)")
_positive_float = bounded(float, 0, open_low=True, what="a number of seconds > 0")
_pack = bounded(int, 1, 4096, what="a whole number of trials from 1 to 4096")
_gpus = bounded(float, 0, what="a number of GPUs >= 0, e.g. 0.25")
_cpus = bounded(float, 0, open_low=True, what="a number of CPUs > 0")
