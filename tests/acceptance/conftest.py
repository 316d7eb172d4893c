"""Acceptance checks on the real CTA file: everything under tests/acceptance is marked ``slow`` by
its folder (tests/conftest.py) and skipped without $RIDERSHIP_DATA (the ``real_csv`` fixture).

The real data is loaded once per worker process; each check trains only what it reads.
"""

from __future__ import annotations

import pytest

from engine.data.sources import load_path


@pytest.fixture(scope="session")
def real_data(real_csv):
    """The real CTA file loaded as the product loads it (``--data PATH``), once per worker."""
    return load_path(real_csv, "path")
