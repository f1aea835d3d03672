"""The variant score files: sad.h5 and the SED table, one writer and one reader each."""
from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from genocore.scores import (SAD_STATS, SED_KEYS, MissingScoreError, read_sad_h5, read_sed, sed_for_target,
                             sed_table, write_sad_h5, write_sad_table, write_sed_table)


@pytest.fixture()
def scores():
    rng = np.random.default_rng(0)
    variants = pd.DataFrame({"snp": ["rs1", "rs2", "rs3"], "chrom": ["chr1", "chr1", "2"], "pos": [100, 100, 7],
                             "ref": ["A", "A", "G"], "alt": ["C", "T", "T"]})
    stats = {k: rng.normal(size=(3, 2)).astype(np.float32) for k in SAD_STATS}
    sed = pd.DataFrame({"variant": [0, 2, 2], "gene_id": ["gA", "gA", "nan"], "n_tss_bins": [1, 2, 1],
                        "t0": [0.5, -1.25, 2.0], "t1": [0.0, 3.5, -0.125]})
    return variants, stats, sed


def test_sad_h5_round_trip(tmp_path, scores):
    variants, stats, sed = scores
    path = write_sad_h5(tmp_path / "sad.h5", variants, stats, sed=sed, target_ids=["T1", "T2"],
                        target_labels=["CAGE:a", "DNASE:b"], provenance={"command": "x", "n": 1})
    with h5py.File(path) as h5:  # basenji's layout
        assert {"snp", "chr", "pos", "ref_allele", "alt_allele", "target_ids", "target_labels", *SAD_STATS} <= set(h5)
        assert h5["SAD"].dtype == np.float16 and h5["sed/SED"].shape == (3, 2)
    back = read_sad_h5(path)
    pd.testing.assert_frame_equal(back.variants, variants, check_dtype=False)
    assert back.target_ids == ["T1", "T2"] and back.target_labels == ["CAGE:a", "DNASE:b"]
    assert back.provenance == {"command": "x", "n": 1} and set(back.stats) == set(SAD_STATS)
    for k in SAD_STATS:
        np.testing.assert_array_equal(back.stats[k], stats[k].astype(np.float16).astype(np.float32))
    assert read_sad_h5(path, stats=["SAD"], dtype=np.float64).stats["SAD"].dtype == np.float64


def test_sed_round_trip_tsv_and_h5(tmp_path, scores):
    variants, stats, sed = scores
    h5 = write_sad_h5(tmp_path / "sad.h5", variants, stats, sed=sed, target_ids=["T1", "T2"],
                      target_labels=["a", "b"])
    tsv = write_sed_table(tmp_path / "sed.tsv", variants, sed, target_ids=["T1", "T2"])
    assert tsv.read_text().splitlines()[0].split("\t") == [*SED_KEYS, "SED_T1", "SED_T2"]
    want = sed_table(variants, sed, target_ids=["T1", "T2"])
    assert want[["chrom", "pos", "ref", "alt", "snp"]].values.tolist() == [
        ["chr1", 100, "A", "C", "rs1"], ["2", 7, "G", "T", "rs3"], ["2", 7, "G", "T", "rs3"]]
    for got in (read_sed(tsv), read_sed(h5)):
        assert list(got.columns) == [*SED_KEYS, "SED_T1", "SED_T2"]
        assert got["chrom"].tolist() == ["chr1", "2", "2"] and got["gene_id"].tolist() == ["gA", "gA", "nan"]
        assert got["pos"].dtype == np.int64 and got["SED_T1"].dtype == np.float64
        np.testing.assert_array_equal(got[["SED_T1", "SED_T2"]].to_numpy(), sed[["t0", "t1"]].to_numpy())
    with pytest.raises(ValueError, match="no 'sed' group"):
        read_sed(write_sad_h5(tmp_path / "nosed.h5", variants, stats, target_ids=["T1", "T2"],
                              target_labels=["a", "b"]))


def test_sed_of_one_target(tmp_path, scores):
    variants, _, sed = scores
    tsv = write_sed_table(tmp_path / "sed.tsv", variants, sed, target_ids=["T1", "T2"])
    one = sed_for_target(tsv, target="T2")
    assert list(one.columns) == [*SED_KEYS, "SED"] and one["SED"].tolist() == [0.0, 3.5, -0.125]
    with pytest.raises(ValueError, match="2 targets.*name the one"):
        sed_for_target(tsv)
    with pytest.raises(ValueError, match="no SED of target 'T9'"):
        sed_for_target(tsv, target="T9")
    single = write_sed_table(tmp_path / "one.tsv", variants, sed.drop(columns="t1"), target_ids=["T1"])
    assert sed_for_target(single)["SED"].tolist() == [0.5, -1.25, 2.0]


def test_sad_table(tmp_path, scores):
    variants, stats, _ = scores
    t = pd.read_csv(write_sad_table(tmp_path / "sad.tsv", variants, stats["SAD"], target_ids=["T1", "T2"]), sep="\t")
    assert list(t.columns) == ["snp", "chrom", "pos", "ref", "alt", "SAD_T1", "SAD_T2"]
    np.testing.assert_allclose(t[["SAD_T1", "SAD_T2"]].to_numpy(), stats["SAD"], rtol=1e-5)


def test_missing_and_misshapen_statistics(tmp_path):
    path = tmp_path / "bare.h5"
    with h5py.File(path, "w") as h5:  # a minimal file of another tool: no positions, no target ids
        h5["snp"] = np.array([b"v1", b"v2"])
        h5["target_labels"] = np.array([b"a", b"b", b"c"])
        h5["SAD"] = np.zeros((2, 3), np.float16)
        h5["SAR"] = np.zeros((2, 2), np.float16)
    got = read_sad_h5(path, stats=["SAD"])
    assert list(got.variants.columns) == ["snp"] and got.target_ids is None and got.sed is None
    for err in (KeyError, ValueError):
        with pytest.raises(err, match="no statistic 'LOG2MAX'.*no dataset 'LOG2MAX'"):
            read_sad_h5(path, stats=["LOG2MAX"])
    assert str(MissingScoreError("plain text")) == "plain text"
    with pytest.raises(ValueError, match="SAR has shape"):
        read_sad_h5(path)


def test_stats_readers_use_it(tmp_path, scores):
    from stats.casecontrol import read_scores
    from stats.classifiers import features_from_sad_h5

    variants, stats, _ = scores
    path = write_sad_h5(tmp_path / "sad.h5", variants, stats, target_ids=["T1", "T2"], target_labels=["a", "b"])
    cc = read_scores(path, stat="SAR")
    assert list(cc.columns) == ["a", "b"] and list(cc.index) == ["rs1", "rs2", "rs3"]
    np.testing.assert_array_equal(cc.to_numpy(), stats["SAR"].astype(np.float16).astype(np.float64))
    f = features_from_sad_h5(path, stat="SAD", absolute=False)
    assert list(f.columns) == ["T1", "T2"]
    np.testing.assert_array_equal(f.to_numpy(), stats["SAD"].astype(np.float16).astype(np.float64))
