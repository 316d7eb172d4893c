"""The Ray backend: the same trials as Ray Tune trials, recorded in the same run store. Ray starts
only in this file's one test (skipped when ray is not importable; the test extras install it)."""

from __future__ import annotations

import builtins

import pytest

from engine.data.sources import load_path
from engine.store.runstore import RunStore
from engine.sweep import records
from engine.sweep.local import SweepError, SweepPlan
from engine.sweep.space import parse_space
from support import SMALL

pytestmark = pytest.mark.slow  # starts a Ray cluster: deselected by -m "not slow"


def test_without_ray_the_backend_is_a_one_line_error(monkeypatch, tmp_path, synthetic_csv):
    from engine.sweep import ray_backend

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    plan = SweepPlan("r", parse_space(["lr=0.01,0.02"]), SMALL, trials=2)
    with pytest.raises(SweepError, match=r'pip install -e "\.\[ray\]"'):
        ray_backend.run_ray(plan, None, tmp_path / "runs.db")


def test_a_two_trial_sweep_through_ray_locally(tmp_path, synthetic_csv):
    pytest.importorskip("ray")
    from engine.sweep.ray_backend import run_ray

    data = load_path(synthetic_csv(), "path")
    db = tmp_path / "runs.db"
    plan = SweepPlan("ray2", parse_space(["lr=log:0.01:0.1", "hidden_size=4,8"]), SMALL.replace(epochs=2),
                     trials=2, pruner="none")
    events = []
    out = run_ray(plan, data, db, workers=2, on_event=events.append)
    assert out.status == "finished" and len(out.ran) == 2
    with RunStore.open(db) as store:
        summary = records.sweep_summary(store, "ray2")
    assert summary.record.backend == "ray"
    assert sorted(t.trial for t in summary.trials) == [1, 2]
    for t in summary.trials:
        assert t.status == "finished" and t.value is not None and t.run.epochs_done == 2
        assert set(t.params) == {"lr", "hidden_size"} and t.run.config_dict["hidden_size"] == t.params["hidden_size"]
    assert any(e["kind"] == "trial_done" for e in events)
