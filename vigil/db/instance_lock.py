"""One running service per database: a PostgreSQL advisory lock, or a file lock beside a SQLite database."""
from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from vigil.errors import VigilError
from vigil.redact import redact_url


class InstanceLockedError(VigilError):
    """Another Vigil service already runs on this database."""


def _pg_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"vigil-instance:{name}".encode()).digest()[:8], "big", signed=True)


class InstanceLock:
    """`acquire()` or raise InstanceLockedError; held until `release()` or the process ends (even by SIGKILL:
    the kernel drops the file lock, PostgreSQL the session's advisory lock)."""

    def __init__(self, engine: Engine, data_dir: Path):
        self.engine = engine
        self.data_dir = Path(data_dir)
        self._conn: Any = None  # the PostgreSQL connection whose session holds the advisory lock
        self._fd: int | None = None
        self._lost = False

    def acquire(self) -> "InstanceLock":
        url = self.engine.url
        shown = redact_url(str(url))
        if url.get_backend_name() == "sqlite":
            path = Path(url.database).resolve() if url.database and url.database != ":memory:" else \
                self.data_dir / "vigil.db"
            lock_path = path.with_name(path.name + ".instance.lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise InstanceLockedError(f"database {shown}: another `vigil serve` (pid {holder}) already runs on "
                                          f"it; expected one instance per database (lock {lock_path})") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._fd = fd
            return self
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _pg_key(url.database or "")}).scalar()
        conn.commit()
        if not got:
            found = conn.execute(text(
                "SELECT a.pid, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1")).first()
            conn.close()
            who = f"backend pid {found[0]} from {found[1] or 'local socket'}" if found else "another session"
            raise InstanceLockedError(f"database {shown}: another `vigil serve` already runs on it ({who}); "
                                      f"expected one instance per database (PostgreSQL advisory lock)")
        self._conn, self._key = conn, _pg_key(url.database or "")
        return self

    def check(self) -> str | None:
        """None while the lock is held; after a PostgreSQL restart (the lock's session gone) take it again. What is
        wrong otherwise: the database unreachable (nobody else can take it then either), or another instance."""
        if self._fd is not None or (self._conn is None and not self._lost):
            return None  # a file lock cannot be lost; or never taken
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return None
            except Exception:  # noqa: BLE001 - the session is gone (a restart): take the lock again below
                try:
                    self._conn.invalidate()
                    self._conn.close()
                except Exception:  # noqa: BLE001
                    pass
                self._conn, self._lost = None, True
        try:
            self.acquire()
        except InstanceLockedError as e:
            return str(e)
        except Exception as e:  # noqa: BLE001 - unreachable: retried at the next check
            return f"instance lock: database unreachable ({str(e).splitlines()[0][:200]})"
        self._lost = False
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:  # closing only returns the connection to the pool, where the session (and lock) would live on
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                self._conn.commit()
                self._conn.close()
            except Exception:  # noqa: BLE001 - the server may be gone; its session (and lock) went with it
                pass
            self._conn = None
