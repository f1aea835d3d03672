import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from stats.io.annot import (annotation_columns, read_annot, read_annot_chroms, write_annot,
                            write_annot_chroms)


def _full(chrom="1", n=4, offset=0):
    return pd.DataFrame({"CHR": [chrom] * n, "BP": np.arange(n) * 100 + 1000 + offset,
                         "SNP": [f"rs{chrom}_{i}" for i in range(n)], "CM": np.linspace(0, 1, n),
                         "base": np.ones(n), "enh": [0.0, 1.0, 0.0, 1.0][:n], "score": [0.1, -2.5, 1e-9, 3.0][:n]})


def _signed(n=4):
    return pd.DataFrame({"SNP": [f"rs{i}" for i in range(n)], "A1": list("ACGT")[:n], "A2": list("GTAC")[:n],
                         "SAD_1": [0.5, -0.25, 0.0, 1.75][:n], "SAD_2": [1.0, 2.0, 3.0, 4.0][:n]})


def test_full_annot_round_trip(tmp_path):
    a = _full()
    p = write_annot(tmp_path / "base.1.annot.gz", a)
    with gzip.open(p, "rt") as fh:
        assert fh.readline().rstrip("\n").split("\t") == ["CHR", "BP", "SNP", "CM", "base", "enh", "score"]
    b = read_annot(p)
    assert list(b.columns) == list(a.columns)
    np.testing.assert_array_equal(b[["base", "enh", "score"]].to_numpy(), a[["base", "enh", "score"]].to_numpy())
    assert b.BP.dtype == np.int64 and b.CM.dtype == np.float64 and list(b.CHR) == ["1"] * 4
    assert annotation_columns(b, signed=False) == ["base", "enh", "score"]
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_thin_annot_and_plain_text(tmp_path):
    thin = _full()[["base", "enh"]]
    p = write_annot(tmp_path / "thin.annot", thin)
    assert p.read_text().splitlines()[0] == "base\tenh"
    b = read_annot(p)
    assert list(b.columns) == ["base", "enh"] and len(b) == 4


def test_sannot_round_trip_and_upper_case(tmp_path):
    s = _signed()
    s.loc[0, "A1"] = "a"
    p = write_annot(tmp_path / "x.22.sannot.gz", s)
    b = read_annot(p)
    assert list(b.columns) == ["SNP", "A1", "A2", "SAD_1", "SAD_2"]
    assert list(b.A1) == ["A", "C", "G", "T"]
    np.testing.assert_array_equal(b.SAD_1, s.SAD_1)
    # CHR / BP / CM are allowed in a sannot, and come first
    s2 = s.assign(BP=[5, 6, 7, 8], CHR="chr22")
    b2 = read_annot(write_annot(tmp_path / "y.sannot.gz", s2))
    assert list(b2.columns) == ["CHR", "BP", "SNP", "A1", "A2", "SAD_1", "SAD_2"]
    assert set(b2.CHR) == {"22"}


def test_whitespace_separated_ldsc_file(tmp_path):
    p = tmp_path / "old.annot"
    p.write_text("CHR  BP SNP   CM  ANNOT\n1 10 rs1 0.0 1\n1 20 rs2 0.1 0\n")
    b = read_annot(p)
    assert list(b.ANNOT) == [1.0, 0.0] and list(b.SNP) == ["rs1", "rs2"]


def test_per_chromosome_sets(tmp_path):
    a = pd.concat([_full("1"), _full("2", n=3), _full("22", n=2)], ignore_index=True)
    paths = write_annot_chroms(tmp_path / "base", a, signed=False)
    assert [p.name for p in paths] == ["base.1.annot.gz", "base.2.annot.gz", "base.22.annot.gz"]
    back = read_annot_chroms(tmp_path / "base.", signed=False)  # ldsc-style prefix with the dot
    pd.testing.assert_frame_equal(back, read_annot_chroms(tmp_path / "base", signed=False))
    assert list(back.CHR) == ["1"] * 4 + ["2"] * 3 + ["22"] * 2
    np.testing.assert_array_equal(back.score, a.score)
    only = read_annot_chroms(str(tmp_path / "base.{chrom}.annot.gz"), ["2"], signed=False)
    assert len(only) == 3
    with pytest.raises(FileNotFoundError, match="chromosome 3"):
        read_annot_chroms(tmp_path / "base", ["3"], signed=False)
    with pytest.raises(FileNotFoundError, match="no .annot.gz files"):
        read_annot_chroms(tmp_path / "nothing", signed=False)


def test_per_chromosome_thin_and_signed_sets(tmp_path):
    thin = pd.DataFrame({"CHR": ["1", "1", "chr2"], "a": [1.0, 2.0, 3.0]})
    paths = write_annot_chroms(str(tmp_path / "chr{chrom}"), thin, signed=False)
    assert [p.name for p in paths] == ["chr1.annot.gz", "chr2.annot.gz"]
    assert read_annot(paths[1]).columns.tolist() == ["a"]  # CHR not written in the thin form
    back = read_annot_chroms(str(tmp_path / "chr{chrom}"), signed=False)
    assert list(back.CHR) == ["1", "1", "2"] and list(back.a) == [1.0, 2.0, 3.0]
    s = pd.concat([_signed().assign(CHR="1"), _signed(2).assign(CHR="2")], ignore_index=True)
    sp = write_annot_chroms(tmp_path / "sldp", s, signed=True)
    assert [p.name for p in sp] == ["sldp.1.sannot.gz", "sldp.2.sannot.gz"]
    assert len(read_annot_chroms(tmp_path / "sldp", signed=True)) == 6


