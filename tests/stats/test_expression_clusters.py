"""Cluster comparison: hand-checked quantile normalization and ARI, simulated and world-based checks."""
from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from stats import expression_clusters as cl


def test_quantile_normalize_by_hand():
    # columns A, B, C; column-wise sorted values averaged: [2, 3, 14/3, 17/3]
    x = np.array([[5, 4, 3], [2, 1, 4], [3, 4, 6], [4, 2, 8]], dtype=float)
    ref = np.array([2, 3, 14 / 3, 17 / 3])
    tie = (ref[2] + ref[3]) / 2                     # B's two 4s share ranks 3 and 4
    want = np.array([
        [ref[3], tie, ref[0]],
        [ref[0], ref[0], ref[1]],
        [ref[1], tie, ref[2]],
        [ref[2], ref[1], ref[3]],
    ])
    np.testing.assert_allclose(cl.quantile_normalize(x), want)


def test_quantile_normalize_gives_identical_column_distributions():
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=(50, 4)) * np.array([1, 10, 100, 0.1])
    q = cl.quantile_normalize(x)
    s = np.sort(q, axis=0)
    np.testing.assert_allclose(s, np.repeat(s[:, :1], 4, axis=1))
    np.testing.assert_allclose(s[:, 0], np.sort(x, axis=0).mean(axis=1))
    # ranks within each column are kept
    np.testing.assert_array_equal(np.argsort(q, axis=0), np.argsort(x, axis=0))


def test_quantile_normalize_rejects_nan():
    with pytest.raises(ValueError, match="non-finite"):
        cl.quantile_normalize(np.array([[1.0, np.nan], [2.0, 3.0]]))


def test_most_variable_genes_order_and_errors():
    x = np.array([[0, 1, 0], [0, 10, 0], [5, 5, 6], [1, 3, 5]], dtype=float)
    np.testing.assert_array_equal(cl.most_variable_genes(x, n_genes=2), [1, 3])
    with pytest.raises(ValueError, match="fewer genes than requested"):
        cl.most_variable_genes(x, n_genes=5)
    x[2] = 7.0
    with pytest.raises(ValueError, match="constant"):
        cl.most_variable_genes(x, n_genes=4)


def _ari_by_hand(a, b):
    """Hubert-Arabie ARI from the contingency table."""
    ua, ub = np.unique(a), np.unique(b)
    t = np.array([[np.sum((a == i) & (b == j)) for j in ub] for i in ua])
    n = len(a)
    s_ij = sum(comb(int(v), 2) for v in t.ravel())
    s_a = sum(comb(int(v), 2) for v in t.sum(axis=1))
    s_b = sum(comb(int(v), 2) for v in t.sum(axis=0))
    expected = s_a * s_b / comb(n, 2)
    return (s_ij - expected) / ((s_a + s_b) / 2 - expected)


def test_ari_against_contingency_table():
    a = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    b = np.array([1, 1, 0, 0, 2, 2, 2, 2, 0, 1])
    # by hand: table rows a, cols b = [[1,2,0],[1,0,2],[1,1,2]] -> sum C(n_ij,2) = 1+1+1 = 3,
    # rows C(3,2)+C(3,2)+C(4,2) = 12, cols C(3,2)+C(3,2)+C(4,2) = 12, E = 144/45 = 3.2,
    # ARI = (3 - 3.2) / (12 - 3.2) = -0.2 / 8.8
    assert cl.adjusted_rand_index(a, b) == pytest.approx(-0.2 / 8.8)
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.integers(0, 4, 60), rng.integers(0, 5, 60)
        assert cl.adjusted_rand_index(a, b) == pytest.approx(_ari_by_hand(a, b))
    assert cl.adjusted_rand_index(a, (a + 1) % 4) == pytest.approx(1.0)   # relabelling


def _clustered(rng, n=400, d=8, k=4, spread=3.0):
    centers = rng.normal(0, spread, (k, d))
    return centers[rng.integers(0, k, n)] + rng.normal(0, 1, (n, d))


SMALL = dict(n_genes=300, sample_size=150, n_components=4, n_bootstrap=8)


def test_noisy_copy_far_above_zero_shuffled_copy_not():
    rng = np.random.default_rng(11)
    x = _clustered(rng)
    noisy = cl.compare_clusters(x, x + rng.normal(0, 0.5, x.shape), rng=1, **SMALL)
    assert noisy.mean > 0.8
    assert noisy.p_value < 1e-6
    shuffled = cl.compare_clusters(x, x[rng.permutation(len(x))], rng=1, **SMALL)
    assert abs(shuffled.mean) < 0.05
    assert shuffled.p_value > 0.05
    assert len(noisy.ari) == SMALL["n_bootstrap"] and len(noisy.genes) == SMALL["n_genes"]


