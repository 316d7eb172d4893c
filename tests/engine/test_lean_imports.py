"""engine/lean_imports.py: a training through the `ridership` command imports neither torch's
compiler nor scipy.signal, and the optimizers it uses step exactly as torch's own."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from support import ROOT, cli_env, small_args

from engine.lean_imports import import_torchmetrics, without_compiler_import


def _imported(stderr: str) -> set[str]:
    """Module names from ``python -X importtime``'s report."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_a_training_through_the_cli_imports_neither_the_compiler_nor_scipy_signal(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cli", "train", *small_args(), "--runs-db", tmp_path / "runs.db"],
        cwd=ROOT,
        env=cli_env(),
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Test MAE" in proc.stdout
    modules = _imported(proc.stderr)
    assert {"torch", "torchmetrics", "torch.optim"} <= modules  # the report is read right
    assert not {m for m in modules if m == "torch._dynamo" or m.startswith("scipy.signal")}


def test_scipy_signal_still_loads_whole_after_torchmetrics():
    code = (
        "from engine.lean_imports import import_torchmetrics; import_torchmetrics();"
        "import scipy.signal; print(len(scipy.signal.windows.hamming(5)), callable(scipy.signal.butter))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env(), text=True, capture_output=True)
    assert proc.returncode == 0 and proc.stdout.split() == ["5", "True"], proc.stderr


@pytest.mark.parametrize(
    ("cls", "options"),
    [
        (torch.optim.SGD, {"lr": 0.05, "momentum": 0.95}),
        (torch.optim.Adam, {"lr": 0.01}),
        (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.01}),
    ],
    ids=["sgd", "adam", "adamw"],
)
def test_the_lean_optimizers_step_bit_for_bit_as_torchs(cls, options):
    def train(optimizer_class):
        torch.manual_seed(0)
        model = torch.nn.LSTM(3, 8, batch_first=True)
        optimizer = optimizer_class(model.parameters(), foreach=True, **options)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
        x = torch.randn(16, 7, 3)
        for _ in range(5):
            optimizer.zero_grad()
            model(x)[0].square().mean().backward()
            optimizer.step()
            scheduler.step()
        return [p.detach().clone() for p in model.parameters()], optimizer.state_dict()

    (lean, lean_state), (plain, plain_state) = train(without_compiler_import(cls)), train(cls)
    assert all(torch.equal(a, b) for a, b in zip(lean, plain, strict=True))
    assert lean_state["param_groups"] == plain_state["param_groups"]
    assert isinstance(without_compiler_import(cls)([torch.zeros(1, requires_grad=True)]), cls)


def test_torchmetrics_mae_is_the_library_one():
    torchmetrics = import_torchmetrics()
    metric = torchmetrics.MeanAbsoluteError()
    metric.update(torch.tensor([1.0, 2.0]), torch.tensor([2.0, 4.0]))
    assert metric.compute().item() == pytest.approx(1.5)
