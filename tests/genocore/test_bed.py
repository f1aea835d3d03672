"""The one BED reader: 0-based half-open intervals, names, line numbers, clear errors."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from genocore.bed import BED_COLUMNS, read_bed


def test_intervals_names_and_lines(tmp_path):
    p = tmp_path / "r.bed"
    p.write_text("track name=x\n# a comment\nchr1\t0\t100\tfirst region\t0\t+\n\nchr2\t50\t60\n")
    bed = read_bed(p)
    assert list(bed.columns) == list(BED_COLUMNS)
    assert bed.values.tolist() == [["chr1", 0, 100, "first region", 3], ["chr2", 50, 60, "chr2:50-60", 5]]
    assert bed["start"].dtype == np.int64 and bed["line"].dtype == np.int64
    gz = tmp_path / "r.bed.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert read_bed(gz).equals(bed)
    spaces = tmp_path / "s.bed"
    spaces.write_text("chr1 5 9\n")
    assert read_bed(spaces)[["chrom", "start", "end"]].values.tolist() == [["chr1", 5, 9]]


def test_empty_and_bad_files(tmp_path):
    empty = tmp_path / "e.bed"
    empty.write_text("# nothing\n")
    assert read_bed(empty).empty and list(read_bed(empty).columns) == list(BED_COLUMNS)
    with pytest.raises(FileNotFoundError):
        read_bed(tmp_path / "absent.bed")
    bad = tmp_path / "b.bed"
    bad.write_text("chr1\t1\t2\nchr1\tx\t5\n")
    with pytest.raises(ValueError, match="line 2.*not integers"):
        read_bed(bad)
    short = tmp_path / "c.bed"
    short.write_text("chr1\t1\n")
    with pytest.raises(ValueError, match="line 1.*chrom start end"):
        read_bed(short)


def test_genomodel_readers_use_it(tmp_path):
    from genomodel.data import read_bed as data_read_bed
    from genomodel.io.tfrecord import read_sequences_bed

    p = tmp_path / "sequences.bed"
    p.write_text("chr1\t0\t4096\ttrain\nchr2\t10\t4106\ttest\n")
    assert read_sequences_bed(tmp_path).values.tolist() == [["chr1", 0, 4096, "train"], ["chr2", 10, 4106, "test"]]
    assert list(data_read_bed(p).columns) == ["chrom", "start", "end", "line"]
