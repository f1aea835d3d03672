"""Reading FASTA: plain and bgzipped, never writing beside the user's file."""
from __future__ import annotations

import gzip
import os
import stat

import numpy as np
import pytest

from genomodel import dna
from genomodel.io.fasta import open_fasta, write_fasta


@pytest.fixture()
def seqs():
    rng = np.random.default_rng(0)
    return {"chr1": rng.integers(0, 4, 5000).astype(np.uint8), "chr2": rng.integers(0, 4, 777).astype(np.uint8)}


def _bgzip(src, dst):
    from Bio import bgzf

    with open(src, "rb") as fh, bgzf.BgzfWriter(str(dst), "wb") as out:
        out.write(fh.read())


def test_plain_and_bgzipped_read_the_same_and_nothing_is_written_beside(seqs, tmp_path, monkeypatch):
    monkeypatch.setenv("GENOSUITE_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "made.fa"
    write_fasta(src, seqs)  # with its .fai
    user = tmp_path / "user"
    user.mkdir()
    plain = user / "g.fa"
    plain.write_bytes(src.read_bytes())  # no index beside it
    bgz = user / "g.fa.gz"
    _bgzip(src, bgz)
    os.chmod(user, stat.S_IRUSR | stat.S_IXUSR)  # a read-only folder, as a shared reference would be
    try:
        for path in (plain, bgz):
            fa = open_fasta(path)
            assert {k: len(v) for k, v in fa.items()} == {"chr1": 5000, "chr2": 777}
            np.testing.assert_array_equal(dna.encode(fa["chr1"][100:900]), seqs["chr1"][100:900])
            np.testing.assert_array_equal(dna.encode(fa["chr2"][:]), seqs["chr2"])
        assert sorted(p.name for p in user.iterdir()) == ["g.fa", "g.fa.gz"]
        assert any(p.suffix == ".gzi" for p in (tmp_path / "cache" / "fasta_index").iterdir())
    finally:
        os.chmod(user, stat.S_IRWXU)
    # an index the user has beside the FASTA is used as it is
    assert open_fasta(src).faidx.indexname == str(src) + ".fai"


def test_plain_gzip_is_read_through_a_cached_copy_and_a_missing_file_is_named(seqs, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("GENOSUITE_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "g.fa"
    write_fasta(src, seqs)
    user = tmp_path / "user"
    user.mkdir()
    gz = user / "hg.fa.gz"  # as UCSC ships hg38.fa.gz: gzip, not bgzip
    gz.write_bytes(gzip.compress(src.read_bytes()))
    fa = open_fasta(gz)
    np.testing.assert_array_equal(dna.encode(fa["chr1"][10:700]), seqs["chr1"][10:700])
    assert "decompressing it once" in caplog.text and [p.name for p in user.iterdir()] == ["hg.fa.gz"]
    caplog.clear()
    open_fasta(gz)  # the copy is reused
    assert "decompressing" not in caplog.text
    with pytest.raises(FileNotFoundError, match="nope.fa"):
        open_fasta(tmp_path / "nope.fa")
