"""`ridership train` on the real CSV with `--preset article` prints the article's numbers, for both cores.

The expected lines are the article's own output (quoted in the README, "What the numbers are"): seed 42,
CPU, 50 epochs. Skipped without $RIDERSHIP_DATA (the CTA's file is never part of the project).
"""

from __future__ import annotations

import re

import pytest

from cli.main import main

ARTICLE_LINES = [
    "Epoch 1/50, train loss: 0.0675, train metric: 0.3049, valid metric: 0.2044",
    "Epoch 2/50, train loss: 0.0184, train metric: 0.1556, valid metric: 0.1573",
    "Epoch 3/50, train loss: 0.0104, train metric: 0.1184, valid metric: 0.0974",
    "Epoch 47/50, train loss: 0.0013, train metric: 0.0364, valid metric: 0.0265",
    "Epoch 48/50, train loss: 0.0013, train metric: 0.0365, valid metric: 0.0258",
    "Epoch 49/50, train loss: 0.0013, train metric: 0.0363, valid metric: 0.0305",
    "Epoch 50/50, train loss: 0.0013, train metric: 0.0368, valid metric: 0.0266",
]
ARTICLE_TEST_MAE_RIDERS = 134911.54


@pytest.mark.parametrize("core", ["fused", "cell"])
def test_train_prints_the_articles_numbers(capsys, real_csv, core):
    rc = main(["train", "--data", str(real_csv), "--preset", "article", "--device", "cpu", "--core", core])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = out.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    assert len(epoch_lines) == 50
    for expected in ARTICLE_LINES:
        assert expected in epoch_lines, f"missing: {expected}"
    test_line = next(line for line in lines if line.startswith("Test MAE: "))
    match = re.fullmatch(r"Test MAE: (\d+\.\d{6}) \(([\d.]+) riders\)", test_line)
    assert match, test_line
    assert match.group(1) == "0.134912"
    assert abs(float(match.group(2)) - ARTICLE_TEST_MAE_RIDERS) <= 1.0, test_line
