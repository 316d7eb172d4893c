"""Resuming: 25 epochs, a checkpoint on disk, 25 more == 50 epochs at once (CPU, same seed).

The small config drops the learning rate several times within 50 epochs (patience 2), so the
ReduceLROnPlateau state, the momentum buffers and the shuffling generator all have to carry over.
"""

from __future__ import annotations

import pytest
import torch
from support import TINY_2016, fit

from engine.data import DataSource, RidershipData, make_splits
from engine.data.synthetic import synthetic_frame
from engine.session import resume_run, start_run
from engine.store import RunStore
from engine.store.checkpoint import load_checkpoint
from engine.training import seeded_generator

CONFIG = TINY_2016.replace(epochs=50)
METRICS = ("train_loss", "train_mae", "valid_mae", "lr", "best_epoch", "best_valid_mae")


def max_diff(a, b) -> float:
    assert [e.epoch for e in a] == [e.epoch for e in b]
    return max(abs(getattr(x, m) - getattr(y, m)) for x, y in zip(a, b) for m in METRICS)


@pytest.fixture(scope="module")
def data():
    return RidershipData(synthetic_frame("2015-11-01", "2016-09-30"), DataSource("synthetic"))


@pytest.fixture(scope="module")
def straight(data):
    return fit(CONFIG, data)


def test_25_plus_25_through_the_store_equals_50_straight(tmp_path, data, straight):
    assert len({e.lr for e in straight.history}) >= 3  # the schedule really moved

    with RunStore.open(tmp_path / "runs.db") as store:
        first = start_run(CONFIG.replace(epochs=25), data, store=store)
        second = resume_run(store, first.run_id, 25, data)
        run = store.get_run(second.run_id)
        parent = store.get_run(first.run_id)

    assert (run.origin, run.parent_id, run.resumed_from_epoch, run.status) == ("resume", first.run_id, 25, "finished")
    assert run.config == CONFIG  # 25 + 25 = the 50-epoch settings
    assert len(parent.epochs) == 25 and parent.config.epochs == 25  # the parent is untouched
    assert [e.epochs for e in run.epochs] == [50] * 50  # one continuous history

    diff = max_diff(run.epochs, straight.history)
    print(f"25+25 vs 50: max abs metric diff {diff:.3g}")
    assert diff <= 1e-6
    for name, tensor in straight.model.state_dict().items():
        assert torch.allclose(second.model.state_dict()[name], tensor, atol=1e-6, rtol=0)
    assert second.best_epoch == straight.best_epoch
    assert abs(run.test_mae - straight_test_mae(straight, data)) <= 1e-3  # riders


def straight_test_mae(result, data) -> float:
    from engine.scoring import score_split

    splits = make_splits(data, CONFIG)
    return score_split(result.model, splits["test"], data.features().to_numpy(), CONFIG.batch_size, "cpu").mae


def test_resume_state_matters(data, straight):
    """The comparison above can fail: a resume with the generator reset to the seed diverges."""
    first = fit(CONFIG.replace(epochs=25), data)
    state = dict(first.resume_state, generator=seeded_generator(CONFIG.seed).get_state())
    wrong = fit(CONFIG, data, resume=state)
    assert max_diff(wrong.history, straight.history) > 1e-4


def test_checkpoint_restores_optimizer_and_scheduler(tmp_path, data):
    with RunStore.open(tmp_path / "runs.db") as store:
        done = start_run(CONFIG.replace(epochs=12), data, store=store)
    state = load_checkpoint(done.checkpoint, data, for_resume=True).resume_state
    live = done.fit.resume_state
    assert state["scheduler"]["num_bad_epochs"] == live["scheduler"]["num_bad_epochs"]
    assert state["scheduler"]["best"] == live["scheduler"]["best"]
    assert state["optimizer"]["param_groups"][0]["lr"] == live["optimizer"]["param_groups"][0]["lr"] < CONFIG.lr
    for key, buf in live["optimizer"]["state"].items():
        assert torch.equal(state["optimizer"]["state"][key]["momentum_buffer"], buf["momentum_buffer"])
    assert torch.equal(state["generator"], live["generator"])


def test_a_resumed_cosine_run_decays_over_its_new_length(tmp_path, data):
    """A cosine schedule was planned over the first run's epochs; resumed for more, it must not
    climb back to the full rate past that end, but decay to 0 over the new total."""
    cosine = CONFIG.replace(schedule="cosine", optimizer="adam", lr=0.01, epochs=4)
    with RunStore.open(tmp_path / "runs.db") as store:
        first = start_run(cosine, data, store=store)
        second = resume_run(store, first.run_id, 4, data)
    lrs = [e.lr for e in second.history]
    assert len(lrs) == 8
    assert lrs[3] < 0.002  # the first run ended its decay near 0 (the lr of its last epoch)
    resumed = lrs[4:]
    assert all(a > b for a, b in zip(resumed, resumed[1:]))  # decreasing to the new end, never climbing
    assert resumed[-1] < 0.0005 and resumed[0] < 0.01  # at step k of a cosine over 8 epochs: below the full rate
    straight = start_run(cosine.replace(epochs=8), data)
    # from the resume on, the rate is what a cosine planned over 8 epochs has at the same step
    # (abs: near the end the rates are tiny, and libm's cos may differ in its last bit elsewhere)
    assert resumed == pytest.approx([e.lr for e in straight.history][4:], rel=1e-6, abs=1e-9)
