import numpy as np
import pandas as pd
import pytest

from genocore.genome import (CHROM_LENGTHS, MHC, canonical_build, chrom_labels, chrom_lengths, chrom_sort_key,
                             in_region, mhc_region, normalize_chrom, sorted_chroms)


def test_normalize_chrom():
    assert normalize_chrom("chr1") == "1" and normalize_chrom("Chr01") == "1" and normalize_chrom(7) == "7"
    assert normalize_chrom("chrX") == "X" and normalize_chrom("23") == "X" and normalize_chrom("x") == "X"
    assert normalize_chrom("24") == "Y" and normalize_chrom("25") == "XY" and normalize_chrom("26") == "MT"
    assert normalize_chrom("chrM") == "MT" and normalize_chrom("MT") == "MT"
    assert normalize_chrom("chrUn_gl000220") == "Un_gl000220"
    assert list(normalize_chrom(np.array(["chr2", "2", "X"]))) == ["2", "2", "X"]
    s = normalize_chrom(pd.Series([1, "chr22"], index=[5, 6]))
    assert list(s) == ["1", "22"] and list(s.index) == [5, 6]
    for bad in (None, "", "chr", np.nan):
        with pytest.raises(ValueError):
            normalize_chrom(bad)
    with pytest.raises(ValueError, match="missing"):
        normalize_chrom(np.array(["1", None], dtype=object))
    assert sorted_chroms(["chr10", "2", "X", "chr1", "MT", "1", "Y"]) == ["1", "2", "10", "X", "Y", "MT"]
    assert chrom_sort_key("chr2") < chrom_sort_key("10") < chrom_sort_key("X") < chrom_sort_key("chrA")


def test_normalize_chrom_keeps_array_shape_and_numpy_scalars():
    arr = np.array([["chr1", "2"], ["chrX", "26"]])
    assert normalize_chrom(arr).tolist() == [["1", "2"], ["X", "MT"]]
    assert normalize_chrom(np.int64(3)) == "3" and normalize_chrom(np.str_("chrY")) == "Y"


def test_chrom_labels():
    assert chrom_labels("1") == ["1", "chr1"]
    assert chrom_labels("chr10") == ["chr10", "10"]
    assert chrom_labels(23) == ["23", "X", "chrX"]
    assert chrom_labels("MT") == ["MT", "chrMT", "chrM"]


def test_mhc_and_builds():
    assert mhc_region("hg19") == ("6", 25_684_587, 35_455_756)
    assert mhc_region("GRCh37") == mhc_region("b37") == mhc_region("hg19")
    assert mhc_region("hg38") == ("6", 28_510_120, 33_480_577) == mhc_region("GRCh38")
    assert mhc_region("simworld1") is None
    with pytest.raises(ValueError, match="unknown genome build 'hg17'"):
        mhc_region("hg17")
    assert canonical_build("GRCh38") == "hg38"
    assert canonical_build(" hs37d5 ") == "hg19" and canonical_build("SimWorld2") == "simworld2"
    assert chrom_lengths("hg19")["1"] == 249_250_621 and chrom_lengths("hg38")["1"] == 248_956_422
    assert chrom_lengths("simworld1") is None
    assert len(CHROM_LENGTHS["hg38"]) == 25
    chrom = np.array(["6", "6", "6", "6", "5"])
    pos = np.array([25_684_586, 25_684_587, 35_455_756, 35_455_757, 30_000_000])
    assert list(in_region(chrom, pos, mhc_region("hg19"))) == [False, True, True, False, False]
    assert not in_region(chrom, pos, None).any()


def test_build_tables_agree():
    # every build with an MHC has a length table holding the MHC, in normalized names
    for build, (c, lo, hi) in MHC.items():
        lengths = CHROM_LENGTHS[build]
        assert list(lengths) == sorted_chroms(lengths)
        assert 0 < lo < hi <= lengths[c]
