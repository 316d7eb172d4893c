"""`ridership` commands for the tests, each in its own process forked from one that has already
imported what the commands import.

A `python -m cli` process spends about 1.5 s of its 1.7 s importing torch, pandas, torchmetrics and
the engine before it reads its arguments; the suite runs some two hundred of them. Here a server
process (one per test process) imports those modules once and forks a child per command: the child
takes the command's arguments, working folder, environment and standard streams, runs `cli` as
`python -m cli` does (runpy, `__main__`), and ends the way that command ends (`engine/exit.py`),
so the test sees a real process with its own pid, exit status, output and files.

What differs from a fresh interpreter, and why it does not matter here: modules imported before
the fork saw the server's environment at import time, and none of ours or their reads it then
(every RIDERSHIP_* variable is read when used; tests/cli/test_forked_cli.py runs commands both ways
and compares); the seeds of `random` and numpy's global generator are drawn anew in each child, as
a fresh process would. ``run`` gives a command's result as subprocess.run does; ``popen`` a
command to watch, signal or read while it runs, as subprocess.Popen does (``start_new_session``
included). Tests that time a command's imports, or run it in another namespace (``unshare``,
``nsenter``), start `python -m cli` themselves. RIDERSHIP_TEST_EXEC=1 sends every command through a
fresh interpreter instead (the suite passes both ways).

Protocol (a Unix socket per command): the client sends one JSON line and the three descriptors of
the child's stdin, stdout and stderr; the server forks a minder that forks the command, sends
``pid\\n`` and later ``status\\n`` (as os.waitpid gives it). The minder exists so that the server
never waits for anything but the next connection.
"""

from __future__ import annotations

import io
import json
import locale
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What `ridership` commands import before they read their arguments (from `python -X importtime`):
# the engine's inference, training and scoring paths, the CLI, LightGBM for the reference model and
# Optuna for sweeps with its SQL storage (a sweep's command and its workers' server, a fork of the
# command, each imported it: 0.26 s of CPU apiece). Ray is left out: only its own commands pay for
# it, in the child.
PRELOAD = (
    "torch",
    "pandas",
    "torchmetrics",
    "lightgbm",
    "optuna",
    "optuna.storages._rdb.models",
    "cli.main",
    "cli.runs",
    "cli.sweep",
    "cli.journal",
    "engine.predictor",
    "engine.inference",
    "engine.session",
    "engine.training",
    "engine.scoring",
    "engine.reference",
    "engine.sweep.study",
    "engine.sweep.local",
)


# --- the server ---------------------------------------------------------------------------------


def serve(address: str) -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # minders are reaped by the kernel
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable:  # the test process ended (its end of our stdin closed)
            return
        conn, _ = listener.accept()
        try:
            message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            while not message.endswith(b"\n"):
                more = conn.recv(1 << 20)
                if not more:
                    raise OSError("the request ended early")
                message += more
            request = json.loads(message.decode())
        except (OSError, ValueError):
            conn.close()
            continue
        if os.fork() == 0:  # the minder
            listener.close()
            _mind(conn, request, fds)
        conn.close()
        for fd in fds:
            os.close(fd)


