"""Make the README screenshots with the app's own save_screenshot (SVG), plus PNG copies.

    python assets/make_screenshots.py [--epochs N]

Runs the app headless at 120x40 on the synthetic series (never the CTA's rows: the real data
stays out of the repository), in a throwaway home folder (the user's run store, cache and remembered
model are neither read nor written), and drives it with the keys a person presses: `t` trains the
form's settings (the default preset, as the app opens) to the end, then `5` and `c` show the
Forecast pane's forecast for the calendar's day type. Saves the Training and Forecast panes.
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


async def shoot(out: Path, epochs: int | None) -> list[Path]:
    from engine.data import sources
    from tui.app import make_app

    app = make_app(data=sources.synthetic())
    saved = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: app.store is not None, "the run store")
        if epochs:
            app.form.set_config(app.form.config.replace(epochs=epochs))
        job = app.job
        await pilot.press("t")
        await until(pilot, lambda: app.job > job and not app.training, "the run to end")
        await settle(pilot)
        saved.append(Path(app.save_screenshot("training.svg", str(out))))
        await pilot.press("5", "c")
        await settle(pilot)
        saved.append(Path(app.save_screenshot("forecast.svg", str(out))))
    return saved


def to_png(svg: Path) -> Path | None:
    if not shutil.which("rsvg-convert"):
        return None
    # The SVG asks for Fira Code; name a monospace font most systems have, for the PNG only.
    text = svg.read_text(encoding="utf-8").replace("Fira Code", "DejaVu Sans Mono")
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
    parser.add_argument("--epochs", type=int, help="a shorter run, to check the script")
    parser.add_argument("--out", type=Path, default=HERE, help="the folder for the pictures (default: assets/)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ridership-screenshots-") as home:
        os.environ["RIDERSHIP_HOME"] = os.environ["RIDERSHIP_CACHE"] = home
        for name in ("RIDERSHIP_DATA", "RIDERSHIP_RUNS_DB"):
            os.environ.pop(name, None)
        args.out.mkdir(parents=True, exist_ok=True)
        for svg in asyncio.run(shoot(args.out, args.epochs)):
            png = to_png(svg)
            print(svg, png or "(no rsvg-convert: SVG only)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
