"""Make the README screenshots with the app's own save_screenshot (SVG), plus PNG copies.

    python assets/make_screenshots.py [--data CTA.csv] [--seed 1] [--epochs N]

Runs the app headless at 120x40 on the real CTA data (``--data``, else ``RIDERSHIP_DATA``, else
``../shared/data/ridership/...`` beside the clone; the synthetic series only when none is there, and
it says so), in a throwaway home folder (the user's run store, cache and remembered model are
neither read nor written), and drives it with the keys a person presses: `t` trains the form's
settings (the default preset, `best`, as the app opens, with ``--seed``) to the end, `5` and `c`
show the Forecast pane's forecast for the calendar's day type, `7` the Backtest pane. Saves those
three panes and ``screenshots.txt``: the run they show (its epochs and scores, from the run store).
The pictures show a few of the data's numbers on a chart; no rows of the data are written.
``--epochs`` shortens the run, to check the script (not for the README's pictures). PNGs need
`rsvg-convert` (Debian: librsvg2-bin); without it only the SVGs are written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # a script beside the packages, not one of them


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, condition, what: str, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshots: timed out waiting for {what}")
        await pilot.pause(0.2)


REAL = HERE.parent.parent / "shared" / "data" / "ridership" / "CTA_-_Ridership_-_Daily_Boarding_Totals.csv"


async def shoot(out: Path, data_path: str | None, seed: int, epochs: int | None) -> tuple[list[Path], str]:
    from engine.data import sources
    from engine.domain import format_riders
    from tui.app import make_app

    data = sources.load_path(data_path) if data_path else sources.synthetic()
    app = make_app(data=data)
    saved = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: app.store is not None and app.form.config is not None, "the run store and form")
        config = app.form.config.replace(seed=seed)
        app.form.set_config(config.replace(epochs=epochs) if epochs else config)
        job = app.job
        await pilot.press("t")
        await until(pilot, lambda: app.job > job and not app.training, "the run to end")
        await settle(pilot)
        saved.append(Path(app.save_screenshot("training.svg", str(out))))
        await pilot.press("5", "c")
        await settle(pilot)
        saved.append(Path(app.save_screenshot("forecast.svg", str(out))))
        await pilot.press("7")
        await settle(pilot)
        saved.append(Path(app.save_screenshot("backtest.svg", str(out))))
        run = app.store.get_run(app.model.run.run_id, with_epochs=False)
        facts = (
            f"run {run.run_id} on {Path(data_path).name if data_path else 'the synthetic series'}: preset best, seed {seed}, {run.config.epochs} epochs "
            f"(weights of epoch {run.weights_epoch}); validation MAE {format_riders(run.valid_mae)}, "
            f"test MAE {format_riders(run.test_mae)} riders\n"
        )
    return saved, facts


def to_png(svg: Path) -> Path | None:
    if not shutil.which("rsvg-convert"):
        return None
    # The SVG asks for Fira Code; name a monospace font most systems have, for the PNG only.
    text = svg.read_text(encoding="utf-8").replace("Fira Code", "DejaVu Sans Mono")
    # rsvg draws leading no-break spaces narrower than a cell, which shifts table rows that start
    # with an empty cell; plain spaces kept by xml:space="preserve" take their full width.
    text = text.replace("<svg ", '<svg xml:space="preserve" ', 1).replace("&#160;", " ")
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    png = svg.with_suffix(".png")
    try:
        subprocess.run(["rsvg-convert", "-w", "1600", tmp.name, "-o", str(png)], check=True)
    finally:
        Path(tmp.name).unlink()
    return png


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the CTA CSV (default: RIDERSHIP_DATA, else ../shared/data beside the clone)")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed (default 1)")
    parser.add_argument("--epochs", type=int, help="a shorter run, to check the script")
    parser.add_argument("--out", type=Path, default=HERE, help="the folder for the pictures (default: assets/)")
    args = parser.parse_args(argv)
    data = args.data or os.environ.get("RIDERSHIP_DATA") or (str(REAL) if REAL.is_file() else None)
    if data is None:
        print("make_screenshots: no CTA data found; the pictures show the synthetic series", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ridership-screenshots-") as home:
        os.environ["RIDERSHIP_HOME"] = os.environ["RIDERSHIP_CACHE"] = home
        for name in ("RIDERSHIP_DATA", "RIDERSHIP_RUNS_DB"):
            os.environ.pop(name, None)
        args.out.mkdir(parents=True, exist_ok=True)
        saved, facts = asyncio.run(shoot(args.out, data, args.seed, args.epochs))
        for svg in saved:
            png = to_png(svg)
            print(svg, png or "(no rsvg-convert: SVG only)")
        (args.out / "screenshots.txt").write_text(facts, encoding="utf-8")
        print(facts, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
