import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from stats import simulate as sim


def test_bh_matches_statsmodels():
    p = np.random.default_rng(0).random(200) ** 3
    np.testing.assert_allclose(sim.bh_fdr(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_marginal_regression_matches_statsmodels_ols():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (150, 4)).astype(np.int8)
    y = 0.3 * x[:, 1] + rng.standard_normal(150)
    got = sim.marginal_regression(x, y, chunk=3)
    for j in range(4):
        fit = sm.OLS(y, sm.add_constant(x[:, j].astype(float))).fit()
        assert got.slope[j] == pytest.approx(fit.params[1], rel=1e-10)
        assert got.slope_se[j] == pytest.approx(fit.bse[1], rel=1e-10)
        assert got.pval[j] == pytest.approx(fit.pvalues[1], rel=1e-8)


def test_hotspot_map_mean_rate_and_blocks():
    cfg = sim.PanelConfig()
    rate_map, centres = sim.hotspot_map(2_000_000, cfg, np.random.default_rng(2))
    assert rate_map.mean_rate == pytest.approx(cfg.recombination_rate, rel=1e-6)
    blocks = sim.ld_blocks_from_hotspots(2_000_000, centres, 200_000)
    assert blocks[0, 0] == 0 and blocks[-1, 1] == 2_000_000
    assert np.all(blocks[1:, 0] == blocks[:-1, 1])


def test_alt_alleles_differ_and_favour_transitions():
    ref = np.array(list("ACGT" * 500))
    alt = sim.draw_alt_alleles(ref, np.random.default_rng(3))
    assert np.all(alt != ref)
    ts = np.mean([sim.TRANSITION[r] == a for r, a in zip(ref, alt)])
    assert 0.6 < ts < 0.73  # expected 2/3


def test_catalog_negatives_are_maf_matched():
    import pandas as pd

    rng = np.random.default_rng(4)
    snps = pd.DataFrame({"snp": [f"s{i}" for i in range(3000)], "maf": rng.uniform(0.01, 0.5, 3000)})
    score = np.where(snps.maf > 0.3, 5.0, 0.1)  # positives skew to common SNPs
    cat = sim.catalog_snps(snps, score, n_positive=100, negatives_per_positive=2, rng=rng)
    pos, neg = cat[cat.label == 1], cat[cat.label == 0]
    assert len(pos) == 100 and len(neg) == 200
    assert abs(pos.maf.mean() - neg.maf.mean()) < 0.03
    assert not set(pos.snp) & set(neg.snp)


def test_sumstats_from_ld_have_the_study_mean_and_ld_covariance():
    """Over many draws, z from the cohort's LD has mean sqrt(N) R beta and covariance R (R = X'X / n) within a
    chromosome, none across chromosomes; monomorphic SNPs give NaN."""
    from stats.simulate import sumstats_from_ld

    rng = np.random.default_rng(0)
    n, m, n_gwas = 300, 6, 40_000
    base = rng.standard_normal((n, 3))
    x = np.column_stack([base[:, 0], base[:, 0] + 0.5 * base[:, 1], base[:, 1], base[:, 2],
                         base[:, 2] - base[:, 0], np.zeros(n)])
    x[:, :5] = (x[:, :5] - x[:, :5].mean(0)) / x[:, :5].std(0)
    beta = np.array([0.01, 0.0, -0.005, 0.0, 0.002, 0.0])
    draws = np.stack([sumstats_from_ld([x[:, :3], x[:, 3:]], [beta[:3], beta[3:]], n_gwas=n_gwas, rng=rng)
                      for _ in range(4000)])
    assert np.isnan(draws[:, 5]).all() and np.isfinite(draws[:, :5]).all()
    r = x[:, :5].T @ x[:, :5] / n
    within = np.zeros_like(r, dtype=bool)
    within[:3, :3] = within[3:, 3:] = True  # chromosomes are drawn independently
    expect_mean = np.sqrt(n_gwas) * np.concatenate([r[:3, :3] @ beta[:3], r[3:, 3:] @ beta[3:5]])
    np.testing.assert_allclose(draws[:, :5].mean(0), expect_mean, atol=4 / np.sqrt(4000))
    np.testing.assert_allclose(np.cov(draws[:, :5].T), np.where(within, r, 0.0), atol=0.08)
