"""The low-rank route of the LD eigen-decomposition against a full ``syevd`` and sldp's thin SVD."""
import numpy as np
import pytest

from stats.ld.signed_profile import standardize_genotypes
from stats.sldp import ld_eigen
from stats.sldp.ld_eigen import keep_count, leading_eigenpairs, pivoted_cholesky
from stats.sldp.regression import ld_svd


def _haplotype_panel(rng, n: int, m: int, n_haplotypes: int) -> np.ndarray:
    """Genotypes of ``n`` individuals, each two of ``n_haplotypes`` distinct haplotypes (rank-deficient LD)."""
    haps = (rng.standard_normal((n_haplotypes, m)).cumsum(axis=1) > 0).astype(float)
    pick = rng.integers(0, n_haplotypes, size=(n, 2))
    return haps[pick[:, 0]] + haps[pick[:, 1]]


def _full(g, pct):
    w, v = np.linalg.eigh(g)
    w = np.maximum(w[::-1], 0.0)
    k = keep_count(w, pct)
    return w, v[:, ::-1][:, :k], k


@pytest.mark.parametrize("n,m,h", [(300, 400, 60), (200, 150, 40), (120, 500, 90)])
def test_low_rank_route_matches_full_decomposition(n, m, h):
    rng = np.random.default_rng(n + m + h)
    x = standardize_genotypes(_haplotype_panel(rng, n, m, h))
    g = x @ x.T
    assert ld_eigen._maybe_low_rank(g)
    assert ld_eigen._low_rank(g, 95.0) is not None          # the route is taken, not the fallback
    for pct in (50.0, 95.0, 99.9):
        w, v, k = leading_eigenpairs(g, spectrum_percent=pct)
        w0, v0, k0 = _full(g, pct)
        assert k == k0 and v.shape == (n, k)
        assert w.shape == (n,) and np.all(w >= 0) and np.all(np.diff(w) <= 0)
        np.testing.assert_allclose(w[:k], w0[:k], rtol=1e-12)
        np.testing.assert_allclose(w.sum(), w0.sum(), rtol=1e-12)
        d = 1.0 / w[:k]                                        # the kept inverse, most sensitive part
        want = (v0 * d) @ v0.T
        np.testing.assert_allclose((v * d) @ v.T, want, rtol=0, atol=1e-11 * np.abs(want).max())
        np.testing.assert_allclose(v.T @ v, np.eye(k), atol=1e-11)


def test_ld_svd_of_a_rank_deficient_block_matches_thin_svd():
    """sldp's own numbers (thin SVD of X_o^T) from the low-rank route, as in the Gram-route test."""
    rng = np.random.default_rng(7)
    n, m = 400, 600
    x = standardize_genotypes(_haplotype_panel(rng, n, m, 70))
    u, sv, _ = np.linalg.svd(x.T, full_matrices=False)
    s = sv ** 2 / n
    for pct in (80.0, 95.0):
        got = ld_svd(x, spectrum_percent=pct)
        k = int(np.argmax(np.cumsum(s) / s.sum() >= pct / 100))
        assert got.k == k
        np.testing.assert_allclose(got.s, s[:k], rtol=1e-12)
        d = 1.0 / (1e-4 * s[:k] ** 2 + s[:k] / 5e4)
        want = (u[:, :k] * d) @ u[:, :k].T
        np.testing.assert_allclose((got.u * d) @ got.u.T, want, rtol=0, atol=1e-10 * np.abs(want).max())


def _same_columns(v, v0, atol):
    """Eigenvectors equal up to each column's sign."""
    sign = np.sign(np.sum(v * v0, axis=0))
    np.testing.assert_allclose(v * sign, v0, rtol=0, atol=atol)


def test_full_rank_matrix_takes_syevd_steps():
    rng = np.random.default_rng(3)
    x = standardize_genotypes((rng.standard_normal((150, 400)) > 0).astype(float)
                              + (rng.standard_normal((150, 400)) > 0.5))
    g = x @ x.T
    assert not ld_eigen._maybe_low_rank(g)
    w, v, k = leading_eigenpairs(g, spectrum_percent=95.0)
    w0, v0, k0 = _full(g, 95.0)
    assert k == k0 and 0 < k < 150
    np.testing.assert_array_equal(w, w0)                       # syevd's own tridiagonal solution
    _same_columns(v, v0, 1e-12)                                # its back-transformation, on k columns


@pytest.mark.parametrize("pct", [1.0, 50.0, 95.0, 100.0])
def test_symmetric_leading_equals_syevd(pct):
    """Every cut, from no eigenvector kept to all of them; a matrix with repeated eigenvalues too."""
    rng = np.random.default_rng(int(pct))
    b = rng.standard_normal((90, 60))
    for g in (b @ b.T, np.diag(np.r_[np.full(30, 2.0), np.ones(30)])):
        w, v, k = ld_eigen.symmetric_leading(g, spectrum_percent=pct)
        w0, v0, k0 = _full(g, pct)
        assert k == k0 and v.shape == (len(g), k)
        np.testing.assert_array_equal(w, w0)
        p0 = (v0 * w0[:k]) @ v0.T                              # basis-free within a repeated eigenvalue
        np.testing.assert_allclose((v * w[:k]) @ v.T, p0, rtol=0, atol=1e-12 * w0[0])
        np.testing.assert_allclose(v.T @ v, np.eye(k), atol=1e-12)
    w, v, k = ld_eigen.symmetric_leading(np.zeros((0, 0)), spectrum_percent=pct)
    assert w.shape == (0,) and v.shape == (0, 0) and k == 0


