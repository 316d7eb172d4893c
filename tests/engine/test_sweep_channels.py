"""engine/sweep/channels.py: a sweep process killed at any moment leaves nothing held that the others
wait for (multiprocessing's locks stay held by a dead process: a suite run hung on that)."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading

from engine.sweep.channels import Flag, ProcessLock


def _take_and_die(lock: ProcessLock, taken) -> None:
    lock.__enter__()
    taken.send("taken")
    os._exit(9)  # dies holding it, as a worker killed mid-ask would


def test_the_ask_lock_is_free_again_once_its_holder_dies(tmp_path):
    ctx = mp.get_context("spawn")
    lock = ProcessLock(str(tmp_path / "asks.lock"))
    taken_in, taken_out = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_take_and_die, args=(lock, taken_out))
    child.start()
    assert taken_in.recv() == "taken"
    child.join()
    assert child.exitcode == 9
    got = threading.Event()

    def take() -> None:
        with lock:
            got.set()

    waiter = threading.Thread(target=take, daemon=True)
    waiter.start()
    waiter.join(timeout=120)  # bounds a hang; it takes the lock at once when the kernel freed it
    assert got.is_set()


def _set(flag: Flag) -> None:
    flag.set()


def test_the_stop_flag_set_in_one_process_is_seen_in_another():
    ctx = mp.get_context("spawn")
    flag = Flag(ctx)
    assert not flag.is_set()
    child = ctx.Process(target=_set, args=(flag,))
    child.start()
    child.join()
    assert flag.is_set()
