"""fit_packed (GPU trial packing, issue 22 item 5): on the CPU, every trial of a packed group gets the
numbers engine.training.fit gives it alone: per-epoch losses, MAEs and learning rates, best epoch,
end weights, and its failure or stop.

The tolerance is float rounding, not a mechanism: the packed LSTM's batched matrix products and the
per-trial sums add in another order than nn.LSTM's and torchmetrics', so results differ in the last
bits (measured: at most ~2e-7 relative after 4 epochs) and a few epochs of SGD carry that along
without growing it much. rtol 1e-5 leaves room for that and is far below any real difference
(another seed, learning rate or shuffle changes the MAEs in the second or third digit).
"""

from __future__ import annotations

import pytest
import torch
from support import SMALL, SMALL_FIRST, SMALL_LAST, SMALL_RECIPE, fit

from engine.data import DataSource, RidershipData, make_splits
from engine.data.synthetic import synthetic_frame
from engine.packed_training import check_packable, fit_packed

RTOL = 1e-5
ATOL = 1e-6  # weights near 0: an absolute floor for the rounding above

# Each case: K=3 trials, differing in every per-trial setting the preset's mechanics use.
CASES = {
    # SGD with momentum, Huber, plateau (patience 0: the learning rate drops within 4 epochs)
    "article": [
        SMALL.replace(epochs=4, patience=0, lr=0.05, seed=42),
        SMALL.replace(epochs=4, patience=0, lr=0.02, seed=7, momentum=0.9),
        SMALL.replace(epochs=4, patience=1, lr=0.1, seed=3, factor=0.1, weight_decay=0.001),
    ],
    # AdamW, L1, cosine per batch, clip, highway, lstm_days, norm_clip, restore_best
    "best_recipe": [
        SMALL_RECIPE.replace(epochs=3, lr=0.01, seed=42),
        SMALL_RECIPE.replace(epochs=3, lr=0.005, seed=7, clip=0.0, weight_decay=0.0),
        SMALL_RECIPE.replace(epochs=3, lr=0.03, seed=3, clip=0.05, restore_best=False),
    ],
    # the best preset's log scale, and the weekly-change target
    "log_weekly_change": [
        SMALL_RECIPE.replace(epochs=3, log_scale=True, target="weekly_change", lr=lr, seed=seed)
        for lr, seed in ((0.01, 42), (0.005, 7), (0.02, 3))
    ],
}


@pytest.fixture(autouse=True)
def one_thread():
    """As a sweep worker and engine.inference.cpu_threads run a small model: several threads on this
    tiny LSTM only wait on each other (8 s a case instead of a fraction of a second, measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return RidershipData(synthetic_frame(SMALL_FIRST, SMALL_LAST), DataSource("synthetic"))


def assert_same_run(packed, alone) -> None:
    assert (packed.status, packed.reason) == (alone.status, alone.reason)
    assert (packed.best_epoch, packed.weights_epoch) == (alone.best_epoch, alone.weights_epoch)
    assert len(packed.history) == len(alone.history)
    for ours, theirs in zip(packed.history, alone.history):
        assert ours.epoch == theirs.epoch and ours.best_epoch == theirs.best_epoch
        for name in ("train_loss", "train_mae", "valid_mae", "best_valid_mae", "lr"):
            assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=RTOL), (ours.epoch, name)
    ours, theirs = packed.model.state_dict(), alone.model.state_dict()
    assert ours.keys() == theirs.keys()
    for name in theirs:
        torch.testing.assert_close(ours[name], theirs[name], rtol=RTOL, atol=ATOL, msg=name)


@pytest.mark.parametrize("case", CASES)
def test_each_packed_trial_matches_its_run_alone(data, case):
    configs = CASES[case]
    splits = make_splits(data, configs[0])
    seen = []
    packed = fit_packed(configs, splits, "cpu", on_epoch=lambda k, event: seen.append((k, event.epoch)))
    alone = [fit(config, splits) for config in configs]
    for ours, theirs in zip(packed, alone):
        assert_same_run(ours, theirs)
    assert sorted(seen) == sorted((k, e.epoch) for k, run in enumerate(packed) for e in run.history)
    # The trials really differ (no trial's numbers leaked into another's), and the mechanisms under
    # test were exercised: a plateau drop in the article's case, a best-epoch restore in the recipe's.
    assert len({run.history[-1].valid_mae for run in packed}) == len(packed)
    if case == "article":
        assert any(e.lr < run.config.lr for run in alone for e in run.history)
    if case == "best_recipe":
        assert any(run.config.restore_best and run.weights_epoch < run.config.epochs for run in alone)


def test_a_diverging_trial_fails_as_alone_and_leaves_the_others_untouched(data):
    configs = [
        SMALL.replace(epochs=3, lr=0.05),
        SMALL.replace(epochs=3, lr=1e6, seed=7),
        SMALL.replace(epochs=3, seed=3),
    ]
    splits = make_splits(data, configs[0])
    packed = fit_packed(configs, splits, "cpu")
    alone = [fit(config, splits) for config in configs]
    assert [run.status for run in packed] == ["finished", "failed", "finished"]
    assert "training diverged" in packed[1].reason
    for ours, theirs in zip(packed, alone):
        assert_same_run(ours, theirs)


def test_a_stop_stops_every_trial_where_each_would_stop_alone(data):
    configs = CASES["best_recipe"]
    splits = make_splits(data, configs[0])

    def stop_at(call: int):
        calls = iter(range(1, 10_000))
        return lambda: "the test" if next(calls) >= call else False

    batches = -(-len(splits["train"]) // configs[0].batch_size)
    stop_call = batches + 2  # the second batch of epoch 2
    packed = fit_packed(configs, splits, "cpu", should_stop=stop_at(stop_call))
    alone = [fit(config, splits, should_stop=stop_at(stop_call)) for config in configs]
    assert [run.status for run in packed] == ["stopped"] * 3
    assert packed[0].reason == "stopped: the test during epoch 2"
    for ours, theirs in zip(packed, alone):
        assert_same_run(ours, theirs)


def test_one_trial_stopped_after_an_epoch_ends_as_alone_and_the_others_go_on(data):
    """A sweep's pruner stops one member (stop_trial): it ends at that epoch with what fit gives
    when stopped at the next epoch's first batch; the others train to the end untouched."""
    configs = CASES["article"]
    splits = make_splits(data, configs[0])
    batches = -(-len(splits["train"]) // configs[0].batch_size)
    asked = []

    def stop_trial(k: int) -> bool:
        asked.append(k)
        return k == 1

    packed = fit_packed(configs, splits, "cpu", stop_trial=stop_trial)
    calls = iter(range(1, 10_000))
    stopped_alone = fit(configs[1], splits, should_stop=lambda: next(calls) > batches)
    assert [run.status for run in packed] == ["finished", "stopped", "finished"]
    assert packed[1].reason == "stopped after epoch 1" and len(packed[1].history) == 1
    assert stopped_alone.status == "stopped" and len(stopped_alone.history) == 1
    packed[1].reason = stopped_alone.reason  # the words differ ("during epoch 2"); the numbers may not
    assert_same_run(packed[1], stopped_alone)
    for k in (0, 2):
        assert_same_run(packed[k], fit(configs[k], splits))
    assert asked.count(1) == 1 and asked.count(0) == 3  # never asked at the last epoch, nor once stopped


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"hidden_size": 16}, "hidden_size"),
        ({"window_length": 21}, "window_length"),
        ({"optimizer": "adam"}, "optimizer"),
        ({"epochs": 3}, "epochs"),
        ({"batch_size": 64}, "batch_size"),
        ({"normalize": "week"}, "normalize"),
    ],
)
def test_trials_of_different_shapes_are_refused_naming_the_setting(change, setting):
    with pytest.raises(ValueError, match=rf"must share {setting}: trial 1 has .*, trial 2 has"):
        check_packable([SMALL, SMALL.replace(**change)])
    with pytest.raises(ValueError, match=f"must share {setting}"):
        fit_packed([SMALL, SMALL.replace(lr=0.1), SMALL.replace(**change)], {}, "cpu")
    check_packable([SMALL, SMALL.replace(lr=0.1, seed=1, clip=1.0, momentum=0.5, patience=3)])  # per-trial only


