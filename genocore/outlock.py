"""One run per output: a lock file beside a command's ``--out`` while it runs.

A second command writing the same output would interleave files, or replace a folder the first is
still filling. :func:`output_lock` creates ``<out>.lock`` exclusively (``O_EXCL``, so two processes
cannot both win) holding the owner's host and process id, and removes it on exit, whether the command
succeeded or failed. A lock whose process on this host is gone (a run killed with SIGKILL) is stale:
it is taken over with a warning.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["output_lock", "OutputLocked"]


class OutputLocked(FileExistsError):
    """Another live run holds the output's lock."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def _take(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{socket.gethostname()} {os.getpid()}\n")
    return True


@contextlib.contextmanager
def output_lock(out):
    """Hold ``<out>.lock`` for the duration of the block.

    Raises
    ------
    OutputLocked
        A live process holds it (named, with its host and pid).
    """
    out = Path(out)
    lock = out.with_name(out.name + ".lock")
    made = [p for p in [lock.parent, *lock.parent.parents] if not p.exists()]
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield from _held(out, lock)
    finally:
        for p in made:  # folders made only to hold the lock go again when the run left nothing in them
            with contextlib.suppress(OSError):
                p.rmdir()


def _held(out: Path, lock: Path):
    if not _take(lock):
        try:
            host, pid = lock.read_text().split()
            pid = int(pid)
        except (OSError, ValueError):
            host, pid = "?", -1
        if host == socket.gethostname() and pid > 0 and not _alive(pid):
            logger.warning("%s: taking over a stale lock of process %d (no longer running)", lock, pid)
            lock.unlink(missing_ok=True)
            if not _take(lock):
                raise OutputLocked(f"{out}: another run took the lock {lock} just now")
        else:
            raise OutputLocked(f"{out} is being written by another run (process {pid} on {host}, lock {lock}); "
                               "wait for it to finish, choose another --out, or delete the lock if no such run "
                               "is left")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)
