"""Acceptance checks on the real CTA file: everything under tests/acceptance is marked ``slow`` by
its folder (tests/conftest.py) and skipped without $RIDERSHIP_DATA (the ``real_csv`` fixture).

The real data is loaded once per worker process; each check trains only what it reads, and the
`best` model that several checks only read is trained once per session (``best_run``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import BEST, ridership, shared_folder

from engine.data.sources import load_path


@pytest.fixture(scope="session")
def real_data(real_csv):
    """The real CTA file loaded as the product loads it (``--data PATH``), once per worker."""
    return load_path(real_csv, "path")


@dataclass(frozen=True)
class BestRun:
    """The `best` preset, seed 1, trained on the real file once per session and recorded."""

    store: Path  # the run store it is recorded in (run ``run_id``)
    run_id: int
    model: Path  # its model file (``train --save``)
    scores: dict  # by split name, as `ridership train --json` prints them (mae_riders, ratio, gbm_ratio...)
    csv: Path

    def cli(self) -> list[str]:
        """``--data`` and ``--model`` for a `ridership` command that reads it."""
        return ["--data", str(self.csv), "--model", str(self.model)]


@pytest.fixture(scope="session")
def best_run(tmp_path_factory, real_csv) -> BestRun:
    """Trained by the first worker that needs it, through the user's door (`ridership train`, a
    60-epoch run), and read by every check that only reads a `best` model; another worker that needs
    it meanwhile waits for it (tests/support.py's shared_folder)."""
    with shared_folder(tmp_path_factory, "best-seed-1") as (folder, fresh):
        if fresh:
            done = ridership(  # forked from the tests' command server (tests/forked_cli.py)
                "train",
                *("--data", real_csv, "--preset", "best", "--seed", "1", "--device", "cpu", "--json"),
                *("--save", folder / "best.pt", "--runs-db", folder / "runs.db"),
                timeout=1800,
            )
            assert done.returncode == 0, done.stderr
            report = json.loads(done.stdout)
            assert report["status"] == "finished" and report["config"] == BEST.to_dict(), report
            (folder / "run.json").write_text(
                json.dumps({"run_id": report["run"]["run_id"], "scores": report["scores"]})
            )
        facts = json.loads((folder / "run.json").read_text())
    return BestRun(folder / "runs.db", facts["run_id"], folder / "best.pt", facts["scores"], real_csv)
