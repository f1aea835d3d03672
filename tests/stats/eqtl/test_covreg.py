"""Covariate regression and quantile enrichment: hand-checked values, and the simulated world."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from stats.eqtl import covreg
from stats.eqtl.covreg import (aggregate_to_snps, covariate_regression, covreg_tissues, match_eqtl_to_panel,
                          quantile_enrichment, quantile_labels)


def _data(rng, n=400, effect=0.5):
    l2 = rng.gamma(3, 10, n)
    tss = rng.random((n, 4)) * 5
    s = rng.normal(size=n)
    chi2 = 1 + 0.02 * l2 + 0.1 * tss[:, 0] + effect * np.abs(s) + rng.chisquare(1, n)
    sig = chi2 > np.quantile(chi2, 0.8)
    return chi2, l2, s, tss, sig


def test_quantile_shares_by_hand():
    score = np.array([5, 1, 9, 3, 7, 2, 8, 4, 10, 6], dtype=float)
    sig = np.array([1, 0, 1, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
    lab = quantile_labels(score, n_quantiles=5)
    # ranks 1..10 -> quantiles of two: (1,2) (3,4) (5,6) (7,8) (9,10)
    np.testing.assert_array_equal(lab, [2, 0, 4, 1, 3, 0, 3, 1, 4, 2])
    table, headline = quantile_enrichment(score, sig)
    # significant per quantile: q1 {1,2}: 0; q2 {3,4}: 0; q3 {5,6}: 2; q4 {7,8}: 1; q5 {9,10}: 2
    assert table["n_significant"].tolist() == [0, 0, 2, 1, 2]
    assert table["n"].tolist() == [2] * 5
    np.testing.assert_allclose(table["share"], [0, 0, 1, 0.5, 1])
    np.testing.assert_allclose(table["enrichment"], np.array([0, 0, 1, 0.5, 1]) / 0.5)
    np.testing.assert_allclose(headline, 1 / ((0 + 0 + 1) / 3))


def test_quantile_sizes_and_ties():
    lab = quantile_labels(np.zeros(12), n_quantiles=5)
    assert np.bincount(lab).tolist() == [3, 2, 3, 2, 2]
    np.testing.assert_array_equal(lab, np.sort(lab))  # ties: input order
    _, h = quantile_enrichment(np.arange(10.0), np.r_[np.zeros(6, bool), np.ones(4, bool)])
    assert h == np.inf


def test_ols_matches_statsmodels_and_lstsq():
    rng = np.random.default_rng(1)
    chi2, l2, s, tss, sig = _data(rng)
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0)
    for model, cov in (("ld", None), ("ld_tss", tss)):
        x = np.column_stack([np.ones(len(chi2)), l2] + ([] if cov is None else [cov]) + [np.abs(s)])
        beta, *_ = np.linalg.lstsq(x, chi2, rcond=None)
        resid = chi2 - x @ beta
        sigma2 = resid @ resid / (len(chi2) - x.shape[1])
        se = np.sqrt(np.diag(np.linalg.inv(x.T @ x)) * sigma2)
        row = res.coefficients.loc[model]
        np.testing.assert_allclose(row["coef"], beta[-1], rtol=1e-9)
        np.testing.assert_allclose(row["se"], se[-1], rtol=1e-9)
        np.testing.assert_allclose(row["t"], beta[-1] / se[-1], rtol=1e-9)
        fit = sm.OLS(chi2, x).fit()
        np.testing.assert_allclose(row["p"], fit.pvalues[-1], rtol=1e-9)
    assert res.enrichment_model == "ld_tss"
    assert res.coefficients.loc["ld_tss", "p"] < 1e-4


def test_ranking_is_fitted_value_difference():
    rng = np.random.default_rng(2)
    chi2, l2, s, tss, sig = _data(rng)
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0)
    base = np.column_stack([np.ones(len(chi2)), l2, tss])
    full = np.column_stack([base, np.abs(s)])
    diff = sm.OLS(chi2, full).fit().fittedvalues - sm.OLS(chi2, base).fit().fittedvalues
    table, headline = quantile_enrichment(diff, sig)
    pd.testing.assert_frame_equal(res.quantiles, table)
    assert res.enrichment == headline
    # by Frisch-Waugh-Lovell the difference is coef x (|SED-LD| residualized on the base covariates)
    r = np.abs(s) - base @ np.linalg.lstsq(base, np.abs(s), rcond=None)[0]
    np.testing.assert_allclose(diff, res.coefficients.loc["ld_tss", "coef"] * r, atol=1e-8)


def test_bootstrap_interval_and_determinism():
    chi2, l2, s, tss, sig = _data(np.random.default_rng(3), effect=1.5)
    a = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=200, rng=np.random.default_rng(9))
    b = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=200, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.bootstrap, b.bootstrap)
    lo, hi = a.enrichment_ci
    assert lo <= a.enrichment <= hi and lo > 1
    g = covariate_regression(chi2, l2, s, significant=sig, n_boot=50, rng=np.random.default_rng(9),
                             groups=np.arange(len(chi2)) // 10)
    assert np.isfinite(g.enrichment_ci).all() and g.enrichment_model == "ld"


def test_negative_coefficient_is_not_enrichment():
    """coef <= 0: the ranking would put the *least* |SED-LD| on top; the headline is 1 and the quantiles are
    those of the residualized |SED-LD| (quantile 5 = most), as for a positive coefficient."""
    chi2, l2, s, tss, sig = _data(np.random.default_rng(6), effect=-1.0)
    sig = (chi2 > np.quantile(chi2, 0.8)) | (np.abs(s) < np.quantile(np.abs(s), 0.1))
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=100, rng=np.random.default_rng(1))
    assert res.coefficients.loc["ld_tss", "coef"] < 0
    assert res.enrichment == 1.0
    base = np.column_stack([np.ones(len(chi2)), l2, tss])
    r = np.abs(s) - base @ np.linalg.lstsq(base, np.abs(s), rcond=None)[0]
    table, raw = quantile_enrichment(r, sig)
    pd.testing.assert_frame_equal(res.quantiles, table)
    assert raw < 1  # the un-gated headline of the residual ranking
    assert (res.bootstrap == 1.0).mean() > 0.9 and not res.enrichment_ci[0] > 1


def test_cluster_robust_t_reference():
    """p_cluster: CR1 sandwich SE (statsmodels) with a t(G - 1) reference; cluster="none" ignores groups."""
    from scipy import stats as st

    chi2, l2, s, tss, sig = _data(np.random.default_rng(7))
    g = np.arange(len(chi2)) % 12
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=g, cluster="block")
    x = np.column_stack([np.ones(len(chi2)), l2, tss, np.abs(s)])
    f = sm.OLS(chi2, x).fit(cov_type="cluster", cov_kwds={"groups": g})
    row = res.coefficients.loc["ld_tss"]
    np.testing.assert_allclose(row["se_cluster"], f.bse[-1], rtol=1e-9)
    np.testing.assert_allclose(row["p_cluster"], 2 * st.t.sf(abs(f.tvalues[-1]), 11), rtol=1e-9)
    assert row["n_clusters"] == 12 and res.cluster == "block" and res.n_clusters == 12
    assert row["p_cluster"] > f.pvalues[-1]  # t(11) tails are heavier than the normal's
    # one-sided p of a positive coefficient: the upper tail of the same t(G - 1), and of OLS's t(n - k)
    np.testing.assert_allclose(row["p_cluster_pos"], st.t.sf(f.tvalues[-1], 11), rtol=1e-9)
    ols = sm.OLS(chi2, x).fit()
    np.testing.assert_allclose(row["p_pos"], st.t.sf(ols.tvalues[-1], ols.df_resid), rtol=1e-9)
    half = row["p_cluster"] / 2
    assert row["p_cluster_pos"] == pytest.approx(half if row["z_cluster"] > 0 else 1 - half, rel=1e-9)
    assert res.summary()["ld_tss_p_cluster_pos"] == row["p_cluster_pos"]
    none = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=g, cluster="none")
    assert "p_cluster" not in none.coefficients.columns and none.cluster == "none"
    with pytest.raises(ValueError, match="needs groups"):
        covariate_regression(chi2, l2, s, significant=sig, n_boot=0, cluster="block")


def test_errors():
    chi2, l2, s, tss, sig = _data(np.random.default_rng(4), n=50)
    with pytest.raises(ValueError, match="ld_score has 49 rows"):
        covariate_regression(chi2, l2[:-1], s, significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="constant"):
        covariate_regression(chi2, l2, np.zeros(50), significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="non-finite"):
        covariate_regression(np.r_[np.nan, chi2[1:]], l2, s, significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="rng"):
        covariate_regression(chi2, l2, s, significant=sig, n_boot=10)
    with pytest.raises(ValueError, match="too few"):
        covariate_regression(chi2[:4], l2[:4], s[:4], significant=sig[:4], n_boot=0)


def test_many_tissues_and_figures(tmp_path):
    rng = np.random.default_rng(5)
    tables = {}
    for tissue in ("A", "B"):
        chi2, l2, s, tss, sig = _data(rng)
        t = pd.DataFrame({"chi2": chi2, "L2": l2, "SED_LD": s, "significant": sig})
        for k in range(4):
            t[f"TSS_{k}L2"] = tss[:, k]
        tables[tissue] = t
    summary, results = covreg_tissues(tables, rng=np.random.default_rng(0), n_boot=20)
    assert summary["tissue"].tolist() == ["A", "B"]
    assert {"ld_coef", "ld_tss_t", "ld_tss_p", "enrichment", "enrichment_lo", "q5_enrichment"} <= set(summary.columns)
    with pytest.raises(ValueError, match="missing columns"):
        covreg_tissues({"A": tables["A"].drop(columns=["L2"])}, n_boot=0)
    p1 = covreg.tissue_figure(results["A"], tmp_path / "a.png")
    p2 = covreg.panel_figure(results, tmp_path / "panel.png")
    assert p1.read_bytes()[:4] == b"\x89PNG" and p2.stat().st_size > 1000


def test_match_eqtl_to_panel():
    bim = pd.DataFrame({"chrom": ["1", "1", "1", "2"], "snp": ["rs1", "rs2", "rs3", "rs4"], "pos": [10, 20, 30, 10],
                        "a1": ["A", "C", "A", "G"], "a2": ["G", "T", "T", "A"]})
    e = pd.DataFrame({"gene_id": ["g1"] * 5, "variant_id": ["v1", "v2", "v3", "v4", "v5"],
                      "chrom": ["chr1", "chr1", "chr1", "chr2", "chr1"], "pos": [10, 20, 30, 10, 99],
                      "ref": ["G", "C", "T", "G", "A"], "alt": ["A", "T", "A", "A", "C"], "z": [1.0, 2, 3, 4, 5]})
    m = match_eqtl_to_panel(e, bim)
    # v1 as is, v2 swapped (z flips for the panel A1), v3 strand-ambiguous A/T dropped, v4 swapped, v5 absent
    assert m["SNP"].tolist() == ["rs1", "rs2", "rs4"]
    assert m["z_panel"].tolist() == [1.0, -2.0, -4.0]
    with pytest.raises(ValueError, match="none of its 1 pairs' variants .* matches a panel SNP"):
        match_eqtl_to_panel(e.iloc[[4]], bim)


def test_aggregate_to_snps():
    p = pd.DataFrame({"SNP": ["a", "a", "b"], "gene_id": ["g1", "g2", "g1"], "chi2": [1.0, 4.0, 2.0],
                      "significant": [False, True, False], "SED_LD": [-3.0, 1.0, 0.5], "L2": [7.0, 7.0, 2.0]})
    s = aggregate_to_snps(p)
    assert s.to_dict(orient="list") == {"SNP": ["a", "b"], "chi2": [4.0, 2.0], "significant": [True, False],
                                        "SED_LD": [3.0, 0.5], "L2": [7.0, 2.0], "n_genes": [2, 1]}


def test_sed_ld_brute_force(tiny_world):
    """SED-LD gene by gene equals X^T X v / N over the LD block, computed directly."""
    from stats.io.ldblocks import assign_blocks, read_ldblocks
    from stats.io.plink import read_bfile
    from stats.ld.matrix import standardized

    w = tiny_world
    eff = pd.read_csv(w / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    al = pd.read_csv(w / "truth" / "snp_track_effects.tsv.gz", sep="\t", usecols=["snp", "ref", "alt"])
    sed = eff.merge(al, on="snp").rename(columns={"snp": "SNP", "alt": "A1", "ref": "A2", "immune_tcell": "SED"})
    dos, bim, _ = read_bfile(w / "genotypes" / "ref_panel.chr1", dtype=np.float64)
    genes = sed["gene_id"].unique()[:2]
    targets = pd.DataFrame({"SNP": np.tile(bim["snp"].to_numpy()[::50], 2),
                            "gene_id": np.repeat(genes, len(bim["snp"].to_numpy()[::50]))})
    got = covreg.sed_ld(w / "genotypes" / "ref_panel.chr{chrom}", w / "genotypes" / "ldblocks.bed",
                        sed[["SNP", "A1", "A2", "gene_id", "SED"]], build="simworld1", targets=targets,
                        lengths=json.loads((w / "truth.json").read_text())["chromosomes"])
    blocks = read_ldblocks(w / "genotypes" / "ldblocks.bed")
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


def test_pair_cis_ld_scores_brute_force_and_covariate(tiny_world):
    """Cis LD score of a pair = sum over the gene's cis SNPs in the SNP's LD block of the unbiased r^2;
    as ``cis_ld`` it enters both models as one more covariate."""
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
    got = covreg.pair_cis_ld_scores(w / "genotypes" / "ref_panel.chr{chrom}", w / "genotypes" / "ldblocks.bed",
                                    targets, cis=cis, build="simworld1",
                                    lengths=json.loads((w / "truth.json").read_text())["chromosomes"])
    blocks = read_ldblocks(w / "genotypes" / "ldblocks.bed")
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

    rng = np.random.default_rng(3)
    chi2, l2, s, tss, sig = _data(rng)
    c = rng.gamma(2, 5, len(chi2))
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, cis_ld=c, n_boot=0)
    for model, extra in (("ld", []), ("ld_tss", list(tss.T))):
        x = np.column_stack([np.ones(len(chi2)), l2, c] + extra + [np.abs(s)])
        f = sm.OLS(chi2, x).fit()
        np.testing.assert_allclose(res.coefficients.loc[model, ["coef", "se", "p"]].to_numpy(float),
                                   [f.params[-1], f.bse[-1], f.pvalues[-1]], rtol=1e-10)
        assert res.coefficients.loc[model, "n_covariates"] == len(extra) + 2
    with pytest.raises(ValueError, match="cis_ld"):
        covariate_regression(chi2, l2, s, significant=sig, cis_ld=c[:-1], n_boot=0)


# -- permutation p of |SED-LD| (n_shuffles) ----------------------------------------------------------------

def test_last_t_matches_statsmodels():
    """last_t: the cluster-robust (CR1) and plain OLS t of the last column, as covariate_regression's."""
    rng = np.random.default_rng(4)
    chi2, l2, s, tss, sig = _data(rng, n=300)
    groups = rng.integers(0, 25, 300)
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=groups)
    x = np.column_stack([np.ones(300), l2, tss, np.abs(s)])
    np.testing.assert_allclose(covreg.last_t(chi2, x, groups), res.coefficients.loc["ld_tss", "z_cluster"], rtol=1e-9)
    np.testing.assert_allclose(covreg.last_t(chi2, x), res.coefficients.loc["ld_tss", "t"], rtol=1e-9)


