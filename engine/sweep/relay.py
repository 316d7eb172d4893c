"""A trial's record sent back to the sweep's driver instead of written to the run store.

On a Ray cluster a trial runs on a node that does not share the driver's disk. ``RelayStore`` is
what engine.session needs of a RunStore there: every write becomes a plain message (the epochs, the
device, the end of the run with its scores) and the checkpoint files it writes into a scratch
folder travel as bytes. The driver polls ``take()`` and replays the messages on the real store
(``apply``), under the run id it recorded before the trial started.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any


class RelayStore:
    path = None  # the run is recorded elsewhere; engine.session only passes this through

    def __init__(self, run_id: int, folder: str | Path) -> None:
        self.run_id = run_id
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._shipped: int | None = None  # mtime_ns of the checkpoint last sent

    def _put(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._messages.append(message)

    # -- what engine.session calls ------------------------------------------------------------
    def start_run(self, config, data, device: str, *, device_name: str = "", **_: Any) -> int:
        self._put({"op": "device", "device": device, "device_name": device_name})
        return self.run_id

    def log_epochs(self, run_id: int, events) -> None:
        self._put({"op": "epochs", "events": [asdict(e) for e in events]})

    def get_run(self, run_id: int, with_epochs: bool = False):
        """engine.session.resume_run's view of the run a resumed trial continues: its checkpoint,
        shipped by the driver into this folder as ``parent-ID.pt``."""
        from types import SimpleNamespace

        return SimpleNamespace(
            run_id=run_id, checkpoint=self.folder / f"parent-{run_id}.pt", status="interrupted", reason=""
        )

    def checkpoint_path(self, run_id: int) -> Path:
        return self.folder / f"{run_id}.pt"

    def set_checkpoint(self, run_id: int, path) -> None:
        pass  # take() ships the file whenever it changed

    def finish_run(
        self,
        run_id: int,
        status: str,
        reason: str = "",
        *,
        scores: dict | None = None,
        checkpoint=None,
        best_epoch=None,
        best_valid_mae=None,
        weights_epoch=None,
    ) -> None:
        scores = {k: (v.to_dict() if hasattr(v, "to_dict") else dict(v)) for k, v in (scores or {}).items()}
        self._put(
            {
                "op": "finish",
                "status": status,
                "reason": reason,
                "scores": scores,
                "checkpoint": checkpoint is not None,
                "best_epoch": best_epoch,
                "best_valid_mae": best_valid_mae,
                "weights_epoch": weights_epoch,
            }
        )

    # -- what the driver collects -------------------------------------------------------------
    def take(self) -> list[dict[str, Any]]:
        """The messages since the last call; the checkpoint first when it changed (a finish that
        names it must find it written)."""
        with self._lock:
            messages, self._messages = self._messages, []
        path = self.checkpoint_path(self.run_id)
        try:
            stamp = os.stat(path).st_mtime_ns
            if stamp != self._shipped:
                data = path.read_bytes()  # written atomically (tmp + rename): always whole
                self._shipped = stamp
                messages.insert(0, {"op": "checkpoint", "bytes": data})
        except FileNotFoundError:
            pass
        return messages


def apply(store, run_id: int, messages: list[dict[str, Any]]) -> list:
    """Replay a trial's messages on the real store; returns the EpochEvents among them."""
    from ..events import event_from_dict

    epochs = []
    for m in messages:
        op = m["op"]
        if op == "device":
            with store._write() as conn:
                conn.execute(
                    "UPDATE runs SET device = ?, device_name = ? WHERE id = ?", (m["device"], m["device_name"], run_id)
                )
        elif op == "epochs":
            events = [event_from_dict(e) for e in m["events"]]
            store.log_epochs(run_id, events)
            epochs += events
        elif op == "checkpoint":
            _write_checkpoint(store, run_id, m["bytes"])
        elif op == "finish":
            path = store.checkpoint_path(run_id)
            store.finish_run(
                run_id,
                m["status"],
                m["reason"],
                scores=m["scores"],
                checkpoint=path if m["checkpoint"] and path.exists() else None,
                best_epoch=m["best_epoch"],
                best_valid_mae=m["best_valid_mae"],
                weights_epoch=m["weights_epoch"],
            )
    return epochs


def _write_checkpoint(store, run_id: int, data: bytes) -> None:
    import tempfile

    path = store.checkpoint_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{run_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    store.set_checkpoint(run_id, path)
