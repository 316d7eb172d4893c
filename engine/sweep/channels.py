"""What a local sweep's processes share, built so that a process killed at any moment (SIGKILL, the
OOM killer, a crash in a trial) cannot leave the others waiting for ever.

multiprocessing's Queue, Lock and Event each rest on a semaphore that a process killed while holding
it never gives back: a worker that died while its queue's feeder thread was writing an event left
every other worker, and then the sweep, blocked for good (seen: a suite run hung on the crash test).
Here instead:
- each worker has its own one-way pipes (events to the driver, its budget from it): one writer
  and one reader each, so no lock; a writer's death is an end of file for the reader;
- the lock that orders the study's asks is an flock on a file, which the kernel releases when
  its holder dies;
- the stop flag is a byte in shared memory, read and written without a lock.
"""

from __future__ import annotations

import fcntl
import os


class ProcessLock:
    """A lock between processes that is released when its holder dies (``flock`` on ``path``).
    Pickled by path: each process opens the file itself, since an flock belongs to the open file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_fd": None}

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def __enter__(self) -> ProcessLock:
        fcntl.flock(self._file(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._file(), fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Flag:
    """A shared yes/no (the sweep's stop) without a lock: one byte that only ever goes from 0 to 1."""

    def __init__(self, ctx) -> None:
        self._value = ctx.Value("b", 0, lock=False)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)
