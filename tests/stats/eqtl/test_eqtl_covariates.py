"""LD-score covariates from the panel: window / TSS LD scores per SNP and pair, and the cis LD score of pairs."""
from __future__ import annotations

import numpy as np
import pandas as pd

from stats.eqtl.covariates import add_cis_ld_scores, ld_score_covariates, pair_cis_ld_scores
from stats.eqtl.tss import TSS_BIN_NAMES


def test_pair_cis_ld_scores_brute_force(tiny_world, world_info):
    """Cis LD score of a pair = sum over the gene's cis SNPs in the SNP's LD block of the unbiased r^2."""
    from stats.io.ldblocks import assign_blocks, read_ldblocks
    from stats.io.plink import read_bfile
    from stats.ld.matrix import standardized

    w = tiny_world
    dos, bim, _ = read_bfile(w / "genotypes" / "ref_panel.chr1", dtype=np.float64)
    snps = bim["snp"].to_numpy()
    cis = pd.DataFrame({"SNP": np.concatenate([snps[:300], snps[100:500:2]]),
                        "gene_id": ["g1"] * 300 + ["g2"] * 200})
    targets = pd.DataFrame({"SNP": np.tile(snps[:400:37], 2), "gene_id": np.repeat(["g1", "g2"], len(snps[:400:37]))})
    targets = pd.concat([targets, pd.DataFrame({"SNP": [snps[0]], "gene_id": ["none"]})], ignore_index=True)
    got = pair_cis_ld_scores(world_info["panel"], world_info["blocks"], targets, cis=cis, build="simworld1",
                             lengths=world_info["lengths"])
    blocks = read_ldblocks(world_info["blocks"])
    which = assign_blocks(blocks, bim["chrom"].to_numpy(), bim["pos"].to_numpy())
    idx = pd.Index(snps)
    n = dos.shape[0]
    for k, (s, g) in enumerate(zip(targets.SNP, targets.gene_id)):
        j = idx.get_loc(s)
        cols = [c for c in idx.get_indexer(cis.SNP[cis.gene_id == g]) if which[c] == which[j]]
        if not cols:
            assert got[k] == 0.0
            continue
        x = standardized(dos[:, [j] + cols])
        r2 = (x[:, 1:].T @ x[:, 0] / n) ** 2
        np.testing.assert_allclose(got[k], np.sum(r2 - (1 - r2) / (n - 2)), rtol=1e-8)
    assert got[-1] == 0.0 and (got[:-1] >= 1 - 1e-9).sum() > 0


def test_add_cis_ld_scores(world_info, world_pairs):
    kept, tested = world_pairs["kept"].iloc[:200], world_pairs["tested"]
    panel = {k: world_info[k] for k in ("panel", "blocks", "build", "lengths")}
    got = add_cis_ld_scores(kept, cis=tested, **panel)
    want = pair_cis_ld_scores(world_info["panel"], world_info["blocks"], kept, cis=tested, build="simworld1",
                              lengths=world_info["lengths"])
    ok = np.isfinite(want)
    assert list(got.columns) == list(kept.columns) + ["CIS_L2"] and list(got.index) == list(range(ok.sum()))
    np.testing.assert_array_equal(got["CIS_L2"], want[ok])
    pd.testing.assert_frame_equal(got.drop(columns=["CIS_L2"]), kept[ok].reset_index(drop=True))


def test_ld_score_covariates(world_info, world_pairs, world_covariates):
    """Per SNP: L2 (and TSS L2s for unit snp) of every panel SNP; per pair: TSS L2s of every tested pair."""
    snp_scores, pair_tss = world_covariates
    names = [f"{c}L2" for c in TSS_BIN_NAMES]
    assert list(snp_scores.columns) == ["SNP", "L2"] + names and len(snp_scores) == len(world_pairs["bim"])
    assert list(pair_tss.columns) == ["SNP", "gene_id"] + names
    tested = world_pairs["tested"]
    assert len(pair_tss) == len(tested.drop_duplicates(["SNP", "gene_id"]))
    assert np.isfinite(snp_scores["L2"]).all() and (snp_scores["L2"] >= 1 - 1e-6).mean() > 0.95
    assert np.isfinite(pair_tss[names].to_numpy()).all()
    # units: per-pair TSS L2s only for pairs, per-SNP ones only for SNPs; no TSS: L2 only
    only_snp = ld_score_covariates(world_info["panel"], {"t": tested.iloc[:50]}, tss=None, units=("snp",))
    assert list(only_snp[0].columns) == ["SNP", "L2"] and only_snp[1] is None
    np.testing.assert_array_equal(only_snp[0]["L2"], snp_scores["L2"])
