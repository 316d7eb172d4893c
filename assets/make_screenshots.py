"""Make the README screenshots with the app's own save_screenshot (SVG), plus PNG copies.

    python assets/make_screenshots.py

Runs the app headless at 120x40 on the synthetic series (never the CTA's rows: the real data
stays out of the repository), trains the article's model for its 50 epochs, and saves the
Training and Forecast panes. PNGs need `rsvg-convert` (Debian: librsvg2-bin); without it only
the SVGs are written.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from engine.data import sources  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from tui.app import make_app  # noqa: E402


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def shoot() -> list[Path]:
    app = make_app(data=sources.synthetic(), config=TrainConfig(device="cpu"))
    saved = []
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_start_training()
        while app.training:
            await asyncio.sleep(0.2)
        await settle(pilot)
        saved.append(Path(app.save_screenshot("training.svg", str(HERE))))
        app.action_show_pane("forecast")
        app.query_one("#forecast-pane").action_pick("calendar")
        await settle(pilot)
        saved.append(Path(app.save_screenshot("forecast.svg", str(HERE))))
    return saved


def to_png(svg: Path) -> Path | None:
    if not shutil.which("rsvg-convert"):
        return None
    # The SVG asks for Fira Code; name a monospace font most systems have, for the PNG only.
    text = svg.read_text(encoding="utf-8").replace("Fira Code", "DejaVu Sans Mono")
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", "-w", "1600", tmp.name, "-o", str(png)], check=True)
    Path(tmp.name).unlink()
    return png


if __name__ == "__main__":
    for svg in asyncio.run(shoot()):
        png = to_png(svg)
        print(svg, png or "(no rsvg-convert: SVG only)")
