"""``ridership``: the app when no command is given; ``train|evaluate|forecast|data|runs`` headless;
``serve`` the app to a browser.

Every error a person can cause ends with one line on stderr and exit code 2, never a traceback.
Training goes through engine/session.py, as in the app.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from engine.domain import format_riders
from engine.errors import RidershipError

from . import journal as journal_cli
from . import runs as runs_cli
from . import sweep as sweep_cli
from .options import add_config_options, bounded, given_settings
from .output import day_type_lines, kind_lines, print_json, score_lines
from .running import add_db_option, load_data, load_predictor, open_store, report_run, stop_on_signals


def add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="PATH", help="CTA CSV or .tgz (default: $RIDERSHIP_DATA, the cache, or synthetic)")
    p.add_argument("--download", action="store_true", help="download the CTA data when no other source is found")
    p.add_argument("--fill-gaps", action="store_true", help="fill missing dates by linear interpolation")
    p.add_argument("--json", action="store_true", help="print a machine-readable JSON summary")


def add_model_options(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", metavar="PATH", help="a saved model file (train --save) or a run's checkpoint")
    which.add_argument("--run", metavar="ID", help="a recorded run: its id, or `latest` (the newest with a model)")
    add_db_option(p)


def build_parser() -> argparse.ArgumentParser:
    from engine.presets import PRESET_HELP, PRESETS

    parser = argparse.ArgumentParser(
        prog="ridership",
        description="Train and use an LSTM that forecasts next-day CTA bus and rail ridership. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--data", metavar="PATH", help="data file for the app (CSV or .tgz)")
    parser.add_argument(
        "--runs-db",
        dest="app_runs_db",
        metavar="PATH",
        help="run store the app records runs in (default: $RIDERSHIP_RUNS_DB, "
        "$RIDERSHIP_HOME/runs.db or runs.db in the user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,forecast,data,runs,journal,sweep,serve}")

    train = sub.add_parser("train", help="train a model and print the article's per-epoch lines")
    add_data_options(train)
    train.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=None,
        help="starting settings, which the options below override: "
        + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()).replace("%", "%%")
        + " (default: best; --preset article reproduces the article)",
    )
    add_config_options(train)
    train.add_argument("--save", metavar="PATH", help="save the trained model to PATH")
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train.add_argument("--no-record", action="store_true", help="do not record the run in the run store")
    add_db_option(train)

    evaluate = sub.add_parser("evaluate", help="validation and test MAE of a saved model beside the naive baseline")
    add_data_options(evaluate)
    add_model_options(evaluate)

    forecast = sub.add_parser("forecast", help="next-day forecast from a saved model or a recorded run")
    add_data_options(forecast)
    add_model_options(forecast)
    forecast.add_argument(
        "--day-type",
        choices=("W", "A", "U"),
        type=str.upper,
        help="day type of the first forecast day: W weekday, A Saturday, U Sunday/holiday (default: from the calendar)",
    )
    forecast.add_argument(
        "--days",
        type=int,
        metavar="K",
        help="forecast the next K days (1..28), each feeding on the ones before; prints a table",
    )
    forecast.add_argument(
        "--override",
        action="append",
        type=_override,
        metavar="YYYY-MM-DD=T",
        default=[],
        help="day type T (W, A or U) for one forecast day instead of the calendar's; repeatable; needs --days",
    )
    forecast.add_argument(
        "--level",
        type=_level,
        default=0.8,
        metavar="P",
        help="prediction interval level, between 0 and 1 (default: 0.8)",
    )
    forecast.add_argument("--no-record", action="store_true", help="do not record the forecast in the journal")

    data = sub.add_parser(
        "data",
        help="where the data comes from, its size and date range; --update brings it "
        "up to date from the city's data portal",
    )
    add_data_options(data)
    data.add_argument(
        "--update",
        action="store_true",
        help="fetch new and revised days from the City of Chicago's data portal (dataset 6iiy-9s97); "
        "the first time the whole table. Token: $RIDERSHIP_SODA_TOKEN (optional)",
    )
    data.add_argument(
        "--portal",
        metavar="URL",
        help="portal address for --update (default: $RIDERSHIP_PORTAL or https://data.cityofchicago.org)",
    )
    runs_cli.add_runs_parser(sub, add_data_options)
    journal_cli.add_journal_parser(sub, add_data_options)
    sweep_cli.add_sweep_parser(sub, add_data_options)
    serve = sub.add_parser("serve", help="serve the app to a web browser (textual-serve; no authentication)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other prints a no-authentication "
        "warning: prefer an SSH tunnel, ssh -L 8000:127.0.0.1:8000 host)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--data", metavar="PATH", help="data file for the app (CSV or .tgz)")
    serve.add_argument(
        "--public-url",
        metavar="URL",
        type=_public_url,
        help="the address browsers use to reach this server, when it is not http://HOST:PORT "
        "(a tunnel to another port, a proxy, or --host 0.0.0.0): the page connects back "
        "to it, and only pages from it may start the app",
    )
    serve.add_argument(
        "--max-apps",
        type=_max_apps,
        default=4,
        metavar="N",
        help="browser pages served at once, each its own app process (default 4)",
    )
    add_db_option(serve)
    return parser


_level = bounded(float, 0, 1, open_low=True, open_high=True, what="a level between 0 and 1 such as 0.8")
_port = bounded(int, 1, 65535, what="a port number 1..65535")
_max_apps = bounded(int, 1, 64, what="a number of app processes 1..64")


def _public_url(text: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise argparse.ArgumentTypeError(f"expected the page's address such as http://myhost:8000, got {text!r}")
    return text.strip().rstrip("/")


def cmd_serve(args) -> int:
    from tui.serve import serve  # textual-serve is imported only there, only when serving

    return serve(args.host, args.port, args.data, args.runs_db, url=args.public_url, max_apps=args.max_apps)


def _override(text: str) -> tuple[str, str]:
    date, sep, kind = text.partition("=")
    if not sep or not date.strip() or kind.strip().upper() not in ("W", "A", "U"):
        raise argparse.ArgumentTypeError(
            f"expected YYYY-MM-DD=T with T one of W, A, U (e.g. 2021-12-24=U), got {text!r}"
        )
    return date.strip(), kind.strip().upper()


def config_from(args):
    """The preset's settings (default: engine.presets.DEFAULT_PRESET, "best"), then every option given on
    the command line."""
    from engine.presets import DEFAULT_PRESET, apply_preset

    return apply_preset(getattr(args, "preset", None) or DEFAULT_PRESET).replace(**given_settings(args))


def cmd_train(args) -> int:
    from engine import session

    config = config_from(args).validate()
    data = load_data(args)
    if not args.json and args.preset != "article":  # the article's own output stays the article's
        from engine.presets import DEFAULT_PRESET, PRESETS

        name = args.preset or DEFAULT_PRESET
        changes = ", ".join(f"{k}={v}" for k, v in PRESETS[name].items()) or "the article's settings"
        print(f"preset {name}: {changes} (options given on the command line override it)")
    on_epoch = None if (args.json or args.quiet) else (lambda e: print(e.article_line(), flush=True))
    store = None if args.no_record else open_store(args, hint=True)
    try:
        with stop_on_signals() as stop:
            run = session.start_run(config, data, store=store, on_epoch=on_epoch, should_stop=stop.is_set)
    finally:
        if store is not None:
            store.close()
    return report_run(args, run, data, save=args.save)


def cmd_evaluate(args) -> int:
    from engine.presets import preset_of

    data = load_data(args)
    predictor = load_predictor(args, data)
    config, label = predictor.config, predictor.label
    scores = predictor.score()
    tests = predictor.backtest(tuple(scores))
    preset = preset_of(config)
    if args.json:
        print_json(
            {
                "model": label,
                "weights_epoch": predictor.weights_epoch,
                "preset": preset,
                "config": config.to_dict(),
                "scores": {k: v.to_dict() for k, v in scores.items()},
                "by_day_type": {k: {t: e.to_dict() for t, e in b.by_day_type.items()} for k, b in tests.items()},
                "by_kind": {k: {t: e.to_dict() for t, e in b.by_kind.items()} for k, b in tests.items()},
            }
        )
        return 0
    framing = (
        ""
        if config.normalize == "none" and config.target == "level"
        else f", normalize {config.normalize}, target {config.target}"
    )
    epoch = predictor.weights_epoch
    weights = f"epoch {epoch}'s weights" if epoch else "weights of an unknown epoch (the file does not say)"
    print(
        f"model {label}: {weights}, trained with "
        f"window {config.window_length}, hidden {config.hidden_size}{framing} "
        f"(preset: {preset or 'none, custom settings'})"
    )
    for line in score_lines(scores) + day_type_lines(tests) + kind_lines(tests):
        print(line)
    return 0


def cmd_forecast(args) -> int:
    if args.override and args.days is None:
        raise RidershipError("--override needs --days K (the day it sets must be one of the K forecast days)")
    data = load_data(args)
    predictor = load_predictor(args, data)
    label = predictor.label
    overrides: dict = {1: args.day_type} if args.day_type else {}
    seen: dict[str, str] = {}
    for date, kind in args.override:
        if date in seen and seen[date] != kind:
            raise RidershipError(f"--override gives {date} two day types: {seen[date]} and {kind}")
        seen[date] = kind
        overrides[date] = kind  # dates are checked against the forecast days by the engine
    table = predictor.forecast(1 if args.days is None else args.days, overrides, args.level)
    days, trust, rows = table.forecasts, table.trust, table.rows()
    from engine.data.freshness import age_in_days, last_day_line, stale_note

    stale = stale_note(data.last_date, days[0].date)
    unrecorded = "" if args.no_record else _record(args, label, days, table.bands, trust, data)
    live = predictor.live_score(args.level)
    if args.json:
        print_json(
            {
                "model": label,
                "forecasts": rows,
                "trust": trust.to_dict(),
                "live": live.to_dict() if live else None,
                "data_last_day": f"{data.last_date:%Y-%m-%d}",
                "data_age_days": age_in_days(data.last_date),
                "stale": bool(stale),
            }
        )
        return 0
    if args.days is None:
        f, row = days[0], rows[0]
        how = "from the calendar" if f.inferred else "chosen"
        print(f"Forecast for {f.date:%Y-%m-%d} ({f.date:%A}), day type {f.day_type} ({how}):")
        for series in ("rail", "bus"):
            print(
                f"  {series + ':':<5} {format_riders(getattr(f, series))} riders  "
                f"({percent(args.level)} interval {format_riders(row[series + '_low'])} to "
                f"{format_riders(row[series + '_high'])})"
            )
        if f.note():
            print(f"  how formed: {f.note()}")
    else:
        later = "; days 2 onwards feed on the forecasts before them" if len(days) > 1 else ""
        print(
            f"Forecast for {len(days)} day{'s' if len(days) > 1 else ''} after {data.last_date:%Y-%m-%d} "
            f"(the data's last day){later}; {percent(args.level)} intervals:"
        )
        print(
            f"{'day':>3}  {'date':<10}  {'':<9}  {'day type':<12}  {'rail':>9}  {'interval':>19}  "
            f"{'bus':>9}  {'interval':>19}"
        )
        for f, row in zip(days, rows):
            how = "calendar" if f.inferred else "chosen"
            mark = "*" if f.note() else ""
            print(
                f"{row['day']:>3}  {f.date:%Y-%m-%d}  {f.date.strftime('%A'):<9}  {f.day_type + ' ' + how:<12}  "
                + "  ".join(
                    f"{format_riders(getattr(f, s)):>9}  "
                    f"{format_riders(row[s + '_low']) + '..' + format_riders(row[s + '_high']):>19}"
                    for s in ("rail", "bus")
                )
                + mark
            )
        for f, row in zip(days, rows):
            if f.note():
                print(f"  * day {row['day']} ({f.date:%Y-%m-%d}): {f.note()}")
    for line in trust_lines(trust, label):
        print(line)
    if live:
        print(f"  {live.line()}")
        if live.warning():
            print(f"  warning: {live.warning()}")
    print(last_day_line(data.last_date)[0].upper() + last_day_line(data.last_date)[1:])
    if stale:
        print(f"note: {stale}")
    if unrecorded:
        from .output import note

        note(f"the forecast was not recorded in the journal ({unrecorded})")
    return 0


def _record(args, label: str, days, bands, trust, data) -> str:
    """Record the forecast in the journal; "" when recorded, else why not (the forecast itself stands)."""
    from engine.journal import record_forecast

    run_id = int(label.split()[1]) if label.startswith("run ") else None
    try:
        with open_store(args) as store:
            record_forecast(
                store,
                run_id,
                days,
                bands,
                data_last=data.last_date,
                model=label,
                level=trust.intervals.level,
                origin="cli",
            )
    except RidershipError as exc:
        return str(exc)
    return ""


def percent(level: float) -> str:
    """A level as a percentage with the digits it needs: 80%, 97.5%, 99.99999% (never rounded up
    to a "100%" interval the model cannot give)."""
    share = level * 100
    for digits in range(0, 13):
        text = f"{share:.{digits}f}"
        if abs(float(text) - share) < 1e-9 and 0 < float(text) < 100:
            return text + "%"
    return f"{share!r}%"


def trust_lines(trust, label: str) -> list[str]:
    """Under every forecast: how good the model is, beside the naive and LightGBM forecasts."""
    r = format_riders
    lines = [f"How far to trust it ({label}; MAE in riders on the same days):"]
    for name, s in trust.scores.items():
        gbm = f", LightGBM {r(s.gbm_mae)} (model/LightGBM {s.gbm_ratio:.2f})" if s.gbm_mae == s.gbm_mae else ""
        lines.append(
            f"  {'validation' if name == 'valid' else name:>10}: model {r(s.mae)}, naive {r(s.naive_mae)} "
            f"(model/naive {s.ratio:.2f}){gbm}"
        )
    cov = trust.intervals.coverage
    if cov:
        lines.append(
            f"  {percent(trust.intervals.level)} intervals covered rail {cov['rail']:.0%} and bus {cov['bus']:.0%} "
            f"of {trust.intervals.coverage_days} test days"
        )
    for name in trust.worse_than_naive:
        lines.append(
            f"  warning: this model is worse than repeating last week on the "
            f"{'validation' if name == 'valid' else name} split; do not plan with it"
        )
    return lines


def cmd_update(args) -> int:
    """``data --update``: one line saying what changed (or why nothing did)."""
    from engine.data import portal
    from engine.data.sources import ENV_VAR, load_path

    client = portal.Client.from_env(args.portal)
    base = load_path(args.data, "path") if args.data and not portal.portal_csv().is_file() else None
    progress = (
        None
        if args.json
        else (lambda n: print(f"\rfetching from {client.base}: {n:,} rows", end="", file=sys.stderr, flush=True))
    )
    try:
        result = portal.update(client, base, progress=progress)
    finally:
        if progress:
            print(file=sys.stderr, flush=True)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"updated from {result.source}: {result.line()}")
        print(f"saved to {result.path}")
    if (args.data or os.environ.get(ENV_VAR)) and not args.json:
        from .output import note

        note(f"--data/${ENV_VAR} is given, so commands read that file; without it they read the updated table")
    return 0


def staleness(data) -> str:
    """The data's last day and its age, in words (e.g. "last day 2021-11-30, 1,828 days old")."""
    from engine.data.freshness import age_words

    return f"last day {data.last_date:%Y-%m-%d}, {age_words(data.last_date)}"


