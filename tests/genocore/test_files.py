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
