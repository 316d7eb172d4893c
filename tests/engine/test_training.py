"""fit(): the article's arithmetic and shuffles, cancellation, divergence, best weights, threads."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torchmetrics
from support import SMALL, SMALL_FIRST, SMALL_LAST, fit
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from engine.config import TrainConfig
from engine.data import DataSource, RidershipData, make_splits
from engine.data.synthetic import synthetic_frame
from engine.events import EpochEvent
from engine.inference import evaluate_mae
from engine.model import LstmModel
from engine.model import build_model as init_model
from engine.training import (
    _draw_base_seed,
    seeded_generator,
    shuffled_batches,
)


@pytest.fixture(scope="module")
def data():
    return RidershipData(synthetic_frame(SMALL_FIRST, SMALL_LAST), DataSource("synthetic"))


@pytest.fixture(scope="module")
def splits(data):
    return make_splits(data, SMALL)


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def batches_per_epoch(splits, config=SMALL) -> int:
    return math.ceil(len(splits["train"]) / config.batch_size)


# -- the article's draws and arithmetic ---------------------------------------------------------


def test_initial_weights_are_the_articles():
    """torch.manual_seed(seed) then LSTMCell + Linear (the article) == init_model from a private generator."""
    torch.manual_seed(42)
    cell, linear = nn.LSTMCell(5, 32), nn.Linear(32, 2)
    model = init_model(TrainConfig(), seeded_generator(42))
    assert torch.equal(model.lstm.weight_ih_l0, cell.weight_ih)
    assert torch.equal(model.lstm.weight_hh_l0, cell.weight_hh)
    assert torch.equal(model.lstm.bias_ih_l0, cell.bias_ih)
    assert torch.equal(model.lstm.bias_hh_l0, cell.bias_hh)
    assert torch.equal(model.output.weight, linear.weight) and torch.equal(model.output.bias, linear.bias)


def test_shuffles_are_a_dataloaders():
    """Two epochs of a shuffling train loader and an ordered valid loader, as the article iterates them."""
    n, batch = 103, 16
    torch.manual_seed(7)
    train = DataLoader(TensorDataset(torch.arange(n)), batch_size=batch, shuffle=True)
    valid = DataLoader(TensorDataset(torch.arange(20)), batch_size=batch)
    expected = []
    for _ in range(2):
        expected.append([b[0] for b in train])
        list(valid)
    generator = seeded_generator(7)
    for epoch in expected:
        ours = shuffled_batches(n, batch, generator)
        _draw_base_seed(generator)  # the validation loader's base seed
        assert len(ours) == len(epoch) and all(torch.equal(a, b) for a, b in zip(ours, epoch))


def test_evaluate_mae_matches_the_articles_loop(splits):
    model = init_model(SMALL, seeded_generator(1))
    valid = splits["valid"]
    metric = torchmetrics.MeanAbsoluteError()
    with torch.no_grad():
        for X, y in DataLoader(TensorDataset(valid.windows, valid.targets), batch_size=SMALL.batch_size):
            metric.update(model(X), y)
    assert (
        evaluate_mae(model, valid.windows, valid.targets, SMALL.batch_size, torch.device("cpu"))
        == metric.compute().item()
    )


def test_both_cores_compute_the_same_function():
    fused = LstmModel(5, 16, 2, core="fused")
    cell = LstmModel(5, 16, 2, core="cell")
    cell.load_state_dict(fused.state_dict())
    X = torch.rand(9, 30, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = fused(X), cell(X)
    assert a.shape == (9, 2)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    fused.core = "cell"  # switching the core of a trained model keeps its outputs
    with torch.no_grad():
        torch.testing.assert_close(fused(X), b, rtol=0, atol=0)


def test_both_cores_train_alike(splits):
    config = SMALL.replace(epochs=3)
    a = fit(config, splits)
    b = fit(config.replace(core="cell"), splits)
    for x, y in zip(a.history, b.history):
        assert (x.train_loss, x.train_mae, x.valid_mae) == pytest.approx(
            (y.train_loss, y.train_mae, y.valid_mae), rel=1e-4
        )


# -- runs ---------------------------------------------------------------------------------------


def test_deterministic_for_a_seed(data, splits):
    events = []
    a = fit(SMALL, data, on_epoch=events.append)
    b = fit(SMALL, splits)
    other = fit(SMALL.replace(seed=43), splits)
    key = [(e.train_loss, e.train_mae, e.valid_mae) for e in a.history]
    assert key == [(e.train_loss, e.train_mae, e.valid_mae) for e in b.history]
    assert states_equal(a.model.state_dict(), b.model.state_dict())
    assert key != [(e.train_loss, e.train_mae, e.valid_mae) for e in other.history]
    assert events == a.history


def test_events_and_result(splits):
    events: list[EpochEvent] = []
    result = fit(SMALL.replace(epochs=3), splits, on_epoch=events.append)
    assert result.status == "finished" and result.reason == "completed 3 epochs"
    assert [e.epoch for e in events] == [1, 2, 3] and all(e.epochs == 3 for e in events)
    assert all(e.seconds > 0 and e.lr == SMALL.lr for e in events)
    best = min(events, key=lambda e: e.valid_mae)
    assert (result.best_epoch, result.best_valid_mae) == (best.epoch, best.valid_mae)
    assert events[-1].best_epoch == best.epoch
    assert result.weights_epoch == 3 and result.device == "cpu"
    line = events[0].article_line()
    assert line.startswith("Epoch 1/3, train loss: ") and f"valid metric: {events[0].valid_mae:.4f}" in line


def test_should_stop_stops_within_one_batch_and_keeps_the_best_weights(splits):
    per_epoch = batches_per_epoch(splits)
    stop_at = 2 * per_epoch + 3  # the 3rd batch of epoch 3
    calls = 0

    def should_stop():
        nonlocal calls
        calls += 1
        return calls >= stop_at

    result = fit(SMALL.replace(epochs=5), splits, should_stop=should_stop)
    assert calls == stop_at  # asked once per batch, and nothing ran after it said stop
    assert result.status == "stopped" and "epoch 3" in result.reason
    assert len(result.history) == 2
    assert result.weights_epoch == result.best_epoch
    assert states_equal(result.model.state_dict(), result.best_state)
    assert result.resume_state["epoch"] == 2  # resumable from the end of the last finished epoch


def test_stop_before_the_first_batch(splits):
    result = fit(SMALL, splits, should_stop=lambda: True)
    assert result.status == "stopped" and result.history == [] and result.best_epoch == 0
    assert states_equal(result.model.state_dict(), init_model(SMALL, seeded_generator(SMALL.seed)).state_dict())


def test_non_finite_loss_fails_with_a_clear_reason(splits):
    result = fit(SMALL.replace(lr=1e38), splits)  # the first steps overflow the weights
    assert result.status == "failed"
    assert "the loss became inf at epoch 1" in result.reason and "diverged" in result.reason
    assert "smaller lr" in result.reason and result.history == []


def test_nan_in_the_data_fails_the_run_at_that_batch(splits):
    broken = dict(splits)
    train = splits["train"]
    windows = train.windows.clone()
    windows[:, 0, 0] = float("nan")  # every window: the first batch already sees it
    broken["train"] = dataclasses.replace(train, windows=windows)
    result = fit(SMALL, broken)
    assert result.status == "failed" and "the loss became nan at epoch 1, batch 1" in result.reason


def test_huge_but_finite_lr_is_divergence(splits):
    """Huber loss bounds the gradient, so lr=1e6 gives a huge loss but no NaN; it used to "finish"
    with an MAE of 6e12 riders. A loss that grows this far past its lowest is divergence."""
    result = fit(SMALL.replace(lr=1e6), splits)
    assert result.status == "failed" and "grew to" in result.reason and "diverged" in result.reason
    assert "smaller lr" in result.reason


def test_ordinary_training_is_not_called_divergence(splits):
    result = fit(SMALL.replace(epochs=6, lr=0.2), splits)
    assert result.status == "finished"


def test_restore_best_decides_the_final_weights(splits):
    config = SMALL.replace(epochs=4)  # on this data the best validation epoch is not the last
    last = fit(config, splits)
    assert last.best_epoch < 4, "precondition: pick settings whose best epoch is not the last"
    assert last.weights_epoch == 4
    assert states_equal(last.model.state_dict(), last.resume_state["model"])
    best = fit(config.replace(restore_best=True), splits)
    assert best.weights_epoch == best.best_epoch == last.best_epoch
    assert states_equal(best.model.state_dict(), best.best_state)
    assert states_equal(best.best_state, last.best_state)
    assert not states_equal(best.model.state_dict(), last.model.state_dict())
    valid = splits["valid"]
    assert evaluate_mae(best.model, valid.windows, valid.targets, 32, torch.device("cpu")) == best.best_valid_mae


def test_cpu_threads_are_restored(data):
    from engine.session import start_run

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        start_run(SMALL, data, on_epoch=lambda e: seen.append(torch.get_num_threads()))
        assert seen == [1, 1]  # small models train on one thread (the session's thread policy)
        assert torch.get_num_threads() == 2

        def boom(event):
            raise RuntimeError("callback failed")

        with pytest.raises(RuntimeError, match="callback failed"):
            start_run(SMALL, data, on_epoch=boom)
        assert torch.get_num_threads() == 2
        seen.clear()
        start_run(
            SMALL.replace(hidden_size=130, epochs=1), data, on_epoch=lambda e: seen.append(torch.get_num_threads())
        )
        assert seen == [2]  # larger models keep torch's setting
    finally:
        torch.set_num_threads(before)
