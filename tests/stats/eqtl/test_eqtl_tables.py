"""Regression tables: per-SNP aggregation, LD-block clusters, the table builder and its clusters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stats.eqtl.sed_ld import sed_ld
from stats.eqtl.tables import (RegressionTables, aggregate_to_snps, annotation_tables, snp_blocks,
                               snp_clusters)


def test_aggregate_to_snps():
    p = pd.DataFrame({"SNP": ["a", "a", "b"], "gene_id": ["g1", "g2", "g1"], "chi2": [1.0, 4.0, 2.0],
                      "significant": [False, True, False], "SED_LD": [-3.0, 1.0, 0.5], "L2": [7.0, 7.0, 2.0]})
    s = aggregate_to_snps(p)
    assert s.to_dict(orient="list") == {"SNP": ["a", "b"], "chi2": [4.0, 2.0], "significant": [True, False],
                                        "SED_LD": [3.0, 0.5], "L2": [7.0, 2.0], "n_genes": [2, 1]}
    c = aggregate_to_snps(p.assign(CIS_L2=[1.0, 5.0, 2.0]))
    assert c["CIS_L2"].tolist() == [5.0, 2.0]


def test_snp_blocks_and_clusters(tmp_path):
    from stats.io.ldblocks import read_ldblocks

    bed = tmp_path / "blocks.bed"
    bed.write_text("chr\tstart\tstop\nchr1\t0\t100\nchr1\t100\t200\n")
    bim = pd.DataFrame({"chrom": ["1", "1", "1", "1", "2"], "snp": ["a", "b", "c", "a", "d"],
                        "pos": [5, 150, 300, 160, 5]})
    block_of = snp_blocks(bim, read_ldblocks(bed))
    assert block_of.to_dict() == {"a": 0, "b": 1, "c": -1, "d": -1}  # a duplicated id: its first row
    assert snp_clusters(block_of, ["b", "a", "c", "zz"]).tolist() == ["b1", "b0", "sc", "szz"]


def _maker(**kw):
    snp_scores = pd.DataFrame({"SNP": ["a", "b", "c", "d"], "L2": [1.0, 2.0, 3.0, 4.0],
                               "TSS_xL2": [0.1, 0.2, 0.3, 0.4]})
    pair_tss = pd.DataFrame({"SNP": ["a", "a", "b", "c", "d"], "gene_id": ["g1", "g2", "g1", "g2", "g9"],
                             "TSS_pL2": [10.0, 20.0, 30.0, 40.0, 50.0]})
    block_of = pd.Series({"a": 0, "b": 0, "c": -1, "d": 1})
    return RegressionTables(snp_scores, pair_tss, block_of, **kw)


def test_regression_tables_build_and_groups():
    pairs = pd.DataFrame({"SNP": ["a", "a", "b", "c", "e"], "gene_id": ["g1", "g2", "g1", "g2", "g1"],
                          "chi2": [1.0, 2.0, 3.0, 4.0, 5.0], "significant": [True, False, True, False, True]})
    maker = _maker(units=("snp", "pair"), cluster="gene")
    out = maker.tables(pairs, np.array([1.0, -3.0, np.nan, 2.0, 5.0]))
    assert list(out) == ["pair", "snp"]  # pair first, whatever the order asked
    # b: no finite SED-LD; e: not in the panel's LD scores
    assert out["pair"].to_dict(orient="list") == {
        "SNP": ["a", "a", "c"], "gene_id": ["g1", "g2", "g2"], "chi2": [1.0, 2.0, 4.0],
        "significant": [True, False, False], "SED_LD": [1.0, -3.0, 2.0], "L2": [1.0, 1.0, 3.0],
        "TSS_pL2": [10.0, 20.0, 40.0]}
    assert out["snp"].to_dict(orient="list") == {
        "SNP": ["a", "c"], "chi2": [2.0, 4.0], "significant": [True, False], "SED_LD": [3.0, 2.0],
        "L2": [1.0, 3.0], "n_genes": [2, 1], "TSS_xL2": [0.1, 0.3]}
    assert maker.groups(out["pair"], "pair").tolist() == ["g1", "g2", "g2"]
    assert maker.groups(out["snp"], "snp").tolist() == ["b0", "sc"]  # per SNP: the LD block
    assert _maker(cluster="block").groups(out["pair"], "pair").tolist() == ["b0", "b0", "sc"]
    assert _maker(cluster="none").groups(out["pair"], "pair") is None
    # CIS_L2 of the pairs goes into both units (per SNP: the max over its genes)
    cis = maker.tables(pairs.assign(CIS_L2=[1.0, 7.0, 1.0, 2.0, 3.0]), np.ones(5))
    assert cis["snp"]["CIS_L2"].tolist() == [7.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="units must be among"):
        _maker(units=("gene",))
    with pytest.raises(ValueError, match="cluster must be one of"):
        _maker(cluster="chromosome")


def test_annotation_tables(world_info, world_pairs, world_covariates, world_sed):
    """Each annotation's SED-LD (zeros left out) at the pairs, through the table builder."""
    from stats.io.ldblocks import read_ldblocks

    blocks = read_ldblocks(world_info["blocks"])
    maker = RegressionTables(*world_covariates, snp_blocks(world_pairs["bim"], blocks), units=("pair", "snp"))
    pairs = world_pairs["kept"].iloc[:300]
    sed = world_sed
    half = sed.assign(SED=np.where(np.arange(len(sed)) % 2 == 0, sed["SED"], 0.0))
    panel = {"panel": world_info["panel"], "blocks": blocks, "build": "simworld1", "lengths": world_info["lengths"]}
    out = annotation_tables(pairs, {"true": sed, "half": half}, tables=maker, **panel)
    assert list(out) == [("true", "pair"), ("true", "snp"), ("half", "pair"), ("half", "snp")]
    s = sed_ld(world_info["panel"], blocks, half[half["SED"] != 0], build="simworld1", targets=pairs,
               lengths=world_info["lengths"])
    for u, t in maker.tables(pairs, s).items():
        pd.testing.assert_frame_equal(out[("half", u)], t)
    assert not out[("true", "pair")]["SED_LD"].equals(out[("half", "pair")]["SED_LD"])