@pytest.mark.parametrize("case", ["article", "best_recipe"])
def test_checkpoints_move_between_packed_and_alone_runs(data, case):
    """on_state gives fit's resume format: each trial's state after epoch 2 (model, optimizer moments,
    scheduler, shuffle generator, history, best weights), continued by fit alone, ends where the
    trial's uninterrupted run alone ends; states saved by fit alone continue packed to the same end."""
    configs = CASES[case]
    splits = make_splits(data, configs[0])
    states = {}
    packed = fit_packed(configs, splits, "cpu", on_state=lambda k, state: states.setdefault((k, state["epoch"]), state))
    assert sorted(states) == sorted((k, e.epoch) for k, run in enumerate(packed) for e in run.history)
    alone = [fit(config, splits) for config in configs]
    for k, config in enumerate(configs):
        assert packed[k].resume_state["epoch"] == config.epochs
        assert_same_run(fit(config, splits, resume=states[k, 2]), alone[k])
    # and the other way: trials checkpointed alone after epoch 2, continued packed
    saved = {}
    for k, config in enumerate(configs):  # (the full run's epoch 2: a 2-epoch run's cosine is another)
        fit(config, splits, on_state=lambda state, k=k: saved.setdefault((k, state["epoch"]), state))
    continued = fit_packed(configs, splits, "cpu", resume=[saved[k, 2] for k in range(len(configs))])
    for ours, theirs in zip(continued, alone):
        assert_same_run(ours, theirs)
    # continued for more epochs than planned (a cosine is stretched over the new length), as fit does
    longer = [config.replace(epochs=config.epochs + 1) for config in configs]
    continued = fit_packed(longer, splits, "cpu", resume=[saved[k, 2] for k in range(len(configs))])
    for k, config in enumerate(longer):
        assert_same_run(continued[k], fit(config, splits, resume=saved[k, 2]))


def test_states_at_different_epochs_are_refused():
    one_epoch, two_epochs = {"history": [{}]}, {"history": [{}, {}]}
    with pytest.raises(ValueError, match=r"all at the same epoch; got 2 at epochs \[1, 2\]"):
        fit_packed([SMALL, SMALL.replace(seed=1)], {}, "cpu", resume=[one_epoch, two_epochs])
    with pytest.raises(ValueError, match=r"one state per config \(2\)"):
        fit_packed([SMALL, SMALL.replace(seed=1)], {}, "cpu", resume=[one_epoch])
