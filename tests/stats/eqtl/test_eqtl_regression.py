"""Covariate regression of eQTL chi^2 on |SED-LD|: against statsmodels / lstsq, clusters, p-values, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from stats.eqtl.enrichment import quantile_enrichment
from stats.eqtl.regression import (covariate_regression, covreg_tissues, design_matrix, fit_models, last_t, p_positive,
                                   p_shuffle, scale_sed_ld, shuffle_t, table_regression)


def test_ols_matches_statsmodels_and_lstsq(covreg_data):
    rng = np.random.default_rng(1)
    chi2, l2, s, tss, sig = covreg_data(rng)
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


def test_ranking_is_fitted_value_difference(covreg_data):
    rng = np.random.default_rng(2)
    chi2, l2, s, tss, sig = covreg_data(rng)
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


def test_bootstrap_interval_and_determinism(covreg_data):
    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(3), effect=1.5)
    a = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=200, rng=np.random.default_rng(9))
    b = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=200, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.bootstrap, b.bootstrap)
    lo, hi = a.enrichment_ci
    assert lo <= a.enrichment <= hi and lo > 1
    g = covariate_regression(chi2, l2, s, significant=sig, n_boot=50, rng=np.random.default_rng(9),
                             groups=np.arange(len(chi2)) // 10)
    assert np.isfinite(g.enrichment_ci).all() and g.enrichment_model == "ld"


def test_negative_coefficient_is_not_enrichment(covreg_data):
    """coef <= 0: the ranking would put the *least* |SED-LD| on top; the headline is 1 and the quantiles are
    those of the residualized |SED-LD| (quantile 5 = most), as for a positive coefficient."""
    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(6), effect=-1.0)
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


def test_cluster_robust_t_reference(covreg_data):
    """p_cluster: CR1 sandwich SE (statsmodels) with a t(G - 1) reference; cluster="none" ignores groups."""
    from scipy import stats as st

    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(7))
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


def test_errors(covreg_data):
    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(4), n=50)
    with pytest.raises(ValueError, match="ld_score has 49 rows"):
        covariate_regression(chi2, l2[:-1], s, significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="constant"):
        covariate_regression(chi2, l2, np.zeros(50), significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="non-finite"):
        covariate_regression(np.r_[np.nan, chi2[1:]], l2, s, significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="rng"):
        covariate_regression(chi2, l2, s, significant=sig, n_boot=10)
    with pytest.raises(ValueError, match=r"too few SNPs after matching \(n = 4\)"):
        covariate_regression(chi2[:4], l2[:4], s[:4], significant=sig[:4], n_boot=0)
    # enough rows but a constant LD score: named, instead of a singular-matrix error from the solver
    with pytest.raises(ValueError, match=r"linearly dependent over its n = 50 SNPs \(L2 constant\)"):
        covariate_regression(chi2, np.full(50, 3.0), s, significant=sig, n_boot=0)
    with pytest.raises(ValueError, match="groups has 49 rows"):
        covariate_regression(chi2, l2, s, significant=sig, n_boot=0, groups=np.arange(49))


def test_cis_ld_covariate_enters_both_models(covreg_data):
    rng = np.random.default_rng(3)
    chi2, l2, s, tss, sig = covreg_data(rng)
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


def test_design_matrix_and_fit_models(covreg_data):
    """The design's column order, and fit_models = statsmodels per model (fits, clusters, fitted-value difference)."""
    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(8), n=120)
    c = np.arange(120.0)
    np.testing.assert_array_equal(design_matrix(l2), np.column_stack([np.ones(120), l2]))
    np.testing.assert_array_equal(design_matrix(l2, tss, c), np.column_stack([np.ones(120), l2, c, tss]))
    g = np.repeat(np.array(["a", "b", "c", "d", "e", "f"]), 20)
    coefficients, fits, n_clusters = fit_models(chi2, l2, np.abs(s), tss_ld=tss, groups=g)
    assert list(fits) == ["ld", "ld_tss"] and list(coefficients.index) == ["ld", "ld_tss"] and n_clusters == 6
    for model, cov in (("ld", None), ("ld_tss", tss)):
        base = design_matrix(l2, cov)
        full = np.column_stack([base, np.abs(s)])
        f = sm.OLS(chi2, full).fit()
        np.testing.assert_array_equal(fits[model].full, full)
        assert fits[model].coef == pytest.approx(f.params[-1], rel=1e-12)
        np.testing.assert_allclose(fits[model].diff, f.fittedvalues - sm.OLS(chi2, base).fit().fittedvalues,
                                   atol=1e-10)
        fc = sm.OLS(chi2, full).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(g)[0]})
        assert coefficients.loc[model, "se_cluster"] == pytest.approx(fc.bse[-1], rel=1e-10)
    only, fits1, k = fit_models(chi2, l2, np.abs(s))
    assert list(fits1) == ["ld"] and k == 0 and "se_cluster" not in only.columns


def test_last_t_matches_statsmodels(covreg_data):
    """last_t: the cluster-robust (CR1) and plain OLS t of the last column, as covariate_regression's."""
    rng = np.random.default_rng(4)
    chi2, l2, s, tss, sig = covreg_data(rng, n=300)
    groups = rng.integers(0, 25, 300)
    res = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=groups)
    x = np.column_stack([np.ones(300), l2, tss, np.abs(s)])
    np.testing.assert_allclose(last_t(chi2, x, groups), res.coefficients.loc["ld_tss", "z_cluster"], rtol=1e-9)
    np.testing.assert_allclose(last_t(chi2, x), res.coefficients.loc["ld_tss", "t"], rtol=1e-9)


