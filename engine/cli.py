"""Headless commands: ``ridership train|evaluate|forecast|data``; no command opens the app.

Every error a person can cause ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields
from typing import Callable

from . import cli_runs
from .config import CORES, NORMALIZE, TARGET_KINDS, TrainConfig
from .errors import RidershipError

DEFAULTS = TrainConfig()
HYPERPARAMETERS = {  # option -> (field, type, help)
    "--epochs": ("epochs", int, "training epochs"),
    "--lr": ("lr", float, "SGD learning rate"),
    "--momentum": ("momentum", float, "SGD momentum"),
    "--batch-size": ("batch_size", int, "windows per batch"),
    "--hidden-size": ("hidden_size", int, "LSTM hidden units"),
    "--window-length": ("window_length", int, "days in each input window"),
    "--patience": ("patience", int, "ReduceLROnPlateau patience (epochs)"),
    "--factor": ("factor", float, "ReduceLROnPlateau factor, in (0, 1)"),
    "--seed": ("seed", int, "seed for weights and shuffles"),
    "--train-start": ("train_start", str, "first month/day of the training split"),
    "--train-end": ("train_end", str, "last month/day of the training split"),
    "--valid-start": ("valid_start", str, "first month/day of the validation split"),
    "--valid-end": ("valid_end", str, "last month/day of the validation split"),
    "--test-start": ("test_start", str, "first month/day of the test split"),
    "--test-end": ("test_end", str, "last month/day of the test split"),
}


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="PATH", help="CTA CSV or .tgz (default: $RIDERSHIP_DATA, the cache, or synthetic)")
    p.add_argument("--download", action="store_true", help="download the CTA data when no other source is found")
    p.add_argument("--fill-gaps", action="store_true", help="fill missing dates by linear interpolation")
    p.add_argument("--json", action="store_true", help="print a machine-readable JSON summary")


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from .presets import PRESET_HELP, PRESETS

    # Training options default to None, meaning "not given": the preset's value (or the article's)
    # applies, and an option given on the command line overrides it.
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="starting settings, which the options below override: "
                        + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()).replace("%", "%%")
                        + " (default: article)")
    for option, (name, kind, text) in HYPERPARAMETERS.items():
        p.add_argument(option, dest=name, type=kind, default=None,
                       help=f"{text} (default: {getattr(DEFAULTS, name) or 'the end of the data'})")
    p.add_argument("--normalize", choices=NORMALIZE, default=None,
                   help="divide each window by its mean level: all of it (window) or its last 7 days (week) "
                        "(default: none)")
    p.add_argument("--target", choices=TARGET_KINDS, default=None,
                   help="predict the level, or the change from the same day last week (default: level)")
    p.add_argument("--core", choices=CORES, default=None, help="recurrent core (default: fused)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None)
    p.add_argument("--restore-best", action="store_true", default=None,
                   help="end with the best validation epoch's weights (the article keeps the last)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ridership",
        description="Train and use an LSTM that forecasts next-day CTA bus and rail ridership. "
                    "With no command, opens the terminal app.",
    )
    parser.add_argument("--data", metavar="PATH", help="data file for the app (CSV or .tgz)")
    parser.add_argument("--runs-db", dest="app_runs_db", metavar="PATH",
                        help="run store the app records runs in (default: $RIDERSHIP_RUNS_DB, "
                             "$RIDERSHIP_HOME/runs.db or runs.db in the user data folder)")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,forecast,data,runs}")

    train = sub.add_parser("train", help="train a model and print the article's per-epoch lines")
    _add_data_options(train)
    _add_train_options(train)
    train.add_argument("--save", metavar="PATH", help="save the trained model to PATH")
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    cli_runs.add_record_options(train)

    evaluate = sub.add_parser("evaluate", help="validation and test MAE of a saved model beside the naive baseline")
    _add_data_options(evaluate)
    evaluate.add_argument("--model", metavar="PATH", required=True)

    forecast = sub.add_parser("forecast", help="next-day forecast from a saved model")
    _add_data_options(forecast)
    forecast.add_argument("--model", metavar="PATH", required=True)
    forecast.add_argument("--day-type", choices=("W", "A", "U"),
                          help="day type of the first forecast day: W weekday, A Saturday, U Sunday/holiday "
                               "(default: from the calendar)")
    forecast.add_argument("--days", type=int, metavar="K",
                          help="forecast the next K days (1..28), each feeding on the ones before; prints a table")
    forecast.add_argument("--override", action="append", type=_override, metavar="YYYY-MM-DD=T", default=[],
                          help="day type T (W, A or U) for one forecast day instead of the calendar's; "
                               "repeatable; needs --days")

    data = sub.add_parser("data", help="where the data comes from, its size and date range")
    _add_data_options(data)
    cli_runs.add_runs_parser(sub, _add_data_options)
    return parser


def _override(text: str) -> tuple[str, str]:
    date, sep, kind = text.partition("=")
    if not sep or not date.strip() or kind.strip().upper() not in ("W", "A", "U"):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD=T with T one of W, A, U (e.g. 2021-12-24=U), got {text!r}")
    return date.strip(), kind.strip().upper()


def _config_from(args) -> TrainConfig:
    """The preset's settings (default: the article's), then every option given on the command line."""
    from .presets import DEFAULT_PRESET, apply_preset

    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return apply_preset(getattr(args, "preset", None) or DEFAULT_PRESET).replace(**given).validate()


def _load_data(args):
    from .sources import resolve

    progress = None if args.json else _progress
    data = resolve(args.data, allow_download=args.download, fill_gaps=args.fill_gaps, progress=progress)
    if data.is_synthetic and not args.json:
        print("note: no data file found; using the synthetic demo series (not the CTA's numbers). "
              "Pass --data PATH, set RIDERSHIP_DATA or use --download.", file=sys.stderr)
    if data.filled_dates and not args.json:
        print(f"note: filled {len(data.filled_dates)} missing dates by interpolation", file=sys.stderr)
    return data


def _progress(done: int, total: int | None) -> None:
    share = f" ({done / total:.0%})" if total else ""
    print(f"\rdownloading: {done / 1e6:.1f} MB{share}", end="", file=sys.stderr, flush=True)


def _riders(x: float) -> str:
    return f"{x:,.0f}"


def _score_lines(scores) -> list[str]:
    lines = []
    for s in scores.values():
        name = {"valid": "validation", "test": "test"}[s.split]
        lines.append(
            f"{name:>10}: model MAE {_riders(s.mae)} riders (rail {_riders(s.rail_mae)}, bus {_riders(s.bus_mae)}) | "
            f"naive same-day-last-week: {_riders(s.naive_mae)} (rail {_riders(s.naive_rail_mae)}, "
            f"bus {_riders(s.naive_bus_mae)}) | model/naive {s.ratio:.2f}"
        )
    return lines


def cmd_train(args) -> int:
    config = _config_from(args)
    data = _load_data(args)
    from .data import make_splits

    splits = make_splits(data, config)
    if args.preset and not args.json:
        from .presets import PRESETS

        changes = ", ".join(f"{k}={v}" for k, v in PRESETS[args.preset].items()) or "the article's settings"
        print(f"preset {args.preset}: {changes} (options given on the command line override it)")
    on_epoch = None if (args.json or args.quiet) else (lambda e: print(e.article_line(), flush=True))
    result, scores, recorded = cli_runs.fit_and_record(args, config, data, splits, on_epoch)
    if not result.history:  # diverged (or stopped) in epoch 1: no weights worth scoring or saving
        if args.json:
            print(json.dumps({"status": result.status, "reason": result.reason, "config": config.to_dict(),
                              "history": [], "run": cli_runs.record_summary(recorded)}, indent=2))
        else:
            print(f"run {result.status}: {result.reason}; no epoch finished, so nothing is scored or saved")
        return 1
    saved = None
    if args.save:
        from .modelfile import save_model

        saved = str(save_model(args.save, result, data))
    if args.json:
        print(json.dumps({
            "status": result.status, "reason": result.reason, "preset": args.preset or "article",
            "config": config.to_dict(),
            "data": {"source": data.source.kind, "path": data.source.path, "synthetic": data.is_synthetic},
            "device": result.device, "best_epoch": result.best_epoch,
            "best_valid_mae": result.best_valid_mae * 1e6, "weights_epoch": result.weights_epoch,
            "history": [e.__dict__ for e in result.history],
            "scores": {k: v.to_dict() for k, v in scores.items()}, "saved": saved,
            "run": cli_runs.record_summary(recorded),
        }, indent=2))
        return 0 if result.status == "finished" else 1
    test_mae = scores["test"].mae / 1e6
    if result.status != "finished":
        print(f"run {result.status}: {result.reason}")
    which = "last" if result.weights_epoch == len(result.history) else "best"
    print(f"Best epoch: {result.best_epoch} (valid metric {result.best_valid_mae:.4f} = "
          f"{_riders(result.best_valid_mae * 1e6)} riders); the model ends with epoch {result.weights_epoch}'s "
          f"weights ({which}), and the scores below come from them")
    print(f"Test MAE: {test_mae:.6f} ({test_mae * 1e6:.2f} riders)")
    for line in _score_lines(scores):
        print(line)
    if saved:
        print(f"saved model to {saved}")
    if recorded:
        print(cli_runs.record_line(recorded))
    return 0 if result.status == "finished" else 1


def cmd_evaluate(args) -> int:
    data = _load_data(args)
    from .data import make_splits
    from .evaluate import score_all
    from .modelfile import load_model

    from .backtest import backtest
    from .presets import preset_of

    model, config, payload = load_model(args.model, data)
    splits = make_splits(data, config)
    scores = score_all(model, splits, data.features().to_numpy(), config.batch_size, "cpu")
    tests = backtest(model, data, config, tuple(scores), made=splits)
    preset = preset_of(config)
    if args.json:
        print(json.dumps({"model": args.model, "weights_epoch": payload["weights_epoch"], "preset": preset,
                          "config": config.to_dict(),
                          "scores": {k: v.to_dict() for k, v in scores.items()},
                          "by_day_type": {k: {t: e.to_dict() for t, e in b.by_day_type.items()}
                                          for k, b in tests.items()}}, indent=2))
        return 0
    framing = "" if config.normalize == "none" and config.target == "level" else \
        f", normalize {config.normalize}, target {config.target}"
    print(f"model {args.model}: epoch {payload['weights_epoch']}'s weights, trained with "
          f"window {config.window_length}, hidden {config.hidden_size}{framing} "
          f"(preset: {preset or 'none, custom settings'})")
    for line in _score_lines(scores):
        print(line)
    for line in _day_type_lines(tests):
        print(line)
    return 0


def _day_type_lines(tests) -> list[str]:
    """Per split and day type: days, model MAE, naive MAE, model/naive (both series together)."""
    lines = ["by day type (W weekday, A Saturday, U Sunday/holiday; MAE in riders, rail and bus together):",
             f"{'':>12} {'days':>5} {'model':>9} {'naive':>9} {'model/naive':>11}"]
    for name, test in tests.items():
        label = {"valid": "validation", "test": "test"}.get(name, name)
        for kind, e in test.by_day_type.items():
            lines.append(f"{label:>10} {kind} {e.count:>5} {_riders(e.mae):>9} {_riders(e.naive_mae):>9} "
                         f"{e.ratio:>11.2f}")
            label = ""
    return lines


def cmd_forecast(args) -> int:
    data = _load_data(args)
    from .forecast import forecast_next_day
    from .modelfile import load_model

    if args.override and args.days is None:
        raise RidershipError("--override needs --days K (the day it sets must be one of the K forecast days)")
    model, config, _ = load_model(args.model, data)
    if args.days is not None:
        return _forecast_table(args, model, config, data)
    result = forecast_next_day(model, data, config.window_length, args.day_type)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    how = "from the calendar" if result.inferred else "chosen"
    print(f"Forecast for {result.date:%Y-%m-%d} ({result.date:%A}), day type {result.day_type} ({how}):")
    print(f"  rail: {_riders(result.rail)} riders")
    print(f"  bus:  {_riders(result.bus)} riders")
    return 0


def _forecast_table(args, model, config, data) -> int:
    from .forecast import forecast_days

    overrides: dict = {1: args.day_type} if args.day_type else {}
    for date, kind in args.override:
        overrides[date] = kind  # dates are checked against the forecast days by the engine
    days = forecast_days(model, data, config.window_length, args.days, overrides)
    if args.json:
        print(json.dumps([{"day": n, **f.to_dict()} for n, f in enumerate(days, start=1)], indent=2))
        return 0
    later = "; days 2 onwards feed on the forecasts before them" if len(days) > 1 else ""
    print(f"Forecast for {len(days)} day{'s' if len(days) > 1 else ''} after {data.last_date:%Y-%m-%d} "
          f"(the data's last day){later}:")
    print(f"{'day':>3}  {'date':<10}  {'':<9}  {'day type':<12}  {'rail':>9}  {'bus':>9}")
    for n, f in enumerate(days, start=1):
        how = "calendar" if f.inferred else "chosen"
        weekday = f"{f.date:%A}"
        print(f"{n:>3}  {f.date:%Y-%m-%d}  {weekday:<9}  {f.day_type + ' ' + how:<12}  "
              f"{_riders(f.rail):>9}  {_riders(f.bus):>9}")
    return 0


def cmd_data(args) -> int:
    data = _load_data(args)
    frame = data.frame
    summary = {
        "source": data.source.kind, "path": data.source.path, "synthetic": data.is_synthetic,
        "rows": len(frame), "first_date": f"{data.first_date:%Y-%m-%d}", "last_date": f"{data.last_date:%Y-%m-%d}",
        "filled_dates": list(data.filled_dates), "sha256": data.fingerprint,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"source: {data.source.label}")
    print(f"rows: {len(frame):,} days, {summary['first_date']} .. {summary['last_date']}")
    counts = frame["day_type"].value_counts()
    print("day types: " + ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("W", "A", "U")))
    if data.fingerprint:
        print(f"sha256: {data.fingerprint}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "forecast": cmd_forecast, "data": cmd_data,
            "runs": cli_runs.cmd_runs}


def main(argv: list[str] | None = None, open_app: Callable[..., int] | None = None) -> int:
    """Run a headless command. With no command, call ``open_app(data_path=, runs_db=)``: the app
    lives in ``tui`` (see tui/launcher.py, the ``ridership`` script), which the engine never imports."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            if open_app is None:
                parser.print_help(sys.stderr)
                return 2
            return open_app(data_path=args.data, runs_db=args.app_runs_db)
        if args.app_runs_db and getattr(args, "runs_db", "absent") is None:
            args.runs_db = args.app_runs_db  # `ridership --runs-db X runs list` means what it says
        return COMMANDS[args.command](args)
    except RidershipError as exc:
        print(f"ridership: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ridership: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: a bug, still no traceback unless asked for
        if os.environ.get("RIDERSHIP_DEBUG"):
            raise
        print(f"ridership: internal error: {type(exc).__name__}: {exc} "
              "(set RIDERSHIP_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
