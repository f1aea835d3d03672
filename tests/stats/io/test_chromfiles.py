import pytest

from stats.io.chromfiles import chrom_path, find_chrom_file, glob_chrom_files


def test_per_chromosome_file_names(tmp_path):
    assert chrom_path("d/1000G.EUR.QC.", "22", ".bed") == chrom_path("d/1000G.EUR.QC", "22", ".bed")
    assert str(chrom_path("d/1000G.EUR.QC", "22", ".bed")) == "d/1000G.EUR.QC.22.bed"
    assert str(chrom_path("d/x.{chrom}.annot.gz", "3", ".annot.gz")) == "d/x.3.annot.gz"
    assert str(chrom_path("d/chr{chrom}", "3", ".annot.gz")) == "d/chr3.annot.gz"
    assert str(chrom_path("d/ldsc@", "3")) == "d/ldsc3"
    for name in ("ref.chr1.bed", "ref.chr2.bed", "ref.10.bed", "ref.all.x.bed", "other.1.bed"):
        (tmp_path / name).write_text("")
    assert find_chrom_file(tmp_path / "ref", "1", ".bed").name == "ref.chr1.bed"
    assert find_chrom_file(tmp_path / "ref", "chr10", ".bed").name == "ref.10.bed"
    with pytest.raises(FileNotFoundError, match=r"chromosome 3 .* tried .*ref.3.bed.*ref.chr3.bed"):
        find_chrom_file(tmp_path / "ref", "3", ".bed")
    found = glob_chrom_files(tmp_path / "ref", ".bed")
    assert list(found) == ["1", "2", "10"]
    (tmp_path / "ref.1.bed").write_text("")
    with pytest.raises(ValueError, match="two files for chromosome 1"):
        glob_chrom_files(tmp_path / "ref", ".bed")
