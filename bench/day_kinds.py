"""Issue 20, item 2: a model's errors per kind of real day, and what its chosen day types do.

    ridership train --data cta.csv --seed 1 --save m.pt --no-record --quiet
    python bench/day_kinds.py --data cta.csv m.pt [more.pt ...] > day_kinds.md

For each model file (the README's table: the `best` preset, seed 1): MAE in riders on the
validation and test splits per kind of day (W, A, U, then U on Monday-Friday, minor holidays,
school-break weekdays), rail and bus, each beside the naive forecast (same day last week) and
LightGBM (engine/reference.py). Then the range of real holiday-to-usual-weekday ratios per weekday
(2005-2019; engine/whatif.py) and the counterfactual check: ordinary weekdays of both splits
forecast as U (ratio to the same window's W forecast), and real weekday holidays forecast as W
(ratio to the usual weekday). Last, what `forecast --day-type U` does on an ordinary weekday
(engine/holiday_range.py: the model's holiday forecast held to the range of the training split's
real holidays on that weekday): that range per weekday, the share of the splits' ordinary weekdays
run as U that land inside it (the model's own and held), and on the splits' real weekday holidays
the MAE of the model's own forecast against the held one. Markdown on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.daytypes import KIND_NAMES, WEEKDAY_NAMES  # noqa: E402
from engine.domain import format_riders  # noqa: E402


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and b == b and a == a else "-"


def kind_table(tests: dict) -> list[str]:
    lines = [
        "| split | kind of day | days | rail MAE | /naive | /LightGBM | bus MAE | /naive | /LightGBM |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, test in tests.items():
        for kind, e in test.by_kind.items():
            cells = []
            for s in ("rail", "bus"):
                mae = getattr(e, f"{s}_mae")
                cells += [
                    format_riders(mae),
                    ratio(mae, getattr(e, f"naive_{s}_mae")),
                    ratio(mae, getattr(e, f"gbm_{s}_mae")),
                ]
            split = "validation" if name == "valid" else name
            lines.append(f"| {split} | {kind} ({KIND_NAMES[kind]}) | {e.count} | " + " | ".join(cells) + " |")
    return lines


def held_lines(p, check) -> list[str]:
    table = p.holiday_table()
    out = [
        "",
        f"`forecast --day-type U` on an ordinary weekday: the model's holiday forecast held to the range of the "
        f"training split's real holidays on that weekday ({table.total} in all; fewer than 3 on a weekday: all pooled):",
        "",
        "| weekday | holidays | years | rail lowest..highest | bus lowest..highest |",
        "|---|---:|---|---|---|",
    ]
    for d in range(5):
        r = table.get(d)
        if r is None:
            out.append(f"| {WEEKDAY_NAMES[d]} | - | - | not held | not held |")
            continue
        out.append(
            f"| {WEEKDAY_NAMES[d]} | {r.days}{' (pooled)' if r.pooled else ''} | {r.years[0]}-{r.years[1]} | "
            f"{r.low['rail']:.2f}..{r.high['rail']:.2f} | {r.low['bus']:.2f}..{r.high['bus']:.2f} |"
        )
    s = check.summary()
    if len(check.as_u):
        out += [
            "",
            f"Ordinary weekdays of both splits run as U ({s['as_u_days']} days), inside their weekday's range: "
            f"held rail {s['as_u_rail_inside']:.0%}, bus {s['as_u_bus_inside']:.0%}; the model's own rail "
            f"{s['as_u_rail_model_inside']:.0%}, bus {s['as_u_bus_model_inside']:.0%}.",
        ]
    if len(check.holidays):
        out += [
            "",
            f"Real weekday holidays of both splits ({s['holidays']} days), MAE in riders of the model's own U "
            "forecast and of the same held to the range:",
            "",
            "| series | model's own | held |",
            "|---|---:|---:|",
            *(
                f"| {x} | {format_riders(s[f'{x}_model_mae'])} | {format_riders(s[f'{x}_held_mae'])} |"
                for x in ("rail", "bus")
            ),
            "",
            "| holiday | rail actual | model | held | bus actual | model | held |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for _, row in check.holidays.iterrows():
            cells = [format_riders(row[f"{x}_{k}"]) for x in ("rail", "bus") for k in ("actual", "model", "held")]
            out.append(f"| {row.date:%Y-%m-%d} ({row.date:%a}) | " + " | ".join(cells) + " |")
    return out


def main(argv: list[str]) -> int:
    from engine.data.sources import load_path
    from engine.predictor import Predictor
    from engine.whatif import counterfactual, held_check, holiday_ratios, ratio_ranges

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RIDERSHIP_DATA"))
    parser.add_argument("models", nargs="+")
    args = parser.parse_args(argv)
    data = load_path(args.data, "path")
    ranges = ratio_ranges(holiday_ratios(data.frame))
    out = [
        "Real holidays from Monday to Friday, 2005-2019, over the usual weekday (the mean of the last 4 "
        "ordinary same weekdays):",
        "",
        "| weekday | holidays | rail lowest..highest | bus lowest..highest |",
        "|---|---:|---|---|",
    ]
    for d, r in sorted(ranges.items()):
        out.append(
            f"| {WEEKDAY_NAMES[d]} | {r['rail'][2]} | {r['rail'][0]:.2f}..{r['rail'][1]:.2f} | "
            f"{r['bus'][0]:.2f}..{r['bus'][1]:.2f} |"
        )
    for path in args.models:
        p = Predictor.from_file(path, data)
        out += ["", f"Model {Path(path).name} (epoch {p.weights_epoch}'s weights):", ""]
        out += kind_table(p.backtest())
        check = counterfactual(p, ranges)
        s = check.summary()
        u = check.as_u.groupby("weekday").agg(
            rail=("rail_ratio", "median"),
            inside=("rail_inside", "mean"),
            bus=("bus_ratio", "median"),
            bus_inside=("bus_inside", "mean"),
            days=("rail_ratio", "size"),
        )
        out += [
            "",
            f"Ordinary weekdays of both splits forecast as U ({s['as_u_days']} days): inside the real range "
            f"of their weekday: rail {s['as_u_rail_inside']:.0%}, bus {s['as_u_bus_inside']:.0%}; median ratio "
            f"to the W forecast rail {s['as_u_rail_median_ratio']:.2f}, bus {s['as_u_bus_median_ratio']:.2f}.",
            "",
            "| weekday | days | rail median ratio | rail inside | bus median ratio | bus inside |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for d, row in u.iterrows():
            out.append(
                f"| {WEEKDAY_NAMES[d]} | {int(row.days)} | {row.rail:.2f} | {row.inside:.0%} | {row.bus:.2f} | "
                f"{row.bus_inside:.0%} |"
            )
        if len(check.as_w):
            out += [
                "",
                f"Real weekday holidays of both splits forecast as W ({s['as_w_days']} days), over the usual "
                f"weekday: rail median {s['as_w_rail_median_ratio']:.2f} "
                f"(range {s['as_w_rail_range'][0]:.2f}..{s['as_w_rail_range'][1]:.2f}), bus median "
                f"{s['as_w_bus_median_ratio']:.2f} (range {s['as_w_bus_range'][0]:.2f}..{s['as_w_bus_range'][1]:.2f}).",
                "",
                "| holiday | rail W / usual | bus W / usual |",
                "|---|---:|---:|",
            ]
            for _, row in check.as_w.iterrows():
                out.append(f"| {row.date:%Y-%m-%d} ({row.date:%a}) | {row.rail_ratio:.2f} | {row.bus_ratio:.2f} |")
        out += held_lines(p, held_check(p))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
