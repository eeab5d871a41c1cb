"""The daemon's files in `state_dir`: the instance lock and the heartbeat (read by `nova status`).

One daemon per warehouse: the lock file is named after the warehouse URL and held with flock, so
the kernel releases it when the process dies however it dies; a later daemon then takes over the
stale file. The file's content says who holds it (pid, host, start).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any

from config import Settings
from nova.errors import Exit, NovaError
from warehouse import clock


def instance_key(settings: Settings) -> str:
    return hashlib.sha1(settings.warehouse_url.encode()).hexdigest()[:10]


def lock_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / f"daemon-{instance_key(settings)}.lock"


def heartbeat_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / f"daemon-{instance_key(settings)}.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


class DaemonLock:
    def __init__(self, settings: Settings):
        self.path = lock_path(settings)
        self.settings = settings
        self.fd: int | None = None
        self.previous: dict[str, Any] | None = None  # the content of a stale lock taken over

    def acquire(self) -> dict[str, Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            who = _read_json(self.path) or {}
            raise NovaError(
                f"a daemon already runs for this warehouse: pid {who.get('pid', '?')} on host "
                f"{who.get('host', '?')}, started {who.get('started_at', '?')} (lock {self.path})",
                hint="`nova status` shows what it is doing; stop it with SIGTERM (kill PID) before starting another",
                code=Exit.CONFIG) from None
        self.previous = _read_json(self.path)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": clock.now().isoformat(),
                "warehouse_url": self.settings.warehouse_url}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self.fd = fd
        return info

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
        self.fd = None


def holder(settings: Settings) -> dict[str, Any] | None:
    """Who holds the daemon lock now (None when no daemon runs for this warehouse)."""
    path = lock_path(settings)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_json(path) or {"pid": None}
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def write_heartbeat(settings: Settings, data: dict[str, Any]) -> None:
    path = heartbeat_path(settings)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str, indent=1))
    os.replace(tmp, path)


def read_heartbeat(settings: Settings) -> dict[str, Any] | None:
    return _read_json(heartbeat_path(settings))
