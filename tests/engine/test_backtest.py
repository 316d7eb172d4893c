"""Backtest (engine.backtest): per-day actual/model/naive values and the errors per day type, and
`ridership evaluate`'s per-day-type table."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from support import SMALL, SMALL_FIRST, SMALL_LAST, fit, small_args

from cli.main import main
from engine.data import DataSource, RidershipData, make_splits
from engine.data.synthetic import synthetic_frame
from engine.domain import DAY_TYPE_ORDER
from engine.scoring import backtest, score_all


@pytest.fixture(scope="module")
def trained():
    data = RidershipData(synthetic_frame(SMALL_FIRST, SMALL_LAST), DataSource("synthetic"))
    result = fit(SMALL.replace(epochs=3), data)
    return result.model, data


@pytest.fixture(scope="module")
def tests_(trained):
    model, data = trained
    return backtest(model, data, SMALL)


def test_days_and_values_line_up_with_the_data(trained, tests_):
    model, data = trained
    splits = make_splits(data, SMALL)
    assert set(tests_) == {"valid", "test"}
    for name, bt in tests_.items():
        split = splits[name]
        assert len(bt) == len(split) > 0
        assert bt.dates == [f"{d:%Y-%m-%d}" for d in split.target_dates]
        frame = data.frame.loc[bt.dates]
        assert bt.day_types == frame["day_type"].tolist()
        np.testing.assert_allclose(bt.actual_rail, frame["rail"].to_numpy(), rtol=1e-6)
        np.testing.assert_allclose(bt.actual_bus, frame["bus"].to_numpy(), rtol=1e-6)
        # The naive forecast is the actual value seven days before.
        week_before = data.frame.shift(7).loc[bt.dates]
        np.testing.assert_allclose(bt.naive_rail, week_before["rail"].to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(bt.naive_bus, week_before["bus"].to_numpy(), rtol=1e-9)
        assert all(len(getattr(bt, k)) == len(bt) for k in ("pred_rail", "pred_bus"))


def test_overall_errors_match_the_scores(trained, tests_):
    model, data = trained
    splits = make_splits(data, SMALL)
    scores = score_all(model, splits, data.features().to_numpy(), SMALL.batch_size, "cpu")
    for name, bt in tests_.items():
        s, o = scores[name], bt.overall
        assert o.count == s.windows
        assert o.mae == pytest.approx(s.mae, rel=1e-4)
        assert o.naive_mae == pytest.approx(s.naive_mae, rel=1e-6)
        assert (o.rail_mae, o.bus_mae) == pytest.approx((s.rail_mae, s.bus_mae), rel=1e-4)
        assert o.ratio == pytest.approx(s.ratio, rel=1e-4)


def test_errors_per_day_type_are_the_days_of_that_type(tests_):
    for bt in tests_.values():
        kinds = np.array(bt.day_types)
        assert list(bt.by_day_type) == [k for k in DAY_TYPE_ORDER if (kinds == k).any()]
        assert sum(e.count for e in bt.by_day_type.values()) == len(bt)
        for kind, e in bt.by_day_type.items():
            rows = kinds == kind
            actual = np.c_[bt.actual_rail, bt.actual_bus][rows]
            pred = np.c_[bt.pred_rail, bt.pred_bus][rows]
            naive = np.c_[bt.naive_rail, bt.naive_bus][rows]
            assert e.count == rows.sum()
            assert e.mae == pytest.approx(np.abs(pred - actual).mean())
            assert e.naive_mae == pytest.approx(np.abs(naive - actual).mean())
            assert e.naive_rail_mae == pytest.approx(np.abs(naive - actual)[:, 0].mean())
            assert e.ratio == pytest.approx(e.mae / e.naive_mae)


def test_one_split_and_json(trained):
    model, data = trained
    only = backtest(model, data, SMALL, splits=("test",))
    assert list(only) == ["test"]
    text = json.dumps(only["test"].to_dict())
    back = json.loads(text)
    assert back["by_day_type"]["W"]["count"] == only["test"].by_day_type["W"].count
    assert len(back["dates"]) == len(only["test"])


def test_evaluate_prints_errors_per_day_type(synthetic_csv, tmp_path, capsys):
    csv = synthetic_csv()
    model = tmp_path / "m.pt"
    assert main(["train", "--data", str(csv), *small_args(), "--quiet", "--save", str(model)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--data", str(csv), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "by day type" in out
    # "validation W    68    22,967    25,438        0.90", then "  A ..." rows for the same split
    rows = re.findall(r"^\s*(validation|test)?\s+([WAU])\s+(\d+)\s+[\d,]+\s+[\d,]+\s+[\d.]+\s+[\d,]+$", out, re.M)
    assert [kind for _, kind, _ in rows] == ["W", "A", "U", "W", "A", "U"]
    assert [split for split, _, _ in rows if split] == ["validation", "test"]
    assert main(["evaluate", "--data", str(csv), "--model", str(model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("valid", "test"):
        by_type = report["by_day_type"][name]
        assert sum(e["count"] for e in by_type.values()) == report["scores"][name]["windows"]
        assert all(e["naive_mae_riders"] > 0 and e["mae_riders"] > 0 for e in by_type.values())


def test_a_backtest_leaves_the_model_it_is_given_as_it_is():
    """The app's forecast and backtest workers run one model at once: ``.to()`` on it (even to the
    device it is on) empties an LSTM's weight references for a moment, and a forward pass in another
    thread then failed ("zip() argument 2 is longer than argument 1", seen twice in suite runs)."""
    import torch

    from engine.config import TrainConfig
    from engine.data import make_splits, sources
    from engine.model import build_model
    from engine.scoring import backtest_split

    data = sources.synthetic()
    config = TrainConfig(window_length=14, hidden_size=8, epochs=1)
    model = build_model(config, torch.Generator().manual_seed(1))
    moved = []
    model._apply = lambda *a, **k: moved.append(a) or model  # what .to() calls on a module
    backtest_split(model, make_splits(data, config)["valid"], data, "cpu")
    assert moved == []
