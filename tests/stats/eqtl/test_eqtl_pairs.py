"""eQTL tables matched to the panel by position and alleles, and LD-pruned."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stats.eqtl.pairs import eqtl_pairs, match_eqtl_to_panel

BIM = pd.DataFrame({"chrom": ["1", "1", "1", "2"], "snp": ["rs1", "rs2", "rs3", "rs4"], "pos": [10, 20, 30, 10],
                    "a1": ["A", "C", "A", "G"], "a2": ["G", "T", "T", "A"]})
EQTL = pd.DataFrame({"gene_id": ["g1"] * 5, "variant_id": ["v1", "v2", "v3", "v4", "v5"],
                     "chrom": ["chr1", "chr1", "chr1", "chr2", "chr1"], "pos": [10, 20, 30, 10, 99],
                     "ref": ["G", "C", "T", "G", "A"], "alt": ["A", "T", "A", "A", "C"], "z": [1.0, 2, 3, 4, 5]})


def test_match_eqtl_to_panel():
    m = match_eqtl_to_panel(EQTL, BIM)
    # v1 as is, v2 swapped (z flips for the panel A1), v3 strand-ambiguous A/T dropped, v4 swapped, v5 absent
    assert m["SNP"].tolist() == ["rs1", "rs2", "rs4"]
    assert m["z_panel"].tolist() == [1.0, -2.0, -4.0]
    assert list(m.columns) == list(EQTL.columns) + ["SNP", "z_panel"] and m["z"].tolist() == [1.0, 2.0, 4.0]
    with pytest.raises(ValueError, match="none of its 1 rows .* matches a panel SNP by chromosome, position and"):
        match_eqtl_to_panel(EQTL.iloc[[4]], BIM)


def test_match_eqtl_to_panel_is_match_by_position(world_info):
    """On the tiny world: the rows, panel ids and allele signs of stats.alleles.match_by_position, which equal
    those of a merge on (chromosome, position) followed by stats.alleles.match_alleles."""
    from genocore.genome import normalize_chrom
    from stats.alleles import match_alleles, match_by_position
    from stats.io.gtex import read_eqtl_table

    e = read_eqtl_table(world_info["eqtl"][world_info["tissues"][0]])
    bim = world_info["panel"].allele_table()
    got = match_eqtl_to_panel(e, world_info["panel"])
    ref = match_by_position(e, bim, a1="alt", a2="ref", signed=["z"])
    assert got["SNP"].tolist() == ref["SNP"].tolist()
    np.testing.assert_array_equal(got["z_panel"], ref["z"])
    # the same by hand: merge on chromosome and position, keep the first panel SNP whose alleles agree
    m = e.assign(_c=normalize_chrom(e["chrom"].astype(str).to_numpy()), _row=np.arange(len(e))).merge(
        bim.assign(_c=bim["chrom"].astype(str))[["_c", "pos", "snp", "a1", "a2"]], on=["_c", "pos"])
    sign = match_alleles(m["alt"].to_numpy(), m["ref"].to_numpy(), m["a1"].to_numpy(), m["a2"].to_numpy()).sign
    m = m[sign != 0].assign(sign=sign[sign != 0]).drop_duplicates("_row").sort_values("_row")
    assert len(m) > 0.5 * len(e) and got["SNP"].tolist() == m["snp"].tolist()
    np.testing.assert_array_equal(got["z_panel"], m["z"] * m["sign"])


def test_eqtl_pairs_chi2_and_significance_text():
    e = EQTL.assign(significant=["True", "false", "1", "0", "1.0"])
    pairs, n_read = eqtl_pairs(e, BIM)
    assert n_read == 5
    assert pairs.to_dict(orient="list") == {"SNP": ["rs1", "rs2", "rs4"], "gene_id": ["g1"] * 3,
                                            "chi2": [1.0, 4.0, 16.0], "significant": [True, False, False]}
    with pytest.raises(ValueError, match="holds 'maybe'"):
        eqtl_pairs(e.assign(significant="maybe"), BIM)
    with pytest.raises(ValueError, match=r"my table: no column 'significant' flagging.*--significant-p"):
        eqtl_pairs(EQTL, BIM, what="my table")


def test_pruned_eqtl_pairs_tiny_world(world_pairs, world_info):
    """pruned_eqtl_pairs (run by the world_pairs fixture): kept SNPs are in LD below the threshold; the kept pairs
    are all pairs of the kept SNPs."""
    from stats.io.plink import read_bfile
    from stats.ld.matrix import standardized

    tested, kept, (rec,) = world_pairs["tested"], world_pairs["kept"], world_pairs["pruning"]
    assert list(tested.columns) == ["SNP", "gene_id", "chi2", "significant"]
    snps = set(kept["SNP"])
    assert rec["tissue"] == world_pairs["tissue"] and rec["snps"] == tested["SNP"].nunique()
    assert rec["snps_kept"] == len(snps) < rec["snps"] and rec["pairs_matched"] == len(tested) <= rec["pairs"]
    assert rec["pairs_kept"] == len(kept) == tested["SNP"].isin(snps).sum()
    # r^2 among the kept SNPs of chromosome 1 (500 kb: all within the 1 Mb window) stays <= 0.5
    dos, bim, _ = read_bfile(str(world_info["panel"]).format(chrom="1"), dtype=np.float64)
    cols = np.flatnonzero(bim["snp"].isin(snps).to_numpy())
    x = standardized(dos[:, cols])
    r2 = np.square(x.T @ x / x.shape[0])
    np.fill_diagonal(r2, 0)
    assert len(cols) > 10 and r2.max() <= 0.5 + 1e-9
