"""SED tables and SED-LD: checks, matching to the panel by position and alleles, and the profile against
X^T X v / N computed directly."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from stats.eqtl.sed_ld import check_sed, match_sed_to_panel, sed_ld, sed_ld_many, sed_tables


BIM = pd.DataFrame({"chrom": ["1", "1", "1", "2"], "snp": ["rs1", "rs2", "rs3", "rs4"], "pos": [10, 20, 30, 10],
                    "a1": ["A", "C", "A", "G"], "a2": ["G", "T", "T", "A"]})
#: SED as genomodel sed writes it: chrom, pos, ref, alt (+ snp, n_tss_bins, targets); value = alt minus ref
RAW = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr2", "chr1", "chr1"], "pos": [10, 20, 30, 10, 99, 20],
                    "ref": ["G", "C", "T", "C", "A", "C"], "alt": ["A", "T", "A", "T", "C", "T"],
                    "snp": ["x1", "x2", "x3", "x4", "x5", "x2"], "gene_id": [7, 7, 7, 8, 8, 8],
                    "n_tss_bins": 1, "score": ["0.5", 2, 3, 4, 5, 6]})


def test_check_sed():
    sed = check_sed(RAW, "score")
    assert list(sed.columns) == ["chrom", "pos", "ref", "alt", "gene_id", "SED"]
    assert sed["gene_id"].tolist() == ["7", "7", "7", "8", "8", "8"] and sed["pos"].dtype == np.int64
    assert sed["SED"].dtype == np.float64 and sed["SED"].tolist() == [0.5, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match=r"row 2 \(chr1:20 C>T\) has score = 'x'"):
        check_sed(RAW.assign(score=[1.0, "x", 1, 1, 1, 1]), "score")
    with pytest.raises(ValueError, match=r"row 1 has pos = 'a'"):
        check_sed(RAW.assign(pos=["a", 2, 3, 4, 5, 6]), "score")
    with pytest.raises(ValueError, match=r"mine: missing columns \['SED'\]"):
        check_sed(RAW, what="mine")
    # by position and alleles, never by an ID column alone
    old = pd.DataFrame({"SNP": ["rs1"], "A1": ["A"], "A2": ["G"], "SED": [1.0]})
    with pytest.raises(ValueError, match=r"missing columns \['chrom', 'pos', 'ref', 'alt'\].*chrom, pos \(1-based\)"):
        check_sed(old)


def test_match_sed_to_panel():
    m = match_sed_to_panel(RAW, BIM, value="score")
    # x1 as is, x2 swapped (-2), x3 A/T ambiguous dropped, x4 strand flip C/T -> G/A swapped (-4), x5 absent,
    # x2 for gene 8 swapped (-6)
    assert m.to_dict(orient="list") == {"SNP": ["rs1", "rs2", "rs4", "rs2"], "gene_id": ["7", "7", "8", "8"],
                                        "A1": ["A", "C", "G", "C"], "A2": ["G", "T", "A", "T"],
                                        "SED": [0.5, -2.0, -4.0, -6.0], "allele_sign": [1, -1, -1, -1]}
    assert m["allele_sign"].dtype == np.int8
    per_snp = match_sed_to_panel(RAW.drop(columns="gene_id").iloc[:4], BIM, value="score")
    assert per_snp["SNP"].tolist() == ["rs1", "rs2", "rs4"] and "gene_id" not in per_snp.columns
    with pytest.raises(ValueError, match="rows name the same panel SNP-gene pair"):
        match_sed_to_panel(pd.concat([RAW.iloc[:2]] * 2), BIM, value="score")
    with pytest.raises(ValueError, match="rows name the same panel SNP .*give each variant once"):
        match_sed_to_panel(RAW.drop(columns="gene_id"), BIM, value="score")
    with pytest.raises(ValueError, match="none of its 1 rows .* matches a panel SNP"):
        match_sed_to_panel(RAW.iloc[[4]], BIM, value="score", what="mine")


def test_sed_tables():
    shared = sed_tables(RAW, ["A", "B"], panel=BIM, value="score")
    assert list(shared) == ["A", "B"] and shared["A"] is shared["B"]
    pd.testing.assert_frame_equal(shared["A"], match_sed_to_panel(RAW, BIM, value="score"))
    per = sed_tables({"B": RAW, "A": RAW.assign(score=1.0)}, ["A", "B"], panel=BIM, value="score")
    assert per["A"]["SED"].tolist() == [1.0, -1.0, -1.0, -1.0] and per["B"]["SED"].tolist() == [0.5, -2, -4, -6]
    with pytest.raises(ValueError, match=r"no SED table for tissue\(s\) \['C'\]"):
        sed_tables({"A": RAW}, ["A", "C"], panel=BIM, value="score")
    # every table is checked before the panel is read
    with pytest.raises(ValueError, match="SED table of B: missing columns"):
        sed_tables({"A": RAW, "B": RAW.drop(columns="alt")}, ["A", "B"], panel="no/such/panel", value="score")


def test_match_sed_to_panel_tiny_world(world_info, world_sed):
    """The world's true SED (alt minus ref) matched by position: the panel's id, A1-oriented like a match by id."""
    from stats.alleles import match_alleles

    eff = world_info["effects"]  # the same rows, with the world's ids (those of the panel) and alleles
    raw = world_info["seds"][world_info["tissues"][0]]
    bim = world_info["panel"].allele_table().set_index("snp")
    assert len(world_sed) > 0.5 * len(raw) and world_sed["SNP"].isin(bim.index).all()
    # matching by id and alleles gives the same rows and orientation here
    on = bim.reindex(eff["SNP"])
    sign = match_alleles(eff["A1"], eff["A2"], on["a1"], on["a2"]).sign
    want = pd.DataFrame({"SNP": eff["SNP"], "gene_id": eff["gene_id"].astype(str), "sign": sign})[sign != 0]
    assert world_sed["SNP"].tolist() == want["SNP"].tolist()
    assert world_sed["gene_id"].tolist() == want["gene_id"].tolist()
    np.testing.assert_array_equal(world_sed["allele_sign"], want["sign"])
    np.testing.assert_array_equal(world_sed["SED"], raw["SED"].to_numpy()[sign != 0] * want["sign"].to_numpy())
    assert (world_sed["A1"].to_numpy() == bim.loc[world_sed["SNP"], "a1"].to_numpy()).all()


def test_sed_ld_brute_force(tiny_world, world_info):
    """SED-LD gene by gene equals X^T X v / N over the LD block, computed directly."""
    from stats.io.ldblocks import assign_blocks, read_ldblocks
    from stats.io.plink import read_bfile
    from stats.ld.matrix import standardized

    w = tiny_world
    sed = world_info["effects"].rename(columns={"immune_tcell": "SED"})
    dos, bim, _ = read_bfile(w / "genotypes" / "ref_panel.chr1", dtype=np.float64)
    genes = sed["gene_id"].unique()[:2]
    targets = pd.DataFrame({"SNP": np.tile(bim["snp"].to_numpy()[::50], 2),
                            "gene_id": np.repeat(genes, len(bim["snp"].to_numpy()[::50]))})
    got = sed_ld(world_info["panel"], world_info["blocks"], sed[["SNP", "A1", "A2", "gene_id", "SED"]],
                 build="simworld1", targets=targets, lengths=world_info["lengths"])
    blocks = read_ldblocks(world_info["blocks"])
    which = assign_blocks(blocks, bim["chrom"].to_numpy(), bim["pos"].to_numpy())
    idx = pd.Index(bim["snp"])
    for k, (s, g) in enumerate(zip(targets.SNP, targets.gene_id)):
        j = idx.get_loc(s)
        cols = np.flatnonzero(which == which[j])
        x = standardized(dos[:, cols])
        v = np.zeros(len(cols))
        sg = sed[(sed.gene_id == g) & sed.SNP.isin(bim["snp"].to_numpy()[cols])]
        amb = (sg.A1 + sg.A2).isin(["AT", "TA", "CG", "GC"]).to_numpy()
        v[pd.Index(bim["snp"].to_numpy()[cols]).get_indexer(sg.SNP[~amb])] = sg.SED.to_numpy()[~amb]
        want = (x.T @ (x @ v) / x.shape[0])[list(cols).index(j)]
        np.testing.assert_allclose(got[k], want, rtol=1e-8, atol=1e-15)
    assert np.abs(got).max() > 0
    with pytest.raises(ValueError, match="given twice"):
        sed_ld(world_info["panel"], world_info["blocks"], pd.concat([sed.iloc[:2]] * 2), build="simworld1",
               targets=targets, lengths=world_info["lengths"])
    with pytest.raises(ValueError, match="targets need SNP and gene_id"):
        sed_ld(world_info["panel"], world_info["blocks"], sed, build="simworld1", targets=targets[["SNP"]])


def test_sed_ld_many_equals_sed_ld(world_info, caplog):
    """The batch SED-LD (one pass, shuffles as their own genes) equals sed_ld of each table, per pair and per SNP."""
    sed = world_info["effects"].rename(columns={"immune_tcell": "SED"})[["SNP", "A1", "A2", "gene_id", "SED"]]
    rng = np.random.default_rng(2)
    panel, blocks, lengths = world_info["panel"], world_info["blocks"], world_info["lengths"]
    targets = sed.sample(300, random_state=1)[["SNP", "gene_id"]].reset_index(drop=True)
    for tabs in ([sed, sed.assign(SED=rng.permutation(sed["SED"].to_numpy()))],
                 [sed.groupby(["SNP", "A1", "A2"], as_index=False)["SED"].sum()] * 2):
        tabs = [tabs[0], tabs[1].assign(SED=rng.permutation(tabs[1]["SED"].to_numpy()))]
        many = sed_ld_many(panel, blocks, tabs, build="simworld1", targets=targets, lengths=lengths)
        assert many.shape == (2, len(targets))
        for k, a in enumerate(tabs):
            one = sed_ld(panel, blocks, a[a["SED"] != 0], build="simworld1", targets=targets, lengths=lengths)
            np.testing.assert_allclose(many[k], one, rtol=1e-10, atol=1e-14)
    # quiet: the panel's per-chromosome counts at DEBUG (repeated shuffle passes), same numbers
    for quiet in (False, True):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="stats.io.panel"):
            again = sed_ld_many(panel, blocks, tabs, build="simworld1", targets=targets, lengths=lengths,
                                quiet=quiet)
        np.testing.assert_array_equal(again, many)
        levels = {r.levelno for r in caplog.records if r.name == "stats.io.panel" and "SNPs" in r.getMessage()}
        assert levels == ({logging.DEBUG} if quiet else {logging.INFO}), (quiet, levels)
    assert sed_ld_many(panel, blocks, [], build="simworld1", targets=targets).shape == (0, len(targets))
    with pytest.raises(ValueError, match="mix of per-gene and per-SNP"):
        sed_ld_many(panel, blocks, [sed, sed.drop(columns=["gene_id"])], build="simworld1", targets=targets)
