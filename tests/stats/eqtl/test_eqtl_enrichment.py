"""Quantile enrichment, its headline and its bootstrap: hand-checked values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stats.eqtl.enrichment import (bootstrap_headline, fitted_difference, gated_headline, headline,
                                   percentile_interval, quantile_enrichment, quantile_labels, ranked_enrichment)


def test_quantile_shares_by_hand():
    score = np.array([5, 1, 9, 3, 7, 2, 8, 4, 10, 6], dtype=float)
    sig = np.array([1, 0, 1, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
    lab = quantile_labels(score, n_quantiles=5)
    # ranks 1..10 -> quantiles of two: (1,2) (3,4) (5,6) (7,8) (9,10)
    np.testing.assert_array_equal(lab, [2, 0, 4, 1, 3, 0, 3, 1, 4, 2])
    table, top = quantile_enrichment(score, sig)
    # significant per quantile: q1 {1,2}: 0; q2 {3,4}: 0; q3 {5,6}: 2; q4 {7,8}: 1; q5 {9,10}: 2
    assert table["n_significant"].tolist() == [0, 0, 2, 1, 2]
    assert table["n"].tolist() == [2] * 5
    np.testing.assert_allclose(table["share"], [0, 0, 1, 0.5, 1])
    np.testing.assert_allclose(table["enrichment"], np.array([0, 0, 1, 0.5, 1]) / 0.5)
    np.testing.assert_allclose(top, 1 / ((0 + 0 + 1) / 3))
    assert headline(score, sig) == top  # the table-free version


def test_quantile_sizes_and_ties():
    lab = quantile_labels(np.zeros(12), n_quantiles=5)
    assert np.bincount(lab).tolist() == [3, 2, 3, 2, 2]
    np.testing.assert_array_equal(lab, np.sort(lab))  # ties: input order
    _, h = quantile_enrichment(np.arange(10.0), np.r_[np.zeros(6, bool), np.ones(4, bool)])
    assert h == np.inf


def test_fitted_difference_matches_lstsq():
    rng = np.random.default_rng(0)
    base = np.column_stack([np.ones(50), rng.normal(size=(50, 2))])
    full = np.column_stack([base, rng.normal(size=50)])
    y = full @ [1.0, 0.5, -0.2, 0.8] + rng.normal(size=50)
    diff, coef = fitted_difference(full, base, y)
    bf = np.linalg.lstsq(full, y, rcond=None)[0]
    bb = np.linalg.lstsq(base, y, rcond=None)[0]
    np.testing.assert_allclose(diff, full @ bf - base @ bb, atol=1e-10)
    assert coef == pytest.approx(bf[-1], rel=1e-10)


def test_gated_and_ranked_headline():
    score = np.arange(10.0)
    sig = np.r_[np.zeros(5, bool), np.ones(5, bool)]
    sig[0] = True
    assert gated_headline(score, 0.0, sig) == 1.0 and gated_headline(score, -1.0, sig) == 1.0
    assert gated_headline(score, 2.0, sig) == headline(score, sig)
    table, h = ranked_enrichment(score, 2.0, sig)
    pd.testing.assert_frame_equal(table, quantile_enrichment(score, sig)[0])
    assert h == headline(score, sig)
    # a negative coefficient: the quantiles of -diff (the residualized regressor), headline 1
    table, h = ranked_enrichment(-score, -2.0, sig)
    pd.testing.assert_frame_equal(table, quantile_enrichment(score, sig)[0])
    assert h == 1.0


def test_bootstrap_headline_rows_and_clusters():
    rng = np.random.default_rng(1)
    n = 200
    base = np.column_stack([np.ones(n), rng.gamma(3, 10, n)])
    x = np.abs(rng.normal(size=n))
    full = np.column_stack([base, x])
    y = 1 + 0.02 * base[:, 1] + 1.5 * x + rng.chisquare(1, n)
    sig = y > np.quantile(y, 0.8)
    a = bootstrap_headline(full, base, y, sig, n_boot=40, rng=np.random.default_rng(5))
    b = bootstrap_headline(full, base, y, sig, n_boot=40, rng=np.random.default_rng(5))
    assert a.shape == (40,) and np.array_equal(a, b) and (a > 1).mean() > 0.9
    # one row per cluster draws the same rows as the row bootstrap
    c = bootstrap_headline(full, base, y, sig, n_boot=40, rng=np.random.default_rng(5), groups=np.arange(n))
    np.testing.assert_array_equal(a, c)
    # replicate 0 by hand: whole clusters of 10 rows
    groups = np.repeat(np.arange(20), 10)[rng.permutation(n)]
    d = bootstrap_headline(full, base, y, sig, n_boot=1, rng=np.random.default_rng(6), groups=groups)
    codes = pd.factorize(pd.Series(groups), sort=False)[0]
    members = [np.flatnonzero(codes == g) for g in range(20)]
    idx = np.concatenate([members[g] for g in np.random.default_rng(6).integers(0, 20, 20)])
    diff, coef = fitted_difference(full[idx], base[idx], y[idx])
    assert d[0] == gated_headline(diff, coef, sig[idx])


def test_percentile_interval():
    lo, hi = percentile_interval(np.r_[np.arange(101.0), np.nan], ci=0.9)
    assert (lo, hi) == pytest.approx((5.0, 95.0))
