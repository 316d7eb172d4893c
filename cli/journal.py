"""``ridership journal``: every forecast recorded, how each turned out once the data holds its day,
and per model the MAE and interval coverage beside the naive forecast on the same days."""

from __future__ import annotations

from engine.domain import format_riders

from .output import print_json
from .running import add_db_option, load_data, open_store


def add_journal_parser(sub, add_data_options) -> None:
    p = sub.add_parser(
        "journal",
        help="the forecasts made so far and, once their days are in the data, their errors beside the naive forecast",
    )
    add_data_options(p)
    add_db_option(p)


def cmd_journal(args) -> int:
    from engine.journal import journal

    data = load_data(args)
    with open_store(args) as store:
        result = journal(store, data.frame)
    if args.json:
        print_json({"data_last_day": f"{data.last_date:%Y-%m-%d}", **result.to_dict()})
        return 0
    for line in journal_lines(result, data):
        print(line)
    return 0


def _value(x) -> str:
    return "" if x is None else format_riders(x)


def journal_lines(result, data) -> list[str]:
    """The table of forecasts (newest 200), then one line per model."""
    if not result.entries:
        return ["No forecasts recorded yet: `ridership forecast` (or the app's Forecast pane) records each one."]
    head = (
        f"{len(result.entries)} forecast day{'s' if len(result.entries) != 1 else ''} recorded; actual riders "
        f"from {data.source.label}, to {data.last_date:%Y-%m-%d}"
    )
    columns = (
        f"{'made':<10}  {'model':<8}  {'for':<10}  {'h':>2}  t  {'rail':>9}  {'actual':>9}  {'error':>8}  in  "
        f"{'bus':>9}  {'actual':>9}  {'error':>8}  in"
    )
    lines = [head, columns]
    for e in result.entries[-200:]:
        cells = []
        for s in ("rail", "bus"):
            actual = e.actual[s] if e.actual else None
            error = f"{e.error[s]:+,.0f}" if e.error else "pending"
            held = ("yes" if e.held[s] else "no") if e.held else ""
            cells.append(f"{_value(e.forecast[s]):>9}  {_value(actual):>9}  {error:>8}  {held:<3}")
        lines.append(
            f"{e.made_at[:10]:<10}  {e.model_key[:8]:<8}  {e.target_date:<10}  {e.horizon:>2}  {e.day_type}  "
            + " ".join(cells).rstrip()
        )
    lines.append("Per model, on the days whose riders are known:")
    lines += ["  " + m.line() for m in result.models]
    return lines