def test_files_with_different_annotations_cannot_be_joined(tmp_path):
    write_annot(tmp_path / "m.1.annot.gz", _full("1"))
    write_annot(tmp_path / "m.2.annot.gz", _full("2").rename(columns={"enh": "other"}))
    with pytest.raises(ValueError, match="differ from those of the first file"):
        read_annot_chroms(tmp_path / "m", signed=False)


def test_non_finite_values_name_column_and_line(tmp_path):
    for bad in ("nan", "inf", "-Inf", "NA", ""):
        p = tmp_path / "bad.annot"
        p.write_text(f"CHR\tBP\tSNP\tCM\tgood\tweird\n1\t1\trs1\t0\t1\t2\n1\t2\trs2\t0\t1\t{bad}\n")
        with pytest.raises(ValueError, match=r"bad.annot, line 3, column 'weird': annotation value .* not finite"):
            read_annot(p)
    p.write_text("SNP\tA1\tA2\tv\nrs1\tA\tG\tabc\n")
    with pytest.raises(ValueError, match=r"line 2, column 'v': 'abc' is not a number"):
        read_annot(p, signed=True)
    a = _full()
    a.loc[2, "enh"] = np.inf
    with pytest.raises(ValueError, match=r"row 2, column 'enh'"):
        write_annot(tmp_path / "w.annot.gz", a)
    a.loc[2, "enh"] = 1.0
    a["txt"] = "x"
    with pytest.raises(ValueError, match="column 'txt' is not numeric"):
        write_annot(tmp_path / "w.annot.gz", a)
    assert not (tmp_path / "w.annot.gz").exists() and not list(tmp_path.glob(".w*"))


def test_all_zero_annotation_is_logged(tmp_path, caplog):
    a = _full().assign(empty=0.0)
    with caplog.at_level(logging.WARNING, logger="stats.io.annot"):
        read_annot(write_annot(tmp_path / "z.annot.gz", a))
    assert "annotation(s) empty are zero for every SNP" in caplog.text
    assert "base" not in caplog.text.split("annotation(s)")[1].split("are zero")[0]


def test_wrong_metadata_columns(tmp_path):
    with pytest.raises(ValueError, match=r"needs columns \['SNP', 'A1', 'A2'\]; missing \['A2'\]"):
        write_annot(tmp_path / "s.sannot.gz", _signed().drop(columns="A2"))
    with pytest.raises(ValueError, match=r"lacks \['CM'\]"):
        write_annot(tmp_path / "a.annot.gz", _full().drop(columns="CM"))
    with pytest.raises(ValueError, match="no annotation columns"):
        write_annot(tmp_path / "a.annot.gz", _full()[["CHR", "BP", "SNP", "CM"]])
    p = tmp_path / "r.annot"
    p.write_text("CHR\tBP\tSNP\tCM\n1\t1\trs1\t0\n")
    with pytest.raises(ValueError, match="no annotation columns"):
        read_annot(p)
    p.write_text("CHR\tBP\tSNP\tCM\ta\n1\t1.5\trs1\t0\t1\n")
    with pytest.raises(ValueError, match=r"line 2, column 'BP': positions must be whole numbers"):
        read_annot(p)
    p.write_text("CHR\tBP\tSNP\tCM\ta\n1\t1\t\t0\t1\n")
    with pytest.raises(ValueError, match=r"line 2, column 'SNP': missing value"):
        read_annot(p)
    p.write_text("a\ta\n1\t2\n")
    with pytest.raises(ValueError, match="duplicated column names"):
        read_annot(p)
    with pytest.raises(ValueError, match="no CHR column"):
        write_annot_chroms(tmp_path / "x", _signed(), signed=True)


def test_signed_annotation_from_scores_orients_to_panel_a1(tmp_path):
    from stats.io.annot import read_annot_chroms, signed_annotation_from_scores, write_annot_chroms

    panel = pd.DataFrame({"chrom": ["1", "1", "2"], "snp": ["rs1", "rs2", "rs3"], "pos": [10, 20, 30],
                          "a1": ["A", "T", "C"], "a2": ["G", "C", "A"]})
    variants = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2", "chr2"], "pos": [10, 20, 30, 40],
                             "ref": ["G", "T", "A", "A"], "alt": ["A", "C", "C", "G"]})
    values = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    s = signed_annotation_from_scores(variants, values, names=["t0", "t1"], panel=panel)
    assert s.columns.tolist() == ["CHR", "SNP", "A1", "A2", "t0", "t1"]
    assert s.SNP.tolist() == ["rs1", "rs2", "rs3"] and s.CHR.tolist() == ["1", "1", "2"]
    # rs2: the variant's ALT C is the panel's A2, so its score is negated
    np.testing.assert_array_equal(s[["t0", "t1"]].to_numpy(), [[1, 10], [-2, -20], [3, 30]])
    write_annot_chroms(tmp_path / "sad.", s, signed=True)
    back = read_annot_chroms(tmp_path / "sad.", signed=True)
    np.testing.assert_array_equal(back[["t0", "t1"]].to_numpy(), s[["t0", "t1"]].to_numpy())
    with pytest.raises(ValueError, match="do not fit"):
        signed_annotation_from_scores(variants, values[:, :1], names=["t0", "t1"], panel=panel)
