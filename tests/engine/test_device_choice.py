"""--device auto picks the device measured faster for the run's model size, once per shape."""

from __future__ import annotations

import json
import math

import pytest
import torch

from engine import device as engine_device
from engine.config import TrainConfig
from engine.errors import DeviceError


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(engine_device, "_measured", {})


def timer(seconds: dict[str, float], calls: list):
    def measure(device: torch.device, config) -> float:
        calls.append(device.type)
        return seconds[device.type]

    return measure


def test_the_faster_device_is_chosen_and_remembered(tmp_path):
    calls, cache = [], tmp_path / "device-choice.json"
    small = TrainConfig()
    pick = engine_device.fastest_device(
        small, ["cuda", "cpu"], measure=timer({"cuda": 0.004, "cpu": 0.002}, calls), cache_file=cache
    )
    assert pick == "cpu" and sorted(calls) == ["cpu", "cuda"]
    # the same shape again: no new measurement (in memory, then from the file in a new process)
    assert (
        engine_device.fastest_device(small.replace(lr=0.5), ["cuda", "cpu"], measure=timer({}, calls), cache_file=cache)
        == "cpu"
    )
    engine_device._measured.clear()
    assert engine_device.fastest_device(small, ["cuda", "cpu"], measure=timer({}, calls), cache_file=cache) == "cpu"
    assert len(calls) == 2
    assert list(json.loads(cache.read_text()).values()) == ["cpu"]
    # another model size is measured on its own: a big one is faster on the GPU
    big = small.replace(hidden_size=512, batch_size=1024)
    assert (
        engine_device.fastest_device(
            big, ["cuda", "cpu"], measure=timer({"cuda": 0.01, "cpu": 0.3}, calls), cache_file=cache
        )
        == "cuda"
    )


def test_auto_measures_only_when_there_is_a_choice(monkeypatch):
    monkeypatch.setattr(engine_device, "available", lambda: ["cpu"])
    monkeypatch.setattr(engine_device, "fastest_device", lambda *a, **k: pytest.fail("measured with one device"))
    assert engine_device.resolve_device("auto", TrainConfig()).type == "cpu"


def test_auto_with_settings_uses_the_measurement(monkeypatch, tmp_path):
    monkeypatch.setattr(engine_device, "available", lambda: ["cuda", "cpu"])
    monkeypatch.setattr(engine_device, "_cache_file", lambda: tmp_path / "choice.json")
    monkeypatch.setattr(engine_device, "step_seconds", lambda device, config: {"cuda": 2.0, "cpu": 1.0}[device.type])
    assert engine_device.resolve_device("auto", TrainConfig()).type == "cpu"
    assert engine_device.resolve_device("auto").type == "cuda"  # no settings: the preference order
    with pytest.raises(DeviceError, match="not known"):
        engine_device.resolve_device("tpu", TrainConfig())


def test_a_real_step_is_timed_on_the_cpu():
    config = TrainConfig(hidden_size=8, batch_size=16, window_length=14)
    seconds = engine_device.step_seconds(torch.device("cpu"), config)
    assert seconds > 0 and math.isfinite(seconds)  # a time was measured (no bound: timings vary by machine)


def test_an_unwritable_cache_means_measuring_again_not_failing(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    calls = []
    pick = engine_device.fastest_device(
        TrainConfig(),
        ["cuda", "cpu"],
        measure=timer({"cuda": 1, "cpu": 2}, calls),
        cache_file=blocked / "device-choice.json",
    )
    assert pick == "cuda" and len(calls) == 2