def cmd_data(args) -> int:
    if args.update:
        return cmd_update(args)
    if args.portal:
        raise RidershipError("--portal goes with --update (the portal to update from)")
    from engine.data.freshness import age_in_days

    data = load_data(args)
    frame = data.frame
    summary = {
        "source": data.source.kind,
        "path": data.source.path,
        "synthetic": data.is_synthetic,
        "rows": len(frame),
        "first_date": f"{data.first_date:%Y-%m-%d}",
        "last_date": f"{data.last_date:%Y-%m-%d}",
        "filled_dates": list(data.filled_dates),
        "sha256": data.fingerprint,
        "age_days": age_in_days(data.last_date),
    }
    if args.json:
        print_json(summary)
        return 0
    print(f"source: {data.source.label}")
    print(f"rows: {len(frame):,} days, {summary['first_date']} .. {summary['last_date']} ({staleness(data)})")
    if data.source.kind == "portal":
        from engine.data.portal import read_provenance

        made = read_provenance()
        if made:
            print(f"from: {made.get('source', '?')}, updated {made.get('updated_at', '?')}")
    counts = frame["day_type"].value_counts()
    print("day types: " + ", ".join(f"{k} {counts.get(k, 0):,}" for k in ("W", "A", "U")))
    if data.fingerprint:
        print(f"sha256: {data.fingerprint}")
    return 0