def test_p_shuffle_formula():
    assert covreg.p_shuffle(3.0, [1, 2, 3, 4]) == pytest.approx(3 / 5)  # ties count against
    assert covreg.p_shuffle(9.0, np.zeros(19)) == pytest.approx(1 / 20)
    assert covreg.p_shuffle(-9.0, np.zeros(19)) == 1.0
    assert np.isnan(covreg.p_shuffle(1.0, []))


def _clustered(rng, n_genes=30, per_gene=8):
    """Pairs clustered by gene: chi2 and the annotation's magnitude share a gene effect (the cluster-robust p
    is then not exactly calibrated, the permutation p is)."""
    n = n_genes * per_gene
    gene = np.repeat(np.arange(n_genes), per_gene)
    l2 = rng.gamma(3, 10, n)
    chi2 = 1 + 0.02 * l2 + rng.gamma(0.5, 2, n_genes)[gene] + rng.chisquare(1, n)
    ann = rng.standard_t(3, n) * rng.gamma(1, 1, n_genes)[gene]
    return gene, l2, chi2, ann


def test_p_shuffle_of_a_null_control_is_uniform():
    """Over many cheap synthetic replicates a shuffled control's p_shuffle (against N other shuffles) is
    uniform on {1..N+1}/(N+1); the true annotation with an effect gets the smallest value."""
    from scipy import stats as st

    rng = np.random.default_rng(11)
    n_shuf, reps = 19, 400
    ps, p_true = [], []
    for _ in range(reps):
        gene, l2, chi2, ann = _clustered(rng)
        x0 = np.column_stack([np.ones(len(l2)), l2])

        def t_of(a):
            return covreg.last_t(chi2, np.column_stack([x0, np.abs(a)]), gene)

        control = t_of(rng.permutation(ann))
        null = [t_of(rng.permutation(ann)) for _ in range(n_shuf)]
        ps.append(covreg.p_shuffle(control, null))
        eff = chi2 + 1.5 * np.abs(ann)
        t_eff = covreg.last_t(eff, np.column_stack([x0, np.abs(ann)]), gene)
        null_eff = [covreg.last_t(eff, np.column_stack([x0, np.abs(rng.permutation(ann))]), gene) for _ in range(n_shuf)]
        p_true.append(covreg.p_shuffle(t_eff, null_eff))
    ps = np.asarray(ps)
    k = np.rint(ps * (n_shuf + 1)).astype(int)
    np.testing.assert_allclose(ps, k / (n_shuf + 1))
    assert k.min() >= 1 and k.max() <= n_shuf + 1
    counts = np.bincount(k - 1, minlength=n_shuf + 1)
    assert st.chisquare(counts).pvalue > 0.001, counts
    # the level: P(p_shuffle <= 0.05) = 1/20 (binomial 99.9% band)
    lo, hi = st.binom.ppf([0.0005, 0.9995], reps, 1 / (n_shuf + 1))
    assert lo <= (ps <= 0.05).sum() <= hi
    assert np.mean(np.asarray(p_true) == 1 / (n_shuf + 1)) > 0.9