def test_compare_clusters_is_reproducible_and_permutation_null():
    rng = np.random.default_rng(12)
    x = _clustered(rng, n=200)
    y = x + rng.normal(0, 0.5, x.shape)
    kw = dict(n_genes=150, sample_size=80, n_components=3, n_bootstrap=4, n_permutations=4)
    a = cl.compare_clusters(x, y, rng=np.random.default_rng(5), **kw)
    b = cl.compare_clusters(x, y, rng=np.random.default_rng(5), **kw)
    np.testing.assert_array_equal(a.ari, b.ari)
    np.testing.assert_array_equal(a.null_ari, b.null_ari)
    assert a.p_permutation == pytest.approx(1 / 5)       # smallest possible with 4 permutations
    assert np.all(np.abs(a.null_ari) < 0.1)
    s = a.summary()
    assert {"ari_mean", "ari_sd", "p_value", "p_permutation", "n_components"} <= set(s.columns)


def test_compare_clusters_bad_input():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 5))
    with pytest.raises(ValueError, match="fewer genes than requested"):
        cl.compare_clusters(x, x, n_genes=2000, rng=0)
    with pytest.raises(ValueError, match="rows must match"):
        cl.compare_clusters(x, x[:50], n_genes=40, sample_size=40, n_components=2, rng=0)
    const = x.copy()
    const[:30] = 1.0
    with pytest.raises(ValueError, match="constant"):
        cl.compare_clusters(const, x, n_genes=80, sample_size=40, n_components=2, n_bootstrap=2, rng=0)
    pconst = x.copy()
    pconst[:] = pconst[:, :1]
    with pytest.raises(ValueError, match="constant across samples in the predicted"):
        cl.compare_clusters(x, pconst, n_genes=80, sample_size=40, n_components=2, n_bootstrap=2, rng=0)
    with pytest.raises(ValueError, match="n_bootstrap"):
        cl.compare_clusters(x, x, n_genes=80, sample_size=40, n_components=2, n_bootstrap=1, rng=0)


def test_heatmaps_png_and_orders(tmp_path):
    rng = np.random.default_rng(2)
    x = _clustered(rng, n=60, d=6)
    names = [f"s{j}" for j in range(6)]
    fig, orders = cl.cluster_heatmaps(x, x, path=tmp_path / "h.png", sample_names=names)
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key, n in (("obs_genes", 60), ("obs_samples", 6), ("pred_genes", 60), ("pred_samples", 6)):
        np.testing.assert_array_equal(np.sort(orders[key]), np.arange(n))
    np.testing.assert_array_equal(orders["obs_genes"], orders["pred_genes"])   # same matrix, same order
    panels = [ax.images[0].get_array() for ax in fig.axes[:3]]
    np.testing.assert_allclose(panels[0], panels[2])
    with pytest.raises(ValueError, match="shape"):
        cl.cluster_heatmaps(x, x[:10])


def test_planted_clusters_noisy_copy_vs_shuffled():
    """Genes of three planted cell-type programs (the world's brain / immune / other grammar, a gene's level
    varying freely) against a noisy and a shuffled copy. The tiny world's own few dozen genes are too few
    for stable mixtures; the analyses' tests run the world's expression end to end."""
    rng = np.random.default_rng(7)
    programs = np.array([[2.0, 2.0, 0, 0, 0, 0], [0, 0, 2.0, 2.0, 0, 0], [0, 0, 0, 0, 2.0, 2.0]])
    x = programs[np.repeat(np.arange(3), 20)] + rng.normal(8, 1, (60, 1)) + rng.normal(0, 0.4, (60, 6))
    n = len(x)
    kw = dict(n_genes=n, sample_size=n, n_components=3, n_bootstrap=10, covariance_type="diag")
    noisy = cl.compare_clusters(x, x + rng.normal(0, 0.02, x.shape), rng=1, **kw)
    shuffled = cl.compare_clusters(x, x[rng.permutation(n)], rng=1, **kw)
    assert noisy.mean > 0.5 and noisy.p_value < 0.05
    assert shuffled.mean < noisy.mean - 0.3 and shuffled.p_value > 0.05