def test_table_regression_and_shuffle_t(covreg_table):
    """A regression table gives covariate_regression's result on its columns; shuffle_t is its last t."""
    t = covreg_table(np.random.default_rng(12)).assign(CIS_L2=np.random.default_rng(1).gamma(2, 5, 400))
    groups = t["gene_id"].to_numpy()
    res = table_regression(t, groups=groups, cluster="gene", tissue="T", n_boot=20, rng=np.random.default_rng(3),
                           scale="sqrt")
    want = covariate_regression(t["chi2"], t["L2"], t["SED_LD"], significant=t["significant"],
                                tss_ld=t[[f"TSS_{k}" for k in range(4)]], cis_ld=t["CIS_L2"], groups=groups,
                                cluster="gene", tissue="T", n_boot=20, rng=np.random.default_rng(3), scale="sqrt")
    pd.testing.assert_frame_equal(res.coefficients, want.coefficients)
    np.testing.assert_array_equal(res.bootstrap, want.bootstrap)
    assert res.tissue == "T" and res.coefficients.loc["ld_tss", "n_covariates"] == 6
    assert shuffle_t(t, groups, scale="sqrt") == pytest.approx(res.coefficients.loc["ld_tss", "z_cluster"], rel=1e-9)
    assert shuffle_t(t, scale="sqrt") == pytest.approx(res.coefficients.loc["ld_tss", "t"], rel=1e-9)
    plain = table_regression(t.drop(columns=[f"TSS_{k}" for k in range(4)]), n_boot=0)
    assert plain.enrichment_model == "ld" and plain.cluster == "none"


def test_p_values():
    assert p_shuffle(3.0, [1, 2, 3, 4]) == pytest.approx(3 / 5)  # ties count against
    assert p_shuffle(9.0, np.zeros(19)) == pytest.approx(1 / 20)
    assert p_shuffle(-9.0, np.zeros(19)) == 1.0
    assert np.isnan(p_shuffle(1.0, []))
    assert p_positive(0.0, 10) == pytest.approx(0.5)
    assert p_positive(2.0, 0) == p_positive(2.0, 1)  # df floored at 1


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
            return last_t(chi2, np.column_stack([x0, np.abs(a)]), gene)

        control = t_of(rng.permutation(ann))
        null = [t_of(rng.permutation(ann)) for _ in range(n_shuf)]
        ps.append(p_shuffle(control, null))
        eff = chi2 + 1.5 * np.abs(ann)
        t_eff = last_t(eff, np.column_stack([x0, np.abs(ann)]), gene)
        null_eff = [last_t(eff, np.column_stack([x0, np.abs(rng.permutation(ann))]), gene) for _ in range(n_shuf)]
        p_true.append(p_shuffle(t_eff, null_eff))
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


def test_scale_sed_ld():
    s = np.array([-4.0, 0.0, 2.25, -0.01])
    np.testing.assert_array_equal(scale_sed_ld(s, "abs"), [4.0, 0.0, 2.25, 0.01])
    np.testing.assert_allclose(scale_sed_ld(s, "sqrt"), [2.0, 0.0, 1.5, 0.1])
    np.testing.assert_array_equal(scale_sed_ld(s, "signed"), s)
    with pytest.raises(ValueError, match="scale must be one of"):
        scale_sed_ld(s, "log")


def test_covariate_regression_sqrt_scale_is_the_sqrt_regressor(covreg_data):
    """scale="sqrt" is the same regression as scale="abs" on sqrt(|SED-LD|), bootstrap included."""
    chi2, l2, s, tss, sig = covreg_data(np.random.default_rng(11))
    g = np.arange(len(chi2)) % 17
    a = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=30, rng=np.random.default_rng(2),
                             groups=g, scale="sqrt")
    b = covariate_regression(chi2, l2, np.sqrt(np.abs(s)), significant=sig, tss_ld=tss, n_boot=30,
                             rng=np.random.default_rng(2), groups=g)
    pd.testing.assert_frame_equal(a.coefficients, b.coefficients)
    np.testing.assert_array_equal(a.bootstrap, b.bootstrap)
    c = covariate_regression(chi2, l2, s, significant=sig, tss_ld=tss, n_boot=0, groups=g)
    assert not np.isclose(a.coefficients.loc["ld_tss", "t"], c.coefficients.loc["ld_tss", "t"])


def test_many_tissues(covreg_data):
    rng = np.random.default_rng(5)
    tables = {}
    for tissue in ("A", "B"):
        chi2, l2, s, tss, sig = covreg_data(rng)
        t = pd.DataFrame({"chi2": chi2, "L2": l2, "SED_LD": s, "significant": sig})
        for k in range(4):
            t[f"TSS_{k}L2"] = tss[:, k]
        tables[tissue] = t
    summary, results = covreg_tissues(tables, rng=np.random.default_rng(0), n_boot=20)
    assert summary["tissue"].tolist() == ["A", "B"] and set(results) == {"A", "B"}
    assert {"ld_coef", "ld_tss_t", "ld_tss_p", "enrichment", "enrichment_lo", "q5_enrichment"} <= set(summary.columns)
    with pytest.raises(ValueError, match="missing columns"):
        covreg_tissues({"A": tables["A"].drop(columns=["L2"])}, n_boot=0)