COMMANDS: dict[str, Callable] = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "forecast": cmd_forecast,
    "data": cmd_data,
    "runs": runs_cli.cmd_runs,
    "sweep": sweep_cli.cmd_sweep,
    "serve": cmd_serve,
    "journal": journal_cli.cmd_journal,
}


def open_app(data_path: str | None = None, runs_db: str | None = None) -> int:
    from tui.app import run_app  # textual loads only when the app is really opened

    return run_app(data_path=data_path, runs_db=runs_db)


def main(argv: list[str] | None = None, open_app: Callable[..., int] | None = open_app) -> int:
    """Run a headless command; with none, open the app."""
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
    except BrokenPipeError:  # `ridership data | head -1`: the reader left; nothing to say
        _silence_stdout()
        return 0
    except Exception as exc:  # last resort: a bug, still no traceback unless asked for
        if os.environ.get("RIDERSHIP_DEBUG"):
            raise
        print(
            f"ridership: internal error: {type(exc).__name__}: {exc} (set RIDERSHIP_DEBUG=1 to see the traceback)",
            file=sys.stderr,
        )
        return 1


def run() -> None:
    """The `ridership` command: main(), then the process ends at once (engine/exit.py)."""
    from engine.exit import exit_now

    exit_now(main())


def _silence_stdout() -> None:
    """Python flushes stdout at exit and would complain again about the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
