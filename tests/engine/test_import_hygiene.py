"""The engine never imports the UI or the CLI: textual, rich, tui and cli stay out of sys.modules.

One fresh interpreter imports ``engine`` and then every engine module in turn, checking after each
import, so an offender is named by the first module that pulls it in.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

UI = ("textual", "rich", "tui", "cli")
CHECK = """
import importlib, json, sys
ui = {ui!r}
found = {{}}
for name in {modules!r}:
    importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ui)
    if loaded:
        found[name] = loaded
        break
print(json.dumps({{"found": found, "imported": sorted(m for m in sys.modules if m.startswith("engine"))}}))
"""


def engine_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine."))


def test_engine_modules_are_discovered():
    modules = engine_modules()
    for name in (
        "engine.session",
        "engine.data.loading",
        "engine.training",
        "engine.data.sources",
        "engine.store.runstore",
        "engine.model",
    ):
        assert name in modules


def test_engine_never_imports_the_ui():
    modules = ["engine", *engine_modules()]
    code = CHECK.format(ui=UI, modules=modules)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(engine.__file__).parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["found"] == {}, f"UI modules imported by the engine: {report['found']}"
    assert set(modules) <= set(report["imported"])  # every module really was imported


def test_import_engine_alone_stays_light():
    """``import engine`` must not load torch or pandas (the app starts faster)."""
    code = "import engine, sys; print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_cli_without_an_app_opener_prints_help_and_loads_no_ui():
    code = (
        "import sys; from cli.main import main; rc = main([], open_app=None); "
        "bad = [m for m in ('textual', 'rich', 'tui') if m in sys.modules]; "
        "print('rc', rc, 'ui', bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "rc 2 ui []" in out.stdout, out.stdout + out.stderr
    assert "usage: ridership" in out.stderr
