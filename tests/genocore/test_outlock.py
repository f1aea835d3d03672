"""A second run on an output in use stops at once; a killed run's lock is taken over."""
from __future__ import annotations

import subprocess
import sys

import pytest

from genocore.outlock import OutputLocked, output_lock


def test_lock_held_refused_released_and_stale_taken_over(tmp_path, caplog):
    out = tmp_path / "res"
    with output_lock(out) as lock:
        assert lock.exists()
        with pytest.raises(OutputLocked, match="being written by another run"):
            with output_lock(out):
                pass
    assert not lock.exists()
    with pytest.raises(RuntimeError):
        with output_lock(out):
            raise RuntimeError("the command failed")
    assert not lock.exists()  # removed on failure too
    # a run killed with SIGKILL leaves its lock: the next run takes it over
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    import socket

    lock.write_text(f"{socket.gethostname()} {p.pid}\n")
    with pytest.raises(OutputLocked, match=f"process {p.pid}"):
        with output_lock(out):
            pass
    p.kill()
    p.wait()
    with output_lock(out):
        assert "stale lock" in caplog.text
    assert not lock.exists()


def test_a_second_command_on_the_same_out_exits_2(tmp_path, caplog):
    from stats import cli

    out = tmp_path / "ld"
    with output_lock(out):
        assert cli.main(["ldscore", "--bfile", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "is being written by another run" in caplog.text


def test_folders_made_for_the_lock_go_when_nothing_was_written(tmp_path):
    with pytest.raises(ValueError):
        with output_lock(tmp_path / "a" / "b" / "out"):
            raise ValueError("bad input")
    assert not (tmp_path / "a").exists()
    with output_lock(tmp_path / "c" / "out") as lock:
        (lock.parent / "out").write_text("result")
    assert (tmp_path / "c" / "out").read_text() == "result" and not lock.exists()