def _mind(conn: socket.socket, request: dict, fds: list[int]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        conn.close()
        try:
            _run_command(request, fds)  # ends the process itself
        except BaseException:  # before the command started (a folder that is gone): say so, exit 1
            import traceback

            traceback.print_exc()
        finally:
            os._exit(1)
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        conn.sendall(f"{status}\n".encode())
    finally:
        os._exit(0)


def _run_command(request: dict, fds: list[int]) -> None:
    """In the child: become `python -m cli ARGS` in the request's folder and environment."""
    import random
    import runpy
    import traceback

    import numpy

    if request.get("session"):  # start_new_session: Ctrl+C or killpg reach it and what it starts
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:  # stdout and stderr may be one pipe
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
    # Streams as a fresh interpreter opens them on files or pipes: stdout block-buffered unless
    # PYTHONUNBUFFERED, stderr line-buffered, with the server's encoding.
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding, errors)
    stdout = io.BufferedWriter(io.FileIO(1, "w", closefd=False))
    sys.stdout = io.TextIOWrapper(stdout, encoding, errors, write_through=unbuffered)
    stderr = io.BufferedWriter(io.FileIO(2, "w", closefd=False))
    sys.stderr = io.TextIOWrapper(stderr, encoding, "backslashreplace", line_buffering=True, write_through=unbuffered)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    signal.signal(signal.SIGINT, signal.default_int_handler)
    random.seed()
    numpy.random.seed()
    sys.argv = ["-m", *request["args"]]
    code = 0
    try:
        runpy.run_module("cli", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:  # what the interpreter does with it at the top level
        if exit_.code is None:
            code = 0
        elif isinstance(exit_.code, int):
            code = exit_.code
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    from engine.exit import exit_now

    exit_now(code)


# --- the client ---------------------------------------------------------------------------------


class _Server:
    """This test process's server, started at the first command and ended by ``stop``."""

    process: subprocess.Popen | None = None
    address: str | None = None
    folder: tempfile.TemporaryDirectory | None = None

    @classmethod
    def get(cls) -> str:
        if cls.process is None or cls.process.poll() is not None:
            cls.folder = tempfile.TemporaryDirectory(prefix="forked-cli-")
            cls.address = os.path.join(cls.folder.name, "socket")
            cls.process = subprocess.Popen(
                [sys.executable, __file__, cls.address],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.PIPE,  # never written: its end closing tells the server to end
                stdout=subprocess.PIPE,
                text=True,
            )
            line = cls.process.stdout.readline()
            if line.strip() != "ready":
                cls.stop()
                raise RuntimeError(f"the forked-cli server did not start (it printed {line!r})")
        return cls.address

    @classmethod
    def stop(cls) -> None:
        if cls.process is not None:
            if cls.process.poll() is None:
                cls.process.kill()  # by its pid; its minders and commands have ended with their tests
            cls.process.wait()
            cls.process.stdout.close()
            cls.process.stdin.close()
            cls.process = None
        if cls.folder is not None:
            cls.folder.cleanup()
            cls.folder = None


stop_server = _Server.stop


def server_pid() -> int | None:
    """The pid of this process's server, if it has one running (a child of this process)."""
    return _Server.process.pid if _Server.process is not None and _Server.process.poll() is None else None


def run(
    args: list[str],
    *,
    cwd: Path | str = ROOT,
    env: dict | None = None,
    input: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``python -m cli ARGS`` with text output captured, as subprocess.run would give it."""
    args = [str(a) for a in args]
    env = dict(os.environ if env is None else env)
    if os.environ.get("RIDERSHIP_TEST_EXEC"):
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=cwd,
            env=env,
            input=input,
            text=True,
            capture_output=True,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    address = _Server.get()
    # stdout and stderr are pipes, as subprocess.run gives them (a command may write to /dev/stdout,
    # or meet a closed reader); stdin is a file (empty without input).
    with tempfile.TemporaryFile() as stdin:
        if input is not None:
            stdin.write(input.encode())
            stdin.seek(0)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        request = json.dumps({"args": args, "cwd": str(cwd), "env": env}).encode() + b"\n"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.connect(address)
                socket.send_fds(conn, [request], [stdin.fileno(), out_w, err_w])
            finally:
                os.close(out_w)
                os.close(err_w)
            output, status = _collect(conn, out_r, err_r, time.monotonic() + timeout)
    if status is None:  # timed out: end the command, as subprocess.run does
        raise subprocess.TimeoutExpired(["ridership", *args], timeout, _text(output[out_r]), _text(output[err_r]))
    code = os.waitstatus_to_exitcode(status)
    return subprocess.CompletedProcess(["ridership", *args], code, _text(output[out_r]), _text(output[err_r]))


class Popen(subprocess.Popen):
    """``python -m cli ARGS`` forked by this process's server, watched as subprocess.Popen watches a
    child of its own: the same pipes, text mode, ``communicate``, ``send_signal``, ``wait`` and
    return code; ``start_new_session`` makes it a session (and process group) leader. Only the
    start and the wait differ: the command's parent is the server's minder, which reports its pid
    and later its exit status on a socket. For tests that signal a command or read it while it
    runs; ``popen`` gives a fresh interpreter instead under RIDERSHIP_TEST_EXEC."""

    def __init__(self, args: list, **kwargs) -> None:
        self._answer = b""
        self._conn: socket.socket | None = None
        super().__init__(["ridership", *(str(a) for a in args)], **kwargs)

    def _execute_child(
        self,
        args,
        executable,
        preexec_fn,
        close_fds,
        pass_fds,
        cwd,
        env,
        startupinfo,
        creationflags,
        shell,
        p2cread,
        p2cwrite,
        c2pread,
        c2pwrite,
        errread,
        errwrite,
        restore_signals,
        gid,
        gids,
        uid,
        umask,
        start_new_session,
        *_,  # process_group (Python 3.11+)
    ) -> None:
        if preexec_fn is not None or pass_fds or shell or executable is not None:
            raise ValueError("a forked command takes no preexec_fn, pass_fds, shell or executable")
        fds = [p2cread, c2pwrite, errwrite]
        fds = [fd if fd != -1 else target for target, fd in enumerate(fds)]  # -1: this process's own
        request = {
            "args": list(args[1:]),
            "cwd": str(cwd if cwd is not None else os.getcwd()),
            "env": dict(os.environ if env is None else env),
            "session": bool(start_new_session),
        }
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(_Server.get())
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], fds)
        except BaseException:
            conn.close()
            raise
        finally:
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
        self._conn = conn
        while b"\n" not in self._answer:
            self._receive(None)
        self.pid = int(self._answer.split(b"\n")[0])
        self._child_created = True

    def _receive(self, timeout: float | None) -> None:
        """Read what the minder says within ``timeout`` (None: until it says something)."""
        if not select.select([self._conn], [], [], timeout)[0]:
            return
        data = self._conn.recv(4096)
        if not data:
            self._conn.close()
            self._conn = None
            if self._answer.count(b"\n") < 2:
                raise RuntimeError(f"lost the forked command (the server answered {self._answer!r})")
        self._answer += data
        if self._answer.count(b"\n") >= 2 and self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(int(self._answer.split(b"\n")[1]))

    def _internal_poll(self, _deadstate=None, **_) -> int | None:
        if self.returncode is None and self._conn is not None:
            self._receive(0)
        return self.returncode

    def _wait(self, timeout: float | None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self._receive(left)
        return self.returncode


def popen(args: list, **kwargs) -> subprocess.Popen:
    """``python -m cli ARGS`` as subprocess.Popen starts it (``cwd`` the repository's root unless
    given): forked by the server (Popen above), or a fresh interpreter under RIDERSHIP_TEST_EXEC."""
    kwargs.setdefault("cwd", ROOT)
    if os.environ.get("RIDERSHIP_TEST_EXEC"):
        return subprocess.Popen([sys.executable, "-m", "cli", *(str(a) for a in args)], **kwargs)
    return Popen(args, **kwargs)


def _collect(conn: socket.socket, out_r: int, err_r: int, deadline: float) -> tuple[dict, int | None]:
    """Read the command's output until both pipes close and its status arrives (None: the deadline
    passed first, and the command was killed). The minder answers ``pid\n`` then ``status\n``."""
    output = {out_r: b"", err_r: b""}
    answer = b""
    with selectors.DefaultSelector() as selector:
        for fd in output:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(conn, selectors.EVENT_READ)
        try:
            while selector.get_map().keys() - {conn.fileno()} or answer.count(b"\n") < 2:
                left = deadline - time.monotonic()
                if left <= 0:
                    if b"\n" in answer:
                        _kill(int(answer.split(b"\n")[0]))
                    return output, None
                for key, _ in selector.select(left):
                    if key.fileobj is not conn:
                        data = os.read(key.fd, 1 << 16)
                        output[key.fd] += data
                        if not data:
                            selector.unregister(key.fd)
                            os.close(key.fd)
                    elif data := conn.recv(4096):
                        answer += data
                    else:
                        selector.unregister(conn)
                        if answer.count(b"\n") < 2:  # the minder is gone without the status
                            raise RuntimeError(f"lost the forked command (the server answered {answer!r})")
            return output, int(answer.split(b"\n")[1])
        finally:
            for fd in selector.get_map().keys() - {conn.fileno()}:
                os.close(fd)


def _text(data: bytes) -> str:
    """As subprocess.run(text=True) decodes: the locale's encoding, universal newlines."""
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.path[0] = str(ROOT)  # as `python -m cli` run from the repository root has it, not tests/
    serve(sys.argv[1])
