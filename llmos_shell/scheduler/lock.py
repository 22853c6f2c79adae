"""One scheduler per job store: a lock that only the running daemon holds.

Two APScheduler schedulers on one store run every job twice, silently. So the daemon holds a
lock on the store itself for as long as it runs: an OS file lock beside a SQLite file, a
session-level advisory lock for PostgreSQL (held by one open connection). The operating system
or the database frees it when the process dies, even by `kill -9`, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from llmos_shell.scheduler.store import get_engine, sqlite_path

# A fixed 64-bit key: "llmosjob" in ASCII. Every llmos daemon on a database uses it.
ADVISORY_KEY = int.from_bytes(b"llmosjob", "big") & 0x7FFFFFFFFFFFFFFF


class StoreLock:
    """The lock of one job store; `acquire` never waits."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._fd: int | None = None
        self._connection: Any = None

    @property
    def lock_file(self) -> Path | None:
        """The file locked for a SQLite store."""
        path = sqlite_path(self.url)
        return None if path is None else path.with_name(path.name + ".lock")

    def acquire(self) -> bool:
        """Take the lock if no one holds it; False when another process does."""
        lock_file = self.lock_file
        if lock_file is not None:
            import fcntl

            lock_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        import sqlalchemy as sa

        connection = get_engine(self.url).connect()
        try:
            got = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        """Whether the lock is still ours (a PostgreSQL connection can drop)."""
        if self._fd is not None:
            return True
        if self._connection is None:
            return False
        import sqlalchemy as sa

        try:
            self._connection.execute(sa.text("SELECT 1")).scalar()
            self._connection.commit()
        except Exception:
            return False
        return True

    def release(self) -> None:
        """Give the lock back."""
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._connection is not None:
            import sqlalchemy as sa

            try:
                self._connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._connection.commit()
            except Exception:
                pass  # closing the connection frees the lock as well
            self._connection.close()
            self._connection = None


def held_elsewhere(url: str) -> bool:
    """Whether some process (a daemon) holds the store's lock now."""
    lock = StoreLock(url)
    if lock.acquire():
        lock.release()
        return False
    return True
