"""Shared fixtures: isolation from the user's data, cache and run store; the real CSV when there is
one; small synthetic CSV files; a small training configuration. Constants and helpers live in
tests/support.py.

The real CTA file is never copied into the project: tests that need it read $RIDERSHIP_DATA
(captured in tests/support.py before the isolation fixture clears it) and are skipped without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Bytecode caches written, even where the environment says not to (PYTHONDONTWRITEBYTECODE=1, as on
# this project's machines): else every Python process the suite starts (each `python -m cli`, app
# page, workers' server, Ray worker, and each xdist worker's collection with pytest's assertion
# rewriting) compiles the project's modules from source again. Measured: collecting the suite 8.9 s
# against 4.2 s with the caches, importing the CLI's modules about 0.3 s more per process. Set
# here, first, so that the xdist workers and every process the tests start inherit it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

import pytest  # noqa: E402
from support import CSV_HEADER, REAL_DATA, SMALL, SMALL_FIRST, SMALL_LAST, csv_rows, isolate, write_csv  # noqa: E402

from engine.config import TrainConfig  # noqa: E402
from engine.data.synthetic import synthetic_frame  # noqa: E402


def pytest_configure(config):
    # The README's command runs two xdist workers on two cores: each worker's in-process training
    # and scoring run on one thread (the product's own policy for its small models,
    # engine.inference.cpu_threads), rather than several threads per worker fighting over two cores
    # (the normalized preset's check took 22 minutes that way at a load of 9). Tests that check
    # the thread policy set the count they need themselves.
    import torch

    torch.set_num_threads(1)


def pytest_sessionfinish(session):
    # The server that `ridership` commands are forked from (tests/forked_cli.py), if this process
    # started one: ended by its pid.
    from forked_cli import stop_server

    stop_server()


ACCEPTANCE = Path(__file__).parent / "acceptance"


def pytest_collection_modifyitems(config, items):
    """Everything in tests/acceptance (the real-data checks) is ``slow``, deselected by
    ``-m "not slow"``; the other slow tests (a browser, Ray, signals to real processes) carry the mark
    themselves. The slow ones run first: with xdist handing out one test at a time (pyproject's
    ``--maxschedchunk``), the long trainings start at once on separate workers and the short tests
    fill the gaps, instead of one long training starting last."""
    for item in items:
        if ACCEPTANCE in item.path.parents:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: the order within each group stays


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No test reads the user's $RIDERSHIP_DATA, cache or run store, or writes into them."""
    isolate(monkeypatch, tmp_path_factory.mktemp("env"))


@pytest.fixture(scope="session")
def real_csv() -> Path:
    """The real CTA CSV from $RIDERSHIP_DATA; the test is skipped without it."""
    if not REAL_DATA:
        pytest.skip("set RIDERSHIP_DATA to the CTA ridership CSV to run this test")
    path = Path(REAL_DATA)
    if not path.is_file():
        pytest.skip(f"RIDERSHIP_DATA={REAL_DATA} is not a file")
    return path


@pytest.fixture
def synthetic_csv(tmp_path):
    """``synthetic_csv(first=..., last=..., name=..., edit=fn)`` writes the synthetic series in the CTA
    format and returns its path; ``edit(rows)`` may change the rows (lists of strings) first."""

    def make(
        first: str = SMALL_FIRST,
        last: str = SMALL_LAST,
        name: str = "ridership.csv",
        edit=None,
        header: list[str] = CSV_HEADER,
    ) -> Path:
        rows = csv_rows(synthetic_frame(first, last))
        if edit is not None:
            rows = edit(rows) or rows
        return write_csv(tmp_path / name, rows, header)

    return make


@pytest.fixture
def small_config() -> TrainConfig:
    """A few-second-or-less configuration whose splits fit ``synthetic_csv()``'s default dates."""
    return SMALL
