"""Kill a command-line run with SIGKILL part-way (the resume tests of every long job)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Callable

#: ``python -c`` programs running each front end's main (or an analysis's) on the arguments after them.
MAIN = {"genostats": "import sys; from stats.cli import main; sys.exit(main(sys.argv[1:]))",
        "genomodel": "import sys; from genomodel.cli import main; sys.exit(main(sys.argv[1:]))",
        "eqtl_enrichment": "import sys; from analyses.framework import main; from analyses.eqtl_enrichment import "
                           "ANALYSIS; sys.exit(main(ANALYSIS, sys.argv[1:]))"}


def kill_after(front_end: str, argv: list, finished: Callable[[], int], k: int, *, timeout: float = 300.0,
               poll: float = 0.005) -> int:
    """Run ``front_end argv`` in a subprocess, SIGKILL it as soon as ``finished()`` (its count of finished
    units) reaches ``k`` (or after ``timeout`` s, or when it exits first); returns ``finished()`` after."""
    proc = subprocess.Popen([sys.executable, "-c", MAIN[front_end], *map(str, argv)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and finished() < k and proc.poll() is None:
        time.sleep(poll)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return finished()