def test_pivoted_cholesky_reconstructs_and_stops_at_the_rank():
    rng = np.random.default_rng(5)
    b = rng.standard_normal((80, 23))
    g = b @ b.T
    l, r = pivoted_cholesky(g)
    assert r == 23 and l.shape == (80, 23)
    np.testing.assert_allclose(l @ l.T, g, atol=1e-12 * np.abs(g).max())
    l, r = pivoted_cholesky(np.eye(6) * 2.0)
    assert r == 6
    np.testing.assert_allclose(l @ l.T, np.eye(6) * 2.0)


def test_low_rank_route_declines_when_the_left_out_part_is_not_negligible():
    """A spectrum with many eigenvalues just under pstrf's stopping pivot: what the factorization drops
    is then more than syevd's backward error, and the full decomposition is used."""
    rng = np.random.default_rng(11)
    n = 200
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.r_[np.linspace(10.0, 1.0, 20), np.zeros(n - 20)]
    g0 = (q * lam) @ q.T
    tiny = 0.5 * n * np.finfo(float).eps * np.diag(g0).max()
    lam[20:150] = tiny                                         # below pstrf's tolerance, 130 of them
    g = (q * lam) @ q.T
    g = (g + g.T) / 2
    assert ld_eigen._low_rank(g, 95.0) is None
    w, v, k = leading_eigenpairs(g, spectrum_percent=95.0)
    w0, v0, k0 = _full(g, 95.0)
    np.testing.assert_array_equal(w, w0)


def test_leading_eigenpairs_refuses_a_non_square_matrix():
    with pytest.raises(ValueError, match="square"):
        leading_eigenpairs(np.zeros((3, 4)))


@pytest.mark.parametrize("n,m,h", [(200, 500, 30), (300, 120, 200), (150, 400, 400)])
def test_ld_svd_merges_identical_snps(n, m, h):
    """SNPs with identical genotypes enter the Gram matrix once, weighted: the same kept count,
    eigenvalues and U diag(d) U^T as without merging, wide (m >= n) and tall (distinct SNPs < n)."""
    from stats.ld.moments import identical_columns, standardize_counts

    rng = np.random.default_rng(n + m)
    g = _haplotype_panel(rng, n, m, h)
    g[:, m // 2:] = g[:, rng.integers(0, m // 2, m - m // 2)]   # half the SNPs copy another
    g = g.astype(np.int8)
    x = standardize_counts(g)
    dup = identical_columns(g)
    assert len(dup[0]) < m
    for pct in (80.0, 95.0):
        want = ld_svd(x, spectrum_percent=pct)
        got = ld_svd(x, spectrum_percent=pct, duplicates=dup)
        assert got.k == want.k and got.u.shape == want.u.shape
        np.testing.assert_allclose(got.s, want.s, rtol=1e-12)
        d = 1.0 / (1e-4 * want.s ** 2 + want.s / 5e4)
        w = (want.u * d) @ want.u.T
        np.testing.assert_allclose((got.u * d) @ got.u.T, w, rtol=0, atol=1e-10 * np.abs(w).max())
        np.testing.assert_allclose(got.u.T @ got.u, np.eye(got.k), atol=1e-10)


@pytest.mark.parametrize("n,m,h,missing", [(300, 120, 200, False), (200, 500, 30, False), (300, 120, 200, True)])
def test_ld_svd_counts_equals_ld_svd_of_the_standardized_block(n, m, h, missing):
    """From int8 counts: the Gram matrix of integer products where the SNPs are the smaller side and no
    call is missing, else the standardized genotypes; the numbers of ld_svd either way."""
    from stats.ld.moments import MISSING_INT8, genotype_counts, identical_columns, standardize_counts
    from stats.sldp.regression import ld_svd_counts

    rng = np.random.default_rng(n + m + missing)
    g = _haplotype_panel(rng, n, m, h).astype(np.int8)
    g[:, m // 2:] = g[:, rng.integers(0, m // 2, m - m // 2)]
    if missing:
        g[rng.random(g.shape) < 0.01] = MISSING_INT8
    x = standardize_counts(g)
    dup = identical_columns(g)
    gram_route = not missing and len(dup[0]) < n
    calls = []

    def standardized():
        calls.append(1)
        return x

    for pct in (80.0, 95.0):
        want = ld_svd(x, spectrum_percent=pct)
        for got in (ld_svd_counts(g, spectrum_percent=pct, duplicates=dup, x_reg=standardized),
                    ld_svd_counts(g, spectrum_percent=pct),
                    ld_svd_counts(g, spectrum_percent=pct, duplicates=dup, counts=genotype_counts(g))):
            assert got.k == want.k and got.u.shape == want.u.shape
            np.testing.assert_allclose(got.s, want.s, rtol=1e-12)
            d = 1.0 / (1e-4 * want.s ** 2 + want.s / 5e4)
            w = (want.u * d) @ want.u.T
            np.testing.assert_allclose((got.u * d) @ got.u.T, w, rtol=0, atol=1e-10 * np.abs(w).max())
    assert len(calls) == (0 if gram_route else 2)


def test_results_do_not_depend_on_kept_work_arrays():
    """symmetric_leading reuses this thread's work arrays (grown for a larger matrix): the same numbers
    from fresh, reused and grown arrays, and in another thread."""
    import threading

    from genocore import workspace

    rng = np.random.default_rng(4)
    b = rng.standard_normal((40, 40))
    small, big = b[:20] @ b[:20].T, b @ b.T
    workspace.release()
    want = ld_eigen.symmetric_leading(big)
    workspace.release()
    ld_eigen.symmetric_leading(small)
    for _ in range(2):                                         # grown, then reused
        got = ld_eigen.symmetric_leading(big)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    seen = []
    t = threading.Thread(target=lambda: seen.append(ld_eigen.symmetric_leading(big)))
    t.start()
    t.join()
    np.testing.assert_array_equal(seen[0][1], want[1])
    workspace.release()
