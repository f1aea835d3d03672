"""Wide LD blocks kept as factors (:class:`GramLdSvd`, :class:`LeadingVectors`) against the formed ``U``."""
import pickle

import numpy as np
import pytest

from stats.ld.moments import MISSING_INT8, genotype_counts, identical_columns, standardize_counts
from stats.sldp.ld_eigen import LeadingVectors, symmetric_leading
from stats.sldp.regression import GramLdSvd, LdSvd, block_products, ld_svd, ld_svd_counts


def _genotypes(rng, n: int, m: int, *, missing: float = 0.0, duplicate: float = 0.0) -> np.ndarray:
    """int8 counts of ``m`` SNPs in ``n`` people (block-correlated), some calls missing, some SNPs copies."""
    latent = rng.standard_normal((2 * n, m)).cumsum(axis=1) / np.sqrt(np.arange(1, m + 1))
    hap = (latent > rng.uniform(-1, 1, m)).astype(np.int8)
    g = hap[:n] + hap[n:]
    if duplicate:
        copies = rng.choice(m, int(duplicate * m), replace=False)
        g[:, copies] = g[:, rng.integers(0, m, len(copies))]
    if missing:
        g[rng.random(g.shape) < missing] = MISSING_INT8
    return np.asfortranarray(g)


def test_leading_vectors_are_the_back_transformed_eigenvectors():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 200))
    g = x @ x.T
    w, v, k = symmetric_leading(g, spectrum_percent=90.0)
    w2, lv, k2 = symmetric_leading(g, spectrum_percent=90.0, reflectors=True)
    assert isinstance(lv, LeadingVectors) and lv.shape == (120, k) and k2 == k
    assert np.array_equal(w, w2)                               # the same LAPACK calls up to ormtr
    np.testing.assert_allclose(lv.dense(), v, rtol=0, atol=1e-13)
    y = rng.standard_normal((120, 5))
    np.testing.assert_allclose(lv.t_dot(y), v.T @ y, rtol=0, atol=1e-12 * np.abs(y).sum(axis=0).max())
    assert np.array_equal(LeadingVectors(v).dense(), v) and np.array_equal(LeadingVectors(v).t_dot(y), v.T @ y)


@pytest.mark.parametrize("missing,duplicate", [(0.0, 0.0), (0.02, 0.0), (0.0, 0.5)])
def test_factored_svd_matches_the_formed_u(missing, duplicate):
    rng = np.random.default_rng(int(100 * missing + 10 * duplicate))
    n, m = 80, 150                                             # wide: X X^T is the decomposed Gram matrix
    g = _genotypes(rng, n, m, missing=missing, duplicate=duplicate)
    c = genotype_counts(g)
    x = standardize_counts(g, counts=c)
    dup = identical_columns(g) if duplicate else None
    want = ld_svd(x, duplicates=dup)
    got = ld_svd(x, duplicates=dup, factors=(g, c))
    assert isinstance(got, GramLdSvd) and type(want) is LdSvd
    assert got.factored and got.m == m and got.k == want.k
    assert np.array_equal(got.s, want.s)                       # the same Gram matrix and eigenvalues
    y = rng.standard_normal((m, 7))
    projected = got.project(y)                                 # from the factors
    assert got.factored
    scale = np.abs(want.u).max() * np.abs(y).sum(axis=0).max()
    np.testing.assert_allclose(projected, want.u.T @ y, rtol=0, atol=1e-12 * scale)  # the same U^T y
    restored = pickle.loads(pickle.dumps(got))                 # as a Dask worker receives it
    assert np.array_equal(restored.project(y), projected)
    u = got.u                                                  # formed on use and kept
    assert not got.factored and np.array_equal(got.project(y), u.T @ y)
    # eigenvectors are defined up to sign: compare U diag(1/s) U^T, the weights' shape
    np.testing.assert_allclose((u / got.s) @ u.T, (want.u / want.s) @ want.u.T, rtol=0,
                               atol=1e-10 * np.abs((want.u / want.s) @ want.u.T).max())


def test_counts_route_keeps_wide_blocks_factored_and_narrow_ones_formed():
    rng = np.random.default_rng(7)
    wide = _genotypes(rng, 60, 130)
    assert isinstance(ld_svd_counts(wide), GramLdSvd)
    narrow = _genotypes(rng, 130, 60)
    assert type(ld_svd_counts(narrow)) is LdSvd


def _products_agree(got, want):
    for f in ("m_h", "num", "num_bg", "den", "den_cross", "den_bg"):
        a, b = getattr(got, f), getattr(want, f)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * max(np.abs(b).max(), 1e-300), err_msg=f)
    assert got.k == want.k and got.reason == want.reason


@pytest.mark.parametrize("n_pheno", [1, 3, 400])
def test_block_products_from_factors_equal_those_from_u(n_pheno):
    rng = np.random.default_rng(n_pheno)
    n, m = 70, 160
    g = _genotypes(rng, n, m)
    c = genotype_counts(g)
    x = standardize_counts(g, counts=c)
    factored = ld_svd(x, factors=(g, c))
    formed = LdSvd(np.array(ld_svd(x, factors=(g, c)).u), factored.s)
    rv, bg = rng.standard_normal((m, 4)), rng.standard_normal((m, 2))
    ahat = rng.standard_normal((m, n_pheno)) / 100
    if n_pheno > 1:
        ahat[rng.random(m) < 0.2, 1] = np.nan                 # a second typed set: two phenotype groups
    sig, nn = np.full(n_pheno, 1e-5), np.full((m, n_pheno), 5e4)
    want = block_products(rv, ahat, n=nn, sigma2g=sig, rv_background=bg, svd=formed)
    got = block_products(rv, ahat, n=nn, sigma2g=sig, rv_background=bg, svd=factored)
    _products_agree(got, want)
    # 400 phenotypes outnumber the kept eigenvectors: U is formed instead of projecting every column
    assert factored.factored == (n_pheno < factored.k)
