"""Logging set-up for command-line entry points (libraries only ever call ``getLogger``)."""
from __future__ import annotations

import contextlib
import logging
import os

SUITE_LOGGERS = ("genocore", "genomodel", "stats", "analyses", "__main__")


def configure(verbosity: int = 0) -> None:
    """Log the suite at INFO (``verbosity`` >= 1: DEBUG) and other libraries at WARNING.

    Third-party packages that log every step (msprime, bed-reader) stay quiet unless asked, and so
    does TensorFlow's C++ start-up chatter (CPU instruction sets, oneDNN notes) below ``-vv``; this
    must run before TensorFlow is first imported, which the command-line entry points ensure.
    """
    if verbosity < 2:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    level = logging.DEBUG if verbosity >= 1 else logging.INFO
    for name in SUITE_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if verbosity >= 2:
        logging.getLogger().setLevel(logging.DEBUG)


BAD_INPUT = (ValueError, KeyError, FileNotFoundError, FileExistsError)


def _stop_errors():
    from genocore.files import DiskFullError

    return BAD_INPUT + (DiskFullError,)


def run_command(runner, args, *, verbosity: int = 0) -> int:
    """Run a command's ``runner(args)``; bad input, or a full disk, becomes one logged line and exit status 2.

    The libraries raise these errors with a message that names the file and record; a traceback
    would only hide it (``-vv`` re-raises, for debugging). A command with ``--out`` holds its lock
    (:func:`genocore.outlock.output_lock`) while it runs: a second run on the same output stops at once.
    """
    from genocore.outlock import output_lock

    out = getattr(args, "out", None)
    try:
        with output_lock(out) if out is not None else contextlib.nullcontext():
            return runner(args)
    except _stop_errors() as err:
        if verbosity > 1:
            raise
        logging.getLogger("__main__").error("%s", err.args[0] if isinstance(err, KeyError) and err.args else err)
        return 2
