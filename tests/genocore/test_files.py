import gzip

import pytest

from genocore.files import atomic_path, sha256, write_text
from genocore.provenance import record


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_gz_is_deterministic(tmp_path):
    a = write_text(tmp_path / "a.txt.gz", "x\ty\n1\t2\n")
    b = write_text(tmp_path / "b.txt.gz", "x\ty\n1\t2\n")
    assert sha256(a) == sha256(b)
    assert gzip.open(a, "rt").read() == "x\ty\n1\t2\n"


def test_provenance_has_version_and_hashes(tmp_path):
    f = write_text(tmp_path / "in.txt", "data")
    rec = record(command=["genostats", "x"], inputs={"in": f}, genome_build="simworld1")
    assert rec["version"] and rec["inputs"]["in"]["sha256"] == sha256(f) and rec["command"] == "genostats x"


@pytest.mark.parametrize("mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_follow_the_umask(tmp_path, mask, file_mode, dir_mode):
    import os
    import stat

    from genocore.files import atomic_dir, current_umask

    old = os.umask(mask)
    try:
        assert current_umask() == mask
        f = write_text(tmp_path / "t.tsv", "a\n")
        with atomic_dir(tmp_path / "folder") as d:
            write_text(d / "inner.txt", "b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == dir_mode
    assert stat.S_IMODE((tmp_path / "folder" / "inner.txt").stat().st_mode) == file_mode
