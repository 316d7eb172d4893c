"""The engine against the article's own loop (bench/article_loop.py: DataLoader + LSTMCell), on the
synthetic series with the article's settings, no real data needed.

The cell core makes the same draws and the same operations, so its metrics are bit-identical; the
fused core (oneDNN's LSTM kernel) agrees far beyond the 4 printed decimals.
"""

from __future__ import annotations

import pytest

from bench import bench_training

EPOCHS = 2


@pytest.fixture(scope="module")
def article(tmp_path_factory):
    path = bench_training.write_synthetic_csv(tmp_path_factory.mktemp("article"))
    _, rows, test_mae = bench_training.run_article(path, EPOCHS, "cpu", threads=1)  # one thread: immune to busy CPUs
    return path, rows, test_mae


def test_cell_core_is_bit_identical_to_the_article(article):
    path, rows, test_mae = article
    _, engine_rows, engine_test = bench_training.run_engine(path, EPOCHS, "cpu", "cell")
    assert engine_rows == rows
    assert engine_test == test_mae


def test_fused_core_matches_the_articles_printed_digits(article):
    path, rows, test_mae = article
    _, engine_rows, engine_test = bench_training.run_engine(path, EPOCHS, "cpu", "fused")
    for ours, theirs in zip(engine_rows, rows):
        assert ours == pytest.approx(theirs, abs=1e-6)
    assert engine_test == pytest.approx(test_mae, abs=1e-6)  # 1 rider