def test_sed_ld_many_equals_sed_ld(tiny_world, caplog):
    """The batch SED-LD (one pass, shuffles as their own genes) equals sed_ld of each table, per pair and per SNP."""
    w = tiny_world
    eff = pd.read_csv(w / "truth" / "snp_gene_effects.tsv.gz", sep="\t")
    al = pd.read_csv(w / "truth" / "snp_track_effects.tsv.gz", sep="\t", usecols=["snp", "ref", "alt"])
    sed = eff.merge(al, on="snp").rename(columns={"snp": "SNP", "alt": "A1", "ref": "A2", "immune_tcell": "SED"})
    sed = sed[["SNP", "A1", "A2", "gene_id", "SED"]]
    rng = np.random.default_rng(2)
    panel, blocks = w / "genotypes" / "ref_panel.chr{chrom}", w / "genotypes" / "ldblocks.bed"
    lengths = json.loads((w / "truth.json").read_text())["chromosomes"]
    targets = sed.sample(300, random_state=1)[["SNP", "gene_id"]].reset_index(drop=True)
    for tabs in ([sed, sed.assign(SED=rng.permutation(sed["SED"].to_numpy()))],
                 [sed.groupby(["SNP", "A1", "A2"], as_index=False)["SED"].sum()] * 2):
        tabs = [tabs[0], tabs[1].assign(SED=rng.permutation(tabs[1]["SED"].to_numpy()))]
        many = covreg.sed_ld_many(panel, blocks, tabs, build="simworld1", targets=targets, lengths=lengths)
        assert many.shape == (2, len(targets))
        for k, a in enumerate(tabs):
            one = covreg.sed_ld(panel, blocks, a[a["SED"] != 0], build="simworld1", targets=targets, lengths=lengths)
            np.testing.assert_allclose(many[k], one, rtol=1e-10, atol=1e-14)
    # quiet: the panel's per-chromosome counts at DEBUG (repeated shuffle passes), same numbers
    import logging

    for quiet in (False, True):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="stats.io.panel"):
            again = covreg.sed_ld_many(panel, blocks, tabs, build="simworld1", targets=targets, lengths=lengths,
                                       quiet=quiet)
        np.testing.assert_array_equal(again, many)
        levels = {r.levelno for r in caplog.records if r.name == "stats.io.panel" and "SNPs" in r.getMessage()}
        assert levels == ({logging.DEBUG} if quiet else {logging.INFO}), (quiet, levels)


