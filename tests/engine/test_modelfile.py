"""Hardening of saved model files (engine/store/modelfile.py): crafted sizes, bad weights, missing keys,
folders, failed saves, permissions and left-over temporaries."""

from __future__ import annotations

import errno
import os
import time
import tracemalloc
from types import SimpleNamespace

import pytest
import torch
from support import SMALL

from engine.errors import ModelFileError
from engine.model import model_for
from engine.store import modelfile
from engine.store.modelfile import load_model, model_payload, save_model


@pytest.fixture
def result():
    return SimpleNamespace(model=model_for(SMALL), config=SMALL, weights_epoch=2, best_epoch=2, best_valid_mae=0.1)


@pytest.fixture
def payload(result):
    return model_payload(result)


def write(tmp_path, payload, name="m.pt"):
    path = tmp_path / name
    torch.save(payload, path)
    return path


def test_a_huge_claimed_hidden_size_is_refused_before_anything_is_built(tmp_path, payload):
    payload["config"]["hidden_size"] = 200_000  # an LSTM of 200k units would need hundreds of GB
    path = write(tmp_path, payload)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="hidden_size.*4096") as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20 and str(path) in str(info.value)


def test_a_claimed_size_that_the_weights_do_not_have_is_refused_before_building(tmp_path, payload, monkeypatch):
    payload["config"]["hidden_size"] = 4000  # allowed, but the weights are for 8 units
    path = write(tmp_path, payload)
    built = []
    real = modelfile.LstmModel

    def spy(*args, **kwargs):
        if torch.get_default_device().type != "meta":  # shapes on the meta device allocate nothing
            built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(modelfile, "LstmModel", spy)
    with pytest.raises(ModelFileError, match=r"weights do not fit.*lstm\.weight_ih_l0.*\(32, 5\).*\(16000, 5\)"):
        load_model(path)
    assert not built


@pytest.mark.parametrize("change", ["missing", "extra", "not-a-tensor", "integer"])
def test_state_dicts_that_do_not_match(tmp_path, payload, change):
    state = payload["state_dict"]
    if change == "missing":
        del state["output.bias"]
    elif change == "extra":
        state["output.extra"] = torch.zeros(2)
    elif change == "not-a-tensor":
        state["output.bias"] = [0.0, 0.0]
    else:
        state["output.bias"] = torch.zeros(2, dtype=torch.int64)
    with pytest.raises(ModelFileError, match="weights"):
        load_model(write(tmp_path, payload))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_or_inf_weights_are_refused(tmp_path, payload, bad):
    payload["state_dict"]["lstm.weight_hh_l0"][3, 1] = bad
    with pytest.raises(ModelFileError, match=r"lstm\.weight_hh_l0.*not finite") as info:
        load_model(write(tmp_path, payload))
    assert "\n" not in str(info.value)


def test_optional_payload_keys_may_be_missing(tmp_path, payload):
    for key in ("weights_epoch", "best_epoch", "best_valid_mae", "data", "targets"):
        del payload[key]
    model, config, loaded = load_model(write(tmp_path, payload))
    assert config == SMALL
    assert loaded["weights_epoch"] is None and loaded["best_epoch"] is None
    assert loaded["data"] == {"source": "", "fingerprint": "", "last_date": ""}


@pytest.mark.parametrize("key", ["config", "state_dict", "features"])
def test_required_payload_keys_missing_are_refused_clearly(tmp_path, payload, key):
    del payload[key]
    with pytest.raises(ModelFileError) as info:
        load_model(write(tmp_path, payload))
    assert key in str(info.value) and "KeyError" not in str(info.value)


@pytest.mark.parametrize(
    "key,value", [("weights_epoch", "two"), ("weights_epoch", -1), ("data", [1]), ("config", "x"), ("state_dict", [1])]
)
def test_payload_values_of_the_wrong_type_are_refused(tmp_path, payload, key, value):
    payload[key] = value
    with pytest.raises(ModelFileError, match=key):
        load_model(write(tmp_path, payload))


def test_a_folder_is_called_a_folder(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def test_a_failed_save_names_the_path_and_the_reason_and_leaves_no_temporary(tmp_path, result, monkeypatch):
    def full(obj, fh):
        fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    target = tmp_path / "m.pt"
    with pytest.raises(ModelFileError) as info:
        save_model(target, result)
    assert str(target) in str(info.value) and "No space left on device" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_permission_denied_on_save(tmp_path, result):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ModelFileError, match="Permission denied"):
            save_model(locked / "m.pt", result)
    finally:
        locked.chmod(0o700)


def test_permission_denied_on_save_simulated(tmp_path, result, monkeypatch):
    real_open = os.open

    def denied(path, flags, mode=0o777, **kw):
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ModelFileError, match=r"m\.pt.*Permission denied"):
        save_model(tmp_path / "m.pt", result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_follow_the_umask(tmp_path, result, umask):
    old = os.umask(umask)
    try:
        path = save_model(tmp_path / f"m{umask:o}.pt", result)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporaries_are_removed_and_fresh_ones_and_other_files_kept(tmp_path, result):
    old = time.time() - 3600
    stale = [tmp_path / ".m.pt.0123456789ab.tmp", tmp_path / ".run-3.pt.abcd_123.tmp"]
    fresh = tmp_path / ".m.pt.ba9876543210.tmp"
    others = [tmp_path / "m.pt", tmp_path / "notes.tmp", tmp_path / ".hidden.tmp", tmp_path / "m.pt.0123456789ab.tmp"]
    for p in [*stale, fresh, *others]:
        p.write_bytes(b"x")
    for p in [*stale, *others]:
        os.utime(p, (old, old))
    removed = modelfile.remove_stale_temporaries(tmp_path, older_than_s=600)
    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale) and fresh.exists() and all(p.exists() for p in others)
    assert modelfile.remove_stale_temporaries(tmp_path / "absent") == []


def test_save_uses_a_recognisable_temporary_name(tmp_path, result, monkeypatch):
    seen = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: seen.append(os.path.basename(a)) or real(a, b))
    save_model(tmp_path / "m.pt", result)
    assert len(seen) == 1 and modelfile.TEMP_NAME.match(seen[0])


def test_round_trip_still_works(tmp_path, result):
    path = save_model(tmp_path / "m.pt", result)
    model, config, payload = load_model(path)
    x = torch.rand(2, SMALL.window_length, 5)
    with torch.no_grad():
        assert torch.equal(model(x), result.model(x))
    assert payload["weights_epoch"] == 2
