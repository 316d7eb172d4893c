"""The presets' promises on the real CTA file, trained as the product trains them (CPU): `normalized`
beats the naive forecast by 15% on the article's splits and `ridership evaluate` reports the same
numbers; `best` beats the naive forecast and LightGBM (numbers: research/RESULTS.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import BEST

from cli.main import main
from engine.data import make_splits
from engine.domain import SCALE
from engine.presets import apply_preset
from engine.scoring import reference_for
from engine.session import start_run
from engine.store.modelfile import save_model

ARTICLE = apply_preset("article")


def test_normalized_preset_beats_naive_by_15_percent_on_real_data(real_data, real_csv, tmp_path, capsys):
    config = apply_preset("normalized").replace(device="cpu")
    splits = make_splits(real_data, config)
    article_splits = make_splits(real_data, ARTICLE)
    for name in ("valid", "test"):  # the same targets the article (and its naive baseline) is scored on
        assert (splits[name].target_positions == article_splits[name].target_positions).all()
    # Trained through engine.session as `ridership train` trains it, under its CPU thread policy (one
    # thread for a small LSTM): the training loop called bare used torch's two threads, which took
    # 76 s on a quiet machine but 22 minutes at a load of 9, the suite's longest test by far.
    run = start_run(config, real_data)
    assert run.status == "finished", run.reason
    scores = run.scores
    for name in ("valid", "test"):
        assert scores[name].ratio <= 0.85, (name, scores[name])
    # ... and `ridership evaluate` reports the same numbers beside the naive baseline.
    save_model(tmp_path / "better.pt", run.fit, real_data)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(tmp_path / "better.pt"), "--data", str(real_csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["preset"] == "normalized"
    for name in ("valid", "test"):
        assert report["scores"][name]["mae_riders"] == pytest.approx(scores[name].mae)
        assert report["scores"][name]["naive_mae_riders"] == pytest.approx(scores[name].naive_mae)
        assert report["scores"][name]["ratio"] <= 0.85


def test_best_preset_on_real_data_beats_naive_and_lightgbm(real_data, best_run):
    """The `best` preset, seed 1, on the article's validation and test splits (research/RESULTS.md,
    research/results/round6_candidate.log). Another CPU's float bits train another model, as
    another seed does, so the bounds hold for the spread of nine seeds (1-6, 42-44), not seed 1's
    own numbers. Against the same-split LightGBM (trained from 2005, as the preset): article
    validation 0.951-0.984, test 0.833-0.863; 2017 validation 0.933-0.956, test 0.927-0.965.
    Against LightGBM trained from 2010 (the issue's reference) the article's validation is
    0.989-1.023 (mean 1.009): level with it, which the last assertions pin down."""
    # The run is tests/acceptance/conftest.py's best_run (trained once, shared with the day-type checks);
    # its scores are the ones the run gave itself, as `ridership train --json` prints them (MAE in riders).
    valid, test = best_run.scores["valid"], best_run.scores["test"]
    assert valid["ratio"] < 0.53 and test["ratio"] < 0.55  # measured 0.501 and 0.500 of the naive MAE
    assert valid["gbm_mae_riders"] == pytest.approx(21_637, rel=0.01) and test["gbm_mae_riders"] == pytest.approx(
        19_346, rel=0.01
    )
    assert test["gbm_ratio"] < 0.89  # measured 0.837: ahead of LightGBM on test ...
    assert valid["gbm_ratio"] < 1.0  # ... and on validation (measured 0.981, seeds 1-3 0.955-0.986)
    # LightGBM trained from 2010 on the same days: stronger on this validation, weaker on test.
    from_2010 = BEST.replace(train_start="2010-01")
    splits = make_splits(real_data, from_2010)
    gbm = reference_for(real_data, splits, from_2010)
    gbm_mae = {name: float(np.abs(gbm[name] - splits[name].targets.numpy()).mean()) * SCALE for name in gbm}
    assert gbm_mae["valid"] == pytest.approx(20_810, rel=0.01) and gbm_mae["test"] == pytest.approx(19_482, rel=0.01)
    assert (
        valid["mae_riders"] / gbm_mae["valid"] < 1.04
    )  # measured 1.020 (seeds 1-3 0.993-1.026; round 6: 0.989-1.023 over nine seeds)
    assert test["mae_riders"] / gbm_mae["test"] < 0.88  # measured 0.831


def test_best_preset_holds_on_another_split(real_data):
    """Another split than the one the recipe was first found on: train to 2016, validate
    2017-01..06, test 2017-07..2018-06 (research/best_search.py SPLITS["2017"]). A test of its own
    (it was the second half of the one above), so two workers train the two at once."""
    other = start_run(
        BEST.replace(
            train_end="2016-12", valid_start="2017-01", valid_end="2017-06", test_start="2017-07", test_end="2018-06"
        ),
        real_data,
    )
    assert other.scores["valid"].gbm_ratio < 0.98  # measured 0.944 (round 3: 1.041, round 5: 0.967)
    assert other.scores["test"].gbm_ratio < 0.99  # measured 0.942 (round 3: 1.095, round 4: 0.989, round 5: 0.964)