def test_eqtl_enrichment_n_shuffles_needs_rng(tiny_world):
    with pytest.raises(ValueError, match="rng"):
        covreg.eqtl_enrichment({"x": pd.DataFrame()}, bfile_chr=tiny_world, ld_blocks=tiny_world, build="simworld1",
                               tss=None, sed=pd.DataFrame(), n_boot=0, n_shuffles=5)


def test_scale_sed_ld():
    s = np.array([-4.0, 0.0, 2.25, -0.01])
    np.testing.assert_array_equal(covreg.scale_sed_ld(s, "abs"), [4.0, 0.0, 2.25, 0.01])
    np.testing.assert_allclose(covreg.scale_sed_ld(s, "sqrt"), [2.0, 0.0, 1.5, 0.1])
    np.testing.assert_array_equal(covreg.scale_sed_ld(s, "signed"), s)
    with pytest.raises(ValueError, match="scale must be one of"):
        covreg.scale_sed_ld(s, "log")


def test_covariate_regression_sqrt_scale_is_the_sqrt_regressor():
    """scale="sqrt" is the same regression as scale="abs" on sqrt(|SED-LD|), bootstrap included."""
    chi2, l2, s, tss, sig = _data(np.random.default_rng(11))
    g = np.arange(len(chi2)) % 17
    a = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=30, rng=np.random.default_rng(2),
                             groups=g, scale="sqrt")
    b = covariate_regression(chi2, l2, np.sqrt(np.abs(s)), significant=sig, tss_ld=tss, n_boot=30,
                             rng=np.random.default_rng(2), groups=g)
    pd.testing.assert_frame_equal(a.coefficients, b.coefficients)
    np.testing.assert_array_equal(a.bootstrap, b.bootstrap)
    c = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=g)
    assert not np.isclose(a.coefficients.loc["ld_tss", "t"], c.coefficients.loc["ld_tss", "t"])


