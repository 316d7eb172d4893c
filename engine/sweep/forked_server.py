"""The workers' server (multiprocessing's forkserver) as a fork of the sweep's own process.

multiprocessing starts its forkserver as a fresh interpreter (``python -c "from
multiprocessing.forkserver import main; main(...)"``) that then imports the training path: about
1.9 s of CPU (torch, Optuna's SQL storage, the engine) per sweep, measured, on top of the interpreter
and of what the sweep's process had imported already (pandas, Optuna). Forked instead of executed,
the server is a copy of the sweep's process and imports only what that had not: a `ridership sweep`
in a fresh interpreter has not imported torch by then (its server still does, the same CPU as
before), a command forked from a process that had (the tests' commands) has it all. It runs the
same ``main`` with the same descriptors: the protocol, the workers it forks, and how it ends (with
the last holder of its "alive" pipe) are multiprocessing's own.

Only where a fork is safe: this process's only Python thread is the main one (the CLI's; not the
app's, whose threads could hold a lock the copy would never see released), CUDA is not set up in it
(a forked copy cannot use it; the sweep's process never picks the device, its workers do), and it
holds no file open (an SQLite database open across a fork is corrupted by the copy's writes; the
CLI starts the server with its run store closed). Elsewhere the server is started the usual way.
"""

from __future__ import annotations

import gc
import os
import stat
import sys
import threading
from contextlib import contextmanager

# What tells the forked server from the sweep's process in `top` and `ps -o comm` (a fork keeps the
# command line).
SERVER_NAME = "sweep-server"


def fork_is_safe() -> bool:
    if not sys.platform.startswith("linux") or threading.enumerate() != [threading.main_thread()]:
        return False
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return False
    return not _files_open()


def _files_open() -> bool:
    """Whether this process holds a file open (beyond its standard streams): an SQLite database's
    copy in a fork shares SQLite's record of the parent's open files and locks, and writing
    through it corrupts the database (seen: "database disk image is malformed")."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return True
    for fd in fds:
        if fd <= 2:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return True
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return False


@contextmanager
def servers_forked():
    """While held, multiprocessing starts its forkserver by forking this process (see the module's
    text). Only the forkserver's start is changed; any other helper starts as usual."""
    from multiprocessing import util

    spawn = util.spawnv_passfds

    def start(path, args, passfds):
        if not _is_forkserver(args):
            return spawn(path, args, passfds)
        return _fork_and_run(args[-1], passfds)

    util.spawnv_passfds = start
    try:
        yield
    finally:
        util.spawnv_passfds = spawn


def _is_forkserver(args) -> bool:
    return len(args) >= 2 and args[-2] == "-c" and "multiprocessing.forkserver" in args[-1]


def _fork_and_run(code: str, passfds) -> int:
    """Fork; the child keeps only standard input, output, error and ``passfds`` open (what the
    executed server would have), runs ``code`` (the server's ``main``) and exits with it."""
    for stream in (sys.stdout, sys.stderr):  # else the copy's buffered text would be written twice
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        # Objects of the parent are never freed here: one owning a descriptor closed below would
        # close whatever the server later opens under that number.
        gc.freeze()
        keep = {0, 1, 2, *map(int, passfds)}
        for name in os.listdir("/proc/self/fd"):
            if int(name) not in keep:
                try:
                    os.close(int(name))
                except OSError:  # the listing's own descriptor, already closed
                    pass
        set_name(SERVER_NAME)
        from multiprocessing import forkserver

        forkserver._forkserver._lock = threading.Lock()  # held by the parent's ensure_running as it forked
        exec(code, {"__name__": "__forkserver__"})
        status = 0
    except SystemExit as end:  # how the server's loop ends: the last holder of its pipe is gone
        status = end.code if isinstance(end.code, int) else 0
    finally:
        os._exit(status)  # no teardown: the parent's atexit work and buffers are the parent's


def set_name(name: str) -> None:
    """This process's name as `top` shows it (Linux; at most 15 bytes)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass
